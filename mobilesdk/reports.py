"""What a build writes for people: ``report.txt`` (a table) and ``report.json``, and the same table for the CLI."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPORT_JSON = "report.json"
REPORT_TXT = "report.txt"


def format_table(results: Sequence[Mapping[str, Any]]) -> str:
    """A readable parity table: one row per artifact ({recipe, file, bytes, parity, cached?})."""
    header = f"{'recipe':<18} {'file':<42} {'size':>9} {'max rel':>9} {'cosine':>7} {'mean px':>8} {'max px':>8} {'PCK@.05':>7}  gate"
    rows = [header, "-" * len(header)]
    nan = float("nan")
    for e in results:
        p = e.get("parity") or {}
        raw = p.get("raw", {}).values()
        max_rel = max((_num(v.get("max_rel")) for v in raw), default=nan)
        cosine = min((_num(v.get("cosine")) for v in raw), default=nan)
        status = "pass" if p.get("passed") else "FAIL"
        if p and not p.get("decoded_gated"):
            status += " (random weights: raw outputs gated, keypoints reported)"
        if e.get("cached"):
            status += ", reused"
        rows.append(
            f"{e['recipe']:<18} {e['file']:<42} {e['bytes'] / 1e6:>8.2f}M {max_rel:>9.1e} {cosine:>7.4f} "
            f"{_num(p.get('mean_px')):>8.3f} {_num(p.get('max_px')):>8.3f} {_num(p.get('pck')):>7.3f}  {status}"
        )
    return "\n".join(rows)


def _num(value) -> float:
    return float("nan") if value is None else float(value)


def write_reports(directory: Path, manifest) -> None:
    """``manifest.json``, ``report.json`` and ``report.txt`` of a finished build into ``directory``."""
    from mobilesdk import manifest as mf

    doc = manifest.to_json()
    (directory / mf.MANIFEST_FILE).write_text(mf.dumps(doc), encoding="utf-8")
    report = {
        "model": manifest.id,
        "weights": manifest.model["weights"],
        "artifacts": [
            {k: e.get(k) for k in ("recipe", "runtime", "file", "bytes", "sha256", "parity", "lowering")}
            for e in doc["artifacts"]
        ],
    }
    (directory / REPORT_JSON).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    rows = [{**e, "parity": e.get("parity")} for e in doc["artifacts"]]
    (directory / REPORT_TXT).write_text(
        f"{manifest.id} ({manifest.model['weights']} weights)\n\n{format_table(rows)}\n", encoding="utf-8"
    )
