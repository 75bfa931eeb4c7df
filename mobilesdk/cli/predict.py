"""`mobilesdk predict ARTIFACT|BUILD_DIR IMAGE...`: a built model on photos -> named keypoints in image pixels,
as a table, JSON, or a skeleton overlay PNG."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mobilesdk.cli.options import json_option, threads_option
from mobilesdk.cli.runner import DEFAULT_CACHE


@click.command()
@click.argument("target", type=click.Path(path_type=Path))
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--engine",
    type=click.Choice(["python", "native"]),
    default="python",
    show_default=True,
    help="python: the host runtime and the numpy decoders (as verify). native: mobilesdk-runner, the C++ "
    "core an app runs (built on first use).",
)
@click.option(
    "--roi",
    metavar="L,T,R,B",
    help="A person box in upright-image pixels; it is padded by the model's roi_padding as on the phone. "
    "Default: the whole image.",
)
@click.option("--recipe", help="Which artifact of a build dir (default: the first fp32 one).")
@click.option(
    "--overlay",
    "overlay_out",
    type=click.Path(),  # a str: a trailing '/' (directory) must survive
    help="Draw the skeleton: OUT.png (several images: a contact sheet), or a directory (existing, or "
    "ending in '/') for one <image>-pose.png each.",
)
@click.option("--labels", is_flag=True, help="--overlay: write keypoint names beside the keypoints.")
@click.option(
    "--native-cache",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_CACHE,
    show_default=True,
    help="Where --engine native builds the runner.",
)
@threads_option
@json_option
def predict(target, images, engine, roi, recipe, overlay_out, labels, native_cache, threads, as_json) -> None:
    """Run a model on your photos: keypoints by name, in pixels of the upright picture (EXIF orientation
    applied), with their scores.

    TARGET is a build directory (dist/<id>/) or a .pte/.tflite built by mobilesdk; IMAGES are JPEG or PNG
    files.

    \b
    mobilesdk predict dist/movepose-xs photo.jpg
    mobilesdk predict dist/movepose-xs *.jpg --overlay sheet.png
    mobilesdk predict dist/movepose-xs photo.jpg --roi 120,40,520,900 --json
    mobilesdk predict dist/movepose-xs/movepose-xs.xnnpack-fp32.pte photo.jpg --engine native
    """
    from mobilesdk.predict import parse_roi, predict_images

    box = parse_roi(roi) if roi is not None else None
    plan = None
    if overlay_out is not None:
        from mobilesdk.overlay import plan_output

        plan = plan_output(overlay_out)
    choice, predictions = predict_images(
        target,
        list(images),
        engine=engine,
        roi=box,
        recipe=recipe,
        threads=threads,
        native_cache=native_cache,
    )
    written = []
    if plan is not None:
        from mobilesdk.overlay import write_overlays

        written = write_overlays(plan, choice, predictions, labels=labels)
    if as_json:
        click.echo(json.dumps([p.to_json(choice, engine) for p in predictions], indent=2))
    else:
        _print_tables(choice, predictions, engine)
    for path in written:
        click.echo(f"overlay: {path}", err=True)


def _print_tables(choice, predictions, engine: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from mobilesdk.predict import ORIENTATIONS, visibility_threshold

    console = Console(highlight=False)
    thr = visibility_threshold(choice)
    e = choice.entry
    console.print(
        f"model [bold]{choice.manifest.id}[/] ({e.recipe}, {e.runtime}, {engine} engine), "
        f"{e.input.size['width']}x{e.input.size['height']} input; visible = visibility >= {thr:.3g}"
    )
    if choice.random_weights:
        console.print("[bold red]RANDOM WEIGHTS — output is noise[/] (built without --checkpoint)")
    for p in predictions:
        where = "whole image" if p.roi is None else "roi " + ",".join(f"{v:g}" for v in p.roi)
        orient = (
            ""
            if p.orientation == 1
            else f", EXIF orientation {p.orientation} ({ORIENTATIONS[p.orientation]}) applied"
        )
        table = Table(
            title=f"{p.image} — {p.width}x{p.height}{orient}, {where}",
            title_justify="left",
            caption=f"pose score {p.pose_score:.4g}",
            caption_justify="left",
        )
        table.add_column("#", justify="right")
        table.add_column("keypoint")
        table.add_column("x", justify="right")
        table.add_column("y", justify="right")
        if p.z is not None:
            table.add_column("z (bins)", justify="right")
        table.add_column("score", justify="right")
        table.add_column("visibility", justify="right")
        table.add_column("visible")
        for j, name in enumerate(choice.names):
            seen = p.visibility[j] >= thr
            row = [str(j), name, f"{p.xy[j, 0]:.1f}", f"{p.xy[j, 1]:.1f}"]
            if p.z is not None:
                row.append(f"{p.z[j]:.2f}")
            row += [f"{p.scores[j]:.4g}", f"{p.visibility[j]:.2f}", "yes" if seen else "[dim]no[/]"]
            table.add_row(*row, style=None if seen else "dim")
        console.print(table)
