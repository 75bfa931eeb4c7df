"""MovePose (Yu et al., arXiv 2308.09084): large-kernel encoder, deconvolution decoder, SimCC head.

The paper publishes no layer table; this is the spec's §1.3 proposal (every detail a guess built from the
abstract's ingredients — "deconvolution, large kernel convolution, coordinate classification"), tuned for
mobile CPU kernels (XNNPACK):

* ReLU only (fuses into the conv), every conv followed by a foldable BN, channel counts multiples of 8;
* no reshape in the trunk — the single flatten sits right before the SimCC linears;
* SimCC head at stride 8, so each linear has (H/8)·(W/8) inputs (1024 at 256×256) rather than 4× that.

Layout at 256×256, ``width_mult=1`` (channels scale with ``width_mult``, rounded to multiples of 8)::

    stem  3×3 s2 → 32, DW 3×3, 1×1 → 16                          16×128×128
    E1..E4  ComboBlock ×depths (first s2): 24, 48, 96, 160       s4, s8, s16, s32
    D1  deconv 4×4 s2 160→96 + 1×1(E3) ; ComboBlock(t=2)         96×16×16
    D2  deconv 4×4 s2  96→64 + 1×1(E2) ; ComboBlock(t=2)         64×32×32
    head  1×1 64→K, flatten → Linear(1024→W·k), Linear(1024→H·k)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import torch
from torch import Tensor, nn

from mobilesdk.archs.common import (
    ConvBNAct,
    DeconvBNAct,
    check_float,
    check_int,
    check_int_list,
    init_weights,
    input_hw,
    make_divisible,
)
from mobilesdk.errors import ArchitectureError

_ARCH = "movepose"
_HEAD_STRIDE = 8
_ENCODER_STRIDE = 32
_STEM_CHANNELS = (32, 16)
_ENCODER_CHANNELS = (24, 48, 96, 160)  # strides 4, 8, 16, 32
_DECODER_CHANNELS = (96, 64)  # strides 16, 8


class ComboBlock(nn.Module):
    """1×1 expand (×t) → BN → ReLU → k×k depthwise (stride) → BN → ReLU → 1×1 project → BN (+ identity).

    LitePose's large-kernel inverted bottleneck. Shapes: (B, C_in, h, w) → (B, C_out, h/s, w/s).
    """

    def __init__(
        self, in_channels: int, out_channels: int, stride: int, expand_ratio: int, kernel: int
    ) -> None:
        super().__init__()
        hidden = in_channels * expand_ratio
        self.use_res_connect = stride == 1 and in_channels == out_channels
        self.block = nn.Sequential(
            ConvBNAct(in_channels, hidden, 1),
            ConvBNAct(hidden, hidden, kernel, stride, groups=hidden),
            ConvBNAct(hidden, out_channels, 1, act=None),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.block(x) if self.use_res_connect else self.block(x)


class UpFuse(nn.Module):
    """U-Net step: deconv 4×4 s2 → BN → ReLU, add 1×1-projected encoder skip (+BN), refine with a ComboBlock."""

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int, kernel: int) -> None:
        super().__init__()
        self.deconv = DeconvBNAct(in_channels, out_channels)
        self.skip = ConvBNAct(skip_channels, out_channels, 1, act=None)
        self.refine = ComboBlock(out_channels, out_channels, 1, 2, kernel)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        return self.refine(self.deconv(x) + self.skip(skip))


class MovePose(nn.Module):
    """Large-kernel U-Net encoder/decoder with a SimCC coordinate-classification head.

    Input ``x``: (B, 3, H, W), normalised, H and W multiples of 32. Outputs (logits, one softmax per row
    at decode time): ``simcc_x`` (B, K, int(W·split_ratio)) and ``simcc_y`` (B, K, int(H·split_ratio)).
    """

    output_names: ClassVar[tuple[str, ...]] = ("simcc_x", "simcc_y")
    head_modules: ClassVar[tuple[str, ...]] = ("final_layer", "mlp_head_x", "mlp_head_y")

    def __init__(
        self,
        num_keypoints: int,
        input_size: Mapping[str, int],
        width_mult: float = 1.0,
        depths: Sequence[int] = (2, 3, 4, 3),
        expand_ratio: int = 4,
        kernel_size: int = 7,
        split_ratio: float = 2.0,
    ) -> None:
        super().__init__()
        num_keypoints = check_int(_ARCH, "num_keypoints", num_keypoints)
        width_mult = check_float(_ARCH, "width_mult", width_mult)
        depths = check_int_list(_ARCH, "depths", depths, length=len(_ENCODER_CHANNELS))
        expand_ratio = check_int(_ARCH, "expand_ratio", expand_ratio)
        kernel_size = check_int(_ARCH, "kernel_size", kernel_size)
        if kernel_size % 2 == 0:
            raise ArchitectureError(f"{_ARCH}: kernel_size must be odd, got {kernel_size}")
        split_ratio = check_float(_ARCH, "split_ratio", split_ratio)
        height, width = input_hw(_ARCH, input_size, _ENCODER_STRIDE)

        def scaled(channels: int) -> int:
            return make_divisible(channels * width_mult)

        stem_mid, channels = (scaled(c) for c in _STEM_CHANNELS)
        self.stem = nn.Sequential(
            ConvBNAct(3, stem_mid, 3, 2),
            ConvBNAct(stem_mid, stem_mid, 3, groups=stem_mid),
            ConvBNAct(stem_mid, channels, 1, act=None),
        )
        stages: list[nn.Module] = []
        skip_channels: list[int] = []
        for base, depth in zip(_ENCODER_CHANNELS, depths, strict=True):
            out = scaled(base)
            blocks = [
                ComboBlock(channels if i == 0 else out, out, 2 if i == 0 else 1, expand_ratio, kernel_size)
                for i in range(depth)
            ]
            stages.append(nn.Sequential(*blocks))
            skip_channels.append(out)
            channels = out
        self.encoder = nn.ModuleList(stages)

        ups: list[nn.Module] = []
        for base, skip in zip(_DECODER_CHANNELS, reversed(skip_channels[1:-1]), strict=True):
            out = scaled(base)
            ups.append(UpFuse(channels, skip, out, kernel_size))
            channels = out
        self.decoder = nn.ModuleList(ups)

        # SimCC head (official layout): 1×1 conv to K maps, flatten h·w, two linears shared over keypoints.
        head_features = (height // _HEAD_STRIDE) * (width // _HEAD_STRIDE)
        self.final_layer = nn.Conv2d(channels, num_keypoints, 1)
        self.mlp_head_x = nn.Linear(head_features, int(width * split_ratio))
        self.mlp_head_y = nn.Linear(head_features, int(height * split_ratio))

        init_weights(self)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        x = self.stem(x)
        skips: list[Tensor] = []
        for stage in self.encoder:
            x = stage(x)
            skips.append(x)
        # skips: s4, s8, s16, s32; the decoder fuses s16 then s8.
        for up, skip in zip(self.decoder, (skips[2], skips[1]), strict=True):
            x = up(x, skip)
        x = torch.flatten(self.final_layer(x), 2)  # (B, K, h·w) — the only reshape in the network
        return self.mlp_head_x(x), self.mlp_head_y(x)
