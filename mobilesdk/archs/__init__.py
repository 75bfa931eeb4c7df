"""The architecture zoo: PyTorch ``nn.Module`` classes registered by name, plus user-supplied classes.

Importing this package does not import torch: the registry maps names to ``"module:Class"`` strings and
:func:`get_architecture` imports the module on first use, so ``mobilesdk --help`` stays fast.

Every architecture class follows one contract::

    class X(nn.Module):
        output_names: ClassVar[tuple[str, ...]]  # the codec's output names, in forward() order
        head_modules: ClassVar[tuple[str, ...]]  # dotted names of the output-head submodules
        def __init__(self, num_keypoints: int, input_size: Mapping[str, int], **hparams): ...
        def forward(self, x: Tensor) -> tuple[Tensor, ...]  # x: (B, 3, H, W), already normalised
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mobilesdk.errors import ArchitectureError

if TYPE_CHECKING:
    from torch import nn

ARCHITECTURES: dict[str, str] = {
    "movepose": "mobilesdk.archs.movepose:MovePose",
    "mobilehumanpose": "mobilesdk.archs.mobilehumanpose:MobileHumanPose",
    "mobileposenet": "mobilesdk.archs.mobileposenet:MobilePoseNet",
    "rethinkdeconv": "mobilesdk.archs.rethinkdeconv:RethinkDeconv",
}

# Constructor arguments every architecture takes; everything else in its signature is a hyperparameter.
_FIXED_ARGUMENTS = ("num_keypoints", "input_size")

__all__ = ["ARCHITECTURES", "build_architecture", "get_architecture", "load_user_architecture"]


def get_architecture(name: str) -> type:
    """The class registered under ``name``, imported on first use.

    Raises :class:`ArchitectureError` listing the valid names (and the closest ones) if ``name`` is unknown.
    """
    target = ARCHITECTURES.get(name)
    if target is None:
        close = difflib.get_close_matches(str(name), ARCHITECTURES, n=3)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise ArchitectureError(
            f"unknown architecture {name!r}.{hint} Valid names: {', '.join(sorted(ARCHITECTURES))}"
        )
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def load_user_architecture(spec: str, base_dir: Path) -> type:
    """Load a user ``nn.Module`` subclass from ``"path/to/file.py:ClassName"`` or ``"package.module:ClassName"``.

    A spec whose module part ends in ``.py`` or contains a path separator is a file, resolved against
    ``base_dir`` when relative (typically the directory of the model card); otherwise it is imported as a
    module from ``sys.path``.
    """
    location, sep, class_name = str(spec).rpartition(":")
    if not sep or not location or not class_name.isidentifier():
        raise ArchitectureError(
            f"architecture spec {spec!r} must look like 'path/to/file.py:ClassName' or 'package.module:ClassName'"
        )
    if location.endswith(".py") or "/" in location or "\\" in location:
        module = _import_file(Path(base_dir) / location, spec)
    else:
        module = _import_module(location, spec)
    cls = getattr(module, class_name, None)
    if cls is None:
        found = sorted(n for n, v in vars(module).items() if inspect.isclass(v) and not n.startswith("_"))
        raise ArchitectureError(
            f"architecture spec {spec!r}: no class {class_name!r} in {location} "
            f"(classes there: {', '.join(found) or 'none'})"
        )
    from torch import nn

    if not (inspect.isclass(cls) and issubclass(cls, nn.Module)):
        raise ArchitectureError(f"architecture spec {spec!r}: {class_name} is not a torch.nn.Module subclass")
    return cls


def build_architecture(
    cls: type, num_keypoints: int, input_size: Mapping[str, int], hparams: Mapping[str, Any] | None
) -> nn.Module:
    """Instantiate ``cls(num_keypoints, input_size, **hparams)``.

    Hyperparameters are checked against the constructor signature first, so a typo in a card gives an
    :class:`ArchitectureError` naming the bad key and the accepted ones instead of a bare ``TypeError``.
    """
    if not isinstance(input_size, Mapping):
        raise ArchitectureError(
            f"{cls.__name__}: input_size must be {{width: W, height: H}}, got {input_size!r}"
        )
    hparams = {} if hparams is None else hparams
    if not isinstance(hparams, Mapping):
        raise ArchitectureError(f"{cls.__name__}: hparams must be a mapping, got {hparams!r}")
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):  # no introspectable signature (C extension...): let the call decide
        signature = None
    if signature is not None:
        _check_hparams(cls, signature, num_keypoints, input_size, hparams)
    return cls(num_keypoints, dict(input_size), **hparams)


def _check_hparams(
    cls: type,
    signature: inspect.Signature,
    num_keypoints: int,
    input_size: Mapping[str, int],
    hparams: Mapping[str, Any],
) -> None:
    parameters = signature.parameters
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    accepted = [n for n, p in parameters.items() if p.kind in named and n not in _FIXED_ARGUMENTS]
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    listing = ", ".join(accepted) or "none"
    for key in hparams:
        if key in _FIXED_ARGUMENTS:
            raise ArchitectureError(
                f"{cls.__name__}: {key!r} is set by the card, not by hparams (accepted hparams: {listing})"
            )
        if not takes_any and key not in accepted:
            close = difflib.get_close_matches(str(key), accepted, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ArchitectureError(
                f"{cls.__name__}: unknown hyperparameter {key!r}{hint}; accepted: {listing}"
            )
    try:
        signature.bind(num_keypoints, input_size, **hparams)
    except TypeError as error:
        raise ArchitectureError(
            f"{cls.__name__}: cannot be built with these hyperparameters ({error}); accepted: {listing}"
        ) from error


def _import_module(name: str, spec: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise ArchitectureError(
            f"architecture spec {spec!r}: cannot import module {name!r}: {error}"
        ) from error


def _import_file(path: Path, spec: str) -> Any:
    path = path.resolve()
    if not path.is_file():
        raise ArchitectureError(f"architecture spec {spec!r}: file not found: {path}")
    # A stable, path-derived module name: loading the same file twice yields the same module, and two
    # files that share a stem do not shadow each other.
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:12]
    module_name = f"mobilesdk_user_arch_{path.stem}_{digest}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise ArchitectureError(f"architecture spec {spec!r}: cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module  # before exec: dataclasses and pickling look modules up by name
    try:
        module_spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[module_name]
        raise ArchitectureError(
            f"architecture spec {spec!r}: importing {path} failed: {type(error).__name__}: {error}"
        ) from error
    return module
