"""mobilesdk-runner end to end: on built movepose-xs-128 and mobilehumanpose-xs-128 programs (trained fixture
weights) and a synthetic PNG of another size, the runner's frame-space keypoints equal the Python path
(mobilesdk.preprocess -> eager torch and executorch.runtime -> numpy codec -> keypoints_to_frame) within 1e-3 px;
its raw mode reproduces executorch.runtime's outputs; bad arguments are one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mobilesdk import preprocess as pp
from mobilesdk.cards import load_card
from mobilesdk.codecs.visibility import default_params, visibility

ROI = [30.0, 20.0, 150.0, 140.0]


def run_runner(runner: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(runner), *args], capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def final_json(proc: subprocess.CompletedProcess) -> dict:
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _execute_pte(pte: Path, x: np.ndarray) -> list[np.ndarray]:
    from tests.runtime_helpers import run_model

    return run_model(pte, [x])


def _eager(card_path: Path, checkpoint: Path, x: np.ndarray) -> list[np.ndarray]:
    from mobilesdk.modeling import build_model, run_eager

    return run_eager(build_model(load_card(card_path), checkpoint).eval(), x)


def python_path(
    model: dict, image: np.ndarray, roi, outputs_from
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(frame xy (K, 2), scores (K,), z (K,) | None) by the reference path with ``outputs_from(x)``."""
    from mobilesdk.codecs import codec_for

    card = load_card(model["card"])
    entry = model["artifact"]["input"]
    x, matrix = pp.preprocess(
        pp.Frame.from_array(image, "rgb"), card.input, layout=entry["layout"], dtype=entry["dtype"], roi=roi
    )
    roles = [o["role"] for o in model["artifact"]["outputs"]]
    kps = codec_for(card).decode(dict(zip(roles, outputs_from(x), strict=True)))
    z = None if kps.z is None else kps.z[0]
    return pp.keypoints_to_frame(kps.xy[0], matrix), kps.scores[0], z


MODELS = ["movepose_pte", "mobilehumanpose_pte"]


@pytest.mark.parametrize("roi", [None, ROI], ids=["full-frame", "roi"])
@pytest.mark.parametrize("model_fixture", MODELS)
def test_runner_keypoints_equal_python_path(model_fixture, roi, request, native_release, png):
    model = request.getfixturevalue(model_fixture)
    path, image = png
    args = [
        "--model",
        str(model["pte"]),
        "--image",
        str(path),
        "--warmup",
        "1",
        "--iterations",
        "2",
        "--threads",
        "1",
    ]
    if roi is not None:
        args += ["--roi", ",".join(str(v) for v in roi)]
    result = final_json(run_runner(native_release.runner, *args))
    got = np.array([[k["x"], k["y"]] for k in result["keypoints"]], dtype=np.float64)
    scores = np.array([k["score"] for k in result["keypoints"]])
    assert result["iterations"] == 2 and result["threads"] == 1
    assert set(result["stages"]) == {"preprocess", "inference", "decode", "total"}
    assert set(result["stages"]["total"]) == {"min", "p50", "p90", "mean"}
    names = json.loads(Path(model["dir"], "manifest.json").read_text())["keypoints"]["names"]
    assert [k["name"] for k in result["keypoints"]] == names
    for label, outputs_from in (
        ("executorch.runtime", lambda x: _execute_pte(model["pte"], x)),
        ("eager", lambda x: _eager(model["card"], model["checkpoint"], x)),
    ):
        want_xy, want_scores, want_z = python_path(model, image, roi, outputs_from)
        np.testing.assert_allclose(got, want_xy, atol=1e-3, rtol=0, err_msg=f"runner vs {label} (px)")
        np.testing.assert_allclose(scores, want_scores, atol=1e-4, rtol=1e-3, err_msg=f"scores vs {label}")
        if want_z is not None:
            z = np.array([k["z"] for k in result["keypoints"]])
            np.testing.assert_allclose(z, want_z, atol=1e-3, err_msg=f"z vs {label}")
        else:
            assert all(k["z"] is None for k in result["keypoints"])
    assert result["pose_score"] == pytest.approx(float(np.mean(scores)), rel=1e-5)
    # visibility: the manifest codec's calibrated map of the score, as the Python reference computes it
    codec = json.loads(Path(model["dir"], "manifest.json").read_text())["codec"]
    params = codec.get("visibility") or default_params(codec["name"], codec["params"])
    vis = np.array([k["visibility"] for k in result["keypoints"]])
    np.testing.assert_allclose(vis, visibility(scores, params["a"], params["b"]), atol=1e-5, rtol=0)


def test_runner_raw_mode_reproduces_executorch_runtime(native_release, movepose_pte, png, tmp_path):
    path, image = png
    card = load_card(movepose_pte["card"])
    x, _ = pp.preprocess(pp.Frame.from_array(image, "rgb"), card.input)
    raw = tmp_path / "input.bin"
    raw.write_bytes(np.ascontiguousarray(x, dtype=np.float32).tobytes())
    dump = tmp_path / "dump"
    dump.mkdir()
    run_runner(
        native_release.runner,
        "--model",
        str(movepose_pte["pte"]),
        "--input",
        str(raw),
        "--dump-outputs",
        str(dump),
        "--warmup",
        "0",
        "--iterations",
        "1",
    )
    want = _execute_pte(movepose_pte["pte"], x)
    for out, ref in zip(movepose_pte["artifact"]["outputs"], want, strict=True):
        got = np.fromfile(dump / f"{out['name']}.bin", dtype=np.float32).reshape(ref.shape)
        np.testing.assert_array_equal(got, ref, err_msg=out["name"])  # the same runtime, the same bits


def test_runner_synthetic_camera_frames_and_rotation(native_release, movepose_pte):
    for frame in ("nv21:320x240", "yuv420:64x48", "rgba:100x80", "bgra:30x40", "rgb:50x50"):
        for rotation in ("0", "90"):
            result = final_json(
                run_runner(
                    native_release.runner,
                    "--model",
                    str(movepose_pte["pte"]),
                    "--frame",
                    frame,
                    "--rotation",
                    rotation,
                    "--iterations",
                    "1",
                    "--warmup",
                    "0",
                )
            )
            assert len(result["keypoints"]) == 17 and result["load_ms"] > 0, frame


@pytest.mark.parametrize(
    ("args", "status", "needle"),
    [
        ([], 2, "--model is required"),
        (["--model", "/nonexistent.pte"], 1, "MSDK_ERR_IO"),
        (["--model", "MODEL", "--frame", "nv21:33x10"], 2, "even"),
        (["--model", "MODEL", "--frame", "foo:10x10"], 2, "one of nv21"),
        (["--model", "MODEL", "--roi", "1,2,3"], 2, "--roi expects"),
        (["--model", "MODEL", "--frame", "rgba:64x48", "--roi", "100,100,200,200"], 1, "outside"),
        (["--model", "MODEL", "--rotation", "45"], 1, "rotation 45"),
        (["--model", "MODEL", "--iterations", "0"], 2, "--iterations"),
        (["--model", "MODEL", "--image", "/nonexistent.png"], 1, "not a readable"),
        (["--model", "MODEL", "--bogus", "1"], 2, "unknown option"),
        (["--model", "NOT_A_PTE"], 1, "MSDK_ERR_INVALID_MODEL"),
    ],
)
def test_runner_errors_are_one_line(args, status, needle, native_release, movepose_pte, tmp_path):
    not_pte = tmp_path / "x.pte"
    not_pte.write_bytes(b"\x00" * 100)
    args = [
        str(movepose_pte["pte"]) if a == "MODEL" else str(not_pte) if a == "NOT_A_PTE" else a for a in args
    ]
    proc = run_runner(native_release.runner, *args, check=False)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == status, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("mobilesdk-runner: error:") and needle in lines[0], (
        proc.stderr
    )


def test_runner_build_without_cmake_is_a_one_line_error(tmp_path):
    exe = Path(sys.executable).with_name("mobilesdk")
    env = {**os.environ, "PATH": str(tmp_path)}  # an empty directory: no cmake, no compiler
    proc = subprocess.run(
        [str(exe), "runner", "build", "--cache-dir", str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0 and len(lines) == 1, proc.stderr
    assert "cmake not found on PATH" in lines[0], lines


def test_runner_build_without_compiler_is_a_one_line_error(tmp_path):
    import shutil

    (tmp_path / "bin").mkdir()
    os.symlink(shutil.which("cmake"), tmp_path / "bin" / "cmake")
    from mobilesdk.native import NativeBuildError, build_native

    with pytest.raises(NativeBuildError, match="C\\+\\+ compiler not found on PATH"):
        build_native(tmp_path / "cache", "release", search_path=str(tmp_path / "bin"))


def test_runner_build_command_prints_the_runner(native_release):
    from click.testing import CliRunner

    from mobilesdk.cli.main import cli
    from tests.fixtures import NATIVE_CACHE

    result = CliRunner().invoke(cli, ["runner", "build", "--cache-dir", str(NATIVE_CACHE)])
    assert result.exit_code == 0, result.output
    assert Path(result.output.strip()) == native_release.runner
