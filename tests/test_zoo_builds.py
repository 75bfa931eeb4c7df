"""Every zoo card at full size through both runtimes, parity asserted (random, seeded weights: raw-tensor gate).

All `-m slow`: the default run covers every family on both runtimes with the small cards of
tests/test_build.py, and full size with movepose-xs (both runtimes), mobilehumanpose-xs and
mobileposenet-256x192 in tests/packaging/test_zoo_aars.py (with their AARs and the same parity asserts).
"""

from __future__ import annotations

import pytest

from mobilesdk.build import BuildRequest, build
from mobilesdk.cards import resolve_card
from mobilesdk.verify import FP32_MAX_REL

CARDS = [
    "movepose-xs",
    "movepose-s",
    "movepose-m",
    "mobilehumanpose-xs",
    "mobilehumanpose-s",
    "mobilehumanpose-l",
    "mobileposenet-256x192",
    "mobileposenet-384x288",
    "rethinkdeconv-256x192",
]
CASES = [
    pytest.param(card_id, backend, id=f"{card_id}-{backend}", marks=pytest.mark.slow)
    for card_id in CARDS
    for backend in ("executorch", "tflite")
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
