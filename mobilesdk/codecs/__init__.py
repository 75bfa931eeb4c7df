"""Numpy reference codecs: the ground truth the Kotlin and C++ decoders are tested against.

Importing this package only imports numpy. Every codec has one constructor
``(input_size={"width": W, "height": H}, num_keypoints=K, **params)`` and one ``decode(outputs) -> Keypoints``.
"""

from mobilesdk.codecs import heatmap, integral3d, simcc  # noqa: F401  (registers the codecs)
from mobilesdk.codecs.base import Codec, Keypoints
from mobilesdk.codecs.registry import CODECS, build_codec, register_codec

__all__ = ["CODECS", "Codec", "Keypoints", "build_codec", "register_codec"]
