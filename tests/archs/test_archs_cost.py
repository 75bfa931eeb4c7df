"""count_params / count_macs on hand-countable modules."""

from __future__ import annotations

import torch
from torch import nn

from mobilesdk.archs.cost import count_macs, count_params


class _Toy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)  # 8×8×8 out
        self.bn = nn.BatchNorm2d(8)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)  # 8×8×8 out
        self.up = nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1, bias=False)  # 8×8×8 in → 4×16×16
        self.dwup = nn.ConvTranspose2d(4, 4, 4, stride=2, padding=1, groups=4)  # 4×16×16 in
        self.fc = nn.Linear(32 * 32, 10)  # over 4 rows

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor]:
        x = self.dwup(self.up(self.dw(torch.relu(self.bn(self.conv(x))))))
        return (self.fc(x.flatten(2)),)


def test_count_params() -> None:
    expected = (8 * 3 * 9 + 8) + 16 + 8 * 9 + 8 * 4 * 16 + (4 * 16 + 4) + (1024 * 10 + 10)
    assert count_params(_Toy()) == expected


def test_count_macs_counts_conv_deconv_and_linear_only() -> None:
    conv = 8 * 8 * 8 * 3 * 9
    depthwise = 8 * 8 * 8 * 1 * 9
    deconv = (8 * 8 * 8) * 4 * 16  # input elements × C_out/groups × k²
    depthwise_deconv = (4 * 16 * 16) * 1 * 16
    linear = 4 * 10 * 1024
    assert (
        count_macs(_Toy(), {"width": 16, "height": 16})
        == conv + depthwise + deconv + depthwise_deconv + linear
    )


def test_count_macs_restores_training_mode_and_leaves_no_hooks() -> None:
    model = _Toy().train()
    count_macs(model, {"width": 16, "height": 16})
    assert model.training
    assert all(not m._forward_hooks for m in model.modules())
