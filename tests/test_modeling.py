"""Checkpoints: accepted layouts, safe loading, readable mismatch summaries."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from mobilesdk.cards import load_card
from mobilesdk.errors import CheckpointError
from mobilesdk.modeling import build_model, load_checkpoint


class _RunsCode:
    def __reduce__(self):
        return (print, ("this must never run",))


@pytest.fixture(scope="module")
def small_movepose(small_cards):
    return load_card(small_cards["movepose"])


@pytest.mark.parametrize("wrap", ["bare", "state_dict", "model", "module-prefix"])
def test_accepted_checkpoint_layouts(tmp_path, small_movepose, wrap):
    src = build_model(small_movepose)
    state = src.state_dict()
    if wrap == "module-prefix":
        obj = {f"module.{k}": v for k, v in state.items()}
    elif wrap == "bare":
        obj = state
    else:
        obj = {wrap: state, "epoch": 3}
    path = tmp_path / "ckpt.pth"
    torch.save(obj, path)
    dst = build_model(small_movepose, path)
    for k, v in dst.state_dict().items():
        assert torch.equal(v, state[k]), k


def test_checkpoint_of_another_architecture_gives_summary(tmp_path, small_movepose, small_cards):
    other = build_model(load_card(small_cards["rethinkdeconv"]))
    path = tmp_path / "other.pth"
    torch.save(other.state_dict(), path)
    with pytest.raises(CheckpointError) as info:
        build_model(small_movepose, path)
    msg = str(info.value)
    assert "\n" not in msg and "does not fit MovePose" in msg and "missing (" in msg and "unexpected (" in msg


def test_shape_mismatch_is_named(tmp_path, small_movepose):
    model = build_model(small_movepose)
    state = model.state_dict()
    key = next(k for k, v in state.items() if v.ndim == 4)
    state[key] = torch.zeros(1, 1, 1, 1)
    path = tmp_path / "shape.pth"
    torch.save(state, path)
    with pytest.raises(
        CheckpointError, match=r"1 shape-mismatched \(" + key.replace(".", r"\.") + r" \(1, 1, 1, 1\)"
    ):
        load_checkpoint(model, path)


def test_pickle_that_runs_code_is_refused(tmp_path, small_movepose, capfd):
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": _RunsCode()}, path)
    with pytest.raises(CheckpointError, match="refused to load"):
        build_model(small_movepose, path)
    assert "this must never run" not in capfd.readouterr().out


def test_corrupt_and_missing_checkpoints(tmp_path, small_movepose):
    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(b"\x80\x04garbage" * 10)
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        build_model(small_movepose, corrupt)
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        build_model(small_movepose, tmp_path / "missing.pth")
    # Garbage surfaces from torch.load as UnpicklingError, IndexError, KeyError, UnicodeDecodeError...: all
    # must become the same readable CheckpointError (seeded, so a failure reproduces).
    rng = np.random.default_rng(0)
    for _ in range(60):
        corrupt.write_bytes(rng.integers(0, 256, size=256, dtype=np.uint8).tobytes())
        with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
            build_model(small_movepose, corrupt)
    plain = tmp_path / "plain.pkl"
    plain.write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(CheckpointError):
        build_model(small_movepose, plain)
