"""Every zoo card at full size through a runtime, parity asserted (random, seeded weights: raw-tensor gate).

The default run builds each card once, alternating runtimes so both see full-size models of every family;
`pytest -m slow` builds the other runtime of each card too.
"""

from __future__ import annotations

import pytest

from mobilesdk.build import BuildRequest, build
from mobilesdk.cards import resolve_card
from mobilesdk.verify import FP32_MAX_REL

DEFAULT_RUNTIME = {
    "movepose-xs": "executorch",
    "movepose-s": "tflite",
    "movepose-m": "executorch",
    "mobilehumanpose-xs": "executorch",
    "mobilehumanpose-s": "tflite",
    "mobilehumanpose-l": "executorch",
    "mobileposenet-256x192": "executorch",
    "mobileposenet-384x288": "tflite",
    "rethinkdeconv-256x192": "tflite",
}
OTHER = {"executorch": "tflite", "tflite": "executorch"}
CASES = [
    pytest.param(card_id, backend, id=f"{card_id}-{backend}") for card_id, backend in DEFAULT_RUNTIME.items()
]
CASES += [
    pytest.param(card_id, OTHER[backend], id=f"{card_id}-{OTHER[backend]}", marks=pytest.mark.slow)
    for card_id, backend in DEFAULT_RUNTIME.items()
]


@pytest.mark.parametrize(("card_id", "backend"), CASES)
def test_zoo_card_builds_with_parity(card_id, backend, tmp_path):
    result = build(BuildRequest(card=resolve_card(card_id), out=tmp_path, backend=backend))
    (artifact,) = result.artifacts
    parity = artifact.parity
    assert parity["passed"], parity["failures"]
    assert all(v["max_rel"] <= FP32_MAX_REL for v in parity["raw"].values()), parity["raw"]
    assert artifact.path.is_file() and artifact.path.stat().st_size == artifact.bytes
    if backend == "executorch":
        assert artifact.lowering["undelegated_ops"] == {}, artifact.lowering
