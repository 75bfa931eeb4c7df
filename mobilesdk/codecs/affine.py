"""Top-down crop geometry of HRNet / DarkPose / SimCC (spec §5.0; ``lib/utils/transforms.py``), pure numpy.

Legend: N instances, K keypoints, H/W model-input height/width (px). A box is (x, y, w, h) in image pixels
with (x, y) its top-left corner; ``center`` is (x, y) image px; ``scale`` is (w, h) / pixel_std, i.e. in units
of 200 px. Sizes are ``{"width": ..., "height": ...}`` mappings. Computations run in float64 (HRNet builds
its three point pairs in float32; expect differences around 1e-5 px).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mobilesdk.codecs.base import Keypoints, parse_size
from mobilesdk.errors import CodecError


def box_to_center_scale(
    box_xywh: np.ndarray,
    input_size: Mapping[str, int],
    padding: float = 1.25,
    pixel_std: float = 200.0,
) -> tuple[np.ndarray, np.ndarray]:
    """HRNet ``_xywh2cs``: box -> (center, scale), the box padded to the input aspect ratio and enlarged.

    Args:
        box_xywh: (4,) or (N, 4) boxes, image px.
        input_size: ``{"width": W, "height": H}``; the aspect ratio is W/H.
        padding: enlargement factor (HRNet: 1.25). pixel_std: scale unit in px (HRNet: 200).

    Returns:
        center (…, 2) = (x + w/2, y + h/2) and scale (…, 2) = (w', h') / pixel_std · padding, float64, where
        the shorter side relative to W/H is grown: w' = h·W/H if w < h·W/H, else h' = w·H/W. HRNet's quirk of
        skipping the padding when center x == -1 is not reproduced.

    Raises:
        CodecError: wrong shape, non-finite values, negative w or h, or w = h = 0.
    """
    size = parse_size("box_to_center_scale: input_size", input_size)
    box = np.asarray(box_xywh, dtype=np.float64)
    if box.shape[-1:] != (4,) or box.ndim > 2:
        raise CodecError(f"box_to_center_scale: box_xywh must have shape (4,) or (N, 4), got {box.shape}")
    if not np.isfinite(box).all():
        raise CodecError("box_to_center_scale: box_xywh contains NaN or inf")
    x, y, w, h = np.moveaxis(box, -1, 0)
    if np.any(w < 0) or np.any(h < 0) or np.any((w == 0) & (h == 0)):
        raise CodecError(f"box_to_center_scale: boxes need w, h >= 0 and not both 0, got {box.tolist()}")
    aspect = size["width"] / size["height"]
    center = np.stack([x + w * 0.5, y + h * 0.5], axis=-1)
    w2 = np.where(w < aspect * h, h * aspect, w)
    h2 = np.where(w > aspect * h, w / aspect, h)
    scale = np.stack([w2, h2], axis=-1) / pixel_std * padding
    return center, scale


def get_affine_transform(
    center: np.ndarray,
    scale: np.ndarray | float,
    rot_deg: float,
    output_size: Mapping[str, int],
    inv: bool = False,
) -> np.ndarray:
    """HRNet ``get_affine_transform`` (shift 0): (2, 3) float64 matrix image px -> output px (or back if inv).

    Args:
        center: (2,) image px. scale: (2,) in units of 200 px, or a number for (s, s). Only the width
            scale[0]·200 sets the zoom (the map is a similarity, W_out / (scale[0]·200) on both axes).
        rot_deg: crop rotation in degrees, HRNet's sign convention (its rotation augmentation).
        output_size: ``{"width": W_out, "height": H_out}``. inv: return the output -> image matrix instead.

    The matrix maps center -> (W_out/2, H_out/2) and center + R(rot)·(0, -scale[0]·100) -> (W_out/2, H_out/2 - W_out/2),
    the third point pair being the 90° rotation of the first two (``get_3rd_point``), solved like
    ``cv2.getAffineTransform``.
    """
    size = parse_size("get_affine_transform: output_size", output_size)
    c = np.asarray(center, dtype=np.float64)
    s = np.asarray(scale, dtype=np.float64)
    if s.ndim == 0:
        s = np.array([s, s])
    if c.shape != (2,) or s.shape != (2,):
        raise CodecError(
            f"get_affine_transform: center and scale must have shape (2,), got {c.shape}, {s.shape}"
        )
    if not (np.isfinite(c).all() and np.isfinite(s).all() and np.isfinite(rot_deg)) or s[0] <= 0:
        raise CodecError(
            f"get_affine_transform: need finite center/scale/rot and scale[0] > 0, got {s.tolist()}"
        )
    src_w = s[0] * 200.0
    dst_w, dst_h = float(size["width"]), float(size["height"])
    rot = np.pi * rot_deg / 180.0
    sn, cs = np.sin(rot), np.cos(rot)
    src_dir = np.array([0.0 * cs - (src_w * -0.5) * sn, 0.0 * sn + (src_w * -0.5) * cs])
    src = np.stack([c, c + src_dir])
    dst = np.array([[dst_w * 0.5, dst_h * 0.5], [dst_w * 0.5, dst_h * 0.5 - dst_w * 0.5]])
    src = np.vstack([src, _third_point(src[0], src[1])])
    dst = np.vstack([dst, _third_point(dst[0], dst[1])])
    a, b = (dst, src) if inv else (src, dst)
    # Solve [a 1] @ T.T = b for the 2x3 matrix T, as cv2.getAffineTransform.
    return np.linalg.solve(np.hstack([a, np.ones((3, 1))]), b).T


def _third_point(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = a - b
    return b + np.array([-d[1], d[0]])


def apply_affine(points: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """Apply a (2, 3) affine matrix to (…, 2) points; returns (…, 2) float64."""
    p = np.asarray(points, dtype=np.float64)
    t = np.asarray(trans, dtype=np.float64)
    if p.shape[-1:] != (2,) or t.shape != (2, 3):
        raise CodecError(f"apply_affine: need (..., 2) points and a (2, 3) matrix, got {p.shape}, {t.shape}")
    return p @ t[:, :2].T + t[:, 2]


def transform_preds(
    coords: np.ndarray, center: np.ndarray, scale: np.ndarray, output_size: Mapping[str, int]
) -> np.ndarray:
    """HRNet ``transform_preds``: coordinates in an ``output_size`` crop -> image px (inverse affine, rot 0).

    Args:
        coords: (K, 2) with center/scale (2,), or (N, K, 2) with center/scale (N, 2) or (2,) (shared).
        output_size: ``{"width": ..., "height": ...}`` of the space ``coords`` live in (model input for
            :class:`Keypoints`; the heatmap size for raw heatmap cells, as HRNet).

    Returns:
        float64 array shaped like ``coords``.
    """
    pts = np.asarray(coords, dtype=np.float64)
    if pts.ndim not in (2, 3) or pts.shape[-1] != 2:
        raise CodecError(f"transform_preds: coords must have shape (K, 2) or (N, K, 2), got {pts.shape}")
    batched = pts.ndim == 3
    pts = pts if batched else pts[None]
    n = pts.shape[0]
    if n == 0:
        return pts.copy()
    c = np.broadcast_to(np.asarray(center, dtype=np.float64), (n, 2)) if _is_vec(center, n) else None
    s = np.broadcast_to(np.asarray(scale, dtype=np.float64), (n, 2)) if _is_vec(scale, n) else None
    if c is None or s is None:
        raise CodecError(
            f"transform_preds: center/scale must have shape (2,) or ({n}, 2), got "
            f"{np.shape(center)}, {np.shape(scale)}"
        )
    out = np.stack(
        [apply_affine(pts[i], get_affine_transform(c[i], s[i], 0.0, output_size, inv=True)) for i in range(n)]
    )
    return out if batched else out[0]


def _is_vec(value: np.ndarray, n: int) -> bool:
    return np.shape(value) in ((2,), (n, 2))


def keypoints_to_image(
    kps: Keypoints, center: np.ndarray, scale: np.ndarray, input_size: Mapping[str, int]
) -> Keypoints:
    """Map decoded keypoints from model-input px to image px.

    Args:
        kps: xy (N, K, 2) in model-input px. center, scale: (N, 2) per instance or (2,) shared, as from
            :func:`box_to_center_scale`. input_size: ``{"width": W, "height": H}``.

    Returns:
        :class:`Keypoints` with xy in image px; scores and z unchanged.
    """
    xy = transform_preds(kps.xy, center, scale, input_size)
    return Keypoints(xy=xy, scores=kps.scores, z=kps.z)
