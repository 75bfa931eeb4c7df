"""Integral (soft-argmax) 3-D codec of MobileHumanPose (spec §2.5, §5.4; ``main/model.py::soft_argmax``).

Legend: N instances, K keypoints, D depth bins, H/W model-input height/width (px), Hh/Wh output-grid
height/width. Grid coordinates are 0-based voxel indices; x_in = x_grid · W/Wh, y_in = y_grid · H/Hh
(MobileHumanPose targets use x_grid = x_in / W · Wh). z stays in grid units (0..D-1); §2.5 gives the
conversion to millimetres.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mobilesdk.codecs.base import REQUIRED, Codec, Keypoints, parse_int, parse_positive_float, parse_size
from mobilesdk.codecs.registry import register_codec
from mobilesdk.errors import CodecError

_TINY = np.finfo(np.float64).tiny


@register_codec
class Integral3DCodec(Codec):
    """Soft-argmax over a per-joint volumetric heatmap.

    Output: ``volumetric`` (N, K·D, Hh, Wh) logits, joint-major depth-minor: channel = j·D + d.

    Params:
        depth_bins: D (required).
        heatmap_size: ``{"width": Wh, "height": Hh}`` (required).
        sigma: std of the Gaussian that :meth:`encode` puts in the volume, in grid units (default 1.5).
    """

    name = "integral-3d"
    output_names = ("volumetric",)
    param_defaults = {"depth_bins": REQUIRED, "heatmap_size": REQUIRED, "sigma": 1.5}

    def _configure(self, params: dict[str, Any]) -> None:
        self.depth_bins = parse_int("integral-3d: depth_bins", params["depth_bins"], minimum=1)
        self.heatmap_size = parse_size("integral-3d: heatmap_size", params["heatmap_size"])
        self.sigma = parse_positive_float("integral-3d: sigma", params["sigma"])
        self._stride = np.array(
            [
                self.input_size["width"] / self.heatmap_size["width"],
                self.input_size["height"] / self.heatmap_size["height"],
            ]
        )

    def params(self) -> dict[str, Any]:
        return {"depth_bins": self.depth_bins, "heatmap_size": dict(self.heatmap_size), "sigma": self.sigma}

    def output_shapes(self) -> dict[str, tuple[int, ...]]:
        hh, wh = self.heatmap_size["height"], self.heatmap_size["width"]
        return {"volumetric": (self.num_keypoints * self.depth_bins, hh, wh)}

    def _volume_probs(self, volumetric: np.ndarray) -> np.ndarray:
        """(N, K·D, Hh, Wh) logits -> (N, K, D, Hh, Wh) float64 probabilities, one stable softmax per joint."""
        n = volumetric.shape[0]
        hh, wh = self.heatmap_size["height"], self.heatmap_size["width"]
        flat = volumetric.reshape(n, self.num_keypoints, self.depth_bins * hh * wh)
        e = np.exp(flat - flat.max(axis=-1, keepdims=True))
        p = e / e.sum(axis=-1, keepdims=True)
        return p.reshape(n, self.num_keypoints, self.depth_bins, hh, wh)

    def decode(self, outputs: Mapping[str, np.ndarray]) -> Keypoints:
        """Soft-argmax.

        Args:
            outputs: ``volumetric`` (N, K·D, Hh, Wh) logits, any real dtype (computed in float64).

        Returns:
            xy (N, K, 2) model-input px: (Σ_w w·p_x(w) · W/Wh, Σ_h h·p_y(h) · H/Hh), 0-based indices, with
            p the softmax over all D·Hh·Wh voxels of a joint and p_x, p_y its marginals.
            z (N, K): Σ_d d·p_z(d), grid units.
            scores (N, K): max of the 2-D (Hh, Wh) marginal Σ_d p. Soft-argmax has no native confidence;
            this is a peakedness measure in (1/(Hh·Wh), 1].

        Raises:
            CodecError: wrong name or shape (channels must be K·D), or NaN/inf in the logits.
        """
        p = self._volume_probs(self._check_outputs(outputs)["volumetric"])
        hh, wh, d = self.heatmap_size["height"], self.heatmap_size["width"], self.depth_bins
        x = p.sum(axis=(2, 3)) @ np.arange(wh, dtype=np.float64)
        y = p.sum(axis=(2, 4)) @ np.arange(hh, dtype=np.float64)
        z = p.sum(axis=(3, 4)) @ np.arange(d, dtype=np.float64)
        scores = p.sum(axis=2).max(axis=(-2, -1))
        return self._keypoints(np.stack([x, y], axis=-1) * self._stride, scores, z)

    def encode(
        self, keypoints: np.ndarray, visible: np.ndarray | None = None, *, z: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Logits whose softmax is a 3-D Gaussian around each joint (so decode(encode(k)) ≈ k).

        Args:
            keypoints: (N, K, 2) model-input px. visible: optional (N, K); entries <= 0 are not visible.
            z: optional (N, K) depth in grid units; default D/2.

        Returns:
            ``volumetric`` (N, K·D, Hh, Wh) float32, -((w - μx)² + (h - μy)² + (d - z)²) / (2σ²) with
            μ = (x·Wh/W, y·Hh/H). Joints not visible or outside [0, W) × [0, H) × [0, D) (MobileHumanPose's
            visibility rule) get all-zero logits, i.e. a uniform volume. Decoding is exact up to the
            truncation of the Gaussian at the grid border (< 1e-6 grid units when 4σ fits inside).
        """
        xy, vis = self._check_keypoints(keypoints, visible)
        n, k = xy.shape[:2]
        d, hh, wh = self.depth_bins, self.heatmap_size["height"], self.heatmap_size["width"]
        if z is None:
            zz = np.full((n, k), d / 2.0)
        else:
            zz = np.asarray(z, dtype=np.float64)
            if zz.shape != (n, k):
                raise CodecError(f"integral-3d: z has shape {zz.shape}, expected {(n, k)} (N, K)")
            if not np.isfinite(zz).all():
                raise CodecError("integral-3d: z contains NaN or inf")
        inside = vis & (xy[..., 0] >= 0) & (xy[..., 0] < self.input_size["width"]) & (zz >= 0) & (zz < d)
        inside &= (xy[..., 1] >= 0) & (xy[..., 1] < self.input_size["height"])
        mu = xy / self._stride
        s2 = 2.0 * self.sigma**2
        ex = -((np.arange(wh) - mu[..., 0, None]) ** 2) / s2  # (N, K, Wh)
        ey = -((np.arange(hh) - mu[..., 1, None]) ** 2) / s2  # (N, K, Hh)
        ez = -((np.arange(d) - zz[..., None]) ** 2) / s2  # (N, K, D)
        vol = ez[..., :, None, None] + ey[..., None, :, None] + ex[..., None, None, :]
        vol[~inside] = 0.0
        return {"volumetric": vol.reshape(n, k * d, hh, wh).astype(np.float32)}

    def flip_merge(
        self,
        outputs: Mapping[str, np.ndarray],
        flipped_outputs: Mapping[str, np.ndarray],
        flip_pairs: Sequence[Sequence[int]],
    ) -> dict[str, np.ndarray]:
        """Flip test (§2.5: x_f = Wh - x - 1, swap pairs, average the two coordinate sets), on the outputs.

        Args:
            outputs, flipped_outputs: ``volumetric`` (N, K·D, Hh, Wh) for the image and its horizontal mirror.
            flip_pairs: (left, right) keypoint index pairs to swap.

        Returns:
            ``volumetric`` (N, K·D, Hh, Wh) float32 = log(max((p + p_u) / 2, tiny)), where p is the plain
            softmaxed volume and p_u the flipped one reversed along Wh with its joints swapped. Reversing
            maps the expectation x_f to Wh - 1 - x_f, and expectations are linear in p, so decoding the result
            gives exactly the average of the two decoded coordinate sets (x, y and z), up to float32 rounding
            of the logs. The score is that of the averaged volume, not the average of the scores.
        """
        plain, flipped, perm = self._check_merge_inputs(outputs, flipped_outputs, flip_pairs)
        p = self._volume_probs(plain["volumetric"])
        pu = self._volume_probs(flipped["volumetric"])[:, perm, :, :, ::-1]
        merged = np.log(np.maximum((p + pu) * 0.5, _TINY))
        return {"volumetric": merged.reshape(plain["volumetric"].shape).astype(np.float32)}
