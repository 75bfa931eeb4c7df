"""Init of an emulated phone's namespace (stdlib only; run by adbd.py with /usr/bin/python3).

    nsinit.py CONFIG_JSON

Creates a user + mount + pid namespace whose root user is an *unprivileged* host uid (``ns_uid``: device
commands can't write the host's files, /proc/sys or /proc/sysrq-trigger as host root could), lays the
phone's root directory out as ``/`` (pivot_root), and keeps running as the namespace's pid 1 (it reaps
orphans). Mounts, all private to the namespace: a size-limited tmpfs on /data (the phone's storage), host
/usr and /etc (bind), a minimal /dev, a fresh /proc with the profile's cpuinfo bound over /proc/cpuinfo, and
binfmt_misc with qemu-aarch64 registered (flag F) so arm64 ELF files run transparently.

Protocol with adbd: prints ``pid <host pid of the namespace's init>`` then ``ready`` (or ``error: ...``) on
stdout. It exits when its stdin closes (adbd gone) or on SIGTERM; it dies with its parent (PR_SET_PDEATHSIG),
and the kernel then kills every process of the pid namespace.
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import signal
import sys
import traceback

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID = 0x00020000, 0x10000000, 0x20000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG = 1
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}[os.uname().machine]

# binfmt_misc entry for aarch64 ELF (ET_EXEC and ET_DYN: the 0xfe mask on e_type), as Debian's qemu-user-binfmt.
AARCH64_MAGIC = r"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00"
AARCH64_MASK = r"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff"

libc = ctypes.CDLL(None, use_errno=True)


def check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(src: str | None, target: str, fstype: str | None, flags: int = 0, data: str | None = None) -> None:
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    check(libc.mount(enc(src), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def setup(cfg: dict) -> None:
    root, host = cfg["root"], cfg["host_dir"]
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount(root, root, None, MS_BIND | MS_REC)  # pivot_root wants a mount point
    # storage: a tmpfs whose size is the phone's free space (a full phone is a small one)
    mount("tmpfs", f"{root}/data", "tmpfs", MS_NOSUID | MS_NODEV, f"size={cfg['storage_bytes']},mode=0771")
    for d, mode in (
        ("data/local", 0o751),
        ("data/local/tmp", 0o771),
        ("data/local/traces", 0o777),
        ("data/vendor", 0o771),
    ):
        os.makedirs(f"{root}/{d}", exist_ok=True)
        os.chmod(f"{root}/{d}", mode)
    if cfg.get("prefill_bytes"):
        with open(f"{root}/data/vendor/filler.bin", "wb") as f:  # fills the storage; ENOSPC stops it
            block = b"\0" * (1 << 20)
            try:
                left = cfg["prefill_bytes"]
                while left > 0:
                    left -= f.write(block[: min(left, len(block))])
                    f.flush()
            except OSError:
                pass
    for d in cfg["binds"]:  # host /usr, /etc (and /lib.. if not symlinks); the phone's uid can't write them
        mount(f"/{d}", f"{root}/{d}", None, MS_BIND | MS_REC)
    # /dev: a few nodes only (a tmpfs made in a user namespace is nodev; bound host nodes keep working)
    mount("tmpfs", f"{root}/dev", "tmpfs", MS_NOSUID, "mode=0755,size=64k")
    for node in ("null", "zero", "full", "random", "urandom", "tty"):
        open(f"{root}/dev/{node}", "w").close()
        mount(f"/dev/{node}", f"{root}/dev/{node}", None, MS_BIND)
    for d in ("pts", "shm"):
        os.makedirs(f"{root}/dev/{d}", exist_ok=True)
    mount("tmpfs", f"{root}/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=16m")
    os.symlink("/proc/self/fd", f"{root}/dev/fd")
    # Android's cpuset tree (what a shell may run on; /proc/self/status would show the host's CPUs): the root
    # set holds every CPU; "cpuset" (an option) restricts it, like a vendor that keeps the shell off a core.
    os.makedirs(f"{root}/dev/cpuset/top-app", exist_ok=True)
    write(f"{root}/dev/cpuset/cpus", cfg["cpuset"] + "\n")
    write(f"{root}/dev/cpuset/top-app/cpus", cfg["cpuset"] + "\n")
    mount("proc", f"{root}/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    mount(f"{host}/cpuinfo", f"{root}/proc/cpuinfo", None, MS_BIND)
    if cfg.get("qemu"):
        binfmt = f"{root}/proc/sys/fs/binfmt_misc"
        mount("binfmt_misc", binfmt, "binfmt_misc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        # F: the interpreter is opened now (host path), so it works from any mount namespace/root later
        write(f"{binfmt}/register", f":qemu-aarch64:M::{AARCH64_MAGIC}:{AARCH64_MASK}:{cfg['qemu']}:F")
    os.chdir(root)
    check(libc.syscall(SYS_PIVOT_ROOT, b".", b"."), "pivot_root")
    check(libc.umount2(b".", MNT_DETACH), "umount old root")
    os.chdir("/")


def say(line: str) -> None:
    """One line to adbd; a single write(2), as parent and child share the pipe."""
    os.write(1, (line.replace("\n", " ") + "\n").encode())


def init_loop() -> None:
    """pid 1: reap every child until stdin closes (adbd went away) or SIGTERM."""
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    while True:
        readable, _, _ = select.select([0], [], [], 0.2)
        if readable and not os.read(0, 4096):
            os._exit(0)
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass


def main() -> None:
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    uid, gid = cfg["ns_uid"], cfg["ns_gid"]
    me = os.getpid()
    go_r, go_w = os.pipe()
    mapper = os.fork()
    if mapper == 0:  # stays in the host's user namespace and maps ns root -> unprivileged uid
        os.close(go_w)
        os.read(go_r, 1)
        write(f"/proc/{me}/uid_map", f"0 {uid} 1\n")
        write(f"/proc/{me}/gid_map", f"0 {gid} 1\n")
        os._exit(0)
    os.close(go_r)
    check(libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID), "unshare")
    os.write(go_w, b"x")
    _, status = os.waitpid(mapper, 0)
    if status != 0:
        raise OSError("writing uid_map/gid_map failed")
    os.setgroups([])
    os.setresgid(0, 0, 0)
    os.setresuid(0, 0, 0)
    child = os.fork()
    if child == 0:  # pid 1 of the new pid namespace
        try:
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            setup(cfg)
        except Exception as e:  # reported to adbd, which fails the phone's start with it
            traceback.print_exc()
            say(f"error: {e}")
            os._exit(1)
        say("ready")
        init_loop()
    say(f"pid {child}")
    signal.signal(signal.SIGTERM, lambda *_: os.kill(child, signal.SIGKILL))
    _, status = os.waitpid(child, 0)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


if __name__ == "__main__":
    main()
