"""Two benchmark runs compared candidate by candidate, with a verdict that is only given outside the noise.

For each candidate present in both runs (same name and thread count) the ratio is ``p50 B / p50 A`` (below 1:
B is faster). The verdict is ``faster`` or ``slower`` only when BOTH hold, else ``no change``:

1. **Mann–Whitney U** (two-sided) on the two sets of samples rejects "same distribution" at ``alpha = 0.01``;
2. the **effect** is larger than the noise: ``|ratio - 1| > max(floor, IQR_A / p50_A, IQR_B / p50_B)``, the
   floor being 2 % for times and 0.5 % for instruction counts (:data:`MIN_EFFECT`).

Why this test, and why both conditions:

* Latency samples are skewed with a long right tail (preemption, page faults, a clock step): a rank test
  assumes no distribution and is unmoved by a few outliers, where a t-test on means is not.
* It is exact for small runs (the null distribution of U is counted exactly without ties up to 50 × 50
  samples; a normal approximation with tie and continuity corrections beyond, or with ties), deterministic
  (the same two runs always get the same verdict) and needs only numpy. With fewer than 5 samples per run no
  outcome reaches ``p < 0.01``: a 3-iteration bench can never claim a change, which is what it deserves.
* Samples within one run are not independent draws of "the device": they share its clock, temperature and
  background load for the run's duration, and run-to-run spread exceeds within-run noise (react-native-
  executorch's protocol measured 9-51 % between identical runs on phones, specs/bench.md §3.5, §5). With
  hundreds of samples the test alone flags a 1 % shift that the next run would not reproduce. The effect gate
  asks the shift to exceed the runs' own spread (inter-quartile range over median, robust to the tail) and a
  floor for between-run drift that a tight within-run spread does not show.
* A bootstrap confidence interval of the ratio of medians was the alternative: it also sees only within-run
  noise (so it needs the same gate), is random unless seeded, and is poor for small runs (the bootstrap
  distribution of a median of 5-10 samples is lumpy), while costing thousands of resamples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mobilesdk.bench.history import HistoryError, StoredRun

ALPHA = 0.01
MIN_EFFECT = {"ms": 0.02, "instructions": 0.005}  # instruction counts do not drift with clocks or heat
EXACT_MAX = 50  # exact null distribution of U up to this many samples per run (without ties)
MIN_SAMPLES = 5  # below, no outcome of the exact test reaches p < 0.01 (4 vs 4: p >= 0.029)


@dataclass(frozen=True)
class CandidateComparison:
    name: str
    threads: int
    n_a: int
    n_b: int
    p50_a: float
    p50_b: float
    ratio: float  # p50 B / p50 A
    p_value: float  # Mann-Whitney U, two-sided
    noise: float  # the effect |ratio - 1| must exceed this (a fraction)
    verdict: str  # faster | slower | no change
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "threads": self.threads,
            "n_a": self.n_a,
            "n_b": self.n_b,
            "p50_a": self.p50_a,
            "p50_b": self.p50_b,
            "ratio": self.ratio,
            "p_value": self.p_value,
            "noise": self.noise,
            "verdict": self.verdict,
            "reason": self.reason,
        }


@dataclass
class RunComparison:
    a: StoredRun
    b: StoredRun
    rows: list[CandidateComparison]
    only_a: list[str] = field(default_factory=list)  # "name @ Nt" present in one run only
    only_b: list[str] = field(default_factory=list)
    differs: list[str] = field(default_factory=list)  # what differs between the runs besides the code

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.a.id,
            "b": self.b.id,
            "unit": self.a.unit,
            "alpha": ALPHA,
            "test": "Mann-Whitney U (two-sided) and |p50 B / p50 A - 1| > max(floor, IQR/p50 of A, of B)",
            "candidates": [r.to_json() for r in self.rows],
            "only_a": self.only_a,
            "only_b": self.only_b,
            "differs": self.differs,
        }


def rank_average(x: np.ndarray) -> np.ndarray:
    """Ranks 1..N of ``x`` (1-D), ties given the mean of the ranks they span."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    new = np.concatenate(([True], xs[1:] != xs[:-1]))
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], x.size)
    average = (starts + ends + 1) / 2.0  # mean of the 1-based ranks starts+1 .. ends
    ranks = np.empty(x.size)
    ranks[order] = average[np.cumsum(new) - 1]
    return ranks


def _u_counts(m: int, n: int) -> np.ndarray:
    """How many of the C(m+n, m) orderings give U = 0..m*n: the coefficients of the Gaussian binomial
    [m+n choose m]_q = prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i)."""
    poly = np.zeros(m * n + 1)
    poly[0] = 1.0
    for i in range(1, m + 1):
        poly[n + i :] -= poly[: -(n + i)].copy()  # times (1 - q^(n+i))
        for r in range(i):  # divided by (1 - q^i): a running sum with stride i
            poly[r::i] = np.cumsum(poly[r::i])
    return poly


def mann_whitney_u(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """U of ``a`` (how many pairs have a > b, ties counting 1/2) and the two-sided p-value."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    m, n = x.size, y.size
    if m == 0 or n == 0:
        raise ValueError("the Mann-Whitney U test needs samples on both sides")
    both = np.concatenate([x, y])
    u = float(rank_average(both)[:m].sum() - m * (m + 1) / 2)
    _, ties = np.unique(both, return_counts=True)
    if (ties == 1).all() and max(m, n) <= EXACT_MAX:
        counts = _u_counts(min(m, n), max(m, n))  # symmetric in m, n
        k = round(min(u, m * n - u))
        return u, min(1.0, 2.0 * float(counts[: k + 1].sum() / counts.sum()))
    total = m + n
    variance = m * n / 12.0 * ((total + 1) - float((ties**3 - ties).sum()) / (total * (total - 1)))
    if variance <= 0:  # every sample equal: no evidence of any difference
        return u, 1.0
    z = max(0.0, abs(u - m * n / 2.0) - 0.5) / math.sqrt(variance)
    return u, min(1.0, math.erfc(z / math.sqrt(2.0)))


def relative_iqr(samples: Sequence[float]) -> float:
    """(p75 - p25) / p50 of ``samples``: the run's own spread, robust to its tail."""
    q25, q50, q75 = np.percentile(np.asarray(samples, dtype=np.float64), [25, 50, 75])
    return float((q75 - q25) / q50) if q50 > 0 else math.inf


def verdict(a: Sequence[float], b: Sequence[float], unit: str = "ms") -> tuple[float, float, float, str, str]:
    """(ratio p50 B / p50 A, p-value, noise, verdict, reason) for the samples of one candidate in two runs."""
    p50_a, p50_b = float(np.median(a)), float(np.median(b))
    ratio = p50_b / p50_a if p50_a > 0 else math.inf
    _, p = mann_whitney_u(a, b)
    noise = max(MIN_EFFECT.get(unit, MIN_EFFECT["ms"]), relative_iqr(a), relative_iqr(b))
    effect = abs(ratio - 1.0)
    if min(len(a), len(b)) < MIN_SAMPLES:
        return ratio, p, noise, "no change", f"too few samples to tell (needs >= {MIN_SAMPLES} per run)"
    if p >= ALPHA:
        return ratio, p, noise, "no change", f"not significant (p = {p:.2g} >= {ALPHA:g})"
    if effect <= noise:
        return ratio, p, noise, "no change", f"within the noise ({100 * effect:.1f} % <= {100 * noise:.1f} %)"
    word = "slower" if ratio > 1 else "faster"
    return ratio, p, noise, word, f"p = {p:.2g}, {100 * effect:.1f} % > noise {100 * noise:.1f} %"


def compare_runs(a: StoredRun, b: StoredRun) -> RunComparison:
    """Run ``a`` (before) against run ``b`` (after); candidates are matched by name and thread count."""
    if a.unit != b.unit:
        raise HistoryError(
            f"runs {a.id} and {b.id} are in different units ({a.unit}, {b.unit}): not comparable"
        )
    in_a = {(c.name, c.threads): c for c in a.candidates}
    in_b = {(c.name, c.threads): c for c in b.candidates}
    rows = []
    for key, ca in in_a.items():
        cb = in_b.get(key)
        if cb is None:
            continue
        ratio, p, noise, word, reason = verdict(ca.samples, cb.samples, a.unit)
        rows.append(
            CandidateComparison(
                ca.name,
                ca.threads,
                len(ca.samples),
                len(cb.samples),
                float(np.median(ca.samples)),
                float(np.median(cb.samples)),
                ratio,
                p,
                noise,
                word,
                reason,
            )
        )
    differs = [
        what
        for what, x, y in (
            ("model", a.model, b.model),
            ("model weights", a.model_fingerprint, b.model_fingerprint),
            ("device", a.device.key, b.device.key),
            ("mobilesdk version", a.mobilesdk_version, b.mobilesdk_version),
        )
        if x != y
    ]
    return RunComparison(
        a,
        b,
        rows,
        only_a=[f"{n} @ {t}t" for n, t in in_a if (n, t) not in in_b],
        only_b=[f"{n} @ {t}t" for n, t in in_b if (n, t) not in in_a],
        differs=differs,
    )
