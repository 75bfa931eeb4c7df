"""Building blocks and hyperparameter checks shared by the architecture zoo.

Every block sticks to ops that ExecuTorch's XNNPACK partitioner and litert-torch lower without fallbacks:
conv / transposed conv / linear without dynamic shapes, BatchNorm directly after a conv (foldable),
ReLU / ReLU6 / PReLU / Hardswish / Hardsigmoid, add, mul, cat and ``mean`` over (H, W) with ``keepdim``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import torch
from torch import Tensor, nn

from mobilesdk.errors import ArchitectureError

ActFactory = Callable[[int], nn.Module]


def relu(channels: int) -> nn.Module:
    return nn.ReLU(inplace=True)


def relu6(channels: int) -> nn.Module:
    return nn.ReLU6(inplace=True)


def hardswish(channels: int) -> nn.Module:
    return nn.Hardswish(inplace=True)


def prelu(channels: int) -> nn.Module:
    # One slope per channel (``nn.PReLU(C)``), as in MobileHumanPose; XNNPACK needs it as a parameter.
    return nn.PReLU(channels)


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round ``value`` to a multiple of ``divisor`` without going more than 10% below it (TF/torchvision)."""
    min_value = divisor if min_value is None else min_value
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < 0.9 * value:
        new_value += divisor
    return new_value


# --- hyperparameter checks (raise ArchitectureError, never assert) ----------------------------------------


def input_hw(arch: str, input_size: Mapping[str, int], multiple: int) -> tuple[int, int]:
    """Return ``(height, width)`` from ``{"width": W, "height": H}``, both positive multiples of ``multiple``."""
    if not isinstance(input_size, Mapping) or set(input_size) != {"width", "height"}:
        raise ArchitectureError(f"{arch}: input_size must be {{width: W, height: H}}, got {input_size!r}")
    sizes = {}
    for key in ("height", "width"):
        value = input_size[key]
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0 or value % multiple:
            raise ArchitectureError(
                f"{arch}: input_size.{key} must be a positive multiple of {multiple}, got {value!r}"
            )
        sizes[key] = value
    return sizes["height"], sizes["width"]


def check_int(arch: str, name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ArchitectureError(f"{arch}: {name} must be an integer >= {minimum}, got {value!r}")
    return value


def check_float(arch: str, name: str, value: object, minimum: float = 0.0) -> float:
    """A finite number strictly greater than ``minimum`` (YAML may give an int: accepted)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ArchitectureError(f"{arch}: {name} must be a number, got {value!r}")
    if not math.isfinite(value) or value <= minimum:
        raise ArchitectureError(f"{arch}: {name} must be > {minimum}, got {value!r}")
    return float(value)


def check_int_list(
    arch: str, name: str, values: object, length: int | None = None, minimum: int = 1
) -> tuple[int, ...]:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence) or not values:
        raise ArchitectureError(f"{arch}: {name} must be a non-empty list of integers, got {values!r}")
    if length is not None and len(values) != length:
        raise ArchitectureError(f"{arch}: {name} must have {length} entries, got {len(values)}: {values!r}")
    return tuple(check_int(arch, f"{name}[{i}]", v, minimum) for i, v in enumerate(values))


def check_choice(arch: str, name: str, value: object, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ArchitectureError(f"{arch}: {name} must be one of {', '.join(choices)}; got {value!r}")
    return str(value)


# --- blocks -----------------------------------------------------------------------------------------------


class ConvBNAct(nn.Sequential):
    """Conv k×k (no bias) → BatchNorm → optional activation. Indices 0/1/2 keep state-dict keys familiar."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        groups: int = 1,
        act: ActFactory | None = relu,
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride,
                (kernel_size - 1) // 2,
                groups=groups,
                bias=False,
            ),
            nn.BatchNorm2d(out_channels, eps=bn_eps, momentum=bn_momentum),
        ]
        if act is not None:
            layers.append(act(out_channels))
        super().__init__(*layers)


class InvertedResidual(nn.Module):
    """MobileNetV2 block: [1×1 expand, act] → 3×3 depthwise, act → 1×1 linear projection (+ identity).

    ``act`` builds the activation for a channel count: ReLU6 in torchvision's MobileNetV2, per-channel PReLU in
    MobileHumanPose. Submodule names (``conv.N``) follow both official codes, so their state dicts load as is.
    """

    def __init__(
        self, inp: int, oup: int, stride: int, expand_ratio: int, act: Callable[[int], nn.Module] = relu6
    ) -> None:
        super().__init__()
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBNAct(inp, hidden, 1, act=act))
        layers += [
            ConvBNAct(hidden, hidden, 3, stride, groups=hidden, act=act),
            nn.Conv2d(hidden, oup, 1, bias=False),
            nn.BatchNorm2d(oup),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class DeconvBNAct(nn.Sequential):
    """ConvTranspose2d 4×4, stride 2, padding 1 (exact ×2 upsampling) → BatchNorm → optional activation."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        groups: int = 1,
        act: ActFactory | None = relu,
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
    ) -> None:
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(in_channels, out_channels, 4, stride=2, padding=1, groups=groups, bias=False),
            nn.BatchNorm2d(out_channels, eps=bn_eps, momentum=bn_momentum),
        ]
        if act is not None:
            layers.append(act(out_channels))
        super().__init__(*layers)


class SqueezeExcite(nn.Module):
    """torchvision-style squeeze-excitation: mean → 1×1 (bias) → ReLU → 1×1 (bias) → hardsigmoid → scale.

    ``mean(dim=(2, 3), keepdim=True)`` rather than ``adaptive_avg_pool2d`` because that is the form
    XNNPACK lowers to global average pooling. Shapes: (B, C, H, W) → (B, C, H, W).
    """

    def __init__(self, channels: int, squeeze_channels: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        scale = x.mean(dim=(2, 3), keepdim=True)
        return x * hardsigmoid(self.fc2(self.relu(self.fc1(scale))))


def hardsigmoid(x: Tensor) -> Tensor:
    """``relu6(x + 3) / 6``, equal to ``F.hardsigmoid``.

    Written out because ExecuTorch decomposes ``aten.hardsigmoid`` with lifted scalar tensors whose
    dtype copies stay outside the XNNPACK delegate; this form lowers entirely into it.
    """
    return torch.nn.functional.relu6(x + 3.0) * (1.0 / 6.0)


# --- initialisation ---------------------------------------------------------------------------------------


def init_weights(model: nn.Module) -> None:
    """Kaiming (fan-out) for convs, He-normal on the true fan-in for deconvs, BN γ=1 β=0, linears N(0, 0.01).

    Every conv in the zoo is followed by BatchNorm except the heads, so the Kaiming scale only matters for
    the first steps; the heads are re-initialised by :func:`init_heatmap_head` where relevant.
    """
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.ConvTranspose2d):
            # torch's fan computation reads the transposed layout (C_in, C_out/groups, k, k) backwards; the
            # fan-in each output pixel actually sees is C_in/groups × (k/stride)² taps.
            taps = math.prod(k / s for k, s in zip(module.kernel_size, module.stride, strict=True))
            fan_in = module.in_channels // module.groups * max(taps, 1.0)
            nn.init.normal_(module.weight, std=math.sqrt(2.0 / fan_in))
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.01)
            nn.init.zeros_(module.bias)


def init_heatmap_head(conv: nn.Conv2d, std: float = 0.001) -> None:
    """HRNet/SimpleBaseline head init: near-zero logits at start, so early MSE/soft-argmax steps stay tame."""
    nn.init.normal_(conv.weight, std=std)
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)


def upsample2x_align_corners(x: Tensor) -> Tensor:
    """``nn.UpsamplingBilinear2d(scale_factor=2)`` semantics (bilinear, ``align_corners=True``)."""
    return torch.nn.functional.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=True)
