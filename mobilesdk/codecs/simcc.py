"""SimCC / SA-SimCC codec: one 1-D classification vector per axis (spec §5.2, official leeyegy/SimCC @aa6e089).

Legend: N instances, K keypoints, H/W model-input height/width (px), k = ``split_ratio`` (bins per pixel),
Bx and By the bin counts.

Bin counts: the heads that produce SimCC vectors disagree when W·k is not an integer — the official SimCC
head and MMPose's ``RTMCCHead`` truncate (``int(W·k)``), MMPose's ``SimCCLabel`` codec rounds half to even
(``np.around``). Bin i is the coordinate i/k px whatever the count, so :meth:`SimCCCodec.decode` accepts
either floor(W·k) or ceil(W·k) bins per axis; :meth:`~SimCCCodec.output_shapes` and :meth:`~SimCCCodec.encode`
use floor(W·k), the count of the heads (and of mobilesdk's MovePose).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mobilesdk.codecs.base import (
    Codec,
    Keypoints,
    parse_bool,
    parse_choice,
    parse_positive_float,
    softmax,
)
from mobilesdk.codecs.registry import register_codec
from mobilesdk.errors import CodecError

# Floor for probabilities before the log in flip_merge, so merged logits stay finite (decode rejects inf).
_TINY = np.finfo(np.float64).tiny


@register_codec
class SimCCCodec(Codec):
    """SimCC decoder/encoder.

    Outputs: ``simcc_x`` (N, K, Bx) and ``simcc_y`` (N, K, By) logits; bin i is the coordinate i/k px.

    Params:
        split_ratio: k, bins per input pixel (default 2.0).
        sigma: ``{"x": σx, "y": σy}`` Gaussian std of the SA-SimCC labels, in bins (default 5.66 both);
            a single number means the same σ on both axes. Used by :meth:`encode` only.
        normalize: softmax the logits before taking the max, as the official decode (default True). With
            False the raw values are used as scores.
        flip_average: flip-test rule (§5.2): ``"softmax"`` (default, SA-SimCC: average the two softmaxes) or
            ``"logits"`` (one-hot SimCC and mmpose: average the raw logits).
        flip_shift: shift the un-flipped x vector one bin to the left, ``x[..., :-1] = x[..., 1:]``, as the
            official one-hot SimCC ``SHIFT_HEATMAP`` (default False).
    """

    name = "simcc"
    output_names = ("simcc_x", "simcc_y")
    param_defaults = {
        "split_ratio": 2.0,
        "sigma": {"x": 5.66, "y": 5.66},
        "normalize": True,
        "flip_average": "softmax",
        "flip_shift": False,
    }

    def _configure(self, params: dict[str, Any]) -> None:
        self.split_ratio = parse_positive_float("simcc: split_ratio", params["split_ratio"])
        sigma = params["sigma"]
        if not isinstance(sigma, Mapping):
            sigma = {"x": sigma, "y": sigma}
        if set(sigma) != {"x", "y"}:
            raise CodecError(
                f"simcc: sigma must be a number or a mapping {{'x': float, 'y': float}}, got {sigma!r}"
            )
        self.sigma = {a: parse_positive_float(f"simcc: sigma[{a!r}]", sigma[a]) for a in ("x", "y")}
        self.normalize = parse_bool("simcc: normalize", params["normalize"])
        self.flip_average = parse_choice("simcc: flip_average", params["flip_average"], ("softmax", "logits"))
        self.flip_shift = parse_bool("simcc: flip_shift", params["flip_shift"])
        # floor(W·k) as the heads compute int(W·k); the 1e-9 keeps 0.1-style ratios from truncating 299.9999.
        self.bins = {
            "x": math.floor(self.input_size["width"] * self.split_ratio + 1e-9),
            "y": math.floor(self.input_size["height"] * self.split_ratio + 1e-9),
        }
        self._accepted = {
            axis: {n, math.ceil(self.input_size[side] * self.split_ratio - 1e-9)}
            for (axis, n), side in zip(self.bins.items(), ("width", "height"), strict=True)
        }
        for axis, n in self.bins.items():
            if n < 1:
                raise CodecError(
                    f"simcc: split_ratio {self.split_ratio} gives {n} bins along {axis}; need >= 1"
                )

    def params(self) -> dict[str, Any]:
        return {
            "split_ratio": self.split_ratio,
            "sigma": dict(self.sigma),
            "normalize": self.normalize,
            "flip_average": self.flip_average,
            "flip_shift": self.flip_shift,
        }

    def output_shapes(self) -> dict[str, tuple[int, ...]]:
        k = self.num_keypoints
        return {"simcc_x": (k, self.bins["x"]), "simcc_y": (k, self.bins["y"])}

    def accepts_shape(self, name: str, shape: tuple[int, ...]) -> bool:
        axis = name[-1]
        return len(shape) == 2 and shape[0] == self.num_keypoints and shape[1] in self._accepted[axis]

    def decode(self, outputs: Mapping[str, np.ndarray]) -> Keypoints:
        """Decode SimCC logits.

        Args:
            outputs: ``simcc_x`` (N, K, Bx) and ``simcc_y`` (N, K, By), any real dtype; Bx is floor(W·k) or
                ceil(W·k) (see the module docstring), likewise By.

        Returns:
            xy (N, K, 2) = (argmax_x / k, argmax_y / k) in model-input px; scores (N, K) = min(vx, vy) where
            v is the softmax probability at the argmax (``normalize``) or the raw peak value (no softmax).

        The argmax is taken on the raw logits (softmax is monotonic; this avoids ties created by rounding the
        probabilities) and the first maximum wins. Hence all-equal logits decode to bin 0, i.e. coordinate 0,
        with score min(1/Bx, 1/By) under ``normalize``. Scores are not thresholded and locations are never
        masked (official SimCC; mmpose would set -1 where the score is <= 0).

        Raises:
            CodecError: wrong names or shapes, or NaN/inf in an output (the message names the output).
        """
        out = self._check_outputs(outputs)
        ix, vx = self._peak(out["simcc_x"])
        iy, vy = self._peak(out["simcc_y"])
        xy = np.stack([ix, iy], axis=-1) / self.split_ratio
        return self._keypoints(xy, np.minimum(vx, vy))

    def _peak(self, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, K, B) float64 -> first argmax (N, K) and its softmax probability or raw value (N, K)."""
        idx = logits.argmax(axis=-1)
        peak = np.take_along_axis(logits, idx[..., None], axis=-1)
        # Softmax probability at the peak = 1 / Σ exp(l - l_max).
        value = 1.0 / np.exp(logits - peak).sum(axis=-1) if self.normalize else peak[..., 0]
        return idx.astype(np.float64), value

    def encode(self, keypoints: np.ndarray, visible: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """SA-SimCC Gaussian labels.

        Args:
            keypoints: (N, K, 2) model-input px.
            visible: optional (N, K); entries <= 0 are not visible.

        Returns:
            ``simcc_x`` (N, K, Bx) and ``simcc_y`` (N, K, By) float32, ``t[i] = exp(-(i - μ)² / (2σ²))`` with
            μ = coordinate · k. The peak is 1 (unnormalised; the official labels divide by σ·√(2π), which
            the KL loss with ``label_softmax`` makes irrelevant). Keypoints that are not visible or whose μ
            falls outside [0, B) on either axis get all-zero rows (the official code gives them weight 0).
        """
        xy, vis = self._check_keypoints(keypoints, visible)
        mu = xy * self.split_ratio
        targets = {}
        inside = vis.copy()
        for a, axis in enumerate(("x", "y")):
            n = self.bins[axis]
            inside &= (mu[..., a] >= 0) & (mu[..., a] < n)
            d = np.arange(n, dtype=np.float64) - mu[..., a, None]
            targets[f"simcc_{axis}"] = np.exp(-(d**2) / (2.0 * self.sigma[axis] ** 2))
        for t in targets.values():
            t[~inside] = 0.0
        return {k: v.astype(np.float32) for k, v in targets.items()}

    def flip_merge(
        self,
        outputs: Mapping[str, np.ndarray],
        flipped_outputs: Mapping[str, np.ndarray],
        flip_pairs: Sequence[Sequence[int]],
    ) -> dict[str, np.ndarray]:
        """Flip test (§5.2): un-flip the mirrored image's vectors and merge them with the plain ones.

        Args:
            outputs: plain-image outputs, ``simcc_x`` (N, K, Bx), ``simcc_y`` (N, K, By).
            flipped_outputs: outputs for the horizontally mirrored image, same shapes.
            flip_pairs: (left, right) keypoint index pairs to swap.

        Un-flipping reverses the x bins and swaps the pairs (x and y); ``flip_shift`` then moves x one bin
        left. Merge per ``flip_average``: ``"logits"`` returns (a + b) / 2; ``"softmax"`` returns
        log(max((softmax(a) + softmax(b)) / 2, tiny)) under ``normalize`` — the log makes :meth:`decode`'s
        softmax give back exactly the averaged probabilities — and the averaged probabilities themselves
        without ``normalize``. Returns float32 arrays keyed like the outputs.
        """
        plain, flipped, perm = self._check_merge_inputs(outputs, flipped_outputs, flip_pairs)
        fx = flipped["simcc_x"][:, perm, ::-1].copy()
        fy = flipped["simcc_y"][:, perm, :]
        if self.flip_shift:
            fx[..., :-1] = fx[..., 1:].copy()
        merged = {}
        for name, a, b in (("simcc_x", plain["simcc_x"], fx), ("simcc_y", plain["simcc_y"], fy)):
            if self.flip_average == "logits":
                m = (a + b) * 0.5
            else:
                m = (softmax(a) + softmax(b)) * 0.5
                if self.normalize:
                    m = np.log(np.maximum(m, _TINY))
            merged[name] = m.astype(np.float32)
        return merged
