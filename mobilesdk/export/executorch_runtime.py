"""The ExecuTorch host runtime (XNNPACK + portable kernels): run ``forward``, read metadata, check a program loads.

Loading is quiet: the runtime logs cpuinfo probes at its first load and the XNNPACK delegate logs why it
refuses a graph, all from C++ to fd 2. Those lines are captured (see :mod:`mobilesdk.export.quiet`) and, when
a load fails, appended to the :class:`~mobilesdk.errors.ExportError` as ``[runtime log: ...]``, because the
Python exception alone says only ``Failed to load method forward, error: 0x:1``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mobilesdk.errors import ExportError
from mobilesdk.export.quiet import quiet

if TYPE_CHECKING:
    import numpy as np

_T = TypeVar("_T")

# ExecuTorch ScalarType codes (what TensorInfo.dtype() returns) -> torch dtype names.
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
# "[file.cpp:LINE] message" lines of the runtime's logger; cpuinfo probes are noise, not reasons.
_LOG_LINE = re.compile(r"^\[(?!cpuinfo)[\w.]+:\d+\] ")
_LOG_LIMIT = 400  # characters of runtime log kept in an error message


def run_executorch(path: Path, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Run ``forward`` of a ``.pte`` on the host runtime (XNNPACK + portable kernels).

    ``inputs`` must match the exported shapes and dtypes exactly. The loaded method is cached per file
    (path, mtime, size), so repeated calls measure inference, not loading and weight packing.
    """
    import numpy as np
    import torch

    path = Path(path)
    stat = _stat(path)
    method = _load_forward(str(path.resolve()), stat.st_mtime_ns, stat.st_size)[1]
    meta = method.metadata
    if len(inputs) != meta.num_inputs():
        raise ExportError(f"{path.name}: forward takes {meta.num_inputs()} input(s), got {len(inputs)}")
    tensors = []
    for i, array in enumerate(inputs):
        tensor = torch.from_numpy(np.ascontiguousarray(array))
        expected = meta.input_tensor_meta(i)
        dtype = _SCALAR_TYPES.get(expected.dtype(), f"ScalarType({expected.dtype()})")
        if tuple(tensor.shape) != tuple(expected.sizes()) or str(tensor.dtype) != f"torch.{dtype}":
            raise ExportError(
                f"{path.name}: input {i} is {tensor.dtype} {tuple(tensor.shape)}, "
                f"forward expects {dtype} {tuple(expected.sizes())}"
            )
        tensors.append(tensor)
    try:
        outputs = method.execute(tensors)
    except Exception as exc:
        raise ExportError(f"{path.name}: forward failed on the host runtime: {first_line(exc)}") from exc
    return [o.detach().numpy() if isinstance(o, torch.Tensor) else np.asarray(o) for o in outputs]


def read_executorch_metadata(path: Path) -> dict[str, str]:
    """Every string constant method of a ``.pte`` (the ``metadata`` given at export), read from the file alone."""
    path = Path(path)
    program = _load_program(path)
    found: dict[str, str] = {}
    for name in sorted(program.method_names - {"forward"}):
        meta = program.metadata(name)
        if meta.num_inputs() != 0 or meta.num_outputs() != 1:
            continue
        value = _call_runtime(
            lambda name=name: program.load_method(name).execute([])[0],
            f"{path.name}: cannot read method '{name}'",
        )
        if isinstance(value, str):
            found[name] = value
    return found


def check_initialises(buffer: bytes) -> None:
    """Load ``forward`` on the host runtime: XNNPACK builds its graph only at load, and can refuse it there."""
    runtime = _get_runtime()
    _call_runtime(
        lambda: runtime.load_program(buffer).load_method("forward"),
        "the lowered program does not initialise on the ExecuTorch runtime (the XNNPACK delegate "
        "rejected its graph at load; the runtime's log names the node)",
    )


def first_line(exc: BaseException) -> str:
    """The first non-blank line of an exception's message (its type name when it has none)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _call_runtime(action: Callable[[], _T], failure: str) -> _T:
    """``action()`` with the runtime's output silenced; on error, ExportError(failure: reason [runtime log])."""
    with quiet() as output:
        try:
            return action()
        except Exception as exc:
            error = exc
    log = " | ".join(line.strip() for line in output.text.splitlines() if _LOG_LINE.match(line))
    detail = f" [runtime log: {log[:_LOG_LIMIT]}]" if log else ""
    raise ExportError(f"{failure}: {first_line(error)}{detail}") from error


def _get_runtime() -> Any:
    with quiet():  # importing executorch.runtime logs a torch deprecation warning
        from executorch.runtime import Runtime

        return Runtime.get()


def _stat(path: Path) -> os.stat_result:
    try:
        return path.stat()
    except OSError as exc:
        raise ExportError(f"cannot read {path}: {exc.strerror}") from exc


def _load_program(path: Path) -> Any:
    _stat(path)
    runtime = _get_runtime()
    return _call_runtime(
        lambda: runtime.load_program(path), f"{path.name} is not a loadable ExecuTorch program"
    )


@lru_cache(maxsize=4)
def _load_forward(path: str, mtime_ns: int, size: int) -> tuple[Any, Any]:
    """(program, forward method); the program is returned too because the method must not outlive it."""
    program = _load_program(Path(path))
    method = _call_runtime(lambda: program.load_method("forward"), f"{Path(path).name}: cannot load forward")
    return program, method
