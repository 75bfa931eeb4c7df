"""The ExecuTorch host runtime as the exporter needs it: the runtime object, calls whose native log is kept for
the error message, and the export-time load check. Running and reading ``.pte`` files (sessions) lives in
:mod:`mobilesdk.runtimes.executorch`, which builds on this module.

XNNPACK builds its graph only when a method loads, and can refuse it there, so an export is not finished until
``forward`` initialises on the host runtime. The runtime's log is captured and, when a call fails, appended to
the error, because the Python exception alone says only ``Failed to load method forward, error: 0x:1``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from mobilesdk.errors import ExportError, first_line
from mobilesdk.export.quiet import quiet

_T = TypeVar("_T")
# "[file.cpp:LINE] message" lines of the runtime's logger; cpuinfo probes are noise, not reasons.
_LOG_LINE = re.compile(r"^\[(?!cpuinfo)[\w.]+:\d+\] ")
_LOG_LIMIT = 400


def get_runtime() -> Any:
    with quiet():  # importing executorch.runtime logs a torch deprecation warning and cpuinfo probes
        from executorch.runtime import Runtime

        return Runtime.get()


def call_runtime(action: Callable[[], _T], failure: str, error: type[Exception] = ExportError) -> _T:
    """``action()`` with the runtime's output silenced; on error, ``error(failure: reason [runtime log])``."""
    with quiet() as output:
        try:
            return action()
        except Exception as exc:
            caught = exc
    log = " | ".join(line.strip() for line in output.text.splitlines() if _LOG_LINE.match(line))
    detail = f" [runtime log: {log[:_LOG_LIMIT]}]" if log else ""
    raise error(f"{failure}: {first_line(caught)}{detail}") from caught


def check_initialises(buffer: bytes) -> None:
    """Load ``forward`` of a lowered program (bytes) on the host runtime, or raise ExportError."""
    runtime = get_runtime()
    call_runtime(
        lambda: runtime.load_program(buffer).load_method("forward"),
        "the lowered program does not initialise on the ExecuTorch runtime (the XNNPACK delegate "
        "rejected its graph at load; the runtime's log names the node)",
    )
