"""The graph boundary: input layout, dtype and (for uint8) normalisation folded in front of the pose model."""

from __future__ import annotations

import torch
from torch import nn


class InputAdapter(nn.Module):
    """Wraps a pose model so the artifact takes what the app has.

    ``dtype="uint8"``: the graph takes raw 0..255 pixels and computes ``(x - mean) / std`` itself, so an app can
    feed camera bytes. ``channels_last=True``: the graph takes NHWC and permutes to NCHW (ExecuTorch; LiteRT
    uses ``litert_torch.to_channel_last_io`` instead and passes ``channels_last=False`` here).
    """

    def __init__(self, model: nn.Module, *, mean, std, dtype: str = "float32", channels_last: bool = False):
        super().__init__()
        self.model = model
        self.fold_normalization = dtype == "uint8"
        self.channels_last = channels_last
        self.register_buffer(
            "mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1), persistent=False
        )
        self.register_buffer(
            "inv_std", 1.0 / torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1), persistent=False
        )

    def forward(self, x: torch.Tensor):
        if self.channels_last:
            x = x.permute(0, 3, 1, 2)
        if self.fold_normalization:
            x = (x.to(torch.float32) - self.mean) * self.inv_std
        return self.model(x)


def head_module_names(model: nn.Module, prefix: str = "model.") -> list[str]:
    """Dotted names (inside an InputAdapter) of the output heads keypoint-aware int8 keeps in float."""
    return [prefix + name for name in getattr(model, "head_modules", ())]
