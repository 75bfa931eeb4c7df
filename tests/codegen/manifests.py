"""Manifests for code generation without exporting anything: every zoo card, both runtimes, fixed hashes and
tool versions (so the golden files change only when the templates, the naming or a card changes)."""

from __future__ import annotations

from mobilesdk import manifest as mf
from mobilesdk.cards import Card, load_zoo
from tests.fixtures import TEST_CACHE

ANDROID_CACHE = TEST_CACHE / "android"  # the compiled runtime jar, shared by every test session
RECIPES = {"executorch": ("xnnpack-fp32", ".pte", "NCHW"), "litert": ("litert-fp32", ".tflite", "NHWC")}
FAKE_SHA = "5e" * 32
TOOLS = {"mobilesdk": "0.1.0", "python": "3.11", "torch": "pinned", "executorch": "pinned"}


def synthetic_manifest(
    card: Card, runtime: str, *, model_id: str | None = None, names: list[str] | None = None
) -> mf.Manifest:
    """A manifest like `mobilesdk build` writes for ``card`` (one artifact of ``runtime``), from the card alone."""
    from mobilesdk.codecs import codec_for

    codec = codec_for(card)
    recipe, ext, layout = RECIPES[runtime]
    w, h = card.input.size.width, card.input.size.height
    model_id = model_id or card.id
    entry = mf.ArtifactEntry(
        recipe=recipe,
        runtime=runtime,
        precision="fp32",
        input=mf.InputEntry(
            name="image",
            shape=(1, 3, h, w) if layout == "NCHW" else (1, h, w, 3),
            layout=layout,
            dtype="float32",
            color=card.input.color,
            mean=card.input.mean,
            std=card.input.std,
            normalization="app",
            size={"width": w, "height": h},
            resize=card.input.resize,
            roi_padding=card.input.roi_padding,
        ),
        outputs=tuple(mf.OutputEntry(n, (1, *s), "float32", n) for n, s in codec.output_shapes().items()),
        cache_key="0" * 16,
        file=f"{model_id}.{recipe}{ext}",
        sha256=FAKE_SHA,
        bytes=1234,
    )
    names = names or list(card.keypoints.names)
    return mf.Manifest(
        model={
            "id": model_id,
            "title": card.title,
            "family": card.family,
            "architecture": card.architecture.name,
            "weights": "random",
        },
        codec={"name": card.codec.name, "params": codec.params()},
        keypoints={
            "names": names,
            "skeleton": [list(p) for p in card.keypoints.skeleton],
            "flip_pairs": [list(p) for p in card.keypoints.flip_pairs],
        },
        tools=dict(TOOLS),
        artifacts=(entry,),
    )


def zoo_cards() -> dict[str, Card]:
    return {c.id: c for c in load_zoo()}


# One card per zoo family: its rendered facade is a golden file.
FAMILY_GOLDEN = ("movepose-xs", "mobilehumanpose-xs", "mobileposenet-256x192", "rethinkdeconv-256x192")
