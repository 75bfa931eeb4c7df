"""`mobilesdk models`: table, JSON and show."""

from __future__ import annotations

import json

from click.testing import CliRunner

from mobilesdk.cli.main import cli
from tests.test_cards import ZOO_IDS


def test_models_json_lists_nine_ids_with_params_and_gflops():
    result = CliRunner().invoke(cli, ["models", "--json"])
    assert result.exit_code == 0, result.output
    entries = json.loads(result.output)
    assert sorted(e["id"] for e in entries) == sorted(ZOO_IDS)
    for e in entries:
        assert e["params"] > 100_000 and 0.05 < e["gflops"] < 10, e["id"]
        assert e["outputs"] and all(o["shape"] for o in e["outputs"])
    mhp = {e["id"]: e for e in entries}["mobilehumanpose-l"]
    assert mhp["params"] == 4_073_248
    assert mhp["outputs"] == [{"name": "volumetric", "shape": [18 * 64, 64, 64]}]


def test_models_table_shows_every_model_and_published_sources():
    result = CliRunner().invoke(cli, ["models"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for model_id in ZOO_IDS:
        assert model_id in result.output
    assert "192x256" in result.output and "simcc" in result.output and "coco-val-ap 67.7" in result.output
    assert "2308.09084v1" in result.output and "Table" in result.output  # figures come with their source


def test_models_show_one_model_in_full():
    result = CliRunner().invoke(cli, ["models", "show", "mobilehumanpose-xs"])
    assert result.exit_code == 0, result.output
    assert (
        "1,040,240" in result.output and "reconstructed  yes" in result.output and "thorax" in result.output
    )
    assert "Table 10" in result.output


def test_models_show_unknown_id_is_one_line_with_suggestion():
    result = CliRunner().invoke(cli, ["models", "show", "mobileposenet"])
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0
    assert "did you mean mobileposenet-" in result.output
    assert "mobileposenet-256x192" in result.output and "mobileposenet-384x288" in result.output
