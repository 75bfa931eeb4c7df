"""Deterministic synthetic person images ("stick figures") with known keypoints.

Used (1) as the documented calibration fallback when no ``--calib-images`` folder is given, (2) as the default
verification inputs, and (3) by the test fixture that trains zoo models briefly so their outputs are peaked.
They are not photographs: a model trained on them is a test fixture, not a pretrained model.

Each keypoint is drawn as a disc of its own colour, limbs as grey lines, on a noisy background, so a small
network can learn to localise every keypoint within a few hundred steps.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _palette(k: int) -> np.ndarray:
    """(K, 3) uint8: well separated, saturated colours (evenly spaced hues)."""
    hues = np.arange(k) / k
    out = []
    for h in hues:
        i = int(h * 6) % 6
        f = h * 6 - int(h * 6)
        v, q, t = 1.0, 1.0 - f, f
        rgb = [(v, t, 0), (q, v, 0), (0, v, t), (0, q, v), (t, 0, v), (v, 0, q)][i]
        out.append([int(255 * c) for c in rgb])
    return np.asarray(out, dtype=np.uint8)


def random_keypoints(
    rng: np.random.Generator, k: int, width: int, height: int, margin: float = 0.12
) -> np.ndarray:
    """(K, 2) float32 keypoints inside the image, spread like a person in a top-down crop."""
    cx = rng.uniform(0.4, 0.6) * width
    cy = rng.uniform(0.4, 0.6) * height
    spread = np.array([width, height]) * rng.uniform(0.25, 0.38)
    base = np.stack([np.cos(np.linspace(0, 2 * np.pi, k, endpoint=False)), np.linspace(-1, 1, k)], 1)
    jitter = rng.uniform(-0.35, 0.35, size=(k, 2))
    pts = np.array([cx, cy]) + (base * 0.6 + jitter) * spread
    lo = np.array([width, height]) * margin
    hi = np.array([width, height]) * (1 - margin)
    return np.clip(pts, lo, hi).astype(np.float32)


def render(
    keypoints: np.ndarray,
    width: int,
    height: int,
    skeleton: Sequence[tuple[int, int]],
    rng: np.random.Generator,
) -> np.ndarray:
    """(H, W, 3) uint8 RGB image of the stick figure. Keypoints are (K, 2) in pixels, pixel centres at integers."""
    from PIL import Image, ImageDraw

    noise = rng.integers(0, 60, size=(height, width, 3), dtype=np.uint8)
    img = Image.fromarray(noise + np.uint8(40), "RGB")
    draw = ImageDraw.Draw(img)
    scale = max(2.0, min(width, height) / 40)
    for a, b in skeleton:
        draw.line(
            [tuple(keypoints[a]), tuple(keypoints[b])], fill=(150, 150, 150), width=max(1, int(scale / 2))
        )
    colours = _palette(len(keypoints))
    for (x, y), c in zip(keypoints, colours, strict=True):
        draw.ellipse([x - scale, y - scale, x + scale, y + scale], fill=tuple(int(v) for v in c))
    return np.asarray(img, dtype=np.uint8)


def make_samples(
    count: int,
    num_keypoints: int,
    width: int,
    height: int,
    skeleton: Sequence[tuple[int, int]],
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` images (N, H, W, 3) uint8 RGB and their keypoints (N, K, 2) float32 in input pixels."""
    rng = np.random.default_rng(seed)
    images = np.empty((count, height, width, 3), dtype=np.uint8)
    points = np.empty((count, num_keypoints, 2), dtype=np.float32)
    for i in range(count):
        points[i] = random_keypoints(rng, num_keypoints, width, height)
        images[i] = render(points[i], width, height, skeleton, rng)
    return images, points
