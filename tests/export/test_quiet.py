"""quiet(): fd-level silencing that keeps what was printed and never swallows an exception."""

from __future__ import annotations

import os
import sys
import warnings

import pytest

from mobilesdk.export.quiet import quiet


def test_quiet_captures_python_and_fd_output(capfd):
    with quiet() as output:
        print("python stdout")
        print("python stderr", file=sys.stderr)
        os.write(1, b"fd 1 from C\n")
        os.write(2, b"fd 2 from C\n")
        warnings.warn("going away", FutureWarning, stacklevel=1)
        assert output.text == ""  # filled in on exit
    for line in ("python stdout", "python stderr", "fd 1 from C", "fd 2 from C"):
        assert line in output.text
    assert "going away" not in output.text  # warnings are ignored, not printed
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_quiet_lets_exceptions_through_and_restores_everything(capfd):
    filters = list(warnings.filters)
    stdout, stderr = sys.stdout, sys.stderr
    with pytest.raises(ValueError, match="the message"), quiet():
        os.write(2, b"runtime noise\n")
        raise ValueError("the message")
    assert sys.stdout is stdout and sys.stderr is stderr
    assert warnings.filters == filters
    os.write(2, b"after\n")
    print("visible")
    out, err = capfd.readouterr()
    assert out == "visible\n" and err == "after\n"
