"""From a card to an eval-mode nn.Module, with optional checkpoint weights. Imports torch."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mobilesdk.cards import Card
from mobilesdk.errors import ArchitectureError, CheckpointError, first_line

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
    else:
        calibrate_batchnorm(model, card)
    return model.eval()


def calibrate_batchnorm(model, card: Card, images: int = 4) -> None:
    """Random weights only: set every BatchNorm's running statistics from a few synthetic images.

    Why: with Kaiming-initialised (depthwise) convs and BatchNorm's default running statistics (mean 0, var 1),
    activations shrink layer after layer in eval mode; the zoo's MobileNet-style models output 1e-8 to 1e-10,
    which no parity figure or int8 calibration can say anything about. Deterministic (seeded images), so
    ``verify`` rebuilds the same eager model; a checkpoint's statistics are never touched.
    """
    import torch

    from mobilesdk import synthetic
    from mobilesdk.preprocess import normalize

    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    w, h = card.input.size.width, card.input.size.height
    crops, _ = synthetic.make_samples(images, card.num_keypoints, w, h, card.keypoints.skeleton, seed=11)
    x = normalize(crops, card.input)
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average: exactly the statistics of these images
    model.train()
    try:
        with torch.no_grad():
            model(torch.from_numpy(x))
    except Exception as exc:  # noqa: BLE001 — the user's forward raised
        raise ArchitectureError(
            f"{card.path}: forward on a {images}x3x{h}x{w} input raised {first_line(exc, 300, typed=True)}"
        ) from None
    finally:
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
        model.eval()


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
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({first_line(exc)})") from None
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


def load_eager(card: Card, checkpoint: Path | None = None):
    """The eval-mode model, its forward run once and its outputs checked against the card's codec.

    Every failure of user code (constructor, forward) or of the checkpoint is a one-line MobileSDKError that
    names the card; nothing of the user's traceback reaches the CLI.
    """
    import torch

    from mobilesdk.codecs import codec_for

    try:
        model = build_model(card, checkpoint)
    except (ArchitectureError, CheckpointError):
        raise
    except Exception as exc:  # noqa: BLE001 — the user's constructor raised
        raise ArchitectureError(
            f"{card.path}: building the architecture raised {first_line(exc, 300, typed=True)}"
        ) from None
    codec = codec_for(card)
    names = tuple(model.output_names)
    if names != tuple(codec.output_names):
        raise ArchitectureError(
            f"{card.path}: architecture outputs {names} do not match codec '{card.codec.name}' outputs {codec.output_names}"
        )
    w, h = card.input.size.width, card.input.size.height
    try:
        with torch.no_grad():
            outs = model(torch.zeros(1, 3, h, w))
    except Exception as exc:  # noqa: BLE001 — the user's forward raised
        raise ArchitectureError(
            f"{card.path}: forward on a 1x3x{h}x{w} input raised {first_line(exc, 300, typed=True)}"
        ) from None
    outs = (outs,) if isinstance(outs, torch.Tensor) else tuple(outs)
    if len(outs) != len(names) or not all(isinstance(o, torch.Tensor) for o in outs):
        raise ArchitectureError(
            f"{card.path}: forward returned {len(outs)} value(s), the architecture declares {len(names)} outputs {names}"
        )
    for name, out in zip(names, outs, strict=True):
        if out.shape[0] != 1 or not codec.accepts_shape(name, tuple(out.shape[1:])):
            want = (1, *codec.output_shapes()[name])
            raise ArchitectureError(
                f"{card.path}: output '{name}' has shape {tuple(out.shape)}, codec '{card.codec.name}' expects {want}"
            )
    return model


def run_eager(model, batch) -> list:
    """(N, 3, H, W) float32 normalised NCHW numpy batch -> outputs as numpy arrays, in declared order."""
    import numpy as np
    import torch

    with torch.no_grad():
        outs = model(torch.from_numpy(np.ascontiguousarray(batch)))
    outs = (outs,) if isinstance(outs, torch.Tensor) else outs
    return [o.numpy() for o in outs]
