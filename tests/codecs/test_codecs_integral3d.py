"""integral-3d codec (MobileHumanPose soft-argmax): layout, round trip, degenerate logits, flip merge."""

import numpy as np
import pytest

from mobilesdk.codecs import build_codec
from mobilesdk.errors import CodecError

# Small grid for speed; the paper layout (64³, 18 joints) is exercised once below.
SIZE = {"width": 96, "height": 128}
GRID = {"width": 24, "height": 32}
D = 20


def make(k=4, **params):
    return build_codec("integral-3d", SIZE, k, {"depth_bins": D, "heatmap_size": GRID, **params})


def reference_soft_argmax(vol, k, d, h, w):
    """MobileHumanPose main/model.py::soft_argmax transcribed: Σ (i+1)·p_i - 1 over the marginals."""
    n = vol.shape[0]
    flat = vol.reshape(n, k, d * h * w).astype(np.float64)
    e = np.exp(flat - flat.max(-1, keepdims=True))
    p = (e / e.sum(-1, keepdims=True)).reshape(n, k, d, h, w)
    x = (p.sum(axis=(2, 3)) * np.arange(1, w + 1)).sum(-1) - 1
    y = (p.sum(axis=(2, 4)) * np.arange(1, h + 1)).sum(-1) - 1
    z = (p.sum(axis=(3, 4)) * np.arange(1, d + 1)).sum(-1) - 1
    return np.stack([x, y, z], -1)


def test_decode_matches_the_reference_on_random_logits(rng):
    codec = make()
    vol = rng.normal(scale=3.0, size=(2, 4 * D, 32, 24)).astype(np.float32)
    dec = codec.decode({"volumetric": vol})
    ref = reference_soft_argmax(vol, 4, D, 32, 24)
    np.testing.assert_allclose(dec.xy / 4.0, ref[..., :2], atol=1e-5)
    np.testing.assert_allclose(dec.z, ref[..., 2], atol=1e-5)


def test_channel_layout_is_joint_major_depth_minor():
    codec = make()
    vol = np.zeros((1, 4 * D, 32, 24), np.float32)
    for j, (d, h, w) in enumerate([(3, 5, 7), (0, 0, 0), (19, 31, 23), (10, 2, 20)]):
        vol[0, j * D + d, h, w] = 80.0  # softmax puts ~all mass on this voxel
    dec = codec.decode({"volumetric": vol})
    np.testing.assert_allclose(dec.xy[0] / 4.0, [[7, 5], [0, 0], [23, 31], [20, 2]], atol=1e-6)
    np.testing.assert_allclose(dec.z[0], [3, 0, 19, 10], atol=1e-6)
    np.testing.assert_allclose(dec.scores, 1.0, atol=1e-6)


def test_uniform_logits_give_the_grid_centre_and_minimum_score():
    dec = make().decode({"volumetric": np.full((1, 4 * D, 32, 24), -5.0, np.float32)})
    np.testing.assert_allclose(dec.xy[0] / 4.0, [[11.5, 15.5]] * 4, atol=1e-9)
    np.testing.assert_allclose(dec.z, (D - 1) / 2, atol=1e-9)
    np.testing.assert_allclose(dec.scores, 1.0 / (32 * 24), rtol=1e-6)


def test_round_trip_within_0_05_grid_units(rng):
    codec = make()
    grid_xy = rng.uniform(6.0, [24 - 7.0, 32 - 7.0], size=(3, 4, 2))
    z = rng.uniform(6.0, D - 7.0, size=(3, 4))
    dec = codec.decode(codec.encode(grid_xy * 4.0, z=z))
    assert dec.xy.dtype == dec.z.dtype == np.float32
    assert np.abs(dec.xy / 4.0 - grid_xy).max() <= 0.05
    assert np.abs(dec.z - z).max() <= 0.05
    # Score: 2-D marginal of a separable Gaussian peaks near 1/(2πσ²) for σ = 1.5.
    np.testing.assert_allclose(dec.scores, 1 / (2 * np.pi * 1.5**2), rtol=0.3)


def test_encode_default_depth_and_invisible_joints():
    codec = make(k=3)
    kp = np.array([[[40.0, 60.0], [40.0, 60.0], [96.0, 60.0]]])  # last: x = W, outside
    t = codec.encode(kp, visible=np.array([[1, 0, 1]]))
    vol = t["volumetric"]
    assert vol.shape == (1, 3 * D, 32, 24) and vol.dtype == np.float32
    assert not vol[0, D:].any()  # joints 1 (invisible) and 2 (outside): uniform
    dec = codec.decode(t)
    assert dec.z[0, 0] == pytest.approx(D / 2, abs=0.05)
    with pytest.raises(CodecError, match=r"z has shape \(3,\), expected \(1, 3\)"):
        codec.encode(kp, z=np.zeros(3))


def test_wrong_channel_count_is_refused():
    codec = make()
    with pytest.raises(
        CodecError, match=r"'volumetric'\] has shape \(1, 76, 32, 24\), expected \(N, 80, 32, 24\)"
    ):
        codec.decode({"volumetric": np.zeros((1, 4 * D - 4, 32, 24))})


def test_flip_merge_decodes_to_the_average_of_the_two_coordinate_sets(rng, coco_flip_pairs, coco_perm):
    k = 17
    codec = build_codec(
        "integral-3d", SIZE, k, {"depth_bins": 6, "heatmap_size": {"width": 12, "height": 16}}
    )
    a = {"volumetric": rng.normal(scale=2.0, size=(2, k * 6, 16, 12)).astype(np.float32)}
    b = {"volumetric": rng.normal(scale=2.0, size=(2, k * 6, 16, 12)).astype(np.float32)}
    merged = codec.decode(codec.flip_merge(a, b, coco_flip_pairs))
    da, db = codec.decode(a), codec.decode(b)
    perm = coco_perm
    gx_b = 12 - 1 - db.xy[:, perm, 0] / 8.0  # §2.5: x_f = out_W - x - 1 (grid units; stride 8 here)
    want_x = (da.xy[..., 0] / 8.0 + gx_b) / 2
    want_y = (da.xy[..., 1] / 8.0 + db.xy[:, perm, 1] / 8.0) / 2
    want_z = (da.z + db.z[:, perm]) / 2
    np.testing.assert_allclose(merged.xy[..., 0] / 8.0, want_x, atol=1e-4)
    np.testing.assert_allclose(merged.xy[..., 1] / 8.0, want_y, atol=1e-4)
    np.testing.assert_allclose(merged.z, want_z, atol=1e-4)


def test_flip_merge_of_a_mirrored_pose_recovers_the_pose(rng, coco_flip_pairs, coco_perm):
    """Outputs for the image (pose P) and its mirror (x_grid -> Wh - 1 - x_grid, pairs swapped) merge back to P."""
    codec = build_codec("integral-3d", SIZE, 17, {"depth_bins": 16, "heatmap_size": GRID})
    grid = rng.uniform(6.0, [24 - 7.0, 32 - 7.0], size=(1, 17, 2))
    z = rng.uniform(5.0, 10.0, size=(1, 17))
    mirror, mz = grid[:, coco_perm].copy(), z[:, coco_perm]
    mirror[..., 0] = 24 - 1 - mirror[..., 0]
    merged = codec.flip_merge(codec.encode(grid * 4, z=z), codec.encode(mirror * 4, z=mz), coco_flip_pairs)
    dec = codec.decode(merged)
    np.testing.assert_allclose(dec.xy / 4.0, grid, atol=0.05)
    np.testing.assert_allclose(dec.z, z, atol=0.05)
    assert np.isfinite(merged["volumetric"]).all()


def test_paper_layout_smoke():
    codec = build_codec(
        "integral-3d",
        {"width": 256, "height": 256},
        18,
        {"depth_bins": 64, "heatmap_size": {"width": 64, "height": 64}},
    )
    kp = np.tile(np.array([[100.0, 150.0]]), (1, 18, 1))
    dec = codec.decode(codec.encode(kp, z=np.full((1, 18), 31.3)))
    np.testing.assert_allclose(dec.xy, kp, atol=0.05 * 4)
    np.testing.assert_allclose(dec.z, 31.3, atol=0.05)
