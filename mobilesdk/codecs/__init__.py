"""Numpy reference codecs: the ground truth the Kotlin and C++ decoders are tested against.

Importing this package only imports numpy. Every codec has one constructor
``(input_size={"width": W, "height": H}, num_keypoints=K, **params)`` and one ``decode(outputs) -> Keypoints``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mobilesdk.codecs import heatmap, integral3d, simcc  # noqa: F401  (registers the codecs)
from mobilesdk.codecs.base import Codec, Keypoints
from mobilesdk.codecs.registry import CODECS, build_codec, register_codec

if TYPE_CHECKING:
    from mobilesdk.cards import Card

__all__ = ["CODECS", "Codec", "Keypoints", "build_codec", "codec_for", "register_codec"]


def codec_for(card: Card) -> Codec:
    """The card's codec, built with the card's input size, keypoint count and codec parameters."""
    return build_codec(card.codec.name, card.input.size.as_dict(), card.num_keypoints, card.codec.params)
