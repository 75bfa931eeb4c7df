"""Kill-safe output: owned staging names, cleanup of dead builds' leftovers, a swap that restores on failure."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mobilesdk import fsops
from mobilesdk.errors import MobileSDKError


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_names_are_unique_and_carry_the_pid():
    a, b = fsops.owned_name("m", "staging"), fsops.owned_name("m", "staging")
    assert a != b and a.startswith(f".m.staging-{os.getpid()}-")


def test_leftovers_of_dead_processes_are_removed_and_live_ones_kept(tmp_path):
    dead = tmp_path / f".m.staging-{_dead_pid()}-0123abcd"
    old = tmp_path / f".m.old-{_dead_pid()}-89abcdef"
    alive = tmp_path / f".m.staging-{os.getppid()}-00000000"  # our parent is alive
    mine = tmp_path / fsops.owned_name("m", "staging")
    user = tmp_path / ".m.staging-notes"  # not ours: wrong pattern
    for d in (dead, old, alive, mine, user):
        d.mkdir()
        (d / "f").write_text("x")
    partial = tmp_path / f".m.aar.partial-{_dead_pid()}-0123abcd"  # files of write_atomically, a jar's too
    partial_jar = tmp_path / f".runtime.partial-{_dead_pid()}-0123abcd.jar"
    live_partial = tmp_path / f".m.aar.partial-{os.getppid()}-0123abcd"
    for f in (partial, partial_jar, live_partial):
        f.write_text("x")
    removed = [dead.name, old.name, partial.name, partial_jar.name]
    assert sorted(fsops.remove_stale(tmp_path)) == sorted(removed)
    kept = [alive.name, mine.name, user.name, live_partial.name]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)


def test_swap_restores_the_previous_build_when_the_final_rename_fails(tmp_path, monkeypatch):
    target = tmp_path / "m"
    target.mkdir()
    (target / "old.txt").write_text("previous")
    staging = fsops.make_staging(tmp_path, "m")
    (staging / "new.txt").write_text("new")
    real = os.rename
    calls = []

    def flaky(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:  # target -> .old worked; staging -> target fails
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(fsops.os, "rename", flaky)
    with pytest.raises(MobileSDKError, match="previous build is unchanged"):
        fsops.swap_into_place(staging, target)
    assert (target / "old.txt").read_text() == "previous"
    assert not any(".old-" in p.name for p in tmp_path.iterdir())


def test_write_atomically_leaves_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "a.bin"
    fsops.write_atomically(path, b"abc")
    assert path.read_bytes() == b"abc" and sorted(os.listdir(tmp_path)) == ["a.bin"]

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fsops.os, "replace", fail)
    with pytest.raises(OSError):
        fsops.write_atomically(path, b"new")
    assert path.read_bytes() == b"abc" and sorted(os.listdir(tmp_path)) == ["a.bin"]
