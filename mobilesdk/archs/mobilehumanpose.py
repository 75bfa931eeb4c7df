"""MobileHumanPose (Choi, Choi & Kim, CVPRW 2021): 3-D pose from one RGB crop via a volumetric heatmap.

Reproduces ``LpNetSkiConcat`` of github.com/SangbumChoi/MobileHumanPose (spec §2.2–2.6):

* ``layout="paper"`` — commit 70baeaf, the layout behind the paper's numbers: stem at stride 1, skips at
  strides 8/16/32, output stride 4. L (1.0, 2048, D=64) = 4,073,248 params and S (0.75, 512, D=64) =
  2,242,000 params with 18 joints.
* ``layout="head"`` — commit 9ec923a (repository HEAD): stem at stride 2, output stride 8. XS is this layout
  with width 0.5, embedding 512, D=32 → 1,040,240 params (the paper says 0.96M; no known layout gives it).

Module names and Sequential indices follow the official code, so its state dicts map key-for-key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, NamedTuple

import torch
from torch import Tensor, nn

from mobilesdk.archs.common import (
    ConvBNAct,
    InvertedResidual,
    check_choice,
    check_float,
    check_int,
    init_heatmap_head,
    init_weights,
    input_hw,
    make_divisible,
    prelu,
    upsample2x_align_corners,
)

_ARCH = "mobilehumanpose"
_DECODER_CHANNELS = 256  # not width-scaled in the official code


class _Layout(NamedTuple):
    stem_stride: int
    # (t expansion, c channels, n repeats, s stride of the first repeat), MobileNetV2 notation
    setting: tuple[tuple[int, int, int, int], ...]
    # number of inverted residuals run before taking each skip: (x2, x1, x0), finest first
    skip_after: tuple[int, int, int]
    stride: int  # total encoder stride; the three ×2 upsamplings bring the output to stride / 8


_LAYOUTS: dict[str, _Layout] = {
    "paper": _Layout(
        stem_stride=1,
        setting=(
            (1, 64, 1, 1),
            (6, 48, 2, 2),
            (6, 48, 3, 2),
            (6, 64, 4, 2),
            (6, 96, 3, 2),
            (6, 160, 3, 2),
            (6, 320, 1, 1),
        ),
        skip_after=(10, 13, 16),
        stride=32,
    ),
    "head": _Layout(
        stem_stride=2,
        setting=(
            (1, 64, 1, 2),
            (6, 48, 2, 2),
            (6, 48, 3, 2),
            (6, 64, 4, 2),
            (6, 96, 3, 2),
            (6, 160, 3, 1),
            (6, 320, 1, 1),
        ),
        skip_after=(6, 10, 13),
        stride=64,
    ),
}


class DeConv(nn.Sequential):
    """The official ``DeConv`` (no transposed conv despite its name).

    cat(skip, x) 1×1 (bias) → BN → PReLU → 3×3 (bias) → BN → PReLU → bilinear ×2 (align_corners=True).
    """

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels + mid_channels, mid_channels, 1),
            nn.BatchNorm2d(mid_channels),
            nn.PReLU(mid_channels),
            nn.Conv2d(mid_channels, out_channels, 3, padding=1),
            nn.BatchNorm2d(out_channels),
            nn.PReLU(out_channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return upsample2x_align_corners(super().forward(x))


class MobileHumanPose(nn.Module):
    """Volumetric-heatmap 3-D pose network.

    Input ``x``: (B, 3, H, W), normalised. Output ``volumetric``: (B, K·D, H/s, W/s) logits with joint-major
    channels (channel = k·D + d), s = 4 for the paper layout and 8 for the head layout; decode with a
    softmax over each joint's D·(H/s)·(W/s) voxels and the integral soft-argmax (spec §2.5 / §5.4).
    """

    output_names: ClassVar[tuple[str, ...]] = ("volumetric",)
    head_modules: ClassVar[tuple[str, ...]] = ("final_layer",)

    def __init__(
        self,
        num_keypoints: int,
        input_size: Mapping[str, int],
        width_mult: float = 1.0,
        embedding_size: int = 2048,
        depth_bins: int = 64,
        layout: str = "paper",
    ) -> None:
        super().__init__()
        num_keypoints = check_int(_ARCH, "num_keypoints", num_keypoints)
        width_mult = check_float(_ARCH, "width_mult", width_mult)
        embedding_size = check_int(_ARCH, "embedding_size", embedding_size)
        self.depth_bins = check_int(_ARCH, "depth_bins", depth_bins)
        spec = _LAYOUTS[check_choice(_ARCH, "layout", layout, tuple(_LAYOUTS))]
        input_hw(_ARCH, input_size, spec.stride)
        self._skip_after = spec.skip_after

        channels = make_divisible(48 * width_mult)
        self.first_conv = ConvBNAct(3, channels, 3, spec.stem_stride, act=prelu)
        blocks: list[nn.Module] = []
        block_out: list[int] = []
        for t, c, n, s in spec.setting:
            out = make_divisible(c * width_mult)
            for i in range(n):
                blocks.append(InvertedResidual(channels, out, s if i == 0 else 1, t, prelu))
                channels = out
                block_out.append(out)
        self.inv_residual = nn.Sequential(*blocks)
        self.last_conv = ConvBNAct(channels, embedding_size, 1, act=prelu)

        x2, x1, x0 = (block_out[i - 1] for i in spec.skip_after)
        self.deconv0 = DeConv(embedding_size, x0, _DECODER_CHANNELS)
        self.deconv1 = DeConv(_DECODER_CHANNELS, x1, _DECODER_CHANNELS)
        self.deconv2 = DeConv(_DECODER_CHANNELS, x2, _DECODER_CHANNELS)
        self.final_layer = nn.Conv2d(_DECODER_CHANNELS, num_keypoints * self.depth_bins, 1)

        init_weights(self)
        init_heatmap_head(self.final_layer)

    def forward(self, x: Tensor) -> tuple[Tensor]:
        x = self.first_conv(x)
        skips: list[Tensor] = []
        for index, block in enumerate(self.inv_residual, start=1):
            x = block(x)
            if index in self._skip_after:
                skips.append(x)
        x2, x1, x0 = skips
        z = self.last_conv(x)
        z = self.deconv0(_cat(x0, z))
        z = self.deconv1(_cat(x1, z))
        z = self.deconv2(_cat(x2, z))
        return (self.final_layer(z),)


def _cat(skip: Tensor, x: Tensor) -> Tensor:
    # Skip first, then the decoder path: the official channel order, which the 1×1 weights depend on.
    return torch.cat([skip, x], dim=1)
