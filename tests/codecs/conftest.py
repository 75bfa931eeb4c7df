"""Shared fixtures for the codec tests.

No ``__init__.py`` here: a test package named ``codecs`` would shadow the standard library module. Shared data is
exposed as fixtures rather than imported, so the tests work under any pytest import mode.
"""

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def coco_flip_pairs() -> list[tuple[int, int]]:
    """COCO left/right keypoint pairs (spec §5.0)."""
    return [(1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)]


@pytest.fixture
def coco_perm(coco_flip_pairs) -> np.ndarray:
    """(17,) permutation swapping the COCO pairs."""
    perm = np.arange(17)
    for a, b in coco_flip_pairs:
        perm[a], perm[b] = b, a
    return perm
