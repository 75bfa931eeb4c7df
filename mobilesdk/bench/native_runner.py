"""`mobilesdk bench --runner native`: the native core end to end (camera frame -> model input -> ExecuTorch or
LiteRT -> keypoints) through ``mobilesdk-runner``, with per-stage timings.

The runner is a separate process, so it cannot be interleaved with the in-process candidates; it runs after
them, at each thread count, on the runner's default input: a synthetic 1920x1080 NV21 frame (what a phone
camera delivers), so ``preprocess`` includes the YUV conversion and the crop. Its ratio to a baseline uses the
``inference`` stage, the part the baselines measure.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from mobilesdk.bench.stats import Stats
from mobilesdk.errors import MobileSDKError

DEFAULT_FRAME = "nv21:1920x1080"
_LINE = re.compile(
    r"^iteration \d+/\d+: preprocess ([\d.]+) ms, inference ([\d.]+) ms, decode ([\d.]+) ms, total ([\d.]+) ms$"
)
STAGES = ("preprocess", "inference", "decode", "total")


def parse_output(stdout: str) -> tuple[dict[str, list[float]], dict]:
    """Per-iteration stage samples (ms) and the final JSON summary of one runner invocation."""
    samples: dict[str, list[float]] = {s: [] for s in STAGES}
    summary = None
    for line in stdout.splitlines():
        if match := _LINE.match(line.strip()):
            for stage, value in zip(STAGES, match.groups(), strict=True):
                samples[stage].append(float(value))
        elif line.startswith("{"):
            summary = json.loads(line)
    if summary is None or not samples["total"] or len(samples["total"]) != summary.get("iterations"):
        raise MobileSDKError(
            f"mobilesdk-runner printed no complete result (last line: {stdout.strip().splitlines()[-1:]})"
        )
    return samples, summary


def run(
    runner: Path,
    model: Path,
    *,
    manifest: Path | None,
    recipe: str | None,
    threads: int,
    warmup: int,
    iterations: int,
    frame: str = DEFAULT_FRAME,
):
    """(stage -> Stats, summary) of ``iterations`` runs after ``warmup``."""
    cmd = [
        str(runner),
        "--model",
        str(model),
        "--frame",
        frame,
        "--warmup",
        str(warmup),
        "--iterations",
        str(iterations),
        "--threads",
        str(threads),
    ]
    if manifest is not None:
        cmd += ["--manifest", str(manifest)] + (["--recipe", recipe] if recipe else [])
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    except OSError as exc:
        raise MobileSDKError(f"{runner}: cannot run the native runner ({exc.strerror or exc})") from None
    if proc.returncode != 0:
        last = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise MobileSDKError(f"mobilesdk-runner failed on {model.name}: {last[0][:300]}")
    samples, summary = parse_output(proc.stdout)
    return {stage: Stats.of(values) for stage, values in samples.items()}, samples, summary
