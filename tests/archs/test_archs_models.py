"""Shapes, exportability, trainability and exact sizes of the zoo architectures."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from mobilesdk.archs import build_architecture, get_architecture
from mobilesdk.archs.cost import count_macs, count_params
from mobilesdk.archs.mobilehumanpose import DeConv, MobileHumanPose

# Small configurations: (architecture, keypoints, input size, hparams, expected output shapes without batch).
SMALL: dict[str, tuple[str, int, dict[str, int], dict[str, Any], tuple[tuple[int, ...], ...]]] = {
    # W ≠ H on purpose: the SimCC x head must follow the width, the y head the height.
    "movepose": ("movepose", 17, {"width": 96, "height": 128}, {"width_mult": 0.5}, ((17, 192), (17, 256))),
    "movepose-k3": (
        "movepose",
        5,
        {"width": 64, "height": 64},
        {"depths": [1, 1, 1, 1], "split_ratio": 3.0, "kernel_size": 3},
        ((5, 192), (5, 192)),
    ),
    "mobilehumanpose-paper": (
        "mobilehumanpose",
        18,
        {"width": 64, "height": 96},
        {"width_mult": 0.5, "embedding_size": 64, "depth_bins": 16, "layout": "paper"},
        ((18 * 16, 24, 16),),
    ),
    "mobilehumanpose-head": (
        "mobilehumanpose",
        18,
        {"width": 128, "height": 128},
        {"width_mult": 0.5, "embedding_size": 512, "depth_bins": 32, "layout": "head"},
        ((18 * 32, 16, 16),),
    ),
    "mobileposenet": ("mobileposenet", 17, {"width": 96, "height": 128}, {}, ((17, 32, 24),)),
    "rethinkdeconv": ("rethinkdeconv", 17, {"width": 96, "height": 128}, {}, ((17, 32, 24),)),
}


def _build(key: str) -> tuple[nn.Module, torch.Tensor, tuple[tuple[int, ...], ...]]:
    name, keypoints, size, hparams, shapes = SMALL[key]
    torch.manual_seed(0)
    model = build_architecture(get_architecture(name), keypoints, size, hparams)
    return model, torch.randn(2, 3, size["height"], size["width"]), shapes


@pytest.mark.parametrize("key", sorted(SMALL))
def test_forward_shapes_match_output_names(key: str) -> None:
    model, x, shapes = _build(key)
    with torch.no_grad():
        outputs = model.eval()(x)
    assert isinstance(outputs, tuple)
    assert len(outputs) == len(type(model).output_names)
    assert [tuple(o.shape) for o in outputs] == [(2, *s) for s in shapes]


@pytest.mark.parametrize("key", sorted(SMALL))
def test_head_modules_resolve(key: str) -> None:
    model, _, _ = _build(key)
    for name in type(model).head_modules:
        assert isinstance(model.get_submodule(name), nn.Conv2d | nn.Linear)


@pytest.mark.parametrize("key", ["movepose", "mobilehumanpose-paper", "mobileposenet", "rethinkdeconv"])
def test_torch_export(key: str) -> None:
    model, x, shapes = _build(key)
    program = torch.export.export(model.eval(), (x[:1],))
    outputs = program.module()(x[:1])
    assert [tuple(o.shape[1:]) for o in outputs] == list(shapes)


@pytest.mark.parametrize("key", sorted(SMALL))
def test_trains_on_a_fixed_batch(key: str) -> None:
    """Every parameter gets a finite gradient and a few Adam steps lower a regression loss."""
    model, x, _ = _build(key)
    model.train()
    targets = [torch.randn_like(o) for o in model(x)]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(6):
        optimizer.zero_grad()
        loss = sum(nn.functional.mse_loss(o, t) for o, t in zip(model(x), targets, strict=True))
        loss.backward()
        losses.append(loss.item())
        if len(losses) == 1:
            missing = [
                n for n, p in model.named_parameters() if p.grad is None or not p.grad.isfinite().all()
            ]
            assert not missing, f"no/non-finite gradient for {missing}"
        optimizer.step()
    assert losses[-1] < losses[0]


@pytest.mark.parametrize(
    ("hparams", "params"),
    [
        ({"width_mult": 1.0, "embedding_size": 2048, "depth_bins": 64, "layout": "paper"}, 4_073_248),  # L
        ({"width_mult": 0.75, "embedding_size": 512, "depth_bins": 64, "layout": "paper"}, 2_242_000),  # S
        ({"width_mult": 0.5, "embedding_size": 512, "depth_bins": 32, "layout": "head"}, 1_040_240),  # XS
        ({"width_mult": 1.0, "embedding_size": 2048, "depth_bins": 32, "layout": "head"}, 3_500_064),
    ],
)
def test_mobilehumanpose_exact_parameter_counts(hparams: dict[str, Any], params: int) -> None:
    # Spec §2.4 / §2.6, 18 Human3.6M joints; the counts do not depend on the input size.
    assert count_params(MobileHumanPose(18, {"width": 256, "height": 256}, **hparams)) == params


def test_mobilehumanpose_deconv_upsamples_like_upsampling_bilinear2d() -> None:
    torch.manual_seed(0)
    block = DeConv(8, 4, 6).eval()
    x = torch.randn(1, 12, 5, 7)
    expected = nn.UpsamplingBilinear2d(scale_factor=2)(nn.Sequential(*block)(x))
    torch.testing.assert_close(block(x), expected)


def test_mobilehumanpose_state_dict_keys_follow_the_official_code() -> None:
    keys = MobileHumanPose(18, {"width": 64, "height": 64}, embedding_size=64).state_dict()
    for key in (
        "first_conv.2.weight",
        "inv_residual.16.conv.2.weight",
        "deconv2.3.bias",
        "final_layer.weight",
    ):
        assert key in keys


# Card configurations (the model zoo's cards use exactly these hparams): params and MACs regression values.
CARDS: dict[str, tuple[str, int, dict[str, int], dict[str, Any], int, int]] = {
    "movepose-s": (
        "movepose",
        17,
        {"width": 256, "height": 256},
        {"width_mult": 1.0},
        2_483_185,
        410_132_480,
    ),
    "mobilehumanpose-l": (
        "mobilehumanpose",
        18,
        {"width": 256, "height": 256},
        {"width_mult": 1.0, "embedding_size": 2048, "depth_bins": 64, "layout": "paper"},
        4_073_248,
        5_279_440_896,
    ),
    "mobilehumanpose-s": (
        "mobilehumanpose",
        18,
        {"width": 256, "height": 256},
        {"width_mult": 0.75, "embedding_size": 512, "depth_bins": 64, "layout": "paper"},
        2_242_000,
        3_754_530_816,
    ),
    "mobileposenet-256x192": ("mobileposenet", 17, {"width": 192, "height": 256}, {}, 1_180_137, 557_291_392),
    "rethinkdeconv-256x192": ("rethinkdeconv", 17, {"width": 192, "height": 256}, {}, 1_423_985, 266_856_960),
}


@pytest.mark.parametrize("card", sorted(CARDS))
def test_card_sizes(card: str) -> None:
    name, keypoints, size, hparams, params, macs = CARDS[card]
    model = build_architecture(get_architecture(name), keypoints, size, hparams)
    assert count_params(model) == params
    assert count_macs(model, size) == macs
