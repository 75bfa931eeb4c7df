"""`mobilesdk build`: export + verify -> <out>/<id>/ (artifacts, manifest.json, report.json, report.txt)."""

from __future__ import annotations

from pathlib import Path

import click

from mobilesdk.cli.options import checkpoint_option, model_options
from mobilesdk.export.recipes import BACKENDS, DTYPES, LAYOUTS, QUANTIZE


@click.command()
@model_options
@checkpoint_option
@click.option(
    "--backend",
    type=click.Choice([*BACKENDS, "all"]),
    default="executorch",
    show_default=True,
    help="Runtime: ExecuTorch (.pte, XNNPACK) or LiteRT (.tflite), or both.",
)
@click.option(
    "--quantize",
    type=click.Choice(QUANTIZE),
    default="none",
    show_default=True,
    help="int8 keeps the output heads in float (keypoint-aware); int8-full quantizes everything.",
)
@click.option(
    "--calib-images", type=click.Path(path_type=Path), help="Folder of jpg/png images for int8 calibration."
)
@click.option(
    "--input-layout", type=click.Choice(LAYOUTS), help="Default: NCHW for ExecuTorch, NHWC for LiteRT."
)
@click.option(
    "--input-dtype",
    type=click.Choice(DTYPES),
    default="float32",
    show_default=True,
    help="uint8 folds normalization into the graph so the app feeds raw RGB bytes.",
)
@click.option(
    "--int8-budget-px", type=float, help="Override the card's int8 mean keypoint-drift budget (px)."
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("dist"),
    show_default=True,
    help="Output root; the build goes to OUT/<id>/.",
)
def build(
    model_id,
    card_path,
    checkpoint,
    backend,
    quantize,
    calib_images,
    input_layout,
    input_dtype,
    int8_budget_px,
    out,
) -> None:
    """Export a model to ExecuTorch and/or LiteRT, verify it against PyTorch, write OUT/<id>/."""
    from rich.console import Console

    from mobilesdk.build import BuildRequest
    from mobilesdk.build import build as run_build
    from mobilesdk.cards import resolve_card
    from mobilesdk.cli.progress import RichProgress

    card = resolve_card(model_id, card_path)
    console = Console(stderr=True)
    result = run_build(
        BuildRequest(
            card=card,
            out=out,
            checkpoint=checkpoint,
            backend=backend,
            quantize=quantize,
            calib_images=calib_images,
            input_layout=input_layout,
            input_dtype=input_dtype,
            int8_mean_px=int8_budget_px,
        ),
        RichProgress(console),
    )
    from mobilesdk.verify import format_table

    rows = [
        {"recipe": a.recipe, "file": a.path.name, "bytes": a.bytes, "parity": a.parity}
        for a in result.artifacts
    ]
    click.echo(format_table(rows))
    for a in result.artifacts:
        undelegated = a.lowering.get("undelegated_ops")
        if undelegated:
            boundary = a.lowering.get("boundary_ops", {})
            ops = ", ".join(
                f"{k} x{v}" + (" (input boundary)" if k in boundary else "") for k, v in undelegated.items()
            )
            click.echo(f"{a.recipe}: outside the XNNPACK delegate: {ops}")
        if a.cached:
            click.echo(f"{a.recipe}: unchanged, reused from the cache")
    for r in result.removed:
        click.echo(f"removed stale artifact {r}")
    click.echo(f"wrote {result.out_dir} (manifest.json, report.txt) in {result.seconds:.1f} s")
