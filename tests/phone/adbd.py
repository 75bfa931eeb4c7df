"""Device side of the adb protocol for one emulated phone: a test double that the real ``adb`` drives.

    python -S -m tests.phone.adbd CONFIG.json   # prints "READY <port> <ns pid>"; serves until SIGTERM/stdin EOF

Stdlib only. Protocol (AOSP protocol.txt, SERVICES.TXT, SYNC.TXT, shell_protocol.h, daemon/shell_service.cpp,
daemon/file_sync_service.cpp): 24-byte little-endian headers (checksum 0 accepted from VERSION 0x01000001 on),
CNXN answered with a ``device::`` banner (no AUTH: a non-secure device), streams OPEN/OKAY/WRTE/CLSE with one
write in flight per direction, ``shell[,v2][,raw|pty][,TERM=..]:CMD`` (shell protocol v2 framing: 1-byte id +
4-byte LE length; without v2, or ``exec:``, a raw PTY with stderr merged, as adbd does), and ``sync:`` (STAT,
STA2, LST2, LIST, SEND, RECV, QUIT). Device commands run as ``/system/bin/sh -c CMD`` in the phone's namespace
(device.py, nsinit.py); push/pull act on its files. Faults (CONFIG["faults"]): unauthorized, offline,
no_shell_v2, drop (the transport is cut after N bytes of stdout or when a command matches), kill (a phone
process whose command line matches dies by a signal); storage_bytes/prefill_bytes and thermal/battery are
phone options (device.py). The sync: service is filesync.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

from tests.phone import device, filesync, profiles

A_CNXN, A_AUTH, A_OPEN, A_OKAY, A_CLSE, A_WRTE = (
    int.from_bytes(c, "little") for c in (b"CNXN", b"AUTH", b"OPEN", b"OKAY", b"CLSE", b"WRTE")
)
VERSION, MAX_PAYLOAD = 0x01000001, 1 << 20
AUTH_TOKEN, AUTH_SIGNATURE, AUTH_RSAPUBLICKEY = 1, 2, 3
FEATURES = ["shell_v2", "cmd", "stat_v2", "fixed_push_mkdir", "fixed_push_symlink_timestamp", "apex"]


class Closed(Exception):
    """The stream or the whole transport is gone."""


class Stream:
    """One adb stream: ``write`` waits for the host's OKAY of the previous WRTE; ``recv`` OKAYs what it takes."""

    def __init__(self, transport: Transport, local: int, remote: int):
        self.t, self.local, self.remote = transport, local, remote
        self.inbox: queue.Queue = queue.Queue()
        self.can_send, self.closed = threading.Event(), threading.Event()
        self.can_send.set()
        self.write_lock = threading.Lock()
        self.on_remote_close = lambda: None

    def write(self, data: bytes) -> None:
        with self.write_lock:
            view = memoryview(data)
            while view:
                self.can_send.wait()
                if self.closed.is_set():
                    raise Closed
                chunk, view = view[: self.t.max_send], view[self.t.max_send :]
                self.can_send.clear()
                self.t.send(A_WRTE, self.local, self.remote, chunk)

    def recv(self) -> bytes:
        data = self.inbox.get()
        if data is None:
            self.inbox.put(None)
            return b""
        self.t.send_quietly(A_OKAY, self.local, self.remote)
        return data

    def close(self) -> None:
        if not self.closed.is_set():
            self.closed.set()
            self.t.streams.pop(self.local, None)
            self.t.send_quietly(A_CLSE, self.local, self.remote)
        self.inbox.put(None)
        self.can_send.set()

    def remote_closed(self) -> None:
        self.closed.set()
        self.inbox.put(None)
        self.can_send.set()
        self.on_remote_close()


class Transport:
    """One TCP connection from the adb server."""

    def __init__(self, phone: Phone, sock: socket.socket):
        self.phone, self.sock = phone, sock
        self.lock, self.streams, self.next_id = threading.Lock(), {}, 1
        self.max_send, self.dead, self.online = 4096, False, False

    def send(self, cmd: int, arg0: int, arg1: int, data=b"") -> None:
        check = sum(data) & 0xFFFFFFFF if cmd in (A_CNXN, A_AUTH) else 0
        header = struct.pack("<6I", cmd, arg0, arg1, len(data), check, cmd ^ 0xFFFFFFFF)
        with self.lock:
            if self.dead:
                raise Closed
            try:
                self.sock.sendall(header)
                if data:
                    self.sock.sendall(data)
            except OSError as e:
                self.dead = True
                raise Closed from e

    def send_quietly(self, *args) -> None:
        with contextlib.suppress(Closed):
            self.send(*args)

    def recv_exact(self, n: int) -> bytearray:
        buf = bytearray(n)
        view, got = memoryview(buf), 0
        while got < n:
            k = self.sock.recv_into(view[got:])
            if not k:
                raise Closed
            got += k
            # ACK at once: the adb server's small writes (OKAY, requests) can wait in its Nagle buffer for our
            # ACK, which the kernel delays up to 40 ms (pushing 5 files into a directory: 0.1 s -> 0.02 s)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        return buf

    def serve(self) -> None:
        try:
            while True:
                cmd, arg0, arg1, length, _check, magic = struct.unpack("<6I", self.recv_exact(24))
                if magic != cmd ^ 0xFFFFFFFF:
                    break
                self.dispatch(cmd, arg0, arg1, bytes(self.recv_exact(length)) if length else b"")
        except (OSError, Closed):
            pass
        finally:
            self.drop()

    def drop(self) -> None:
        """Cut the transport (also the 'drop' fault): every stream ends, its process gets SIGHUP."""
        with self.lock:
            self.dead = True
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            self.sock.close()
        for s in list(self.streams.values()):
            s.remote_closed()
        self.streams.clear()

    def dispatch(self, cmd: int, arg0: int, arg1: int, data: bytes) -> None:
        faults = self.phone.faults
        if cmd == A_CNXN:
            self.max_send = max(256, min(arg1, MAX_PAYLOAD))
            if faults.get("offline"):
                return  # never answers: the server keeps the device "offline"
            if faults.get("unauthorized"):
                self.send(A_AUTH, AUTH_TOKEN, 0, os.urandom(20))
                return
            self.online = True
            self.send(A_CNXN, VERSION, MAX_PAYLOAD, self.phone.banner.encode())
        elif cmd == A_AUTH and faults.get("unauthorized") and arg0 == AUTH_SIGNATURE:
            self.send(A_AUTH, AUTH_TOKEN, 0, os.urandom(20))  # no key is accepted; RSAPUBLICKEY waits forever
        elif cmd == A_OPEN and self.online:
            name = data.rstrip(b"\0").decode(errors="replace")
            handler = self.phone.service(name)
            if handler is None:
                self.send(A_CLSE, 0, arg0)
                return
            local, self.next_id = self.next_id, self.next_id + 1
            stream = self.streams[local] = Stream(self, local, arg0)
            self.send(A_OKAY, local, arg0)
            threading.Thread(target=self.phone.run_service, args=(handler, stream, self), daemon=True).start()
        elif cmd == A_OKAY and arg1 in self.streams:
            self.streams[arg1].can_send.set()
        elif cmd == A_WRTE and arg1 in self.streams:
            self.streams[arg1].inbox.put(data)
        elif cmd == A_CLSE and arg1 in self.streams:
            self.streams.pop(arg1).remote_closed()


def shell_frame(ident: int, data: bytes) -> bytes:
    return struct.pack("<BI", ident, len(data)) + data


class Phone:
    """One emulated phone: its namespace, one TCP listener, the services and the faults."""

    def __init__(self, cfg: dict, phone_dir: Path):
        self.cfg, self.faults = cfg, cfg.get("faults", {})
        self.profile = profiles.get(cfg["profile"])
        if self.faults.get("unauthorized"):
            self.profile["props"]["ro.adb.secure"] = "1"
        self.ns = device.Namespace(phone_dir, device.build(phone_dir, self.profile, cfg))
        self.ns.start()
        props = self.profile["props"]
        features = [f for f in FEATURES if not (f == "shell_v2" and self.faults.get("no_shell_v2"))]
        self.banner = "device::" + "".join(
            f"{k}={props[k]};" for k in ("ro.product.name", "ro.product.model", "ro.product.device")
        )
        self.banner += "features=" + ",".join(features)
        self.listener = socket.create_server(("127.0.0.1", int(cfg.get("port", 0))))
        while 5555 <= self.listener.getsockname()[1] <= 5585:  # the adb server scans these for emulators
            self.listener.close()
            self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.drops = self.kills = 0
        self.procs: set[subprocess.Popen] = set()  # device commands running now
        if self.faults.get("kill"):
            threading.Thread(target=self.killer, args=(self.faults["kill"],), daemon=True).start()

    def serve_forever(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return  # listener closed: stopped, or gone after a drop
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=Transport(self, sock).serve, daemon=True).start()

    def close_listener(self) -> None:
        with contextlib.suppress(OSError):  # shutdown wakes the accept() (close alone does not)
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()

    def stop(self) -> None:
        self.close_listener()
        self.ns.stop()

    # ---------------------------------------------------------------------------------------- services

    def service(self, name: str):
        if name.startswith("shell"):
            head, _, command = name.partition(":")
            args = head.split(",")[1:]
            return lambda s, t: self.shell(s, t, command, args, "v2" in args)
        if name.startswith("exec:"):
            return lambda s, t: self.shell(s, t, name[5:], ["raw"], False)
        if name == "sync:":
            return lambda s, t: filesync.serve(s, self.ns)
        if name.startswith("root:"):
            return lambda s, t: s.write(b"adbd is already running as root\n")
        return None  # unknown service: CLSE, as adbd does

    def run_service(self, handler, stream: Stream, transport: Transport) -> None:
        try:
            handler(stream, transport)
        except (Closed, EOFError):
            pass
        finally:
            stream.close()

    def drop_fault(self, transport: Transport) -> None:
        drop = self.faults["drop"]
        if drop.get("once", True) and self.drops:
            return
        self.drops += 1
        if drop.get("then") == "gone":
            self.close_listener()  # unplugged: reconnects are refused
        transport.drop()

    def shell(self, stream: Stream, transport: Transport, command: str, args: list[str], v2: bool) -> None:
        device.refresh_thermal(self.ns)
        kind = "pty" if "pty" in args else "raw" if "raw" in args else ("raw" if command else "pty")
        use_pty = kind == "pty" or not v2  # no shell protocol: adbd uses a PTY (raw mode) to see the end
        term = next((a[5:] for a in args if a.startswith("TERM=")), None)
        env = device.shell_env(self.profile["props"]["ro.product.device"], term)
        argv = self.ns.argv(command or None)
        if use_pty:
            master, slave = os.openpty()
            if kind == "raw":
                tty.setraw(slave)
            proc = subprocess.Popen(
                argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
            )
            os.close(slave)
            outputs, to_stdin = [(master, 1)], master
        else:
            pipe = subprocess.PIPE
            proc = subprocess.Popen(
                argv, stdin=pipe, stdout=pipe, stderr=pipe, env=env, start_new_session=True
            )
            outputs, to_stdin = [(proc.stdout.fileno(), 1), (proc.stderr.fileno(), 2)], proc.stdin.fileno()
        self.procs.add(proc)

        def hangup():  # the host went away: SIGHUP the command, like adbd
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGHUP)

        stream.on_remote_close = hangup
        self.arm_faults(command, transport)
        budget = self.stdout_budget()

        def pump(fd: int, ident: int) -> None:
            nonlocal budget
            while data := self.read_output(fd):
                if budget is not None and ident == 1:  # the 'drop' fault after N bytes of stdout
                    data, budget = data[:budget], budget - len(data[:budget])
                try:
                    stream.write(shell_frame(ident, data) if v2 else data)
                except Closed:
                    return
                if budget == 0:
                    self.drop_fault(transport)
                    return

        threading.Thread(target=self.shell_input, args=(stream, to_stdin, v2, proc), daemon=True).start()
        pumps = [threading.Thread(target=pump, args=o, daemon=True) for o in outputs]
        for p in pumps:
            p.start()
        try:
            for p in pumps:
                p.join()
            code = proc.wait()
        finally:
            self.procs.discard(proc)
            if use_pty:
                os.close(master)
            for f in (proc.stdin, proc.stdout, proc.stderr):
                if f:
                    f.close()
        if v2:  # a command killed by signal N exits with 128 + N, as adbd reports it
            stream.write(shell_frame(3, bytes([code & 0xFF if code >= 0 else 0x80 | -code])))

    @staticmethod
    def read_output(fd: int) -> bytes:
        try:
            return os.read(fd, 65536)
        except OSError:  # EIO: every holder of the PTY's other side closed it
            return b""

    def stdout_budget(self) -> int | None:
        drop = self.faults.get("drop") or {}
        if drop.get("after_stdout_bytes") is None or (self.drops and drop.get("once", True)):
            return None
        return int(drop["after_stdout_bytes"])

    def shell_input(self, stream: Stream, fd: int, v2: bool, proc: subprocess.Popen) -> None:
        """Host -> command: stdin frames (v2) or raw bytes (PTY); close-stdin shuts the pipe."""
        buf = bytearray()
        try:
            while True:
                data = stream.recv()
                if not data:
                    return
                if not v2:
                    os.write(fd, data)
                    continue
                buf += data
                while len(buf) >= 5:
                    ident, length = struct.unpack("<BI", buf[:5])
                    if len(buf) < 5 + length:
                        break
                    payload, buf = bytes(buf[5 : 5 + length]), buf[5 + length :]
                    if ident == 0:
                        os.write(fd, payload)
                    elif ident == 4 and proc.stdin:
                        proc.stdin.close()
        except OSError:
            pass  # the command closed its stdin or exited

    def arm_faults(self, command: str, transport: Transport) -> None:
        drop = self.faults.get("drop")
        if drop and drop.get("command") and re.search(drop["command"], command):
            threading.Timer(float(drop.get("after_s", 0.2)), self.drop_fault, args=(transport,)).start()

    def killer(self, kill: dict) -> None:
        """The 'kill' fault: a process of the phone whose command line matches ``kill["match"]`` dies by
        ``kill["signal"]`` (default SIGKILL, as the low-memory killer does) ``after_s`` after it appeared."""
        pattern, sig = re.compile(kill["match"]), int(kill.get("signal", signal.SIGKILL))
        seen: dict[int, float] = {}
        ns_link = os.readlink(f"/proc/{self.ns.pid}/ns/pid")
        while self.kills < int(kill.get("times", 1)):
            time.sleep(0.02)
            if not self.procs:  # scan /proc only while a device command runs
                continue
            due = []
            for entry in os.listdir("/proc"):
                if not entry.isdigit() or int(entry) == self.ns.pid:
                    continue
                try:
                    if os.readlink(f"/proc/{entry}/ns/pid") != ns_link:
                        continue
                    with open(f"/proc/{entry}/cmdline", "rb") as f:
                        cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                if pattern.search(cmdline):
                    first = seen.setdefault(int(entry), time.monotonic())
                    if time.monotonic() - first >= float(kill.get("after_s", 0.2)):
                        due.append(int(entry))
            for pid in due:  # every matching process at once (a script and the runner it exec'd)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            self.kills += bool(due)


def main() -> None:
    cfg_path = Path(sys.argv[1])
    cfg = json.loads(cfg_path.read_text())
    phone = Phone(cfg, Path(cfg["phone_dir"]))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threading.Thread(target=lambda: (sys.stdin.buffer.read(), stop.set()), daemon=True).start()
    threading.Thread(target=phone.serve_forever, daemon=True).start()
    print(f"READY {phone.port} {phone.ns.pid}", flush=True)
    stop.wait()
    phone.stop()
    if cfg.get("remove_dir_on_exit"):  # also when the test process died: our stdin closed
        shutil.rmtree(cfg["phone_dir"], ignore_errors=True)
    os._exit(0)


if __name__ == "__main__":
    main()
