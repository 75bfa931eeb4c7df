"""`mobilesdk bench DIR --emulate arm64`: arm64 instructions per stage, counted under emulation.

Every artifact the arm64 runner bundle can run is counted in ONE emulated runner process per CPU profile
(mobilesdk/emulate/profiles.py), one inference thread, on a synthetic camera frame: instructions per stage
(preprocess, inference, decode, total) per iteration. The first iteration (first-touch allocations, lazy
packing of weights) is reported apart; the steady-state figure is the median of iterations 2..N. Counts are
deterministic (the same binary on the same input executes the same instructions), so a CI can gate on them
(:func:`regressions`). They are instructions (emulated), not time: memory stalls, issue width and the cores'
SIMD throughput differ.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mobilesdk.bench.host import BenchPlan, BenchResult, CandidateResult, Target
from mobilesdk.bench.stats import Stats
from mobilesdk.emulate import run as emu
from mobilesdk.emulate.plugin import EmulateError, Qemu, build_plugin, find_qemu
from mobilesdk.emulate.profiles import Profile

LABEL = "instructions (emulated), not time"
UNIT = "instructions"
DEVICE_KIND = "emulated-arm64"
JSON_FORMAT = "mobilesdk.emulated-bench/1"
DEFAULT_ITERATIONS = 3


@dataclass
class EmulatedRun:
    profile: Profile
    result: BenchResult

    def to_json(self) -> dict[str, Any]:
        p = self.profile
        return {
            "profile": p.name,
            "qemu_cpu": p.qemu_cpu,
            "stands_for": p.stands_for,
            "device": device_of(self).to_json(),
            "result": self.result.to_json(),
        }


def device_of(run: EmulatedRun):
    """The history's device of an emulated run: the profile (``emulated:cortex-a76``); qemu's version in
    ``extra``."""
    from mobilesdk.bench.records import Device

    host = run.result.host
    return Device(
        DEVICE_KIND,
        cpu=run.profile.stands_for,
        cores=1,
        machine="aarch64",
        model=f"emulated:{run.profile.name}",
        abi="arm64-v8a",
        extra={"qemu": host.get("qemu"), "qemu_cpu": run.profile.qemu_cpu},
    )


def _steady(iterations: list[dict[str, int]]) -> list[dict[str, int]]:
    return iterations[1:] if len(iterations) > 1 else iterations


@dataclass(frozen=True)
class Tools:
    qemu: Qemu
    plugin: Path


def preflight(plugin_cache: Path | None = None) -> Tools:
    """qemu-aarch64, the plugin (built on first use) and a private namespace: one-line error naming what is
    missing and how to install it, before anything long runs."""
    qemu = find_qemu()
    plugin = build_plugin(qemu, plugin_cache)
    emu.check_namespace()
    return Tools(qemu, plugin)


def bench_emulated(
    targets: Sequence[Target],
    profiles: Sequence[Profile],
    *,
    iterations: int,
    frame: str,
    bundle_dir: Path,
    bundle_info: dict,
    extra_models: Sequence[tuple[str, str, Path]] = (),
    tools: Tools | None = None,
    progress=None,
) -> list[EmulatedRun]:
    """Count every runnable artifact of ``targets`` (plus ``extra_models``: (name, kind, file) rows such as
    ONNX Runtime's) on each profile."""
    if iterations < 2:
        raise EmulateError("--iterations: at least 2 with --emulate (the first iteration is reported apart)")
    tools = tools or preflight()
    qemu, plugin = tools.qemu, tools.plugin
    engines = set(bundle_info.get("engines", []))
    rows: list[tuple[str, str, Path, Any, Target | None]] = []
    skipped = []
    for target in targets:
        for entry, path in target.files:
            ok = (
                path.suffix == ".pte"
                or (path.suffix == ".tflite" and "litert" in engines)
                or (path.suffix == ".onnx" and "onnxruntime" in engines)
            )
            name = f"{target.label}{entry.recipe if entry is not None else path.name}"
            (rows if ok else skipped).append((name, "emulated", path, entry, target))
    rows += [(name, kind, path, None, None) for name, kind, path in extra_models]
    if not rows:
        raise EmulateError("nothing to count: the arm64 bundle runs .pte and .tflite artifacts")
    out: list[EmulatedRun] = []
    with tempfile.TemporaryDirectory(prefix="mobilesdk-emulate-") as work:
        for profile in profiles:
            phase = (
                progress.phase(f"Counting {len(rows)} candidate(s) on emulated {profile.name}")
                if progress
                else None
            )
            if phase is not None:
                phase.__enter__()
            try:
                counted = emu.count(bundle_dir, [r[2] for r in rows], profile, qemu=qemu, plugin=plugin,
                                    iterations=iterations, frame=frame, workdir=Path(work))  # fmt: skip
            finally:
                if phase is not None:
                    phase.__exit__(None, None, None)
            out.append(
                EmulatedRun(
                    profile, _result(targets, rows, counted, profile, qemu, iterations, frame, skipped)
                )
            )
    return out


def _result(targets, rows, counted, profile: Profile, qemu, iterations, frame, skipped) -> BenchResult:
    first = targets[0] if targets else None
    plan = BenchPlan(warmup=0, iterations=iterations, threads=(1,))
    host = {
        "cpu": f"emulated arm64 {profile.name} (qemu-aarch64 {qemu.version} -cpu {profile.qemu_cpu})",
        "cores": 1,
        "machine": "aarch64",
        "profile": profile.name,
        "qemu": qemu.version if qemu.debian is None else f"{qemu.version} ({qemu.debian})",
    }
    result = BenchResult(first.name if first else rows[0][0], host, plan, unit=UNIT)
    result.fingerprint = (
        first.manifest.fingerprint if first is not None and first.manifest is not None else None
    )
    for (name, kind, path, entry, target), c in zip(rows, counted, strict=True):
        steady = _steady(c.iterations)
        stages = {s: Stats.of([it[s] for it in steady]) for s in emu.STAGES}
        runtime = c.summary.get("runtime") or {}
        r = CandidateResult(
            name,
            kind,
            f"{runtime.get('name', '?')} {runtime.get('version') or ''}".strip(),
            1,
            0.0,
            stages["total"],
            [float(it["total"]) for it in steady],
            entry.recipe if entry is not None else None,
            path.name,
            path.stat().st_size,
        )
        r.stages = stages
        r.first_iteration = {s: float(v) for s, v in c.iterations[0].items()}
        r.sha256 = target.hashes.get(path) if target is not None else None
        r.runtime_version = runtime.get("version")
        result.results.append(r)
    ort = next((r for r in result.results if r.kind == "onnxruntime"), None)
    if ort is not None:
        base = ort.stages["inference"].p50
        for r in result.results:
            r.ratios = {ort.name: r.stages["inference"].p50 / base}
    result.notes.append(
        f"{LABEL}: qemu-aarch64 -cpu {profile.qemu_cpu} standing for {profile.stands_for}; one runner "
        f"process, 1 thread, frame {frame}; steady state = median of iterations 2..{iterations}, first iteration "
        "apart; deterministic (a CI can gate on them with --fail-above)"
    )
    for name, *_ in skipped:
        result.notes.append(f"{name}: not counted (the arm64 bundle has no engine for it)")
    result.finished_at = datetime.now(UTC).isoformat(timespec="milliseconds")
    return result


def format_runs(runs: Sequence[EmulatedRun]) -> str:
    return "\n\n".join(format_table(r.result) for r in runs)


def format_table(result: BenchResult) -> str:
    """One profile's counts: millions of instructions per stage, steady state, and the first iteration."""
    lines = [
        f"{result.model} on {result.host['cpu']}: {LABEL}; millions per iteration, steady state (median of "
        f"iterations 2..{result.plan.iterations}); 1 thread",
    ]
    baselines = sorted({b for r in result.results for b in r.ratios})
    header = (
        f"{'candidate':<26} {'runtime':<20} {'preprocess':>10} {'inference':>10} {'decode':>8} {'total':>9} "
        f"{'1st total':>9}" + "".join(f" {'/' + b[:20]:>21}" for b in baselines)
    )
    lines += [header, "-" * len(header)]
    for r in result.results:
        s = r.stages or {}
        first = getattr(r, "first_iteration", None) or {}
        m = lambda v: f"{v / 1e6:.3f}"  # noqa: E731
        ratios = "".join(f" {r.ratios[b]:>20.2f}x" if b in r.ratios else f" {'':>21}" for b in baselines)
        lines.append(
            f"{r.name[:26]:<26} {r.runtime[:20]:<20} {m(s['preprocess'].p50):>10} {m(s['inference'].p50):>10} "
            f"{m(s['decode'].p50):>8} {m(s['total'].p50):>9} "
            f"{m(first['total']) if 'total' in first else '-':>9}{ratios}"
        )
    if baselines:
        lines.append("ratios: inference instructions / the baseline's (below 1 is fewer instructions)")
    lines += result.notes
    return "\n".join(lines)


def to_json(runs: Sequence[EmulatedRun]) -> dict[str, Any]:
    return {"format": JSON_FORMAT, "unit": UNIT, "label": LABEL, "profiles": [r.to_json() for r in runs]}


# ---- the CI gate ------------------------------------------------------------------------------------------


def baseline_from_file(path: Path) -> dict[str, dict[str, dict[str, float]]]:
    """profile -> candidate -> stage -> steady instructions, from a ``--json`` output of an emulated bench."""
    try:
        doc = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise EmulateError(f"--baseline {path}: no such file") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise EmulateError(f"--baseline {path}: not a JSON file ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != JSON_FORMAT:
        raise EmulateError(
            f"--baseline {path}: not the --json output of `mobilesdk bench --emulate` (format {JSON_FORMAT})"
        )
    out: dict[str, dict[str, dict[str, float]]] = {}
    for p in doc.get("profiles", []):
        out[p["profile"]] = {
            c["name"]: {s: v["p50"] for s, v in (c.get("stages") or {}).items()}
            for c in p["result"]["candidates"]
        }
    return out


def baseline_from_history(runs: Sequence[EmulatedRun], db: Path) -> tuple[dict, dict[str, int]]:
    """The newest stored run of the same model on the same profile, per profile (and which run it was)."""
    from mobilesdk.bench import history as hist

    out: dict[str, dict[str, dict[str, float]]] = {}
    ids: dict[str, int] = {}
    with hist.History.open(db, create=False) as h:
        for run in runs:
            probe = hist.run_of(run.result, device_of(run))
            probe.id = 2**62
            prev = h.previous(probe)
            if prev is None:
                continue
            ids[run.profile.name] = prev.id
            out[run.profile.name] = {
                c.name: {s: v["p50"] for s, v in (c.stages or {}).items()} for c in prev.candidates
            }
    return out, ids


def regressions(runs: Sequence[EmulatedRun], baseline: dict, ratio: float) -> list[str]:
    """One line per (profile, candidate, stage) whose steady count exceeds ``ratio`` x the baseline's."""
    found = []
    for run in runs:
        base = baseline.get(run.profile.name, {})
        for r in run.result.results:
            old = base.get(r.name)
            if not old:
                continue
            for stage in emu.STAGES:
                new_v, old_v = r.stages[stage].p50, old.get(stage)
                if old_v and new_v > ratio * old_v:
                    found.append(
                        f"regression: {run.profile.name} {r.name} {stage}: {new_v / 1e6:.3f} M instructions vs "
                        f"{old_v / 1e6:.3f} M in the baseline ({new_v / old_v:.3f}x > {ratio:g}x)"
                    )
    return found


def default_db() -> Path:
    from mobilesdk.bench.history import default_path

    return default_path(os.environ)
