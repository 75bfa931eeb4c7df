"""Run a model file once on its host runtime (tests only): a session opened and closed around one call."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mobilesdk.runtimes import runtime_for_file


def run_model(path: Path, inputs: Sequence[np.ndarray], threads: int | None = None) -> list[np.ndarray]:
    with runtime_for_file(path).open(path, threads) as session:
        return session.run([np.ascontiguousarray(x) for x in inputs])


def read_metadata(path: Path) -> dict[str, str]:
    return runtime_for_file(path).read_metadata(path)
