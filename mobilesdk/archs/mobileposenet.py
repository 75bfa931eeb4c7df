"""MobilePoseNet (Hindawi WCMC 2021, article 1333250): MobileNetV3 encoder + lightweight upsampling blocks.

* Encoder — exact (spec §3.4): the first 13 layers of torchvision's MobileNetV3-Large (stem + 12 bnecks),
  SE with Hardsigmoid on the expanded channels, BN eps 1e-3 / momentum 0.01; output 112 channels at
  stride 16 (C4, "high-resolution features as the input for upsampling").
* Decoder — block structure from Fig. 3(b), widths a guess (spec §3.5): two ``LightUp`` blocks
  (1×1 expand → depthwise 4×4 stride-2 transposed conv → 1×1 compress → SE), then a 1×1 heatmap head at
  stride 4. Defaults give ≈1.18M params / 0.557 GMACs at 256×192 (paper: 1.5M / 557M).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import ClassVar

from torch import Tensor, nn

from mobilesdk.archs.common import (
    ActFactory,
    ConvBNAct,
    SqueezeExcite,
    check_int,
    check_int_list,
    hardswish,
    init_heatmap_head,
    init_weights,
    input_hw,
    make_divisible,
    relu,
)
from mobilesdk.errors import ArchitectureError

_ARCH = "mobileposenet"
_ENCODER_STRIDE = 16
_BN = {"bn_eps": 1e-3, "bn_momentum": 0.01}  # torchvision MobileNetV3 BatchNorm settings
# MobileNetV3-Large bnecks 1-12: (kernel, expanded, out, SE, activation, stride)
_MOBILENET_V3_LARGE_13 = (
    (3, 16, 16, False, relu, 1),
    (3, 64, 24, False, relu, 2),
    (3, 72, 24, False, relu, 1),
    (5, 72, 40, True, relu, 2),
    (5, 120, 40, True, relu, 1),
    (5, 120, 40, True, relu, 1),
    (3, 240, 80, False, hardswish, 2),
    (3, 200, 80, False, hardswish, 1),
    (3, 184, 80, False, hardswish, 1),
    (3, 184, 80, False, hardswish, 1),
    (3, 480, 112, True, hardswish, 1),
    (3, 672, 112, True, hardswish, 1),
)


def _se(channels: int) -> SqueezeExcite:
    return SqueezeExcite(channels, make_divisible(channels // 4))


class Bneck(nn.Module):
    """MobileNetV3 bottleneck: [1×1 expand] → k×k depthwise → [SE] → 1×1 linear projection (+ identity)."""

    def __init__(
        self, inp: int, kernel: int, expanded: int, out: int, use_se: bool, act: ActFactory, stride: int
    ) -> None:
        super().__init__()
        self.use_res_connect = stride == 1 and inp == out
        conv = partial(ConvBNAct, **_BN)
        layers: list[nn.Module] = []
        if expanded != inp:
            layers.append(conv(inp, expanded, 1, act=act))
        layers.append(conv(expanded, expanded, kernel, stride, groups=expanded, act=act))
        if use_se:
            layers.append(_se(expanded))
        layers.append(conv(expanded, out, 1, act=None))
        self.block = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.block(x) if self.use_res_connect else self.block(x)


class LightUp(nn.Module):
    """Fig. 3(b) upsampling block: 1×1 expand (×t) → depthwise ConvTranspose2d 4×4 s2 → 1×1 compress → SE.

    Shapes: (B, C_in, h, w) → (B, C_out, 2h, 2w). Hardswish as in the encoder's deep half (a guess).
    """

    def __init__(self, in_channels: int, out_channels: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = in_channels * expand_ratio
        self.expand = ConvBNAct(in_channels, hidden, 1, act=hardswish, **_BN)
        # No BatchNorm after the depthwise transposed conv (a bias instead): torch's fuse_conv_bn_weights,
        # which ExecuTorch's XNNPACK FuseBatchNormPass and PT2E quantization use, scales a transposed weight
        # (C_in, C_out/groups, k, k) along dim 1 and so breaks for groups > 1 ("expected bias ... with
        # C² elements"). The expand BN before and the compress BN after keep activations normalised.
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(hidden, hidden, 4, stride=2, padding=1, groups=hidden),
            nn.Hardswish(inplace=True),
        )
        self.compress = ConvBNAct(hidden, out_channels, 1, act=None, **_BN)
        self.se = _se(out_channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.se(self.compress(self.upsample(self.expand(x))))


class MobilePoseNet(nn.Module):
    """MobileNetV3-Large C4 encoder + LightUp decoder + 1×1 heatmap head.

    Input ``x``: (B, 3, H, W), normalised, H and W multiples of 16. Output ``heatmaps``:
    (B, K, H·2ⁿ/16, W·2ⁿ/16) for n = len(decoder_channels) — (B, K, H/4, W/4) with the default two blocks.
    """

    output_names: ClassVar[tuple[str, ...]] = ("heatmaps",)
    head_modules: ClassVar[tuple[str, ...]] = ("final_layer",)

    def __init__(
        self,
        num_keypoints: int,
        input_size: Mapping[str, int],
        decoder_channels: Sequence[int] = (160, 160),
        expand_ratios: Sequence[int] = (6, 3),
    ) -> None:
        super().__init__()
        num_keypoints = check_int(_ARCH, "num_keypoints", num_keypoints)
        decoder_channels = check_int_list(_ARCH, "decoder_channels", decoder_channels)
        expand_ratios = check_int_list(_ARCH, "expand_ratios", expand_ratios)
        if len(expand_ratios) != len(decoder_channels) or len(decoder_channels) > 4:
            raise ArchitectureError(
                f"{_ARCH}: decoder_channels and expand_ratios need the same length (1-4 blocks), "
                f"got {list(decoder_channels)} and {list(expand_ratios)}"
            )
        input_hw(_ARCH, input_size, _ENCODER_STRIDE)

        layers: list[nn.Module] = [ConvBNAct(3, 16, 3, 2, act=hardswish, **_BN)]
        channels = 16
        for kernel, expanded, out, use_se, act, stride in _MOBILENET_V3_LARGE_13:
            layers.append(Bneck(channels, kernel, expanded, out, use_se, act, stride))
            channels = out
        self.features = nn.Sequential(*layers)

        blocks: list[nn.Module] = []
        for out, ratio in zip(decoder_channels, expand_ratios, strict=True):
            blocks.append(LightUp(channels, out, ratio))
            channels = out
        self.decoder = nn.Sequential(*blocks)
        self.final_layer = nn.Conv2d(channels, num_keypoints, 1)

        init_weights(self)
        init_heatmap_head(self.final_layer)

    def forward(self, x: Tensor) -> tuple[Tensor]:
        return (self.final_layer(self.decoder(self.features(x))),)
