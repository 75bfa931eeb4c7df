"""Every zoo card: builds its model, forward pass with the codec's output names and shapes, torch.export, and
the card's recorded cost equals the model's."""

from __future__ import annotations

import pytest
import torch

from mobilesdk.archs.cost import count_macs, count_params
from mobilesdk.cards import load_zoo
from mobilesdk.codecs import codec_for
from mobilesdk.modeling import load_eager

CARDS = {c.id: c for c in load_zoo()}


@pytest.mark.parametrize("card_id", sorted(CARDS))
def test_card_builds_runs_exports_and_costs_what_it_says(card_id):
    card = CARDS[card_id]
    model = load_eager(card, None)  # checks output names and shapes against the codec
    codec = codec_for(card)
    x = torch.randn(1, 3, card.input.size.height, card.input.size.width)
    exported = torch.export.export(model, (x,))
    outs = exported.module()(x)
    assert [tuple(o.shape[1:]) for o in outs] == list(codec.output_shapes().values())
    assert all(torch.isfinite(o).all() for o in outs)
    assert count_params(model) == card.cost.params
    assert count_macs(model, card.input.size.as_dict()) == card.cost.macs


def test_mobilehumanpose_reproduces_the_paper_exactly():
    assert CARDS["mobilehumanpose-l"].cost.params == 4_073_248
    assert CARDS["mobilehumanpose-s"].cost.params == 2_242_000


def test_mobileposenet_within_paper_tolerances():
    for card_id, gmacs in (("mobileposenet-256x192", 0.557), ("mobileposenet-384x288", 1.23)):
        cost = CARDS[card_id].cost
        assert abs(cost.params - 1.5e6) / 1.5e6 <= 0.25, cost
        assert abs(cost.gflops - gmacs) / gmacs <= 0.15, cost


def test_rethinkdeconv_near_the_derived_budget():
    assert abs(CARDS["rethinkdeconv-256x192"].cost.gflops - 0.27) / 0.27 <= 0.05
