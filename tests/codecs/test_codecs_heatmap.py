"""Heatmap codec: HRNet argmax, quarter offset, DARK (blur, border rules, accuracy), flip merge."""

import numpy as np
import pytest

from mobilesdk.codecs import build_codec
from mobilesdk.codecs.heatmap import gaussian_blur, gaussian_kernel_1d
from mobilesdk.errors import CodecError

SIZE = {"width": 192, "height": 256}
HM = {"width": 48, "height": 64}
STRIDE = 4.0


def make(k=17, **params):
    return build_codec("heatmap", SIZE, k, {"heatmap_size": HM, **params})


# ---- literal transcriptions of the reference loops (DarkPose / HRNet lib/core/inference.py) -----------


def darkpose_taylor(hm, coord):
    h, w = hm.shape
    px, py = int(coord[0]), int(coord[1])
    if 1 < px < w - 2 and 1 < py < h - 2:
        dx = 0.5 * (hm[py][px + 1] - hm[py][px - 1])
        dy = 0.5 * (hm[py + 1][px] - hm[py - 1][px])
        dxx = 0.25 * (hm[py][px + 2] - 2 * hm[py][px] + hm[py][px - 2])
        dxy = 0.25 * (hm[py + 1][px + 1] - hm[py - 1][px + 1] - hm[py + 1][px - 1] + hm[py - 1][px - 1])
        dyy = 0.25 * (hm[py + 2 * 1][px] - 2 * hm[py][px] + hm[py - 2 * 1][px])
        if dxx * dyy - dxy**2 != 0:
            hessian = np.array([[dxx, dxy], [dxy, dyy]])
            coord = coord - np.linalg.inv(hessian) @ np.array([dx, dy])
    return coord


def reference_decode(hms, refine, kernel=11):
    n, k, h, w = hms.shape
    coords = np.zeros((n, k, 2))
    maxvals = np.zeros((n, k))
    for i in range(n):
        for j in range(k):
            idx = int(np.argmax(hms[i, j]))
            maxvals[i, j] = hms[i, j].flat[idx]
            if maxvals[i, j] > 0:
                coords[i, j] = [idx % w, idx // w]
    if refine == "dark":
        logm = np.log(np.maximum(gaussian_blur(hms, kernel), 1e-10))
        for i in range(n):
            for j in range(k):
                coords[i, j] = darkpose_taylor(logm[i, j], coords[i, j])
    elif refine == "quarter-offset":
        for i in range(n):
            for j in range(k):
                hm = hms[i, j]
                px, py = int(np.floor(coords[i, j, 0] + 0.5)), int(np.floor(coords[i, j, 1] + 0.5))
                if 1 < px < w - 1 and 1 < py < h - 1:
                    diff = np.array([hm[py][px + 1] - hm[py][px - 1], hm[py + 1][px] - hm[py - 1][px]])
                    coords[i, j] += np.sign(diff) * 0.25
    return coords * STRIDE, maxvals


# ---- Gaussian blur ----------------------------------------------------------------------------------


def test_kernel_matches_opencv_rules():
    # ksize > 7: sigma = 0.3·((k-1)·0.5 - 1) + 0.8 (= 2.0 for 11).
    x = np.arange(11) - 5.0
    ref = np.exp(-(x**2) / 8.0)
    np.testing.assert_allclose(gaussian_kernel_1d(11), ref / ref.sum(), rtol=1e-15)
    sigma17 = 0.3 * (8 - 1) + 0.8
    x = np.arange(17) - 8.0
    ref = np.exp(-(x**2) / (2 * sigma17**2))
    np.testing.assert_allclose(gaussian_kernel_1d(17), ref / ref.sum(), rtol=1e-15)
    # ksize <= 7: OpenCV's fixed table, not the formula.
    np.testing.assert_array_equal(gaussian_kernel_1d(3), [0.25, 0.5, 0.25])
    np.testing.assert_array_equal(gaussian_kernel_1d(7)[:4], [0.03125, 0.109375, 0.21875, 0.28125])
    # ksize 9: OpenCV 4.x's bit-exact table (4, 13, 30, 51, 60, ...)/256, which the formula misses by ~2e-3.
    np.testing.assert_array_equal(gaussian_kernel_1d(9) * 256, [4, 13, 30, 51, 60, 51, 30, 13, 4])
    for bad in (0, 4, -3, 2.0):
        with pytest.raises(CodecError, match="odd integer"):
            gaussian_kernel_1d(bad)


def test_blur_is_zero_padded_and_rescaled_to_the_original_max():
    k1 = gaussian_kernel_1d(5)
    hm = np.zeros((1, 1, 9, 9))
    hm[0, 0, 4, 4] = 2.0
    out = gaussian_blur(hm, 5)
    kk = np.outer(k1, k1)
    np.testing.assert_allclose(out[0, 0, 2:7, 2:7], kk * 2.0 / kk.max())
    assert out[0, 0, :2].sum() == 0 and out.max() == pytest.approx(2.0)
    # Impulse next to the corner: the kernel is cut off (zero padding), not mirrored back in as with OpenCV's
    # default BORDER_REFLECT_101, which would add the image of (1, 1) reflected about row/column 0.
    corner = np.zeros((9, 9))
    corner[1, 1] = 1.0
    out = gaussian_blur(corner, 5)
    tail = np.outer(k1[1:], k1[1:])
    np.testing.assert_allclose(out[:4, :4], tail / tail.max(), rtol=1e-12)
    assert out[4:].sum() == 0


# ---- decode rules -----------------------------------------------------------------------------------


@pytest.mark.parametrize("refine", ["dark", "quarter-offset", "none"])
def test_vectorised_decode_equals_reference_loops(rng, refine):
    codec = make(k=5, refine=refine)
    enc = codec.encode(rng.uniform([-8, -8], [200, 264], size=(4, 5, 2)))["heatmaps"]
    hms = enc + rng.normal(scale=0.05, size=enc.shape)
    hms[0, 0] = -np.abs(hms[0, 0])  # maxval <= 0
    hms[0, 1] = 0.0
    for (i, j), (py, px) in {(1, 0): (1, 1), (1, 1): (2, 2), (1, 2): (61, 45), (1, 3): (62, 46)}.items():
        hms[i, j] = 0.0
        hms[i, j, py, px], hms[i, j, py, px + 1], hms[i, j, py + 1, px] = 1.0, 0.6, 0.3
    dec = codec.decode({"heatmaps": hms.astype(np.float32)})
    want_xy, want_score = reference_decode(hms.astype(np.float32).astype(np.float64), refine)
    np.testing.assert_allclose(dec.xy, want_xy, atol=1e-4)
    np.testing.assert_allclose(dec.scores, want_score, rtol=1e-6)


def test_quarter_offset_known_case_and_border():
    codec = make(k=2, refine="quarter-offset")
    hm = np.zeros((1, 2, 64, 48), np.float32)
    hm[0, 0, 20, 10] = 1.0
    hm[0, 0, 20, 11], hm[0, 0, 20, 9] = 0.5, 0.2  # right > left: +0.25 x
    hm[0, 0, 19, 10], hm[0, 0, 21, 10] = 0.4, 0.1  # up > down: -0.25 y
    hm[0, 1, 30, 1], hm[0, 1, 30, 2] = 1.0, 0.5  # px = 1: no offset (1 < px fails)
    dec = codec.decode({"heatmaps": hm})
    np.testing.assert_allclose(dec.xy[0, 0], [10.25 * 4, 19.75 * 4])
    np.testing.assert_allclose(dec.xy[0, 1], [1 * 4, 30 * 4])


def test_non_positive_peak_zeroes_the_location():
    codec = make(k=3)
    hm = np.full((1, 3, 64, 48), -1.0, np.float32)
    hm[0, 0, 10, 20] = -0.5
    hm[0, 1] = 0.0
    hm[0, 2, 33, 22] = 0.7
    dec = codec.decode({"heatmaps": hm})
    np.testing.assert_array_equal(dec.xy[0, :2], 0.0)
    np.testing.assert_allclose(dec.scores[0], [-0.5, 0.0, 0.7])
    assert dec.xy[0, 2, 0] == pytest.approx(88.0, abs=2.0)


def test_dark_is_exact_on_a_log_quadratic_without_blur():
    codec = make(k=1, blur_kernel=1)
    mu = np.array([[[17.3 * 4, 40.71 * 4]]])
    dec = codec.decode(codec.encode(mu))
    np.testing.assert_allclose(dec.xy, mu, atol=1e-9)


def test_dark_border_condition():
    """Taylor step only for 1 < px < Wh-2 and 1 < py < Hh-2 (DarkPose)."""
    codec = make(k=1, blur_kernel=1)
    for cell, refined in [(2.3, True), (1.3, False), (45.3, True), (46.2, False)]:
        dec = codec.decode(codec.encode(np.array([[[cell * 4, 30.0 * 4]]])))
        x = dec.xy[0, 0, 0] / 4
        if refined:
            assert x == pytest.approx(cell, abs=1e-5)
        else:
            assert x == round(cell)


# ---- accuracy ---------------------------------------------------------------------------------------


def _subpixel_centres(rng, n):
    hm_xy = rng.uniform([8, 8], [48 - 9, 64 - 9], size=(n, 17, 2))
    return hm_xy * STRIDE


def test_dark_round_trip_is_within_0_05_px_at_stride_4(rng):
    codec = make()
    kp = _subpixel_centres(rng, 20)
    dec = codec.decode(codec.encode(kp))
    assert dec.xy.dtype == np.float32
    assert np.abs(dec.xy - kp).max() <= 0.05
    np.testing.assert_allclose(dec.scores, np.exp(-((np.round(kp / 4) - kp / 4) ** 2).sum(-1) / 8), rtol=1e-5)


def test_dark_beats_argmax_and_quarter_offset(rng):
    kp = _subpixel_centres(rng, 12)
    target = make().encode(kp)
    err = {}
    for refine in ("dark", "quarter-offset", "none"):
        dec = make(refine=refine).decode(target)
        err[refine] = np.linalg.norm(dec.xy - kp, axis=-1).mean()
    assert err["dark"] < err["quarter-offset"] < err["none"]
    assert err["dark"] < 0.01 and err["none"] > 1.0


def test_encode_visibility_and_3_sigma_rule():
    codec = make(k=4)
    kp = np.array([[[40.0, 40.0], [40.0, 40.0], [-20.0, 40.0], [-40.0, 40.0]]])  # μx = 10, 10, -5, -10
    t = codec.encode(kp, visible=np.array([[1, 0, 2, 1]]))["heatmaps"]
    assert t.shape == (1, 4, 64, 48) and t.dtype == np.float32
    assert t[0, 0, 10, 10] == 1.0
    assert not t[0, 1].any()  # not visible
    assert t[0, 2].max() > 0  # μx + 3σ + 1 = 2 >= 0: kept (DarkPose)
    assert not t[0, 3].any()  # μx + 3σ + 1 = -3 < 0: dropped


# ---- flip merge -------------------------------------------------------------------------------------


def test_flip_merge_of_an_exact_mirror_without_shift_is_the_plain_map(rng, coco_flip_pairs, coco_perm):
    codec = make(shift_flip=False)
    plain = codec.encode(_subpixel_centres(rng, 2))
    mirrored = {"heatmaps": plain["heatmaps"][:, coco_perm, :, ::-1]}
    merged = codec.flip_merge(plain, mirrored, coco_flip_pairs)
    np.testing.assert_allclose(merged["heatmaps"], plain["heatmaps"], atol=1e-7)


def test_flip_merge_shift_moves_the_unflipped_map_one_column_right(rng, coco_flip_pairs, coco_perm):
    codec = make()
    zero = {"heatmaps": np.zeros((1, 17, 64, 48), np.float32)}
    flipped = {"heatmaps": rng.uniform(size=(1, 17, 64, 48)).astype(np.float32)}
    merged = codec.flip_merge(zero, flipped, coco_flip_pairs)["heatmaps"]
    unflipped = flipped["heatmaps"][:, coco_perm, :, ::-1]
    np.testing.assert_allclose(merged[..., 1:], unflipped[..., :-1] / 2, rtol=1e-6)
    np.testing.assert_allclose(merged[..., 0], unflipped[..., 0] / 2, rtol=1e-6)
    # Shifted mirror of a Gaussian at x: the merged peak sits half a cell right of x.
    kp = np.array([[[20.3 * 4, 30.6 * 4]] * 17])
    merged = codec.flip_merge(codec.encode(kp), {"heatmaps": codec.encode(kp)["heatmaps"][..., ::-1]}, [])
    np.testing.assert_allclose(codec.decode(merged).xy[0, :, 0] / 4, 20.8, atol=0.01)
