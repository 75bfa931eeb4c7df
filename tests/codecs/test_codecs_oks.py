"""OKS (cocoapi) and oks_iou (HRNet NMS)."""

import numpy as np
import pytest

from mobilesdk.codecs.oks import COCO_SIGMAS, oks, oks_iou, oks_iou_matrix
from mobilesdk.errors import CodecError


@pytest.fixture
def pose(rng):
    return rng.uniform(0, 200, size=(17, 2))


def test_coco_sigmas():
    assert COCO_SIGMAS.shape == (17,)
    assert COCO_SIGMAS[0] == pytest.approx(0.026) and COCO_SIGMAS[-1] == pytest.approx(0.089)
    assert not COCO_SIGMAS.flags.writeable


def test_oks_known_value(pose):
    vis = np.full(17, 2)
    assert oks(pose, vis, 5000.0, pose) == pytest.approx(1.0)
    pred = pose.copy()
    pred[5] += [3.0, 4.0]  # d = 5 on l_shoulder
    e = 25.0 / (2 * 0.079) ** 2 / 5000.0 / 2
    assert oks(pose, vis, 5000.0, pred) == pytest.approx((16 + np.exp(-e)) / 17, rel=1e-12)


def test_oks_ignores_unlabelled_keypoints(pose):
    vis = np.zeros(17)
    vis[:3] = 1
    pred = pose.copy()
    pred[3:] += 500.0
    assert oks(pose, vis, 1000.0, pred) == pytest.approx(1.0)
    pred[0] += [2.0, 0.0]
    e = 4.0 / (2 * 0.026) ** 2 / 1000.0 / 2
    assert oks(pose, vis, 1000.0, pred) == pytest.approx((2 + np.exp(-e)) / 3, rel=1e-12)


def test_oks_without_labelled_keypoints_uses_the_doubled_box():
    gt = np.zeros((17, 3))
    box = np.array([100.0, 50.0, 40.0, 80.0])  # doubled: x in [60, 180], y in [-30, 210]
    pred = np.tile([[120.0, 100.0]], (17, 1))
    assert oks(gt[:, :2], gt[:, 2], 900.0, pred, gt_box=box) == pytest.approx(1.0)
    pred[16] = [190.0, 220.0]  # 10 px right of x1, 10 px below y1
    e = 200.0 / (2 * 0.089) ** 2 / 900.0 / 2
    assert oks(gt, gt[:, 2], 900.0, pred, gt_box=box) == pytest.approx((16 + np.exp(-e)) / 17, rel=1e-12)
    with pytest.raises(CodecError, match="no labelled keypoint; pass gt_box"):
        oks(gt, gt[:, 2], 900.0, pred)


def test_oks_batch_of_predictions(pose, rng):
    preds = pose + rng.normal(scale=3.0, size=(4, 17, 2))
    batch = oks(pose, np.ones(17), 3000.0, np.concatenate([preds, np.ones((4, 17, 1))], axis=-1))
    assert batch.shape == (4,)
    np.testing.assert_allclose(batch, [oks(pose, np.ones(17), 3000.0, p) for p in preds])


def test_oks_zero_and_negative_area(pose):
    vis = np.ones(17)
    assert oks(pose, vis, 0.0, pose) == 1.0  # eps keeps it defined (cocoapi)
    assert oks(pose, vis, 0.0, pose + 1.0) < 1e-10
    with pytest.raises(CodecError, match="gt_area must be finite and >= 0"):
        oks(pose, vis, -1.0, pose)


def test_keypoint_count_must_match_sigmas(rng):
    gt = rng.uniform(size=(5, 2))
    with pytest.raises(CodecError, match="17 sigmas .* K=5; pass sigmas="):
        oks(gt, np.ones(5), 10.0, gt)
    assert oks(gt, np.ones(5), 10.0, gt, sigmas=np.full(5, 0.1)) == pytest.approx(1.0)
    with pytest.raises(CodecError, match="K=5"):
        oks_iou(gt, gt[None], 1.0, np.ones(1))
    with pytest.raises(CodecError, match="pred_xy has K=4 keypoints, gt_xy has K=5"):
        oks(gt, np.ones(5), 10.0, gt[:4], sigmas=np.full(5, 0.1))


def test_oks_iou_uses_all_keypoints_and_the_mean_area(pose, rng):
    b = pose + rng.normal(scale=5.0, size=(3, 17, 2))
    areas_b = np.array([1000.0, 4000.0, 0.0])
    got = oks_iou(np.c_[pose, np.zeros(17)], b, 2000.0, areas_b)
    d2 = ((b - pose) ** 2).sum(-1)
    want = np.exp(-d2 / (2 * COCO_SIGMAS) ** 2 / ((2000.0 + areas_b[:, None]) / 2 + np.spacing(1)) / 2).mean(
        -1
    )
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert oks_iou(pose, pose[None], 0.0, np.zeros(1))[0] == 1.0
    with pytest.raises(CodecError, match="areas_b must be finite and >= 0"):
        oks_iou(pose, b, 1.0, -areas_b)
    with pytest.raises(CodecError, match=r"areas_b must have shape \(3,\)"):
        oks_iou(pose, b, 1.0, np.ones(2))


def test_oks_iou_matrix_matches_rows(pose, rng):
    kpts = pose + rng.normal(scale=8.0, size=(5, 17, 2))
    areas = rng.uniform(500, 5000, size=5)
    m = oks_iou_matrix(kpts, areas)
    np.testing.assert_allclose(m, m.T)
    np.testing.assert_allclose(np.diag(m), 1.0)
    for i in range(5):
        np.testing.assert_allclose(m[i], oks_iou(kpts[i], kpts, areas[i], areas), rtol=1e-12)
