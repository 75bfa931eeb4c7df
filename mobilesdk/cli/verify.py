"""`mobilesdk verify DIR|ARTIFACT`: re-run host parity (eager vs artifact, raw tensors and decoded keypoints)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mobilesdk.cli.options import budget_option, checkpoint_option, json_option, threads_option


@click.command()
@click.argument("target", type=click.Path(path_type=Path, exists=True))
@click.option(
    "--card",
    "card_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The model card, if it is not where the manifest says.",
)
@checkpoint_option
@budget_option
@threads_option
@json_option
def verify(target: Path, card_path, checkpoint, int8_budget_px, threads, as_json: bool) -> None:
    """Run an artifact (or every artifact of a build dir) on the host and compare with eager PyTorch."""
    from mobilesdk.cli.main import set_torch_threads
    from mobilesdk.reports import format_table
    from mobilesdk.verify import raise_failures, verify_target

    set_torch_threads(threads)
    manifest, results = verify_target(
        target, card_path=card_path, checkpoint=checkpoint, int8_mean_px=int8_budget_px, threads=threads
    )
    if as_json:
        click.echo(json.dumps([p.to_json() for p in results], indent=2))
    else:
        rows = []
        for entry, p in zip(manifest.artifacts, results, strict=True):
            path = target / entry.file if target.is_dir() else target
            rows.append(
                {"recipe": p.recipe, "file": path.name, "bytes": path.stat().st_size, "parity": p.to_json()}
            )
        click.echo(format_table(rows))
    raise_failures([f for p in results for f in p.failures])
