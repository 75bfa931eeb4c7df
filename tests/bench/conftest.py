"""Benches run by these tests store their runs in a temporary history, never in the user's data folder."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _history_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
