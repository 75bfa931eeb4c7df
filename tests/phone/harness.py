"""Test-side handles for the emulated phone: an isolated adb server and emulated phones (adbd.py processes).

Use from any test (the pytest fixtures live in tests/phone/conftest.py; import them into another conftest with
``from tests.phone.conftest import adb_server, phone_factory, phone  # noqa: F401``), or directly::

    with AdbServer(ADB_BINARIES["adb29"](), workdir) as adb, EmulatedPhone(profile="galaxy-s24") as p:
        p.connect(adb)
        p.shell("getprop ro.soc.model").stdout   # "SM8650\\n"; or adb.run("-s", p.serial, "shell", ...)

(``EmulatedPhone(workdir)``: the phone's unprivileged uid must be able to traverse ``workdir``; by default a
fresh directory in /dev/shm.)

Every subprocess has a timeout; servers are killed with ``adb kill-server`` and phones with SIGTERM (their
namespace dies with them).
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INSTALL_HINT = "install.sh should have installed it"


class PhoneSetupError(RuntimeError):
    """Something the emulated phone needs is missing (the message says what install.sh should provide)."""


def adb29() -> str:
    path = "/usr/bin/adb"
    if not os.access(path, os.X_OK):
        raise PhoneSetupError(f"{path} is missing: Debian's adb package (29.0.6); {INSTALL_HINT}")
    return path


def adb36() -> str:
    try:
        import adbutils
    except ImportError as e:
        raise PhoneSetupError(
            f"adbutils==2.12.0 is not installed in the venv (dev extra); {INSTALL_HINT}"
        ) from e
    path = Path(adbutils.__file__).parent / "binaries" / "adb"
    if not os.access(path, os.X_OK):
        raise PhoneSetupError(f"{path} is missing or not executable (adbutils==2.12.0 wheel); {INSTALL_HINT}")
    return str(path)


ADB_BINARIES = {"adb29": adb29, "adb36": adb36}


def check_phone_prerequisites() -> None:
    """The host tools the emulated phone itself needs."""
    needs = {
        "/usr/bin/python3": "python3 (Debian)",
        "/usr/bin/nsenter": "util-linux",
        "/usr/bin/setpriv": "util-linux",
        "/usr/bin/qemu-aarch64": "qemu-user",
    }
    missing = [f"{path} ({pkg})" for path, pkg in needs.items() if not os.access(path, os.X_OK)]
    if missing:
        raise PhoneSetupError(f"missing for the emulated phone: {', '.join(missing)}; {INSTALL_HINT}")


def phone_base_dir() -> str | None:
    """Where phone directories go: a tmpfs (/dev/shm) when there is one. Laying out a phone writes ~300 small
    files: 0.03 s on tmpfs, 0.8 s on this machine's disk."""
    base = os.environ.get("MOBILESDK_PHONE_DIR")
    if base:
        return base
    return "/dev/shm" if os.access("/dev/shm", os.W_OK | os.X_OK) else None


def free_port() -> int:
    """An ephemeral port, outside 5555-5585 (the adb server scans those for emulators)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if not 5555 <= port <= 5585:
            return port


class AdbServer:
    """An adb server of its own: own port, HOME (keys) and log, so it never meets the user's server."""

    def __init__(self, adb: str, workdir: Path):
        self.adb, self.workdir = adb, Path(workdir)
        self.port = free_port()
        home = self.workdir / "home"
        home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANDROID_", "ADB_"))}
        env.update(
            HOME=str(home),
            ANDROID_ADB_SERVER_PORT=str(self.port),
            ANDROID_ADB_LOG_PATH=str(self.workdir / "adb-server.log"),
            ANDROID_USER_HOME=str(home / ".android"),
            # adb 36: no mDNS discovery (it binds UDP 5353, shared by every server on the machine, and makes
            # start-server wait 3.4 s) and no libusb (no USB here either way): start-server takes 0.02 s
            ADB_MDNS_OPENSCREEN="0",
            ADB_LIBUSB="0",
        )
        self.env = env
        self.version = ""
        self.proc: subprocess.Popen | None = None

    def run(self, *args: str, timeout: float = 60, input: bytes | None = None, check: bool = False):
        """``adb ARGS`` with this server; returns CompletedProcess with text stdout/stderr."""
        proc = subprocess.run(
            [self.adb, *args], env=self.env, input=input, capture_output=True, timeout=timeout, check=False
        )
        out = subprocess.CompletedProcess(
            proc.args,
            proc.returncode,
            proc.stdout.decode(errors="replace"),
            proc.stderr.decode(errors="replace"),
        )
        if check and out.returncode != 0:
            raise AssertionError(f"adb {' '.join(args)} -> {out.returncode}\n{out.stdout}\n{out.stderr}")
        return out

    def run_bytes(self, *args: str, timeout: float = 60, input: bytes | None = None):
        return subprocess.run(
            [self.adb, *args], env=self.env, input=input, capture_output=True, timeout=timeout, check=False
        )

    def start(self, timeout: float = 30) -> AdbServer:
        """Run the server in the foreground (``nodaemon``) as our child, with a parent-death signal: a killed
        test run leaves no adb server behind."""
        self.version = self.run("version", check=True).stdout
        log = open(self.workdir / "adb-server.out", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            ["/usr/bin/setpriv", "--pdeathsig", "KILL", self.adb, "-P", str(self.port), "nodaemon", "server"],
            env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.02)
        out = (self.workdir / "adb-server.out").read_text(errors="replace")[-2000:]
        self.stop()
        raise PhoneSetupError(f"adb server ({self.adb}) did not start on port {self.port}:\n{out}")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.run("kill-server", timeout=30)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def __enter__(self) -> AdbServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class EmulatedPhone:
    """One emulated phone (a ``python -m tests.phone.adbd`` process and its namespace).

    ``faults`` (adbd.py): ``unauthorized``, ``offline``, ``no_shell_v2`` (bools); ``drop``:
    {``after_stdout_bytes``: N | ``command``: regex, ``after_s``}, ``then``: "reconnect" (default) | "gone",
    ``once`` (default true)}; ``kill``: {``match``: regex over a phone process's command line, ``signal`` (9),
    ``after_s``, ``times`` (1)}. Options: ``storage_bytes`` (size of /data), ``prefill_bytes``, ``cpuset`` (the
    CPUs /dev/cpuset allows a shell, e.g. "0-6"; default all), ``thermal``
    ({start_c, floor_c, cool_per_read_c, cool_per_s_c, skin_thresholds}), ``battery`` ({level, usb}).
    """

    HOT_COOLING = {"start_c": 47.0, "floor_c": 31.0, "cool_per_read_c": 4.0}  # CRITICAL -> NONE in 4 reads
    HOT_FOREVER = {"start_c": 47.0, "floor_c": 47.0}

    def __init__(
        self, workdir: Path | None = None, profile: str = "galaxy-s24", faults: dict | None = None, **options
    ):
        check_phone_prerequisites()
        self.profile_name = profile
        self._tmp = None
        if workdir is None:  # the phone's uid must traverse it: not under a 0700 pytest tmp dir
            workdir = self._tmp = Path(tempfile.mkdtemp(prefix=f"phone-{profile}-", dir=phone_base_dir()))
        self.dir = Path(workdir)
        self.config = {"profile": profile, "phone_dir": str(self.dir), "faults": faults or {}, **options}
        self.config["remove_dir_on_exit"] = self._tmp is not None
        self.proc: subprocess.Popen | None = None
        self.port = self.ns_pid = 0
        self.server: AdbServer | None = None
        self.connect_returncode: int | None = None

    @property
    def serial(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def profile(self) -> dict:
        from tests.phone import profiles

        return profiles.get(self.profile_name)

    def start(self, timeout: float = 30) -> EmulatedPhone:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o755)
        cfg = self.dir / "adbd.json"
        cfg.write_text(json.dumps(self.config))
        log = open(self.dir / "adbd.log", "wb")  # noqa: SIM115
        env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONDONTWRITEBYTECODE="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-S", "-m", "tests.phone.adbd", str(cfg)],  # -S: stdlib only, starts 10x faster
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, cwd=REPO, env=env,
        )  # fmt: skip
        log.close()
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            ready = sel.select(timeout)
        line = self.proc.stdout.readline().decode() if ready else ""
        if not line.startswith("READY"):
            log = self.log()[-3000:]
            self.stop()
            raise PhoneSetupError(f"emulated phone did not start: {line!r}\n{log}")
        _, port, ns_pid = line.split()
        self.port, self.ns_pid = int(port), int(ns_pid)
        return self

    def log(self) -> str:
        path = self.dir / "adbd.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def connect(self, server: AdbServer, expect: str | None = "device", timeout: float = 15) -> str:
        """``adb connect``; with ``expect``, wait until ``adb devices`` lists the phone in that state.

        Returns what ``adb connect`` printed, or "" when it was still waiting when the state was reached (an
        offline phone keeps ``adb connect`` waiting 10 s before it prints "failed to connect": not waited for).
        """
        self.server = server
        proc = subprocess.Popen(
            [server.adb, "connect", self.serial],
            env=server.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            if expect is None:
                return proc.communicate(timeout=30)[0].decode()
            deadline = time.monotonic() + timeout
            state = ""
            while time.monotonic() < deadline:
                state = self.state(server)
                if state == expect:
                    break
                time.sleep(0.05)
            else:
                raise AssertionError(f"{self.serial}: state {state!r}, expected {expect!r}")
            try:
                return proc.communicate(timeout=0.5)[0].decode()
            except subprocess.TimeoutExpired:
                return ""
        finally:
            self.connect_returncode = proc.poll()  # None: still waiting, killed
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=10)

    def adb(self, *args: str, **kw):
        """``adb -s SERIAL ARGS`` through the server this phone was connected to (text output)."""
        return self.server.run("-s", self.serial, *args, **kw)

    def shell(self, command: str, **kw):
        return self.adb("shell", command, **kw)

    def wait_state(self, server: AdbServer, state: str, until: bool = True, timeout: float = 15) -> str:
        """Poll ``adb devices`` until the phone is in ``state`` (``until=False``: until it no longer is)."""
        deadline = time.monotonic() + timeout
        while True:
            now = self.state(server)
            if (now == state) == until or time.monotonic() > deadline:
                return now
            time.sleep(0.05)

    def state(self, server: AdbServer) -> str:
        for line in server.run("devices", timeout=30).stdout.splitlines()[1:]:
            fields = line.split()
            if fields and fields[0] == self.serial:
                return fields[1] if len(fields) > 1 else ""
        return ""

    # what the phone recorded -----------------------------------------------------------------------

    def emu_file(self, name: str) -> Path:
        return self.dir / "root/mnt/emu" / name

    def taskset_calls(self) -> list[dict]:
        text = self.emu_file("taskset.log").read_text()
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def device_path(self, path: str) -> Path:
        """Host path of a file on the phone (readable by root; the phone's files belong to uid 2000)."""
        return Path(f"/proc/{self.ns_pid}/root/{path.lstrip('/')}")

    def stop(self) -> None:
        if self.server is not None and self.port:
            self.server.run("disconnect", self.serial, timeout=30)
            self.server = None
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.proc.stdin.close()
            self.proc.stdout.close()
            self.proc = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> EmulatedPhone:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
