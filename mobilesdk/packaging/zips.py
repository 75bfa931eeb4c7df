"""Deterministic zip archives (the AAR and the jars in it): fixed entry times and modes, entries in the order
given, so the same entries give the same bytes (the Maven version of an AAR is derived from them)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable

ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed entry times: the same content gives the same bytes


def zip_bytes(entries: Iterable[tuple[str, bytes, int]]) -> bytes:
    """A zip of ``(name, data, compress_type)`` entries, in that order, each dated :data:`ZIP_DATE` with mode
    0644. ``entries`` may be a generator: each entry's data is only needed while it is written."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data, compress in entries:
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.compress_type = compress
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    return buf.getvalue()
