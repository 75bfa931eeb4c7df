"""`mobilesdk bench` on the host CPU: every candidate loaded once, warmed up, then timed round by round.

Targets: a build directory (every artifact of its manifest), an artifact built by mobilesdk (its embedded
manifest), or any ``.pte`` / ``.tflite`` nobody here built (inputs generated from the file's own input spec:
uint8 uniform 0..255, float uniform [-1, 1], seeded). With a manifest the input is the first verification image
(synthetic figure in the model's keypoint layout) converted as each candidate takes it.

Method: for each thread count (a phase; ExecuTorch's thread pool is process-wide, so all sessions of a phase
share it and are closed before the next), every candidate is loaded and run once (weight packing and XNNPACK
setup count as loading), then ``warmup`` untimed runs each, then rounds: each round times one run of every
candidate, in an order rotated by one each round so no candidate always follows the same neighbour. Ratios are
p50 / baseline p50 within the phase (< 1 is faster than the baseline; the baseline is the first ``--compare``
candidate, else the first artifact).
"""

from __future__ import annotations

import contextlib
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np

from mobilesdk.bench import candidates as cand
from mobilesdk.bench.stats import Stats
from mobilesdk.errors import MobileSDKError

MIN_ROUNDS = 5


class BenchError(MobileSDKError):
    """A bench that cannot run as asked (bad plan, a target without what --compare needs)."""


@dataclass(frozen=True)
class BenchPlan:
    warmup: int = 5
    iterations: int = 30
    seconds: float | None = None  # a time budget per phase instead of a fixed number of rounds
    threads: tuple[int, ...] = (1,)
    compare: tuple[str, ...] = ()
    runner: Path | None = None  # mobilesdk-runner: adds the native core end to end, per stage

    def check(self) -> None:
        if self.warmup < 0 or self.iterations < 1:
            raise BenchError(
                f"warm-up must be >= 0 and iterations >= 1, got {self.warmup} and {self.iterations}"
            )
        if self.seconds is not None and not 0 < self.seconds < 86400:
            raise BenchError(f"--seconds must be > 0, got {self.seconds}")
        if not self.threads or any(t < 1 for t in self.threads):
            raise BenchError(f"--threads must be positive, got {list(self.threads)}")
        unknown = [c for c in self.compare if c not in cand.COMPARE_CHOICES]
        if unknown:
            raise BenchError(f"--compare {','.join(unknown)}: choose from {', '.join(cand.COMPARE_CHOICES)}")


@dataclass
class CandidateResult:
    name: str
    kind: str
    runtime: str
    threads: int
    load_ms: float
    stats: Stats
    samples: list[float]
    recipe: str | None = None
    file: str | None = None
    bytes: int | None = None
    ratios: dict[str, float] = field(default_factory=dict)
    stages: dict[str, Stats] | None = None  # native runner: preprocess / inference / decode / total
    sha256: str | None = None  # of the artifact file as timed (not the manifest's word for it)
    runtime_version: str | None = None
    core_mask: str | None = None  # phone benches: the CPUs the runner was pinned to (hex)
    first_iteration: dict[str, float] | None = None  # emulated counts: the first iteration's stages, apart

    def to_json(self) -> dict[str, Any]:
        out = {
            "name": self.name,
            "kind": self.kind,
            "runtime": self.runtime,
            "recipe": self.recipe,
            "file": self.file,
            "bytes": self.bytes,
            "sha256": self.sha256,
            "runtime_version": self.runtime_version,
            "threads": self.threads,
            "core_mask": self.core_mask,
            "load_ms": round(self.load_ms, 3),
            **self.stats.to_json(),
            "ratios": {k: round(v, 4) for k, v in self.ratios.items()},
            "samples_ms": [round(s, 4) for s in self.samples],
        }
        if self.stages is not None:
            out["stages"] = {k: v.to_json() for k, v in self.stages.items()}
        if self.first_iteration is not None:
            out["first_iteration"] = dict(self.first_iteration)
        return out


@dataclass
class BenchResult:
    model: str
    host: dict[str, Any]
    plan: BenchPlan
    results: list[CandidateResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unit: str = "ms"  # of samples and statistics ("instructions" for an emulated-cost run)
    fingerprint: str | None = None  # the manifest's model fingerprint (None for a file nobody here built)
    finished_at: str | None = None  # UTC, ISO 8601
    state_before: dict[str, Any] = field(default_factory=dict)  # host_state() before / after timing
    state_after: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "unit": self.unit,
            "fingerprint": self.fingerprint,
            "finished_at": self.finished_at,
            "host": self.host,
            "state_before": self.state_before,
            "state_after": self.state_after,
            "plan": {
                "warmup": self.plan.warmup,
                "iterations": self.plan.iterations,
                "seconds": self.plan.seconds,
                "threads": list(self.plan.threads),
                "compare": list(self.plan.compare),
            },
            "candidates": [r.to_json() for r in self.results],
            "notes": self.notes,
        }


@dataclass
class Target:
    name: str
    manifest: Any  # mobilesdk.manifest.Manifest | None
    files: list[tuple[Any, Path]]  # (ArtifactEntry | None, path)
    label: str = ""  # prefix of candidate names when several targets are compared in one run
    hashes: dict[Path, str] = field(default_factory=dict)  # sha256 of each file, read once per bench


def host_info() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }


def _read_sysfs(pattern: str, scale: float) -> dict[str, float] | None:
    values = {}
    for path in sorted(Path("/").glob(pattern)):
        with contextlib.suppress(OSError, ValueError):
            values[path.parent.name] = float(path.read_text().strip()) / scale
    return values or None


def host_state() -> dict[str, Any]:
    """CPU clocks (kHz, per cpu) and thermal zones (degrees C) where Linux exposes them; None where it does not
    (containers and most VMs): recorded before and after timing, as a phone bench records its own."""
    return {
        "freqs_khz": _read_sysfs("sys/devices/system/cpu/cpu*/cpufreq/scaling_cur_freq", 1.0),
        "temps_c": _read_sysfs("sys/class/thermal/thermal_zone*/temp", 1000.0),
    }


_DISTRIBUTIONS = {"executorch": "executorch", "litert": "ai-edge-litert"}


def runtime_version(runtime: str) -> str | None:
    """The installed version of a host runtime (the manifest's runtime names)."""
    try:
        return importlib_metadata.version(_DISTRIBUTIONS.get(runtime, runtime))
    except importlib_metadata.PackageNotFoundError:
        return None


def resolve_target(path: Path) -> Target:
    from mobilesdk import manifest as mf
    from mobilesdk.runtimes import runtime_for_file

    path = Path(path)
    if not path.exists():
        raise BenchError(f"{path}: no such file or build directory")
    if path.is_dir():
        manifest = mf.read_manifest(path / mf.MANIFEST_FILE)
        files = []
        for entry in manifest.artifacts:
            file = path / entry.file
            if not file.is_file():
                raise BenchError(f"{file}: listed in the manifest but missing")
            files.append((entry, file))
        target = Target(manifest.id, manifest, files)
    else:
        runtime_for_file(path)  # an unknown extension is an error here, before anything is read
        try:
            manifest = mf.read_embedded(path)
        except mf.ManifestError:  # not built by mobilesdk: the file's own input spec
            target = Target(path.stem, None, [(None, path)])
        else:
            target = Target(manifest.id, manifest, [(manifest.artifacts[0], path)])
    target.hashes = {file: mf.sha256_file(file) for _, file in target.files}
    return target


def _crop(manifest) -> np.ndarray:
    from mobilesdk import synthetic
    from mobilesdk.verify import VERIFY_SEED

    entry = manifest.artifacts[0].input
    kp = manifest.keypoints
    crops, _ = synthetic.make_samples(
        1,
        len(kp["names"]),
        entry.size["width"],
        entry.size["height"],
        [tuple(p) for p in kp.get("skeleton", [])],
        seed=VERIFY_SEED,
    )
    return crops


def run_rounds(
    candidates: list[cand.Candidate], plan: BenchPlan, tick: Callable[[], None]
) -> dict[str, list[float]]:
    for c in candidates:
        for _ in range(plan.warmup):
            c.run()
    samples: dict[str, list[float]] = {c.name: [] for c in candidates}
    start, rounds = time.perf_counter(), 0
    while True:
        shift = rounds % len(candidates)
        for c in candidates[shift:] + candidates[:shift]:
            t0 = time.perf_counter()
            c.run()
            samples[c.name].append((time.perf_counter() - t0) * 1e3)
        rounds += 1
        tick()
        if plan.seconds is not None:
            if time.perf_counter() - start >= plan.seconds and rounds >= MIN_ROUNDS:
                return samples
        elif rounds >= plan.iterations:
            return samples


def _labelled(paths: Sequence[Path]) -> list[Target]:
    targets = [resolve_target(p) for p in paths]
    if len(targets) > 1:
        parents = [Path(p).resolve().parent.name for p in paths]
        labels = parents if len(set(parents)) == len(parents) else [str(i + 1) for i in range(len(paths))]
        for t, label in zip(targets, labels, strict=True):
            t.label = f"{label}:"
    return targets


def bench(
    path: Path | Sequence[Path],
    plan: BenchPlan,
    *,
    card_path: Path | None = None,
    checkpoint: Path | None = None,
    workdir: Path,
    progress=None,
) -> BenchResult:
    """Benchmark ``path`` (a build dir or model file, or several compared in one run) per ``plan``;
    ``workdir`` holds the ONNX export. With several targets, ``--compare`` uses the first one's model."""
    from mobilesdk.build import Progress

    plan.check()
    progress = progress or Progress()
    targets = _labelled([path] if isinstance(path, str | Path) else list(path))
    first = targets[0]
    result = BenchResult(first.name, host_info(), plan)
    result.fingerprint = first.manifest.fingerprint if first.manifest is not None else None
    result.state_before = host_state()
    model = x_nchw = onnx_path = None
    if plan.compare:
        if first.manifest is None:
            raise BenchError(
                f"{first.files[0][1]}: --compare needs a model built by mobilesdk (its manifest names the PyTorch model)"
            )
        model, x_nchw = _eager_model(first.manifest, card_path, checkpoint)
        if "onnxruntime" in plan.compare:
            with progress.phase("Exporting the PyTorch model to ONNX for ONNX Runtime"):
                onnx_path = Path(workdir) / f"{first.name}.onnx"
                if plan.runner is not None:  # the same export, with the manifest the native runner needs
                    cand.write_onnx_with_manifest(first.manifest, model, onnx_path)
                else:
                    cand.export_onnx(model, x_nchw, onnx_path)
    for threads in plan.threads:
        with cand.torch_threads(threads) if model is not None else contextlib.nullcontext():
            phase = _load_phase(targets, plan, threads, model, x_nchw, onnx_path, progress)
            try:
                total = plan.iterations if plan.seconds is None else None
                with progress.phase(
                    f"Timing {len(phase)} candidate(s) at {threads} thread(s)", total=total
                ) as tick:
                    samples = run_rounds(phase, plan, tick)
            finally:
                for c in phase:
                    c.close()
        phase_results = _results(phase, samples, plan)
        result.results.extend(phase_results)
        if plan.runner is not None:
            with progress.phase(f"Native runner at {threads} thread(s)"):
                result.results.extend(_native(targets, plan, threads, phase_results))
                if onnx_path is not None:
                    result.results.extend(_native_onnx(onnx_path, plan, threads, phase_results))
    if plan.runner is not None and not any(r.kind == "native" for r in result.results):
        result.notes.append("--runner native: no .pte or .tflite artifact to run")
    result.state_after = host_state()
    result.finished_at = datetime.now(UTC).isoformat(timespec="milliseconds")
    return result


def _native(
    targets: list[Target], plan: BenchPlan, threads: int, phase: list[CandidateResult]
) -> list[CandidateResult]:
    from mobilesdk import manifest as mf
    from mobilesdk.bench import native_runner

    baselines = _baselines(phase)
    out = []
    for target in targets:
        for entry, path in target.files:
            if path.suffix not in (".pte", ".tflite") or entry is None:
                continue
            manifest = (
                path.parent / mf.MANIFEST_FILE if path.parent.joinpath(mf.MANIFEST_FILE).is_file() else None
            )
            stages, samples, summary = native_runner.run(
                plan.runner,
                path,
                manifest=manifest,
                recipe=entry.recipe,
                threads=threads,
                warmup=plan.warmup,
                iterations=plan.iterations,
            )
            r = _native_result(
                f"{target.label}native:{entry.recipe}",
                entry.recipe,
                path,
                threads,
                stages,
                samples,
                summary,
                entry.runtime,
                baselines,
            )
            r.sha256 = target.hashes.get(path)
            out.append(r)
    return out


_ENGINE_NAMES = {"executorch": "ExecuTorch", "litert": "LiteRT", "onnxruntime": "ONNX Runtime"}


def _native_result(
    name: str, recipe: str, path: Path, threads: int, stages, samples, summary: dict, runtime: str, baselines
) -> CandidateResult:
    """One ``native:`` row from a runner run: total as the candidate's figure, every stage kept, ratios on
    inference, the runtime and its version as the runner reports them (else the expected ones)."""
    reported = summary.get("runtime") or {}
    runtime = reported.get("name") or runtime
    r = CandidateResult(
        name,
        "native",
        f"mobilesdk-runner (C++ core, {_ENGINE_NAMES.get(runtime, runtime)})",
        threads,
        float(summary.get("load_ms", 0.0)),
        stages["total"],
        samples["total"],
        recipe,
        path.name,
        path.stat().st_size,
    )
    r.stages = stages
    r.ratios = _ratios(stages["inference"].p50, baselines)
    r.runtime_version = reported.get("version") or runtime_version(runtime)
    return r


def _native_onnx(
    onnx_path: Path, plan: BenchPlan, threads: int, phase: list[CandidateResult]
) -> list[CandidateResult]:
    """``--runner native --compare onnxruntime``: the ONNX export through the C++ core's ONNX Runtime engine (same
    preprocessing, decode and counting as the artifacts' native rows)."""
    from mobilesdk.bench import native_runner

    stages, samples, summary = native_runner.run(
        plan.runner,
        onnx_path,
        manifest=None,
        recipe=None,
        threads=threads,
        warmup=plan.warmup,
        iterations=plan.iterations,
    )
    r = _native_result(
        "native:onnxruntime",
        cand.ONNX_RECIPE,
        onnx_path,
        threads,
        stages,
        samples,
        summary,
        "onnxruntime",
        _baselines(phase),
    )
    return [r]


def _eager_model(manifest, card_path, checkpoint):
    from mobilesdk.modeling import load_eager
    from mobilesdk.preprocess import normalize
    from mobilesdk.verify import card_for_manifest, checkpoint_for_manifest

    card = card_for_manifest(manifest, card_path)
    model = load_eager(card, checkpoint_for_manifest(manifest, checkpoint))
    return model, normalize(_crop(manifest), card.input)


def _load_phase(
    targets: list[Target], plan: BenchPlan, threads: int, model, x_nchw, onnx_path, progress
) -> list[cand.Candidate]:
    from mobilesdk.runtimes import runtime_for_file
    from mobilesdk.verify import model_inputs

    loaded: list[cand.Candidate] = []
    try:
        with progress.phase(f"Loading candidates at {threads} thread(s)"):
            for name in plan.compare:
                if name == "eager":
                    loaded.append(cand.eager(model, x_nchw, threads))
                else:
                    loaded.append(cand.onnxruntime(onnx_path, x_nchw, threads))
            for target in targets:
                crop = _crop(target.manifest) if target.manifest is not None else None
                for entry, path in target.files:
                    runtime = entry.runtime if entry is not None else runtime_for_file(path).name
                    inputs = (
                        [model_inputs(crop, entry.input)] if entry is not None and crop is not None else None
                    )
                    name = target.label + (entry.recipe if entry is not None else path.name)
                    c = cand.artifact(path, runtime, inputs, threads, name, entry.recipe if entry else None)
                    c.sha256, c.runtime_version = target.hashes.get(path), runtime_version(runtime)
                    loaded.append(c)
    except BaseException:
        for c in loaded:
            c.close()
        raise
    return loaded


def _results(
    phase: list[cand.Candidate], samples: dict[str, list[float]], plan: BenchPlan
) -> list[CandidateResult]:
    out = [
        CandidateResult(
            c.name,
            c.kind,
            c.runtime,
            c.threads,
            c.load_ms,
            Stats.of(samples[c.name]),
            samples[c.name],
            c.recipe,
            c.file,
            c.bytes,
            sha256=c.sha256,
            runtime_version=c.runtime_version,
        )
        for c in phase
    ]
    baselines = _baselines(out)
    for r in out:
        r.ratios = _ratios(r.stats.p50, baselines)
    return out


def _baselines(phase: list[CandidateResult]) -> list[CandidateResult]:
    """What ratios divide by: eager and ONNX Runtime when compared, else the phase's first candidate."""
    return [r for r in phase if r.kind in ("eager", "onnxruntime")] or phase[:1]


def _ratios(p50: float, baselines: list[CandidateResult]) -> dict[str, float]:
    return {b.name: p50 / b.stats.p50 for b in baselines if b.stats.p50 > 0}
