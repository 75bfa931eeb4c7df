"""Parity figures and gates as pure functions (no export needed)."""

from __future__ import annotations

import numpy as np
import pytest

from mobilesdk.codecs import build_codec
from mobilesdk.verify import apply_gates, compare, prepare_inputs

SIZE = {"width": 64, "height": 64}


def _simcc_outputs(xs: np.ndarray, ys: np.ndarray) -> list[np.ndarray]:
    """Peaked SimCC logits with maxima at bins xs, ys: (1, K, 128) each."""
    k = len(xs)
    bx = np.full((1, k, 128), -10.0, np.float32)
    by = np.full((1, k, 128), -10.0, np.float32)
    bx[0, np.arange(k), xs] = 10.0
    by[0, np.arange(k), ys] = 10.0
    return [bx, by]


def test_compare_measures_raw_and_decoded_drift():
    codec = build_codec("simcc", SIZE, 3, {})
    eager = _simcc_outputs(np.array([10, 20, 30]), np.array([40, 50, 60]))
    moved = _simcc_outputs(np.array([10, 24, 30]), np.array([40, 50, 60]))  # keypoint 1 moves 4 bins = 2 px
    p = compare("litert-int8", eager, moved, codec.output_names, codec, SIZE)
    assert p.max_px == pytest.approx(2.0) and p.mean_px == pytest.approx(2.0 / 3)
    assert p.raw["simcc_x"]["max_abs"] == pytest.approx(20.0) and p.raw["simcc_y"]["max_abs"] == 0.0
    assert p.pck == pytest.approx(1.0)  # 2 px < 0.05 * 64 = 3.2 px


def test_gates_fail_with_recipe_figure_and_budget():
    codec = build_codec("simcc", SIZE, 3, {})
    eager = _simcc_outputs(np.array([10, 20, 30]), np.array([40, 50, 60]))
    moved = _simcc_outputs(np.array([10, 30, 30]), np.array([40, 50, 60]))
    p = apply_gates(
        compare("xnnpack-int8", eager, moved, codec.output_names, codec, SIZE), "int8", "checkpoint", 1.0
    )
    assert p.failures == ["xnnpack-int8: mean keypoint drift 1.667 px exceeds the int8 budget 1.0 px"]
    p = apply_gates(
        compare("xnnpack-int8", eager, moved, codec.output_names, codec, SIZE), "int8", "checkpoint", 2.0
    )
    assert p.passed
    p = apply_gates(
        compare("xnnpack-fp32", eager, moved, codec.output_names, codec, SIZE), "fp32", "random", 2.0
    )
    assert (
        not p.decoded_gated
        and len(p.failures) == 1
        and "max relative error 2.00e+00 exceeds the fp32 budget" in p.failures[0]
    )


def test_prepare_inputs_follows_the_manifest_input_spec():
    crops = np.arange(2 * 4 * 5 * 3, dtype=np.uint8).reshape(2, 4, 5, 3)
    spec = {"dtype": "float32", "layout": "NCHW", "mean": [1, 2, 3], "std": [2, 2, 2]}
    x = prepare_inputs(crops, spec)
    assert x.shape == (2, 3, 4, 5) and x.dtype == np.float32
    assert x[1, 2, 3, 4] == pytest.approx((crops[1, 3, 4, 2] - 3) / 2)
    raw = prepare_inputs(crops, {**spec, "dtype": "uint8", "layout": "NHWC"})
    assert raw.dtype == np.uint8 and np.array_equal(raw, crops)
