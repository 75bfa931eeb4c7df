"""SIGTERM (what `kill` and CI timeouts send) mid-build unwinds like Ctrl-C: nothing is left behind."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import user_card

CLI = str(Path(sys.executable).with_name("mobilesdk"))


def _build_and_terminate(card: Path, out: Path) -> subprocess.CompletedProcess:
    proc = subprocess.Popen(
        [CLI, "build", "--card", str(card), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (
        out.is_dir() and any(".staging-" in p.name for p in out.iterdir())
    ):
        if proc.poll() is not None:
            raise AssertionError(f"build ended before it staged anything: {proc.communicate()}")
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def test_sigterm_mid_build_removes_staging_and_the_out_dir_it_created(tmp_path):
    out = tmp_path / "dist"
    result = _build_and_terminate(user_card(tmp_path, "TinyHeatmapNet"), out)
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    assert not out.exists(), f"left behind: {list(out.iterdir())}"


def test_sigterm_keeps_an_existing_build_untouched(tiny_build, tmp_path):
    out = tmp_path / "dist"
    shutil.copytree(tiny_build, out / tiny_build.name)  # an existing build of this card (both runtimes)
    card = user_card(tmp_path, "TinyHeatmapNet")
    before = {p.name: p.read_bytes() for p in (out / "user-tinyheatmapnet").iterdir()}
    card.write_text(card.read_text().replace("width: 8", "width: 12"))  # another model: a real export
    result = _build_and_terminate(card, out)
    assert result.returncode != 0
    assert sorted(p.name for p in out.iterdir()) == ["user-tinyheatmapnet"]
    assert {p.name: p.read_bytes() for p in (out / "user-tinyheatmapnet").iterdir()} == before
