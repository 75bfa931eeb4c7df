"""The instruction-counting qemu plugin (insn_plugin.c beside this file), built with the host C compiler on
first use and cached in ``~/.cache/mobilesdk/qemu-plugin/<key>/insn_plugin.so``; the key hashes the plugin
source, the qemu version and the plugin header's bytes.

The header ``qemu-plugin.h`` must match the installed qemu-user; Debian ships it only in qemu's source package,
so install.sh extracts it into ``/usr/local/share/mobilesdk/qemu-plugin/<major.minor>/`` (searched first, then
``~/.cache/mobilesdk/qemu-plugin/include/<major.minor>/``; ``$MOBILESDK_QEMU_PLUGIN_INCLUDE`` names the one
folder to use instead).
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mobilesdk import fsops, tools
from mobilesdk.errors import MobileSDKError, first_line

PLUGIN_SOURCE = Path(__file__).with_name("insn_plugin.c")
SYSTEM_INCLUDE = Path("/usr/local/share/mobilesdk/qemu-plugin")
DEFAULT_CACHE = Path("~/.cache/mobilesdk/qemu-plugin")
QEMU_HINT = "apt-get install qemu-user (see install.sh)"
HEADER_HINT = "run install.sh (as root: it fetches qemu's source package once and keeps only that header)"


class EmulateError(MobileSDKError):
    """Emulated instruction counting cannot run (a tool or file missing, the emulated runner failing)."""


@dataclass(frozen=True)
class Qemu:
    path: str  # qemu-aarch64
    version: str  # e.g. "7.2.22"
    debian: str | None  # e.g. "1:7.2+dfsg-7+deb12u18+b3"

    @property
    def series(self) -> str:  # "7.2": the plugin API series the header must come from
        return ".".join(self.version.split(".")[:2])


def find_qemu(search_path: str | None = None) -> Qemu:
    path = tools.find_tool("qemu-aarch64", "qemu-aarch64", QEMU_HINT, search_path, error=EmulateError)
    proc = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"version (\d+\.\d+(?:\.\d+)?)(?: \(([^)]*)\))?", proc.stdout)
    if proc.returncode != 0 or match is None:
        raise EmulateError(
            f"{path} --version did not print a qemu version: {first_line(proc.stdout + proc.stderr)}"
        )
    debian = match.group(2)
    return Qemu(path, match.group(1), debian.removeprefix("Debian ") if debian else None)


def find_header(qemu: Qemu) -> Path:
    """The folder holding ``qemu-plugin.h`` for ``qemu``'s series; one-line error naming what is missing."""
    override = os.environ.get("MOBILESDK_QEMU_PLUGIN_INCLUDE")
    if override:
        folders = [Path(override)]
    else:
        folders = [SYSTEM_INCLUDE / qemu.series, DEFAULT_CACHE.expanduser() / "include" / qemu.series]
    for folder in folders:
        if (folder / "qemu-plugin.h").is_file():
            return folder
    raise EmulateError(
        f"qemu's plugin header qemu-plugin.h (qemu {qemu.series}) not found in "
        f"{' or '.join(str(f) for f in folders)}; {HEADER_HINT}"
    )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_plugin(qemu: Qemu, cache_dir: Path | None = None, search_path: str | None = None) -> Path:
    """``insn_plugin.so`` for ``qemu``, compiled on first use (serialised by a lock, renamed into place)."""
    include = find_header(qemu)
    cc = tools.find_tool(
        ("gcc", "cc"), "a C compiler", "apt-get install gcc", search_path, error=EmulateError
    )
    key = hashlib.sha256(
        "\n".join(
            [_sha256(PLUGIN_SOURCE), qemu.version, qemu.debian or "", _sha256(include / "qemu-plugin.h")]
        ).encode()
    ).hexdigest()[:16]
    out_dir = (cache_dir or DEFAULT_CACHE).expanduser() / key
    out = out_dir / "insn_plugin.so"
    if out.is_file():
        return out
    with fsops.locked(out_dir.with_name(key + ".lock")):
        if out.is_file():
            return out
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp = out_dir / fsops.owned_name(out.name, "partial")
        cmd = [cc, "-O2", "-shared", "-fPIC", "-Wall", "-I", str(include), "-o", str(tmp), str(PLUGIN_SOURCE)]
        proc = subprocess.run(
            cmd, capture_output=True, text=True, check=False, env=tools.tool_env(search_path)
        )
        if proc.returncode != 0:
            tmp.unlink(missing_ok=True)
            raise EmulateError(f"compiling the qemu plugin failed: {first_line(proc.stderr or proc.stdout)}")
        os.replace(tmp, out)
    return out
