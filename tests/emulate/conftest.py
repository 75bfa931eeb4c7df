"""Fixtures of the emulated-cost tests: the arm64 runner bundle (the cached build tests/native uses) and
movepose-xs-128 built without the large-kernel split (a persistent cache, as tests/fixtures/artifacts.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mobilesdk import fsops
from tests.fixtures import NATIVE_CACHE, TEST_CACHE
from tests.fixtures.artifacts import MODELS_CACHE


@pytest.fixture(scope="session")
def arm64_bundle():
    from mobilesdk.native_cross import build_arm64_bundle

    return build_arm64_bundle(NATIVE_CACHE, TEST_CACHE / "wheels")


@pytest.fixture(scope="session")
def movepose_unsplit_pte(trained_movepose, tmp_path_factory) -> dict:
    """movepose-xs-128 (trained fixture weights), xnnpack-fp32 exported with --no-split-large-kernels: its 7x7
    depthwise convs left whole."""
    import shutil

    from mobilesdk.build import BuildRequest, build
    from mobilesdk.cards import load_card

    card_path, checkpoint = trained_movepose
    card = load_card(card_path)
    out = MODELS_CACHE / "unsplit"
    with fsops.locked(out / f".{card.id}.lock"):
        built = build(
            BuildRequest(
                card=card, out=out, checkpoint=checkpoint, backend="executorch", split_large_kernels=False
            )
        ).out_dir
        copy = tmp_path_factory.mktemp("unsplit") / built.name
        shutil.copytree(built, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    entry = next(a for a in manifest["artifacts"] if a["runtime"] == "executorch")
    return {"dir": copy, "pte": Path(copy / entry["file"]), "manifest": manifest, "artifact": entry}
