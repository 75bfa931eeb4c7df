"""Shared test vectors: inputs and expected results computed by the Python reference, for C++ and Kotlin.

``write_vectors(out_dir)`` writes ``out_dir/index.json`` plus one raw little-endian file per array. The C++
core (GoogleTest) and the Kotlin runtime (JUnit) read the same directory and must reproduce every ``expected``
array: preprocessing within 1e-4 (float32) / +-1 (uint8), keypoints within 1e-3 px, other figures within 1e-6
relative unless a case sets ``"atol"``.

``index.json``::

    {"version": 1, "generator": "mobilesdk.vectors", "cases": [CASE, ...]}

An array reference is ``{"file": "p003/expected.bin", "dtype": "float32"|"float64"|"uint8"|"int64",
"shape": [...]}`` (row-major). Case kinds:

``preprocess``
    ``frame``: {format (rgb|rgba|bgra|nv21|yuv420), width, height, planes: [{data: ARRAY, row_stride,
    pixel_stride}]}, ``rotation`` (0/90/180/270), ``roi`` ([left, top, right, bottom] or null), ``input``:
    the manifest input entry (size, layout, dtype, color, mean, std, resize, roi_padding), ``expected``:
    ARRAY (1, ...) in the entry's layout and dtype, ``affine``: [a00, a01, a02, a10, a11, a12] (upright
    frame px -> model-input px).
``decode``
    ``codec``: {name, params} or {name, params, visibility: {a, b}} (without it: the codec's default
    calibration, :mod:`mobilesdk.codecs.visibility`), ``input_size``, ``num_keypoints``, ``outputs``: {name:
    ARRAY (N, ...) float32}, ``affine`` (maps model-input px to the frame through its inverse), ``expected``:
    {xy: ARRAY (N, K, 2), scores: (N, K), visibility: (N, K), z: (N, K) or null, frame_xy: (N, K, 2)} in
    float64; visibility within 1e-5.
``flip_merge``
    ``codec``, ``input_size``, ``num_keypoints``, ``outputs``, ``flipped_outputs``, ``flip_pairs``,
    ``expected``: {name: ARRAY float32}.
``oks`` / ``oks_iou_matrix`` / ``oks_nms`` / ``matrix_oks_nms`` / ``rescore``
    the arguments of the function of the same name in :mod:`mobilesdk.codecs` (``args``: ARRAYs and numbers;
    sigmas are COCO's unless given) and its ``expected`` result(s).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from mobilesdk import preprocess as pp
from mobilesdk.cards import InputSpec, Size

VERSION = 1
COCO_FLIP_PAIRS = [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12], [13, 14], [15, 16]]
MEAN = (123.675, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)


class _Writer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.cases: list[dict[str, Any]] = []

    def array(self, case: str, name: str, value: np.ndarray, dtype: str) -> dict[str, Any]:
        arr = np.ascontiguousarray(np.asarray(value).astype(dtype).astype(np.dtype(dtype).newbyteorder("<")))
        rel = f"{case}/{name}.bin"
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(arr.tobytes())
        return {"file": rel, "dtype": dtype, "shape": list(arr.shape)}

    def add(self, case: dict[str, Any]) -> None:
        self.cases.append(case)


def _test_image(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """(H, W, 3) uint8 with gradients, edges and noise: every bilinear weight and colour channel matters."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    img = np.stack([xx * 255 / max(width - 1, 1), yy * 255 / max(height - 1, 1), (xx + yy) % 32 * 8], -1)
    img[height // 3 : height // 2, width // 4 : width // 2] = (250, 10, 120)
    img += rng.normal(0, 12, size=img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _frame(rgb: np.ndarray, fmt: str, variant: int) -> pp.Frame:
    """``rgb`` as a frame of ``fmt``; ``variant`` picks row padding / chroma layout so strides are exercised."""
    h, w, _ = rgb.shape
    pad = (0, 7, 16)[variant % 3]
    if fmt in ("rgb", "rgba", "bgra"):
        if fmt == "rgb":
            pixels = rgb
        else:
            alpha = np.full((h, w, 1), 255 - variant, np.uint8)
            pixels = np.concatenate([rgb, alpha] if fmt == "rgba" else [rgb[..., ::-1], alpha], axis=-1)
        bpp = pixels.shape[-1]
        stride = w * bpp + pad
        buf = np.zeros(h * stride - pad, np.uint8)  # the last row is not padded (as Android buffers)
        for r in range(h):
            buf[r * stride : r * stride + w * bpp] = pixels[r].reshape(-1)
        return pp.Frame(fmt, w, h, (pp.Plane(buf, stride, bpp),))
    return pp.rgb_to_yuv_frame(rgb, fmt, row_padding=pad, pixel_stride=1 + variant % 2)


def _frame_doc(w: _Writer, case: str, frame: pp.Frame) -> dict[str, Any]:
    planes = [
        {
            "data": w.array(case, f"plane{i}", p.data, "uint8"),
            "row_stride": p.row_stride,
            "pixel_stride": p.pixel_stride,
        }
        for i, p in enumerate(frame.planes)
    ]
    return {"format": frame.format, "width": frame.width, "height": frame.height, "planes": planes}


def input_entry(spec: InputSpec, layout: str, dtype: str) -> dict[str, Any]:
    """The manifest's ``input`` entry for ``spec`` (the fields the preprocessing reads)."""
    w, h = spec.size.width, spec.size.height
    return {
        "name": "image",
        "shape": [1, h, w, 3] if layout == "NHWC" else [1, 3, h, w],
        "layout": layout,
        "dtype": dtype,
        "color": spec.color,
        "mean": list(spec.mean),
        "std": list(spec.std),
        "normalization": "in-graph" if dtype == "uint8" else "app",
        "size": spec.size.as_dict(),
        "resize": spec.resize,
        "roi_padding": spec.roi_padding,
    }


def _preprocess_cases(w: _Writer, rng: np.random.Generator) -> None:
    base = InputSpec(Size(24, 32), "rgb", MEAN, STD, "affine")
    images = {(40, 30): _test_image(rng, 40, 30), (36, 48): _test_image(rng, 36, 48)}
    outputs = [("NCHW", "float32"), ("NHWC", "uint8"), ("NHWC", "float32")]
    modes = ["affine", "letterbox", "stretch"]
    n = 0
    for fi, fmt in enumerate(pp.FORMATS):
        for rotation in pp.ROTATIONS:
            for ri, roi_kind in enumerate(("none", "inside", "partial")):
                size = list(images)[(fi + ri) % 2]
                rgb = images[size]
                frame = _frame(rgb, fmt, n)
                up_w, up_h = pp.upright_size(frame, rotation)
                roi = {
                    "none": None,
                    "inside": [up_w * 0.2, up_h * 0.15, up_w * 0.7, up_h * 0.8],
                    "partial": [-up_w * 0.25, up_h * 0.4, up_w * 0.45, up_h * 1.3],
                }[roi_kind]
                layout, dtype = outputs[n % 3]
                spec = replace(base, resize=modes[(n // 3) % 3], color="bgr" if n % 7 == 3 else "rgb")
                if n % 5 == 4:
                    spec = replace(spec, size=Size(32, 32), roi_padding=1.5)
                expected, matrix = pp.preprocess(
                    frame, spec, layout=layout, dtype=dtype, roi=roi, rotation=rotation
                )
                case = f"pre{n:03d}"
                w.add(
                    {
                        "kind": "preprocess",
                        "name": f"{case}-{fmt}-rot{rotation}-{roi_kind}-{spec.resize}-{layout}-{dtype}",
                        "frame": _frame_doc(w, case, frame),
                        "rotation": rotation,
                        "roi": roi,
                        "input": input_entry(spec, layout, dtype),
                        "expected": w.array(case, "expected", expected, dtype),
                        "affine": matrix.reshape(-1).tolist(),
                    }
                )
                n += 1


# ---- decoders ------------------------------------------------------------------------------------------

_CROP_AFFINE = [0.5, 0.0, 3.25, 0.0, 0.5, -7.5]  # model input = 0.5 * frame + shift; inverse maps back


def _decode_case(
    w: _Writer, name: str, codec, outputs: Mapping[str, np.ndarray], explicit_visibility: bool = False
) -> None:
    """``explicit_visibility``: the case's codec section carries ``codec.visibility`` (else the default)."""
    kps = codec.decode(outputs)
    matrix = np.asarray(_CROP_AFFINE).reshape(2, 3)
    case = f"dec-{name}"
    codec_doc = {"name": codec.name, "params": codec.params()}
    if explicit_visibility:
        codec_doc["visibility"] = dict(codec.visibility)
    w.add(
        {
            "kind": "decode",
            "name": case,
            "codec": codec_doc,
            "input_size": dict(codec.input_size),
            "num_keypoints": codec.num_keypoints,
            "outputs": {k: w.array(case, k, v, "float32") for k, v in outputs.items()},
            "affine": _CROP_AFFINE,
            "expected": {
                "xy": w.array(case, "xy", kps.xy, "float64"),
                "scores": w.array(case, "scores", kps.scores, "float64"),
                "visibility": w.array(case, "visibility", kps.visibility, "float64"),
                "z": None if kps.z is None else w.array(case, "z", kps.z, "float64"),
                "frame_xy": w.array(case, "frame_xy", pp.keypoints_to_frame(kps.xy, matrix), "float64"),
            },
        }
    )


def _flip_case(w: _Writer, name: str, codec, outputs, flipped, pairs) -> None:
    merged = codec.flip_merge(outputs, flipped, pairs)
    case = f"flip-{name}"
    w.add(
        {
            "kind": "flip_merge",
            "name": case,
            "codec": {"name": codec.name, "params": codec.params()},
            "input_size": dict(codec.input_size),
            "num_keypoints": codec.num_keypoints,
            "outputs": {k: w.array(case, k, v, "float32") for k, v in outputs.items()},
            "flipped_outputs": {k: w.array(case, f"flipped_{k}", v, "float32") for k, v in flipped.items()},
            "flip_pairs": pairs,
            "expected": {k: w.array(case, f"merged_{k}", v, "float32") for k, v in merged.items()},
        }
    )


def _noisy(
    codec, rng: np.random.Generator, n: int, noise: float, scale: float = 1.0
) -> dict[str, np.ndarray]:
    """Encoded targets of random keypoints (some near the borders), plus noise: peaked but imperfect outputs."""
    size = codec.input_size
    kp = rng.uniform([0, 0], [size["width"], size["height"]], size=(n, codec.num_keypoints, 2))
    kp[0, :3] = [[0.2, 0.1], [size["width"] - 0.6, size["height"] - 1.4], [1.0, size["height"] / 2]]
    targets = codec.encode(kp)
    return {k: (v * scale + rng.normal(0, noise, v.shape)).astype(np.float32) for k, v in targets.items()}


def _decoder_cases(w: _Writer, rng: np.random.Generator) -> None:
    from mobilesdk.codecs import build_codec

    simcc_variants = {
        "simcc-k2": ({"width": 24, "height": 32}, {"split_ratio": 2.0}),
        "simcc-k1.5-raw": ({"width": 24, "height": 32}, {"split_ratio": 1.5, "normalize": False}),
        "simcc-frac": (
            {"width": 25, "height": 31},
            {"split_ratio": 1.5, "flip_average": "logits", "flip_shift": True},
        ),
    }
    for name, (size, params) in simcc_variants.items():
        codec = build_codec("simcc", size, 17, params)
        outs = _noisy(codec, rng, 3, 0.05, scale=8.0)
        outs["simcc_x"][1, 4] = 0.5  # an all-equal row: first maximum wins (bin 0)
        _decode_case(w, name, codec, outs)
        _flip_case(w, name, codec, outs, _noisy(codec, rng, 3, 0.05, scale=8.0), COCO_FLIP_PAIRS)
    frac = build_codec("simcc", {"width": 25, "height": 31}, 17, {"split_ratio": 1.5})
    ceil_outs = {  # MMPose SimCCLabel counts: ceil(25 * 1.5) = 38 x bins, ceil(31 * 1.5) = 47 y bins
        "simcc_x": rng.normal(0, 2, (2, 17, 38)).astype(np.float32),
        "simcc_y": rng.normal(0, 2, (2, 17, 47)).astype(np.float32),
    }
    _decode_case(w, "simcc-ceil-bins", frac, ceil_outs)
    calibrated = build_codec("simcc", {"width": 24, "height": 32}, 17, visibility={"a": 2.5, "b": 7.0})
    _decode_case(w, "simcc-visibility", calibrated, _noisy(calibrated, rng, 2, 0.5, scale=4.0), True)

    hm_size = {"width": 12, "height": 16}
    for refine, blur in (("dark", 11), ("dark", 9), ("dark", 5), ("quarter-offset", 11), ("none", 11)):
        params = {"heatmap_size": hm_size, "refine": refine, "blur_kernel": blur, "sigma": 1.5}
        codec = build_codec("heatmap", {"width": 48, "height": 64}, 17, params)
        outs = _noisy(codec, rng, 3, 0.02)
        outs["heatmaps"][1, 2] = -0.3 - rng.uniform(0, 0.1, (16, 12))  # negative peak: location zeroed
        outs["heatmaps"][2, 5] = 0.0  # all-zero map
        name = f"heatmap-{refine}-{blur}"
        _decode_case(w, name, codec, outs)
        if refine == "none":
            explicit = build_codec(
                "heatmap", {"width": 48, "height": 64}, 17, params, visibility={"a": 1.5, "b": 0.25}
            )
            _decode_case(w, "heatmap-visibility", explicit, outs, True)
        if blur == 11:
            codec_ns = build_codec(
                "heatmap", {"width": 48, "height": 64}, 17, {**params, "shift_flip": refine != "none"}
            )
            _flip_case(w, name, codec_ns, outs, _noisy(codec, rng, 3, 0.02), COCO_FLIP_PAIRS)

    codec = build_codec(
        "integral-3d",
        {"width": 32, "height": 32},
        18,
        {"depth_bins": 6, "heatmap_size": {"width": 8, "height": 8}},
    )
    encoded = _noisy(codec, rng, 2, 0.3)
    _decode_case(w, "integral3d-encoded", codec, encoded)
    wild = {"volumetric": rng.normal(0, 6, (2, 18 * 6, 8, 8)).astype(np.float32)}
    _decode_case(w, "integral3d-random", codec, wild)
    vis3d = build_codec(
        "integral-3d",
        {"width": 32, "height": 32},
        18,
        {"depth_bins": 6, "heatmap_size": {"width": 8, "height": 8}},
        visibility={"a": 0.75, "b": -1.5},
    )
    _decode_case(w, "integral3d-visibility", vis3d, encoded, True)
    h36m_pairs = [[1, 4], [2, 5], [3, 6], [11, 14], [12, 15], [13, 16]]
    _flip_case(w, "integral3d", codec, encoded, wild, h36m_pairs)


def _oks_cases(w: _Writer, rng: np.random.Generator) -> None:
    from mobilesdk.codecs import nms, oks

    def arr(case: str, name: str, value, dtype: str = "float64") -> dict[str, Any]:
        return w.array(case, name, value, dtype)

    gt = rng.uniform(0, 100, (17, 2))
    vis = (rng.uniform(size=17) > 0.3).astype(np.int64) * 2
    preds = gt + rng.normal(0, 4, (5, 17, 2))
    box = [10.0, 20.0, 40.0, 60.0]
    for name, v in (("oks-labelled", vis), ("oks-unlabelled", np.zeros(17, np.int64))):
        result = oks.oks(gt, v, 1500.0, preds, gt_box=box)
        w.add(
            {
                "kind": "oks",
                "name": name,
                "args": {
                    "gt_xy": arr(name, "gt", gt),
                    "gt_visible": arr(name, "vis", v, "int64"),
                    "gt_area": 1500.0,
                    "pred_xy": arr(name, "pred", preds),
                    "gt_box": box,
                },
                "expected": arr(name, "expected", result),
            }
        )
    base = rng.uniform(0, 200, (17, 2))
    kpts = np.concatenate([base + rng.normal(0, s, (3, 17, 2)) for s in (1.0, 8.0, 40.0)])
    kpts = np.concatenate([kpts, kpts[:1]])  # an exact duplicate of instance 0
    scores = rng.uniform(0.2, 1.0, kpts.shape[0])
    scores[4] = scores[7]  # a tie: stable order (input order) decides
    areas = rng.uniform(2000, 9000, kpts.shape[0])
    name = "oks-iou-matrix"
    w.add(
        {
            "kind": "oks_iou_matrix",
            "name": name,
            "args": {"kpts": arr(name, "kpts", kpts), "areas": arr(name, "areas", areas)},
            "expected": arr(name, "expected", oks.oks_iou_matrix(kpts, areas)),
        }
    )
    for thr in (0.3, 0.9):
        name = f"oks-nms-{thr}"
        keep = nms.oks_nms(kpts, scores, areas, thr=thr)
        w.add(
            {
                "kind": "oks_nms",
                "name": name,
                "args": {
                    "kpts": arr(name, "kpts", kpts),
                    "scores": arr(name, "scores", scores),
                    "areas": arr(name, "areas", areas),
                    "thr": thr,
                },
                "expected": arr(name, "keep", keep, "int64"),
            }
        )
    for kernel, sigma in (("gaussian", 2.0), ("linear", 2.0)):
        name = f"matrix-nms-{kernel}"
        keep, decayed = nms.matrix_oks_nms(
            kpts, scores, areas, kernel=kernel, sigma=sigma, score_thr=0.05, max_det=5
        )
        w.add(
            {
                "kind": "matrix_oks_nms",
                "name": name,
                "args": {
                    "kpts": arr(name, "kpts", kpts),
                    "scores": arr(name, "scores", scores),
                    "areas": arr(name, "areas", areas),
                    "kernel": kernel,
                    "sigma": sigma,
                    "score_thr": 0.05,
                    "max_det": 5,
                },
                "expected": {
                    "keep": arr(name, "keep", keep, "int64"),
                    "decayed": arr(name, "decayed", decayed),
                },
            }
        )
    kpt_scores = rng.uniform(0, 1, (6, 17))
    kpt_scores[2] = 0.1  # none above the threshold -> 0
    box_scores = rng.uniform(0.5, 1, 6)
    name = "rescore"
    w.add(
        {
            "kind": "rescore",
            "name": name,
            "args": {
                "kpt_scores": arr(name, "kpt", kpt_scores),
                "box_scores": arr(name, "box", box_scores),
                "in_vis_thre": 0.2,
            },
            "expected": arr(name, "expected", nms.rescore(kpt_scores, box_scores, 0.2)),
        }
    )


def write_vectors(out_dir: Path, seed: int = 2026) -> Path:
    """Write every case into ``out_dir`` (created); returns the path of ``index.json``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    writer = _Writer(out_dir)
    rng = np.random.default_rng(seed)
    _preprocess_cases(writer, rng)
    _decoder_cases(writer, rng)
    _oks_cases(writer, rng)
    index = out_dir / "index.json"
    doc = {"version": VERSION, "generator": "mobilesdk.vectors", "cases": writer.cases}
    index.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return index


if __name__ == "__main__":  # python -m mobilesdk.vectors OUT_DIR
    import sys

    print(write_vectors(Path(sys.argv[1] if len(sys.argv) > 1 else "vectors")))
