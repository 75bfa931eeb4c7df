"""`mobilesdk bench history`: the stored runs, listed, shown, compared and plotted; and storing a bench's run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from mobilesdk.cli.options import json_option

LIST_LIMIT = 20


def db_option(fn):
    return click.option(
        "--db",
        type=click.Path(path_type=Path, dir_okay=False),
        help="The history database (default: $XDG_DATA_HOME/mobilesdk/history.sqlite, "
        "else ~/.local/share/mobilesdk/history.sqlite).",
    )(fn)


def _db_path(db: Path | None) -> Path:
    from mobilesdk.bench.history import default_path

    return db.expanduser() if db is not None else default_path(os.environ)


def store_result(result, db: Path | None, device=None) -> None:
    """Store a finished bench in the history, and say where on stderr. A history that cannot take it (corrupted,
    newer schema, locked, unwritable) is left untouched; the run goes to a fresh file beside it (or in the temp
    folder), the user is told where, and the command fails."""
    import tempfile

    from mobilesdk.bench import history as hist

    path = _db_path(db)
    run = hist.run_of(result, device)
    try:
        run_id = hist.store(path, run)
    except (hist.HistoryError, OSError) as exc:
        problem = _message(exc)
        for folder in (path.parent, Path(tempfile.gettempdir())):
            side = hist.side_path(folder / path.name, run.created_at)
            try:
                side_id = hist.store(side, run)
            except (hist.HistoryError, OSError):
                continue
            raise click.ClickException(
                f"{problem}; this run was stored as run {side_id} in {side} instead"
            ) from None
        raise click.ClickException(
            f"{problem}; the run could not be stored elsewhere either: it is only in the output above"
        ) from None
    click.echo(f"stored as run {run_id} in {path}", err=True)


def _message(exc: BaseException) -> str:
    from mobilesdk.errors import first_line

    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return first_line(exc)


def _run_id(text: str) -> int:
    from mobilesdk.bench.history import HistoryError

    try:
        return int(text)
    except ValueError:
        raise HistoryError(f"run '{text}': run ids are numbers (`last` goes with --compare)") from None


def _pair(history, runs: tuple[str, ...], model: str | None, device: str | None):
    """(A, B) for --compare: RUN_A RUN_B; one run and the one before it; `last` (or nothing): the two newest
    runs of one model on one device."""
    from mobilesdk.bench.history import HistoryError

    if len(runs) == 2:
        return history.run(_run_id(runs[0])), history.run(_run_id(runs[1]))
    if len(runs) > 2:
        raise click.UsageError("--compare takes RUN_A RUN_B, one run (against the one before it), or last")
    if not runs or runs[0] == "last":
        newest = history.runs(model=model, device=device, limit=1)
        if not newest:
            scope = "".join([f" of {model}" if model else "", f" on '{device}'" if device else ""])
            raise HistoryError(f"no runs{scope} in {history.path}: nothing to compare")
        b = newest[0]
    else:
        b = history.run(_run_id(runs[0]))
    a = history.previous(b)
    if a is None:
        raise HistoryError(
            f"run {b.id} is the only run of {b.model} on {b.device.label} in {history.path}: nothing to compare"
        )
    return a, b


@click.command("history")
@click.argument("runs", nargs=-1)
@click.option(
    "--compare",
    is_flag=True,
    help="Compare two runs: RUN_A RUN_B; one RUN against the run before it (same model and device); "
    "or `last`: the two newest runs of one model on one device.",
)
@click.option("--model", "-m", "model_id", metavar="ID", help="Only runs of this model id.")
@click.option(
    "--device",
    metavar="TEXT",
    help="Only runs on devices whose name contains TEXT (host, a CPU, a serial, SM8650...).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    help=f"The newest N runs (default: {LIST_LIMIT} listed, all plotted by --report; 0: all).",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write an HTML report: p50 over time with p10-p90 bands, per candidate, per model and device.",
)
@db_option
@json_option
def history(runs, compare, model_id, device, limit, report_path, db, as_json) -> None:
    """Benchmark runs stored by `mobilesdk bench`: list them, show some (RUNS), compare two, plot a history.

    \b
    mobilesdk bench history --model movepose-xs --device host
    mobilesdk bench history 12                       # run 12 in full
    mobilesdk bench history --compare last           # the two newest runs of one model on one device
    mobilesdk bench history --compare 12 15          # ratios p50 15 / p50 12, faster / slower / no change
    mobilesdk bench history --model movepose-xs --report history.html

    A verdict is faster or slower only when Mann-Whitney U on the two runs' samples gives p < 0.01 AND the p50
    ratio is off 1 by more than the noise: max(2 %, each run's IQR / p50). Otherwise: no change.
    """
    from mobilesdk.bench.compare import compare_runs
    from mobilesdk.bench.history import History
    from mobilesdk.bench.report import format_comparison, format_runs, write_history_html

    path = _db_path(db)
    with History.open(path, create=False) as store:
        if compare:
            comparison = compare_runs(*_pair(store, runs, model_id, device))
            click.echo(
                json.dumps(comparison.to_json(), indent=2) if as_json else format_comparison(comparison)
            )
            return
        if runs:
            shown = [store.run(_run_id(r)) for r in runs]
            total = len(shown)
        else:
            shown = store.runs(model=model_id, device=device, limit=LIST_LIMIT if limit is None else limit)
            total = store.count(model=model_id, device=device)
        if report_path is not None:
            plotted = shown if runs else store.runs(model=model_id, device=device, limit=limit)
            if not plotted:
                raise click.ClickException(f"no runs to plot in {path}")
            write_history_html(plotted, report_path)
    if as_json:
        click.echo(json.dumps([r.to_json() for r in shown], indent=2))
    else:
        click.echo(format_runs(shown, total, path, detail=bool(runs)))
        if report_path is not None:
            click.echo(f"wrote {report_path}")
