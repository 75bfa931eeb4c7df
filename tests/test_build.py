"""`mobilesdk build` / `verify` end to end: every family through both runtimes, manifest, cache, side-by-side
recipes (the quantized recipes: tests/test_build_quantized.py).

Exports are slow on 2 cores, so builds are session fixtures shared by the tests that inspect them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from mobilesdk import manifest as mf
from mobilesdk.build import BuildRequest, build
from mobilesdk.cards import load_card
from mobilesdk.cli.main import cli
from mobilesdk.errors import VerifyError
from mobilesdk.verify import FP32_MAX_REL, verify_target

FAMILIES = ["movepose", "mobilehumanpose", "mobileposenet", "rethinkdeconv"]


def _build(card_path: Path, out: Path, **kw):
    return build(BuildRequest(card=load_card(card_path), out=out, **kw))


@pytest.fixture(scope="session")
def family_builds(small_cards, tmp_path_factory) -> dict[str, Path]:
    """Each family's small card built for ExecuTorch, then LiteRT into the same dir (random weights)."""
    out = tmp_path_factory.mktemp("family-builds")
    dirs = {}
    for family, card_path in small_cards.items():
        _build(card_path, out, backend="executorch")
        result = _build(card_path, out, backend="tflite")
        dirs[family] = result.out_dir
    return dirs


@pytest.mark.parametrize("family", FAMILIES)
def test_family_through_both_runtimes_fp32_parity(family_builds, family):
    manifest = mf.read_manifest(family_builds[family] / mf.MANIFEST_FILE)
    recipes = {e.recipe: e for e in manifest.artifacts}
    assert set(recipes) == {"xnnpack-fp32", "litert-fp32"}, (
        "building LiteRT must keep the ExecuTorch artifact"
    )
    for entry in recipes.values():
        parity = entry.parity
        assert parity["passed"] and parity["images"] == 8
        assert all(v["max_rel"] <= FP32_MAX_REL for v in parity["raw"].values())
        assert (family_builds[family] / entry.file).stat().st_size == entry.bytes > 10_000
    assert recipes["xnnpack-fp32"].input.layout == "NCHW"
    assert recipes["litert-fp32"].input.layout == "NHWC"
    assert recipes["litert-fp32"].input.shape[-1] == 3
    assert recipes["xnnpack-fp32"].lowering["undelegated_ops"] == {}


def test_manifest_round_trips_from_the_artifact_alone(family_builds):
    d = family_builds["movepose"]
    manifest = mf.read_manifest(d / mf.MANIFEST_FILE)
    for entry in manifest.artifacts:
        embedded = mf.read_embedded(d / entry.file)
        assert embedded.to_json() == manifest.embedded(entry.recipe)
        assert embedded.keypoints["names"][0] == "nose"
        assert embedded.codec["name"] == "simcc"
        assert [o.role for o in embedded.artifacts[0].outputs] == ["simcc_x", "simcc_y"]
        # A shipped artifact carries no path of the machine that built it.
        assert "card" not in embedded.model and str(d.parent) not in json.dumps(embedded.to_json())


def test_verify_reads_dir_and_single_artifact(family_builds, small_cards):
    d = family_builds["rethinkdeconv"]
    result = CliRunner().invoke(cli, ["verify", str(d)])
    assert result.exit_code == 0, result.output
    assert "xnnpack-fp32" in result.output and "litert-fp32" in result.output
    tflite = next(d.glob("*.tflite"))
    result = CliRunner().invoke(cli, ["verify", str(tflite), "--json"])
    assert result.exit_code == 1 and "pass --card PATH" in result.output  # a shipped file records no paths
    result = CliRunner().invoke(
        cli, ["verify", str(tflite), "--card", str(small_cards["rethinkdeconv"]), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["recipe"] == "litert-fp32"


def test_verify_detects_a_tampered_artifact(family_builds, tmp_path):
    import shutil

    d = tmp_path / "copy"
    shutil.copytree(family_builds["rethinkdeconv"], d)
    pte = next(d.glob("*.pte"))
    data = bytearray(pte.read_bytes())
    data[len(data) // 2] ^= 0xFF
    pte.write_bytes(bytes(data))
    with pytest.raises(VerifyError, match="changed since the build"):
        verify_target(d)


def test_unchanged_rebuild_is_served_from_cache(small_cards, tmp_path):
    first = _build(small_cards["rethinkdeconv"], tmp_path)
    second = _build(small_cards["rethinkdeconv"], tmp_path)
    assert not first.artifacts[0].cached and second.artifacts[0].cached
    assert second.artifacts[0].parity == first.artifacts[0].parity
    assert second.seconds < first.seconds / 2
    assert sorted(os.listdir(tmp_path)) == ["rethinkdeconv-128x96"], "no staging leftovers"
