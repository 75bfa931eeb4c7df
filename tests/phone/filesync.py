"""The ``sync:`` service of the emulated phone's adbd (push, pull, stat, list). Stdlib only.

As AOSP's daemon/file_sync_service.cpp (file_sync_protocol.h): requests ``[id:4][length:u32][path]``, batched
by the client, so they are parsed as a byte stream. STAT (v1), STA2/LST2 (stat_v2), LIST/DENT/DONE, SEND
``path,mode`` + DATA (<= 64 KiB each) + DONE(mtime) -> OKAY or FAIL, RECV -> DATA... DONE, QUIT. Errors are FAIL
messages worded like adbd's ("write failed: No space left on device", "open failed: ..."), after which the
service ends. Files are accessed through ``/proc/<phone init>/root`` with this thread's fsuid/fsgid set to the
phone's root user (the phone's /data is a tmpfs of its user namespace: host root's uid is not mapped there, so
creating a file as host root fails with EOVERFLOW).
"""

from __future__ import annotations

import ctypes
import os
import stat
import struct

SYNC_DATA_MAX = 64 * 1024
libc = ctypes.CDLL(None, use_errno=True)


class Reader:
    """Exact byte counts from a stream whose ``recv()`` returns b"" once closed (then EOFError)."""

    def __init__(self, stream):
        self.stream, self.buf = stream, bytearray()

    def read(self, n: int) -> bytes:
        while len(self.buf) < n:
            data = self.stream.recv()
            if not data:
                raise EOFError
            self.buf += data
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out


def serve(stream, ns) -> None:
    """Run requests until QUIT, a failure or the end of the stream. ``ns``: device.Namespace."""
    from tests.phone import device

    libc.setfsgid(
        device.NS_GID
    )  # this thread only (not broadcast like setuid): files we create are the phone's
    libc.setfsuid(device.NS_UID)
    rd = Reader(stream)
    while True:
        ident, length = struct.unpack("<4sI", rd.read(8))
        if ident == b"QUIT":
            return
        if length > 1024:
            return fail(stream, "path too long")
        path = rd.read(length).decode(errors="replace")
        host = ns.host_path(path.rpartition(",")[0] if ident == b"SEND" else path)
        if ident == b"STAT":  # lstat v1; zeros when the path does not exist
            st = _lstat(host)
            fields = (st.st_mode, st.st_size, int(st.st_mtime)) if st else (0, 0, 0)
            stream.write(struct.pack("<4sIII", b"STAT", *fields))
        elif ident in (b"STA2", b"LST2"):
            stream.write(stat_v2(ident, host))
        elif ident == b"LIST":
            send_list(stream, host)
        elif ident == b"SEND":
            if not receive_file(stream, rd, path, host):  # path is "path,mode" here
                return
        elif ident == b"RECV":
            if not send_file(stream, host):
                return
        else:
            return fail(stream, f"unknown command {int.from_bytes(ident, 'little'):08x}")


def _lstat(host: str):
    try:
        return os.lstat(host)
    except OSError:
        return None


def fail(stream, reason: str) -> bool:
    raw = reason.encode()
    stream.write(struct.pack("<4sI", b"FAIL", len(raw)) + raw)
    return False


def stat_v2(ident: bytes, host: str) -> bytes:
    try:
        st = os.stat(host) if ident == b"STA2" else os.lstat(host)
    except OSError as e:
        return struct.pack("<4sI", ident, e.errno) + bytes(64)
    return struct.pack(
        "<4sIQQIIIIQqqq", ident, 0, st.st_dev, st.st_ino, st.st_mode, st.st_nlink, 0, 0, st.st_size,
        int(st.st_atime), int(st.st_mtime), int(st.st_ctime),
    )  # fmt: skip


def send_list(stream, host: str) -> None:
    try:
        names = [".", "..", *os.listdir(host)]
    except OSError:
        names = []
    for name in names:
        st = _lstat(os.path.join(host, name))
        if st is None:
            continue
        raw = name.encode()
        stream.write(
            struct.pack("<4sIIII", b"DENT", st.st_mode, st.st_size, int(st.st_mtime), len(raw)) + raw
        )
    stream.write(b"DONE" + bytes(16))


def receive_file(stream, rd: Reader, spec: str, host: str) -> bool:
    """SEND: ``spec`` is "path,mode" (``host``: the path's host side); DATA chunks until DONE(mtime)."""
    _path, comma, mode_text = spec.rpartition(",")
    if not comma:
        return fail(stream, "missing , in ID_SEND_V1")
    try:
        mode = int(mode_text, 0)  # adbd: strtoul(mode, nullptr, 0)
    except ValueError:
        mode = int(mode_text, 8) if mode_text.isdigit() else 0o644
    if stat.S_ISLNK(mode):
        return _receive_symlink(stream, rd, host)
    mode &= 0o777
    mode |= (mode >> 3) & 0o070  # the owner's bits copied to group, then to other, as adbd (0644 -> 0666)
    mode |= (mode >> 3) & 0o007
    fd, error = -1, None
    try:
        if os.path.lexists(host) and not os.path.isdir(host):
            os.unlink(host)
        os.makedirs(os.path.dirname(host), exist_ok=True)
        fd = os.open(host, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        os.fchmod(fd, mode)
    except OSError as e:
        error = f"couldn't create file: {e.strerror}"
    mtime = 0
    while True:  # after a failure keep reading until DONE, like adbd, so the client sees the FAIL
        ident, size = struct.unpack("<4sI", rd.read(8))
        if ident == b"DONE":
            mtime = size
            break
        if ident != b"DATA" or size > SYNC_DATA_MAX:
            error = error or "invalid data message"
            break
        data = rd.read(size)
        if error is None:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            except OSError as e:
                error = f"write failed: {e.strerror}"
    if fd >= 0:
        os.close(fd)
    if error:
        if fd >= 0:
            os.unlink(host)  # no partial file left behind
        return fail(stream, error)
    os.utime(host, (mtime, mtime))
    stream.write(b"OKAY" + bytes(4))
    return True


def _receive_symlink(stream, rd: Reader, host: str) -> bool:
    ident, size = struct.unpack("<4sI", rd.read(8))
    target = rd.read(size).rstrip(b"\0").decode()
    ident, _mtime = struct.unpack("<4sI", rd.read(8))
    try:
        os.makedirs(os.path.dirname(host), exist_ok=True)
        if os.path.lexists(host):
            os.unlink(host)
        os.symlink(target, host)
    except OSError as e:
        return fail(stream, f"symlink failed: {e.strerror}")
    stream.write(b"OKAY" + bytes(4))
    return True


def send_file(stream, host: str) -> bool:
    """RECV: DATA chunks of at most 64 KiB, then DONE."""
    try:
        f = open(host, "rb")  # noqa: SIM115
    except OSError as e:
        return fail(stream, f"open failed: {e.strerror}")
    with f:
        while chunk := f.read(SYNC_DATA_MAX):
            stream.write(struct.pack("<4sI", b"DATA", len(chunk)) + chunk)
    stream.write(b"DONE" + bytes(4))
    return True
