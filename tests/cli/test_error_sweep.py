"""One error boundary: a sweep of broken inputs through every command, run as a user runs them.

Each case runs the real CLI in a subprocess (``CliRunner`` never prints tracebacks into its output, so only a
subprocess can show one) and must end with exactly one ``Error: ...`` line naming the problem, a non-zero exit
and no traceback. Cases run two at a time; most fail before torch is imported.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from mobilesdk.cards import ZOO_DIR
from tests.conftest import user_card
from tests.runtime_helpers import with_custom_op

CLI = str(Path(sys.executable).with_name("mobilesdk"))


def _limit_file_size():
    """A 'disk full' stand-in that needs no root: writes past 4 KB fail with EFBIG (the artifact is bigger)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


def _cases(tmp: Path, tiny: Path) -> list[tuple[str, list[str], str, object]]:
    good = str(ZOO_DIR / "movepose-xs.yaml")
    zoo = yaml.safe_load(Path(good).read_text())

    def card(name: str, **changes) -> str:
        data = {**zoo, **changes}
        path = tmp / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data))
        return str(path)

    def write(name: str, data: bytes) -> str:
        path = tmp / name
        path.write_bytes(data)
        return str(path)

    def broken_build(name: str, edit) -> str:
        d = tmp / name
        shutil.copytree(tiny, d)
        doc = json.loads((d / "manifest.json").read_text())
        edit(doc)
        (d / "manifest.json").write_text(json.dumps(doc))
        return str(d)

    def corrupt_aar() -> str:
        """A zip whose central directory is fine but whose first member's compressed bytes are not."""
        import io
        import zipfile

        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("AndroidManifest.xml", "<manifest package='a.b'/>" * 50)
            z.writestr("classes.jar", b"x" * 4000)
        data = bytearray(buf.getvalue())
        data[60:70] = b"\xff" * 10
        return write("corrupt.aar", bytes(data))

    pte = next(tiny.glob("*.pte"))
    tflite = next(tiny.glob("*.tflite"))
    torch_garbage = write("garbage.pth", bytes(range(256)) * 4)
    photos = tmp / "photos"
    photos.mkdir()
    (photos / "broken.png").write_bytes(b"\x89PNG not really")
    out = str(tmp / "out")
    ucard = lambda cls: str(user_card(tmp, cls))  # noqa: E731
    return [
        # -- build --------------------------------------------------------------------------------------
        ("unknown model", ["build", "--model", "movepose-xxl"], "unknown model 'movepose-xxl'", None),
        ("no model", ["build"], "no model given", None),
        ("card missing", ["build", "--card", str(tmp / "nope.yaml")], "card file not found", None),
        (
            "card invalid yaml",
            ["build", "--card", write("bad.yaml", b"id: [unclosed\n")],
            "invalid YAML",
            None,
        ),
        (
            "card not utf-8",
            ["build", "--card", write("latin.yaml", "id: caf\xe9\n".encode("latin-1"))],
            "not UTF-8 text",
            None,
        ),
        (
            "card bad size",
            ["build", "--card", card("neg", input={**zoo["input"], "size": {"width": -3, "height": 256}})],
            "input.size.width",
            None,
        ),
        (
            "card nan budget",
            ["build", "--card", card("nanbudget", quantization={"int8_mean_px": float("nan")})],
            "int8_mean_px",
            None,
        ),
        (
            "card unknown preset",
            ["build", "--card", card("preset", keypoints="coco-133")],
            "keypoint preset",
            None,
        ),
        (
            "cli nan budget",
            ["build", "--model", "movepose-xs", "--int8-budget-px", "nan"],
            "--int8-budget-px",
            None,
        ),
        (
            "cli negative budget",
            ["build", "--model", "movepose-xs", "--int8-budget-px", "-1"],
            "--int8-budget-px",
            None,
        ),
        (
            "fp16 on executorch",
            ["build", "--model", "movepose-xs", "--backend", "executorch", "--quantize", "fp16"],
            "not supported with --backend executorch",
            None,
        ),
        (
            "checkpoint missing",
            ["build", "--model", "movepose-xs", "--checkpoint", str(tmp / "none.pth"), "--out", out],
            "checkpoint not found",
            None,
        ),
        (
            "checkpoint garbage",
            ["build", "--model", "movepose-xs", "--checkpoint", torch_garbage, "--out", out],
            "not a readable PyTorch checkpoint",
            None,
        ),
        (
            "constructor raises",
            ["build", "--card", ucard("RaisingInitNet"), "--out", out],
            "building the architecture raised ValueError",
            None,
        ),
        (
            "forward raises",
            ["build", "--card", ucard("RaisingForwardNet"), "--out", out],
            "input raised RuntimeError",
            None,
        ),
        (
            "forward returns two",
            ["build", "--card", ucard("TwoOutputsNet"), "--out", out],
            "forward returned 2 value(s)",
            None,
        ),
        (
            "user class missing",
            ["build", "--card", card("noclass", architecture={"entry": f"{tmp}/nowhere.py:Net"})],
            "file not found",
            None,
        ),
        (
            "out is a file",
            ["build", "--model", "movepose-xs", "--out", write("afile", b"x")],
            "is not a directory",
            None,
        ),
        (
            "out not permitted",
            ["build", "--card", ucard("TinyHeatmapNet"), "--out", "/sys/mobilesdk-out"],
            "--out /sys/mobilesdk-out: cannot write there",
            None,
        ),
        (
            "disk full",
            ["build", "--card", ucard("TinyHeatmapNet"), "--out", out],
            "File too large",
            _limit_file_size,
        ),
        (
            "calib folder empty",
            ["build", "--model", "movepose-xs", "--quantize", "int8", "--calib-images", str(tmp)],
            "no .jpg/.jpeg/.png images",
            None,
        ),
        (
            "calib image corrupt",
            [
                "build",
                "--card",
                ucard("TinyHeatmapNet"),
                "--quantize",
                "int8",
                "--calib-images",
                str(photos),
                "--out",
                out,
            ],
            "not a readable image",
            None,
        ),
        # -- verify -------------------------------------------------------------------------------------
        (
            "verify random pte",
            ["verify", write("random.pte", os.urandom(4096))],
            "not an ExecuTorch program",
            None,
        ),
        (
            "verify truncated pte",
            ["verify", write("cut.pte", pte.read_bytes()[: pte.stat().st_size // 2])],
            "cut.pte is not a loadable ExecuTorch program",
            None,
        ),
        (
            "verify random tflite",
            ["verify", write("random.tflite", os.urandom(4096))],
            "not a TFLite model",
            None,
        ),
        ("verify empty tflite", ["verify", write("empty.tflite", b"")], "not a TFLite model", None),
        (
            "verify truncated tflite",
            ["verify", write("cut.tflite", tflite.read_bytes()[:5000])],
            "cut.tflite: corrupt TFLite flatbuffer",
            None,
        ),
        ("verify other file", ["verify", write("model.onnx", b"onnx")], "not a model file", None),
        ("verify dir without manifest", ["verify", str(photos)], "no manifest here", None),
        (
            "verify manifest not json",
            ["verify", broken_build("notjson", lambda d: d.clear())],
            "not a mobilesdk manifest",
            None,
        ),
        (
            "verify file outside build",
            ["verify", broken_build("escape", lambda d: d["artifacts"][0].update(file="../x.pte"))],
            "inside the build folder",
            None,
        ),
        (
            "verify listed file missing",
            ["verify", broken_build("missing", lambda d: d["artifacts"][0].update(file="gone.pte"))],
            "listed in the manifest but missing",
            None,
        ),
        ("verify zero budget", ["verify", str(tiny), "--int8-budget-px", "0"], "--int8-budget-px", None),
        # -- bench --------------------------------------------------------------------------------------
        ("bench missing", ["bench", str(tmp / "nothing")], "no such file or build directory", None),
        (
            "bench random pte",
            ["bench", write("noise.pte", os.urandom(2048))],
            "not an ExecuTorch program",
            None,
        ),
        (
            "bench unsupported op",
            ["bench", str(with_custom_op(tflite, tmp / "custom.tflite"))],
            "unresolved custom op",
            None,
        ),
        ("bench zero iterations", ["bench", str(tiny), "-n", "0"], "--iterations", None),
        ("bench unknown compare", ["bench", str(tiny), "--compare", "tvm"], "--compare tvm", None),
        # -- inspect ------------------------------------------------------------------------------------
        ("inspect missing", ["inspect", str(tmp / "none.aar")], "no such file", None),
        ("inspect directory", ["inspect", str(photos)], "is a directory", None),
        (
            "inspect not a zip",
            ["inspect", write("fake.aar", b"PK\x03\x04 not really a zip")],
            "not an AAR",
            None,
        ),
        ("inspect corrupt aar", ["inspect", corrupt_aar()], "corrupt AAR", None),
        (
            "inspect other file",
            ["inspect", write("weights.onnx", b"onnx")],
            "not an .aar, .pte or .tflite",
            None,
        ),
        (
            "inspect random pte",
            ["inspect", write("noise2.pte", os.urandom(2048))],
            "not an ExecuTorch program",
            None,
        ),
        (
            "inspect truncated tflite",
            ["inspect", write("cut2.tflite", tflite.read_bytes()[:5000])],
            "cut2.tflite: corrupt TFLite flatbuffer",
            None,
        ),
        (
            "inspect bad runtime version",
            ["inspect", str(tflite), "--tflite-runtime", "latest"],
            "--tflite-runtime",
            None,
        ),
        # -- models -------------------------------------------------------------------------------------
        ("models show unknown", ["models", "show", "posenet"], "unknown model 'posenet'", None),
        (
            "models card missing",
            ["models", "show", "--card", str(tmp / "nope.yaml")],
            "card file not found",
            None,
        ),
        ("unknown command", ["bulid"], "Did you mean 'build'", None),
    ]


@pytest.fixture(scope="module")
def sweep(tiny_build, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweep")
    cases = _cases(tmp, tiny_build)

    def run(case):
        name, args, expected, preexec = case
        proc = subprocess.run(
            [CLI, *args], capture_output=True, text=True, timeout=300, preexec_fn=preexec, cwd=tmp
        )
        return name, expected, proc

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(run, cases)), tmp


def test_the_sweep_is_broad(sweep):
    results, _ = sweep
    assert len(results) >= 25
    assert {r[2].args[1] for r in results} >= {"build", "verify", "models", "bench", "inspect"}
    assert sum(r[2].args[1] == "inspect" for r in results) >= 5


def test_every_broken_input_is_one_line_and_a_nonzero_exit(sweep):
    results, tmp = sweep
    problems = []
    for name, expected, proc in results:
        text = proc.stdout + proc.stderr
        errors = [line for line in text.splitlines() if line.startswith("Error:")]
        if proc.returncode == 0 or "Traceback" in text or len(errors) != 1 or expected not in errors[0]:
            problems.append(
                f"{name}: exit {proc.returncode}, errors {errors}, tail {text.strip().splitlines()[-3:]}"
            )
    assert not problems, "\n".join(problems)
    assert not (tmp / "out").exists() or not any((tmp / "out").iterdir()), "a failed build left files behind"
