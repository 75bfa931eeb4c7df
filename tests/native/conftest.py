"""Fixtures of the native-core tests: cached CMake builds (keyed by the native sources) and built artifacts.

``movepose_pte`` and ``mobilehumanpose_pte`` (the trained fixtures' .pte) come from tests/conftest.py, shared with
tests/android and tests/test_predict.py, as is ``movepose_tflite`` (tests/device too); the LiteRT fp32 model of
the 3-D fixture is built here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.fixtures import NATIVE_CACHE
from tests.fixtures.artifacts import build_litert, with_poisoned_bias

FRAME_W, FRAME_H = 200, 160  # the runner tests' picture (``png``)


@pytest.fixture(scope="module")
def png(tmp_path_factory) -> tuple[Path, np.ndarray]:
    """A synthetic stick figure as a PNG (path, pixels), the image the runner tests feed ``--image``."""
    from PIL import Image

    from mobilesdk.synthetic import make_samples

    images, _ = make_samples(1, 17, FRAME_W, FRAME_H, [(0, 1), (1, 2), (5, 6)], seed=11)
    path = tmp_path_factory.mktemp("runner") / "frame.png"
    Image.fromarray(images[0]).save(path)
    return path, images[0]


@pytest.fixture(scope="session")
def native_release():
    """The release build: mobilesdk-runner, the JNI library, the GoogleTest binary (ExecuTorch and LiteRT engines)."""
    from mobilesdk.native import build_native

    return build_native(NATIVE_CACHE, "release")


@pytest.fixture(scope="session")
def native_sanitize():
    """The clang build under ASan + UBSan: the GoogleTest binary and the libFuzzer target."""
    from mobilesdk.native import build_native

    return build_native(NATIVE_CACHE, "sanitize")


@pytest.fixture(scope="session")
def mobilehumanpose_tflite(trained_mobilehumanpose, tmp_path_factory) -> dict:
    """mobilehumanpose-xs at 128x128 (integral-3d), trained fixture weights, LiteRT fp32 (NHWC input)."""
    return build_litert(*trained_mobilehumanpose, tmp_path_factory.mktemp("mhp-tflite"))


@pytest.fixture(scope="session")
def nonfinite_ptes(movepose_pte, tmp_path_factory) -> dict[str, Path]:
    """Real programs with non-finite outputs for the C++ estimator tests (MSDK_TEST_NAN_PTE / _INF_PTE):
    ``movepose_pte``'s program with ``mlp_head_y.bias[5] = NaN`` ("nan": simcc_y is NaN at bin 5 for every
    keypoint) and with ``mlp_head_x.bias[9] = +inf`` ("inf": simcc_x), each otherwise the original (same
    weights, same embedded manifest)."""
    out = tmp_path_factory.mktemp("nonfinite")
    return {
        "nan": with_poisoned_bias(movepose_pte, "mlp_head_y.bias", 5, float("nan"), out),
        "inf": with_poisoned_bias(movepose_pte, "mlp_head_x.bias", 9, float("inf"), out),
    }
