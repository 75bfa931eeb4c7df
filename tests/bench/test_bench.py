"""`mobilesdk bench`: build dirs, bare files nobody here built, statistics, ratios from the same run, reports."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch import nn

from mobilesdk.bench.host import BenchError, BenchPlan, bench
from mobilesdk.bench.report import write_html
from mobilesdk.bench.stats import Stats
from mobilesdk.cli.main import cli


def test_stats_are_the_textbook_figures():
    s = Stats.of([1, 2, 3, 4, 5, 6, 7, 8, 9, 100])
    assert (s.n, s.min, s.max, s.p50) == (10, 1, 100, 5.5)
    assert s.p90 == pytest.approx(18.1) and s.mean == pytest.approx(14.5)  # numpy linear: 9 + 0.1 * 91
    assert s.trimmed_mean == pytest.approx(np.mean([2, 3, 4, 5, 6, 7, 8, 9]))  # outside p10..p90 dropped
    assert s.std == pytest.approx(np.std([1, 2, 3, 4, 5, 6, 7, 8, 9, 100], ddof=1))
    assert s.cv == pytest.approx(s.std / s.mean)
    with pytest.raises(ValueError):
        Stats.of([])


def test_build_dir_with_eager_and_onnxruntime_interleaved(tiny_build, tmp_path):
    plan = BenchPlan(warmup=1, iterations=6, threads=(1, 2), compare=("eager", "onnxruntime"))
    result = bench(tiny_build, plan, workdir=tmp_path)
    names = [(r.threads, r.name) for r in result.results]
    assert names == [(t, n) for t in (1, 2) for n in ("eager", "onnxruntime", "litert-fp32", "xnnpack-fp32")]
    for r in result.results:
        assert r.stats.n == len(r.samples) == 6 and r.stats.min > 0 and r.load_ms > 0
        same_phase = {b.name: b for b in result.results if b.threads == r.threads}
        # ratios come from this run's own p50s, per thread count
        assert r.ratios["eager"] == pytest.approx(r.stats.p50 / same_phase["eager"].stats.p50)
        assert r.ratios["onnxruntime"] == pytest.approx(r.stats.p50 / same_phase["onnxruntime"].stats.p50)
    xnn = next(r for r in result.results if r.name == "xnnpack-fp32")
    assert xnn.threads == 1 and xnn.runtime == "executorch" and xnn.bytes > 1000
    report = write_html(result, tmp_path / "r.html")
    text = report.read_text()
    assert text.count('src="data:image/png;base64,') == 2 and "xnnpack-fp32" in text


def test_json_from_the_cli(tiny_build):
    result = CliRunner().invoke(
        cli, ["bench", str(tiny_build), "-n", "3", "--warmup", "0", "--compare", "eager", "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert {c["name"] for c in doc["candidates"]} == {"eager", "litert-fp32", "xnnpack-fp32"}
    for c in doc["candidates"]:
        assert {"p50", "p90", "p99", "min", "mean", "trimmed_mean", "std", "cv", "load_ms"} <= set(c)
        assert len(c["samples_ms"]) == 3 and c["ratios"]["eager"] > 0
    assert doc["plan"]["threads"] == [1] and doc["host"]["cores"] >= 1


class _Bare(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x):
        return torch.relu(self.conv(x))


@pytest.fixture(scope="module")
def bare_files(tmp_path_factory):
    """A .pte and a .tflite nobody here built with mobilesdk: no embedded manifest."""
    from mobilesdk.export.executorch import export_executorch
    from mobilesdk.export.litert import export_litert

    d = tmp_path_factory.mktemp("bare")
    x = torch.zeros(1, 3, 24, 20)
    export_executorch(_Bare().eval(), x, d / "bare.pte")
    export_litert(_Bare().eval(), x, d / "bare.tflite", channel_last_input=True)
    return d


@pytest.mark.parametrize("name", ["bare.pte", "bare.tflite"])
def test_a_bare_file_is_benchmarked_on_inputs_from_its_own_spec(bare_files, tmp_path, name):
    result = bench(bare_files / name, BenchPlan(warmup=0, iterations=4), workdir=tmp_path)
    (only,) = result.results
    assert only.name == name and only.stats.n == 4 and result.model == "bare"
    with pytest.raises(BenchError, match="--compare needs a model built by mobilesdk"):
        bench(bare_files / name, BenchPlan(iterations=2, compare=("eager",)), workdir=tmp_path)


def test_time_budget_runs_at_least_the_minimum_rounds(bare_files, tmp_path):
    result = bench(bare_files / "bare.pte", BenchPlan(warmup=0, seconds=0.05), workdir=tmp_path)
    assert result.results[0].stats.n >= 5


def test_a_tflite_with_an_unsupported_op_is_a_clear_error(bare_files, tmp_path):
    from mobilesdk.errors import MobileSDKError
    from tests.runtime_helpers import with_custom_op

    bad = with_custom_op(bare_files / "bare.tflite", tmp_path / "custom.tflite")
    with pytest.raises(MobileSDKError, match="LiteRT cannot load it"):
        bench(bad, BenchPlan(iterations=1), workdir=tmp_path)


def test_bad_plans():
    for plan in (
        BenchPlan(iterations=0),
        BenchPlan(warmup=-1),
        BenchPlan(threads=(0,)),
        BenchPlan(compare=("tvm",)),
    ):
        with pytest.raises(BenchError):
            plan.check()


def test_several_targets_are_compared_in_one_interleaved_run(tiny_build, tmp_path):
    import shutil

    other = tmp_path / "other" / tiny_build.name
    shutil.copytree(tiny_build, other)
    result = bench([tiny_build, other], BenchPlan(warmup=0, iterations=3), workdir=tmp_path)
    names = [r.name for r in result.results]
    assert names == [
        f"{tiny_build.parent.name}:litert-fp32",
        f"{tiny_build.parent.name}:xnnpack-fp32",
        "other:litert-fp32",
        "other:xnnpack-fp32",
    ]
    assert all(r.stats.n == 3 for r in result.results)
