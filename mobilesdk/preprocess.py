"""Reference preprocessing: image file -> model input, exactly as inference does it.

This is the Python ground truth for the Kotlin/C++ preprocessing that comes later. Conventions:

* images are (H, W, 3) uint8 in the card's colour order (RGB unless the card says BGR);
* ``affine`` resize: the box (default: the whole image) is padded to the input aspect ratio (no 1.25 enlargement
  for whole images) and warped with the HRNet affine (bilinear, black outside) to ``{width, height}``;
  ``stretch``: plain bilinear resize; ``letterbox``: like affine, centred, aspect-preserving;
* float input = ``(pixel - mean) / std`` on the 0..255 scale, NCHW float32.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mobilesdk.cards import InputSpec
from mobilesdk.errors import MobileSDKError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def list_images(folder: Path) -> list[Path]:
    """The jpg/png files directly in ``folder``, sorted. Errors if it is not a folder or holds none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MobileSDKError(f"{folder}: not a folder of images")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise MobileSDKError(f"{folder}: no .jpg/.jpeg/.png images in this folder")
    return files


def load_image(path: Path, color: str = "rgb") -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError) as exc:
        raise MobileSDKError(f"{path}: not a readable image ({exc.__class__.__name__})") from None
    return rgb[..., ::-1].copy() if color == "bgr" else rgb


def crop_to_input(image: np.ndarray, spec: InputSpec, box_xywh: Sequence[float] | None = None) -> np.ndarray:
    """(H, W, 3) uint8 image -> (spec.height, spec.width, 3) uint8 model crop."""
    from PIL import Image

    w_in, h_in = spec.size.width, spec.size.height
    img = Image.fromarray(image)
    if spec.resize == "stretch" and box_xywh is None:
        return np.asarray(img.resize((w_in, h_in), Image.BILINEAR), dtype=np.uint8)
    if box_xywh is None:
        box_xywh = (0.0, 0.0, float(image.shape[1]), float(image.shape[0]))
    x, y, bw, bh = (float(v) for v in box_xywh)
    cx, cy = x + bw / 2, y + bh / 2
    aspect = w_in / h_in
    if bw > aspect * bh:  # pad the box to the input aspect ratio, never squash the person
        bh = bw / aspect
    else:
        bw = bh * aspect
    # Inverse map (output pixel -> source pixel), what PIL's AFFINE transform takes.
    sx, sy = bw / w_in, bh / h_in
    coeffs = (sx, 0.0, cx - bw / 2, 0.0, sy, cy - bh / 2)
    out = img.transform((w_in, h_in), Image.AFFINE, coeffs, resample=Image.BILINEAR, fillcolor=(0, 0, 0))
    return np.asarray(out, dtype=np.uint8)


def normalize(crops: np.ndarray, spec: InputSpec) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float32 normalised with the card's mean/std."""
    mean = np.asarray(spec.mean, dtype=np.float32)
    std = np.asarray(spec.std, dtype=np.float32)
    x = (crops.astype(np.float32) - mean) / std
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def load_folder(folder: Path, spec: InputSpec, limit: int | None = None) -> tuple[np.ndarray, list[Path]]:
    """(N, H, W, 3) uint8 crops of the images in ``folder`` (at most ``limit``), and their paths."""
    files = list_images(folder)[:limit]
    crops = np.stack([crop_to_input(load_image(p, spec.color), spec) for p in files])
    return crops, files
