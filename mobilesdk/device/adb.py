"""The adb transport: the platform tool ``adb``, one phone per :class:`AdbDevice`.

Rules (each one a failure seen with real adb versions; docs/device-transport.md):

* the binary is ``$ADB``, else ``adb`` on PATH, else ``$ANDROID_HOME/platform-tools/adb``;
* every call names the phone (``-s SERIAL``), has a timeout and reads stdin from /dev/null unless given data;
* adb joins the arguments of ``adb shell`` with spaces and the phone's ``sh`` splits them again, so each
  argument is quoted for the device shell here;
* adb's exit status is not trusted alone: without ``shell_v2`` it is always 0 (and stderr is merged into
  stdout), and when the transport drops mid-command adb 29 exits 0 silently (adb 36: 255). Every command is
  therefore followed by a marker line carrying its exit status; no marker means the result is unknown
  (:class:`DeviceDisconnected`), whatever adb returned;
* ``adb connect`` exits 0 on failure; push/pull errors are printed on stdout: both are read from the text.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import shutil
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mobilesdk.device.transport import (
    DeviceDisconnected,
    DeviceError,
    DeviceStorageFull,
    Progress,
    RunResult,
)

ADB_HINT = (
    "install Android platform-tools (https://developer.android.com/tools/releases/platform-tools) and put adb "
    "on PATH, or set $ADB or $ANDROID_HOME"
)
STATE_ADVICE = {
    "unauthorized": "accept the 'Allow USB debugging?' RSA prompt on the phone (unlock it first), then retry",
    "offline": "the phone does not answer: reconnect the cable or run `adb reconnect`, then retry",
    "no permissions": "adb may not open the USB device: add a udev rule for the phone or run the adb server "
    "as a user with access",
    "authorizing": "the phone is still being authorized: wait a moment and retry",
    "connecting": "the phone is still connecting: wait a moment and retry",
}
_STORAGE_FULL = re.compile(r"No space left on device|ENOSPC|disk full", re.IGNORECASE)
_PUSH_FAILED = re.compile(r"^(adb: error:|error:|failed to copy|adb: failed)", re.IGNORECASE | re.MULTILINE)


def find_adb(env: Mapping[str, str] | None = None) -> str:
    """Path of the adb binary: ``$ADB``, ``adb`` on PATH, ``$ANDROID_HOME/platform-tools/adb``."""
    env = os.environ if env is None else env
    explicit = env.get("ADB")
    if explicit:
        if shutil.which(explicit, path=env.get("PATH")) or (
            os.path.isfile(explicit) and os.access(explicit, os.X_OK)
        ):
            return shutil.which(explicit, path=env.get("PATH")) or explicit
        raise DeviceError(f"$ADB={explicit} is not an executable file; {ADB_HINT}")
    found = shutil.which("adb", path=env.get("PATH"))
    if found:
        return found
    for var in ("ANDROID_HOME", "ANDROID_SDK_ROOT"):
        root = env.get(var)
        if root and os.access(Path(root) / "platform-tools" / "adb", os.X_OK):
            return str(Path(root) / "platform-tools" / "adb")
    raise DeviceError(f"adb not found; {ADB_HINT}")


@dataclass(frozen=True)
class ListedDevice:
    """One line of ``adb devices -l``."""

    serial: str
    state: str  # device | unauthorized | offline | no permissions | ...
    details: dict[str, str] = field(default_factory=dict)  # product, model, device, transport_id

    @property
    def advice(self) -> str | None:
        return STATE_ADVICE.get(self.state)


def parse_devices(text: str) -> list[ListedDevice]:
    """The devices of ``adb devices -l`` output (the header, daemon chatter and blank lines skipped)."""
    found = []
    for line in text.splitlines():
        line = line.rstrip()
        if not line or line.startswith(("List of devices", "*", "adb server", "daemon")):
            continue
        serial, _, rest = line.partition("\t") if "\t" in line else line.partition(" ")
        rest = rest.strip()
        state = rest
        details: dict[str, str] = {}
        if "no permissions" in rest:
            state = "no permissions"
        else:
            parts = rest.split()
            state = parts[0] if parts else "unknown"
            for part in parts[1:]:
                key, sep, value = part.partition(":")
                if sep:
                    details[key] = value
        found.append(ListedDevice(serial.strip(), state, details))
    return found


class Adb:
    """The adb client: server-level commands (devices, connect, version)."""

    def __init__(self, path: str | None = None, env: Mapping[str, str] | None = None, timeout: float = 30.0):
        self.env = dict(os.environ if env is None else env)
        self.path = path or find_adb(self.env)
        self.timeout = timeout

    def call(
        self, args: Sequence[str], *, timeout: float | None = None, stdin: bytes | None = None
    ) -> subprocess.CompletedProcess:
        """``adb ARGS`` with a timeout and stdin from /dev/null (or ``stdin``); bytes out."""
        cmd = [self.path, *args]
        try:
            return subprocess.run(
                cmd,
                input=stdin,
                stdin=None if stdin is not None else subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout or self.timeout,
                env=self.env,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise DeviceError(
                f"adb {' '.join(args[:4])} did not finish within {timeout or self.timeout:g} s"
            ) from None
        except OSError as exc:
            raise DeviceError(f"cannot run {self.path}: {exc.strerror}; {ADB_HINT}") from None

    def version(self) -> str:
        out = self.call(["version"]).stdout.decode(errors="replace")
        m = re.search(r"Version ([0-9][^\s]*)", out) or re.search(r"version ([0-9][^\s]*)", out)
        return m.group(1) if m else out.splitlines()[0] if out else "unknown"

    def devices(self) -> list[ListedDevice]:
        proc = self.call(["devices", "-l"])
        if proc.returncode != 0:
            raise DeviceError(f"adb devices failed: {_first(proc.stderr) or _first(proc.stdout)}")
        return parse_devices(proc.stdout.decode(errors="replace"))

    def connect(self, address: str) -> None:
        """``adb connect HOST:PORT``; adb exits 0 on failure, so success is read from its output."""
        proc = self.call(["connect", address])
        text = (proc.stdout + proc.stderr).decode(errors="replace").strip()
        if not re.search(r"^(connected to|already connected to)", text, re.MULTILINE):
            raise DeviceError(f"adb connect {address} failed: {_first(text.encode()) or 'no answer'}")

    def device(self, serial: str) -> AdbDevice:
        """The phone ``serial``, checked to be listed and in the ``device`` state (else a one-line error)."""
        listed = {d.serial: d for d in self.devices()}
        if serial not in listed:
            known = ", ".join(f"{d.serial} ({d.state})" for d in listed.values()) or "none"
            raise DeviceError(
                f"no phone with serial {serial!r} (adb lists: {known}); check the cable and `adb devices`"
            )
        state = listed[serial].state
        if state != "device":
            raise DeviceError(f"{serial} is {state}: {STATE_ADVICE.get(state, 'it cannot run commands now')}")
        return AdbDevice(self, serial)


class AdbDevice:
    """One phone over adb (:class:`mobilesdk.device.transport.Transport`)."""

    def __init__(self, adb: Adb, serial: str):
        self.adb = adb
        self.serial = serial
        self._features: frozenset[str] | None = None
        self._props: dict[str, str] | None = None

    # -- adb ----------------------------------------------------------------------------------------------
    def _adb(
        self, args: Sequence[str], *, timeout: float, stdin: bytes | None = None
    ) -> subprocess.CompletedProcess:
        proc = self.adb.call(["-s", self.serial, *args], timeout=timeout, stdin=stdin)
        if proc.returncode != 0:
            self._raise_for_state(proc.stderr.decode(errors="replace"))
        return proc

    def _raise_for_state(self, err: str) -> None:
        """adb's own refusals (the phone is not usable); other failures are the caller's to read."""
        for line in err.splitlines():
            for state, advice in STATE_ADVICE.items():
                if re.search(rf"\bdevice (is )?{state}\b", line) or f"device still {state}" in line:
                    raise DeviceError(f"{self.serial} is {state}: {advice}")
            if re.search(r"device '.*' not found|no devices/emulators found", line):
                raise DeviceError(
                    f"{self.serial}: the phone is gone ({line.strip()}); check the cable and `adb devices`"
                )

    def features(self) -> frozenset[str]:
        if self._features is None:
            proc = self._adb(["features"], timeout=15)
            self._features = frozenset(
                f.strip()
                for f in proc.stdout.decode(errors="replace").replace(",", "\n").splitlines()
                if f.strip()
            )
        return self._features

    @property
    def shell_v2(self) -> bool:
        return "shell_v2" in self.features()

    # -- Transport ----------------------------------------------------------------------------------------
    def run(self, args: Sequence[str], *, timeout: float = 60.0, stdin: bytes | None = None) -> RunResult:
        if not args:
            raise ValueError("run() needs a command")
        marker = f"__mobilesdk_exit_{secrets.token_hex(6)}__"
        command = " ".join(shlex.quote(a) for a in args)
        # The marker line proves the command finished and carries its exit status; without it the transport
        # dropped (adb's own exit status says nothing reliable then).
        script = f"{command}; printf '\\n{marker}%d\\n' $?"
        pty = not self.shell_v2  # asked before the command: afterwards the phone may be gone
        t0 = time.perf_counter()
        proc = self._adb(["shell", script], timeout=timeout, stdin=stdin)
        seconds = time.perf_counter() - t0
        out = proc.stdout.decode(errors="replace")
        if pty:
            out = out.replace("\r\n", "\n")  # the legacy shell service runs the command on a PTY
        at = out.rfind(marker)
        if at < 0:
            raise DeviceDisconnected(
                f"{self.serial}: the connection dropped while `{_short(args)}` ran (adb exited {proc.returncode}"
                f"{', ' + _first(proc.stderr) if proc.stderr.strip() else ''}); its result is unknown"
            )
        status = out[at + len(marker) :].split("\n", 1)[0].strip()
        body = out[:at]
        if body.endswith("\n"):
            body = body[:-1]  # the newline printf put before the marker
        return RunResult(tuple(args), int(status), body, proc.stderr.decode(errors="replace"), seconds)

    def check(self, args: Sequence[str], *, timeout: float = 60.0, what: str | None = None) -> str:
        """``run`` that must exit 0; returns stdout."""
        r = self.run(args, timeout=timeout)
        if r.exit_code != 0:
            detail = _first((r.stderr or r.stdout).encode())
            if _STORAGE_FULL.search(r.stderr + r.stdout):
                raise DeviceStorageFull(f"{self.serial}: no space left on the phone ({detail})")
            raise DeviceError(f"{self.serial}: {what or _short(args)} failed (exit {r.exit_code}): {detail}")
        return r.stdout

    def push(
        self, local: Path, remote: str, *, timeout: float = 600.0, progress: Progress | None = None
    ) -> None:
        local = Path(local)
        size = local.stat().st_size
        stop = threading.Event()
        watcher = None
        if progress is not None:
            progress(0, size)
            if size >= 8 << 20:  # large files: poll the phone for how much arrived
                watcher = threading.Thread(
                    target=self._watch, args=(remote, size, progress, stop), daemon=True
                )
                watcher.start()
        try:
            proc = self._adb(["push", str(local), remote], timeout=timeout)
        finally:
            stop.set()
            if watcher is not None:
                watcher.join(timeout=5)
        text = (proc.stdout + proc.stderr).decode(errors="replace")
        if _STORAGE_FULL.search(text):
            raise DeviceStorageFull(f"{self.serial}: no space left on the phone for {remote} ({size} bytes)")
        if re.search(r"device offline|device '.*' not found|no devices/emulators found", text):
            raise DeviceDisconnected(f"{self.serial}: the connection dropped while pushing {local.name}")
        if proc.returncode != 0 or _PUSH_FAILED.search(text):
            raise DeviceError(f"{self.serial}: push {local.name} -> {remote} failed: {_first(text.encode())}")
        got = self.run(["stat", "-c", "%s", remote], timeout=30)
        if got.exit_code != 0 or got.stdout.strip() != str(size):
            raise DeviceError(
                f"{self.serial}: push {local.name} -> {remote} incomplete ({got.stdout.strip() or 'missing'} of {size} bytes)"
            )
        if progress is not None:
            progress(size, size)

    def _watch(self, remote: str, size: int, progress: Progress, stop: threading.Event) -> None:
        while not stop.wait(0.5):
            try:
                r = self.run(["stat", "-c", "%s", remote], timeout=5)
                if r.exit_code == 0 and r.stdout.strip().isdigit():
                    progress(min(int(r.stdout.strip()), size), size)
            except DeviceError:
                return

    def pull(self, remote: str, local: Path, *, timeout: float = 600.0) -> None:
        local = Path(local)
        tmp = local.with_name(f".{local.name}.{os.getpid()}.partial")
        try:
            proc = self._adb(["pull", remote, str(tmp)], timeout=timeout)
            text = (proc.stdout + proc.stderr).decode(errors="replace")
            if proc.returncode != 0 or _PUSH_FAILED.search(text) or not tmp.is_file():
                raise DeviceError(
                    f"{self.serial}: pull {remote} failed: {_first(text.encode()) or 'no file'}"
                )
            tmp.replace(local)
        finally:
            tmp.unlink(missing_ok=True)

    def read_text(self, path: str, *, timeout: float = 30.0) -> str | None:
        r = self.run(["cat", path], timeout=timeout)
        return r.stdout if r.exit_code == 0 else None

    def properties(self) -> dict[str, str]:
        if self._props is None:
            self._props = parse_getprop(self.check(["getprop"], timeout=30, what="getprop"))
        return self._props


_PROP = re.compile(r"^\[([^\]]+)\]: \[(.*)\]$")


def parse_getprop(text: str) -> dict[str, str]:
    """``getprop`` output (``[key]: [value]`` lines; a value may span lines) -> dict."""
    props: dict[str, str] = {}
    for line in text.splitlines():
        m = _PROP.match(line.strip())
        if m:
            props[m.group(1)] = m.group(2)
    return props


def _first(data: bytes) -> str:
    for line in data.decode(errors="replace").splitlines():
        if line.strip():
            return line.strip()[:300]
    return ""


def _short(args: Sequence[str]) -> str:
    text = " ".join(args)
    return text if len(text) <= 80 else text[:77] + "..."
