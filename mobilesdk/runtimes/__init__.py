"""Host runtimes: one small interface per runtime, used by build, verify and bench alike.

A :class:`Runtime` (registered by name, the manifest's ``artifact.runtime``) knows its file extension, how to
export a recipe to it, how to read the metadata embedded in its files, and how to open a :class:`Session`:
load once with a thread count -> ``run`` as often as needed -> ``close``. Nothing is loaded per call, and no
file reaches native code before its header was checked (a random ``.pte`` aborts the ExecuTorch runtime; a
random ``.tflite`` makes the flatbuffer reader raise ``struct.error``).

Importing this package imports no runtime; each runtime module imports its runtime on first use.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mobilesdk.errors import MobileSDKError

if TYPE_CHECKING:
    import numpy as np


class RuntimeFileError(MobileSDKError):
    """A file handed to a runtime is not a loadable model of that runtime (or cannot be read)."""


class SessionError(MobileSDKError):
    """A session cannot be opened or run (wrong inputs, the runtime failed, the session is closed)."""


@dataclass(frozen=True)
class TensorSpec:
    """A model input or output as the file declares it: shape and numpy dtype name."""

    name: str
    shape: tuple[int, ...]
    dtype: str


@dataclass
class ExportJob:
    """One recipe exported to one file. ``model`` takes ``example`` (NCHW for LiteRT, the artifact layout for
    ExecuTorch); ``calibration`` batches shaped like ``example``; ``metadata`` the embedded manifest (JSON)."""

    recipe: Any  # mobilesdk.export.recipes.Recipe
    model: Any  # torch.nn.Module
    example: Any  # torch.Tensor
    path: Path
    layout: str
    calibration: Sequence[Any]
    keep_float: Sequence[str]
    weight_only: Sequence[str]
    metadata: str
    split_large_kernels: bool = True


class Session(ABC):
    """A loaded model: ``run`` takes the inputs exactly as the file declares them (batch included)."""

    runtime: str
    path: Path
    threads: int  # CPU threads in use; 0 = the runtime's own default
    load_seconds: float
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    @abstractmethod
    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Run once; outputs in the PyTorch model's return order."""

    @abstractmethod
    def close(self) -> None:
        """Release the runtime's objects; idempotent."""

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def check_inputs(self, inputs: Sequence[np.ndarray]) -> None:
        if len(inputs) != len(self.inputs):
            raise SessionError(f"{self.path.name}: takes {len(self.inputs)} input(s), got {len(inputs)}")
        for spec, value in zip(self.inputs, inputs, strict=True):
            if tuple(value.shape) != spec.shape or str(value.dtype) != spec.dtype:
                raise SessionError(
                    f"{self.path.name}: input '{spec.name}' takes {spec.dtype}{list(spec.shape)}, "
                    f"got {value.dtype}{list(value.shape)}"
                )


@dataclass(frozen=True)
class Runtime:
    name: str
    extension: str
    module: str  # implements open_session, read_metadata, export, describe

    def _impl(self):
        return importlib.import_module(self.module)

    def open(self, path: Path, threads: int | None = None) -> Session:
        """Load ``path`` once with ``threads`` CPU threads (None: the runtime's default)."""
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise SessionError(f"threads must be a positive integer, got {threads!r}")
        return self._impl().open_session(Path(path), threads)

    def read_metadata(self, path: Path) -> dict[str, str]:
        """Every string metadata entry embedded in the file (name -> UTF-8 text), from the file alone."""
        return self._impl().read_metadata(Path(path))

    def export(self, job: ExportJob) -> dict[str, Any]:
        """Export ``job`` and return its lowering record for the manifest."""
        return self._impl().export(job)

    def describe(self, path: Path) -> dict[str, Any]:
        """Inputs, outputs and ops of a file, for a model nobody here built (bench, inspect)."""
        return self._impl().describe(Path(path))


RUNTIMES: dict[str, Runtime] = {}


def register(runtime: Runtime) -> None:
    if runtime.name in RUNTIMES:  # refuse silent overwrite
        raise ValueError(f"runtime {runtime.name!r} registered twice")
    RUNTIMES[runtime.name] = runtime


register(Runtime("executorch", ".pte", "mobilesdk.runtimes.executorch"))
register(Runtime("litert", ".tflite", "mobilesdk.runtimes.litert"))


def get_runtime(name: str) -> Runtime:
    if name not in RUNTIMES:
        raise MobileSDKError(f"unknown runtime '{name}'; known: {', '.join(RUNTIMES)}")
    return RUNTIMES[name]


def runtime_for_file(path: Path) -> Runtime:
    """The runtime of a model file, by extension (.pte, .tflite)."""
    suffix = Path(path).suffix.lower()
    for runtime in RUNTIMES.values():
        if runtime.extension == suffix:
            return runtime
    known = ", ".join(r.extension for r in RUNTIMES.values())
    raise RuntimeFileError(f"{path}: not a model file (expected {known})")


def read_header(path: Path, size: int) -> bytes:
    """The first ``size`` bytes of ``path`` (fewer if the file is shorter); one-line errors."""
    try:
        with open(path, "rb") as f:
            return f.read(size)
    except FileNotFoundError:
        raise RuntimeFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise RuntimeFileError(f"{path}: is a directory, not a model file") from None
    except OSError as exc:
        raise RuntimeFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
