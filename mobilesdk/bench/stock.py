"""Parsers for the stock on-device runners a user may bring (``--device-runner``): LiteRT/TFLite's
``benchmark_model`` and ExecuTorch's ``executor_runner``. Formats and traps from specs/bench.md §1.4 and §2.1:

* ``benchmark_model`` prints summary statistics only (no per-iteration list), in µs, with the default ostream
  precision — ``avg=1.24027e+06`` — so numbers are parsed as floats; an empty warm-up prints ``nan`` / ``-nan``;
  older builds print the ``count=`` lines without the ``INFO:`` prefix and the trailer as ``Average inference
  timings in us: Warmup: W, Init: I, Inference: A``; the timed run is the LAST ``count=`` line; when every value
  is equal the line is ``count=N curr=X (all same)``.
* ``executor_runner`` prints ``Iteration i of n: x ms`` per iteration (Apr 2026+) and always the total
  ``Model executed successfully N time(s) in T ms.``; with the POSIX PAL each line carries a
  ``I 00:00:00.043703 executorch:executor_runner.cpp:379]`` prefix; a runner built with ExecuTorch's Android
  preset logs only to logcat (tag ``ExecuTorch``), so the text may be ``adb logcat`` output
  (``12-07 10:00:00.000  1234  1234 I ExecuTorch: ...``).

Results are labelled as the stock runner's figures: their statistics are not ours (nearest-rank percentiles,
population std) and they time the model only.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from mobilesdk.errors import MobileSDKError

_NUM = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|inf)"
_SUMMARY = re.compile(
    rf"Inference timings in us: Init: (?P<init>{_NUM}), First inference: (?P<first>{_NUM}), "
    rf"Warmup \(avg\): (?P<warmup>{_NUM}), Inference \(avg\): (?P<avg>{_NUM})"
)
_OLD_SUMMARY = re.compile(
    rf"Average inference timings in us: Warmup: (?P<warmup>{_NUM}), Init: (?P<init>{_NUM}), Inference: (?P<avg>{_NUM})"
)
_STAT = re.compile(rf"(\w+)=({_NUM})")
_DELEGATION = re.compile(
    r"Replacing (\d+)(?: out of (\d+))? node\(s\) with delegate \(([^)]+)\) node, yielding (\d+) partitions"
)
_MEMORY = re.compile(
    rf"(?:Memory footprint delta from the start of the tool|Peak memory footprint) \(MB\): init=({_NUM}) overall=({_NUM})"
)
_ET_ITER = re.compile(rf"Iteration (\d+) of (\d+): ({_NUM}) ms")
_ET_TOTAL = re.compile(rf"Model executed successfully (\d+) time\(s\) in ({_NUM}) ms")
_ET_LOAD = re.compile(rf"Model loaded in ({_NUM}) ms")


class StockParseError(MobileSDKError):
    """A stock runner's output holds no timing we can read."""


def _f(text: str) -> float:
    """A float as C++ streams print it (``1.24027e+06``, ``nan``, ``-nan``)."""
    value = float(text.replace("-nan", "nan"))
    return value


@dataclass
class StockResult:
    runner: str  # "benchmark_model" | "executor_runner"
    count: int
    mean_ms: float
    p50_ms: float | None = None
    min_ms: float | None = None
    max_ms: float | None = None
    std_ms: float | None = None
    p5_ms: float | None = None
    p95_ms: float | None = None
    load_ms: float | None = None
    first_ms: float | None = None
    samples_ms: list[float] = field(default_factory=list)  # executor_runner only (per-iteration lines)
    delegation: dict[str, Any] | None = None
    memory_mb: dict[str, float] | None = None

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items()}
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in out.items()}


def parse_benchmark_model(text: str) -> StockResult:
    """LiteRT/TFLite ``benchmark_model`` output (stdout or logcat) -> the timed run's statistics in ms."""
    stats_lines = [ln for ln in text.splitlines() if "count=" in ln]
    summary = _SUMMARY.search(text) or _OLD_SUMMARY.search(text)
    if not stats_lines and not summary:
        raise StockParseError(
            "benchmark_model printed no 'count=' statistics and no 'Inference timings' line: it did not finish a run"
        )
    stats: dict[str, float] = {}
    if stats_lines:
        stats = {k: _f(v) for k, v in _STAT.findall(stats_lines[-1])}  # the LAST count= line is the timed run
    count = int(stats.get("count", 0))
    if stats_lines and count == 0:
        raise StockParseError("benchmark_model's timed run is empty (count=0)")
    us = 1e-3
    avg = stats.get("avg")
    if avg is None:  # "count=N curr=X (all same)": every run took X
        avg = stats.get("curr")
    if avg is None and summary:
        avg = _f(summary.group("avg"))
    if avg is None or not math.isfinite(avg):
        raise StockParseError("benchmark_model printed no finite average inference time")
    same = stats.get("curr") if "(all same)" in (stats_lines[-1] if stats_lines else "") else None
    result = StockResult(
        runner="benchmark_model",
        count=count or 1,
        mean_ms=avg * us,
        p50_ms=(stats.get("median", same) * us) if stats.get("median", same) is not None else None,
        min_ms=(stats.get("min", same) * us) if stats.get("min", same) is not None else None,
        max_ms=(stats.get("max", same) * us) if stats.get("max", same) is not None else None,
        std_ms=stats["std"] * us if "std" in stats else (0.0 if same is not None else None),
        p5_ms=stats["p5"] * us if "p5" in stats else None,
        p95_ms=stats["p95"] * us if "p95" in stats else None,
    )
    if summary:
        result.load_ms = _f(summary.group("init")) * us
        if "first" in summary.groupdict():
            first = _f(summary.group("first")) * us
            result.first_ms = first if math.isfinite(first) and first > 0 else None
    m = _DELEGATION.search(text)
    if m:
        result.delegation = {
            "replaced": int(m.group(1)),
            "total": int(m.group(2)) if m.group(2) else None,
            "delegate": m.group(3),
            "partitions": int(m.group(4)),
        }
    m = _MEMORY.search(text)
    if m:
        result.memory_mb = {"init": _f(m.group(1)), "overall": _f(m.group(2))}
    return result


def parse_executor_runner(text: str) -> StockResult:
    """ExecuTorch ``executor_runner`` output (stdout with the POSIX PAL prefix, or ``adb logcat`` lines of tag
    ExecuTorch) -> per-iteration samples where printed, else the mean of the total."""
    samples = [_f(ms) for _i, _n, ms in _ET_ITER.findall(text)]
    totals = _ET_TOTAL.findall(text)
    if not samples and not totals:
        raise StockParseError(
            "executor_runner printed no 'Model executed successfully' line: it failed, or it was built without "
            "EXECUTORCH_ENABLE_LOGGING, or it logs to logcat only (Android preset: read `adb logcat -s ExecuTorch`)"
        )
    load = _ET_LOAD.search(text)
    if samples:
        if any(not math.isfinite(s) for s in samples):
            raise StockParseError("executor_runner printed a non-finite iteration time")
        ordered = sorted(samples)
        n = len(ordered)
        mid = ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2
        mean = sum(samples) / n
        std = math.sqrt(sum((s - mean) ** 2 for s in samples) / (n - 1)) if n > 1 else 0.0
        return StockResult(
            runner="executor_runner",
            count=n,
            mean_ms=mean,
            p50_ms=mid,
            min_ms=ordered[0],
            max_ms=ordered[-1],
            std_ms=std,
            load_ms=_f(load.group(1)) if load else None,
            samples_ms=samples,
        )
    count, total = totals[-1]
    count_i, total_f = int(count), _f(total)
    if count_i < 1 or not math.isfinite(total_f):
        raise StockParseError(f"executor_runner reported {count} run(s) in {total} ms")
    return StockResult(
        runner="executor_runner",
        count=count_i,
        mean_ms=total_f / count_i,
        load_ms=_f(load.group(1)) if load else None,
    )
