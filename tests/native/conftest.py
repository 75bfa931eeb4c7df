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


@pytest.fixture(scope="session")
def movepose_onnx(movepose_pte) -> dict:
    """``movepose_pte``'s model exported to ONNX with its manifest embedded (``export_onnx_with_manifest``: the
    host bench's ONNX Runtime export, NCHW float32 input), for the ONNX Runtime engine's tests. Cached in
    TEST_CACHE/native-models keyed by the model's fingerprint, torch/onnx versions and the export code. Keys as
    ``movepose_pte`` with ``onnx`` (``artifact``: the embedded manifest's artifact)."""
    import hashlib
    import inspect
    import json
    from importlib import metadata

    from mobilesdk import fsops
    from mobilesdk.bench import candidates
    from tests.fixtures.artifacts import MODELS_CACHE

    manifest = movepose_pte["manifest"]
    source = "".join(
        inspect.getsource(f)
        for f in (
            candidates.export_onnx,
            candidates.export_onnx_with_manifest,
            candidates.write_onnx_with_manifest,
        )
    )
    key = hashlib.sha256(
        "\0".join(
            [
                manifest["model"]["fingerprint"],
                metadata.version("torch"),
                metadata.version("onnx"),
                source,
            ]
        ).encode()
    ).hexdigest()[:16]
    path = MODELS_CACHE / f"onnx-{key}" / f"{manifest['model']['id']}.onnx"
    with fsops.locked(MODELS_CACHE / f".onnx-{key}.lock"):
        if not path.is_file():
            candidates.export_onnx_with_manifest(
                movepose_pte["dir"],
                path,
                card_path=movepose_pte["card"],
                checkpoint=movepose_pte["checkpoint"],
            )
    import onnx

    props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    embedded = json.loads(props["mobilesdk_manifest"])
    return {
        **movepose_pte,
        "onnx": path,
        "model": path,
        "artifact": embedded["artifacts"][0],
        "embedded": embedded,
    }
