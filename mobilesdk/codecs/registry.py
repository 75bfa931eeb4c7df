"""Codec registry: name -> codec class, filled by :func:`register_codec`, read by :func:`build_codec`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from mobilesdk.codecs.base import Codec
from mobilesdk.errors import CodecError

#: Registry key (kebab-case, the exact CLI/card choice) -> codec class.
CODECS: dict[str, type[Codec]] = {}

C = TypeVar("C", bound=type[Codec])


def register_codec(cls: C) -> C:
    """Class decorator: add ``cls`` to :data:`CODECS` under ``cls.name``; refuses to overwrite a key."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise CodecError(f"{cls.__name__} has no 'name' class attribute to register it under")
    if name in CODECS and CODECS[name] is not cls:
        raise CodecError(
            f"codec {name!r} is already registered by {CODECS[name].__name__}; refusing {cls.__name__}"
        )
    CODECS[name] = cls
    return cls


def build_codec(
    name: str,
    input_size: Mapping[str, int],
    num_keypoints: int,
    params: Mapping[str, Any] | None = None,
    visibility: Mapping[str, float] | None = None,
) -> Codec:
    """Instantiate the codec registered as ``name``.

    Args:
        name: registry key, e.g. ``"simcc"``, ``"heatmap"``, ``"integral-3d"``.
        input_size: ``{"width": W, "height": H}``, model-input pixels.
        num_keypoints: K.
        params: codec parameters (see each codec's ``param_defaults``); ``None`` means all defaults.
        visibility: the manifest's ``codec.visibility`` ``{"a", "b"}``; ``None``: the codec's calibrated default
            (:mod:`mobilesdk.codecs.visibility`).

    Raises:
        CodecError: unknown name (the message lists the valid names), or an unknown, missing or invalid
            parameter (the message names it and lists the valid parameters).
    """
    try:
        cls = CODECS[name]
    except (KeyError, TypeError):
        raise CodecError(f"unknown codec {name!r}; valid codecs: {', '.join(sorted(CODECS))}") from None
    if params is not None and not isinstance(params, Mapping):
        raise CodecError(f"{name}: params must be a mapping, got {type(params).__name__}")
    return cls(input_size, num_keypoints, visibility=visibility, **dict(params or {}))
