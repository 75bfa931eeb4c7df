"""Latency statistics of one candidate: order statistics, robust means and spread, in milliseconds."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Stats:
    """Over ``n`` timed runs (ms): min, p10/p50/p90/p99 (linear interpolation, numpy's default), mean,
    ``trimmed_mean`` = mean of the runs between p10 and p90 (inclusive), std (sample, ddof=1), cv = std / mean."""

    n: int
    min: float
    p10: float
    p50: float
    p90: float
    p99: float
    max: float
    mean: float
    trimmed_mean: float
    std: float
    cv: float

    @staticmethod
    def of(samples_ms: Sequence[float]) -> Stats:
        x = np.asarray(samples_ms, dtype=np.float64)
        if x.size == 0 or not np.isfinite(x).all():
            raise ValueError("statistics need at least one finite sample")
        p10, p50, p90, p99 = (float(v) for v in np.percentile(x, [10, 50, 90, 99]))
        inner = x[(x >= p10) & (x <= p90)]
        mean = float(x.mean())
        std = float(x.std(ddof=1)) if x.size > 1 else 0.0
        return Stats(
            n=int(x.size),
            min=float(x.min()),
            p10=p10,
            p50=p50,
            p90=p90,
            p99=p99,
            max=float(x.max()),
            mean=mean,
            trimmed_mean=float(inner.mean()) if inner.size else mean,
            std=std,
            cv=std / mean if mean > 0 else math.nan,
        )

    def to_json(self) -> dict[str, float]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}
