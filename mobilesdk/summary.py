"""Plain-data descriptions of cards, shared by `mobilesdk models` (table/JSON) and the manifest."""

from __future__ import annotations

from typing import Any

from mobilesdk.cards import Card, Cost


def output_shapes(card: Card) -> dict[str, tuple[int, ...]]:
    """Output name -> shape without the batch dimension, as the card's codec declares it."""
    from mobilesdk.codecs import build_codec

    codec = build_codec(card.codec.name, card.input.size.as_dict(), card.num_keypoints, card.codec.params)
    return codec.output_shapes()


def measured_cost(card: Card) -> Cost:
    """The card's recorded cost, or (user cards without one) a count on the built model. Imports torch then."""
    if card.cost is not None:
        return card.cost
    from mobilesdk.archs.cost import count_macs, count_params
    from mobilesdk.modeling import build_model

    model = build_model(card)
    return Cost(params=count_params(model), macs=count_macs(model, card.input.size.as_dict()))


def describe(card: Card, cost: Cost | None = None) -> dict[str, Any]:
    cost = cost or card.cost
    return {
        "id": card.id,
        "family": card.family,
        "title": card.title,
        "architecture": card.architecture.name or card.architecture.entry,
        "hparams": dict(card.architecture.hparams),
        "reconstructed": card.architecture.reconstructed,
        "architecture_notes": card.architecture.notes,
        "input": {
            **card.input.size.as_dict(),
            "color": card.input.color,
            "mean": list(card.input.mean),
            "std": list(card.input.std),
            "resize": card.input.resize,
        },
        "outputs": [{"name": n, "shape": list(s)} for n, s in output_shapes(card).items()],
        "params": cost.params if cost else None,
        "macs": cost.macs if cost else None,
        "gflops": round(cost.gflops, 4) if cost else None,
        "codec": {"name": card.codec.name, "params": dict(card.codec.params)},
        "keypoints": list(card.keypoints.names),
        "skeleton": [list(p) for p in card.keypoints.skeleton],
        "flip_pairs": [list(p) for p in card.keypoints.flip_pairs],
        "published": [
            {"metric": f.metric, "value": f.value, "unit": f.unit, "source": f.source, "note": f.note}
            for f in card.published
        ],
        "paper": dict(card.paper),
        "card": str(card.path),
        "card_sha256": card.sha256,
    }
