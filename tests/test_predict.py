"""`mobilesdk predict`: keypoints of the trained fixtures on synthetic photos (near the truth, equal to the
reference path), the python and native engines agree, EXIF orientation is honoured, overlays are real PNGs
(one, a contact sheet, a directory; the random-weights banner; the 3-D panel), and every user error is one line
with nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from mobilesdk import preprocess as pp
from mobilesdk.cards import load_card
from mobilesdk.cli.main import cli
from mobilesdk.codecs.visibility import default_params, visibility
from tests.fixtures import NATIVE_CACHE

SIZE = 256  # the synthetic photos: twice the fixtures' 128 px input
ROI = "30.5,20,230,236"
NATIVE = ["--native-cache", str(NATIVE_CACHE)]


def invoke(*args: str):
    return CliRunner().invoke(cli, ["predict", *map(str, args)])


def predict_json(*args: str) -> list[dict]:
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def xy_of(record: dict) -> np.ndarray:
    return np.array([[k["x"], k["y"]] for k in record["keypoints"]])


def photos(card_path: Path, folder: Path, count: int = 2, size: int = SIZE, seed: int = 3):
    """``count`` synthetic figures in the card's keypoint layout (PNG, then JPEG, alternating) and their true
    keypoints (N, K, 2) in image pixels."""
    from mobilesdk.synthetic import make_samples

    card = load_card(card_path)
    images, points = make_samples(count, card.num_keypoints, size, size, card.keypoints.skeleton, seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, image in enumerate(images):
        path = folder / (f"figure{i}.png" if i % 2 == 0 else f"figure{i}.jpg")
        Image.fromarray(image).save(path, **({"quality": 95} if path.suffix == ".jpg" else {}))
        paths.append(path)
    return paths, points


@pytest.fixture(scope="module")
def movepose_photos(movepose_pte, tmp_path_factory):
    return photos(movepose_pte["card"], tmp_path_factory.mktemp("photos"))


@pytest.fixture(scope="module")
def mhp_photos(mobilehumanpose_pte, tmp_path_factory):
    return photos(mobilehumanpose_pte["card"], tmp_path_factory.mktemp("mhp-photos"), seed=5)


def reference(model: dict, path: Path, roi) -> tuple[np.ndarray, np.ndarray]:
    """(xy (K, 2), scores (K,)) by the verification path: the whole of mobilesdk.preprocess, the host runtime,
    the card's codec, keypoints_to_frame."""
    from mobilesdk.codecs import codec_for
    from mobilesdk.runtimes import get_runtime

    card = load_card(model["card"])
    entry = model["artifact"]
    pixels = np.asarray(Image.open(path).convert("RGB"))
    x, matrix = pp.preprocess(
        pp.Frame.from_array(pixels), card.input, layout=entry["input"]["layout"], dtype="float32", roi=roi
    )
    with get_runtime("executorch").open(model["pte"]) as session:
        outputs = session.run([x])
    roles = [o["role"] for o in entry["outputs"]]
    kps = codec_for(card).decode(dict(zip(roles, outputs, strict=True)))
    return pp.keypoints_to_frame(kps.xy[0], matrix), kps.scores[0]


# ---- the python engine -----------------------------------------------------------------------------------


@pytest.mark.parametrize("roi", [None, ROI], ids=["whole-image", "roi"])
def test_python_engine_finds_the_figure_as_verification_does(movepose_pte, movepose_photos, roi):
    paths, truth = movepose_photos
    extra = ["--recipe", "xnnpack-fp32", *(["--roi", roi] if roi else [])]
    records = predict_json(movepose_pte["dir"], *paths, *extra)
    box = None if roi is None else [float(v) for v in roi.split(",")]
    for record, path, points in zip(records, paths, truth, strict=True):
        assert record["image"] == str(path) and (record["width"], record["height"]) == (SIZE, SIZE)
        assert record["model"] == "movepose-xs-128" and record["recipe"] == "xnnpack-fp32"
        assert record["runtime"] == "executorch" and record["random_weights"] is False
        assert record["orientation_applied"] == 1 and record["roi"] == box
        assert [k["name"] for k in record["keypoints"]][:2] == ["nose", "left_eye"]
        assert all("z" not in k for k in record["keypoints"])
        want_xy, want_scores = reference(movepose_pte, path, box)
        np.testing.assert_allclose(xy_of(record), want_xy, atol=1e-6)
        scores = [k["score"] for k in record["keypoints"]]
        np.testing.assert_allclose(scores, want_scores, rtol=1e-6)
        assert record["pose_score"] == pytest.approx(np.mean(scores))
        # visibility: the manifest's calibrated map of the score; visible = 0.5 on it for every codec
        vis = np.array([k["visibility"] for k in record["keypoints"]])
        np.testing.assert_allclose(
            vis, visibility(np.array(want_scores), **default_params("simcc")), atol=1e-6
        )
        assert [k["visible"] for k in record["keypoints"]] == list(vis >= 0.5)
        assert record["visibility_threshold"] == 0.5
        error = np.linalg.norm(xy_of(record) - points, axis=1).mean()
        assert error < 8 * SIZE / 128, f"{path.name}: mean {error:.1f} px from the drawn keypoints"


def test_model_input_equals_preprocess():
    """predict's fast path (steps 3-6 on the upright uint8 picture) is preprocess() exactly."""
    from mobilesdk.manifest import ArtifactEntry, InputEntry, Manifest
    from mobilesdk.predict import ModelChoice, UprightImage, model_input

    size = {"width": 48, "height": 64}
    entry = ArtifactEntry(
        recipe="litert-fp32",
        runtime="litert",
        precision="fp32",
        input=InputEntry(
            "image",
            (1, 64, 48, 3),
            "NHWC",
            "float32",
            "bgr",
            (1.0, 2.0, 3.0),
            (50.0, 60.0, 70.0),
            "app",
            size,
            "affine",
            1.5,
        ),
        outputs=(),
    )
    choice = ModelChoice(Path("x.tflite"), Manifest({"id": "m"}, {}, {}, {}, (entry,)), entry)
    spec = choice.input_spec()
    assert (spec.color, spec.roi_padding, spec.size.as_dict()) == ("bgr", 1.5, size)
    pixels = np.random.default_rng(0).integers(0, 256, (131, 97, 3), dtype=np.uint8)
    for roi in (None, (10.5, -3.0, 80.0, 120.25)):
        got, matrix = model_input(choice, UprightImage(Path("p.png"), pixels, 1), roi)
        want, want_matrix = pp.preprocess(pp.Frame.from_array(pixels), spec, layout="NHWC", roi=roi)
        assert np.array_equal(got, want) and np.array_equal(matrix, want_matrix)


# ---- python vs native ------------------------------------------------------------------------------------


@pytest.mark.parametrize("roi", [None, ROI], ids=["whole-image", "roi"])
@pytest.mark.parametrize("model_fixture", ["movepose_pte", "mobilehumanpose_pte"])
def test_native_engine_equals_python_engine(model_fixture, roi, request):
    model = request.getfixturevalue(model_fixture)
    paths, _ = request.getfixturevalue("movepose_photos" if model_fixture == "movepose_pte" else "mhp_photos")
    assert {p.suffix for p in paths} == {".png", ".jpg"}
    extra = ["--roi", roi] if roi else []
    python = predict_json(model["pte"], *paths, *extra)
    native = predict_json(model["pte"], *paths, *extra, "--engine", "native", *NATIVE)
    for a, b in zip(python, native, strict=True):
        assert (a["engine"], b["engine"]) == ("python", "native")
        assert {k: v for k, v in a.items() if k not in ("keypoints", "engine", "pose_score")} == {
            k: v for k, v in b.items() if k not in ("keypoints", "engine", "pose_score")
        }
        np.testing.assert_allclose(xy_of(a), xy_of(b), atol=1e-3, rtol=0, err_msg=f"{a['image']} (px)")
        for key, atol in (("score", 1e-5), ("visibility", 1e-5), ("z", 1e-3)):
            if key == "z" and model_fixture == "movepose_pte":
                continue
            got = [k[key] for k in b["keypoints"]]
            np.testing.assert_allclose([k[key] for k in a["keypoints"]], got, atol=atol, err_msg=key)
        assert a["pose_score"] == pytest.approx(b["pose_score"], abs=1e-5)


def test_native_engine_on_a_tflite(tiny_build):
    """LiteRT through the runner when it has the LiteRT engine; otherwise a one-line error that says .pte only."""
    from mobilesdk.native import build_native

    photo = tiny_build.parent / "photo.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (90, 120, 3), dtype=np.uint8)).save(photo)
    tflite = tiny_build / "user-tinyheatmapnet.litert-fp32.tflite"
    if getattr(build_native(NATIVE_CACHE, "release"), "has_litert", False):
        python = predict_json(tflite, photo)
        native = predict_json(tflite, photo, "--engine", "native", *NATIVE)
        np.testing.assert_allclose(xy_of(python[0]), xy_of(native[0]), atol=1e-3)
    else:
        result = invoke(tflite, photo, "--engine", "native", *NATIVE)
        assert result.exit_code == 1 and "runs .pte (ExecuTorch) only" in result.output


# ---- EXIF ------------------------------------------------------------------------------------------------

# EXIF Orientation -> the numpy rotation that turns the stored pixels upright (np.rot90's k: counter-clockwise).
UPRIGHT_K = {3: 2, 6: -1, 8: 1}


@pytest.mark.parametrize("orientation", sorted(UPRIGHT_K))
def test_exif_orientation_is_applied(movepose_pte, movepose_photos, orientation, tmp_path):
    """A phone JPEG: pixels stored rotated, EXIF says how to turn them upright. Its keypoints equal those of
    the upright PNG of the same decoded pixels, and are reported on the upright picture."""
    upright = np.asarray(Image.open(movepose_photos[0][0]).convert("RGB"))[:, :200]  # not square
    stored = np.rot90(upright, k=-UPRIGHT_K[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    jpeg = tmp_path / f"phone-{orientation}.jpg"
    Image.fromarray(np.ascontiguousarray(stored)).save(jpeg, quality=92, exif=exif.tobytes())
    decoded = np.asarray(Image.open(jpeg).convert("RGB"))  # as stored, without EXIF: what stb_image would see
    png = tmp_path / "upright.png"
    Image.fromarray(np.ascontiguousarray(np.rot90(decoded, k=UPRIGHT_K[orientation]))).save(png)
    engines = [[], ["--engine", "native", *NATIVE]] if orientation == 6 else [[]]
    for engine in engines:
        got, want = predict_json(movepose_pte["pte"], jpeg, png, "--roi", "20,30,190,250", *engine)
        assert got["orientation_applied"] == orientation and want["orientation_applied"] == 1
        assert (got["width"], got["height"]) == (want["width"], want["height"]) == (200, SIZE)
        np.testing.assert_allclose(xy_of(got), xy_of(want), atol=1e-3, rtol=0)


def test_table_shows_score_visibility_and_visible(movepose_pte, movepose_photos):
    path = movepose_photos[0][0]
    result = invoke(movepose_pte["dir"], path)
    assert result.exit_code == 0, result.output
    assert "visible = visibility >= 0.5" in " ".join(result.stdout.split())
    record = predict_json(movepose_pte["dir"], path)[0]
    cells = [[c.strip() for c in line.split("│")] for line in result.stdout.splitlines() if "│" in line]
    rows = {c[2]: c[1:-1] for c in cells if len(c) == 9}  # #, keypoint, x, y, score, visibility, visible
    for kp in record["keypoints"]:
        assert rows[kp["name"]][-2:] == [f"{kp['visibility']:.2f}", "yes" if kp["visible"] else "no"], kp


# ---- overlays --------------------------------------------------------------------------------------------


def test_overlay_of_one_image(movepose_pte, movepose_photos, tmp_path):
    path = movepose_photos[0][0]
    out = tmp_path / "pose.png"
    result = invoke(movepose_pte["dir"], path, "--overlay", out, "--roi", ROI, "--labels")
    assert result.exit_code == 0, result.output
    assert f"overlay: {out}" in result.stderr and "nose" in result.stdout
    drawn = Image.open(out)
    assert drawn.format == "PNG" and drawn.size == (SIZE, SIZE)
    drawn, photo = np.asarray(drawn.convert("RGB")).astype(int), np.asarray(Image.open(path)).astype(int)
    record = predict_json(movepose_pte["dir"], path, "--roi", ROI)[0]
    changed = np.abs(drawn - photo).sum(-1) > 30
    for x, y in xy_of(record).round().astype(int):  # a disc (faded: a ring) is drawn on every keypoint
        assert changed[y - 3 : y + 4, x - 3 : x + 4].any()
    assert (np.abs(drawn - photo).sum(-1) > 0).mean() < 0.5  # ... and the photo is still there
    assert np.abs(drawn[236, 100] - photo[236, 100]).sum() > 30  # the ROI box's bottom edge
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pose.png"]  # no temporary file left


def test_overlay_of_several_images_is_a_sheet_or_a_directory(movepose_pte, movepose_photos, tmp_path):
    paths = movepose_photos[0]
    sheet = tmp_path / "sheet.png"
    assert invoke(movepose_pte["dir"], *paths, "--overlay", sheet).exit_code == 0
    width, height = Image.open(sheet).size
    assert width >= 2 * SIZE and height >= SIZE  # two panels side by side, captions below
    for out in (tmp_path / "new" / "dir/", tmp_path):  # a path ending in '/', an existing directory
        result = invoke(movepose_pte["dir"], *paths, "--overlay", str(out) + ("/" if out != tmp_path else ""))
        assert result.exit_code == 0, result.output
        for path in paths:
            drawn = Image.open(Path(out) / f"{path.stem}-pose.png")
            assert drawn.format == "PNG" and drawn.size == (SIZE, SIZE)


def test_random_weights_are_flagged_everywhere(tiny_build, tmp_path):
    photo = tmp_path / "photo.png"
    pixels = np.random.default_rng(2).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(photo)
    assert predict_json(tiny_build, photo)[0]["random_weights"] is True
    result = invoke(tiny_build, photo, "--overlay", tmp_path / "pose.png")
    assert result.exit_code == 0 and "RANDOM WEIGHTS" in result.stdout
    drawn = np.asarray(Image.open(tmp_path / "pose.png").convert("RGB")).astype(int)
    band = drawn[:8].reshape(-1, 3)  # the banner across the top
    assert ((band[:, 0] > 150) & (band[:, 1] < 90) & (band[:, 2] < 90)).mean() > 0.5
    assert not ((pixels[:8, :, 0] > 150) & (pixels[:8, :, 1] < 90)).mean() > 0.5


def test_3d_model_gets_a_3d_view(mobilehumanpose_pte, mhp_photos, tmp_path):
    path = mhp_photos[0][0]
    record = predict_json(mobilehumanpose_pte["pte"], path)[0]
    assert all(isinstance(k["z"], float) for k in record["keypoints"]) and len(record["keypoints"]) == 18
    out = tmp_path / "pose3d.png"
    result = invoke(mobilehumanpose_pte["pte"], path, "--overlay", out)
    assert result.exit_code == 0 and "z (bins)" in result.stdout
    drawn = Image.open(out)
    assert drawn.width >= 2 * SIZE and drawn.height >= SIZE  # the picture and a 3-D panel beside it
    panel = np.asarray(drawn.convert("RGB"))[:, SIZE:]
    assert len(np.unique(panel.reshape(-1, 3), axis=0)) > 50  # axes, joints, limbs: not a blank panel


# ---- errors ----------------------------------------------------------------------------------------------


def _error_cases(tmp: Path, build: Path, photo: Path) -> list[tuple[str, list, str]]:
    def write(name: str, data: bytes) -> Path:
        (tmp / name).write_bytes(data)
        return tmp / name

    jpeg = tmp / "whole.jpg"
    Image.open(photo).save(jpeg, quality=90)
    (tmp / "empty-dir").mkdir()
    return [
        ("missing image", [build, tmp / "nope.jpg"], "nope.jpg: no such image"),
        ("image is a directory", [build, tmp / "empty-dir"], "is a directory, not an image"),
        ("text as jpg", [build, write("notes.jpg", b"hello, not a picture\n")], "not an image"),
        ("truncated jpeg", [build, write("cut.jpg", jpeg.read_bytes()[:2000])], "not a readable image"),
        ("truncated png", [build, write("cut.png", photo.read_bytes()[:3000])], "not a readable image"),
        ("onnx file", [write("model.onnx", b"onnx"), photo], "not a model file"),
        ("random pte", [write("random.pte", os.urandom(4096)), photo], "not an ExecuTorch program"),
        ("missing model", [tmp / "gone", photo], "no such build directory or model file"),
        ("dir without manifest", [tmp / "empty-dir", photo], "not a mobilesdk build directory"),
        ("unknown recipe", [build, photo, "--recipe", "litert-int8"], "no artifact for recipe 'litert-int8'"),
        ("roi outside", [build, photo, "--roi", "300,300,400,400"], "lies outside"),
        ("roi empty", [build, photo, "--roi", "50,50,50,80"], "positive size"),
        ("roi inverted", [build, photo, "--roi", "60,10,20,80"], "positive size"),
        ("roi three numbers", [build, photo, "--roi", "1,2,3"], "expected left,top,right,bottom"),
        ("roi words", [build, photo, "--roi", "a,b,c,d"], "expected left,top,right,bottom"),
        ("overlay not png", [build, photo, "--overlay-as", "pose.jpg"], "name it .png"),
        ("overlay dir missing", [build, photo, "--overlay-as", "no/such/pose.png"], "no such directory"),
        ("bad second image", [build, photo, write("bad.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64)], "bad.png"),
    ]


def test_every_error_is_one_line_and_writes_nothing(movepose_pte, movepose_photos, tmp_path):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    cases = _error_cases(inputs, movepose_pte["dir"], movepose_photos[0][0])
    for name, args, needle in cases:
        args = [str(a) for a in args]
        if "--overlay-as" in args:
            at = args.index("--overlay-as")
            args[at : at + 2] = ["--overlay", str(out_dir / args[at + 1])]
        else:
            args += ["--overlay", str(out_dir / "pose.png")]
        result = invoke(*args)
        errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
        assert result.exit_code != 0 and len(errors) == 1, f"{name}: {result.output}"
        assert isinstance(result.exception, SystemExit), f"{name}: {result.exception!r}"  # no traceback
        assert needle in errors[0], f"{name}: {errors[0]}"
        assert not any(out_dir.rglob("*")), f"{name}: wrote {list(out_dir.rglob('*'))}"


def test_native_engine_without_a_compiler_is_one_line(movepose_pte, movepose_photos, tmp_path):
    exe = Path(sys.executable).with_name("mobilesdk")
    env = {**os.environ, "PATH": str(tmp_path)}  # an empty directory: no cmake, no compiler
    args = [movepose_pte["dir"], movepose_photos[0][0], "--recipe", "xnnpack-fp32", "--engine", "native"]
    args += ["--native-cache", tmp_path / "cache", "--overlay", tmp_path / "pose.png"]
    proc = subprocess.run(
        [str(exe), "predict", *map(str, args)], capture_output=True, text=True, env=env, timeout=300
    )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1 and "cmake not found" in lines[0], proc.stderr
    assert not (tmp_path / "pose.png").exists()
