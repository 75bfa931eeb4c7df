"""Reference preprocessing: the sampling, YUV conversion, rotation, crop matrices and image folders."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from mobilesdk import preprocess as pp
from mobilesdk.cards import InputSpec, Size
from mobilesdk.errors import MobileSDKError
from mobilesdk.preprocess import crop_to_input, list_images, load_folder, normalize

SPEC = InputSpec(size=Size(64, 64), color="rgb", mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), resize="affine")


@pytest.fixture
def image() -> np.ndarray:
    from mobilesdk.vectors import _test_image

    return _test_image(np.random.default_rng(3), 60, 44)


def test_affine_crop_pads_to_aspect_instead_of_squashing():
    img = np.full((100, 200, 3), 200, np.uint8)  # wide image -> black bars above and below
    out = crop_to_input(img, SPEC)
    assert out.shape == (64, 64, 3)
    assert out[2, 32].max() == 0 and out[-3, 32].max() == 0  # padding rows
    assert out[32, 2].min() == 200 and out[32, -3].min() == 200  # content spans the full width


def test_same_size_whole_frame_is_the_identity(image):
    spec = replace(SPEC, size=Size(60, 44))
    np.testing.assert_array_equal(crop_to_input(image, spec), image)
    np.testing.assert_array_equal(pp.crop_matrix(spec, 60, 44), [[1, 0, 0], [0, 1, 0]])


def test_roi_crop_is_enlarged_by_roi_padding_and_centred():
    m = pp.crop_matrix(SPEC, 200, 100, roi=(90, 40, 110, 60))  # 20x20 box, x1.25 -> 25 px fill 64 px
    np.testing.assert_allclose(m, [[64 / 25, 0, 32 - 64 / 25 * 100], [0, 64 / 25, 32 - 64 / 25 * 50]])
    letter = pp.crop_matrix(replace(SPEC, resize="letterbox"), 200, 100, roi=(90, 40, 110, 60))
    assert letter[0, 0] == pytest.approx(64 / 20)


def test_stretch_aligns_pixel_centres_like_cv2_resize():
    m = pp.crop_matrix(replace(SPEC, resize="stretch"), 128, 32)
    # cv2.resize: src = (dst + 0.5) * (W_src / W_dst) - 0.5  <=>  dst = (src + 0.5) * W_dst / W_src - 0.5
    np.testing.assert_allclose(
        pp.keypoints_to_frame(np.array([[0.0, 0.0], [63.0, 63.0]]), m), [[0.5, -0.25], [126.5, 31.25]]
    )


def test_warp_matches_pil_affine_inside_the_frame(image):
    """PIL's AFFINE transform samples at pixel centres: the same warp, expressed with shifted coefficients."""
    spec = replace(SPEC, size=Size(32, 40))
    m = pp.crop_matrix(spec, 60, 44, roi=(12.3, 5.1, 41.7, 37.9))
    ours = crop_to_input(image, spec, roi=(12.3, 5.1, 41.7, 37.9)).astype(int)
    inv = pp.invert_affine(m)
    a, b, c = inv[0]
    d, e, f = inv[1]
    coeffs = (a, b, c + 0.5 - 0.5 * (a + b), d, e, f + 0.5 - 0.5 * (d + e))
    pil = np.asarray(
        Image.fromarray(image).transform((32, 40), Image.AFFINE, coeffs, resample=Image.BILINEAR)
    ).astype(int)
    # PIL replicates the edge where we blend with black; compare where all four taps are inside the frame.
    u, v = np.meshgrid(np.arange(32), np.arange(40))
    x, y = inv[0, 0] * u + inv[0, 1] * v + inv[0, 2], inv[1, 0] * u + inv[1, 1] * v + inv[1, 2]
    inside = (x >= 0) & (x <= 58) & (y >= 0) & (y <= 42)
    assert inside.sum() > 500
    assert np.abs(ours - pil)[inside].max() <= 1


def test_taps_outside_the_frame_are_black():
    img = np.full((4, 4, 3), 100, np.uint8)
    out = pp.warp_bilinear(img, np.array([[1.0, 0, 0.5], [0, 1.0, 0.5]]), 5, 5)  # shift by half a pixel
    assert out[0, 0, 0] == pytest.approx(25.0)  # 1 of 4 taps inside
    assert out[0, 1, 0] == pytest.approx(50.0) and out[2, 2, 0] == pytest.approx(100.0)


@pytest.mark.parametrize("rotation", pp.ROTATIONS)
def test_rotation_then_mapping_back_lands_on_the_same_pixel(image, rotation):
    frame = pp.Frame.from_array(image)
    spec = replace(SPEC, size=Size(44, 60) if rotation in (90, 270) else Size(60, 44))
    x, m = pp.preprocess(frame, spec, layout="NHWC", dtype="uint8", rotation=rotation)
    upright = np.rot90(image, -(rotation // 90))
    np.testing.assert_array_equal(x[0], upright)  # same size, whole frame: the identity crop
    # A keypoint at input pixel (u, v) maps to the upright pixel with the same value.
    u, v = 7, 11
    fx, fy = pp.keypoints_to_frame(np.array([u, v], float), m)
    assert (fx, fy) == pytest.approx((u, v))


def test_yuv_round_trip_is_close_and_formats_agree(image):
    rgb = pp.frame_to_rgb(pp.Frame.from_array(image))
    nv21 = pp.frame_to_rgb(pp.rgb_to_yuv_frame(image[:44, :60], "nv21", row_padding=5))
    planar = pp.frame_to_rgb(pp.rgb_to_yuv_frame(image[:44, :60], "yuv420", row_padding=3, pixel_stride=1))
    semi = pp.frame_to_rgb(pp.rgb_to_yuv_frame(image[:44, :60], "yuv420", pixel_stride=2))
    np.testing.assert_array_equal(nv21, planar)
    np.testing.assert_array_equal(nv21, semi)
    assert np.abs(nv21 - rgb).mean() < 12  # chroma is shared by 2x2 blocks: a lossy round trip
    grey = np.full((4, 4, 3), 77, np.uint8)
    np.testing.assert_allclose(pp.frame_to_rgb(pp.rgb_to_yuv_frame(grey, "nv21")), 77, atol=0.6)


def test_jfif_coefficients_are_full_range_bt601():
    y = np.array([16, 235, 128, 128], np.uint8)
    frame = pp.Frame(
        "yuv420",
        2,
        2,
        (
            pp.Plane(y, 2, 1),
            pp.Plane(np.array([255], np.uint8), 1, 1),
            pp.Plane(np.array([128], np.uint8), 1, 1),
        ),
    )
    rgb = pp.frame_to_rgb(frame)
    assert rgb[0, 0].tolist() == pytest.approx([16, 0, 16 + 1.772 * 127])  # G clamped at 0, not rounded
    assert rgb[1, 1].tolist() == pytest.approx([128, 128 - 0.344136 * 127, 255])  # B clamped at 255


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pp.Frame("rgba", 4, 4, (pp.Plane(np.zeros(63, np.uint8), 16, 4),)), "needs 64"),
        (pp.Frame("rgba", 4, 4, (pp.Plane(np.zeros(64, np.uint8), 12, 4),)), "row stride 12 is smaller"),
        (
            pp.Frame(
                "nv21", 5, 4, (pp.Plane(np.zeros(20, np.uint8), 5, 1), pp.Plane(np.zeros(10, np.uint8), 5, 2))
            ),
            "even",
        ),
        (pp.Frame("rgb", 0, 4, (pp.Plane(np.zeros(1, np.uint8), 3, 3),)), "must be > 0"),
        (pp.Frame("yuv420", 4, 4, (pp.Plane(np.zeros(16, np.uint8), 4, 1),)), "3 plane"),
        (pp.Frame("gray", 4, 4, ()), "unknown frame format"),
    ],
)
def test_bad_frames_are_named(frame, message):
    with pytest.raises(pp.PreprocessError, match=message):
        pp.frame_to_rgb(frame)


@pytest.mark.parametrize(
    ("roi", "message"),
    [
        ((10, 10, 5, 20), "right must exceed"),
        ((0, 0, float("nan"), 4), "finite"),
        ((70, 0, 90, 10), "outside"),
    ],
)
def test_bad_rois_are_named(roi, message):
    with pytest.raises(pp.PreprocessError, match=message):
        pp.crop_matrix(SPEC, 64, 48, roi)


def test_bad_rotation():
    with pytest.raises(pp.PreprocessError, match="rotation 45"):
        pp.rotate(np.zeros((2, 2, 3)), 45)


def test_normalize_is_nchw_float_in_the_cards_colour_order():
    crops = np.zeros((2, 64, 64, 3), np.uint8)
    crops[..., 0] = 128
    spec = InputSpec(SPEC.size, "rgb", (128.0, 0.0, 28.0), (1.0, 2.0, 50.0), "affine")
    x = normalize(crops, spec)
    assert x.shape == (2, 3, 64, 64) and x.dtype == np.float32
    assert x[0, :, 0, 0].tolist() == pytest.approx([0.0, 0.0, -0.56])
    bgr = normalize(crops, replace(spec, color="bgr"))
    assert bgr[0, :, 0, 0].tolist() == pytest.approx([-128.0, 0.0, 2.0])


def test_vectors_are_written_and_reproduce_the_reference(tmp_path):
    import json

    from mobilesdk.vectors import write_vectors

    index = json.loads(write_vectors(tmp_path).read_text())
    kinds = {c["kind"] for c in index["cases"]}
    assert kinds >= {"preprocess", "decode", "flip_merge", "oks", "oks_nms", "matrix_oks_nms", "rescore"}
    pre = [c for c in index["cases"] if c["kind"] == "preprocess"]
    assert {c["frame"]["format"] for c in pre} == set(pp.FORMATS) and {c["rotation"] for c in pre} == set(
        pp.ROTATIONS
    )
    case = pre[5]
    ref = case["expected"]
    data = np.fromfile(tmp_path / ref["file"], dtype=ref["dtype"]).reshape(ref["shape"])
    assert data.std() > 0.1  # not an empty image


def test_image_folders(tmp_path):
    with pytest.raises(MobileSDKError, match="not a folder of images"):
        list_images(tmp_path / "missing")
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(MobileSDKError, match="no .jpg/.jpeg/.png images"):
        list_images(tmp_path)
    Image.new("RGB", (30, 20), (255, 0, 0)).save(tmp_path / "b.png")
    Image.new("RGB", (20, 30), (0, 0, 255)).save(tmp_path / "c.JPG")
    crops, files = load_folder(tmp_path, SPEC)
    assert [f.name for f in files] == ["b.png", "c.JPG"] and crops.shape == (2, 64, 64, 3)
    assert crops[0, 32, 32, 0] > 200 and crops[1, 32, 32, 2] > 200
    (tmp_path / "d.png").write_bytes(b"not a png")
    with pytest.raises(MobileSDKError, match="not a readable image"):
        load_folder(tmp_path, SPEC)
