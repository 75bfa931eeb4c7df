"""`mobilesdk build` / `verify` end to end: every family through both runtimes, gates both ways, manifest,
cache, side-by-side recipes, bad inputs, interrupted builds.

Exports are slow on 2 cores, so builds are session fixtures shared by the tests that inspect them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from mobilesdk.build import BuildRequest, build
from mobilesdk.cards import load_card
from mobilesdk.cli.main import cli
from mobilesdk.errors import VerifyError
from mobilesdk.export import manifest as mf
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
    recipes = {e["recipe"]: e for e in manifest["artifacts"]}
    assert set(recipes) == {"xnnpack-fp32", "litert-fp32"}, (
        "building LiteRT must keep the ExecuTorch artifact"
    )
    for entry in recipes.values():
        parity = entry["parity"]
        assert parity["passed"] and parity["images"] == 8
        assert all(v["max_rel"] <= FP32_MAX_REL for v in parity["raw"].values())
        assert (family_builds[family] / entry["file"]).stat().st_size == entry["bytes"] > 10_000
    assert recipes["xnnpack-fp32"]["input"]["layout"] == "NCHW"
    assert recipes["litert-fp32"]["input"]["layout"] == "NHWC"
    assert recipes["litert-fp32"]["input"]["shape"][-1] == 3
    assert recipes["xnnpack-fp32"]["lowering"]["undelegated_ops"] == {}


def test_manifest_round_trips_from_the_artifact_alone(family_builds):
    d = family_builds["movepose"]
    manifest = mf.read_manifest(d / mf.MANIFEST_FILE)
    for entry in manifest["artifacts"]:
        embedded = mf.read_embedded(d / entry["file"])
        assert embedded == mf.embedded_document(manifest, entry["recipe"])
        assert embedded["keypoints"]["names"][0] == "nose"
        assert embedded["codec"]["name"] == "simcc"
        assert [o["role"] for o in embedded["artifacts"][0]["outputs"]] == ["simcc_x", "simcc_y"]


def test_verify_reads_dir_and_single_artifact(family_builds):
    d = family_builds["rethinkdeconv"]
    result = CliRunner().invoke(cli, ["verify", str(d)])
    assert result.exit_code == 0, result.output
    assert "xnnpack-fp32" in result.output and "litert-fp32" in result.output
    tflite = next(d.glob("*.tflite"))
    result = CliRunner().invoke(cli, ["verify", str(tflite), "--json"])
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


# --- quantized recipes with trained fixture weights: gates asserted both ways -------------------------------


@pytest.fixture(scope="session")
def quantized_build(trained_movepose, tmp_path_factory) -> Path:
    card_path, ckpt = trained_movepose
    out = tmp_path_factory.mktemp("quantized")
    _build(card_path, out, checkpoint=ckpt, backend="all", quantize="int8")
    result = _build(card_path, out, checkpoint=ckpt, backend="tflite", quantize="fp16")
    return result.out_dir


def test_trained_fixture_learned_the_synthetic_task(trained_movepose):
    from tests.fixtures.training import fixture_error_px

    card_path, ckpt = trained_movepose
    assert (
        fixture_error_px(load_card(card_path), ckpt) < 5.0
    )  # px on a 128x128 input (measured 3.4); random: ~40


def test_int8_and_fp16_pass_their_gates(quantized_build):
    manifest = mf.read_manifest(quantized_build / mf.MANIFEST_FILE)
    recipes = {e["recipe"]: e for e in manifest["artifacts"]}
    assert set(recipes) == {"xnnpack-int8", "litert-int8", "litert-fp16"}
    for name, entry in recipes.items():
        p = entry["parity"]
        assert p["decoded_gated"] and p["passed"], (name, p)
    assert recipes["xnnpack-int8"]["quantization"]["keep_float"] == [
        "model.final_layer",
        "model.mlp_head_x",
        "model.mlp_head_y",
    ]
    assert recipes["xnnpack-int8"]["quantization"]["calibration"]["kind"] == "synthetic"
    assert recipes["litert-fp16"]["parity"]["mean_px"] <= 0.5


def test_int8_past_a_deliberately_tight_budget_fails_with_named_figure(quantized_build):
    result = CliRunner().invoke(cli, ["verify", str(quantized_build), "--int8-budget-px", "0.0001"])
    assert result.exit_code == 1
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("Error: ") and "int8 budget 0.0001 px" in line
    assert "xnnpack-int8" in line or "litert-int8" in line


def test_uint8_input_and_calibration_folder(trained_movepose, tmp_path):
    """--input-dtype uint8 folds normalization into the graph (NHWC for ExecuTorch too, by override), and int8
    calibrates on a folder of PNGs resized like inference; the manifest records both."""
    from PIL import Image

    from mobilesdk import synthetic

    card_path, ckpt = trained_movepose
    card = load_card(card_path)
    photos = tmp_path / "photos"
    photos.mkdir()
    images, _ = synthetic.make_samples(6, 17, 200, 160, card.keypoints.skeleton, seed=5)  # not the input size
    for i, img in enumerate(images):
        Image.fromarray(img).save(photos / f"{i}.png")
    out = tmp_path / "out"
    args = ["--card", str(card_path), "--checkpoint", str(ckpt), "--out", str(out), "--input-dtype", "uint8"]
    result = CliRunner().invoke(
        cli, ["build", *args, "--quantize", "int8", "--calib-images", str(photos), "--input-layout", "NHWC"]
    )
    assert result.exit_code == 0, result.output
    entry = mf.read_manifest(out / card.id / mf.MANIFEST_FILE)["artifacts"][0]
    assert entry["input"] == {
        **entry["input"],
        "dtype": "uint8",
        "layout": "NHWC",
        "normalization": "in-graph",
    }
    assert entry["input"]["shape"] == [1, 128, 128, 3]
    assert entry["quantization"]["calibration"] == {
        "source": str(photos.resolve()),
        "kind": "images",
        "count": 6,
    }
    assert entry["parity"]["passed"] and entry["parity"]["decoded_gated"]
    lowering = entry["lowering"]
    assert lowering["undelegated_ops"] == lowering["boundary_ops"] != {}, (
        lowering
    )  # only the input cast/permute
    assert any("_copy" in op and "permute" not in op for op in lowering["boundary_ops"]), lowering  # the cast
