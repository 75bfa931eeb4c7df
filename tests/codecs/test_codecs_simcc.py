"""SimCC codec: decode rule, round trip, defined results for degenerate logits, flip merge."""

import numpy as np
import pytest

from mobilesdk.codecs import build_codec
from mobilesdk.codecs.base import softmax
from mobilesdk.errors import CodecError

SIZE = {"width": 192, "height": 256}


def make(**params):
    return build_codec("simcc", SIZE, 17, params)


@pytest.mark.parametrize("k", [2.0, 3.0, 1.5])
def test_round_trip_within_half_a_bin(rng, k):
    codec = make(split_ratio=k)
    kp = rng.uniform([0, 0], [192, 256], size=(8, 17, 2))
    dec = codec.decode(codec.encode(kp))
    assert dec.xy.shape == (8, 17, 2) and dec.xy.dtype == np.float32
    # Nearest bin of μ = x·k, so |x̂ - x| <= 0.5/k (brief's bound: 1/k).
    assert np.abs(dec.xy - kp).max() <= 0.5 / k + 1e-5


def test_decode_is_argmax_over_k_and_score_is_min_softmax_peak():
    codec = make()
    n, kk, bx, by = 1, 17, 384, 512
    lx, ly = np.zeros((n, kk, bx)), np.zeros((n, kk, by))
    lx[0, :, 101] = 3.0
    ly[0, :, 250] = 1.0
    ly[0, 5, 250] = 5.0  # joint 5: y more confident than x -> score from x
    dec = codec.decode({"simcc_x": lx, "simcc_y": ly})
    np.testing.assert_array_equal(dec.xy[0, 0], [50.5, 125.0])
    vx = np.e**3 / (np.e**3 + bx - 1)
    vy = np.e / (np.e + by - 1)
    np.testing.assert_allclose(dec.scores[0, 0], min(vx, vy), rtol=1e-6)
    np.testing.assert_allclose(dec.scores[0, 5], vx, rtol=1e-6)


def test_score_without_normalize_is_min_raw_peak():
    codec = make(normalize=False)
    lx, ly = np.zeros((1, 17, 384)), np.full((1, 17, 512), -1.0)
    lx[..., 7] = 0.8
    ly[..., 9] = 0.6
    dec = codec.decode({"simcc_x": lx, "simcc_y": ly})
    np.testing.assert_allclose(dec.scores, 0.6)
    np.testing.assert_allclose(dec.xy[0, 0], [3.5, 4.5])


def test_all_equal_logits_give_bin_zero_and_uniform_score():
    codec = make()
    dec = codec.decode({"simcc_x": np.full((2, 17, 384), 7.0), "simcc_y": np.full((2, 17, 512), -3.0)})
    np.testing.assert_array_equal(dec.xy, 0.0)
    np.testing.assert_allclose(dec.scores, 1.0 / 512)


def test_softmax_is_stable_for_huge_logits():
    codec = make()
    lx, ly = np.full((1, 17, 384), 1e30), np.full((1, 17, 512), -1e30)
    lx[..., 10] = 3e30
    dec = codec.decode({"simcc_x": lx.astype(np.float32), "simcc_y": ly.astype(np.float32)})
    assert np.isfinite(dec.scores).all()
    np.testing.assert_allclose(dec.xy[0, :, 0], 5.0)
    np.testing.assert_allclose(dec.scores, 1.0 / 512)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_logits_name_the_output(bad):
    codec = make()
    lx, ly = np.zeros((1, 17, 384), np.float32), np.zeros((1, 17, 512), np.float32)
    lx[0, 3, 17] = bad
    with pytest.raises(CodecError, match=r"simcc: outputs\['simcc_x'\] contains NaN or inf"):
        codec.decode({"simcc_x": lx, "simcc_y": ly})


def test_encode_labels():
    codec = make(sigma={"x": 4.0, "y": 6.0})
    kp = np.array([[[10.25, 20.0]] * 17])
    t = codec.encode(kp)
    assert t["simcc_x"].shape == (1, 17, 384) and t["simcc_x"].dtype == np.float32
    i = np.arange(384)
    np.testing.assert_allclose(t["simcc_x"][0, 0], np.exp(-((i - 20.5) ** 2) / 32.0), rtol=1e-6, atol=1e-30)
    assert t["simcc_y"][0, 0].max() == pytest.approx(1.0)  # μ = 40 is a bin: peak 1
    np.testing.assert_allclose(t["simcc_y"][0, 0, 46], np.exp(-36 / 72), rtol=1e-6)


def test_encode_zeroes_invisible_and_outside_keypoints():
    codec = make()
    kp = np.full((1, 17, 2), 50.0)
    kp[0, 1] = [192.0, 10.0]  # μx = 384 = Bx: outside
    kp[0, 2] = [10.0, -0.1]
    vis = np.ones((1, 17))
    vis[0, 3] = 0
    t = codec.encode(kp, vis)
    for name in ("simcc_x", "simcc_y"):
        assert not t[name][0, 1:4].any()
        assert t[name][0, 0].max() > 0.99 and t[name][0, 4:].min() >= 0


def test_flip_merge_of_an_equivariant_pair_gives_the_plain_result(rng, coco_flip_pairs, coco_perm):
    """Mirror image outputs = plain outputs with x bins reversed and pairs swapped -> merge is a no-op."""
    codec = make()
    plain = {"simcc_x": rng.normal(size=(2, 17, 384)) * 3, "simcc_y": rng.normal(size=(2, 17, 512)) * 3}
    mirrored = {"simcc_x": plain["simcc_x"][:, coco_perm, ::-1], "simcc_y": plain["simcc_y"][:, coco_perm]}
    merged = codec.flip_merge(plain, mirrored, coco_flip_pairs)
    assert merged["simcc_x"].dtype == np.float32
    np.testing.assert_allclose(softmax(merged["simcc_x"]), softmax(plain["simcc_x"]), rtol=1e-5, atol=1e-12)
    a, b = codec.decode(merged), codec.decode(plain)
    np.testing.assert_array_equal(a.xy, b.xy)
    np.testing.assert_allclose(a.scores, b.scores, rtol=1e-5)


def test_flip_merge_softmax_rule_averages_probabilities(rng, coco_flip_pairs, coco_perm):
    codec = make()
    a = {"simcc_x": rng.normal(size=(1, 17, 384)), "simcc_y": rng.normal(size=(1, 17, 512))}
    b = {"simcc_x": rng.normal(size=(1, 17, 384)), "simcc_y": rng.normal(size=(1, 17, 512))}
    merged = codec.flip_merge(a, b, coco_flip_pairs)
    want_x = (softmax(a["simcc_x"]) + softmax(b["simcc_x"][:, coco_perm, ::-1])) / 2
    want_y = (softmax(a["simcc_y"]) + softmax(b["simcc_y"][:, coco_perm])) / 2
    np.testing.assert_allclose(softmax(merged["simcc_x"]), want_x, rtol=1e-5)
    np.testing.assert_allclose(softmax(merged["simcc_y"]), want_y, rtol=1e-5)
    raw = make(normalize=False).flip_merge(a, b, coco_flip_pairs)
    np.testing.assert_allclose(raw["simcc_x"], want_x, rtol=1e-5)


def test_flip_merge_logits_rule_with_shift_recovers_a_pixel_mirror(coco_flip_pairs, coco_perm):
    """Mirror at pixel level: x_f = W - 1 - x. With k=2 the reversed bin is one too far right; the shift fixes it."""
    codec = make(flip_average="logits", flip_shift=True, sigma=0.5)
    kp = np.stack([np.arange(17) * 10.0 + 0.5, np.arange(17) * 12.0 + 3.0], axis=-1)[None]
    mirror = kp[:, coco_perm].copy()
    mirror[..., 0] = 192 - 1 - mirror[..., 0]
    plain_out, mirror_out = codec.encode(kp), codec.encode(mirror)
    merged = codec.flip_merge(plain_out, mirror_out, coco_flip_pairs)
    expected = (plain_out["simcc_x"] + np.roll(mirror_out["simcc_x"][:, coco_perm, ::-1], -1, axis=-1)) / 2
    np.testing.assert_allclose(merged["simcc_x"][..., :-1], expected[..., :-1], atol=1e-6)
    np.testing.assert_allclose(codec.decode(merged).xy, kp, atol=1e-6)
    unshifted = make(flip_average="logits", sigma=0.5).flip_merge(plain_out, mirror_out, coco_flip_pairs)
    assert np.abs(unshifted["simcc_x"] - merged["simcc_x"]).max() > 0.1


def test_fractional_bin_counts_accept_both_heads_conventions():
    """W·k = 97.5: official SimCC / RTMCCHead heads give int() = 97 bins, MMPose's SimCCLabel np.around = 98;
    an MMPose-trained model's outputs decode either way, bin i -> i/k px."""
    codec = build_codec("simcc", {"width": 65, "height": 64}, 3, {"split_ratio": 1.5})
    assert codec.output_shapes() == {"simcc_x": (3, 97), "simcc_y": (3, 96)}
    for bx in (97, 98):
        lx = np.zeros((1, 3, bx))
        lx[0, :, bx - 1] = 4.0
        dec = codec.decode({"simcc_x": lx, "simcc_y": np.zeros((1, 3, 96))})
        np.testing.assert_allclose(dec.xy[0, :, 0], (bx - 1) / 1.5)
    with pytest.raises(CodecError, match="simcc_x"):
        codec.decode({"simcc_x": np.zeros((1, 3, 99)), "simcc_y": np.zeros((1, 3, 96))})
