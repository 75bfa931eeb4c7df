"""Every command answers --help, is documented in the README, and `mobilesdk --help` does not import torch."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from mobilesdk.cli.main import COMMANDS, cli

ROOT = Path(__file__).resolve().parents[2]


def test_help_on_every_command():
    runner = CliRunner()
    for name in [*COMMANDS, "models show"]:
        result = runner.invoke(cli, [*name.split(), "--help"])
        assert result.exit_code == 0, result.output
        assert "Usage:" in result.output and "--help" in result.output


def test_every_command_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for name in COMMANDS:
        assert f"mobilesdk {name}" in readme, name


def test_root_help_does_not_import_torch_and_is_fast():
    code = (
        "import sys; from mobilesdk.cli.main import cli\n"
        "try:\n    cli.main(['--help'], standalone_mode=False)\nexcept SystemExit: pass\n"
        "bad = [m for m in ('torch', 'executorch', 'litert_torch', 'numpy') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    exe = Path(sys.executable).with_name("mobilesdk")
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run([str(exe), "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    # Not a benchmark: a 1 s ceiling only catches an accidental torch import (which costs several seconds).
    assert statistics.median(times) < 1.0, times


def test_unknown_command_suggests():
    result = CliRunner().invoke(cli, ["model"])
    assert result.exit_code != 0 and "Did you mean 'models'" in result.output
