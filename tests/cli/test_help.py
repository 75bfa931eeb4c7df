"""Every command answers --help, is documented in the README, and `mobilesdk --help` does not import torch."""

from __future__ import annotations

import subprocess
import sys
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


def test_root_help_does_not_import_torch():
    """`mobilesdk --help` must stay instant: no torch, runtime or numpy import behind it."""
    code = (
        "import sys; from mobilesdk.cli.main import cli\n"
        "try:\n    cli.main(['--help'], standalone_mode=False)\nexcept SystemExit: pass\n"
        "bad = [m for m in ('torch', 'executorch', 'litert_torch', 'numpy') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    exe = Path(sys.executable).with_name("mobilesdk")
    assert "Usage:" in subprocess.run([str(exe), "--help"], check=True, capture_output=True, text=True).stdout


def test_unknown_command_suggests():
    result = CliRunner().invoke(cli, ["model"])
    assert result.exit_code != 0 and "Did you mean 'models'" in result.output
