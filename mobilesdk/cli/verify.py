"""`mobilesdk verify DIR|ARTIFACT`: re-run host parity (eager vs artifact, raw tensors and decoded keypoints)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mobilesdk.cli.options import checkpoint_option


@click.command()
@click.argument("target", type=click.Path(path_type=Path, exists=True))
@click.option(
    "--card",
    "card_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The model card, if it is not where the manifest says.",
)
@checkpoint_option
@click.option(
    "--int8-budget-px", type=float, help="Override the card's int8 mean keypoint-drift budget (px)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the parity figures as JSON.")
def verify(target: Path, card_path, checkpoint, int8_budget_px, as_json: bool) -> None:
    """Run an artifact (or every artifact of a build dir) on the host and compare with eager PyTorch."""
    from mobilesdk.errors import VerifyError
    from mobilesdk.verify import format_table, verify_target

    manifest, results = verify_target(
        target, card_path=card_path, checkpoint=checkpoint, int8_mean_px=int8_budget_px
    )
    if as_json:
        click.echo(json.dumps([p.to_json() for p in results], indent=2))
    else:
        entries = {e["recipe"]: e for e in manifest["artifacts"]}
        rows = []
        for p in results:
            e = entries[p.recipe]
            size = (target / e["file"]).stat().st_size if target.is_dir() else target.stat().st_size
            rows.append(
                {"recipe": p.recipe, "file": e.get("file", target.name), "bytes": size, "parity": p.to_json()}
            )
        click.echo(format_table(rows))
    failures = [f for p in results for f in p.failures]
    if failures:
        raise VerifyError(failures[0] + (f" (+{len(failures) - 1} more)" if len(failures) > 1 else ""))
