"""Option bundles shared by commands (click's `complex` pattern)."""

from __future__ import annotations

from pathlib import Path

import click


def model_options(fn):
    """--model ID / --card PATH: which model. Exactly one is needed; --card adds a user's own model."""
    fn = click.option(
        "--card",
        "card_path",
        type=click.Path(path_type=Path, dir_okay=False),
        help="A model card YAML (your own model, or an edited zoo card).",
    )(fn)
    fn = click.option(
        "--model", "-m", "model_id", metavar="ID", help="A zoo model id (see `mobilesdk models`)."
    )(fn)
    return fn


def checkpoint_option(fn):
    return click.option(
        "--checkpoint",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Trained weights (.pth/.pt): a state_dict, or one under 'state_dict'/'model'. "
        "Loaded with torch.load(weights_only=True). Without it the model has random weights.",
    )(fn)


def _positive_budget(ctx, param, value):
    from mobilesdk.cards import is_budget

    if value is not None and not is_budget(value):
        raise click.BadParameter(f"must be a finite number > 0 (px), got {value}")
    return value


def budget_option(fn):
    return click.option(
        "--int8-budget-px",
        type=float,
        callback=_positive_budget,
        help="Override the card's int8 mean keypoint-drift budget (px, finite, > 0).",
    )(fn)


def threads_option(fn):
    return click.option(
        "--threads",
        type=click.IntRange(min=1),
        help="CPU threads for the host runtimes (ExecuTorch, LiteRT) and torch. Default: the runtimes' own.",
    )(fn)


def json_option(fn):
    return click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")(fn)
