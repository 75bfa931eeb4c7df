"""Instance rescoring and OKS-based NMS, per image (spec §5.6 HRNet, §5.7 MobilePoseNet Matrix OKS-NMS).

Legend: N instances, K keypoints. ``kpts`` are (N, K, 2|3) image px (a third score column is ignored),
``areas`` (N,) px² (HRNet: the enlarged box area prod(scale·200)), ``scores`` (N,) instance scores.
Sorting is stable and descending: equal scores keep their input order (HRNet's ``argsort()[::-1]`` puts
the later index first on exact ties).
"""

from __future__ import annotations

import numbers

import numpy as np

from mobilesdk.codecs.oks import check_areas, check_points, check_sigmas, oks_iou, oks_iou_matrix
from mobilesdk.errors import CodecError

# Floor of the linear kernel's denominator 1 - comp: an exact duplicate above gives comp = 1 (SOLO divides
# by zero there).
_LINEAR_EPS = 1e-12


def rescore(kpt_scores: np.ndarray, box_scores: np.ndarray, in_vis_thre: float = 0.2) -> np.ndarray:
    """HRNet rescoring: mean of the keypoint scores > in_vis_thre (0 if none) times the box score.

    Args:
        kpt_scores: (N, K). box_scores: (N,) detector scores. in_vis_thre: HRNet IN_VIS_THRE (COCO: 0.2).

    Returns:
        (N,) float64.
    """
    ks = np.asarray(kpt_scores, dtype=np.float64)
    bs = np.asarray(box_scores, dtype=np.float64)
    if ks.ndim != 2 or bs.shape != ks.shape[:1]:
        raise CodecError(f"rescore: need kpt_scores (N, K) and box_scores (N,), got {ks.shape}, {bs.shape}")
    valid = ks > in_vis_thre
    count = valid.sum(axis=1)
    total = np.where(valid, ks, 0.0).sum(axis=1)
    mean = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
    return mean * bs


def _check_instances(
    kpts: np.ndarray, scores: np.ndarray, areas: np.ndarray, sigmas: np.ndarray | None, who: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    p = check_points(kpts, 3, who, "kpts")
    n, k = p.shape[:2]
    s = np.asarray(scores, dtype=np.float64)
    if s.shape != (n,) or not np.isfinite(s).all():
        raise CodecError(f"{who}: scores must be {n} finite values (N,), got shape {s.shape}")
    return p, s, check_areas(areas, (n,), who, "areas"), check_sigmas(sigmas, k, who)


def oks_nms(
    kpts: np.ndarray,
    scores: np.ndarray,
    areas: np.ndarray,
    thr: float = 0.9,
    sigmas: np.ndarray | None = None,
) -> np.ndarray:
    """HRNet greedy OKS-NMS: pick the best remaining instance, drop those with oks_iou > thr, repeat.

    Args:
        kpts: (N, K, 2|3). scores: (N,). areas: (N,). thr: OKS_THRE (COCO configs 0.9).
        sigmas: (K,), default COCO (K must then be 17).

    Returns:
        (M,) int64 indices into the inputs of the kept instances, in pick order (descending score).
    """
    p, s, a, sg = _check_instances(kpts, scores, areas, sigmas, "oks_nms")
    order = np.argsort(-s, kind="stable")
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(i)
        ovr = oks_iou(p[i], p[order[1:]], a[i], a[order[1:]], sg)
        order = order[1:][ovr <= thr]
    return np.asarray(keep, dtype=np.int64)


def matrix_oks_nms(
    kpts: np.ndarray,
    scores: np.ndarray,
    areas: np.ndarray,
    kernel: str = "gaussian",
    sigma: float = 2.0,
    score_thr: float = 0.05,
    max_det: int = 20,
    sigmas: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Parallel (Matrix) OKS-NMS of MobilePoseNet, Algorithm 1 (§5.7 = SOLOv2 Matrix NMS with OKS for IoU).

    With instances sorted by score (descending) and O the (N, N) :func:`oks_iou_matrix` kept strictly above
    the diagonal (only higher-scored i suppress j): comp_i = max_{i' < i} O_i'i, and per column j
    decay_j = min_i f(O_ij) / f(comp_i) over all rows i (zeroed entries give f(0) = 1), with
    f(o) = exp(-sigma·o²) (``"gaussian"``) or 1 - o (``"linear"``, denominator floored at 1e-12).
    New score = score · decay, in (0, score] for the gaussian kernel.

    Args:
        kpts: (N, K, 2|3). scores: (N,) instance scores (already rescored, e.g. by :func:`rescore`).
        areas: (N,). kernel: ``"gaussian"`` or ``"linear"``. sigma: gaussian decay parameter (SOLO: 2.0).
        score_thr: keep decayed scores strictly above this. max_det: keep at most this many (COCO maxDets 20).
        sigmas: (K,), default COCO (K must then be 17).

    Returns:
        keep: (M,) int64 input indices, M <= max_det, sorted by decayed score (descending, stable).
        decayed: (N,) float64 decayed scores of all instances, in input order.
    """
    who = "matrix_oks_nms"
    p, s, a, sg = _check_instances(kpts, scores, areas, sigmas, who)
    if kernel not in ("gaussian", "linear"):
        raise CodecError(f"{who}: kernel must be 'gaussian' or 'linear', got {kernel!r}")
    if isinstance(sigma, bool) or not isinstance(sigma, numbers.Real) or not sigma > 0:
        raise CodecError(f"{who}: sigma must be a number > 0, got {sigma!r}")
    if isinstance(max_det, bool) or not isinstance(max_det, numbers.Integral) or max_det < 1:
        raise CodecError(f"{who}: max_det must be an integer >= 1, got {max_det!r}")
    n = s.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    order = np.argsort(-s, kind="stable")
    o = np.triu(oks_iou_matrix(p[order], a[order], sg), k=1)
    comp = o.max(axis=0)[:, None]  # row i holds comp_i
    if kernel == "gaussian":
        decay = (np.exp(-sigma * o**2) / np.exp(-sigma * comp**2)).min(axis=0)
    else:
        decay = ((1.0 - o) / np.maximum(1.0 - comp, _LINEAR_EPS)).min(axis=0)
    decayed = np.empty(n, dtype=np.float64)
    decayed[order] = s[order] * decay
    candidates = np.flatnonzero(decayed > score_thr)
    ranked = candidates[np.argsort(-decayed[candidates], kind="stable")]
    return ranked[:max_det].astype(np.int64), decayed
