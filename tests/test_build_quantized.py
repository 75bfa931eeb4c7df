"""`mobilesdk build` of the quantized recipes (int8, fp16, uint8 camera input) with trained fixture weights: the
gates asserted both ways, weight-only heads, reuse judged by today's budget, calibration from a folder.

Its own file so that `pytest -n 2` (one file per worker at a time) runs it beside tests/test_build.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mobilesdk import manifest as mf
from mobilesdk.build import BuildRequest, build
from mobilesdk.cards import load_card
from mobilesdk.cli.main import cli
from mobilesdk.errors import VerifyError


def _build(card_path: Path, out: Path, **kw):
    return build(BuildRequest(card=load_card(card_path), out=out, **kw))


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
    recipes = {e.recipe: e for e in manifest.artifacts}
    assert set(recipes) == {"xnnpack-int8", "litert-int8", "litert-fp16"}
    for name, entry in recipes.items():
        p = entry.parity
        assert p["decoded_gated"] and p["passed"], (name, p)
    assert recipes["xnnpack-int8"].quantization["keep_float"] == [
        "model.final_layer",
        "model.mlp_head_x",
        "model.mlp_head_y",
    ]
    assert recipes["xnnpack-int8"].quantization["calibration"]["kind"] == "synthetic"
    assert recipes["litert-fp16"].parity["mean_px"] <= 0.5


def test_keypoint_aware_int8_stores_the_simcc_linears_weight_only(quantized_build, trained_movepose):
    from mobilesdk.archs.cost import count_params
    from mobilesdk.modeling import build_model

    manifest = mf.read_manifest(quantized_build / mf.MANIFEST_FILE)
    for recipe in ("xnnpack-int8", "litert-int8"):
        entry = manifest.artifact(recipe)
        assert entry.quantization["weight_only"] == ["model.mlp_head_x", "model.mlp_head_y"]
    # far smaller than an fp32 artifact (the SimCC linears are 70% of the parameters), which holds at least
    # 4 bytes per parameter: a bound stricter than the fp32 file's size, without exporting one
    fp32_weight_bytes = 4 * count_params(build_model(load_card(trained_movepose[0])))
    for recipe in ("xnnpack-int8", "litert-int8"):
        assert manifest.artifact(recipe).bytes < 0.5 * fp32_weight_bytes, recipe


def test_a_reused_int8_artifact_is_judged_by_todays_budget(quantized_build, trained_movepose, tmp_path):
    """Built under the default budget and reused from the cache: a tighter budget today fails the build."""
    import shutil

    card_path, ckpt = trained_movepose
    out = tmp_path / "out"
    shutil.copytree(quantized_build, out / quantized_build.name)
    with pytest.raises(VerifyError, match="exceeds the int8 budget 0.0001 px"):
        _build(card_path, out, checkpoint=ckpt, backend="tflite", quantize="int8", int8_mean_px=0.0001)
    again = _build(card_path, out, checkpoint=ckpt, backend="tflite", quantize="int8")
    assert again.artifacts[0].cached and again.artifacts[0].parity["passed"]


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
    args = [
        "--card",
        str(card_path),
        "--checkpoint",
        str(ckpt),
        "--out",
        str(out),
        "--input-dtype",
        "uint8",
        "--no-aar",
    ]
    result = CliRunner().invoke(
        cli,
        [
            "build",
            *args,
            "--backend",
            "executorch",
            "--quantize",
            "int8",
            "--calib-images",
            str(photos),
            "--input-layout",
            "NHWC",
        ],
    )
    assert result.exit_code == 0, result.output
    entry = mf.read_manifest(out / card.id / mf.MANIFEST_FILE).artifacts[0]
    assert (entry.input.dtype, entry.input.layout, entry.input.normalization) == ("uint8", "NHWC", "in-graph")
    assert entry.input.shape == (1, 128, 128, 3)
    assert entry.quantization["calibration"] == {
        "source": str(photos.resolve()),
        "kind": "images",
        "count": 6,
    }
    assert entry.parity["passed"] and entry.parity["decoded_gated"]
    lowering = entry.lowering
    assert lowering["undelegated_ops"] == lowering["boundary_ops"] != {}, (
        lowering
    )  # only the input cast/permute
    assert any("_copy" in op and "permute" not in op for op in lowering["boundary_ops"]), lowering  # the cast
