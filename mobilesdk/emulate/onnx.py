"""ONNX Runtime rows of an emulated bench (`--emulate arm64 --compare onnxruntime`): the ONNX export the host
bench's ONNX Runtime baseline runs, with the build's manifest embedded
(:func:`mobilesdk.bench.candidates.export_onnx_with_manifest`), counted by the arm64 bundle's ONNX Runtime
engine in the same runner process as the artifacts, on the same frame."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

from mobilesdk import manifest as mf
from mobilesdk.emulate.plugin import EmulateError


def build_dir_of(path: Path) -> Path:
    """The build folder of a bench target: the folder itself, or the folder holding the artifact's manifest."""
    path = Path(path)
    if path.is_dir():
        return path
    if (path.parent / mf.MANIFEST_FILE).is_file():
        return path.parent
    raise EmulateError(
        f"--compare onnxruntime: {path} is not in a build folder (no {mf.MANIFEST_FILE} beside it); give the "
        "build folder"
    )


def onnx_rows(
    paths: Sequence[Path],
    labels: Sequence[str],
    bundle_info: dict,
    workdir: Path,
    *,
    card_path: Path | None = None,
    checkpoint: Path | None = None,
    progress=None,
) -> list[tuple[str, str, Path]]:
    """(name, kind, .onnx) per distinct build folder among ``paths``, exported into ``workdir``."""
    from mobilesdk.bench.candidates import ONNX_RECIPE, export_onnx_with_manifest

    if "onnxruntime" not in bundle_info.get("engines", []):
        raise EmulateError(
            "--compare onnxruntime with --emulate: this arm64 bundle has no ONNX Runtime engine (rebuild it: "
            "mobilesdk runner build --target arm64)"
        )
    rows, seen = [], set()
    for i, (path, label) in enumerate(zip(paths, labels, strict=True)):
        build_dir = build_dir_of(path).resolve()
        if build_dir in seen:
            continue
        seen.add(build_dir)
        out = Path(workdir) / f"{i}-{build_dir.name}.onnx"
        phase = (
            progress.phase(f"Exporting {build_dir.name} to ONNX (the host bench's export)")
            if progress is not None
            else contextlib.nullcontext()
        )
        with phase:
            export_onnx_with_manifest(build_dir, out, card_path=card_path, checkpoint=checkpoint)
        rows.append((f"{label}{ONNX_RECIPE}", "onnxruntime", out))
    return rows
