"""Recorded outputs of the stock on-device runners (specs/bench.md §1.4, §2.1) parse to the right figures,
traps included: scientific notation, nan, older line formats, '(all same)', logcat-only output."""

from __future__ import annotations

import pytest

from mobilesdk.bench.stock import StockParseError, parse_benchmark_model, parse_executor_runner

BENCHMARK_MODEL = """\
INFO: STARTING!
INFO: Log parameter values verbosely: [0]
INFO: Num threads: [4]
INFO: Graph: [/data/local/tmp/model.tflite]
INFO: Created TensorFlow Lite XNNPACK delegate for CPU.
INFO: Replacing 31 out of 31 node(s) with delegate (TfLiteXNNPackDelegate) node, yielding 1 partitions for subgraph 0.
INFO: The input model file size (MB): 67.3128
INFO: Initialized session in 5.579ms.
INFO: Running benchmark for at least 1 iterations and at least 0.5 seconds but terminate if exceeding 150 seconds.
INFO: count=1 curr=1357602 p5=1357602 median=1357602 p95=1357602
INFO: Running benchmark for at least 50 iterations and at least 1 seconds but terminate if exceeding 150 seconds.
INFO: count=50 first=1249964 curr=1240143 min=1238588 max=1252566 avg=1.24027e+06 std=2565 p5=1238753 median=1239807 p95=1247415
INFO: Inference timings in us: Init: 5579, First inference: 1357602, Warmup (avg): 1.3576e+06, Inference (avg): 1.24027e+06
INFO: Note: as the benchmark tool itself affects memory footprint, the following is only APPROXIMATE to the actual memory footprint of the model at runtime. Take the information at your discretion.
INFO: Memory footprint delta from the start of the tool (MB): init=6.36328 overall=109.832
"""


def test_benchmark_model_current_format():
    r = parse_benchmark_model(BENCHMARK_MODEL)
    assert r.count == 50
    assert r.mean_ms == pytest.approx(1240.27)  # avg=1.24027e+06 us: scientific notation
    assert r.p50_ms == pytest.approx(1239.807) and r.min_ms == pytest.approx(1238.588)
    assert r.max_ms == pytest.approx(1252.566) and r.std_ms == pytest.approx(2.565)
    assert r.p5_ms == pytest.approx(1238.753) and r.p95_ms == pytest.approx(1247.415)
    assert r.load_ms == pytest.approx(5.579) and r.first_ms == pytest.approx(1357.602)
    assert r.delegation == {"replaced": 31, "total": 31, "delegate": "TfLiteXNNPackDelegate", "partitions": 1}
    assert r.memory_mb == {"init": pytest.approx(6.36328), "overall": pytest.approx(109.832)}


def test_benchmark_model_old_format_nan_warmup_and_all_same():
    old = (
        "count=50 first=1064709 curr=1013050 min=1002342 max=1064709 avg=1.01013e+06 std=10693\n"
        "Average inference timings in us: Warmup: 83235, Init: 38467, Inference: 79760.9\n"
        "Replacing 12 node(s) with delegate (TfLiteXNNPackDelegate) node, yielding 2 partitions.\n"
        "Peak memory footprint (MB): init=4.92969 overall=138.809\n"
    )
    r = parse_benchmark_model(old)
    assert r.count == 50 and r.mean_ms == pytest.approx(1010.13) and r.p50_ms is None
    assert r.load_ms == pytest.approx(38.467)
    assert r.delegation == {
        "replaced": 12,
        "total": None,
        "delegate": "TfLiteXNNPackDelegate",
        "partitions": 2,
    }
    nan_warmup = (
        "INFO: count=0\n"
        "INFO: count=20 curr=5000 (all same)\n"
        "INFO: Inference timings in us: Init: 1200, First inference: 0, Warmup (avg): -nan, Inference (avg): 5000\n"
    )
    r = parse_benchmark_model(nan_warmup)
    assert (r.count, r.mean_ms, r.p50_ms, r.min_ms, r.std_ms) == (20, 5.0, 5.0, 5.0, 0.0)
    assert r.first_ms is None  # 0 = no warm-up run


def test_benchmark_model_that_did_not_finish():
    with pytest.raises(StockParseError, match="did not finish"):
        parse_benchmark_model("INFO: STARTING!\nERROR: Failed to apply XNNPACK delegate.\n")
    with pytest.raises(StockParseError, match="empty"):
        parse_benchmark_model("INFO: count=0\n")


def test_executor_runner_stdout_and_logcat():
    stdout = (
        "I 00:00:00.001000 executorch:executor_runner.cpp:150] Model loaded in 41.5 ms.\n"
        + "".join(
            f"I 00:00:00.0{i}0000 executorch:executor_runner.cpp:300] Iteration {i + 1} of 4: {ms} ms\n"
            for i, ms in enumerate(["12.5", "1.1e+01", "13.0", "12.0"])
        )
        + "I 00:00:00.060000 executorch:executor_runner.cpp:379] Model executed successfully 4 time(s) in 48.5 ms.\n"
        "I 00:00:00.060100 executorch:executor_runner.cpp:390] 2 outputs:\n"
    )
    r = parse_executor_runner(stdout)
    assert r.samples_ms == [12.5, 11.0, 13.0, 12.0]
    assert r.p50_ms == pytest.approx(12.25) and r.mean_ms == pytest.approx(12.125) and r.load_ms == 41.5
    logcat = "12-07 10:00:00.000  1234  1234 I ExecuTorch: Model executed successfully 20 time(s) in 300.000000 ms.\n"
    r = parse_executor_runner(logcat)  # older builds: the total only, in logcat
    assert (r.count, r.mean_ms, r.samples_ms) == (20, 15.0, [])
    with pytest.raises(StockParseError, match="logcat"):
        parse_executor_runner("E 00:00:00.000 executorch:method.cpp:10] Missing operator\n")
