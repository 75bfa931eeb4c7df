"""The steps of a build, each small and testable: eager model, one artifact (export, embed, verify), reports."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mobilesdk.cards import Card
from mobilesdk.errors import MobileSDKError
from mobilesdk.export import manifest as mf
from mobilesdk.export.recipes import Recipe

REPORT_JSON = "report.json"
REPORT_TXT = "report.txt"


def codec_for(card: Card):
    from mobilesdk.codecs import build_codec

    return build_codec(card.codec.name, card.input.size.as_dict(), card.num_keypoints, card.codec.params)


def load_eager(card: Card, checkpoint: Path | None):
    """The eval-mode model, its outputs checked against what the codec declares (names and shapes)."""
    import torch

    from mobilesdk.modeling import build_model

    model = build_model(card, checkpoint)
    codec = codec_for(card)
    names = tuple(model.output_names)
    if names != tuple(codec.output_names):
        raise MobileSDKError(
            f"{card.path}: architecture outputs {names} do not match codec '{card.codec.name}' outputs {codec.output_names}"
        )
    w, h = card.input.size.width, card.input.size.height
    with torch.no_grad():
        outs = model(torch.zeros(1, 3, h, w))
    for name, out in zip(names, outs, strict=True):
        want = (1, *codec.output_shapes()[name])
        if tuple(out.shape) != want:
            raise MobileSDKError(
                f"{card.path}: output '{name}' has shape {tuple(out.shape)}, codec '{card.codec.name}' expects {want}"
            )
    return model


def eager_outputs(model, card: Card, crops: np.ndarray) -> list[np.ndarray]:
    from mobilesdk.verify import run_eager

    return run_eager(model, crops, card.input.mean, card.input.std)


def input_entry(card: Card, layout: str, dtype: str) -> dict[str, Any]:
    w, h = card.input.size.width, card.input.size.height
    return {
        "name": "image",
        "shape": [1, h, w, 3] if layout == "NHWC" else [1, 3, h, w],
        "layout": layout,
        "dtype": dtype,
        "color": card.input.color,
        "mean": list(card.input.mean),
        "std": list(card.input.std),
        "normalization": "in-graph" if dtype == "uint8" else "app",
        "size": card.input.size.as_dict(),
        "resize": card.input.resize,
    }


def _fingerprint(model_section: Mapping[str, Any]) -> tuple:
    ckpt = model_section.get("checkpoint") or {}
    return (
        model_section.get("card_sha256"),
        tuple(sorted(model_section.get("hparams", {}).items())),
        ckpt.get("sha256"),
    )


def previous_manifest(target: Path) -> dict[str, Any] | None:
    path = target / mf.MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        return mf.read_manifest(path)
    except MobileSDKError:
        return None  # an unreadable old manifest is rebuilt, not trusted


def carry_over(
    target: Path, model_section: Mapping[str, Any], rebuilding: Iterable[str], result
) -> list[dict]:
    """Entries of the previous build to keep: same card and weights, file present and intact, not rebuilt now."""
    prev = previous_manifest(target)
    if prev is None:
        return []
    same_model = _fingerprint(prev["model"]) == _fingerprint(model_section)
    kept = []
    for entry in prev["artifacts"]:
        path = target / entry.get("file", "")
        intact = path.is_file() and mf.sha256_file(path) == entry.get("sha256")
        if entry["recipe"] in rebuilding:
            continue
        if same_model and intact:
            kept.append(entry)
        else:
            result.removed.append(
                f"{entry['recipe']} ({'built from other weights or card' if not same_model else 'file missing or changed'})"
            )
    return kept


def link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _cache_key(base: Mapping[str, Any], entry: Mapping[str, Any], calib_hash: str | None) -> str:
    doc = {
        "model": base["model"],
        "codec": base["codec"],
        "tools": base["tools"],
        "artifact": entry,
        "calib": calib_hash,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def _cached(target: Path, recipe: str, cache_key: str) -> dict | None:
    prev = previous_manifest(target)
    for entry in (prev or {}).get("artifacts", []):
        path = target / entry.get("file", "")
        same = entry.get("recipe") == recipe and entry.get("cache_key") == cache_key
        if same and path.is_file() and mf.sha256_file(path) == entry.get("sha256"):
            return entry
    return None


def export_artifact(
    recipe: Recipe, wrapper, example, path: Path, layout: str, calib, keep_float, metadata: str
) -> dict:
    """Run the recipe's exporter; returns the lowering record for the manifest."""
    if recipe.runtime == "executorch":
        from mobilesdk.export.executorch import export_executorch

        report = export_executorch(
            wrapper,
            example,
            path,
            quantize=None if recipe.quantize == "none" else recipe.quantize,
            calibration=calib,
            keep_float_modules=keep_float,
            metadata={mf.EMBED_KEY: metadata},
            require_full_delegation=True,
        )
        return {
            "delegate": "xnnpack",
            "num_delegates": report.num_delegates,
            "delegated_ops": report.delegated_ops,
            "undelegated_ops": dict(report.undelegated_ops),
            # input cast/permute at the graph boundary, which XNNPACK cannot take: reported, not a failure
            "boundary_ops": dict(report.tolerated_ops),
        }
    from mobilesdk.export.litert import export_litert

    report = export_litert(
        wrapper,
        example,
        path,
        precision="fp32" if recipe.quantize == "none" else recipe.quantize,
        channel_last_input=layout == "NHWC",
        calibration=calib,
        keep_float_modules=keep_float,
        metadata={mf.EMBED_KEY: metadata.encode("utf-8")},
    )
    return {"ops": dict(report.ops), "float_ops_in_int8": list(report.float_ops_in_int8)}


def build_artifact(
    req, recipe: Recipe, model, base, eager, crops, calib, target: Path, staging: Path, progress
):
    """Export, embed, verify one recipe into ``staging``; reuse the previous artifact when its cache key matches."""
    import torch

    from mobilesdk.build import ArtifactResult
    from mobilesdk.export.adapter import InputAdapter, head_module_names
    from mobilesdk.verify import check_artifact, prepare_inputs, run_artifact

    card = req.card
    t0 = time.perf_counter()
    layout = req.input_layout or recipe.default_layout
    inp = input_entry(card, layout, req.input_dtype)
    codec = codec_for(card)
    keep_float = head_module_names(model) if recipe.quantize == "int8" else []
    calib_crops, calib_record, calib_hash = (
        calib if (calib and recipe.quantize.startswith("int8")) else (None, None, None)
    )
    entry: dict[str, Any] = {
        "recipe": recipe.name,
        "runtime": recipe.runtime,
        "precision": recipe.precision,
        "input": inp,
        "outputs": [
            {"name": n, "shape": [1, *s], "dtype": "float32", "role": n}
            for n, s in codec.output_shapes().items()
        ],
        "quantization": None
        if recipe.quantize == "none"
        else {
            "mode": recipe.quantize,
            "keep_float": keep_float,
            "calibration": calib_record,
        },
    }
    entry["cache_key"] = _cache_key(base, entry, calib_hash)
    entry["file"] = f"{card.id}.{recipe.name}{recipe.extension}"
    path = staging / entry["file"]
    hit = _cached(target, recipe.name, entry["cache_key"])
    if hit is not None:
        link_or_copy(target / hit["file"], path)
        return hit, ArtifactResult(
            recipe.name, path, hit["bytes"], hit["parity"], hit["lowering"], True, time.perf_counter() - t0
        )
    wrapper = InputAdapter(
        model,
        mean=card.input.mean,
        std=card.input.std,
        dtype=req.input_dtype,
        channels_last=layout == "NHWC" and recipe.runtime == "executorch",
    ).eval()
    # What the exporter traces with: LiteRT takes NCHW and makes the .tflite NHWC via to_channel_last_io.
    traced = dict(inp, layout="NCHW") if recipe.runtime == "litert" else inp
    example = torch.from_numpy(prepare_inputs(crops[:1], traced))
    calib_tensors = []
    if calib_crops is not None:
        calib_tensors = [
            torch.from_numpy(prepare_inputs(calib_crops[i : i + 1], traced)) for i in range(len(calib_crops))
        ]
    metadata = json.dumps(mf.embedded_document({**base, "artifacts": [entry]}, recipe.name))
    with progress.phase(f"Exporting {recipe.name}"):
        lowering = export_artifact(
            recipe, wrapper, example, path, layout, calib_tensors, keep_float, metadata
        )
    with progress.phase(f"Verifying {recipe.name} on the host runtime"):
        outs = run_artifact(path, recipe.runtime, prepare_inputs(crops, inp))
    parity = check_artifact(recipe, eager, outs, card, base["model"]["weights"], req.int8_mean_px)
    entry.update(
        sha256=mf.sha256_file(path),
        bytes=path.stat().st_size,
        lowering=lowering,
        parity=parity.to_json(),
        built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
    return entry, ArtifactResult(
        recipe.name, path, entry["bytes"], entry["parity"], lowering, False, time.perf_counter() - t0
    )


def write_reports(staging: Path, manifest: Mapping[str, Any]) -> None:
    from mobilesdk.verify import format_table

    (staging / mf.MANIFEST_FILE).write_text(mf.dumps(manifest), encoding="utf-8")
    report = {
        "model": manifest["model"]["id"],
        "weights": manifest["model"]["weights"],
        "artifacts": [
            {k: e.get(k) for k in ("recipe", "runtime", "file", "bytes", "sha256", "parity", "lowering")}
            for e in manifest["artifacts"]
        ],
    }
    (staging / REPORT_JSON).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (staging / REPORT_TXT).write_text(
        f"{manifest['model']['id']} ({manifest['model']['weights']} weights)\n\n"
        + format_table(manifest["artifacts"])
        + "\n",
        encoding="utf-8",
    )
