"""`mobilesdk bench --runner native`: the C++ core end to end next to the in-process candidates, per stage."""

from __future__ import annotations

import pytest

from mobilesdk.bench import native_runner
from mobilesdk.bench.host import BenchPlan, bench
from mobilesdk.errors import MobileSDKError


def test_native_runner_rows_carry_per_stage_timings(native_release, tiny_build, tmp_path):
    plan = BenchPlan(warmup=1, iterations=4, compare=("eager",), runner=native_release.runner)
    result = bench(tiny_build, plan, workdir=tmp_path)
    native = [r for r in result.results if r.kind == "native"]
    assert sorted(r.name for r in native) == ["native:litert-fp32", "native:xnnpack-fp32"]  # both engines
    assert {r.runtime for r in native} == {
        "mobilesdk-runner (C++ core, ExecuTorch)",
        "mobilesdk-runner (C++ core, LiteRT)",
    }
    assert all(r.runtime_version for r in native)
    row = next(r for r in native if r.name == "native:xnnpack-fp32")
    assert set(row.stages) == {"preprocess", "inference", "decode", "total"} and row.stats.n == 4
    assert row.stages["total"].p50 >= row.stages["inference"].p50 > 0 and row.stages["preprocess"].p50 > 0
    eager = next(r for r in result.results if r.name == "eager")
    assert row.ratios["eager"] == pytest.approx(row.stages["inference"].p50 / eager.stats.p50)


def test_runner_output_is_parsed_strictly():
    good = (
        "iteration 1/1: preprocess 0.5 ms, inference 2.0 ms, decode 0.1 ms, total 2.6 ms\n"
        + '{"iterations": 1, "load_ms": 3}'
    )
    samples, summary = native_runner.parse_output(good)
    assert samples["total"] == [2.6] and summary["load_ms"] == 3
    with pytest.raises(MobileSDKError, match="no complete result"):
        native_runner.parse_output(good.replace('"iterations": 1', '"iterations": 2'))
    with pytest.raises(MobileSDKError, match="no complete result"):
        native_runner.parse_output("Error: something\n")
