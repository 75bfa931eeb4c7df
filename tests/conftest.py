"""Shared fixtures. Heavy ones (trained weights, exported artifacts) are session-scoped and cached."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mobilesdk.cards import ZOO_DIR, load_card


def write_card(tmp: Path, base_id: str, **changes) -> Path:
    """A copy of a zoo card with top-level/nested changes (``input__size={'width':..}`` style keys)."""
    data = yaml.safe_load((ZOO_DIR / f"{base_id}.yaml").read_text())
    for key, value in changes.items():
        node = data
        *parents, leaf = key.split("__")
        for p in parents:
            node = node[p]
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    data.pop("cost", None)  # a resized model has another cost
    path = tmp / f"{data['id']}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


HEATMAP_128X96 = {
    "heatmap_size": {"width": 24, "height": 32},
    "sigma": 2.0,
    "refine": "dark",
    "blur_kernel": 11,
}


@pytest.fixture(scope="session")
def small_cards(tmp_path_factory) -> dict[str, Path]:
    """One small-input card per model family (same architecture and codec as the zoo card)."""
    tmp = tmp_path_factory.mktemp("cards")
    return {
        "movepose": write_card(
            tmp, "movepose-xs", id="movepose-xs-128", input__size={"width": 128, "height": 128}
        ),
        "mobilehumanpose": write_card(
            tmp,
            "mobilehumanpose-xs",
            id="mobilehumanpose-xs-128",
            input__size={"width": 128, "height": 128},
            codec__params={"depth_bins": 32, "heatmap_size": {"width": 16, "height": 16}},
        ),
        **{
            family: write_card(
                tmp,
                f"{family}-256x192",
                id=f"{family}-128x96",
                input__size={"width": 96, "height": 128},
                codec__params=HEATMAP_128X96,
            )
            for family in ("mobileposenet", "rethinkdeconv")
        },
    }


@pytest.fixture(scope="session")
def trained_movepose(small_cards) -> tuple[Path, Path]:
    """(card, checkpoint) of movepose-xs at 128x128 trained on synthetic figures: peaked SimCC outputs."""
    from tests.fixtures.training import train_fixture

    card_path = small_cards["movepose"]
    return card_path, train_fixture(load_card(card_path))
