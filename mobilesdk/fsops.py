"""Kill-safe output: staging directories owned by a process, atomic swaps, and cleanup of what dead builds left.

A build writes into ``OUT/.<id>.staging-<pid>-<token>`` and, when everything passed, swaps it into ``OUT/<id>``
(the previous build moves aside to ``OUT/.<id>.old-<pid>-<token>`` and is removed after the swap; if the final
rename fails the previous build is moved back). Names carry the owning pid, so a later build removes the
leftovers of a process that is gone (a SIGKILL or a power cut) and never those of one that still runs.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from mobilesdk.errors import MobileSDKError

_OWNED = re.compile(
    r"^\..+\.(staging|old|partial)-(\d+)-[0-9a-f]{8}(\.[A-Za-z0-9]+)?$"
)  # e.g. a partial .jar


def owned_name(base: str, kind: str) -> str:
    """``.<base>.<kind>-<pid>-<token>``: unique, and marked with this process's pid."""
    return f".{base}.{kind}-{os.getpid()}-{secrets.token_hex(4)}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def remove_stale(out: Path) -> list[str]:
    """Remove what :func:`owned_name` named in ``out`` (staging/old directories, partial files) whose owning
    process is gone; returns their names."""
    removed = []
    try:
        entries = list(out.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _OWNED.match(entry.name)
        if match and int(match.group(2)) != os.getpid() and not pid_alive(int(match.group(2))):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry.name)
    return removed


def make_staging(out: Path, base: str) -> Path:
    """A fresh staging directory beside the target (same filesystem, so the swap is a rename)."""
    staging = out / owned_name(base, "staging")
    staging.mkdir(mode=0o777)  # the umask applies, as for any directory the user creates
    return staging


def swap_into_place(staging: Path, target: Path) -> None:
    """Make ``staging`` the new ``target``; the previous ``target`` is restored if the final rename fails."""
    old = None
    if target.exists():
        old = target.with_name(owned_name(target.name, "old"))
        os.rename(target, old)
    try:
        os.rename(staging, target)
    except OSError as exc:
        if old is not None:
            os.rename(old, target)
        raise MobileSDKError(
            f"{target}: cannot move the new build into place ({exc.strerror or exc}); the previous build is unchanged"
        ) from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to a unique temporary name beside ``path`` and rename it into place."""
    tmp = path.with_name(owned_name(path.name, "partial"))
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def locked(path: Path, *, wait: bool = True) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created, with its parents) for the ``with`` block: builds of
    one cache entry by concurrent processes run one after the other. The lock goes with the process. With
    ``wait=False`` a lock held elsewhere raises ``BlockingIOError`` instead of waiting."""
    import fcntl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
