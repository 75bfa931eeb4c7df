"""Host parity: the artifact on its host runtime against the eager PyTorch model, on the same images.

Inputs: :data:`VERIFY_IMAGES` deterministic synthetic figures in the card's keypoint layout, at the input size,
turned into each artifact's input exactly as its manifest entry says (:func:`mobilesdk.preprocess.crops_to_input`).

Figures (per artifact):

* raw tensors, per output: ``max_abs`` = max |artifact - eager|; ``max_rel`` = max_abs / max |eager| (relative to
  the output's range, so values near zero do not blow it up); ``cosine`` = cosine similarity of the whole
  output (all images) with eager; ``rel_l2`` = |artifact - eager| / |eager| (L2 over all images);
  ``finite`` = no NaN/inf in the artifact's output;
* decoded keypoints, both decoded with the card's codec: distance in model-input pixels, ``mean_px``,
  ``max_px``, and ``pck`` = share of keypoints within 0.05 x max(width, height) of the eager keypoint.

Gates (every comparison is written so that NaN fails):

=========  ===============================================  ============================================
precision  trained weights (--checkpoint)                   random weights
=========  ===============================================  ============================================
fp32       max_rel <= 1e-4 and max_px <= 0.05               max_rel <= 1e-4
fp16       mean_px <= 0.5                                   cosine >= 0.999 and rel_l2 <= 0.1, per output
int8       mean_px <= the card's budget (default 2 px)      cosine >= 0.5 and rel_l2 <= 0.9, per output
=========  ===============================================  ============================================

Any NaN or inf in an artifact output fails whatever the precision. With random weights decoded keypoints are
meaningless — arg-max ties flip under rounding — so they are reported but not gated; the cosine gate is what
stops a broken quantization (an int8 model that outputs zeros has cosine 0, or NaN).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mobilesdk.cards import is_budget
from mobilesdk.errors import MobileSDKError, VerifyError

VERIFY_IMAGES = 8
VERIFY_SEED = 7
FP32_MAX_REL = 1e-4
FP32_MAX_PX = 0.05
FP16_MEAN_PX = 0.5
PCK_FRACTION = 0.05
# The random-weights gate of quantized recipes, per output: cosine similarity with eager (direction) and
# relative L2 error |a - e| / |e| (scale; cosine alone passes an output scaled by 0.5). Random models carry no
# structure to preserve, so honest int8 drifts far more on them than on trained weights. Measured on the four
# families at 128 px (8 verification images): int8 cosine 0.74-0.94 and rel_l2 0.35-0.72 (rethinkdeconv the
# worst), fp16 cosine >= 0.9995 and rel_l2 <= 0.032. A broken quantization sits far outside: all zeros gives
# rel_l2 1 and cosine NaN, noise or a sign flip a cosine near 0 or below. The floors sit between the two.
RANDOM_MIN_COSINE = {"fp16": 0.999, "int8": 0.5}
RANDOM_MAX_REL_L2 = {"fp16": 0.1, "int8": 0.9}


@dataclass
class Parity:
    recipe: str
    images: int
    raw: dict[str, dict[str, Any]]
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
        """Plain JSON data; figures that are not finite (no decode after NaN outputs, a zero norm) are null."""
        out = _finite_or_none(asdict(self))
        out["passed"] = self.passed
        return out


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_or_none(v) for v in value]
    return value


def raise_failures(failures: list[str]) -> None:
    """The gate failures of a build or a verify as one VerifyError: the first, and how many more."""
    if failures:
        raise VerifyError(failures[0] + (f" (+{len(failures) - 1} more)" if len(failures) > 1 else ""))


def check_budget(value: Any, what: str) -> float:
    """``value`` if it is a budget (:func:`mobilesdk.cards.is_budget`), else a one-line error naming ``what``."""
    if not is_budget(value):
        raise MobileSDKError(f"{what}: a budget must be a finite number > 0 (px), got {value!r}")
    return float(value)


def verification_crops(card) -> np.ndarray:
    """(N, H, W, 3) uint8 RGB: the deterministic inputs parity is measured on."""
    from mobilesdk import synthetic

    crops, _ = synthetic.make_samples(
        VERIFY_IMAGES,
        card.num_keypoints,
        card.input.size.width,
        card.input.size.height,
        card.keypoints.skeleton,
        seed=VERIFY_SEED,
    )
    return crops


def model_inputs(crops: np.ndarray, entry) -> np.ndarray:
    """RGB crops -> the artifact's input batch, as its manifest ``input`` entry (:class:`InputEntry`) says."""
    from mobilesdk.preprocess import crops_to_input

    return crops_to_input(
        crops, layout=entry.layout, dtype=entry.dtype, color=entry.color, mean=entry.mean, std=entry.std
    )


def eager_outputs(model, card, crops: np.ndarray) -> list[np.ndarray]:
    from mobilesdk.modeling import run_eager
    from mobilesdk.preprocess import normalize

    return run_eager(model, normalize(crops, card.input))


def run_session(session, batch: np.ndarray) -> list[np.ndarray]:
    """Run a batch-1 artifact image by image; outputs stacked over images, in model output order."""
    per_image = [session.run([batch[i : i + 1]]) for i in range(batch.shape[0])]
    return [np.concatenate([outs[j] for outs in per_image], axis=0) for j in range(len(per_image[0]))]


def _raw_figures(e: np.ndarray, a: np.ndarray) -> dict[str, Any]:
    a64, e64 = a.astype(np.float64), e.astype(np.float64)
    finite = bool(np.isfinite(a64).all())
    max_abs = float(np.max(np.abs(a64 - e64))) if finite else float("nan")
    scale = float(np.max(np.abs(e64))) or 1.0
    norms = float(np.linalg.norm(a64)) * float(np.linalg.norm(e64))
    cosine = float(np.vdot(a64.ravel(), e64.ravel()) / norms) if finite and norms > 0 else float("nan")
    e_norm = float(np.linalg.norm(e64))
    rel_l2 = float(np.linalg.norm(a64 - e64)) / e_norm if finite and e_norm > 0 else float("nan")
    return {
        "max_abs": max_abs,
        "max_rel": max_abs / scale,
        "cosine": cosine,
        "rel_l2": rel_l2,
        "finite": finite,
    }


def compare(
    recipe: str,
    eager: Sequence[np.ndarray],
    artifact: Sequence[np.ndarray],
    output_names: Sequence[str],
    codec,
    input_size: Mapping[str, int],
) -> Parity:
    if len(artifact) != len(eager):
        raise VerifyError(f"{recipe}: the artifact has {len(artifact)} outputs, eager has {len(eager)}")
    raw = {}
    for name, e, a in zip(output_names, eager, artifact, strict=True):
        if e.shape != a.shape:
            raise VerifyError(f"{recipe}: output '{name}' has shape {a.shape}, eager has {e.shape}")
        raw[name] = _raw_figures(e, a)
    nan = float("nan")
    if not all(fig["finite"] for fig in raw.values()):
        return Parity(recipe, int(eager[0].shape[0]), raw, nan, nan, nan, decoded_gated=True)
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
    r = parity.recipe
    parity.decoded_gated = weights == "checkpoint"
    fail = parity.failures.append
    for name, fig in parity.raw.items():
        if not fig["finite"]:
            fail(f"{r}: output '{name}' contains NaN or inf")
    if parity.failures:
        return parity
    if gate == "fp32":
        parity.gate = {"max_rel": FP32_MAX_REL} | ({"max_px": FP32_MAX_PX} if parity.decoded_gated else {})
        for name, fig in parity.raw.items():
            if not fig["max_rel"] <= FP32_MAX_REL:
                fail(
                    f"{r}: output '{name}' max relative error {fig['max_rel']:.2e} exceeds the fp32 budget {FP32_MAX_REL:.0e}"
                )
        if parity.decoded_gated and not parity.max_px <= FP32_MAX_PX:
            fail(
                f"{r}: decoded keypoints differ by up to {parity.max_px:.3f} px, fp32 budget is {FP32_MAX_PX} px"
            )
    elif gate in ("fp16", "int8"):
        budget = FP16_MEAN_PX if gate == "fp16" else int8_mean_px
        if parity.decoded_gated:
            parity.gate = {"mean_px": budget}
            if not parity.mean_px <= budget:
                fail(
                    f"{r}: mean keypoint drift {parity.mean_px:.3f} px exceeds the {gate} budget {budget} px"
                )
        else:
            floor, ceiling = RANDOM_MIN_COSINE[gate], RANDOM_MAX_REL_L2[gate]
            parity.gate = {"min_cosine": floor, "max_rel_l2": ceiling}
            for name, fig in parity.raw.items():
                if not fig["cosine"] >= floor:
                    fail(
                        f"{r}: output '{name}' cosine similarity {fig['cosine']:.4f} to eager is below the {gate} "
                        f"random-weights floor {floor}"
                    )
                elif not fig["rel_l2"] <= ceiling:
                    fail(
                        f"{r}: output '{name}' relative L2 error {fig['rel_l2']:.4f} to eager exceeds the {gate} "
                        f"random-weights budget {ceiling}"
                    )
    else:
        raise VerifyError(f"{r}: unknown gate '{gate}'")
    return parity


def check_artifact(recipe, eager, artifact, card, weights: str, int8_mean_px: float | None = None) -> Parity:
    """Parity figures of one artifact against eager, with its recipe's gate applied (build and verify share it).

    ``int8_mean_px`` overrides the card's int8 budget; ``weights`` is "checkpoint" or "random".
    """
    from mobilesdk.codecs import codec_for

    codec = codec_for(card)
    parity = compare(recipe.name, eager, artifact, codec.output_names, codec, card.input.size.as_dict())
    budget = (
        card.quantization.int8_mean_px
        if int8_mean_px is None
        else check_budget(int8_mean_px, "--int8-budget-px")
    )
    return apply_gates(parity, recipe.gate, weights, budget)


def measure(path: Path, entry, recipe, eager, crops, card, weights: str, int8_mean_px, threads) -> Parity:
    """Open ``path`` once on its runtime, run every verification image, apply the recipe's gate."""
    from mobilesdk.runtimes import get_runtime

    with get_runtime(entry.runtime).open(path, threads) as session:
        outs = run_session(session, model_inputs(crops, entry.input))
    return check_artifact(recipe, eager, outs, card, weights, int8_mean_px)


# ---- a build directory or an artifact, after the fact ----------------------------------------------------


def card_for_manifest(manifest, card_path: Path | None):
    """The card a manifest was built from (``card_path`` overrides); errors if it changed since the build."""
    from mobilesdk.cards import ZOO_DIR, load_card, resolve_card
    from mobilesdk.fingerprint import card_digest

    if card_path is not None:
        return load_card(card_path)
    model = manifest.model
    recorded = Path(model.get("card") or "")
    if model.get("card") and recorded.is_file():
        card = load_card(recorded)
    elif (ZOO_DIR / f"{model['id']}.yaml").is_file():
        card = resolve_card(model["id"])
    elif model.get("card"):
        raise VerifyError(f"card of '{model['id']}' not found at {recorded}; pass --card PATH")
    else:
        raise VerifyError(
            f"'{model['id']}' is not a zoo model and an artifact records no paths of the machine that built it; "
            "pass --card PATH"
        )
    changed = (
        card_digest(card) != model["card_digest"]
        if model.get("card_digest")
        else card.sha256 != model.get("card_sha256")
    )
    if changed:
        raise VerifyError(f"{card.path}: card changed since the build; rebuild, or pass --card")
    return card


def checkpoint_for_manifest(manifest, checkpoint: Path | None) -> Path | None:
    """The checkpoint a manifest was built from (``checkpoint`` overrides); errors if it is gone or changed."""
    from mobilesdk.manifest import sha256_file

    recorded = manifest.model.get("checkpoint")
    if checkpoint is not None or recorded is None:
        return checkpoint
    if not recorded.get("file"):
        raise VerifyError(
            f"'{manifest.id}' was built from a checkpoint (sha256 {recorded['sha256'][:12]}...); pass --checkpoint PATH"
        )
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
    threads: int | None = None,
):
    """Re-run parity for a build directory (every artifact in its manifest) or one artifact file (embedded
    manifest). Returns (Manifest, [Parity]) in manifest order."""
    from mobilesdk import manifest as mf
    from mobilesdk.export.recipes import get_recipe
    from mobilesdk.modeling import load_eager

    if int8_mean_px is not None:
        check_budget(int8_mean_px, "--int8-budget-px")
    target = Path(target)
    if target.is_dir():
        manifest = mf.read_manifest(target / mf.MANIFEST_FILE)
        files = [(e, target / e.file) for e in manifest.artifacts]
        for entry, path in files:
            if not path.is_file():
                raise VerifyError(f"{path}: listed in the manifest but missing")
            if mf.sha256_file(path) != entry.sha256:
                raise VerifyError(f"{path}: changed since the build (sha256 differs from manifest.json)")
    else:
        manifest = mf.read_embedded(target)
        files = [(manifest.artifacts[0], target)]
    recipes = [get_recipe(entry.recipe) for entry, _ in files]
    card = card_for_manifest(manifest, card_path)
    weights = checkpoint_for_manifest(manifest, checkpoint)
    model = load_eager(card, weights)
    crops = verification_crops(card)
    eager = eager_outputs(model, card, crops)
    kind = "checkpoint" if weights else "random"
    results = [
        measure(path, entry, recipe, eager, crops, card, kind, int8_mean_px, threads)
        for (entry, path), recipe in zip(files, recipes, strict=True)
    ]
    return manifest, results
