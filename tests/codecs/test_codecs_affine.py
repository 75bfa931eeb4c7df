"""Top-down crop geometry: box -> center/scale, affine and its inverse, mapping keypoints back."""

import numpy as np
import pytest

from mobilesdk.codecs import Keypoints
from mobilesdk.codecs.affine import (
    apply_affine,
    box_to_center_scale,
    get_affine_transform,
    keypoints_to_image,
    transform_preds,
)
from mobilesdk.errors import CodecError

SIZE = {"width": 192, "height": 256}


def test_box_to_center_scale_pads_to_the_aspect_ratio():
    center, scale = box_to_center_scale(np.array([10.0, 20.0, 100.0, 100.0]), SIZE)
    np.testing.assert_allclose(center, [60.0, 70.0])
    np.testing.assert_allclose(scale, [100 / 200 * 1.25, 100 / 0.75 / 200 * 1.25])  # wide: grow h
    center, scale = box_to_center_scale(np.array([[0.0, 0.0, 30.0, 200.0], [5.0, 5.0, 0.0, 8.0]]), SIZE)
    np.testing.assert_allclose(center, [[15.0, 100.0], [5.0, 9.0]])
    np.testing.assert_allclose(
        scale, [[150 / 200 * 1.25, 1.25], [6 / 200 * 1.25, 8 / 200 * 1.25]]
    )  # tall: grow w
    _, scale = box_to_center_scale([0, 0, 150, 200], SIZE, padding=1.0, pixel_std=1.0)
    np.testing.assert_allclose(scale, [150.0, 200.0])


@pytest.mark.parametrize("box", [[0, 0, -1, 5], [0, 0, 0, 0], [0, 0, np.nan, 5], [0, 0, 5]])
def test_box_to_center_scale_rejects_degenerate_boxes(box):
    with pytest.raises(CodecError, match="box_to_center_scale"):
        box_to_center_scale(np.array(box, dtype=float), SIZE)


def test_affine_maps_the_box_onto_the_input():
    center, scale = np.array([175.0, 150.0]), np.array([0.9375, 1.25])  # 187.5 x 250 px crop
    t = get_affine_transform(center, scale, 0.0, SIZE)
    assert t.shape == (2, 3)
    f = 192 / 187.5
    np.testing.assert_allclose(t, [[f, 0, 96 - 175 * f], [0, f, 128 - 150 * f]], atol=1e-12)
    np.testing.assert_allclose(apply_affine(center, t), [96.0, 128.0], atol=1e-12)


@pytest.mark.parametrize("rot", [0.0, 30.0, -75.0])
def test_affine_and_its_inverse_compose_to_identity(rng, rot):
    center, scale = np.array([320.5, 211.0]), np.array([1.3, 1.7])
    fwd = get_affine_transform(center, scale, rot, SIZE)
    inv = get_affine_transform(center, scale, rot, SIZE, inv=True)
    pts = rng.uniform(0, 500, size=(50, 2))
    np.testing.assert_allclose(apply_affine(apply_affine(pts, fwd), inv), pts, atol=1e-9)
    # A similarity: lengths scale by W_out / (scale[0]·200) whatever the rotation.
    d_in = np.linalg.norm(pts[1:] - pts[:-1], axis=-1)
    d_out = np.linalg.norm(np.diff(apply_affine(pts, fwd), axis=0), axis=-1)
    np.testing.assert_allclose(d_out / d_in, 192 / 260, rtol=1e-9)


def test_rotation_turns_the_up_vector_like_hrnet():
    t = get_affine_transform(np.array([0.0, 0.0]), 1.0, 90.0, {"width": 200, "height": 200}, inv=True)
    # HRNet get_dir: src_dir = R(rot)·(0, -100) = (100, 0) for 90°; the output point above the centre
    # (100, 0) maps to the image point center + src_dir.
    np.testing.assert_allclose(apply_affine(np.array([100.0, 0.0]), t), [100.0, 0.0], atol=1e-9)


def test_transform_preds_on_a_known_box():
    center, scale = box_to_center_scale(np.array([100.0, 50.0, 150.0, 200.0]), SIZE)
    np.testing.assert_allclose(scale, [0.9375, 1.25])
    coords = np.array([[0.0, 0.0], [192.0, 256.0], [96.0, 128.0]])
    out = transform_preds(coords, center, scale, SIZE)
    np.testing.assert_allclose(out, [[81.25, 25.0], [268.75, 275.0], [175.0, 150.0]], atol=1e-9)


def test_transform_preds_batches_and_heatmap_convention():
    centers = np.array([[175.0, 150.0], [10.0, 20.0]])
    scales = np.array([[0.9375, 1.25], [0.3, 0.4]])
    hm_cells = np.array([[[3.5, 7.25], [40.0, 60.0]], [[0.0, 0.0], [47.0, 63.0]]])
    # HRNet maps heatmap cells with [Wh, Hh]; equal strides make that the same as scaling to input px first.
    via_hm = transform_preds(hm_cells, centers, scales, {"width": 48, "height": 64})
    via_input = transform_preds(hm_cells * 4.0, centers, scales, SIZE)
    np.testing.assert_allclose(via_hm, via_input, atol=1e-9)
    for i in range(2):
        np.testing.assert_allclose(
            via_input[i], transform_preds(hm_cells[i] * 4.0, centers[i], scales[i], SIZE)
        )
    with pytest.raises(CodecError, match="center/scale must have shape"):
        transform_preds(hm_cells, centers[:1], scales[:1], SIZE)


def test_keypoints_to_image_keeps_scores_and_depth():
    kps = Keypoints(
        xy=np.array([[[96.0, 128.0], [0.0, 0.0]]]), scores=np.array([[0.9, 0.1]]), z=np.array([[3.0, 4.0]])
    )
    out = keypoints_to_image(kps, np.array([175.0, 150.0]), np.array([0.9375, 1.25]), SIZE)
    np.testing.assert_allclose(out.xy, [[[175.0, 150.0], [81.25, 25.0]]])
    np.testing.assert_array_equal(out.scores, kps.scores)
    np.testing.assert_array_equal(out.z, kps.z)


def test_sizes_must_be_mappings():
    with pytest.raises(CodecError, match="output_size must be a mapping"):
        get_affine_transform(np.zeros(2), np.ones(2), 0.0, (192, 256))
    with pytest.raises(CodecError, match=r"scale\[0\] > 0"):
        get_affine_transform(np.zeros(2), np.array([0.0, 1.0]), 0.0, SIZE)
