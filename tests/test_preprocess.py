"""Reference preprocessing: aspect-preserving crop, normalization, image folders."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mobilesdk.cards import InputSpec, Size
from mobilesdk.errors import MobileSDKError
from mobilesdk.preprocess import crop_to_input, list_images, load_folder, normalize

SPEC = InputSpec(size=Size(64, 64), color="rgb", mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), resize="affine")


def test_affine_crop_pads_to_aspect_instead_of_squashing():
    img = np.full((100, 200, 3), 200, np.uint8)  # wide image -> black bars above and below
    out = crop_to_input(img, SPEC)
    assert out.shape == (64, 64, 3)
    assert out[2, 32].max() == 0 and out[-3, 32].max() == 0  # padding rows
    assert out[32, 2].min() == 200 and out[32, -3].min() == 200  # content spans the full width


def test_stretch_and_box_crop():
    img = np.zeros((100, 200, 3), np.uint8)
    img[40:60, 90:110] = 255
    stretched = crop_to_input(img, InputSpec(SPEC.size, "rgb", SPEC.mean, SPEC.std, "stretch"))
    assert stretched.shape == (64, 64, 3)
    boxed = crop_to_input(img, SPEC, box_xywh=(90, 40, 20, 20))
    assert boxed[32, 32].min() == 255 and boxed[8:56, 8:56].min() > 200


def test_normalize_is_nchw_float():
    crops = np.full((2, 64, 64, 3), 128, np.uint8)
    spec = InputSpec(SPEC.size, "rgb", (128.0, 0.0, 28.0), (1.0, 2.0, 50.0), "affine")
    x = normalize(crops, spec)
    assert x.shape == (2, 3, 64, 64) and x.dtype == np.float32
    assert x[0, :, 0, 0].tolist() == pytest.approx([0.0, 64.0, 2.0])


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
