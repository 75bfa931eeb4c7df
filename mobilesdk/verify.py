"""Host parity: the artifact on its host runtime against the eager PyTorch model, on the same images.

Figures (per artifact):

* raw tensors, per output: ``max_abs`` = max |artifact - eager|; ``max_rel`` = max_abs / max |eager| (relative to
  the output's range, so values near zero do not blow it up);
* decoded keypoints, both decoded with the card's codec: distance in model-input pixels, ``mean_px``,
  ``max_px``, and ``pck`` = share of keypoints within 0.05 x max(width, height) of the eager keypoint.

Gates (``GATES``): fp32 max_rel <= 1e-4 and max_px <= 0.05; fp16 mean_px <= 0.5; int8 mean_px <= the card's
budget (default 2 px). With random weights (no checkpoint) decoded keypoints are meaningless — arg-max ties
flip under rounding — so only the raw-tensor gate applies and the decoded figures are reported, not gated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mobilesdk.errors import VerifyError

FP32_MAX_REL = 1e-4
FP32_MAX_PX = 0.05
FP16_MEAN_PX = 0.5
PCK_FRACTION = 0.05


@dataclass
class Parity:
    recipe: str
    images: int
    raw: dict[str, dict[str, float]]
    mean_px: float
    max_px: float
    pck: float
    decoded_gated: bool
    gate: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["passed"] = self.passed
        return out


def prepare_inputs(crops: np.ndarray, input_spec: Mapping[str, Any]) -> np.ndarray:
    """(N, H, W, 3) uint8 crops -> the artifact's input (N, ...) as its manifest ``input`` entry says."""
    x = crops
    if input_spec["dtype"] == "float32":
        mean = np.asarray(input_spec["mean"], dtype=np.float32)
        std = np.asarray(input_spec["std"], dtype=np.float32)
        x = (crops.astype(np.float32) - mean) / std
    if input_spec["layout"] == "NCHW":
        x = x.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(x)


def run_artifact(path: Path, runtime: str, batch: np.ndarray) -> list[np.ndarray]:
    """Run a batch-1 artifact image by image; outputs stacked over images, in manifest output order."""
    if runtime == "executorch":
        from mobilesdk.export.executorch import run_executorch as run
    elif runtime == "litert":
        from mobilesdk.export.litert import run_litert as run
    else:
        raise VerifyError(f"{path}: unknown runtime '{runtime}'")
    per_image = [run(path, [batch[i : i + 1]]) for i in range(batch.shape[0])]
    return [np.concatenate([outs[j] for outs in per_image], axis=0) for j in range(len(per_image[0]))]


def run_eager(model, crops: np.ndarray, mean, std) -> list[np.ndarray]:
    import torch

    x = (crops.astype(np.float32) - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    with torch.no_grad():
        outs = model(torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))))
    return [o.numpy() for o in outs]


def compare(
    recipe: str,
    eager: Sequence[np.ndarray],
    artifact: Sequence[np.ndarray],
    output_names: Sequence[str],
    codec,
    input_size: Mapping[str, int],
) -> Parity:
    raw = {}
    for name, e, a in zip(output_names, eager, artifact, strict=True):
        if e.shape != a.shape:
            raise VerifyError(f"{recipe}: output '{name}' has shape {a.shape}, eager has {e.shape}")
        max_abs = float(np.max(np.abs(a.astype(np.float64) - e)))
        scale = float(np.max(np.abs(e))) or 1.0
        raw[name] = {"max_abs": max_abs, "max_rel": max_abs / scale}
    kp_e = codec.decode(dict(zip(output_names, eager, strict=True)))
    kp_a = codec.decode(dict(zip(output_names, artifact, strict=True)))
    dist = np.linalg.norm(kp_a.xy.astype(np.float64) - kp_e.xy, axis=-1)
    threshold = PCK_FRACTION * max(input_size["width"], input_size["height"])
    return Parity(
        recipe=recipe,
        images=int(eager[0].shape[0]),
        raw=raw,
        mean_px=float(dist.mean()),
        max_px=float(dist.max()),
        pck=float((dist <= threshold).mean()),
        decoded_gated=True,
    )


def apply_gates(parity: Parity, gate: str, weights: str, int8_mean_px: float) -> Parity:
    """Fill ``parity.gate`` and ``parity.failures`` (messages name the recipe, the figure and the budget)."""
    parity.decoded_gated = weights == "checkpoint"
    r = parity.recipe
    if gate == "fp32":
        parity.gate = {"max_rel": FP32_MAX_REL, "max_px": FP32_MAX_PX}
        for name, fig in parity.raw.items():
            if fig["max_rel"] > FP32_MAX_REL:
                parity.failures.append(
                    f"{r}: output '{name}' max relative error {fig['max_rel']:.2e} exceeds the fp32 budget {FP32_MAX_REL:.0e}"
                )
        if parity.decoded_gated and parity.max_px > FP32_MAX_PX:
            parity.failures.append(
                f"{r}: decoded keypoints differ by up to {parity.max_px:.3f} px, fp32 budget is {FP32_MAX_PX} px"
            )
    elif gate == "fp16":
        parity.gate = {"mean_px": FP16_MEAN_PX}
        if parity.decoded_gated and parity.mean_px > FP16_MEAN_PX:
            parity.failures.append(
                f"{r}: mean keypoint drift {parity.mean_px:.3f} px exceeds the fp16 budget {FP16_MEAN_PX} px"
            )
    elif gate == "int8":
        parity.gate = {"mean_px": int8_mean_px}
        if parity.decoded_gated and parity.mean_px > int8_mean_px:
            parity.failures.append(
                f"{r}: mean keypoint drift {parity.mean_px:.3f} px exceeds the int8 budget {int8_mean_px} px"
            )
    else:
        raise VerifyError(f"{r}: unknown gate '{gate}'")
    return parity


def check_artifact(
    recipe,
    eager: Sequence[np.ndarray],
    artifact: Sequence[np.ndarray],
    card,
    weights: str,
    int8_mean_px: float | None = None,
) -> Parity:
    """Parity figures of one artifact against eager, with its recipe's gate applied (build and verify share it).

    ``int8_mean_px`` overrides the card's int8 budget; ``weights`` is "checkpoint" or "random".
    """
    from mobilesdk.pipeline import codec_for

    codec = codec_for(card)
    parity = compare(recipe.name, eager, artifact, codec.output_names, codec, card.input.size.as_dict())
    budget = int8_mean_px if int8_mean_px is not None else card.quantization.int8_mean_px
    return apply_gates(parity, recipe.gate, weights, budget)


def format_table(results: Sequence[Mapping[str, Any]]) -> str:
    """A readable parity table (one row per artifact) for reports and the CLI."""
    header = f"{'recipe':<18} {'file':<42} {'size':>9} {'max rel':>9} {'mean px':>8} {'max px':>8} {'PCK@.05':>7}  gate"
    rows = [header, "-" * len(header)]
    for e in results:
        p = e.get("parity") or {}
        max_rel = max((v["max_rel"] for v in p.get("raw", {}).values()), default=float("nan"))
        status = "pass" if p.get("passed") else "FAIL"
        if p and not p.get("decoded_gated"):
            status += " (random weights: keypoints not gated)"
        rows.append(
            f"{e['recipe']:<18} {e['file']:<42} {e['bytes'] / 1e6:>8.2f}M {max_rel:>9.1e} "
            f"{p.get('mean_px', float('nan')):>8.3f} {p.get('max_px', float('nan')):>8.3f} {p.get('pck', float('nan')):>7.3f}  {status}"
        )
    return "\n".join(rows)


def card_for_manifest(manifest: Mapping[str, Any], card_path: Path | None):
    """The card a manifest was built from (``card_path`` overrides); errors if it changed since the build."""
    from mobilesdk.cards import ZOO_DIR, load_card, resolve_card

    if card_path is not None:
        return load_card(card_path)
    model = manifest["model"]
    recorded = Path(model.get("card", ""))
    if recorded.is_file():
        card = load_card(recorded)
    elif (ZOO_DIR / f"{model['id']}.yaml").is_file():
        card = resolve_card(model["id"])
    else:
        raise VerifyError(f"card of '{model['id']}' not found at {recorded}; pass --card PATH")
    if card.sha256 != model.get("card_sha256"):
        raise VerifyError(
            f"{card.path}: card changed since the build (sha256 differs); rebuild, or pass --card"
        )
    return card


def checkpoint_for_manifest(manifest: Mapping[str, Any], checkpoint: Path | None) -> Path | None:
    """The checkpoint a manifest was built from (``checkpoint`` overrides); errors if it is gone or changed."""
    from mobilesdk.export.manifest import sha256_file

    recorded = manifest["model"].get("checkpoint")
    if checkpoint is not None or recorded is None:
        return checkpoint
    path = Path(recorded["file"])
    if not path.is_file():
        raise VerifyError(f"checkpoint {path} (recorded in the manifest) is gone; pass --checkpoint PATH")
    if sha256_file(path) != recorded["sha256"]:
        raise VerifyError(
            f"{path}: checkpoint changed since the build (sha256 differs); pass --checkpoint or rebuild"
        )
    return path


def verify_target(
    target: Path,
    *,
    card_path: Path | None = None,
    checkpoint: Path | None = None,
    int8_mean_px: float | None = None,
) -> tuple[dict[str, Any], list[Parity]]:
    """Re-run parity for a build directory (every artifact in its manifest) or one artifact file (embedded manifest)."""
    from mobilesdk import build, pipeline
    from mobilesdk.export import manifest as mf
    from mobilesdk.export.recipes import get_recipe

    target = Path(target)
    if target.is_dir():
        manifest = mf.read_manifest(target / mf.MANIFEST_FILE)
        files = [(e, target / e["file"]) for e in manifest["artifacts"]]
        for entry, path in files:
            if not path.is_file():
                raise VerifyError(f"{path}: listed in the manifest but missing")
            if mf.sha256_file(path) != entry.get("sha256"):
                raise VerifyError(f"{path}: changed since the build (sha256 differs from manifest.json)")
    else:
        manifest = mf.read_embedded(target)
        files = [(manifest["artifacts"][0], target)]
    card = card_for_manifest(manifest, card_path)
    weights = checkpoint_for_manifest(manifest, checkpoint)
    model = pipeline.load_eager(card, weights)
    crops = build.verification_crops(card)
    eager = pipeline.eager_outputs(model, card, crops)
    results = []
    for entry, path in files:
        outs = run_artifact(path, entry["runtime"], prepare_inputs(crops, entry["input"]))
        weights_kind = "checkpoint" if weights else "random"
        results.append(
            check_artifact(get_recipe(entry["recipe"]), eager, outs, card, weights_kind, int8_mean_px)
        )
    return manifest, results
