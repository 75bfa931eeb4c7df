"""Per-keypoint visibility: one number in [0, 1] with the same meaning for every codec.

**Definition.** ``visibility`` is a calibrated estimate of the probability that the keypoint is visible: inside
the model-input crop and not occluded. It is a monotone map of the codec's raw score ``s`` (which stays
available as ``score``, on the codec's own scale)::

    visibility = 1 / (1 + exp(-(a · ln(s) + b)))      for s > 0
    visibility = 0                                     for s <= 0 (no log; heatmap peaks can be <= 0)

i.e. a logistic regression on the log-score, evaluated in float64. ``a`` and ``b`` are per codec and travel in
the manifest's codec section (``"codec": {"name", "params", "visibility": {"a": a, "b": b}}``), so the Python
reference, the C++ core and the Kotlin runtime compute the same number; a manifest without the key (written
before visibility existed) gets :func:`default_params` of its codec, which every consumer hard-codes from
``visibility.json`` (the shared test vectors hold cases with and without the key). One threshold, 0.5, means
"more likely visible than not" for every model.

**Calibration** (``python -m tests.fixtures.visibility`` rewrites ``visibility.json``): per codec, a logistic
regression fitted by maximum likelihood on the committed trained fixture of that codec (``simcc``:
movepose-xs-128; ``integral-3d``: mobilehumanpose-xs-128) over synthetic stick figures
(:mod:`mobilesdk.synthetic`) where some keypoints are covered by background-noise patches and some figures
are shifted so that keypoints fall outside the crop; labels are known. ``heatmap`` has no trained fixture:
its constants are derived from the codec's math (see :data:`HEATMAP_DERIVED`), and raw SimCC scores
(``normalize: false``) use the same derivation. The constants describe those fixtures: a real model's
scores sit elsewhere, and its manifest should carry its own ``a``, ``b`` fitted the same way on labelled data.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mobilesdk.errors import CodecError

#: The committed calibration: codec key -> {"a", "b", "source", ...} (written by tests/fixtures/visibility.py).
CALIBRATION_FILE = Path(__file__).with_name("visibility.json")

#: Heatmap codecs (peak of an MSE-trained map whose target peak is 1 for a visible keypoint and whose map is
#: all zero for an invisible one): the peak value is a regression estimate of "visible", so the map is centred
#: at s = 0.5 (visibility 0.5) with a = 4: s = 0.25 -> 0.06, s = 1 -> 0.94. Derived, not fitted.
HEATMAP_DERIVED = {"a": 4.0, "b": 4.0 * math.log(2.0)}

DEFAULT_THRESHOLD = 0.5


def _calibration() -> dict[str, Any]:
    try:
        return json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CodecError(f"{CALIBRATION_FILE}: cannot read the visibility calibration ({exc})") from None


def calibration_key(codec_name: str, params: Mapping[str, Any] | None = None) -> str:
    """Which calibration a codec uses: ``simcc`` (softmax scores), ``integral-3d`` or ``heatmap`` (heatmaps
    and raw SimCC peaks, ``normalize: false``)."""
    if codec_name == "simcc" and (params or {}).get("normalize", True) is False:
        return "heatmap"
    return codec_name


def default_params(codec_name: str, params: Mapping[str, Any] | None = None) -> dict[str, float]:
    """``{"a", "b"}`` of a codec whose manifest carries no ``visibility`` (see the module docstring)."""
    key = calibration_key(codec_name, params)
    entry = _calibration().get(key)
    if entry is None:
        raise CodecError(f"no visibility calibration for codec {codec_name!r} in {CALIBRATION_FILE.name}")
    return {"a": float(entry["a"]), "b": float(entry["b"])}


def parse_params(what: str, value: Any) -> dict[str, float]:
    """A manifest's ``codec.visibility``: a mapping with finite numbers ``a`` (> 0: visibility grows with the
    score, so a threshold on it is a threshold on the score) and ``b``, and nothing else."""
    if not isinstance(value, Mapping) or set(value) != {"a", "b"}:
        raise CodecError(f"{what} must be a mapping {{'a': number > 0, 'b': number}}, got {value!r}")
    out = {}
    for k in ("a", "b"):
        v = value[k]
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
            raise CodecError(f"{what}[{k!r}] must be a finite number, got {v!r}")
        out[k] = float(v)
    if out["a"] <= 0:
        raise CodecError(f"{what}['a'] must be > 0 (visibility grows with the score), got {value['a']!r}")
    return out


def visibility(scores: np.ndarray, a: float, b: float) -> np.ndarray:
    """(…) raw scores -> (…) float64 visibility in [0, 1]: 1 / (1 + exp(-(a·ln s + b))), 0 where s <= 0."""
    s = np.asarray(scores, dtype=np.float64)
    positive = s > 0
    t = a * np.log(np.where(positive, s, 1.0)) + b
    with np.errstate(over="ignore"):
        v = 1.0 / (1.0 + np.exp(-t))
    return np.where(positive, v, 0.0)
