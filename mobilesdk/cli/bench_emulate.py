"""`mobilesdk bench ... --emulate arm64`: the emulated-cost part of the bench command (mobilesdk/emulate/)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import click


def run_emulated_bench(
    targets: list[Path],
    *,
    cpus: tuple[str, ...],
    iterations: int,
    frame: str,
    compare: tuple[str, ...],
    native_cache: Path,
    card_path: Path | None = None,
    checkpoint: Path | None = None,
    bundle_dir: Path | None = None,
    as_json: bool,
    report_path: Path | None,
    db: Path | None,
    no_history: bool,
    fail_above: float | None,
    baseline: str | None,
    progress,
) -> None:
    """Count, print (table or JSON), write the report, store each profile's run, then gate on the baseline."""
    from mobilesdk.bench.host import _labelled
    from mobilesdk.bench.report import write_html
    from mobilesdk.cli.history import _db_path, store_result
    from mobilesdk.emulate import bench as eb
    from mobilesdk.emulate.plugin import EmulateError
    from mobilesdk.emulate.profiles import resolve
    from mobilesdk.native_cross import build_arm64_bundle

    unknown = [c for c in compare if c != "onnxruntime"]
    if unknown:
        raise EmulateError(f"--compare {unknown[0]} with --emulate: only onnxruntime is counted on arm64")
    profiles = resolve(cpus)
    resolved = _labelled(targets)
    base_file = None
    if fail_above is not None and baseline not in (None, "last"):
        base_file = eb.baseline_from_file(Path(baseline))  # before the (long) run: a bad file fails at once
    if iterations < 2:
        raise EmulateError("--iterations: at least 2 with --emulate (the first iteration is reported apart)")
    tools = eb.preflight()
    if bundle_dir is not None:
        bundle = _given_bundle(bundle_dir)
    else:
        with progress.phase("Building the arm64 runner bundle (cached after the first time)"):
            bundle = build_arm64_bundle(
                native_cache.expanduser(), native_cache.expanduser().parent / "wheels"
            )
    with tempfile.TemporaryDirectory(prefix="mobilesdk-emulate-onnx-") as work:
        extra = []
        if "onnxruntime" in compare:
            from mobilesdk.emulate.onnx import onnx_rows

            extra = onnx_rows(targets, [t.label for t in resolved], bundle.info, Path(work), card_path=card_path,
                              checkpoint=checkpoint, progress=progress)  # fmt: skip
        runs = eb.bench_emulated(
            resolved, profiles, iterations=iterations, frame=frame, bundle_dir=bundle.bundle_dir,
            bundle_info=bundle.info, extra_models=extra, tools=tools, progress=progress,
        )  # fmt: skip
    if as_json:
        click.echo(json.dumps(eb.to_json(runs), indent=2))
    else:
        click.echo(eb.format_runs(runs))
    if report_path is not None:
        write_html(_one_report(runs), report_path)
        if not as_json:
            click.echo(f"wrote {report_path}")
    ids: dict[str, int] = {}
    base = base_file
    if fail_above is not None and base is None:  # the newest stored run before this one, per profile
        base, ids = eb.baseline_from_history(runs, _db_path(db))
    if not no_history:
        for run in runs:
            store_result(run.result, db, device=eb.device_of(run))
    if fail_above is None:
        return
    missing = [r.profile.name for r in runs if r.profile.name not in base]
    for name in missing:
        click.echo(
            f"note: no baseline for {name} (nothing stored before for this model): not gated", err=True
        )
    bad = eb.regressions(runs, base, fail_above)
    for line in bad:
        click.echo(line, err=True)
    if bad:
        where = (
            f"--baseline {baseline}"
            if base_file is not None
            else "the previous stored run"
            + (f" ({', '.join(f'{k}: run {v}' for k, v in ids.items())})" if ids else "")
        )
        raise click.ClickException(f"{len(bad)} instruction count(s) above {fail_above:g}x {where}")


def _given_bundle(bundle_dir: Path):
    """A bundle the user built (`mobilesdk runner build --target arm64`), checked before use."""
    from types import SimpleNamespace

    from mobilesdk.emulate.plugin import EmulateError
    from mobilesdk.native_cross import BUNDLE_JSON, check_bundle

    problems = check_bundle(bundle_dir) if Path(bundle_dir).is_dir() else ["not a folder"]
    if problems:
        raise EmulateError(f"--bundle {bundle_dir}: not an arm64 runner bundle ({problems[0]})")
    try:
        info = json.loads((Path(bundle_dir) / BUNDLE_JSON).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise EmulateError(f"--bundle {bundle_dir}: unreadable {BUNDLE_JSON} ({exc})") from None
    return SimpleNamespace(bundle_dir=Path(bundle_dir), info=info)


def _one_report(runs):
    """Every profile's candidates in one result for the HTML report, named by profile."""
    import copy

    merged = copy.copy(runs[0].result)
    merged.results, merged.notes = [], []
    for run in runs:
        for r in run.result.results:
            r = copy.copy(r)
            r.name = f"{run.profile.name}: {r.name}"
            merged.results.append(r)
        merged.notes.extend(run.result.notes)
    if len(runs) > 1:
        merged.host = {**merged.host, "cpu": "emulated arm64: " + ", ".join(r.profile.name for r in runs)}
    return merged
