"""2-D heatmap codec: HRNet argmax (§5.1), optional quarter offset (HRNet POST_PROCESS) or DARK (§5.3).

Legend: N instances, K keypoints, H/W model-input height/width (px), Hh/Wh heatmap height/width.
Heatmap cell (i, j) is the point x_hm = j, y_hm = i; it maps to model-input pixels by
x_in = x_hm · W/Wh, y_in = y_hm · H/Hh (HRNet: ``transform_preds(coords, c, s, [Wh, Hh])`` maps heatmap
coordinates to the image; with equal strides on both axes that equals this scaling followed by
``transform_preds(..., [W, H])``, which is what :func:`mobilesdk.codecs.affine.keypoints_to_image` does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mobilesdk.codecs.base import (
    REQUIRED,
    Codec,
    Keypoints,
    parse_bool,
    parse_choice,
    parse_int,
    parse_positive_float,
    parse_size,
)
from mobilesdk.codecs.registry import register_codec
from mobilesdk.errors import CodecError

# OpenCV 4.x getGaussianKernel (getGaussianKernelBitExact in imgproc/src/smooth.dispatch.cpp) uses these fixed
# kernels for ksize 1, 3, 5, 7 and 9 when sigma <= 0 (GaussianBlur with sigmaX=0 passes sigma 0 through),
# instead of the sigma = 0.3·((ksize-1)·0.5 - 1) + 0.8 formula. The 9-tap table is not the formula's kernel:
# using the formula there moves DARK by ~0.004 px.
_CV_SMALL_KERNELS = {
    1: (1.0,),
    3: (0.25, 0.5, 0.25),
    5: (0.0625, 0.25, 0.375, 0.25, 0.0625),
    7: (0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125),
    9: tuple(v / 256.0 for v in (4, 13, 30, 51, 60, 51, 30, 13, 4)),
}
# DarkPose floors the blurred heatmap before the log.
_LOG_FLOOR = 1e-10


def gaussian_kernel_1d(ksize: int) -> np.ndarray:
    """(ksize,) float64 kernel equal to ``cv2.getGaussianKernel(ksize, 0, cv2.CV_64F)``.

    ksize must be odd and >= 1. For ksize 1, 3, 5, 7 and 9 OpenCV's fixed tables are used; otherwise
    sigma = 0.3·((ksize-1)·0.5 - 1) + 0.8 and the samples exp(-x²/(2σ²)) are normalised to sum 1.
    """
    if isinstance(ksize, bool) or not isinstance(ksize, int | np.integer) or ksize < 1 or ksize % 2 == 0:
        raise CodecError(f"Gaussian kernel size must be an odd integer >= 1, got {ksize!r}")
    if ksize in _CV_SMALL_KERNELS:
        return np.array(_CV_SMALL_KERNELS[ksize], dtype=np.float64)
    sigma = ((ksize - 1) * 0.5 - 1) * 0.3 + 0.8
    x = np.arange(ksize, dtype=np.float64) - (ksize - 1) * 0.5
    t = np.exp(-0.5 / (sigma * sigma) * x * x)
    total = 0.0
    for v in t:  # sequential sum, as OpenCV
        total += v
    return t * (1.0 / total)


def gaussian_blur(heatmaps: np.ndarray, ksize: int) -> np.ndarray:
    """DarkPose ``gaussian_blur``: per map, zero-pad by (ksize-1)/2, cv2.GaussianBlur((ksize, ksize), 0), crop,
    then rescale so the blurred max equals the original max.

    Args:
        heatmaps: (..., Hh, Wh), e.g. (N, K, Hh, Wh).
        ksize: odd kernel size (11 for σ=2 heatmaps, 17 for σ=3).

    Returns:
        (..., Hh, Wh) float64. The zero padding covers the whole kernel reach, so OpenCV's border mode never
        matters and this is a plain separable correlation with zero padding. The rescale is skipped for maps
        whose blurred max is <= 0 (DarkPose would divide by zero or flip signs; such maps have a zeroed
        location anyway unless they are mostly negative).
    """
    hm = np.asarray(heatmaps, dtype=np.float64)
    kernel = gaussian_kernel_1d(ksize)
    r = (ksize - 1) // 2
    h, w = hm.shape[-2:]
    padded = np.pad(hm, [(0, 0)] * (hm.ndim - 2) + [(r, r), (r, r)])
    rows = sum(kernel[t] * padded[..., :, t : t + w] for t in range(ksize))
    blurred = sum(kernel[t] * rows[..., t : t + h, :] for t in range(ksize))
    orig_max = hm.max(axis=(-2, -1), keepdims=True)
    new_max = blurred.max(axis=(-2, -1), keepdims=True)
    ratio = np.divide(orig_max, new_max, out=np.ones_like(new_max), where=new_max > 0)
    return blurred * ratio


def argmax_2d(heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """HRNet ``get_max_preds``: (N, K, Hh, Wh) -> coords (N, K, 2) float64 heatmap cells, maxvals (N, K).

    The first maximum in row-major order wins. Coordinates are zeroed where maxval <= 0.
    """
    n, k, h, w = heatmaps.shape
    flat = heatmaps.reshape(n, k, h * w)
    idx = flat.argmax(axis=-1)
    maxvals = np.take_along_axis(flat, idx[..., None], axis=-1)[..., 0]
    coords = np.stack([idx % w, idx // w], axis=-1).astype(np.float64)
    coords[maxvals <= 0] = 0.0
    return coords, maxvals


def quarter_offset_refine(heatmaps: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """HRNet POST_PROCESS: move 0.25 cell towards the higher neighbour on each axis.

    Args:
        heatmaps: (N, K, Hh, Wh); coords: (N, K, 2) heatmap cells from :func:`argmax_2d`.

    Returns:
        (N, K, 2) float64. px, py = floor(x + 0.5), floor(y + 0.5); only where 1 < px < Wh-1 and
        1 < py < Hh-1: coords += sign([hm[py, px+1] - hm[py, px-1], hm[py+1, px] - hm[py-1, px]]) · 0.25.
    """
    h, w = heatmaps.shape[-2:]
    px = np.floor(coords[..., 0] + 0.5).astype(np.int64)
    py = np.floor(coords[..., 1] + 0.5).astype(np.int64)
    ok = (px > 1) & (px < w - 1) & (py > 1) & (py < h - 1)
    px, py = np.where(ok, px, 2), np.where(ok, py, 2)  # safe gather indices; masked out below

    def at(dy: int, dx: int) -> np.ndarray:
        return _gather(heatmaps, py + dy, px + dx)

    diff = np.stack([at(0, 1) - at(0, -1), at(1, 0) - at(-1, 0)], axis=-1)
    return coords + np.where(ok[..., None], np.sign(diff) * 0.25, 0.0)


def dark_refine(heatmaps: np.ndarray, coords: np.ndarray, blur_kernel: int) -> np.ndarray:
    """DARK (§5.3): blur, log, one Newton/Taylor step from the integer peak.

    Args:
        heatmaps: (N, K, Hh, Wh) raw (pre-blur) heatmaps.
        coords: (N, K, 2) integer heatmap cells from :func:`argmax_2d`.
        blur_kernel: odd Gaussian kernel size for :func:`gaussian_blur`.

    Returns:
        (N, K, 2) float64. With L = log(max(blurred, 1e-10)), only where 1 < px < Wh-2 and 1 < py < Hh-2
        and det = dxx·dyy - dxy² != 0: coords -= [[dxx, dxy], [dxy, dyy]]⁻¹ · [dx, dy], where
        dx = (L[py, px+1] - L[py, px-1]) / 2, dxx = (L[py, px+2] - 2 L[py, px] + L[py, px-2]) / 4,
        dxy = (L[py+1, px+1] - L[py-1, px+1] - L[py+1, px-1] + L[py-1, px-1]) / 4 (dy, dyy likewise).
        Everything runs in float64 (DarkPose's log and Taylor step run in float32; expect ~1e-5 cell).
    """
    h, w = heatmaps.shape[-2:]
    logm = np.log(np.maximum(gaussian_blur(heatmaps, blur_kernel), _LOG_FLOOR))
    px = coords[..., 0].astype(np.int64)
    py = coords[..., 1].astype(np.int64)
    ok = (px > 1) & (px < w - 2) & (py > 1) & (py < h - 2)
    px, py = np.where(ok, px, 2), np.where(ok, py, 2)

    def at(dy: int, dx: int) -> np.ndarray:
        return _gather(logm, py + dy, px + dx)

    center = at(0, 0)
    dx = 0.5 * (at(0, 1) - at(0, -1))
    dy = 0.5 * (at(1, 0) - at(-1, 0))
    dxx = 0.25 * (at(0, 2) - 2 * center + at(0, -2))
    dxy = 0.25 * (at(1, 1) - at(-1, 1) - at(1, -1) + at(-1, -1))
    dyy = 0.25 * (at(2, 0) - 2 * center + at(-2, 0))
    det = dxx * dyy - dxy**2
    ok &= det != 0
    safe = np.where(ok, det, 1.0)
    offset = np.stack([-(dyy * dx - dxy * dy) / safe, -(dxx * dy - dxy * dx) / safe], axis=-1)
    return coords + np.where(ok[..., None], offset, 0.0)


def _gather(maps: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """maps (N, K, Hh, Wh), rows/cols (N, K) int -> (N, K) values maps[n, k, rows[n, k], cols[n, k]]."""
    n, k = rows.shape
    return maps[np.arange(n)[:, None], np.arange(k)[None, :], rows, cols]


@register_codec
class HeatmapCodec(Codec):
    """2-D Gaussian heatmap decoder/encoder (HRNet, DarkPose).

    Output: ``heatmaps`` (N, K, Hh, Wh).

    Params:
        heatmap_size: ``{"width": Wh, "height": Hh}`` (required).
        sigma: Gaussian std of the encoded targets, in heatmap cells (default 2.0).
        refine: ``"dark"`` (default, §5.3), ``"quarter-offset"`` (HRNet POST_PROCESS, §5.1) or ``"none"``.
        blur_kernel: odd DARK blur kernel size (default 11, DarkPose's value for σ=2; 17 for σ=3).
        shift_flip: HRNet SHIFT_HEATMAP in :meth:`flip_merge` (default True; DarkPose's validation: False).
    """

    name = "heatmap"
    output_names = ("heatmaps",)
    param_defaults = {
        "heatmap_size": REQUIRED,
        "sigma": 2.0,
        "refine": "dark",
        "blur_kernel": 11,
        "shift_flip": True,
    }

    def _configure(self, params: dict[str, Any]) -> None:
        self.heatmap_size = parse_size("heatmap: heatmap_size", params["heatmap_size"])
        self.sigma = parse_positive_float("heatmap: sigma", params["sigma"])
        self.refine = parse_choice("heatmap: refine", params["refine"], ("dark", "quarter-offset", "none"))
        self.blur_kernel = parse_int("heatmap: blur_kernel", params["blur_kernel"], minimum=1)
        if self.blur_kernel % 2 == 0:
            raise CodecError(f"heatmap: blur_kernel must be odd, got {self.blur_kernel}")
        self.shift_flip = parse_bool("heatmap: shift_flip", params["shift_flip"])
        self._stride = np.array(
            [
                self.input_size["width"] / self.heatmap_size["width"],
                self.input_size["height"] / self.heatmap_size["height"],
            ]
        )

    def params(self) -> dict[str, Any]:
        return {
            "heatmap_size": dict(self.heatmap_size),
            "sigma": self.sigma,
            "refine": self.refine,
            "blur_kernel": self.blur_kernel,
            "shift_flip": self.shift_flip,
        }

    def output_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"heatmaps": (self.num_keypoints, self.heatmap_size["height"], self.heatmap_size["width"])}

    def decode(self, outputs: Mapping[str, np.ndarray]) -> Keypoints:
        """Decode heatmaps.

        Args:
            outputs: ``heatmaps`` (N, K, Hh, Wh), any real dtype (computed in float64).

        Returns:
            xy (N, K, 2) model-input px: argmax cell (first max, row-major), refined per ``refine``, times
            (W/Wh, H/Hh). scores (N, K): the pre-blur peak value. Where that peak is <= 0 the location is
            (0, 0) (HRNet zeroes it; no refinement applies there) and the score is the peak value as is.

        Raises:
            CodecError: wrong name or shape, or NaN/inf in the heatmaps.
        """
        hm = self._check_outputs(outputs)["heatmaps"]
        coords, maxvals = argmax_2d(hm)
        if self.refine == "quarter-offset":
            coords = quarter_offset_refine(hm, coords)
        elif self.refine == "dark":
            coords = dark_refine(hm, coords, self.blur_kernel)
        return self._keypoints(coords * self._stride, maxvals)

    def encode(self, keypoints: np.ndarray, visible: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """DARK unbiased Gaussian targets.

        Args:
            keypoints: (N, K, 2) model-input px. visible: optional (N, K); entries <= 0 are not visible.

        Returns:
            ``heatmaps`` (N, K, Hh, Wh) float32, exp(-((j - μx)² + (i - μy)²) / (2σ²)) over the full grid with
            the non-integer centre μ = (x·Wh/W, y·Hh/H), peak 1 when μ is a cell. All-zero maps for keypoints
            not visible or whose 3σ square [μ - 3σ, μ + 3σ + 1] misses the grid (DarkPose's weight-0 rule).
        """
        xy, vis = self._check_keypoints(keypoints, visible)
        mu = xy / self._stride
        tmp = 3.0 * self.sigma
        wh, hh = self.heatmap_size["width"], self.heatmap_size["height"]
        inside = (mu[..., 0] - tmp < wh) & (mu[..., 1] - tmp < hh) & (mu[..., 0] + tmp + 1 >= 0)
        inside &= mu[..., 1] + tmp + 1 >= 0
        gx = np.exp(-((np.arange(wh) - mu[..., 0, None]) ** 2) / (2 * self.sigma**2))
        gy = np.exp(-((np.arange(hh) - mu[..., 1, None]) ** 2) / (2 * self.sigma**2))
        maps = gy[..., :, None] * gx[..., None, :]
        maps[~(vis & inside)] = 0.0
        return {"heatmaps": maps.astype(np.float32)}

    def flip_merge(
        self,
        outputs: Mapping[str, np.ndarray],
        flipped_outputs: Mapping[str, np.ndarray],
        flip_pairs: Sequence[Sequence[int]],
    ) -> dict[str, np.ndarray]:
        """Flip test (§5.1): mirror the flipped image's heatmaps along W, swap pairs, optionally shift, average.

        Args:
            outputs, flipped_outputs: ``heatmaps`` (N, K, Hh, Wh) for the image and its horizontal mirror.
            flip_pairs: (left, right) keypoint index pairs to swap.

        Returns:
            ``heatmaps`` (N, K, Hh, Wh) float32 = (plain + unflipped) / 2. With ``shift_flip`` the unflipped
            maps move one column right first, ``u[..., 1:] = u[..., :-1]`` (column 0 keeps its value).
        """
        plain, flipped, perm = self._check_merge_inputs(outputs, flipped_outputs, flip_pairs)
        unflipped = flipped["heatmaps"][:, perm, :, ::-1].copy()
        if self.shift_flip:
            unflipped[..., 1:] = unflipped[..., :-1].copy()
        return {"heatmaps": ((plain["heatmaps"] + unflipped) * 0.5).astype(np.float32)}
