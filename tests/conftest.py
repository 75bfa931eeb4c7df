"""Shared fixtures. Heavy ones (trained weights, exported artifacts) are session-scoped and cached."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from mobilesdk.cards import ZOO_DIR, load_card


def pytest_configure(config) -> None:
    """Under ``pytest -n 2`` (the default, pyproject.toml) two workers share two cores: one torch thread each,
    or their spinning OpenMP pools fight. Tests that exercise thread counts pass them explicitly."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch

        torch.set_num_threads(1)


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


SMALL_CARDS = {  # family -> (zoo card, changes): one small-input card per model family
    "movepose": ("movepose-xs", {"id": "movepose-xs-128", "input__size": {"width": 128, "height": 128}}),
    "mobilehumanpose": (
        "mobilehumanpose-xs",
        {
            "id": "mobilehumanpose-xs-128",
            "input__size": {"width": 128, "height": 128},
            "codec__params": {"depth_bins": 32, "heatmap_size": {"width": 16, "height": 16}},
        },
    ),
    **{
        family: (
            f"{family}-256x192",
            {
                "id": f"{family}-128x96",
                "input__size": {"width": 96, "height": 128},
                "codec__params": HEATMAP_128X96,
            },
        )
        for family in ("mobileposenet", "rethinkdeconv")
    },
}
TRAINED = (
    "movepose",
    "mobilehumanpose",
)  # families with committed fixture weights (tests/fixtures/training.py)


def fixture_card_specs() -> list[tuple[str, dict]]:
    """(zoo card, changes) of the fixture cards that have trained weights (tests/fixtures/training.py)."""
    return [SMALL_CARDS[family] for family in TRAINED]


@pytest.fixture(scope="session")
def small_cards(tmp_path_factory) -> dict[str, Path]:
    """One small-input card per model family (same architecture and codec as the zoo card)."""
    tmp = tmp_path_factory.mktemp("cards")
    return {family: write_card(tmp, base, **changes) for family, (base, changes) in SMALL_CARDS.items()}


@pytest.fixture(scope="session")
def trained_movepose(small_cards) -> tuple[Path, Path]:
    """(card, checkpoint) of movepose-xs at 128x128 trained on synthetic figures (committed weights): peaked
    SimCC outputs."""
    from tests.fixtures.training import fixture_weights

    card_path = small_cards["movepose"]
    return card_path, fixture_weights(load_card(card_path))


@pytest.fixture(scope="session")
def trained_mobilehumanpose(small_cards) -> tuple[Path, Path]:
    """(card, checkpoint) of mobilehumanpose-xs at 128x128 (32 depth bins, 16x16 grid), briefly trained
    (committed weights)."""
    from tests.fixtures.training import fixture_weights

    card_path = small_cards["mobilehumanpose"]
    return card_path, fixture_weights(load_card(card_path))


@pytest.fixture(scope="session")
def movepose_pte(trained_movepose, tmp_path_factory) -> dict:
    """movepose-xs-128 with the trained fixture weights, built for ExecuTorch once for tests/native and
    tests/android (a persistent cache: a warm session exports nothing). Keys: card, checkpoint, dir, pte,
    manifest, artifact (tests/fixtures/artifacts.py). Read-only: tests copy what they change."""
    from tests.fixtures.artifacts import build_executorch

    return build_executorch(*trained_movepose, tmp_path_factory.mktemp("movepose-pte"))


@pytest.fixture(scope="session")
def mobilehumanpose_pte(trained_mobilehumanpose, tmp_path_factory) -> dict:
    """mobilehumanpose-xs at 128x128 (integral-3d, 32 depth bins), trained fixture weights, ExecuTorch: the 3-D
    model, built once (persistent cache) for tests/native and tests/test_predict.py. Keys as ``movepose_pte``."""
    from tests.fixtures.artifacts import build_executorch

    return build_executorch(*trained_mobilehumanpose, tmp_path_factory.mktemp("mhp-pte"))


@pytest.fixture(scope="session")
def movepose_tflite(trained_movepose, tmp_path_factory) -> dict:
    """movepose-xs at 128x128, trained fixture weights, LiteRT fp32 (NHWC input). Keys as ``movepose_pte``,
    with ``tflite`` for ``pte`` (tests/fixtures/artifacts.py)."""
    from tests.fixtures.artifacts import build_litert

    return build_litert(*trained_movepose, tmp_path_factory.mktemp("movepose-tflite"))


@pytest.fixture(scope="session")
def vectors_dir(tmp_path_factory) -> Path:
    """The shared test vectors (mobilesdk.vectors), written once per session for the C++ and Kotlin tests."""
    from mobilesdk.vectors import write_vectors

    out = tmp_path_factory.mktemp("vectors")
    write_vectors(out)
    return out


FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"


def user_card(tmp: Path, cls: str, **input_size) -> Path:
    """A user card (``architecture.entry``) for one of the classes in tests/fixtures/user_models.py."""
    size = {"width": 64, "height": 64, **input_size}
    card = {
        "id": f"user-{cls.lower()}",
        "architecture": {"entry": str(FIXTURES_DIR / "user_models.py") + f":{cls}", "hparams": {"width": 8}},
        "input": {"size": size, "mean": [0, 0, 0], "std": [255, 255, 255]},
        "codec": {
            "name": "heatmap",
            "params": {"heatmap_size": {"width": size["width"] // 4, "height": size["height"] // 4}},
        },
        "keypoints": "coco-17",
    }
    path = tmp / f"{cls}.yaml"
    path.write_text(yaml.safe_dump(card))
    return path


@pytest.fixture(scope="session")
def tiny_build(tmp_path_factory) -> Path:
    """A user's tiny heatmap model built for both runtimes (fp32, random weights): a real build dir in ~10 s."""
    from mobilesdk.build import BuildRequest, build

    tmp = tmp_path_factory.mktemp("tiny")
    card = load_card(user_card(tmp, "TinyHeatmapNet"))
    build(BuildRequest(card=card, out=tmp / "dist", backend="all"))
    return tmp / "dist" / card.id
