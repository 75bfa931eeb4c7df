"""`mobilesdk build` on a machine without a JDK: one `Error:` line, exit 1, and the verified model artifacts
stay in place (the AAR step runs after them)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import user_card

CLI = str(Path(sys.executable).with_name("mobilesdk"))


def test_missing_jdk_is_one_line_and_leaves_the_model_artifacts(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    out = tmp_path / "dist"
    cmd = [CLI, "build", "--card", str(user_card(tmp_path, "TinyHeatmapNet")), "--out", str(out)]
    cmd += ["--backend", "executorch"]
    cmd += ["--toolchain-cache", str(tmp_path / "fresh-cache"), "--native-libs", str(empty)]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=600, env={**os.environ, "PATH": str(empty)}
    )
    text = proc.stdout + proc.stderr
    errors = [line for line in text.splitlines() if line.startswith("Error:")]
    assert proc.returncode == 1 and "Traceback" not in text, text[-2000:]
    assert len(errors) == 1 and "a JDK (java) not found on PATH" in errors[0], errors
    assert "the verified model artifacts are in" in errors[0]
    build = out / "user-tinyheatmapnet"
    assert (build / "manifest.json").is_file() and (build / "user-tinyheatmapnet.xnnpack-fp32.pte").is_file()
    assert not list(build.glob("*.aar")) and not (build / "m2").exists()
