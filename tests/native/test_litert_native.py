"""The native core's LiteRT engine (libLiteRt.so of the ai-edge-litert wheel, through its C API) end to end:
mobilesdk-runner on the trained movepose-xs-128 and mobilehumanpose-xs-128 fixtures built as ``litert-fp32``.

- Raw outputs (``--input`` + ``--dump-outputs``) equal the Python ``ai_edge_litert`` Interpreter's on the same
  file and input. Measured here: identical bits (max abs difference 0.0 on both models, at 1 and 2 threads:
  both are LiteRT 2.3.0's XNNPACK kernels); the bound is 1e-5 absolute.
- Frame-space keypoints equal the Python path (mobilesdk.preprocess -> ai_edge_litert -> numpy codec ->
  keypoints_to_frame) within 1e-3 px, as test_native_runner.py checks for the .pte.
- The final JSON line names the runtime and its version, for .tflite and .pte alike; the engine is chosen by
  the file's content, not its name.
- Bad models are one-line errors: truncated, foreign, no embedded manifest, an operator index out of range
  (LiteRT itself would read out of bounds), an operator LiteRT lacks (its log names it).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from mobilesdk import preprocess as pp
from mobilesdk.cards import load_card
from tests.native.test_native_runner import ROI, final_json, python_path, run_runner
from tests.runtime_helpers import run_model, with_custom_op

RAW_ATOL = 1e-5  # measured: 0.0
MODELS = ["movepose_tflite", "mobilehumanpose_tflite"]
GEN_SCHEMA = (
    Path(__file__).resolve().parents[2] / "android_template" / "native" / "tools" / "gen_tflite_schema.py"
)


def _interpreter(tflite: Path, x: np.ndarray, threads: int | None = None) -> list[np.ndarray]:
    """The Python reference: ai_edge_litert's Interpreter (serving_default, outputs by index)."""
    return run_model(tflite, [x], threads)


def test_schema_table_matches_the_pinned_litert():
    """src/tflite_schema.inc (the verifier's schema) is what the installed ai-edge-litert's schema generates."""
    proc = subprocess.run(
        [sys.executable, str(GEN_SCHEMA), "--check"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr


def test_native_build_has_the_litert_engine(native_release):
    assert native_release.has_litert and native_release.has_executorch


@pytest.mark.parametrize("model_fixture", MODELS)
def test_raw_outputs_equal_the_python_interpreter(model_fixture, request, native_release, png, tmp_path):
    model = request.getfixturevalue(model_fixture)
    entry = model["artifact"]["input"]
    assert entry["layout"] == "NHWC"
    card = load_card(model["card"])
    x, _ = pp.preprocess(pp.Frame.from_array(png[1], "rgb"), card.input, layout="NHWC", dtype=entry["dtype"])
    raw = tmp_path / "input.bin"
    raw.write_bytes(np.ascontiguousarray(x, dtype=np.float32).tobytes())
    for threads in ("1", "2"):
        dump = tmp_path / f"dump{threads}"
        dump.mkdir()
        result = final_json(
            run_runner(
                native_release.runner,
                "--model",
                str(model["tflite"]),
                "--input",
                str(raw),
                "--dump-outputs",
                str(dump),
                "--warmup",
                "0",
                "--iterations",
                "1",
                "--threads",
                threads,
            )
        )
        assert result["threads"] == int(threads)
        want = _interpreter(model["tflite"], x, int(threads))
        for out, ref in zip(model["artifact"]["outputs"], want, strict=True):
            got = np.fromfile(dump / f"{out['name']}.bin", dtype=np.float32)
            assert got.size == ref.size, out["name"]
            got = got.reshape(ref.shape)
            np.testing.assert_allclose(
                got, ref, rtol=0, atol=RAW_ATOL, err_msg=f"{out['name']} ({threads} threads)"
            )
            assert np.abs(ref).max() > 0.1  # real activations, not zeros on both sides


@pytest.mark.parametrize("roi", [None, ROI], ids=["full-frame", "roi"])
@pytest.mark.parametrize("model_fixture", MODELS)
def test_runner_keypoints_equal_python_path(model_fixture, roi, request, native_release, png):
    model = request.getfixturevalue(model_fixture)
    path, image = png
    args = ["--model", str(model["tflite"]), "--image", str(path), "--warmup", "1", "--iterations", "2"]
    args += ["--threads", "1"]
    if roi is not None:
        args += ["--roi", ",".join(str(v) for v in roi)]
    result = final_json(run_runner(native_release.runner, *args))
    assert result["runtime"] == {"name": "litert", "version": metadata.version("ai-edge-litert")}
    assert result["iterations"] == 2 and result["threads"] == 1
    assert set(result["stages"]) == {"preprocess", "inference", "decode", "total"}
    names = json.loads(Path(model["dir"], "manifest.json").read_text())["keypoints"]["names"]
    assert [k["name"] for k in result["keypoints"]] == names
    got = np.array([[k["x"], k["y"]] for k in result["keypoints"]], dtype=np.float64)
    scores = np.array([k["score"] for k in result["keypoints"]])
    want_xy, want_scores, want_z = python_path(model, image, roi, lambda x: _interpreter(model["tflite"], x))
    np.testing.assert_allclose(got, want_xy, atol=1e-3, rtol=0, err_msg="runner vs ai_edge_litert (px)")
    np.testing.assert_allclose(scores, want_scores, atol=1e-4, rtol=1e-3)
    if want_z is not None:
        np.testing.assert_allclose([k["z"] for k in result["keypoints"]], want_z, atol=1e-3)
    else:
        assert all(k["z"] is None for k in result["keypoints"])
    assert np.ptp(got[:, 0]) > 1.0  # keypoints spread over the frame, not one point


def test_runtime_is_named_and_chosen_by_content(native_release, movepose_pte, movepose_tflite, tmp_path):
    """Both runtimes name themselves in the final line; a .tflite named .pte still runs on LiteRT, and the
    reverse on ExecuTorch."""
    swapped = {
        "litert": shutil.copy(movepose_tflite["tflite"], tmp_path / "model.pte"),
        "executorch": shutil.copy(movepose_pte["pte"], tmp_path / "program.tflite"),
    }
    versions = {"litert": metadata.version("ai-edge-litert"), "executorch": metadata.version("executorch")}
    for name, files in (("litert", [movepose_tflite["tflite"]]), ("executorch", [movepose_pte["pte"]])):
        for model in [*files, swapped[name]]:
            result = final_json(
                run_runner(
                    native_release.runner, "--model", str(model), "--frame", "rgba:64x48", "--iterations", "1"
                )
            )
            # ExecuTorch's CMake package reports its build version (1.5.1+cpu: the wheel's local label)
            assert result["runtime"]["name"] == name, model
            assert result["runtime"]["version"].split("+")[0] == versions[name], result["runtime"]


def _rewrite(src: Path, dst: Path, change) -> Path:
    """A copy of the .tflite ``src`` with ``change(model_t)`` applied through the schema's object API."""
    from mobilesdk.export import tflite_flatbuffer as fb

    model = fb.read_model(Path(src).read_bytes())
    change(model)
    dst.write_bytes(fb.write_model(model))
    return dst


def _without_manifest(model) -> None:
    model.metadata = [
        m for m in model.metadata if m.name not in (b"mobilesdk_manifest", "mobilesdk_manifest")
    ]


def _operand_out_of_range(model) -> None:
    op = model.subgraphs[0].operators[0]
    op.inputs[0] = len(model.subgraphs[0].tensors) + 1000


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (
            lambda src, d: d.joinpath("cut.tflite").write_bytes(src.read_bytes()[: src.stat().st_size // 2]),
            "truncated",
        ),
        (lambda src, d: d.joinpath("x.tflite").write_bytes(b"\x00" * 100), "neither a TFLite model"),
        (
            lambda src, d: _rewrite(src, d / "no-manifest.tflite", _without_manifest),
            "no embedded mobilesdk_manifest",
        ),
        (lambda src, d: _rewrite(src, d / "bad-index.tflite", _operand_out_of_range), "refers to tensor"),
        (lambda src, d: with_custom_op(src, d / "op.tflite"), "MobileSdkNoSuchOp"),
    ],
    ids=["truncated", "foreign", "no-manifest", "operand-out-of-range", "unknown-custom-op"],
)
def test_bad_models_are_one_line_errors(make, needle, native_release, movepose_tflite, tmp_path):
    make(Path(movepose_tflite["tflite"]), tmp_path)
    bad = next(p for p in tmp_path.iterdir() if p.suffix == ".tflite")
    proc = run_runner(native_release.runner, "--model", str(bad), check=False)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("mobilesdk-runner: error: MSDK_ERR_INVALID_"), proc.stderr
    assert needle in lines[0], lines[0]


def test_litert_dir_without_the_library_is_a_configure_error(tmp_path):
    """-DMSDK_LITERT_DIR naming a directory without libLiteRt.so fails at configure time (no build silently
    without the engine)."""
    from mobilesdk.native import NATIVE_DIR

    cmake = shutil.which("cmake")
    assert cmake is not None
    off = [
        "-DMSDK_WITH_EXECUTORCH=OFF",
        "-DMSDK_BUILD_TESTS=OFF",
        "-DMSDK_BUILD_RUNNER=OFF",
        "-DMSDK_BUILD_JNI=OFF",
    ]
    proc = subprocess.run(
        [cmake, "-S", str(NATIVE_DIR), "-B", str(tmp_path / "build"), f"-DMSDK_LITERT_DIR={tmp_path}", *off],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "holds no libLiteRt.so" in proc.stdout + proc.stderr
