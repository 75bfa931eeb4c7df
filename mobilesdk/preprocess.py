"""Reference preprocessing: a camera frame or an image -> the model input, defined exactly.

This module is the one definition that the C++ core (``android_template/native``) and the Kotlin runtime
(``android_template/runtime``) are tested against, through the shared vectors of :mod:`mobilesdk.vectors`.
Every choice is written here; nothing is left to an imaging library (PIL is only a cross-check in the tests).
Verification and int8 calibration use it too, so a model is measured on exactly what the phone feeds it.

Pipeline, for a frame of ``width`` x ``height`` pixels as stored, a clockwise ``rotation`` (0/90/180/270) that
makes it upright, an optional region of interest ``roi`` and the card's input spec::

    1. frame -> RGB      per stored pixel, float64 in [0, 255]            (frame_to_rgb)
    2. rotate            clockwise by ``rotation``; the ROI, the crop and the keypoints live in this
                         upright frame (what the app displays)            (rotate)
    3. crop matrix A     2x3, upright-frame pixels -> model-input pixels  (crop_matrix)
    4. warp              out[v, u] = bilinear(upright, A^-1 (u, v))       (warp_bilinear)
    5. colour order      the card's ``color`` (rgb | bgr)
    6. output            float32 ``(value - mean) / std`` or uint8 ``floor(value + 0.5)``; NCHW or NHWC

Coordinates use the *index* convention of ``cv2.warpAffine`` and of the top-down pipelines pose models are
trained with (MMPose ``TopdownAffine``, HRNet, rtmlib): pixel (row i, column j) is the point (x=j, y=i), and a
matrix maps points to points. The decoders (:mod:`mobilesdk.codecs`) return keypoints in the same convention,
so ``A^-1`` maps them back to the upright frame exactly (:func:`keypoints_to_frame`).

Frame formats (``Frame.format``), all 8 bits per sample, rows ``row_stride`` bytes apart:

* ``rgb``, ``rgba``, ``bgra``: one plane, 3 or 4 bytes per pixel in that byte order. Android's
  ``Bitmap.getPixels`` ints (0xAARRGGBB) are ``bgra`` in memory on every (little-endian) Android ABI.
* ``nv21``: plane 0 is Y (one byte per pixel); plane 1 holds interleaved V, U for each 2x2 block
  (``V = p1[(y//2) * row_stride + 2 * (x//2)]``, ``U`` the next byte). Width and height must be even.
* ``yuv420`` (Android ``YUV_420_888``): planes Y, U, V, each with its own row stride and pixel stride:
  ``Y = p0[y * rs0 + x * ps0]``, ``U = p1[(y//2) * rs1 + (x//2) * ps1]``, ``V`` likewise in p2. Even sizes.

YUV -> RGB is JFIF (full-range BT.601, what Android cameras produce)::

    R = Y + 1.402 (V - 128)      G = Y - 0.344136 (U - 128) - 0.714136 (V - 128)      B = Y + 1.772 (U - 128)

each clamped to [0, 255] and not rounded; chroma is sampled nearest (each 2x2 block shares its U, V).

Crop matrix (``resize`` of the card; ``roi`` = (left, top, right, bottom) in upright-frame pixels, default the
whole frame (0, 0, W, H)); W_in x H_in is the model input and a = W_in / H_in:

* ``affine`` (top-down crop, MMPose ``get_warp_matrix`` without rotation): centre c = ((l + r)/2, (t + b)/2);
  the box w x h is grown on its short side to the aspect a (never squashed), then, for an ROI only, scaled by
  ``roi_padding`` (MMPose/HRNet: 1.25); s = W_in / w; ``A = [[s, 0, W_in/2 - s cx], [0, s, H_in/2 - s cy]]``.
* ``letterbox``: the same without ``roi_padding``: the box, padded to the aspect, fills the input, centred.
* ``stretch``: each axis scaled on its own with pixel centres aligned (``cv2.resize`` / TF
  ``half_pixel_centers``): ``u = (x - l + 0.5) W_in / w - 0.5``, likewise v.

An ROI must be finite, have r > l and b > t, and overlap the frame; anything else is an error.

Warp (step 4): the source point (x, y) = A^-1 (u, v) is computed in float64 (a 1920-px frame needs it: float32
puts 1e-4 px of error on the bilinear weights); x0 = floor(x), fx = x - x0 (likewise y), and the value is
``(1-fy)((1-fx) p[y0][x0] + fx p[y0][x0+1]) + fy((1-fx) p[y0+1][x0] + fx p[y0+1][x0+1])`` where a tap outside
the frame is 0 (black), as ``cv2.warpAffine`` with ``BORDER_CONSTANT``. No antialiasing when downscaling: the
models are trained on exactly this warp (MMPose and rtmlib crop with ``cv2.warpAffine(INTER_LINEAR)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mobilesdk.cards import InputSpec
from mobilesdk.errors import MobileSDKError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
FORMATS = ("rgb", "rgba", "bgra", "nv21", "yuv420")
ROTATIONS = (0, 90, 180, 270)
_BYTES_PER_PIXEL = {"rgb": 3, "rgba": 4, "bgra": 4}
_PLANES = {"rgb": 1, "rgba": 1, "bgra": 1, "nv21": 2, "yuv420": 3}
# JFIF (full-range BT.601) YUV -> RGB.
YUV_TO_RGB = ((1.0, 0.0, 1.402), (1.0, -0.344136, -0.714136), (1.0, 1.772, 0.0))


class PreprocessError(MobileSDKError):
    """A frame, ROI or rotation that cannot be preprocessed (bad sizes, strides, buffer lengths)."""


@dataclass(frozen=True)
class Plane:
    """One image plane: ``data`` 1-D uint8 bytes, rows ``row_stride`` bytes apart, pixels ``pixel_stride``."""

    data: np.ndarray
    row_stride: int
    pixel_stride: int


@dataclass(frozen=True)
class Frame:
    """A camera frame or image as stored (before rotation); see the module docstring for the formats."""

    format: str
    width: int
    height: int
    planes: tuple[Plane, ...]

    @staticmethod
    def from_array(image: np.ndarray, fmt: str = "rgb") -> Frame:
        """A tightly packed (H, W, 3|4) uint8 array as a ``rgb``/``rgba``/``bgra`` frame."""
        image = np.ascontiguousarray(image, dtype=np.uint8)
        h, w, c = image.shape
        if c != _BYTES_PER_PIXEL.get(fmt):
            raise PreprocessError(f"a {fmt} frame needs {_BYTES_PER_PIXEL.get(fmt)} channels, got {c}")
        return Frame(fmt, w, h, (Plane(image.reshape(-1), w * c, c),))


def _required_bytes(rows: int, cols: int, row_stride: int, pixel_stride: int, sample: int = 1) -> int:
    return (rows - 1) * row_stride + (cols - 1) * pixel_stride + sample


def check_frame(frame: Frame) -> None:
    """Raise :class:`PreprocessError` naming the first bad size, stride or buffer length of ``frame``."""
    fmt, w, h = frame.format, frame.width, frame.height
    if fmt not in FORMATS:
        raise PreprocessError(f"unknown frame format {fmt!r}; one of {', '.join(FORMATS)}")
    if w <= 0 or h <= 0:
        raise PreprocessError(f"frame size {w}x{h}: width and height must be > 0")
    if len(frame.planes) != _PLANES[fmt]:
        raise PreprocessError(f"a {fmt} frame has {_PLANES[fmt]} plane(s), got {len(frame.planes)}")
    if fmt in ("nv21", "yuv420") and (w % 2 or h % 2):
        raise PreprocessError(f"{fmt} frame size {w}x{h}: width and height must be even")
    if fmt in _BYTES_PER_PIXEL:
        bpp = _BYTES_PER_PIXEL[fmt]
        layout = [(h, w, bpp, bpp)]
    elif fmt == "nv21":
        layout = [(h, w, 1, 1), (h // 2, w // 2, 2, 2)]
    else:
        layout = [(h, w, None, 1), (h // 2, w // 2, None, 1), (h // 2, w // 2, None, 1)]
    for i, (plane, (rows, cols, pixel_stride, sample)) in enumerate(zip(frame.planes, layout, strict=True)):
        if pixel_stride is not None and plane.pixel_stride != pixel_stride:
            raise PreprocessError(
                f"{fmt} plane {i}: pixel stride must be {pixel_stride}, got {plane.pixel_stride}"
            )
        if plane.pixel_stride < 1:
            raise PreprocessError(f"{fmt} plane {i}: pixel stride {plane.pixel_stride} must be >= 1")
        if plane.row_stride < (cols - 1) * plane.pixel_stride + sample:
            raise PreprocessError(
                f"{fmt} plane {i}: row stride {plane.row_stride} is smaller than a row "
                f"({cols} pixels x {plane.pixel_stride} bytes)"
            )
        need = _required_bytes(rows, cols, plane.row_stride, plane.pixel_stride, sample)
        if plane.data.size < need:
            raise PreprocessError(f"{fmt} plane {i}: {plane.data.size} bytes, a {w}x{h} frame needs {need}")


def _sample(plane: Plane, rows: int, cols: int, offset: int = 0) -> np.ndarray:
    """(rows, cols) float64 samples ``data[r * row_stride + c * pixel_stride + offset]``."""
    r = np.arange(rows)[:, None] * plane.row_stride
    c = np.arange(cols)[None, :] * plane.pixel_stride
    return plane.data[r + c + offset].astype(np.float64)


def frame_to_rgb(frame: Frame) -> np.ndarray:
    """Step 1: (H, W, 3) float64 RGB in [0, 255], in stored orientation (YUV: JFIF, nearest chroma)."""
    check_frame(frame)
    w, h, fmt = frame.width, frame.height, frame.format
    if fmt in _BYTES_PER_PIXEL:
        order = {"rgb": (0, 1, 2), "rgba": (0, 1, 2), "bgra": (2, 1, 0)}[fmt]
        return np.stack([_sample(frame.planes[0], h, w, o) for o in order], axis=-1)
    y = _sample(frame.planes[0], h, w)
    if fmt == "nv21":
        v = _sample(frame.planes[1], h // 2, w // 2)
        u = _sample(frame.planes[1], h // 2, w // 2, 1)
    else:
        u = _sample(frame.planes[1], h // 2, w // 2)
        v = _sample(frame.planes[2], h // 2, w // 2)
    u = np.repeat(np.repeat(u, 2, axis=0), 2, axis=1) - 128.0
    v = np.repeat(np.repeat(v, 2, axis=0), 2, axis=1) - 128.0
    rgb = np.stack([y + c[1] * u + c[2] * v for c in YUV_TO_RGB], axis=-1)
    return np.clip(rgb, 0.0, 255.0)


def rgb_to_yuv_frame(
    rgb: np.ndarray, fmt: str = "nv21", row_padding: int = 0, pixel_stride: int = 1
) -> Frame:
    """A test frame: (H, W, 3) uint8 RGB -> ``nv21`` or ``yuv420`` with JFIF forward coefficients and 2x2-mean
    chroma; ``row_padding`` extra bytes per row and a chroma ``pixel_stride`` (yuv420: 2 = semi-planar)."""
    rgb = np.asarray(rgb, dtype=np.float64)
    h, w, _ = rgb.shape
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u = 128.0 - 0.168736 * r - 0.331264 * g + 0.5 * b
    v = 128.0 + 0.5 * r - 0.418688 * g - 0.081312 * b

    def q(a: np.ndarray) -> np.ndarray:
        return np.clip(np.floor(a + 0.5), 0, 255).astype(np.uint8)

    def half(a: np.ndarray) -> np.ndarray:
        return q(a.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)))

    def pack(samples: np.ndarray, ps: int) -> Plane:
        rows, cols = samples.shape
        stride = (cols - 1) * ps + 1 + row_padding
        buf = np.zeros(_required_bytes(rows, cols, stride, ps), dtype=np.uint8)
        idx = np.arange(rows)[:, None] * stride + np.arange(cols)[None, :] * ps
        buf[idx] = samples
        return Plane(buf, stride, ps)

    if fmt == "nv21":
        vu = np.stack([half(v), half(u)], axis=-1).reshape(h // 2, w)
        return Frame("nv21", w, h, (pack(q(y), 1), Plane(pack(vu, 1).data, w + row_padding, 2)))
    if fmt == "yuv420":
        return Frame(
            "yuv420", w, h, (pack(q(y), 1), pack(half(u), pixel_stride), pack(half(v), pixel_stride))
        )
    raise PreprocessError(f"rgb_to_yuv_frame: format must be nv21 or yuv420, got {fmt!r}")


def rotate(image: np.ndarray, rotation: int) -> np.ndarray:
    """Step 2: (H, W, C) -> rotated clockwise by ``rotation`` degrees (0, 90, 180, 270)."""
    if rotation not in ROTATIONS:
        raise PreprocessError(f"rotation {rotation!r}: must be one of 0, 90, 180, 270")
    return np.rot90(image, k=-(rotation // 90))


def upright_size(frame: Frame, rotation: int) -> tuple[int, int]:
    """(width, height) of the frame after rotation."""
    return (frame.height, frame.width) if rotation in (90, 270) else (frame.width, frame.height)


def check_roi(roi: Sequence[float], width: int, height: int) -> tuple[float, float, float, float]:
    box = tuple(float(v) for v in roi)
    if len(box) != 4 or not np.isfinite(box).all():
        raise PreprocessError(f"roi {list(roi)}: must be 4 finite numbers (left, top, right, bottom)")
    left, top, right, bottom = box
    if right <= left or bottom <= top:
        raise PreprocessError(f"roi {list(box)}: right must exceed left and bottom must exceed top")
    if min(right, width) <= max(left, 0.0) or min(bottom, height) <= max(top, 0.0):
        raise PreprocessError(f"roi {list(box)}: lies outside the {width}x{height} frame")
    return box


def crop_matrix(spec: InputSpec, width: int, height: int, roi: Sequence[float] | None = None) -> np.ndarray:
    """Step 3: (2, 3) float64 matrix, upright-frame px -> model-input px, per ``spec.resize``."""
    w_in, h_in = spec.size.width, spec.size.height
    left, top, right, bottom = (
        (0.0, 0.0, float(width), float(height)) if roi is None else check_roi(roi, width, height)
    )
    bw, bh = right - left, bottom - top
    if spec.resize == "stretch":
        sx, sy = w_in / bw, h_in / bh
        return np.array([[sx, 0.0, (0.5 - left) * sx - 0.5], [0.0, sy, (0.5 - top) * sy - 0.5]])
    aspect = w_in / h_in
    if bw > aspect * bh:  # grow the short side to the input aspect; never squash the person
        bh = bw / aspect
    else:
        bw = bh * aspect
    if roi is not None and spec.resize == "affine":
        bw *= spec.roi_padding
    s = w_in / bw
    cx, cy = (left + right) / 2.0, (top + bottom) / 2.0
    return np.array([[s, 0.0, w_in / 2.0 - s * cx], [0.0, s, h_in / 2.0 - s * cy]])


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """The inverse of a (2, 3) affine matrix, as (2, 3)."""
    m = np.vstack([np.asarray(matrix, dtype=np.float64), [0.0, 0.0, 1.0]])
    return np.linalg.inv(m)[:2]


def warp_bilinear(image: np.ndarray, matrix: np.ndarray, width: int, height: int) -> np.ndarray:
    """Step 4: (H, W, C) -> (height, width, C) float64, ``out[v, u] = bilinear(image, A^-1 (u, v))``."""
    inv = invert_affine(matrix)
    h, w = image.shape[:2]
    u, v = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    x = inv[0, 0] * u + inv[0, 1] * v + inv[0, 2]
    y = inv[1, 0] * u + inv[1, 1] * v + inv[1, 2]
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    src = np.asarray(image, dtype=np.float64)

    def tap(yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
        inside = (xx >= 0) & (xx < w) & (yy >= 0) & (yy < h)
        vals = src[np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)]
        return np.where(inside[..., None], vals, 0.0)

    top = (1 - fx) * tap(y0, x0) + fx * tap(y0, x0 + 1)
    bottom = (1 - fx) * tap(y0 + 1, x0) + fx * tap(y0 + 1, x0 + 1)
    return (1 - fy) * top + fy * bottom


def to_model_input(values: np.ndarray, spec: InputSpec, layout: str, dtype: str) -> np.ndarray:
    """Steps 5-6: (H, W, 3) RGB float -> (1, ...) model input in the card's colour order, layout and dtype
    (uint8: the values rounded, ``floor(v + 0.5)``; then :func:`crops_to_input`)."""
    if dtype == "uint8":
        values = np.clip(np.floor(values + 0.5), 0, 255).astype(np.uint8)
    return crops_to_input(
        values[None], layout=layout, dtype=dtype, color=spec.color, mean=spec.mean, std=spec.std
    )


def preprocess(
    frame: Frame,
    spec: InputSpec,
    *,
    layout: str = "NCHW",
    dtype: str = "float32",
    roi: Sequence[float] | None = None,
    rotation: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Steps 1-6: (model input (1, ...), crop matrix A (2, 3) upright-frame px -> model-input px)."""
    upright = rotate(frame_to_rgb(frame), rotation)
    matrix = crop_matrix(spec, upright.shape[1], upright.shape[0], roi)
    warped = warp_bilinear(upright, matrix, spec.size.width, spec.size.height)
    return to_model_input(warped, spec, layout, dtype), matrix


def keypoints_to_frame(xy: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """(..., 2) model-input px -> upright-frame px through A^-1 (the decoders' index convention)."""
    inv = invert_affine(matrix)
    p = np.asarray(xy, dtype=np.float64)
    return p @ inv[:, :2].T + inv[:, 2]


# ---- image files (calibration folders) -------------------------------------------------------------------


def list_images(folder: Path) -> list[Path]:
    """The jpg/png files directly in ``folder``, sorted. Errors if it is not a folder or holds none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MobileSDKError(f"{folder}: not a folder of images")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise MobileSDKError(f"{folder}: no .jpg/.jpeg/.png images in this folder")
    return files


def load_image(path: Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB pixels of a jpg/png file."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError) as exc:
        raise MobileSDKError(f"{path}: not a readable image ({exc.__class__.__name__})") from None


def crop_to_input(image: np.ndarray, spec: InputSpec, roi: Sequence[float] | None = None) -> np.ndarray:
    """(H, W, 3) uint8 RGB image -> (spec.height, spec.width, 3) uint8 RGB crop (steps 3-4, rounded)."""
    matrix = crop_matrix(spec, image.shape[1], image.shape[0], roi)
    warped = warp_bilinear(image, matrix, spec.size.width, spec.size.height)
    return np.clip(np.floor(warped + 0.5), 0, 255).astype(np.uint8)


def crops_to_input(
    crops: np.ndarray, *, layout: str, dtype: str, color: str, mean: Sequence[float], std: Sequence[float]
) -> np.ndarray:
    """(N, H, W, 3) RGB crops at the input size (uint8, or float values for float32) -> (N, ...) model input
    (steps 5-6, batched): the one implementation of colour order, normalisation (in float64, then float32)
    and layout that every path uses."""
    x = crops[..., ::-1] if color == "bgr" else crops
    if dtype == "float32":
        x = ((x.astype(np.float64) - np.asarray(mean)) / np.asarray(std)).astype(np.float32)
    elif dtype != "uint8":
        raise PreprocessError(f"input dtype {dtype!r}: must be float32 or uint8")
    if layout == "NCHW":
        x = x.transpose(0, 3, 1, 2)
    elif layout != "NHWC":
        raise PreprocessError(f"input layout {layout!r}: must be NCHW or NHWC")
    return np.ascontiguousarray(x)


def normalize(crops: np.ndarray, spec: InputSpec) -> np.ndarray:
    """(N, H, W, 3) uint8 RGB crops -> (N, 3, H, W) float32 in the card's colour order, normalised (what the
    eager model takes; the same numbers an NCHW float32 artifact is fed)."""
    return crops_to_input(
        crops, layout="NCHW", dtype="float32", color=spec.color, mean=spec.mean, std=spec.std
    )


def load_folder(folder: Path, spec: InputSpec, limit: int | None = None) -> tuple[np.ndarray, list[Path]]:
    """(N, H, W, 3) uint8 RGB crops of the images in ``folder`` (at most ``limit``), and their paths."""
    files = list_images(folder)[:limit]
    crops = np.stack([crop_to_input(load_image(p), spec) for p in files])
    return crops, files
