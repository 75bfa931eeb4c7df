"""`mobilesdk models`: the zoo as a table or JSON; `mobilesdk models show ID` for one model in full."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mobilesdk.cli.options import model_options


def _published_text(entry: dict) -> str:
    parts = [
        f"{f['metric']} {f['value']:g}{(' ' + f['unit']) if f['unit'] else ''}" for f in entry["published"]
    ]
    sources = list(dict.fromkeys(f["source"] for f in entry["published"]))
    return "; ".join(parts) + ("\n[" + "; ".join(sources) + "]" if sources else "")


def _human(n: int | None) -> str:
    return "?" if n is None else f"{n / 1e6:.2f}M"


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list of objects) instead of a table.")
@click.pass_context
def models(ctx: click.Context, as_json: bool) -> None:
    """List the model zoo: input, outputs, params, GFLOPs (MACs), codec, published figures."""
    if ctx.invoked_subcommand is not None:
        return
    from mobilesdk.cards import load_zoo
    from mobilesdk.summary import describe

    entries = [describe(card) for card in load_zoo()]
    if as_json:
        click.echo(json.dumps(entries, indent=2))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="mobilesdk model zoo", show_lines=False)
    for col in ("id", "family", "input", "outputs", "params", "GFLOPs", "codec", "published (paper)"):
        table.add_column(col, overflow="fold")
    for e in entries:
        outputs = "\n".join(f"{o['name']} {tuple(o['shape'])}" for o in e["outputs"])
        table.add_row(
            e["id"] + (" *" if e["reconstructed"] else ""),
            e["family"],
            f"{e['input']['width']}x{e['input']['height']}",
            outputs,
            _human(e["params"]),
            f"{e['gflops']:.3f}" if e["gflops"] is not None else "?",
            e["codec"]["name"],
            escape(_published_text(e)),  # sources hold [brackets] that rich would read as markup
        )
    console = Console(width=max(Console().width, 160))
    console.print(table)
    console.print(
        "GFLOPs = conv/linear multiply-accumulates (HRNet/SimCC convention). "
        "* architecture reconstructed, not published: see `mobilesdk models show ID`."
    )


@models.command()
@click.argument("model_arg", required=False, metavar="ID")
@model_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(model_arg: str | None, model_id: str | None, card_path: Path | None, as_json: bool) -> None:
    """Show one model in full: architecture, input spec, outputs, codec, keypoints, published figures."""
    from mobilesdk.cards import resolve_card
    from mobilesdk.summary import describe, measured_cost

    model_id = model_arg or model_id
    card = resolve_card(model_id, card_path)
    entry = describe(card, measured_cost(card))
    if as_json:
        click.echo(json.dumps(entry, indent=2))
        return
    lines = [
        f"{entry['id']} — {entry['title']} ({entry['family']})",
        f"  card           {entry['card']}",
        f"  architecture   {entry['architecture']} {json.dumps(entry['hparams'])}",
        f"  reconstructed  {'yes — layer table designed by mobilesdk, not published' if entry['reconstructed'] else 'no'}",
    ]
    if entry["architecture_notes"]:
        lines.append(f"  notes          {entry['architecture_notes']}")
    i = entry["input"]
    lines += [
        f"  input          {i['width']}x{i['height']} {i['color']}, mean {i['mean']}, std {i['std']} (0..255 scale), resize {i['resize']}",
        "  outputs        " + ", ".join(f"{o['name']} {tuple(o['shape'])}" for o in entry["outputs"]),
        f"  params         {entry['params']:,}",
        f"  GFLOPs (MACs)  {entry['gflops']:.3f}",
        f"  codec          {entry['codec']['name']} {json.dumps(entry['codec']['params'])}",
        f"  keypoints      {len(entry['keypoints'])}: {', '.join(entry['keypoints'])}",
        f"  flip pairs     {entry['flip_pairs']}",
        "  published:",
    ]
    lines += [
        f"    {f['metric']:<22} {f['value']:g} {f['unit']}  [{f['source']}]{('  ' + f['note']) if f['note'] else ''}"
        for f in entry["published"]
    ] or ["    (none)"]
    click.echo("\n".join(lines))
