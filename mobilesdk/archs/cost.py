"""Parameter and multiply-accumulate counts.

MACs follow the HRNet / DarkPose / SimCC "GFLOPs" convention of the spec: convolution, transposed
convolution and linear layers only — no BN, activation, bias, add or resize element-ops (ptflops-style
totals such as MobileHumanPose's 5.49 G add those on top).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

from mobilesdk.archs.common import input_hw

if TYPE_CHECKING:
    from torch import Tensor, nn


def count_params(model: nn.Module) -> int:
    """Number of trainable-or-not parameters (BN affine and PReLU slopes included, BN running stats not)."""
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, input_size: Mapping[str, int]) -> int:
    """MACs of one forward pass on a (1, 3, H, W) zero input, counted with forward hooks.

    * ``Conv2d``: output elements × (C_in / groups) × k_h × k_w.
    * ``ConvTranspose2d``: input elements × (C_out / groups) × k_h × k_w — every input pixel meets every
      tap once, so a 4×4 stride-2 deconv costs 4× less than the same-size conv on its output.
    * ``Linear``: output elements × in_features.

    The model is run in eval mode under ``no_grad`` and put back in its previous mode.
    """
    import torch
    from torch import nn

    height, width = input_hw("count_macs", input_size, 1)
    total = 0

    def conv_hook(module: nn.Conv2d, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        nonlocal total
        total += output.numel() * (module.in_channels // module.groups) * math.prod(module.kernel_size)

    def deconv_hook(module: nn.ConvTranspose2d, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        nonlocal total
        total += inputs[0].numel() * (module.out_channels // module.groups) * math.prod(module.kernel_size)

    def linear_hook(module: nn.Linear, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        nonlocal total
        total += output.numel() * module.in_features

    hooks = {nn.Conv2d: conv_hook, nn.ConvTranspose2d: deconv_hook, nn.Linear: linear_hook}
    handles = [
        module.register_forward_hook(hook)
        for module in model.modules()
        for kind, hook in hooks.items()
        if isinstance(module, kind)
    ]
    reference = next(model.parameters(), None)
    kwargs = {} if reference is None else {"dtype": reference.dtype, "device": reference.device}
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, height, width, **kwargs))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return total
