"""The codec base class, the decoded-keypoints type and the parameter checks every codec shares.

Shape legend used in every docstring of this package:

- N instances (the batch dim of the model outputs), K keypoints, M other instances;
- H/W: model-input height/width in pixels; Hh/Wh: heatmap (output-grid) height/width; D depth bins;
- Bx/By: SimCC bins along x/y.

Coordinates are (x, y) with x to the right and y down, in model-input pixels unless a docstring says otherwise.
"""

from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from mobilesdk.codecs.visibility import default_params as visibility_defaults
from mobilesdk.codecs.visibility import parse_params as parse_visibility
from mobilesdk.codecs.visibility import visibility as visibility_of
from mobilesdk.errors import CodecError

#: Marks a parameter without default in :attr:`Codec.param_defaults`.
REQUIRED: Any = type("Required", (), {"__repr__": lambda self: "REQUIRED"})()


@dataclass(frozen=True)
class Keypoints:
    """Decoded keypoints of N instances.

    Attributes:
        xy: (N, K, 2) float32, (x, y) in model-input pixels (x right, y down) unless mapped to the image by
            :func:`mobilesdk.codecs.affine.keypoints_to_image`.
        scores: (N, K) float32 confidence; its meaning depends on the codec (see each ``decode``).
        z: (N, K) float32 depth in output-grid units (``integral-3d`` only), else ``None``.
        visibility: (N, K) float64 in [0, 1], the calibrated probability that the keypoint is visible
            (:mod:`mobilesdk.codecs.visibility`: one meaning for every codec, threshold 0.5); ``None`` only
            when built by hand without it.

    Arrays are converted to float32 on construction; a shape mismatch raises :class:`CodecError`.
    """

    xy: np.ndarray
    scores: np.ndarray
    z: np.ndarray | None = None
    visibility: np.ndarray | None = None

    def __post_init__(self) -> None:
        xy = np.asarray(self.xy, dtype=np.float32)
        scores = np.asarray(self.scores, dtype=np.float32)
        if xy.ndim != 3 or xy.shape[-1] != 2:
            raise CodecError(f"Keypoints.xy must have shape (N, K, 2), got {xy.shape}")
        if scores.shape != xy.shape[:2]:
            raise CodecError(f"Keypoints.scores must have shape {xy.shape[:2]} (N, K), got {scores.shape}")
        object.__setattr__(self, "xy", xy)
        object.__setattr__(self, "scores", scores)
        if self.z is not None:
            z = np.asarray(self.z, dtype=np.float32)
            if z.shape != xy.shape[:2]:
                raise CodecError(f"Keypoints.z must have shape {xy.shape[:2]} (N, K), got {z.shape}")
            object.__setattr__(self, "z", z)
        if self.visibility is not None:
            vis = np.asarray(self.visibility, dtype=np.float64)
            if vis.shape != xy.shape[:2]:
                raise CodecError(
                    f"Keypoints.visibility must have shape {xy.shape[:2]} (N, K), got {vis.shape}"
                )
            object.__setattr__(self, "visibility", vis)


class Codec(ABC):
    """A pose codec: decodes raw model outputs to keypoints and encodes keypoints to training targets.

    The constructor holds the geometry. ``input_size`` is ``{"width": W, "height": H}`` in pixels and
    ``num_keypoints`` is K. Every other argument is a codec parameter declared in :attr:`param_defaults`:
    an unknown, missing or invalid parameter raises :class:`CodecError` naming it and listing the valid ones.
    """

    name: ClassVar[str]
    output_names: ClassVar[tuple[str, ...]]
    #: Parameter name -> default value (or :data:`REQUIRED`). Also the list shown in error messages.
    param_defaults: ClassVar[Mapping[str, Any]] = {}

    def __init__(
        self,
        input_size: Mapping[str, int],
        num_keypoints: int,
        *,
        visibility: Mapping[str, float] | None = None,
        **params: Any,
    ) -> None:
        self.input_size = parse_size(f"{self.name}: input_size", input_size)
        self.num_keypoints = parse_int(f"{self.name}: num_keypoints", num_keypoints, minimum=1)
        unknown = sorted(set(params) - set(self.param_defaults))
        if unknown:
            raise CodecError(
                f"{self.name}: unknown param {unknown[0]!r}; valid params: {self._valid_params()}"
            )
        missing = [k for k, v in self.param_defaults.items() if v is REQUIRED and k not in params]
        if missing:
            raise CodecError(
                f"{self.name}: missing required param {missing[0]!r}; valid params: {self._valid_params()}"
            )
        self._configure({**self.param_defaults, **params})
        self.visibility = (
            visibility_defaults(self.name, self.params())
            if visibility is None
            else parse_visibility(f"{self.name}: visibility", visibility)
        )

    @classmethod
    def _valid_params(cls) -> str:
        return ", ".join(f"{k} (required)" if v is REQUIRED else k for k, v in cls.param_defaults.items())

    @abstractmethod
    def _configure(self, params: dict[str, Any]) -> None:
        """Validate and store the parameters (all names present, defaults filled in)."""

    @abstractmethod
    def output_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shape of each model output, WITHOUT the batch dim, keyed by output name."""

    def accepts_shape(self, name: str, shape: tuple[int, ...]) -> bool:
        """Whether output ``name`` may have ``shape`` (without the batch dim); default: exactly output_shapes()."""
        return tuple(shape) == tuple(self.output_shapes()[name])

    @abstractmethod
    def decode(self, outputs: Mapping[str, np.ndarray]) -> Keypoints:
        """Decode raw model outputs (with batch dim N) to :class:`Keypoints` in model-input pixels, with the
        visibility of each score (:mod:`mobilesdk.codecs.visibility`)."""

    @abstractmethod
    def encode(self, keypoints: np.ndarray, visible: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """(N, K, 2) model-input pixels -> training targets keyed like the outputs, with batch dim N."""

    @abstractmethod
    def flip_merge(
        self,
        outputs: Mapping[str, np.ndarray],
        flipped_outputs: Mapping[str, np.ndarray],
        flip_pairs: Sequence[Sequence[int]],
    ) -> dict[str, np.ndarray]:
        """Merge the outputs of an image with those of its horizontal mirror (flip test)."""

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """The codec parameters as plain JSON-able data; ``build_codec(name, ..., params=p)`` rebuilds it."""

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(input_size={self.input_size}, "
            f"num_keypoints={self.num_keypoints}, params={self.params()})"
        )

    # ---- helpers for subclasses -------------------------------------------------------------------------

    def _keypoints(self, xy: np.ndarray, scores: np.ndarray, z: np.ndarray | None = None) -> Keypoints:
        """:class:`Keypoints` with the visibility of the float64 ``scores`` (before the float32 cast)."""
        v = visibility_of(scores, self.visibility["a"], self.visibility["b"])
        return Keypoints(xy=xy, scores=scores, z=z, visibility=v)

    def _check_outputs(
        self, outputs: Mapping[str, np.ndarray], what: str = "outputs"
    ) -> dict[str, np.ndarray]:
        """Check names, shapes (batch dim N shared by all), finiteness; return float64 arrays by name."""
        if not isinstance(outputs, Mapping):
            raise CodecError(
                f"{self.name}: {what} must be a mapping name -> array, got {type(outputs).__name__}"
            )
        expected = self.output_names
        missing = [n for n in expected if n not in outputs]
        extra = sorted(str(n) for n in outputs if n not in expected)
        if missing or extra:
            raise CodecError(
                f"{self.name}: {what} have names {sorted(map(str, outputs))}, expected {list(expected)}"
                + (f" (missing {missing})" if missing else "")
                + (f" (unexpected {extra})" if extra else "")
            )
        shapes = self.output_shapes()
        checked: dict[str, np.ndarray] = {}
        batch: int | None = None
        for out_name in expected:
            arr = np.asarray(outputs[out_name])
            if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
                raise CodecError(
                    f"{self.name}: {what}[{out_name!r}] has dtype {arr.dtype}, expected a real dtype"
                )
            want = shapes[out_name]
            if arr.ndim != len(want) + 1 or not self.accepts_shape(out_name, arr.shape[1:]):
                raise CodecError(
                    f"{self.name}: {what}[{out_name!r}] has shape {arr.shape}, expected (N, {', '.join(map(str, want))})"
                )
            if batch is not None and arr.shape[0] != batch:
                raise CodecError(
                    f"{self.name}: {what}[{out_name!r}] has batch {arr.shape[0]}, other outputs have {batch}"
                )
            batch = arr.shape[0]
            if not np.isfinite(arr).all():
                raise CodecError(f"{self.name}: {what}[{out_name!r}] contains NaN or inf")
            checked[out_name] = arr.astype(np.float64, copy=False)
        return checked

    def _check_merge_inputs(
        self,
        outputs: Mapping[str, np.ndarray],
        flipped_outputs: Mapping[str, np.ndarray],
        flip_pairs: Sequence[Sequence[int]],
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]:
        plain = self._check_outputs(outputs)
        flipped = self._check_outputs(flipped_outputs, "flipped_outputs")
        n_plain = next(iter(plain.values())).shape[0]
        n_flip = next(iter(flipped.values())).shape[0]
        if n_plain != n_flip:
            raise CodecError(f"{self.name}: outputs have batch {n_plain} but flipped_outputs have {n_flip}")
        return plain, flipped, flip_permutation(flip_pairs, self.num_keypoints, self.name)

    def _check_keypoints(
        self, keypoints: np.ndarray, visible: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(N, K, 2) keypoints and optional (N, K) visibility -> float64 (N, K, 2), bool (N, K) (v > 0)."""
        xy = np.asarray(keypoints, dtype=np.float64)
        k = self.num_keypoints
        if xy.ndim != 3 or xy.shape[1:] != (k, 2):
            raise CodecError(f"{self.name}: keypoints have shape {xy.shape}, expected (N, {k}, 2)")
        if not np.isfinite(xy).all():
            raise CodecError(f"{self.name}: keypoints contain NaN or inf")
        if visible is None:
            return xy, np.ones(xy.shape[:2], dtype=bool)
        vis = np.asarray(visible)
        if vis.shape != xy.shape[:2]:
            raise CodecError(f"{self.name}: visible has shape {vis.shape}, expected {xy.shape[:2]} (N, K)")
        return xy, vis > 0


def flip_permutation(
    flip_pairs: Sequence[Sequence[int]], num_keypoints: int, who: str = "flip"
) -> np.ndarray:
    """(K,) int64 permutation that swaps each (a, b) pair of left/right keypoint indices and fixes the rest."""
    perm = np.arange(num_keypoints)
    seen: set[int] = set()
    for pair in flip_pairs:
        if len(pair) != 2:
            raise CodecError(f"{who}: flip pair {tuple(pair)!r} must have exactly two indices")
        a, b = (int(i) for i in pair)
        for i in (a, b):
            if not 0 <= i < num_keypoints:
                raise CodecError(f"{who}: flip pair {(a, b)} has index {i} outside [0, {num_keypoints})")
            if i in seen:
                raise CodecError(f"{who}: keypoint {i} appears in more than one flip pair")
            seen.add(i)
        if a == b:
            raise CodecError(f"{who}: flip pair {(a, b)} pairs a keypoint with itself")
        perm[a], perm[b] = b, a
    return perm


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable float64 softmax along ``axis``."""
    a = np.asarray(logits, dtype=np.float64)
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# ---- parameter parsing ---------------------------------------------------------------------------------


def parse_size(what: str, value: Any) -> dict[str, int]:
    """``{"width": W, "height": H}`` with positive ints -> a new dict; anything else -> CodecError."""
    if not isinstance(value, Mapping) or set(value) != {"width", "height"}:
        raise CodecError(f"{what} must be a mapping {{'width': int, 'height': int}}, got {value!r}")
    return {k: parse_int(f"{what}[{k!r}]", value[k], minimum=1) for k in ("width", "height")}


def parse_int(what: str, value: Any, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise CodecError(f"{what} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise CodecError(f"{what} must be >= {minimum}, got {value!r}")
    return int(value)


def parse_positive_float(what: str, value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise CodecError(f"{what} must be a finite number > 0, got {value!r}")
    return float(value)


def parse_bool(what: str, value: Any) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise CodecError(f"{what} must be true or false, got {value!r}")
    return bool(value)


def parse_choice(what: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        raise CodecError(f"{what} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return str(value)
