"""The native core's ONNX Runtime engine (libonnxruntime of the onnxruntime wheel, through its C API) end to end:
mobilesdk-runner on the trained movepose-xs-128 fixture exported to ONNX with its manifest embedded
(``export_onnx_with_manifest``, the export the host bench's ONNX Runtime baseline runs).

- Frame-space keypoints equal the Python ONNX Runtime path (mobilesdk.preprocess -> onnxruntime.InferenceSession
  -> numpy codec -> keypoints_to_frame) within 1e-3 px, and the .pte's (runner, ExecuTorch) within the fp32
  parity gate the build holds every artifact to; the final JSON line names onnxruntime and its version.
- Several models in one interleaved run (.pte, .tflite, .onnx): each on its own engine, same keypoints.
- The engine is chosen by content (an ONNX named .bin runs); ``--manifest`` given explicitly works for an ONNX
  without one.
- Bad models are one-line errors (exit 1), never a crash: truncated, foreign bytes behind ONNX-looking tags, no
  embedded manifest, a manifest for another runtime.
- The arm64 bundle carries ONNX Runtime's aarch64 library and, under qemu, gives the host runner's keypoints.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from tests.native.test_arm64_bundle import _copy_elsewhere, arm64_bundle, frame, run_arm64  # noqa: F401
from tests.native.test_arm64_bundle import final_json as final_json_checked
from tests.native.test_native_runner import ROI, final_json, python_path, run_runner

PX_ATOL = 1e-3  # runner vs the Python path on the same runtime


def _ort_outputs(onnx: Path, x: np.ndarray, threads: int = 1) -> list[np.ndarray]:
    """The Python reference: onnxruntime's InferenceSession with the bench's options (mobilesdk/bench)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(onnx), options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})


def _xy(result: dict) -> np.ndarray:
    return np.array([[k["x"], k["y"]] for k in result["keypoints"]], dtype=np.float64)


def _fp32_gate_px(movepose_pte: dict) -> float:
    """The keypoint gate (px) the build verified the fp32 .pte with: the tolerance between fp32 runtimes."""
    return float(movepose_pte["artifact"]["parity"]["gate"]["max_px"])


def test_native_build_has_the_onnxruntime_engine(native_release):
    assert native_release.has_onnxruntime and native_release.has_executorch


def test_export_embeds_the_manifest(movepose_onnx):
    """The ONNX carries the build's manifest as one ``onnxruntime`` artifact whose input and outputs are the
    graph's (names, order, shapes): what the native core checks the session against."""
    import onnx

    from mobilesdk import manifest as mf

    doc = mf.from_json(movepose_onnx["embedded"], "embedded", embedded=True)
    (entry,) = doc.artifacts
    assert (entry.runtime, entry.recipe, entry.precision) == ("onnxruntime", "onnxruntime-fp32", "fp32")
    assert (entry.input.layout, entry.input.dtype, entry.input.normalization) == ("NCHW", "float32", "app")
    assert doc.fingerprint == movepose_onnx["manifest"]["model"]["fingerprint"]
    graph = onnx.load(str(movepose_onnx["onnx"])).graph
    dims = [[d.dim_value for d in o.type.tensor_type.shape.dim] for o in graph.output]
    assert [(o.name, tuple(d)) for o, d in zip(graph.output, dims, strict=True)] == [
        (o.name, o.shape) for o in entry.outputs
    ]
    assert [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim] == list(entry.input.shape)


@pytest.mark.parametrize("roi", [None, ROI], ids=["full-frame", "roi"])
def test_runner_keypoints_equal_python_onnxruntime(roi, native_release, movepose_onnx, png):
    path, image = png
    args = ["--model", str(movepose_onnx["onnx"]), "--image", str(path), "--warmup", "1", "--iterations", "2"]
    if roi is not None:
        args += ["--roi", ",".join(str(v) for v in roi)]
    result = final_json(run_runner(native_release.runner, *args))
    assert result["runtime"] == {"name": "onnxruntime", "version": metadata.version("onnxruntime")}
    assert result["threads"] == 1  # ONNX Runtime's default here: one intra-op thread
    names = movepose_onnx["manifest"]["keypoints"]["names"]
    assert [k["name"] for k in result["keypoints"]] == names
    want_xy, want_scores, _ = python_path(
        movepose_onnx, image, roi, lambda x: _ort_outputs(movepose_onnx["onnx"], x)
    )
    got = _xy(result)
    np.testing.assert_allclose(got, want_xy, atol=PX_ATOL, rtol=0, err_msg="runner vs onnxruntime (px)")
    scores = np.array([k["score"] for k in result["keypoints"]])
    np.testing.assert_allclose(scores, want_scores, atol=1e-4, rtol=1e-3)
    assert np.ptp(got[:, 0]) > 1.0  # keypoints spread over the frame, not one point


def test_interleaved_pte_tflite_onnx(native_release, movepose_pte, movepose_tflite, movepose_onnx, png):
    """One multi-model run, one thread: every model on its own engine (named in its result), the .onnx's
    keypoints equal the .pte's and the .tflite's within the fp32 parity gate."""
    files = [movepose_pte["pte"], movepose_tflite["tflite"], movepose_onnx["onnx"]]
    args = [a for f in files for a in ("--model", str(f))]
    args += ["--image", str(png[0]), "--warmup", "1", "--iterations", "2", "--threads", "1"]
    doc = final_json(run_runner(native_release.runner, *args))
    assert doc["interleaved"] and [m["file"] for m in doc["models"]] == [str(f) for f in files]
    assert [m["runtime"]["name"] for m in doc["models"]] == ["executorch", "litert", "onnxruntime"]
    assert all(m["threads"] == 1 and m["iterations"] == 2 for m in doc["models"])
    pte, tflite, onnx = (_xy(m) for m in doc["models"])
    gate = _fp32_gate_px(movepose_pte)
    np.testing.assert_allclose(onnx, pte, atol=gate, rtol=0, err_msg=".onnx vs .pte (px)")
    np.testing.assert_allclose(onnx, tflite, atol=gate, rtol=0, err_msg=".onnx vs .tflite (px)")


def test_threads_are_honoured(native_release, movepose_onnx):
    result = final_json(
        run_runner(
            native_release.runner, "--model", str(movepose_onnx["onnx"]), "--frame", "rgb:64x48",
            "--iterations", "1", "--threads", "2",
        )
    )  # fmt: skip
    assert result["threads"] == 2


def test_chosen_by_content_and_explicit_manifest(native_release, movepose_onnx, png, tmp_path):
    """An ONNX named model.bin runs on ONNX Runtime; an ONNX without its manifest runs with ``--manifest``."""
    import onnx

    renamed = shutil.copy(movepose_onnx["onnx"], tmp_path / "model.bin")
    bare = tmp_path / "bare.onnx"
    proto = onnx.load(str(movepose_onnx["onnx"]))
    del proto.metadata_props[:]
    onnx.save(proto, str(bare))
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(movepose_onnx["embedded"]))
    common = ["--image", str(png[0]), "--iterations", "1", "--warmup", "0"]
    results = [
        final_json(run_runner(native_release.runner, "--model", str(renamed), *common)),
        final_json(
            run_runner(native_release.runner, "--model", str(bare), "--manifest", str(manifest), *common)
        ),
    ]
    want = final_json(run_runner(native_release.runner, "--model", str(movepose_onnx["onnx"]), *common))
    for result in results:
        assert result["runtime"]["name"] == "onnxruntime"
        np.testing.assert_array_equal(_xy(result), _xy(want))


def _truncated(src: Path, d: Path, size: int | None = None) -> Path:
    data = src.read_bytes()
    return _write(d / "cut.onnx", data[: size or len(data) // 2])


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _without_manifest(src: Path, d: Path) -> Path:
    import onnx

    proto = onnx.load(str(src))
    del proto.metadata_props[:]
    onnx.save(proto, str(d / "no-manifest.onnx"))
    return d / "no-manifest.onnx"


def _scrambled_graph(src: Path, d: Path) -> Path:
    """The real leading fields, then 0xff bytes where the graph was: protobuf cannot parse it."""
    data = bytearray(src.read_bytes())
    data[64:] = b"\xff" * (len(data) - 64)
    return _write(d / "scrambled.onnx", bytes(data))


@pytest.mark.parametrize(
    ("make", "status", "needle"),
    [
        (_truncated, "MSDK_ERR_INVALID_MODEL", "ONNX Runtime CreateSessionFromArray"),
        (lambda s, d: _truncated(s, d, 200), "MSDK_ERR_INVALID_MODEL", "ONNX Runtime CreateSessionFromArray"),
        (_scrambled_graph, "MSDK_ERR_INVALID_MODEL", "ONNX Runtime CreateSessionFromArray"),
        (
            lambda s, d: _write(d / "x.onnx", b"\x08\x07\x99" + b"\x00" * 100),
            "MSDK_ERR_INVALID_MODEL",
            "nor an ONNX",
        ),
        (_without_manifest, "MSDK_ERR_INVALID_MANIFEST", "no embedded mobilesdk_manifest"),
    ],
    ids=["truncated-half", "truncated-200-bytes", "scrambled-graph", "foreign", "no-manifest"],
)
def test_bad_models_are_one_line_errors(make, status, needle, native_release, movepose_onnx, tmp_path):
    bad = make(Path(movepose_onnx["onnx"]), tmp_path)
    proc = run_runner(native_release.runner, "--model", str(bad), check=False)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1, proc.stderr
    assert len(lines) == 1 and lines[0].startswith(f"mobilesdk-runner: error: {status}: "), proc.stderr
    assert needle in lines[0], lines[0]


def test_manifest_of_another_runtime_is_refused(native_release, movepose_onnx):
    """The build's manifest.json describes the .pte/.tflite: its artifact is not for onnxruntime."""
    proc = run_runner(
        native_release.runner, "--model", str(movepose_onnx["onnx"]), "--manifest",
        str(Path(movepose_onnx["dir"]) / "manifest.json"), "--recipe", "xnnpack-fp32", check=False,
    )  # fmt: skip
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert "is for runtime 'executorch', not onnxruntime" in lines[0], lines[0]


def test_onnxruntime_dir_without_the_library_is_a_configure_error(tmp_path):
    from mobilesdk.native import NATIVE_DIR

    empty = tmp_path / "capi"
    empty.mkdir()
    args = [
        "cmake", "-S", str(NATIVE_DIR), "-B", str(tmp_path / "build"), f"-DMSDK_ONNXRUNTIME_DIR={empty}",
        "-DMSDK_WITH_EXECUTORCH=OFF", "-DMSDK_BUILD_TESTS=OFF", "-DMSDK_BUILD_JNI=OFF", "-DMSDK_BUILD_RUNNER=OFF",
    ]  # fmt: skip
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "holds no libonnxruntime.so.<version>" in " ".join(proc.stderr.split()), proc.stderr


# ---- arm64 -------------------------------------------------------------------------------------------------


def test_arm64_bundle_carries_onnxruntime(arm64_bundle):  # noqa: F811
    from mobilesdk.native_cross import ONNXRUNTIME_LIBRARY, elf_info, installed_version

    assert arm64_bundle.has_onnxruntime
    assert ONNXRUNTIME_LIBRARY in elf_info(arm64_bundle.runner).needed
    assert arm64_bundle.info["versions"]["onnxruntime"] == installed_version("onnxruntime")
    assert elf_info(arm64_bundle.bundle_dir / ONNXRUNTIME_LIBRARY).machine == "EM_AARCH64"


def test_arm64_bundle_runs_onnx_like_host(arm64_bundle, native_release, movepose_onnx, frame, tmp_path):  # noqa: F811
    copy = _copy_elsewhere(arm64_bundle.bundle_dir, tmp_path)
    args = ["--model", str(movepose_onnx["onnx"]), "--image", str(frame)]
    args += ["--iterations", "1", "--warmup", "0"]
    got = final_json_checked(run_arm64(["sh", str(copy / "run"), *args], tmp_path, cwd=tmp_path))
    total = got["stages"]["total"]["p50"]
    print(f"arm64 ONNX Runtime under qemu: load {got['load_ms']:.0f} ms, total {total:.0f} ms")
    assert got["runtime"] == {"name": "onnxruntime", "version": metadata.version("onnxruntime")}
    want = final_json(run_runner(native_release.runner, *args))
    for key, atol in (("x", PX_ATOL), ("y", PX_ATOL), ("score", 1e-4)):
        np.testing.assert_allclose(
            [k[key] for k in got["keypoints"]], [k[key] for k in want["keypoints"]], atol=atol, rtol=0,
            err_msg=f"arm64 vs host runner: {key}",
        )  # fmt: skip
    bad = _truncated(Path(movepose_onnx["onnx"]), tmp_path)
    proc = run_arm64(["sh", str(copy / "run"), "--model", str(bad)], tmp_path, cwd=tmp_path)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert "ONNX Runtime CreateSessionFromArray" in lines[0], lines[0]


def test_bench_runs_the_onnx_export_through_the_native_core(native_release, tiny_build, tmp_path):
    """``mobilesdk bench --runner native --compare onnxruntime``: besides ONNX Runtime in Python, the same
    export through the C++ core (its ONNX Runtime engine, same pre/post and counting as the artifacts' rows)."""
    from mobilesdk.bench.host import BenchPlan, bench

    plan = BenchPlan(warmup=1, iterations=3, compare=("onnxruntime",), runner=native_release.runner)
    result = bench(tiny_build, plan, workdir=tmp_path)
    rows = {r.name: r for r in result.results}
    assert {"onnxruntime", "native:onnxruntime", "native:xnnpack-fp32", "native:litert-fp32"} <= set(rows)
    row = rows["native:onnxruntime"]
    assert row.kind == "native" and row.runtime == "mobilesdk-runner (C++ core, ONNX Runtime)"
    assert row.runtime_version == metadata.version("onnxruntime") and row.stats.n == 3
    assert set(row.stages) == {"preprocess", "inference", "decode", "total"}
    assert row.ratios["onnxruntime"] == pytest.approx(
        row.stages["inference"].p50 / rows["onnxruntime"].stats.p50
    )
