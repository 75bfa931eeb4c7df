"""The committed fixture weights (tests/fixtures/weights/): the same bytes on every machine, checked against the
cards they were trained for, and refused with how to regenerate when the architecture changed."""

from __future__ import annotations

import json

import pytest

from mobilesdk.cards import load_card
from mobilesdk.modeling import build_model
from tests.conftest import write_card
from tests.fixtures import training


def test_committed_weights_load_strictly_into_their_cards(small_cards):
    for family in ("movepose", "mobilehumanpose"):
        card = load_card(small_cards[family])
        path = training.fixture_weights(card)
        assert path.parent == training.WEIGHTS_DIR
        build_model(card, path)  # strict load: every parameter name and shape


def test_a_changed_architecture_or_file_says_how_to_regenerate(tmp_path, monkeypatch):
    wider = load_card(
        write_card(tmp_path, "movepose-xs", id="movepose-xs-128", input__size={"width": 160, "height": 160})
    )
    with pytest.raises(AssertionError, match="retrain the fixtures: python -m tests.fixtures.training"):
        training.fixture_weights(wider)  # SimCC head sizes follow the input size
    variant = tmp_path / "variant"
    variant.mkdir()
    (variant / "movepose-xs-128.pt").write_bytes(
        (training.WEIGHTS_DIR / "movepose-xs-128.pt").read_bytes()[:-1]
    )
    (variant / training.INDEX).write_text((training.WEIGHTS_DIR / training.INDEX).read_text())
    monkeypatch.setenv(training.OVERRIDE_ENV, str(variant))
    same = load_card(
        write_card(tmp_path, "movepose-xs", id="movepose-xs-128", input__size={"width": 128, "height": 128})
    )
    with pytest.raises(AssertionError, match="not the file"):
        training.fixture_weights(same)
    index = json.loads((variant / training.INDEX).read_text())
    assert index["movepose-xs-128"]["settings"]["steps"] == training.STEPS["movepose-xs-128"]
