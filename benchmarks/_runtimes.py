"""Shared by the single-layer benchmark scripts: export a module to each runtime, load it once per thread
count, time candidates interleaved. Built on the product's own sessions (mobilesdk.runtimes) and bench
(mobilesdk.bench), so a script measures exactly what `mobilesdk bench` measures.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from mobilesdk.bench import candidates as cand
from mobilesdk.bench.host import BenchPlan, run_rounds
from mobilesdk.bench.stats import Stats

Candidate = Callable[[], object]


def export_pte(module, example: torch.Tensor, path: Path, quantize=None, calibration=(), **kw) -> Path:
    from mobilesdk.export.executorch import export_executorch

    export_executorch(module, example, path, quantize=quantize, calibration=list(calibration), **kw)
    return path


def export_tflite(module, example: torch.Tensor, path: Path, precision="fp32", calibration=(), **kw) -> Path:
    from mobilesdk.export.litert import export_litert

    export_litert(
        module,
        example,
        path,
        precision=precision,
        channel_last_input=True,
        calibration=list(calibration),
        **kw,
    )
    return path


class Session:
    """Candidates loaded for one thread count; ``close()`` frees them before the next count."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self._open: list[Callable[[], None]] = []
        torch.set_num_threads(threads)

    def _artifact(self, runtime: str, path: Path, x: np.ndarray) -> Candidate:
        c = cand.artifact(Path(path), runtime, [x], self.threads, str(path), None)  # first run = loading
        self._open.append(c.close)
        return c.run

    def pte(self, path: Path, x: np.ndarray) -> Candidate:
        return self._artifact("executorch", path, np.ascontiguousarray(x))

    def tflite(self, path: Path, x: np.ndarray) -> Candidate:
        return self._artifact("litert", path, np.ascontiguousarray(x))

    def eager(self, module, x: torch.Tensor) -> Candidate:
        return cand.eager(module.eval(), x.numpy(), self.threads).run

    def close(self) -> None:
        for close in self._open:
            close()
        self._open.clear()


def interleave(candidates: dict[str, Candidate], runs: int = 30, warmup: int = 3) -> dict[str, list[float]]:
    """Every candidate ``warmup`` times, then ``runs`` rounds of one call each (order rotated); times in ms."""
    wrapped = [cand.Candidate(str(name), "script", "", 0, 0.0, fn) for name, fn in candidates.items()]
    times = run_rounds(wrapped, BenchPlan(warmup=warmup, iterations=runs), lambda: None)
    return {name: times[str(name)] for name in candidates}


def p50(ts: Sequence[float]) -> float:
    return Stats.of(ts).p50


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    """A scratch folder for the exported files, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="mobilesdk-bench-") as where:
        yield Path(where)


def nhwc(x: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(x.permute(0, 2, 3, 1).numpy())
