"""The manifest as a typed, validated contract: what a consumer relies on is checked on read."""

from __future__ import annotations

import copy
import json

import pytest

from mobilesdk import manifest as mf


def _doc() -> dict:
    entry = {
        "recipe": "xnnpack-fp32",
        "runtime": "executorch",
        "precision": "fp32",
        "file": "m.xnnpack-fp32.pte",
        "sha256": "ab" * 32,
        "bytes": 1234,
        "input": {
            "name": "image",
            "shape": [1, 3, 32, 24],
            "layout": "NCHW",
            "dtype": "float32",
            "color": "rgb",
            "mean": [1, 2, 3],
            "std": [4, 5, 6],
            "normalization": "app",
            "size": {"width": 24, "height": 32},
            "resize": "affine",
        },
        "outputs": [{"name": "heatmaps", "shape": [1, 17, 8, 6], "dtype": "float32", "role": "heatmaps"}],
        "quantization": None,
        "lowering": {},
        "parity": {"passed": True},
        "cache_key": "k",
        "built_at": "2026-12-01T00:00:00Z",
    }
    return {
        "schema": mf.SCHEMA,
        "schema_version": 1,
        "model": {
            "id": "m",
            "card": "/home/alice/m.yaml",
            "checkpoint": {"file": "/home/alice/w.pt", "sha256": "cd"},
        },
        "codec": {"name": "heatmap", "params": {}},
        "keypoints": {"names": ["a", "b"], "skeleton": [[0, 1]], "flip_pairs": []},
        "tools": {},
        "artifacts": [entry],
    }


def test_round_trip_and_defaults():
    m = mf.from_json(_doc(), "x")
    entry = m.artifact("xnnpack-fp32")
    assert entry.input.shape == (1, 3, 32, 24) and entry.input.roi_padding == 1.25  # absent -> default
    again = mf.from_json(json.loads(mf.dumps(m.to_json())), "y")
    assert again == m


def test_embedded_document_has_no_file_fields_and_no_builder_paths():
    m = mf.from_json(_doc(), "x")
    emb = m.embedded("xnnpack-fp32")
    assert "file" not in emb["artifacts"][0] and "parity" not in emb["artifacts"][0]
    assert "/home/alice" not in json.dumps(emb) and emb["model"]["checkpoint"] == {"sha256": "cd"}
    assert mf.from_json(emb, "e", embedded=True).artifacts[0].file is None
    with pytest.raises(mf.ManifestError, match="exactly one artifact"):
        mf.from_json({**emb, "artifacts": emb["artifacts"] * 2}, "e", embedded=True)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["artifacts"][0].update(file="../x.pte"), "plain file name inside the build folder"),
        (lambda d: d["artifacts"][0].update(file="/etc/passwd"), "plain file name"),
        (lambda d: d["artifacts"][0].pop("file"), "artifacts\\[0\\].file' is missing"),
        (lambda d: d["artifacts"][0].pop("sha256"), "sha256' is missing"),
        (lambda d: d["artifacts"][0]["input"].update(layout="CHW"), "one of NCHW, NHWC"),
        (lambda d: d["artifacts"][0]["input"].update(shape=[1, 3, 24, 32]), "size 24x32"),
        (lambda d: d["artifacts"][0]["input"].update(std=[1, 0, 1]), "3 finite numbers > 0"),
        (lambda d: d["artifacts"][0]["input"].update(mean=[1, float("nan"), 1]), "3 finite numbers"),
        (lambda d: d["artifacts"][0]["outputs"][0].update(shape=[1, -17]), "positive integers"),
        (lambda d: d["artifacts"][0].update(outputs=[]), "at least one output"),
        (lambda d: d.update(schema_version=2), "schema_version 2 is not supported"),
        (lambda d: d.update(schema="other"), "not a mobilesdk manifest"),
        (lambda d: d["keypoints"].update(names=[]), "non-empty list of names"),
        (lambda d: d.pop("codec"), "'codec' is missing"),
    ],
)
def test_invalid_documents_are_rejected_with_the_key(edit, message):
    doc = copy.deepcopy(_doc())
    edit(doc)
    with pytest.raises(mf.ManifestError, match=message):
        mf.from_json(doc, "build/manifest.json")


def test_unreadable_manifest_files(tmp_path):
    with pytest.raises(mf.ManifestError, match="no manifest here"):
        mf.read_manifest(tmp_path / "manifest.json")
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe{not json")
    with pytest.raises(mf.ManifestError, match="not UTF-8"):
        mf.read_manifest(bad)
    bad.write_text("{")
    with pytest.raises(mf.ManifestError, match="not valid JSON"):
        mf.read_manifest(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(mf.ManifestError, match="expected a JSON object"):
        mf.read_manifest(bad)
    with pytest.raises(mf.ManifestError, match="is a directory"):
        mf.read_manifest(tmp_path)
