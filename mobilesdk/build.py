"""`mobilesdk build`: card (+ checkpoint) -> verified artifacts, manifest and parity report in ``<out>/<id>/``.

Everything is written into a staging directory next to the target and swapped into place at the end, so a
failure or Ctrl-C leaves the previous build untouched and no partial files. Artifacts of other recipes that
are still valid (same card and weights) are carried over, so runtimes and recipes live side by side. A content
hash of everything that determines an artifact (card, weights, recipe, input spec, calibration data, tool
versions) lets an unchanged rebuild reuse the artifact and its parity figures.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mobilesdk.cards import Card
from mobilesdk.errors import MobileSDKError, VerifyError
from mobilesdk.export import manifest as mf
from mobilesdk.export.recipes import LAYOUTS, select_recipes

VERIFY_IMAGES = 8
CALIB_LIMIT = 64
SYNTHETIC_CALIB_COUNT = 32


class Progress:
    """Progress sink the CLI implements with rich; the library default does nothing."""

    @contextlib.contextmanager
    def phase(self, description: str, total: int | None = None) -> Iterator[Callable[[], None]]:
        yield lambda: None

    def warn(self, message: str) -> None:
        pass


@dataclass
class BuildRequest:
    card: Card
    out: Path
    checkpoint: Path | None = None
    backend: str = "executorch"
    quantize: str = "none"
    calib_images: Path | None = None
    input_layout: str | None = None  # None: the recipe's default (NCHW for ExecuTorch, NHWC for LiteRT)
    input_dtype: str = "float32"
    int8_mean_px: float | None = None  # override the card's budget


@dataclass
class ArtifactResult:
    recipe: str
    path: Path
    bytes: int
    parity: dict[str, Any]
    lowering: dict[str, Any]
    cached: bool
    seconds: float


@dataclass
class BuildResult:
    out_dir: Path
    artifacts: list[ArtifactResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _model_section(card: Card, checkpoint: Path | None, checkpoint_sha: str | None) -> dict[str, Any]:
    return {
        "id": card.id,
        "title": card.title,
        "family": card.family,
        "architecture": card.architecture.name or card.architecture.entry,
        "hparams": dict(card.architecture.hparams),
        "reconstructed": card.architecture.reconstructed,
        "card": str(card.path.resolve()),
        "card_sha256": card.sha256,
        "weights": "checkpoint" if checkpoint else "random",
        "checkpoint": {"file": str(checkpoint.resolve()), "sha256": checkpoint_sha} if checkpoint else None,
    }


def _prepare_out(out: Path, card_id: str) -> tuple[Path, Path]:
    """The target dir and a fresh staging dir beside it (same filesystem, so the swap is a rename)."""
    if out.exists() and not out.is_dir():
        raise MobileSDKError(f"--out {out}: exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{card_id}.staging-", dir=out))
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)  # mkdtemp makes it private; the build dir should not be
    except OSError as exc:
        raise MobileSDKError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
    target = out / card_id
    if target.exists() and not target.is_dir():
        shutil.rmtree(staging, ignore_errors=True)
        raise MobileSDKError(f"--out {out}: {target} exists and is not a directory")
    return target, staging


def _calibration(req: BuildRequest, progress: Progress) -> tuple[np.ndarray, dict[str, Any], str]:
    """(N, H, W, 3) uint8 crops, the manifest's calibration record, and a hash of the data."""
    from mobilesdk import preprocess, synthetic

    spec = req.card.input
    if req.calib_images is not None:
        crops, files = preprocess.load_folder(req.calib_images, spec, limit=CALIB_LIMIT)
        record = {"source": str(req.calib_images.resolve()), "kind": "images", "count": len(files)}
    else:
        progress.warn(
            "no --calib-images: calibrating int8 on synthetic stick-figure images; give real photos of people "
            "(jpg/png) for an int8 model you ship"
        )
        crops, _ = synthetic.make_samples(
            SYNTHETIC_CALIB_COUNT,
            req.card.num_keypoints,
            spec.size.width,
            spec.size.height,
            req.card.keypoints.skeleton,
            seed=1234,
        )
        record = {"source": "synthetic:stick-figures(seed=1234)", "kind": "synthetic", "count": len(crops)}
    return crops, record, hashlib.sha256(crops.tobytes()).hexdigest()


def verification_crops(card: Card) -> np.ndarray:
    """The deterministic inputs parity is measured on: synthetic figures in the card's keypoint layout."""
    from mobilesdk import synthetic

    crops, _ = synthetic.make_samples(
        VERIFY_IMAGES,
        card.num_keypoints,
        card.input.size.width,
        card.input.size.height,
        card.keypoints.skeleton,
        seed=7,
    )
    return crops


def _swap_into_place(staging: Path, target: Path) -> None:
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.rename(target, old)
    os.rename(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def build(req: BuildRequest, progress: Progress | None = None) -> BuildResult:
    from mobilesdk import pipeline

    progress = progress or Progress()
    t0 = time.perf_counter()
    recipes = select_recipes(req.backend, req.quantize)
    if req.input_layout is not None and req.input_layout not in LAYOUTS:
        raise MobileSDKError(f"--input-layout {req.input_layout}: choose one of {', '.join(LAYOUTS)}")
    if req.calib_images is not None and any(r.quantize.startswith("int8") for r in recipes):
        from mobilesdk.preprocess import list_images

        list_images(req.calib_images)  # an empty or missing folder fails before any heavy work
    card = req.card
    checkpoint_sha = mf.sha256_file(req.checkpoint) if req.checkpoint and req.checkpoint.is_file() else None
    with progress.phase("Loading model"):
        model = pipeline.load_eager(card, req.checkpoint)
    created_out = not req.out.exists()
    target, staging = _prepare_out(req.out, card.id)
    result = BuildResult(out_dir=target)
    done = False
    try:
        base = {
            "schema": mf.SCHEMA,
            "schema_version": mf.SCHEMA_VERSION,
            "model": _model_section(card, req.checkpoint, checkpoint_sha),
            "codec": {"name": card.codec.name, "params": pipeline.codec_for(card).params()},
            "keypoints": {
                "names": list(card.keypoints.names),
                "skeleton": [list(p) for p in card.keypoints.skeleton],
                "flip_pairs": [list(p) for p in card.keypoints.flip_pairs],
            },
            "tools": mf.tool_versions(),
        }
        kept = pipeline.carry_over(target, base["model"], {r.name for r in recipes}, result)
        needs_calib = any(r.quantize.startswith("int8") for r in recipes)
        calib = _calibration(req, progress) if needs_calib else None
        crops = verification_crops(card)
        eager = pipeline.eager_outputs(model, card, crops)
        entries = list(kept)
        for recipe in recipes:
            entry, art = pipeline.build_artifact(
                req, recipe, model, base, eager, crops, calib, target, staging, progress
            )
            entries.append(entry)
            result.artifacts.append(art)
        failures = [f for a in result.artifacts for f in a.parity.get("failures", [])]
        if failures:
            raise VerifyError(failures[0] + (f" (+{len(failures) - 1} more)" if len(failures) > 1 else ""))
        for entry in kept:  # hard-link (or copy) still-valid artifacts of other recipes
            pipeline.link_or_copy(target / entry["file"], staging / entry["file"])
        manifest = {**base, "artifacts": sorted(entries, key=lambda e: e["recipe"])}
        pipeline.write_reports(staging, manifest)
        _swap_into_place(staging, target)
        done = True
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        if not done and created_out and not any(req.out.iterdir()):
            req.out.rmdir()  # we created it for this build; a failed build leaves nothing
    for art in result.artifacts:
        art.path = target / art.path.name
    result.seconds = time.perf_counter() - t0
    return result
