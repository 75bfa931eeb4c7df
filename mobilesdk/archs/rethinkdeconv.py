"""Rethinking-Deconvolution pose net (Yamazaki & Mori, arXiv 2111.04226), as proposed in spec §4.3.

Only the abstract is public: "encoder-decoder ... channel reduction of the deconvolution layers". This is the
smallest natural SimpleBaseline-style design that fits its 3.8%-of-HRNet-W32 budget: MobileNetV2 ×0.75
without the final 1280-channel conv, three channel-reduced 4×4 stride-2 deconvolutions (64, 64, 64) and a
1×1 heatmap head. At 256×192 with 17 keypoints: ≈1.42M params, ≈0.267 GMACs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from torch import Tensor, nn

from mobilesdk.archs.common import (
    ConvBNAct,
    DeconvBNAct,
    InvertedResidual,
    check_float,
    check_int,
    check_int_list,
    init_heatmap_head,
    init_weights,
    input_hw,
    make_divisible,
    relu6,
)
from mobilesdk.errors import ArchitectureError

_ARCH = "rethinkdeconv"
_ENCODER_STRIDE = 32
# torchvision MobileNetV2: (t expansion, c channels, n repeats, s stride of the first repeat)
_MOBILENET_V2 = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


class RethinkDeconv(nn.Module):
    """MobileNetV2 encoder + channel-reduced deconvolution decoder + 1×1 heatmap head.

    Input ``x``: (B, 3, H, W), normalised, H and W multiples of 32. Output ``heatmaps``:
    (B, K, H·2ⁿ/32, W·2ⁿ/32) for n = len(deconv_channels) — (B, K, H/4, W/4) with the default three.
    """

    output_names: ClassVar[tuple[str, ...]] = ("heatmaps",)
    head_modules: ClassVar[tuple[str, ...]] = ("final_layer",)

    def __init__(
        self,
        num_keypoints: int,
        input_size: Mapping[str, int],
        width_mult: float = 0.75,
        deconv_channels: Sequence[int] = (64, 64, 64),
    ) -> None:
        super().__init__()
        num_keypoints = check_int(_ARCH, "num_keypoints", num_keypoints)
        width_mult = check_float(_ARCH, "width_mult", width_mult)
        deconv_channels = check_int_list(_ARCH, "deconv_channels", deconv_channels)
        if len(deconv_channels) > 5:
            raise ArchitectureError(
                f"{_ARCH}: at most 5 deconvolutions (stride 32 → 1), got {len(deconv_channels)}"
            )
        input_hw(_ARCH, input_size, _ENCODER_STRIDE)

        channels = make_divisible(32 * width_mult)
        layers: list[nn.Module] = [ConvBNAct(3, channels, 3, 2, act=relu6)]
        for t, c, n, s in _MOBILENET_V2:
            out = make_divisible(c * width_mult)
            for i in range(n):
                layers.append(InvertedResidual(channels, out, s if i == 0 else 1, t, relu6))
                channels = out
        # The final 1×1 → 1280 conv of the classifier is dropped: the decoder reads the 320·w features.
        self.features = nn.Sequential(*layers)

        deconvs: list[nn.Module] = []
        for out in deconv_channels:
            deconvs.append(DeconvBNAct(channels, out))
            channels = out
        self.deconv_layers = nn.Sequential(*deconvs)
        self.final_layer = nn.Conv2d(channels, num_keypoints, 1)

        init_weights(self)
        init_heatmap_head(self.final_layer)

    def forward(self, x: Tensor) -> tuple[Tensor]:
        return (self.final_layer(self.deconv_layers(self.features(x))),)
