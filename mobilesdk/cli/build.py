"""`mobilesdk build`: export + verify -> <out>/<id>/ (artifacts, manifest.json, report.json, report.txt), then
the AAR step (<id>-<runtime>.aar + .pom, m2/, android/)."""

from __future__ import annotations

from pathlib import Path

import click

from mobilesdk.cli.options import budget_option, checkpoint_option, json_option, model_options, threads_option
from mobilesdk.export.recipes import BACKENDS, DTYPES, LAYOUTS, QUANTIZE


@click.command()
@model_options
@checkpoint_option
@click.option(
    "--backend",
    type=click.Choice([*BACKENDS, "all"]),
    default="all",
    show_default=True,
    help="Runtime: ExecuTorch (.pte, XNNPACK) or LiteRT (.tflite), or both (each verified against PyTorch on "
    "the same images). Without an NDK only the LiteRT AAR runs on a phone as is.",
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
@budget_option
@threads_option
@click.option(
    "--split-large-kernels/--no-split-large-kernels",
    default=True,
    show_default=True,
    help="Split depthwise kernels of more than 25 taps into pieces XNNPACK runs fast (exact).",
)
@click.option(
    "--weight-only-heads/--float-heads",
    default=True,
    show_default=True,
    help="--quantize int8: the output heads' Linear layers get int8 weights (float activations), or stay float.",
)
@click.option(
    "--aar/--no-aar",
    default=True,
    show_default=True,
    help="Package each runtime as an AAR + POM, a Maven repository (m2/) and Gradle module sources (android/).",
)
@click.option(
    "--toolchain-cache",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("~/.cache/mobilesdk/android"),
    show_default=True,
    help="Where the compiled Kotlin runtime and facades are cached (an unchanged rebuild compiles nothing).",
)
@click.option(
    "--native-libs",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Folder with <abi>/*.so from android_template/native/build_android.sh "
    "(default: android_template/native/build-android, when it exists).",
)
@json_option
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
    threads,
    split_large_kernels,
    weight_only_heads,
    aar,
    toolchain_cache,
    native_libs,
    as_json,
    out,
) -> None:
    """Export a model to ExecuTorch and/or LiteRT, verify it against PyTorch, write OUT/<id>/."""
    from rich.console import Console

    from mobilesdk.build import BuildRequest
    from mobilesdk.build import build as run_build
    from mobilesdk.cards import resolve_card
    from mobilesdk.cli.main import set_torch_threads
    from mobilesdk.cli.progress import RichProgress
    from mobilesdk.packaging import PackagingOptions

    set_torch_threads(threads)
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
            threads=threads,
            split_large_kernels=split_large_kernels,
            weight_only_heads=weight_only_heads,
            android=PackagingOptions(toolchain_cache.expanduser(), native_libs) if aar else None,
        ),
        RichProgress(console),
    )
    if as_json:
        import json

        click.echo(json.dumps(result.to_json(), indent=2))
        return
    from mobilesdk.reports import format_table

    rows = [
        {"recipe": a.recipe, "file": a.path.name, "bytes": a.bytes, "parity": a.parity, "cached": a.cached}
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
            click.echo(f"{a.recipe}: unchanged, reused from the cache (verified again)")
    for r in result.removed:
        click.echo(f"removed stale artifact {r}")
    if result.packaging is not None:
        from mobilesdk.packaging.report import packaging_lines

        for line in packaging_lines(result.packaging):
            click.echo(line)
    click.echo(f"wrote {result.out_dir} (manifest.json, report.txt) in {result.seconds:.1f} s")
