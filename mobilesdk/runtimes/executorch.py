"""ExecuTorch on the host (XNNPACK + portable/optimized kernels, the pip wheel's runtime): sessions, metadata,
export of a recipe.

Untrusted files: the runtime aborts the whole process (SIGABRT) on some malformed programs — its loader logs
the file's identifier bytes through pybind11, which throws on non-UTF-8 and terminates. So a file's header is
checked first (flatbuffer identifier ``ET12`` at offset 4), and programs load with ExecuTorch's
``InternalConsistency`` verification, which checks the flatbuffer before anything uses it.

Threads: ExecuTorch's CPU thread pool is process-wide and must be sized before a method loads (resizing it
under a loaded XNNPACK method is a use-after-free). A session therefore resizes the pool only while no other
session is open, and refuses a different thread count while one is.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mobilesdk.errors import first_line
from mobilesdk.export import EMBED_KEY
from mobilesdk.export.executorch_runtime import call_runtime as _call
from mobilesdk.export.executorch_runtime import get_runtime as _runtime
from mobilesdk.export.quiet import quiet
from mobilesdk.runtimes import ExportJob, RuntimeFileError, Session, SessionError, TensorSpec, read_header

if TYPE_CHECKING:
    import numpy as np

PTE_IDENTIFIER = b"ET12"
MANIFEST_METHOD = EMBED_KEY
# ExecuTorch ScalarType codes (TensorInfo.dtype()) -> numpy dtype names.
_SCALAR_TYPES = {
    0: "uint8",
    1: "int8",
    2: "int16",
    3: "int32",
    4: "int64",
    5: "float16",
    6: "float32",
    11: "bool",
}

_open_sessions: dict[int, int] = {}  # id(session) -> threads, for the process-wide pool


def check_program_file(path: Path) -> None:
    """Raise RuntimeFileError unless ``path`` starts like an ExecuTorch program (before native code sees it)."""
    head = read_header(path, 16)
    if len(head) < 16 or head[4:8] != PTE_IDENTIFIER:
        raise RuntimeFileError(f"{path}: not an ExecuTorch program (no '{PTE_IDENTIFIER.decode()}' header)")


def call_runtime(action, failure: str, error=RuntimeFileError):
    """``action()`` with the runtime's log kept; failures are ``error`` (RuntimeFileError by default)."""
    return _call(action, failure, error)


def load_program(path: Path) -> Any:
    check_program_file(path)
    runtime = _runtime()
    return call_runtime(lambda: runtime.load_program(path), f"{path} is not a loadable ExecuTorch program")


def _set_threads(threads: int | None) -> int:
    """Size the process-wide pool for a new session; returns the count in use."""
    with quiet():
        import executorch.extension.pybindings.portable_lib as portable

        current = int(portable._threadpool_get_thread_count())
        if threads is None or threads == current:
            return current
        if _open_sessions:
            raise SessionError(
                f"ExecuTorch's CPU thread pool is process-wide and {len(_open_sessions)} session(s) use it with "
                f"{current} thread(s); close them before opening one with {threads}"
            )
        portable._unsafe_reset_threadpool(threads)
        return int(portable._threadpool_get_thread_count())


def _specs(meta, count: int, getter: str, prefix: str) -> tuple[TensorSpec, ...]:
    out = []
    for i in range(count):
        info = getattr(meta, getter)(i)
        dtype = _SCALAR_TYPES.get(info.dtype(), f"scalar_type_{info.dtype()}")
        out.append(TensorSpec(f"{prefix}{i}", tuple(int(d) for d in info.sizes()), dtype))
    return tuple(out)


class ExecuTorchSession(Session):
    runtime = "executorch"

    def __init__(self, path: Path, threads: int | None) -> None:
        self.path = path
        self.threads = _set_threads(threads)  # imports the runtime: not part of the load time
        _runtime()
        t0 = time.perf_counter()
        self._program = load_program(path)
        if "forward" not in self._program.method_names:
            raise RuntimeFileError(f"{path}: the program has no 'forward' method")
        self._method = call_runtime(
            lambda: self._program.load_method("forward"), f"{path}: cannot load forward"
        )
        meta = self._method.metadata
        self.inputs = _specs(meta, meta.num_inputs(), "input_tensor_meta", "input_")
        self.outputs = _specs(meta, meta.num_outputs(), "output_tensor_meta", "output_")
        _open_sessions[id(self)] = self.threads
        self.load_seconds = time.perf_counter() - t0

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        import numpy as np
        import torch

        if self._method is None:
            raise SessionError(f"{self.path.name}: session is closed")
        self.check_inputs(inputs)
        tensors = [torch.from_numpy(np.ascontiguousarray(a)) for a in inputs]
        try:
            outputs = self._method.execute(tensors)
        except Exception as exc:
            raise SessionError(
                f"{self.path.name}: forward failed on the host runtime: {first_line(exc)}"
            ) from exc
        return [o.detach().numpy().copy() if isinstance(o, torch.Tensor) else np.asarray(o) for o in outputs]

    def close(self) -> None:
        self._method = None  # the method must go before the program it points into
        self._program = None
        _open_sessions.pop(id(self), None)


def open_session(path: Path, threads: int | None) -> ExecuTorchSession:
    return ExecuTorchSession(path, threads)


def read_metadata(path: Path) -> dict[str, str]:
    """Every string constant method of a ``.pte`` (the ``metadata`` given at export): no weights are loaded."""
    program = load_program(path)
    found: dict[str, str] = {}
    for name in sorted(program.method_names - {"forward"}):
        meta = program.metadata(name)
        if meta.num_inputs() != 0 or meta.num_outputs() != 1:
            continue
        value = call_runtime(
            lambda name=name: program.load_method(name).execute([])[0], f"{path}: cannot read '{name}'"
        )
        if isinstance(value, str):
            found[name] = value
    return found


def describe(path: Path) -> dict[str, Any]:
    program = load_program(path)
    meta = program.metadata("forward")
    return {
        "inputs": [s.__dict__ for s in _specs(meta, meta.num_inputs(), "input_tensor_meta", "input_")],
        "outputs": [s.__dict__ for s in _specs(meta, meta.num_outputs(), "output_tensor_meta", "output_")],
        "methods": sorted(program.method_names),
    }


def export(job: ExportJob) -> dict[str, Any]:
    from mobilesdk.export.executorch import export_executorch

    report = export_executorch(
        job.model,
        job.example,
        job.path,
        quantize=None if job.recipe.quantize == "none" else job.recipe.quantize,
        calibration=job.calibration,
        keep_float_modules=job.keep_float,
        metadata={MANIFEST_METHOD: job.metadata},
        require_full_delegation=True,
        split_large_kernels=job.split_large_kernels,
        weight_only_modules=list(job.weight_only),
    )
    return {
        "delegate": "xnnpack",
        "num_delegates": report.num_delegates,
        "delegated_ops": report.delegated_ops,
        "undelegated_ops": dict(report.undelegated_ops),
        # input cast/permute at the graph boundary, which XNNPACK cannot take: reported, not a failure
        "boundary_ops": dict(report.tolerated_ops),
        "rewrites": list(report.rewrites),
    }
