"""Rescoring, greedy OKS-NMS and Matrix OKS-NMS."""

import numpy as np
import pytest

from mobilesdk.codecs.nms import matrix_oks_nms, oks_nms, rescore
from mobilesdk.codecs.oks import oks_iou_matrix
from mobilesdk.errors import CodecError


def test_rescore():
    kpt = np.array([[0.9, 0.1, 0.5, 0.2], [0.1, 0.2, 0.0, 0.15], [0.3, 0.3, 0.3, 0.3]])
    got = rescore(kpt, np.array([0.8, 0.9, 0.5]))
    np.testing.assert_allclose(got, [0.7 * 0.8, 0.0, 0.3 * 0.5])  # 0.2 is not > 0.2; none valid -> 0
    np.testing.assert_allclose(rescore(kpt, np.ones(3), in_vis_thre=0.0), [0.425, 0.15, 0.3])
    with pytest.raises(CodecError, match="rescore"):
        rescore(kpt, np.ones(2))


def clusters(rng, n_clusters, per_cluster, jitter=0.5):
    """Near-duplicate poses grouped in clusters 1000 px apart; areas ~ 100x150 px boxes."""
    base = rng.uniform(0, 100, size=(17, 2))
    kpts, areas = [], []
    for c in range(n_clusters):
        for _ in range(per_cluster):
            kpts.append(base + [1000.0 * c, 0.0] + rng.normal(scale=jitter, size=(17, 2)))
            areas.append(rng.uniform(14000, 16000))
    return np.array(kpts), np.array(areas)


def test_greedy_oks_nms_simple():
    kpts, areas = clusters(np.random.default_rng(0), 2, 2)
    keep = oks_nms(kpts, np.array([0.5, 0.9, 0.3, 0.8]), areas)
    np.testing.assert_array_equal(keep, [1, 3])
    assert keep.dtype == np.int64
    # Threshold: suppressed only when oks > thr.
    o01 = oks_iou_matrix(kpts, areas)[0, 1]
    np.testing.assert_array_equal(oks_nms(kpts[:2], np.array([0.9, 0.5]), areas[:2], thr=o01), [0, 1])
    np.testing.assert_array_equal(oks_nms(kpts[:2], np.array([0.9, 0.5]), areas[:2], thr=o01 - 1e-9), [0])
    assert oks_nms(np.zeros((0, 17, 3)), np.zeros(0), np.zeros(0)).shape == (0,)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("kernel", ["linear", "gaussian"])
def test_matrix_nms_agrees_with_greedy_on_separable_clusters(seed, kernel):
    rng = np.random.default_rng(seed)
    n_clusters, per = int(rng.integers(2, 6)), int(rng.integers(1, 5))
    kpts, areas = clusters(rng, n_clusters, per)
    o = oks_iou_matrix(kpts, areas)
    same = np.equal.outer(np.arange(len(kpts)) // per, np.arange(len(kpts)) // per)
    assert o[same].min() > 0.95 and o[~same].max() < 1e-12  # the case really is separable
    # One clear leader per cluster. The gaussian kernel (σ=2) only decays a full duplicate to e⁻² ≈ 0.135 of
    # its score, so the followers must score below score_thr / e⁻² ≈ 0.37 to be dropped.
    scores = rng.uniform(0.06, 0.3, size=len(kpts))
    leaders = np.arange(n_clusters) * per + rng.integers(0, per, size=n_clusters)
    scores[leaders] = rng.uniform(0.5, 1.0, size=n_clusters)
    greedy = oks_nms(kpts, scores, areas, thr=0.9)
    keep, decayed = matrix_oks_nms(kpts, scores, areas, kernel=kernel)
    np.testing.assert_array_equal(keep, greedy)
    np.testing.assert_allclose(decayed[leaders], scores[leaders], rtol=1e-12)
    assert np.all(decayed <= scores + 1e-15)


def solo_matrix_nms(scores_sorted, oks_sorted, kernel, sigma):
    """SOLO mmdet/core/post_processing/matrix_nms.py transcribed (one class, already sorted)."""
    n = len(scores_sorted)
    decay_iou = np.triu(oks_sorted, 1)
    compensate = np.tile(decay_iou.max(0), (n, 1)).T
    if kernel == "gaussian":
        coeff = (np.exp(-sigma * decay_iou**2) / np.exp(-sigma * compensate**2)).min(0)
    else:
        coeff = ((1 - decay_iou) / (1 - compensate)).min(0)
    return scores_sorted * coeff


@pytest.mark.parametrize("kernel", ["linear", "gaussian"])
def test_matrix_nms_matches_the_solo_formula(rng, kernel):
    base = rng.uniform(0, 100, size=(17, 2))
    kpts = base + rng.normal(scale=rng.uniform(1, 15, size=(12, 1, 1)), size=(12, 17, 2))
    areas = rng.uniform(3000, 9000, size=12)
    scores = rng.uniform(0.1, 1.0, size=12)
    keep, decayed = matrix_oks_nms(kpts, scores, areas, kernel=kernel, sigma=3.0, score_thr=0.2, max_det=5)
    order = np.argsort(-scores)
    want = np.empty(12)
    want[order] = solo_matrix_nms(scores[order], oks_iou_matrix(kpts[order], areas[order]), kernel, 3.0)
    np.testing.assert_allclose(decayed, want, rtol=1e-12)
    survivors = np.flatnonzero(want > 0.2)
    np.testing.assert_array_equal(keep, survivors[np.argsort(-want[survivors])][:5])
    assert len(keep) <= 5


def test_matrix_nms_exact_duplicates_and_empty_input():
    kpts = np.tile(np.arange(34.0).reshape(1, 17, 2), (3, 1, 1))
    keep, decayed = matrix_oks_nms(kpts, np.array([0.9, 0.8, 0.7]), np.full(3, 1000.0), kernel="linear")
    assert np.isfinite(decayed).all()
    np.testing.assert_array_equal(keep, [0])
    np.testing.assert_allclose(decayed, [0.9, 0.0, 0.0])
    keep, decayed = matrix_oks_nms(np.zeros((0, 17, 3)), np.zeros(0), np.zeros(0))
    assert keep.shape == decayed.shape == (0,)


def test_nms_input_errors(rng):
    kpts = rng.uniform(size=(3, 5, 3))
    with pytest.raises(CodecError, match="K=5; pass sigmas="):
        oks_nms(kpts, np.ones(3), np.ones(3))
    with pytest.raises(CodecError, match="K=5; pass sigmas="):
        matrix_oks_nms(kpts, np.ones(3), np.ones(3))
    sig = np.full(5, 0.1)
    with pytest.raises(CodecError, match="kernel must be 'gaussian' or 'linear'"):
        matrix_oks_nms(kpts, np.ones(3), np.ones(3), kernel="soft", sigmas=sig)
    with pytest.raises(CodecError, match="max_det"):
        matrix_oks_nms(kpts, np.ones(3), np.ones(3), max_det=0, sigmas=sig)
    with pytest.raises(CodecError, match="areas must be finite and >= 0"):
        oks_nms(kpts, np.ones(3), -np.ones(3), sigmas=sig)
    with pytest.raises(CodecError, match="scores must be 3 finite values"):
        oks_nms(kpts, np.ones(2), np.ones(3), sigmas=sig)
