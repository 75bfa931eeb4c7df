"""Parity figures and gates as pure functions (no export needed): every gate can fail, NaN fails."""

from __future__ import annotations

import numpy as np
import pytest

from mobilesdk.codecs import build_codec
from mobilesdk.errors import MobileSDKError
from mobilesdk.manifest import InputEntry
from mobilesdk.verify import apply_gates, check_budget, compare, model_inputs

SIZE = {"width": 64, "height": 64}


def _simcc_outputs(xs: np.ndarray, ys: np.ndarray) -> list[np.ndarray]:
    """Peaked SimCC logits with maxima at bins xs, ys: (1, K, 128) each."""
    k = len(xs)
    bx = np.full((1, k, 128), -10.0, np.float32)
    by = np.full((1, k, 128), -10.0, np.float32)
    bx[0, np.arange(k), xs] = 10.0
    by[0, np.arange(k), ys] = 10.0
    return [bx, by]


CODEC = build_codec("simcc", SIZE, 3, {})
EAGER = _simcc_outputs(np.array([10, 20, 30]), np.array([40, 50, 60]))


def _parity(recipe, artifact, gate, weights, budget=2.0):
    return apply_gates(
        compare(recipe, EAGER, artifact, CODEC.output_names, CODEC, SIZE), gate, weights, budget
    )


def test_compare_measures_raw_and_decoded_drift():
    moved = _simcc_outputs(np.array([10, 24, 30]), np.array([40, 50, 60]))  # keypoint 1 moves 4 bins = 2 px
    p = compare("litert-int8", EAGER, moved, CODEC.output_names, CODEC, SIZE)
    assert p.max_px == pytest.approx(2.0) and p.mean_px == pytest.approx(2.0 / 3)
    assert p.raw["simcc_x"]["max_abs"] == pytest.approx(20.0) and p.raw["simcc_y"]["max_abs"] == 0.0
    assert p.raw["simcc_y"]["cosine"] == pytest.approx(1.0) and p.raw["simcc_x"]["cosine"] < 1.0
    assert p.pck == pytest.approx(1.0)  # 2 px < 0.05 * 64 = 3.2 px


def test_trained_gates_fail_with_recipe_figure_and_budget():
    moved = _simcc_outputs(np.array([10, 30, 30]), np.array([40, 50, 60]))
    p = _parity("xnnpack-int8", moved, "int8", "checkpoint", 1.0)
    assert p.failures == ["xnnpack-int8: mean keypoint drift 1.667 px exceeds the int8 budget 1.0 px"]
    assert _parity("xnnpack-int8", moved, "int8", "checkpoint", 2.0).passed
    p = _parity("xnnpack-fp32", moved, "fp32", "random")
    assert (
        not p.decoded_gated
        and len(p.failures) == 1
        and "max relative error 2.00e+00 exceeds" in p.failures[0]
    )


def test_quantized_recipes_with_random_weights_are_gated_on_raw_outputs():
    """An int8 model that outputs zeros (or noise) must not pass just because the weights are random."""
    zeros = [np.zeros_like(a) for a in EAGER]
    p = _parity("litert-int8", zeros, "int8", "random")
    assert (
        not p.passed
        and "cosine similarity nan to eager is below the int8 random-weights floor" in p.failures[0]
    )
    noise = [np.random.default_rng(0).normal(size=a.shape).astype(np.float32) for a in EAGER]
    assert not _parity("xnnpack-int8", noise, "int8", "random").passed
    assert not _parity("litert-fp16", [a * 0.9 + 0.5 for a in EAGER], "fp16", "random").passed
    close = [a + np.float32(0.01) for a in EAGER]
    assert _parity("litert-int8", close, "int8", "random").passed


def test_nan_or_inf_in_an_artifact_output_fails_whatever_the_recipe():
    for gate, recipe in (("fp32", "xnnpack-fp32"), ("int8", "litert-int8"), ("fp16", "litert-fp16")):
        bad = [a.copy() for a in EAGER]
        bad[1][0, 2, 7] = np.nan if gate != "fp16" else np.inf
        for weights in ("random", "checkpoint"):
            p = _parity(recipe, bad, gate, weights)
            assert p.failures == [f"{recipe}: output 'simcc_y' contains NaN or inf"], p.failures


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 0.0, -1.0, True, "2"])
def test_budgets_must_be_finite_and_positive(bad):
    with pytest.raises(MobileSDKError, match="finite number > 0"):
        check_budget(bad, "--int8-budget-px")
    assert check_budget(0.5, "x") == 0.5


def test_a_nan_budget_cannot_switch_the_gate_off():
    moved = _simcc_outputs(np.array([10, 30, 30]), np.array([40, 50, 60]))
    assert not _parity("xnnpack-int8", moved, "int8", "checkpoint", float("nan")).passed


def test_model_inputs_follow_the_manifest_input_entry():
    crops = np.arange(2 * 4 * 5 * 3, dtype=np.uint8).reshape(2, 4, 5, 3)
    entry = InputEntry(
        "image",
        (1, 3, 4, 5),
        "NCHW",
        "float32",
        "rgb",
        (1, 2, 3),
        (2, 2, 2),
        "app",
        {"width": 5, "height": 4},
        "affine",
    )
    x = model_inputs(crops, entry)
    assert x.shape == (2, 3, 4, 5) and x.dtype == np.float32
    assert x[1, 2, 3, 4] == pytest.approx((crops[1, 3, 4, 2] - 3) / 2)
    raw = model_inputs(
        crops, InputEntry(**{**entry.__dict__, "dtype": "uint8", "layout": "NHWC", "shape": (1, 4, 5, 3)})
    )
    assert raw.dtype == np.uint8 and np.array_equal(raw, crops)
    bgr = model_inputs(crops, InputEntry(**{**entry.__dict__, "color": "bgr"}))
    assert bgr[1, 0, 3, 4] == pytest.approx((crops[1, 3, 4, 2] - 1) / 2)  # channel 0 is blue
