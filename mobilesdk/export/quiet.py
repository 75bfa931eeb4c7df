"""Silence what converters and runtimes print, down to the file descriptors, and keep it for error messages.

The exporters' dependencies talk on every path: torch prints ``FutureWarning``s while exporting, litert-torch
draws a rich progress bar and its C++ side (MLIR, absl, oneDNN) logs to fd 2, the LiteRT interpreter logs from
C++ when it applies XNNPACK, and the ExecuTorch runtime logs cpuinfo probes at its first load.
Python-level redirection misses the C++ writes, so :func:`quiet` points fds 1 and 2 at a temporary file.

Exceptions are never swallowed: they leave the block unchanged. Callers that want the captured text in their
error message catch inside the block and raise after it, e.g.::

    with quiet() as output:
        try:
            return convert()
        except Exception as e:
            failure = e
    raise ExportError(f"conversion failed: {failure} [{output.text.strip()[-300:]}]")
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass
class CapturedOutput:
    """What was written to fds 1 and 2 (and ``sys.stdout``/``sys.stderr``) inside :func:`quiet`.

    ``text`` is empty while the block runs and holds the decoded text (UTF-8, bad bytes replaced) after it.
    """

    text: str = ""


@contextlib.contextmanager
def quiet() -> Iterator[CapturedOutput]:
    """Silence fds 1/2, ``sys.stdout``/``sys.stderr`` and Python warnings; yields the captured output.

    litert-torch's rich progress console, when that package is already imported, is muted as well.
    """
    captured = CapturedOutput()
    console = None
    if "litert_torch" in sys.modules:
        from litert_torch import progress

        console, was_quiet = progress.console, progress.console.quiet
        console.quiet = True
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = [os.dup(1), os.dup(2)]
    with tempfile.TemporaryFile(mode="w+b") as sink, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            with contextlib.redirect_stdout(_FdText()), contextlib.redirect_stderr(_FdText()):
                yield captured
        finally:
            for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
                with contextlib.suppress(Exception):
                    stream.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            sink.seek(0)
            captured.text = sink.read().decode("utf-8", "replace")
            if console is not None:
                console.quiet = was_quiet


class _FdText(io.TextIOBase):
    """A text stream writing straight to fd 2: inside :func:`quiet` the capture file, afterwards stderr.

    (Logging handlers created inside the block, e.g. absl's, keep a reference to it.)
    """

    def write(self, text: str) -> int:
        os.write(2, text.encode("utf-8", "replace"))
        return len(text)

    def fileno(self) -> int:
        return 2

    def writable(self) -> bool:
        return True
