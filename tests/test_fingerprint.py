"""The cache cannot serve stale results: every input of an artifact is in its key, and a hit is re-verified."""

from __future__ import annotations

import shutil

import pytest

from mobilesdk import fingerprint as fp
from mobilesdk.build import BuildRequest, build
from mobilesdk.cards import load_card
from mobilesdk.errors import VerifyError
from tests.conftest import FIXTURES_DIR, user_card, write_card


def test_card_digest_covers_the_keypoint_preset_file(tmp_path, monkeypatch):
    import mobilesdk.cards as cards

    card_path = write_card(tmp_path, "movepose-xs")
    before = fp.card_digest(load_card(card_path))
    presets = tmp_path / "keypoints"
    shutil.copytree(cards.KEYPOINT_PRESET_DIR, presets)
    text = (presets / "coco-17.yaml").read_text()
    (presets / "coco-17.yaml").write_text(text.replace("nose", "nose_tip"))
    monkeypatch.setattr(cards, "KEYPOINT_PRESET_DIR", presets)
    after = load_card(card_path)
    assert after.keypoints.names[0] == "nose_tip" and fp.card_digest(after) != before


def test_card_digest_ignores_formatting_but_not_content(tmp_path):
    path = write_card(tmp_path, "movepose-xs")
    digest = fp.card_digest(load_card(path))
    path.write_text("# a comment\n" + path.read_text())
    assert fp.card_digest(load_card(path)) == digest
    path.write_text(path.read_text().replace("int8_mean_px: 2.0", "int8_mean_px: 1.5"))
    assert fp.card_digest(load_card(path)) != digest


def test_architecture_digest_follows_the_users_source_file(tmp_path):
    src = tmp_path / "net.py"
    shutil.copy(FIXTURES_DIR / "user_models.py", src)
    card_path = user_card(tmp_path, "TinyHeatmapNet")
    card_path.write_text(card_path.read_text().replace(str(FIXTURES_DIR / "user_models.py"), str(src)))
    card = load_card(card_path)
    before = fp.architecture_digest(card)
    src.write_text(src.read_text() + "\n# retrained with a different init\n")
    assert fp.architecture_digest(card) != before  # same card text, new source
    zoo = load_card(write_card(tmp_path, "movepose-xs"))
    assert fp.architecture_digest(zoo).startswith("zoo:")


def test_every_input_changes_the_cache_key(monkeypatch):
    base = ("f", "xnnpack-int8", {"quantize": "int8"}, "calib", {"torch": "2.13.0"})
    key = fp.cache_key(*base)
    variants = [
        ("g", *base[1:]),
        (base[0], "litert-int8", *base[2:]),
        (*base[:2], {"quantize": "int8", "split_large_kernels": False}, *base[3:]),
        (*base[:3], "other-calib", base[4]),
        (*base[:4], {"torch": "2.14.0"}),
    ]
    assert all(fp.cache_key(*v) != key for v in variants)
    fp.package_digest.cache_clear()
    monkeypatch.setattr(fp, "_files_digest", lambda files: "an exporter fix")
    assert fp.cache_key(*base) != key  # mobilesdk's own source
    fp.package_digest.cache_clear()


def test_fingerprint_covers_the_checkpoint(tmp_path):
    card = load_card(write_card(tmp_path, "movepose-xs"))
    assert fp.model_fingerprint(card, "a" * 64) != fp.model_fingerprint(card, None)


def test_a_cache_hit_is_verified_again_against_todays_gates(tmp_path, monkeypatch):
    """Built and reused: the reuse re-runs parity, so a gate that tightened since makes the rebuild fail."""
    import mobilesdk.verify as verify

    card = load_card(user_card(tmp_path, "TinyHeatmapNet"))
    first = build(BuildRequest(card=card, out=tmp_path / "out"))
    second = build(BuildRequest(card=card, out=tmp_path / "out"))
    assert not first.artifacts[0].cached and second.artifacts[0].cached
    monkeypatch.setattr(verify, "FP32_MAX_REL", 1e-12)
    with pytest.raises(VerifyError, match="exceeds the fp32 budget 1e-12"):
        build(BuildRequest(card=card, out=tmp_path / "out"))
    assert (tmp_path / "out" / card.id / "manifest.json").is_file()  # the previous build is still there


def test_editing_the_users_architecture_rebuilds(tmp_path):
    src = tmp_path / "net.py"
    shutil.copy(FIXTURES_DIR / "user_models.py", src)
    card_path = user_card(tmp_path, "TinyHeatmapNet")
    card_path.write_text(card_path.read_text().replace(str(FIXTURES_DIR / "user_models.py"), str(src)))
    out = tmp_path / "out"
    build(BuildRequest(card=load_card(card_path), out=out))
    src.write_text(src.read_text() + "\n# edited\n")
    again = build(BuildRequest(card=load_card(card_path), out=out))
    assert not again.artifacts[0].cached
