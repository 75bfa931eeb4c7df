"""Run the arm64 runner bundle under qemu-aarch64 with the instruction-counting plugin and split its counts
into stages by the native core's marks.

The runner is started as the bundle's launcher does (its own glibc loader, ``--library-path`` the bundle), in a
private user + mount namespace (``unshare -Urm``) where the profile's ARM ``/proc/cpuinfo`` is bound over the
host's, with ``--threads 1 --warmup 0 --instruction-marks``: every estimate of model J issues the marks
``J << 8 | event`` (android_template/native/src/estimator.h, InstructionMark), and the plugin records the
instruction count at each. Per iteration: preprocess = count(end) - count(begin), likewise inference and
decode; total = decode end - preprocess begin (the whole estimate, including the checks between stages).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mobilesdk.emulate.plugin import EmulateError, Qemu
from mobilesdk.emulate.profiles import Profile
from mobilesdk.errors import first_line

STAGES = ("preprocess", "inference", "decode", "total")
# estimator.h InstructionMark: event -> (stage, begin?)
MARK_EVENTS = {
    1: ("preprocess", True),
    2: ("preprocess", False),
    3: ("inference", True),
    4: ("inference", False),
    5: ("decode", True),
    6: ("decode", False),
}
MARKS_FORMAT = "mobilesdk.insn-marks/1"
USERNS_HINT = (
    "unprivileged user namespaces must be allowed (sysctl kernel.unprivileged_userns_clone=1, or "
    "kernel.apparmor_restrict_unprivileged_userns=0)"
)
# In the namespace: bind the profile's cpuinfo over /proc/cpuinfo, then become qemu.
_NS_SCRIPT = (
    'mount --bind "$1" /proc/cpuinfo || { echo "mobilesdk-emulate: cannot bind $1 over /proc/cpuinfo" >&2; '
    'exit 97; }; shift; exec "$@"'
)


@dataclass
class Counted:
    """One model's counts in one emulated run: per iteration (first included), stage -> instructions."""

    iterations: list[dict[str, int]]
    summary: dict[str, Any] = field(default_factory=dict)  # the runner's JSON result for the model


def check_namespace() -> None:
    """One-line error unless a private user + mount namespace can be made here."""
    unshare = shutil.which("unshare")
    if unshare is None:
        raise EmulateError("unshare not found on PATH (util-linux); apt-get install util-linux")
    proc = subprocess.run([unshare, "-Urm", "true"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise EmulateError(
            f"cannot create a private mount namespace for the profile's /proc/cpuinfo (unshare -Urm: "
            f"{first_line(proc.stderr) or 'exit ' + str(proc.returncode)}); {USERNS_HINT}"
        )


def split_marks(marks: list[list[int]], models: int) -> list[list[dict[str, int]]]:
    """Per model, per iteration, stage -> instructions, from the plugin's [tag, count] marks."""
    out: list[list[dict[str, int]]] = [[] for _ in range(models)]
    open_: dict[int, dict[str, int]] = {}
    for tag, count in marks:
        model, event = tag >> 8, tag & 0xFF
        if model >= models or event not in MARK_EVENTS:
            raise EmulateError(f"the runner marked model {model}, event {event}: not a mark of this run")
        stage, begin = MARK_EVENTS[event]
        if event == 1:
            open_[model] = {"_begin": count}
        cur = open_.get(model)
        if cur is None:
            raise EmulateError(f"model {model}: {stage} marked outside an estimate")
        if begin:
            cur[f"_{stage}"] = count
        else:
            cur[stage] = count - cur[f"_{stage}"]
        if event == 6:
            cur["total"] = count - cur["_begin"]
            out[model].append({s: cur[s] for s in STAGES})
            del open_[model]
    return out


def runner_command(bundle_dir: Path, models: list[Path], iterations: int, frame: str) -> list[str]:
    """The runner as the bundle's launcher starts it (its loader, its library path), counting-ready."""
    args = [
        str(bundle_dir / "ld-linux-aarch64.so.1"),
        "--library-path",
        str(bundle_dir),
        str(bundle_dir / "mobilesdk-runner"),
    ]
    for m in models:
        args += ["--model", str(m)]
    return args + ["--frame", frame, "--warmup", "0", "--iterations", str(iterations), "--threads", "1",
                   "--instruction-marks"]  # fmt: skip


def count(
    bundle_dir: Path,
    models: list[Path],
    profile: Profile,
    *,
    qemu: Qemu,
    plugin: Path,
    iterations: int,
    frame: str,
    workdir: Path,
    timeout_s: float = 7200.0,
) -> list[Counted]:
    """Run every model in one emulated runner process on ``profile``; per model its counted iterations."""
    workdir.mkdir(parents=True, exist_ok=True)
    cpuinfo = workdir / f"cpuinfo-{profile.name}"
    cpuinfo.write_text(profile.cpuinfo())
    out = workdir / f"marks-{profile.name}.json"
    out.unlink(missing_ok=True)
    cmd = ["unshare", "-Urm", "sh", "-c", _NS_SCRIPT, "sh", str(cpuinfo), qemu.path, "-cpu", profile.qemu_cpu,
           "-plugin", f"{plugin},out={out}", *runner_command(bundle_dir, models, iterations, frame)]  # fmt: skip
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise EmulateError(
            f"the emulated runner ({profile.name}) did not finish within {timeout_s:g} s"
        ) from None
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
        raise EmulateError(
            f"the emulated runner ({profile.name}) exited {proc.returncode}: {(lines[-1] if lines else 'no output')[:300]}"
        )
    try:
        doc = json.loads(out.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise EmulateError(f"the counting plugin wrote no readable result ({first_line(exc)})") from None
    if doc.get("format") != MARKS_FORMAT or not doc.get("complete", False):
        raise EmulateError(f"the counting plugin's result is incomplete or of another format ({out})")
    per_model = split_marks(doc["marks"], len(models))
    summaries = _summaries(proc.stdout, len(models))
    counted = []
    for j, its in enumerate(per_model):
        if len(its) != iterations:
            raise EmulateError(
                f"{models[j].name}: {len(its)} marked iterations, expected {iterations} (a runner without "
                "--instruction-marks support? rebuild the bundle)"
            )
        counted.append(Counted(its, summaries[j]))
    return counted


def _summaries(stdout: str, n: int) -> list[dict[str, Any]]:
    final = next((ln for ln in reversed(stdout.splitlines()) if ln.startswith("{")), None)
    try:
        doc = json.loads(final) if final else None
    except json.JSONDecodeError:
        doc = None
    if doc is None:
        raise EmulateError("the emulated runner printed no final JSON result")
    models = doc.get("models") if n > 1 else [doc]
    if not isinstance(models, list) or len(models) != n:
        raise EmulateError("the emulated runner's final JSON does not list every model")
    return models
