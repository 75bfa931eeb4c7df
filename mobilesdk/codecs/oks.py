"""Object keypoint similarity (spec §5.5 cocoapi ``computeOks``; §5.6 HRNet ``oks_iou``).

Legend: N/M instances, K keypoints. Keypoints are (x, y) in image px, optionally followed by a third column
(score or visibility) that these functions ignore. Areas are in px². Zero areas follow the references: the
denominator gets ``eps = np.spacing(1)`` (2.2e-16), so OKS is 1 for identical keypoints and ~0 otherwise;
negative areas raise :class:`CodecError`.
"""

from __future__ import annotations

import numpy as np

from mobilesdk.errors import CodecError

#: COCO per-keypoint sigmas, COCO order (nose, l_eye, r_eye, l_ear, r_ear, l_sho, r_sho, l_elb, r_elb,
#: l_wri, r_wri, l_hip, r_hip, l_knee, r_knee, l_ank, r_ank).
COCO_SIGMAS = (
    np.array(
        [0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89]
    )
    / 10.0
)
COCO_SIGMAS.setflags(write=False)

EPS = float(np.spacing(1))


def check_sigmas(sigmas: np.ndarray | None, num_keypoints: int, who: str) -> np.ndarray:
    """(K,) positive float64 sigmas (COCO by default); CodecError if their count differs from K."""
    s = COCO_SIGMAS if sigmas is None else np.asarray(sigmas, dtype=np.float64)
    if s.shape != (num_keypoints,):
        raise CodecError(
            f"{who}: {s.size if s.ndim == 1 else s.shape} sigmas (COCO has 17) but the keypoints have "
            f"K={num_keypoints}; pass sigmas= with one value per keypoint"
        )
    if not np.isfinite(s).all() or np.any(s <= 0):
        raise CodecError(f"{who}: sigmas must be finite and > 0")
    return s


def check_points(value: np.ndarray, ndim: int, who: str, what: str) -> np.ndarray:
    """(…, K, 2|3) -> float64 (…, K, 2) xy; CodecError on a wrong rank, last dim or non-finite values."""
    a = np.asarray(value, dtype=np.float64)
    if a.ndim != ndim or a.shape[-1] not in (2, 3):
        want = "(K, 2|3)" if ndim == 2 else "(M, K, 2|3)"
        raise CodecError(f"{who}: {what} must have shape {want}, got {a.shape}")
    xy = a[..., :2]
    if not np.isfinite(xy).all():
        raise CodecError(f"{who}: {what} contains NaN or inf")
    return xy


def check_areas(value: np.ndarray | float, shape: tuple[int, ...], who: str, what: str) -> np.ndarray:
    a = np.asarray(value, dtype=np.float64)
    if a.shape != shape:
        raise CodecError(f"{who}: {what} must have shape {shape}, got {a.shape}")
    if not np.isfinite(a).all() or np.any(a < 0):
        raise CodecError(f"{who}: {what} must be finite and >= 0, got {a.tolist()}")
    return a


def oks(
    gt_xy: np.ndarray,
    gt_visible: np.ndarray,
    gt_area: float,
    pred_xy: np.ndarray,
    sigmas: np.ndarray | None = None,
    gt_box: np.ndarray | None = None,
) -> float | np.ndarray:
    """cocoapi OKS between one ground truth and one or M predictions.

    Args:
        gt_xy: (K, 2|3) ground-truth keypoints, image px. gt_visible: (K,) COCO v flags; v > 0 is labelled.
        gt_area: ground-truth segment area, px² (>= 0).
        pred_xy: (K, 2|3) or (M, K, 2|3) predicted keypoints, image px.
        sigmas: (K,) per-keypoint sigmas, default :data:`COCO_SIGMAS`.
        gt_box: (4,) ground-truth box (x, y, w, h); required only when no keypoint is labelled.

    Returns:
        float for a (K, ·) prediction, (M,) float64 for (M, K, ·):
        mean over labelled i of exp(-d_i² / (2σ_i)² / (area + eps) / 2). With no labelled keypoint, d is
        the distance to the box doubled on each side, [x - w, x + 2w] × [y - h, y + 2h], averaged over
        all K (cocoapi).
    """
    who = "oks"
    g = check_points(gt_xy, 2, who, "gt_xy")
    k = g.shape[0]
    single = np.ndim(pred_xy) == 2
    d = check_points(np.asarray(pred_xy)[None] if single else pred_xy, 3, who, "pred_xy")
    if d.shape[1] != k:
        raise CodecError(f"{who}: pred_xy has K={d.shape[1]} keypoints, gt_xy has K={k}")
    vis = np.asarray(gt_visible)
    if vis.shape != (k,):
        raise CodecError(f"{who}: gt_visible must have shape ({k},), got {vis.shape}")
    area = check_areas(gt_area, (), who, "gt_area")
    var = (2.0 * check_sigmas(sigmas, k, who)) ** 2
    labelled = vis > 0
    if labelled.any():
        dx, dy = d[..., 0] - g[:, 0], d[..., 1] - g[:, 1]
    else:
        if gt_box is None:
            raise CodecError(f"{who}: the ground truth has no labelled keypoint; pass gt_box=(x, y, w, h)")
        box = np.asarray(gt_box, dtype=np.float64)
        if box.shape != (4,) or not np.isfinite(box).all():
            raise CodecError(f"{who}: gt_box must be 4 finite numbers (x, y, w, h), got {box.tolist()}")
        bx, by, bw, bh = box
        x0, x1, y0, y1 = bx - bw, bx + 2 * bw, by - bh, by + 2 * bh
        dx = np.maximum(0.0, x0 - d[..., 0]) + np.maximum(0.0, d[..., 0] - x1)
        dy = np.maximum(0.0, y0 - d[..., 1]) + np.maximum(0.0, d[..., 1] - y1)
        labelled = np.ones(k, dtype=bool)
    e = (dx**2 + dy**2) / var / (area + EPS) / 2.0
    result = np.exp(-e[:, labelled]).mean(axis=-1)
    return float(result[0]) if single else result


def oks_iou(
    kpts_a: np.ndarray,
    kpts_b: np.ndarray,
    area_a: float,
    areas_b: np.ndarray,
    sigmas: np.ndarray | None = None,
) -> np.ndarray:
    """HRNet ``oks_iou`` (used by NMS): OKS of instance a against M instances b over all K keypoints.

    Args:
        kpts_a: (K, 2|3). kpts_b: (M, K, 2|3). area_a: float >= 0. areas_b: (M,) >= 0 (px², HRNet uses the
            enlarged box area prod(scale·200)). sigmas: (K,), default :data:`COCO_SIGMAS`.

    Returns:
        (M,) float64, mean over all K of exp(-d² / (2σ)² / ((area_a + area_b)/2 + eps) / 2); no visibility
        mask.
    """
    who = "oks_iou"
    a = check_points(kpts_a, 2, who, "kpts_a")
    b = check_points(kpts_b, 3, who, "kpts_b")
    if b.shape[1] != a.shape[0]:
        raise CodecError(f"{who}: kpts_b has K={b.shape[1]} keypoints, kpts_a has K={a.shape[0]}")
    area_a = check_areas(area_a, (), who, "area_a")
    areas_b = check_areas(areas_b, (b.shape[0],), who, "areas_b")
    var = (2.0 * check_sigmas(sigmas, a.shape[0], who)) ** 2
    d2 = ((b - a) ** 2).sum(axis=-1)  # (M, K)
    e = d2 / var / ((area_a + areas_b[:, None]) / 2.0 + EPS) / 2.0
    return np.exp(-e).mean(axis=-1)


def oks_iou_matrix(kpts: np.ndarray, areas: np.ndarray, sigmas: np.ndarray | None = None) -> np.ndarray:
    """All-pairs :func:`oks_iou`: (N, K, 2|3), (N,) -> symmetric (N, N) float64, ones on the diagonal."""
    who = "oks_iou_matrix"
    p = check_points(kpts, 3, who, "kpts")
    n, k = p.shape[:2]
    areas = check_areas(areas, (n,), who, "areas")
    var = (2.0 * check_sigmas(sigmas, k, who)) ** 2
    d2 = ((p[:, None] - p[None, :]) ** 2).sum(axis=-1)  # (N, N, K)
    mean_area = (areas[:, None] + areas[None, :]) / 2.0
    e = d2 / var / (mean_area[..., None] + EPS) / 2.0
    return np.exp(-e).mean(axis=-1)
