"""Fixtures of the JVM tests of the Kotlin runtime (android_template/runtime): the end-to-end fixture folder
(the built movepose-xs-128 .pte with trained fixture weights — the ``movepose_pte`` fixture of
tests/conftest.py, shared with tests/native — test frames, the Python-path keypoints, one frame's model input
and raw model outputs, a video of a moving synthetic figure) and the host JNI library."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mobilesdk import preprocess as pp
from mobilesdk import synthetic
from mobilesdk.cards import load_card


def _python_keypoints(session, codec, spec, frame: pp.Frame, rotation: int, roi) -> dict:
    """The Python path: preprocess -> ExecuTorch (host runtime) -> codec decode -> map to the frame."""
    x, matrix = pp.preprocess(frame, spec, layout="NCHW", dtype="float32", roi=roi, rotation=rotation)
    outs = session.run([x])
    kps = codec.decode(dict(zip(codec.output_names, outs, strict=True)))
    xy = pp.keypoints_to_frame(kps.xy[0], matrix)
    return {"xy": xy.tolist(), "scores": kps.scores[0].astype(float).tolist()}


def _write(folder: Path, name: str, data: np.ndarray) -> str:
    (folder / name).write_bytes(np.ascontiguousarray(data, dtype=np.uint8).tobytes())
    return name


def _write_f32(folder: Path, name: str, data: np.ndarray) -> str:
    """Little-endian float32, flattened in C order (how the Kotlin tests read model tensors)."""
    (folder / name).write_bytes(np.ascontiguousarray(data, dtype="<f4").tobytes())
    return name


def _noise(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """The synthetic figures' background: uniform noise in [40, 100)."""
    return (rng.integers(0, 60, size=(h, w, 3)) + 40).astype(np.uint8)


def _paste(rng, figure: np.ndarray, size: int, ox: int, oy: int) -> np.ndarray:
    frame = _noise(rng, size, size)
    frame[oy : oy + figure.shape[0], ox : ox + figure.shape[1]] = figure
    return frame


def write_fixture(folder: Path, card_path: Path, build_dir: Path, manifest: dict, entry: dict) -> Path:
    """fixture.json + raw frames for EndToEndTest.kt; returns fixture.json."""
    from mobilesdk.codecs import codec_for
    from mobilesdk.runtimes import get_runtime

    card = load_card(card_path)
    codec = codec_for(card)
    spec = card.input
    rng = np.random.default_rng(7)
    skeleton = card.keypoints.skeleton
    images, points = synthetic.make_samples(1, card.num_keypoints, 128, 128, skeleton, seed=123)
    fig_pts = synthetic.random_keypoints(rng, card.num_keypoints, 128, 128)
    figure = synthetic.render(fig_pts, 128, 128, skeleton, rng)
    frame224 = _paste(rng, figure, 224, 40, 52)
    pts224 = fig_pts + [40, 52]
    lo, hi = pts224.min(0), pts224.max(0)
    c, half = (lo + hi) / 2, (hi - lo) * 0.6
    roi = [float(c[0] - half[0]), float(c[1] - half[1]), float(c[0] + half[0]), float(c[1] + half[1])]

    cases = []
    with get_runtime("executorch").open(build_dir / entry["file"]) as session:

        def add(name: str, kind: str, frame: pp.Frame, rotation: int, roi_, files: dict) -> None:
            expected = _python_keypoints(session, codec, spec, frame, rotation, roi_)
            cases.append(
                {
                    "name": name,
                    "kind": kind,
                    "width": frame.width,
                    "height": frame.height,
                    "rotation": rotation,
                    "roi": roi_,
                    **files,
                    "expected": expected,
                }
            )

        img = images[0]
        add("fig128", "bitmap", pp.Frame.from_array(img), 0, None, {"rgb": _write(folder, "fig128.rgb", img)})
        add(
            "frame224-roi",
            "bitmap",
            pp.Frame.from_array(frame224),
            0,
            roi,
            {"rgb": _write(folder, "frame224.rgb", frame224)},
        )
        stored = np.ascontiguousarray(np.rot90(frame224[:, 8:216], k=1))  # 208 wide upright, stored rotated
        add(
            "frame224-rot90",
            "bitmap",
            pp.Frame.from_array(stored),
            90,
            None,
            {"rgb": _write(folder, "rot90.rgb", stored)},
        )
        stored270 = np.ascontiguousarray(np.rot90(frame224, k=-1))
        nv21 = pp.rgb_to_yuv_frame(stored270, "nv21")
        add(
            "nv21-rot270-roi",
            "nv21",
            nv21,
            270,
            roi,
            {"nv21": _write(folder, "frame.nv21", np.concatenate([p.data for p in nv21.planes]))},
        )
        yuv = pp.rgb_to_yuv_frame(frame224, "yuv420", row_padding=16, pixel_stride=2)
        planes = [
            {
                "file": _write(folder, f"yuv.p{i}", p.data),
                "row_stride": p.row_stride,
                "pixel_stride": p.pixel_stride,
            }
            for i, p in enumerate(yuv.planes)
        ]
        add("yuv420-strided", "yuv420", yuv, 0, None, {"planes": planes})

        # One bitmap case taken apart (TFLite-style processing without an Interpreter, EndToEndTest): the
        # model input of the Python path and the program's raw outputs for it, with the Python keypoints.
        rot_roi = [30.0, 20.0, 200.0, 210.0]  # in the upright 224 x 224 frame
        stored90 = np.ascontiguousarray(np.rot90(frame224, k=1))
        frame = pp.Frame.from_array(stored90)
        x, matrix = pp.preprocess(frame, spec, layout="NCHW", dtype="float32", roi=rot_roi, rotation=90)
        outs = session.run([x])
        kps = codec.decode(dict(zip(codec.output_names, outs, strict=True)))
        processing = {
            "rgb": _write(folder, "stored90.rgb", stored90),
            "width": frame.width,
            "height": frame.height,
            "rotation": 90,
            "roi": rot_roi,
            "input": _write_f32(folder, "processing.input.f32", x),
            "outputs": [_write_f32(folder, f"processing.output{i}.f32", o) for i, o in enumerate(outs)],
            "expected": {
                "xy": pp.keypoints_to_frame(kps.xy[0], matrix).tolist(),
                "scores": kps.scores[0].astype(float).tolist(),
            },
        }

    # Video: a figure of 176 px moves across 224 x 224 noise frames, vanishes for one frame, reappears
    # elsewhere. The whole-frame search (first frame, and after the loss) shows the model the figure at ~80 %
    # of its input, as in its training (figures filling the image), so re-acquisition does not hinge on how one
    # set of fixture weights copes with a figure half the size it was trained on (it varies between trainings).
    big_pts = synthetic.random_keypoints(rng, card.num_keypoints, 176, 176)
    big = synthetic.render(big_pts, 176, 176, skeleton, rng)
    video = []
    path = [(2 + 5 * t, 4 + 3 * t) for t in range(8)] + [None] + [(46 - 6 * t, 44 - 5 * t) for t in range(6)]
    for t, at in enumerate(path):
        if at is None:
            frame, truth = _noise(rng, 224, 224), None
        else:
            frame, truth = _paste(rng, big, 224, *at), (big_pts + at).tolist()
        video.append({"rgb": _write(folder, f"video{t:02d}.rgb", frame), "truth": truth})

    doc = {
        "manifest": str(build_dir / "manifest.json"),
        "recipe": entry["recipe"],
        "pte": str(build_dir / entry["file"]),
        "cases": cases,
        "processing": processing,
        "video": {"width": 224, "height": 224, "frames": video},
    }
    out = folder / "fixture.json"
    out.write_text(json.dumps(doc, indent=1))
    return out


@pytest.fixture(scope="session")
def jvm_fixture(movepose_pte, tmp_path_factory) -> Path:
    """The end-to-end fixture folder (fixture.json + frames) for the JVM tests, around the shared build."""
    folder = tmp_path_factory.mktemp("jvm-fixture")
    write_fixture(
        folder, movepose_pte["card"], movepose_pte["dir"], movepose_pte["manifest"], movepose_pte["artifact"]
    )
    return folder
