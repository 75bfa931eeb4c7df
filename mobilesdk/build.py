"""`mobilesdk build`: card (+ checkpoint) -> verified artifacts, manifest and reports in ``<out>/<id>/``.

Steps, one way: load the eager model (user code runs here, behind one error boundary) -> fingerprint it ->
calibration data (int8) -> verification crops and eager outputs -> per recipe: reuse the cached artifact or
export it, then verify it against today's budgets -> keep other recipes' artifacts of the same model ->
manifest + reports -> swap into place.

Everything is written into a staging directory owned by this process (:mod:`mobilesdk.fsops`) and swapped into
place at the end, so a failure, Ctrl-C or SIGTERM leaves the previous build untouched and nothing half-written;
leftovers of a killed build are removed by the next one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mobilesdk import fsops
from mobilesdk import manifest as mf
from mobilesdk.cards import Card
from mobilesdk.errors import MobileSDKError
from mobilesdk.export.recipes import LAYOUTS, Recipe, select_recipes

if TYPE_CHECKING:
    from mobilesdk.packaging import PackagingOptions, PackagingResult

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
    threads: int | None = None  # host runtimes during verification (None: their default)
    split_large_kernels: bool = True  # XNNPACK-friendly depthwise split (see mobilesdk.export.large_kernel)
    weight_only_heads: bool = True  # int8: the heads' Linear layers get int8 weights (else they stay float)
    android: PackagingOptions | None = None  # the AAR step (mobilesdk.packaging); None: no AAR


@dataclass
class ArtifactResult:
    recipe: str
    path: Path
    bytes: int
    parity: dict[str, Any]
    lowering: dict[str, Any]
    cached: bool
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe,
            "file": str(self.path),
            "bytes": self.bytes,
            "cached": self.cached,
            "seconds": round(self.seconds, 3),
            "parity": self.parity,
            "lowering": self.lowering,
        }


@dataclass
class BuildResult:
    out_dir: Path
    artifacts: list[ArtifactResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    packaging: PackagingResult | None = None  # AARs, POMs, m2/, android/ when the AAR step ran

    def to_json(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "artifacts": [a.to_json() for a in self.artifacts],
            "warnings": self.warnings,
            "removed": self.removed,
            "seconds": round(self.seconds, 3),
            "packaging": self.packaging.to_json() if self.packaging else None,
        }


@dataclass
class _Context:
    """What every recipe of one build shares."""

    req: BuildRequest
    model: Any
    base: mf.Manifest
    fingerprint: str
    output_shapes: dict[str, tuple[int, ...]]
    crops: np.ndarray
    eager: list[np.ndarray]
    calibration: tuple[np.ndarray, dict[str, Any], str] | None
    previous: mf.Manifest | None
    target: Path
    staging: Path
    progress: Progress


def _model_section(
    card: Card, checkpoint: Path | None, checkpoint_sha: str | None, fingerprint: str
) -> dict[str, Any]:
    from mobilesdk.fingerprint import card_digest

    return {
        "id": card.id,
        "title": card.title,
        "family": card.family,
        "architecture": card.architecture.name or card.architecture.entry,
        "hparams": dict(card.architecture.hparams),
        "reconstructed": card.architecture.reconstructed,
        "card": str(card.path.resolve()),
        "card_sha256": card.sha256,
        "card_digest": card_digest(card),
        "fingerprint": fingerprint,
        "weights": "checkpoint" if checkpoint else "random",
        "checkpoint": {"file": str(checkpoint.resolve()), "sha256": checkpoint_sha} if checkpoint else None,
    }


def _base_manifest(card: Card, model_section: dict[str, Any]) -> mf.Manifest:
    from mobilesdk.codecs import codec_for

    codec = codec_for(card)
    return mf.Manifest(
        model=model_section,
        codec={"name": card.codec.name, "params": codec.params(), "visibility": dict(codec.visibility)},
        keypoints={
            "names": list(card.keypoints.names),
            "skeleton": [list(p) for p in card.keypoints.skeleton],
            "flip_pairs": [list(p) for p in card.keypoints.flip_pairs],
        },
        tools=mf.tool_versions(),
    )


def _prepare_out(out: Path, card_id: str) -> tuple[Path, Path, list[str]]:
    """(target, fresh staging dir, names of dead builds' leftovers removed)."""
    if out.exists() and not out.is_dir():
        raise MobileSDKError(f"--out {out}: exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        removed = fsops.remove_stale(out)
        staging = fsops.make_staging(out, card_id)
    except OSError as exc:
        raise MobileSDKError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
    target = out / card_id
    if target.exists() and not target.is_dir():
        shutil.rmtree(staging, ignore_errors=True)
        raise MobileSDKError(f"--out {out}: {target} exists and is not a directory")
    return target, staging, removed


def _calibration(req: BuildRequest, progress: Progress) -> tuple[np.ndarray, dict[str, Any], str]:
    """(N, H, W, 3) uint8 RGB crops, the manifest's calibration record, and a hash of the data."""
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


def _previous_manifest(target: Path) -> mf.Manifest | None:
    path = target / mf.MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        return mf.read_manifest(path)
    except MobileSDKError:
        return None  # an unreadable old manifest is rebuilt, not trusted


def _intact(target: Path, entry: mf.ArtifactEntry) -> bool:
    path = target / entry.file
    return path.is_file() and mf.sha256_file(path) == entry.sha256


def _carry_over(ctx: _Context, rebuilding: set[str], result: BuildResult) -> list[mf.ArtifactEntry]:
    """Entries of the previous build to keep: same model fingerprint, file intact, not rebuilt now."""
    if ctx.previous is None:
        return []
    same_model = ctx.previous.fingerprint == ctx.fingerprint
    kept = []
    for entry in ctx.previous.artifacts:
        if entry.recipe in rebuilding:
            continue
        if same_model and _intact(ctx.target, entry):
            kept.append(entry)
        else:
            why = (
                "built from another model (card, architecture or weights)"
                if not same_model
                else "file missing or changed"
            )
            result.removed.append(f"{entry.recipe} ({why})")
    return kept


def _input_entry(card: Card, layout: str, dtype: str) -> mf.InputEntry:
    w, h = card.input.size.width, card.input.size.height
    return mf.InputEntry(
        name="image",
        shape=(1, h, w, 3) if layout == "NHWC" else (1, 3, h, w),
        layout=layout,
        dtype=dtype,
        color=card.input.color,
        mean=card.input.mean,
        std=card.input.std,
        normalization="in-graph" if dtype == "uint8" else "app",
        size=card.input.size.as_dict(),
        resize=card.input.resize,
        roi_padding=card.input.roi_padding,
    )


def _quantized_modules(model, recipe: Recipe) -> tuple[list[str], list[str]]:
    """(keep_float, weight_only) module names inside the InputAdapter for ``recipe``.

    Keypoint-aware ``int8`` keeps the output heads (the model's ``head_modules``) out of static int8, where
    rounding moves keypoints most; the heads' ``Linear`` layers (SimCC's two coordinate classifiers: 1.05M of
    movepose-xs's 1.47M parameters) get int8 weights with float activations instead (weight-only: the file
    shrinks by 4x there and the drift stays small). Both are gated by the card's keypoint-drift budget.
    """
    from torch import nn

    from mobilesdk.export.adapter import head_module_names

    if recipe.quantize != "int8":
        return [], []
    keep = head_module_names(model)
    weight_only = [
        name for name in keep if isinstance(model.get_submodule(name.removeprefix("model.")), nn.Linear)
    ]
    return keep, weight_only


def _export(
    ctx: _Context, recipe: Recipe, entry: mf.ArtifactEntry, path: Path, keep_float, weight_only
) -> dict[str, Any]:
    import torch

    from mobilesdk.export.adapter import InputAdapter
    from mobilesdk.runtimes import ExportJob, get_runtime
    from mobilesdk.verify import model_inputs

    req, card = ctx.req, ctx.req.card
    layout = entry.input.layout
    wrapper = InputAdapter(
        ctx.model,
        mean=card.input.mean,
        std=card.input.std,
        dtype=req.input_dtype,
        channels_last=layout == "NHWC" and recipe.runtime == "executorch",
    ).eval()
    # What the exporter traces with: LiteRT takes NCHW and makes the .tflite NHWC via to_channel_last_io.
    traced = entry.input if recipe.runtime == "executorch" else replace(entry.input, layout="NCHW")
    example = torch.from_numpy(model_inputs(ctx.crops[:1], traced))
    calibration = []
    if ctx.calibration is not None and recipe.quantize.startswith("int8"):
        crops = ctx.calibration[0]
        calibration = [torch.from_numpy(model_inputs(crops[i : i + 1], traced)) for i in range(len(crops))]
    metadata = json.dumps(ctx.base.with_artifacts([entry]).embedded(recipe.name))
    job = ExportJob(
        recipe,
        wrapper,
        example,
        path,
        layout,
        calibration,
        keep_float,
        weight_only,
        metadata,
        req.split_large_kernels,
    )
    with ctx.progress.phase(f"Exporting {recipe.name}"):
        return get_runtime(recipe.runtime).export(job)


def _build_artifact(ctx: _Context, recipe: Recipe) -> tuple[mf.ArtifactEntry, ArtifactResult]:
    """Export (or reuse) one recipe into the staging dir, then verify it against today's budgets."""
    from mobilesdk.fingerprint import cache_key
    from mobilesdk.verify import measure

    req, card = ctx.req, ctx.req.card
    t0 = time.perf_counter()
    inp = _input_entry(card, req.input_layout or recipe.default_layout, req.input_dtype)
    keep_float, weight_only = _quantized_modules(ctx.model, recipe)
    weight_only = weight_only if req.weight_only_heads else []
    calib_record, calib_hash = (
        (ctx.calibration[1], ctx.calibration[2])
        if ctx.calibration and recipe.quantize.startswith("int8")
        else (None, None)
    )
    options = {
        "input": inp.to_json(),
        "quantize": recipe.quantize,
        "keep_float": keep_float,
        "weight_only": weight_only,
        "split_large_kernels": req.split_large_kernels,
    }
    entry = mf.ArtifactEntry(
        recipe=recipe.name,
        runtime=recipe.runtime,
        precision=recipe.precision,
        input=inp,
        outputs=tuple(mf.OutputEntry(n, s, "float32", n) for n, s in ctx.output_shapes.items()),
        quantization=None
        if recipe.quantize == "none"
        else {
            "mode": recipe.quantize,
            "keep_float": keep_float,
            "weight_only": weight_only,
            "calibration": calib_record,
        },
        cache_key=cache_key(ctx.fingerprint, recipe.name, options, calib_hash, ctx.base.tools),
    )
    file = f"{card.id}.{recipe.name}{recipe.extension}"
    path = ctx.staging / file
    hit = None
    if ctx.previous is not None:
        hit = next(
            (
                e
                for e in ctx.previous.artifacts
                if e.recipe == recipe.name and e.cache_key == entry.cache_key and _intact(ctx.target, e)
            ),
            None,
        )
    if hit is not None:
        fsops.link_or_copy(ctx.target / hit.file, path)
        lowering = hit.lowering
    else:
        lowering = _export(ctx, recipe, entry, path, keep_float, weight_only)
    with ctx.progress.phase(f"Verifying {recipe.name} on the host runtime"):
        parity = measure(
            path,
            entry,
            recipe,
            ctx.eager,
            ctx.crops,
            card,
            ctx.base.model["weights"],
            req.int8_mean_px,
            req.threads,
        )
    done = replace(
        entry,
        file=file,
        sha256=hit.sha256 if hit else mf.sha256_file(path),  # a hit's hash was just checked by _intact
        bytes=path.stat().st_size,
        lowering=lowering,
        parity=parity.to_json(),
        built_at=hit.built_at if hit else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
    return done, ArtifactResult(
        recipe.name, path, done.bytes, done.parity, lowering, hit is not None, time.perf_counter() - t0
    )


def _check_request(req: BuildRequest) -> list[Recipe]:
    from mobilesdk.verify import check_budget

    recipes = select_recipes(req.backend, req.quantize)
    if req.input_layout is not None and req.input_layout not in LAYOUTS:
        raise MobileSDKError(f"--input-layout {req.input_layout}: choose one of {', '.join(LAYOUTS)}")
    if req.int8_mean_px is not None:
        check_budget(req.int8_mean_px, "--int8-budget-px")
    if req.calib_images is not None and any(r.quantize.startswith("int8") for r in recipes):
        from mobilesdk.preprocess import list_images

        list_images(req.calib_images)  # an empty or missing folder fails before any heavy work
    return recipes


def build(req: BuildRequest, progress: Progress | None = None) -> BuildResult:
    from mobilesdk.fingerprint import model_fingerprint
    from mobilesdk.modeling import load_eager
    from mobilesdk.verify import eager_outputs, raise_failures, verification_crops

    progress = progress or Progress()
    t0 = time.perf_counter()
    recipes = _check_request(req)
    card = req.card
    checkpoint_sha = mf.sha256_file(req.checkpoint) if req.checkpoint and req.checkpoint.is_file() else None
    with progress.phase("Loading model"):
        model = load_eager(card, req.checkpoint)
    fingerprint = model_fingerprint(card, checkpoint_sha)
    created_out = not req.out.exists()
    target, staging, stale = _prepare_out(req.out, card.id)
    result = BuildResult(
        out_dir=target, removed=[f"{name} (left by a build that was killed)" for name in stale]
    )
    done = False
    try:
        needs_calib = any(r.quantize.startswith("int8") for r in recipes)
        crops = verification_crops(card)
        eager = eager_outputs(model, card, crops)
        ctx = _Context(
            req=req,
            model=model,
            base=_base_manifest(card, _model_section(card, req.checkpoint, checkpoint_sha, fingerprint)),
            fingerprint=fingerprint,
            output_shapes={n: (1, *e.shape[1:]) for n, e in zip(model.output_names, eager, strict=True)},
            crops=crops,
            eager=eager,
            calibration=_calibration(req, progress) if needs_calib else None,
            previous=_previous_manifest(target),
            target=target,
            staging=staging,
            progress=progress,
        )
        kept = _carry_over(ctx, {r.name for r in recipes}, result)
        entries = list(kept)
        for recipe in recipes:
            entry, art = _build_artifact(ctx, recipe)
            entries.append(entry)
            result.artifacts.append(art)
        raise_failures([f for a in result.artifacts for f in a.parity.get("failures", [])])
        for entry in kept:  # hard-link (or copy) still-valid artifacts of other recipes
            fsops.link_or_copy(target / entry.file, staging / entry.file)
        from mobilesdk.reports import write_reports

        write_reports(staging, ctx.base.with_artifacts(entries))
        fsops.swap_into_place(staging, target)
        done = True
    except OSError as exc:  # ENOSPC, EACCES... while writing the build
        raise MobileSDKError(
            f"{exc.filename or req.out}: cannot write the build ({exc.strerror or exc})"
        ) from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        if not done and created_out and req.out.is_dir() and not any(req.out.iterdir()):
            os.rmdir(req.out)  # we created it for this build; a failed build leaves nothing
    for art in result.artifacts:
        art.path = target / art.path.name
    if req.android is not None:  # after the verified artifacts are in place: a failure here leaves them
        from mobilesdk.packaging import package_build

        result.packaging = package_build(target, [a.recipe for a in result.artifacts], req.android, progress)
    result.warnings = list(getattr(progress, "warnings", []))
    result.seconds = time.perf_counter() - t0
    return result
