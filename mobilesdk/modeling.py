"""From a card to an eval-mode nn.Module, with optional checkpoint weights. Imports torch."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mobilesdk.cards import Card
from mobilesdk.errors import ArchitectureError, CheckpointError

RANDOM_WEIGHTS_SEED = 0


def architecture_class(card: Card) -> type:
    from mobilesdk.archs import get_architecture, load_user_architecture

    spec = card.architecture
    if spec.name is not None:
        return get_architecture(spec.name)
    return load_user_architecture(spec.entry, card.path.parent)


def build_model(card: Card, checkpoint: Path | None = None):
    """The card's architecture with its hyperparameters, in eval mode; weights from ``checkpoint`` if given."""
    import torch

    from mobilesdk.archs import build_architecture

    cls = architecture_class(card)
    # Without a checkpoint the weights are random but reproducible, so `verify` rebuilds the same eager model.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(RANDOM_WEIGHTS_SEED)
        model = build_architecture(
            cls, card.num_keypoints, card.input.size.as_dict(), card.architecture.hparams
        )
    names = tuple(getattr(model, "output_names", ()) or ())
    if not names:
        raise ArchitectureError(f"{cls.__name__}: declares no output_names (expected e.g. ('heatmaps',))")
    if checkpoint is not None:
        load_checkpoint(model, checkpoint)
    return model.eval()


def _unwrap(obj: Any, path: Path) -> Mapping[str, Any]:
    """A bare state_dict, or one stored under 'state_dict' / 'model' (training-loop checkpoints)."""
    import torch

    if isinstance(obj, Mapping):
        for key in ("state_dict", "model"):
            inner = obj.get(key)
            if (
                isinstance(inner, Mapping)
                and inner
                and all(isinstance(v, torch.Tensor) for v in inner.values())
            ):
                return inner
        tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
        if tensors:
            return tensors
    raise CheckpointError(
        f"{path}: no state_dict found (expected a mapping of tensors, or one under 'state_dict' or 'model'; "
        f"got {type(obj).__name__})"
    )


def read_state_dict(path: Path) -> dict[str, Any]:
    """Load a checkpoint safely (``weights_only=True``), unwrap it and strip a DataParallel ``module.`` prefix."""
    import pickle
    import re
    import warnings

    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pickle-protocol chatter from the weights-only unpickler
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc)
        code = re.search(r"GLOBAL ([\w.]+)", text)
        if code or "Unsupported global" in text:
            what = f" ({code.group(1)})" if code else ""
            raise CheckpointError(
                f"{path}: refused to load: the file references Python code{what}, which a weights-only load "
                "never runs; re-save it with torch.save(model.state_dict(), path)"
            ) from None
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint (unpickling failed)") from None
    except Exception as exc:  # noqa: BLE001 — garbage bytes surface as IndexError, KeyError, UnicodeDecodeError...
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({first})") from None
    state = dict(_unwrap(obj, path))
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module.") :]: v for k, v in state.items()}
    return state


def _listing(keys: list[str], limit: int = 4) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f" (+{len(keys) - limit} more)" if len(keys) > limit else "")


def load_checkpoint(model, path: Path) -> None:
    """Load weights strictly; on mismatch, one readable summary of missing, unexpected and mis-shaped keys."""
    state = read_state_dict(path)
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    mismatched = [
        f"{k} {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in state and tuple(state[k].shape) != tuple(own[k].shape)
    ]
    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing ({_listing(missing)})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected ({_listing(unexpected)})")
        if mismatched:
            parts.append(f"{len(mismatched)} shape-mismatched ({_listing(mismatched, 2)})")
        raise CheckpointError(
            f"{path}: does not fit {type(model).__name__} ({len(own)} keys): " + "; ".join(parts)
        )
    model.load_state_dict(state, strict=True)
