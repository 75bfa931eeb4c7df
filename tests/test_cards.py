"""Cards: every zoo card loads and is consistent; bad cards give precise one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mobilesdk.archs import ARCHITECTURES
from mobilesdk.cards import ZOO_DIR, load_card, load_zoo, resolve_card
from mobilesdk.errors import CardError, UnknownModelError

ZOO_IDS = [
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


def test_zoo_has_the_nine_ids():
    assert sorted(c.id for c in load_zoo()) == sorted(ZOO_IDS)


def test_every_card_has_registered_architecture_and_every_architecture_a_card():
    used = {c.architecture.name for c in load_zoo()}
    assert used <= set(ARCHITECTURES), f"cards name unregistered architectures: {used - set(ARCHITECTURES)}"
    assert set(ARCHITECTURES) <= used, f"architectures without a card: {set(ARCHITECTURES) - used}"


def test_cards_carry_published_figures_with_sources_and_reconstruction_flags():
    for card in load_zoo():
        assert card.published, card.id
        assert all(f.source for f in card.published), card.id
        assert card.cost is not None, f"{card.id}: no measured cost"
        if card.architecture.reconstructed:
            assert card.architecture.notes, f"{card.id}: reconstructed without notes saying how"
    assert not resolve_card("mobilehumanpose-l").architecture.reconstructed
    assert resolve_card("movepose-s").architecture.reconstructed


def test_unknown_model_suggests_close_matches():
    with pytest.raises(UnknownModelError, match="did you mean movepose-xs"):
        resolve_card("movepose-x")


def _bad(tmp_path: Path, mutate) -> str:
    data = yaml.safe_load((ZOO_DIR / "movepose-xs.yaml").read_text())
    mutate(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(CardError) as info:
        load_card(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d: d["input"]["size"].update(width=-3),
            "key 'input.size.width': expected a positive integer, got -3",
        ),
        (
            lambda d: d["input"].update(std=[1, 0, 1]),
            "key 'input.std': expected a list of 3 positive numbers",
        ),
        (lambda d: d["input"].update(color="rgba"), "key 'input.color': expected one of rgb, bgr"),
        (lambda d: d["architecture"].update(name="movepse"), "did you mean 'movepose'"),
        (lambda d: d.pop("codec"), "key 'codec': expected to be present"),
        (lambda d: d.update(keypoints="coco-18"), "key 'keypoints': expected a keypoint preset"),
        (
            lambda d: d.update(keypoints={"names": ["a", "b"], "flip_pairs": [[0, 5]]}),
            "two different keypoint indices in 0..1",
        ),
        (lambda d: d.update(inputs={}), "key 'inputs': expected one of"),
        (lambda d: d["codec"]["params"].update(split_ratoi=2), "split_ratoi"),
        (lambda d: d.update(id="Move Pose"), "key 'id': expected a kebab-case id"),
    ],
)
def test_bad_cards_name_file_key_and_expectation(tmp_path, mutate, expected):
    assert expected in _bad(tmp_path, mutate)


def test_invalid_yaml_and_missing_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("id: x\ninput: [unclosed\n")
    with pytest.raises(CardError, match=r"invalid YAML at line \d+"):
        load_card(path)
    with pytest.raises(CardError, match="card file not found"):
        load_card(tmp_path / "nope.yaml")
