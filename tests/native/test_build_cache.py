"""The native build cache is shared by every clone and session on a machine: a newer build removes only builds
nobody used for days, never one another run is using (that broke concurrent sessions mid-run)."""

from __future__ import annotations

import os
import time

from mobilesdk import native


def _entry(cache, name: str, used_ago_s: float | None, done_ago_s: float = 0.0):
    d = cache / name
    d.mkdir()
    (d / native._DONE).write_text("k\n")
    now = time.time()
    os.utime(d / native._DONE, (now - done_ago_s, now - done_ago_s))
    if used_ago_s is not None:
        marker = native._used_marker(d)
        marker.touch()
        os.utime(marker, (now - used_ago_s, now - used_ago_s))
    return d


def test_prune_keeps_builds_in_use_and_removes_long_unused_ones(tmp_path):
    keep = _entry(tmp_path, "release-new", 0)
    in_use = _entry(tmp_path, "release-otherclone", 60, done_ago_s=10 * 86400)  # built long ago, used now
    fresh = _entry(tmp_path, "release-justbuilt", None)  # built a moment ago, not yet marked used
    stale = _entry(tmp_path, "release-stale", native.PRUNE_UNUSED_S + 3600, done_ago_s=30 * 86400)
    building = tmp_path / "release-building"  # no marker yet: another process is building it
    building.mkdir()
    other_variant = _entry(tmp_path, "sanitize-old", native.PRUNE_UNUSED_S + 3600)
    native._prune(tmp_path, "release", keep=keep)
    assert keep.exists() and in_use.exists() and fresh.exists() and building.exists()
    assert not stale.exists() and not native._used_marker(stale).exists()
    assert other_variant.exists()  # only the variant being built is pruned
    native.mark_used(in_use)
    assert time.time() - native._used_marker(in_use).stat().st_mtime < 60
    assert not (in_use / native._USED).exists()  # the build's own files are not touched
