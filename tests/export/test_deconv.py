"""Grouped ConvTranspose2d -> Conv2d + PixelShuffle: exact against nn.ConvTranspose2d, in eager PyTorch.

Shapes: N=2, C_in channels, 7x5 input (odd, non-square, to catch row/column mix-ups) -> (2, C_out, 7s, 5s).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mobilesdk.export.deconv import (
    build_subpixel_conv,
    is_subpixel_eligible,
    rewrite_grouped_conv_transpose,
)


@pytest.mark.parametrize(
    ("cin", "cout", "kernel", "stride", "padding", "groups", "bias"),
    [
        (16, 16, 4, 2, 1, 16, True),  # MobilePoseNet's depthwise 4x4 s2 upsample
        (16, 16, 4, 2, 1, 16, False),
        (16, 8, 4, 2, 1, 4, True),
        (8, 16, 4, 2, 1, 8, True),  # depthwise with channel multiplier 2
        (8, 8, 2, 2, 0, 8, True),
        (8, 8, 6, 2, 2, 8, True),
        (6, 6, 3, 3, 0, 3, True),
        (8, 8, (4, 2), 2, (1, 0), 8, True),
    ],
)
def test_subpixel_conv_equals_grouped_conv_transpose(cin, cout, kernel, stride, padding, groups, bias):
    torch.manual_seed(1)
    deconv = nn.ConvTranspose2d(cin, cout, kernel, stride, padding, groups=groups, bias=bias)
    x = torch.randn(2, cin, 7, 5)
    assert is_subpixel_eligible(deconv)
    with torch.no_grad():
        torch.testing.assert_close(build_subpixel_conv(deconv)(x), deconv(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "deconv",
    [
        nn.ConvTranspose2d(8, 8, 4, 2, 1),  # dense: one TRANSPOSE_CONV already
        nn.ConvTranspose2d(8, 8, 3, 2, 1, output_padding=1, groups=8),  # output padding
        nn.ConvTranspose2d(8, 8, 4, 2, 0, groups=8),  # k - 2p != s
        nn.ConvTranspose2d(8, 8, 4, (2, 1), (1, 0), groups=8),  # non-square stride
        nn.ConvTranspose2d(8, 8, 4, 2, 1, groups=8, dilation=2),
    ],
)
def test_ineligible_deconvs_are_refused(deconv):
    assert not is_subpixel_eligible(deconv)


def test_rewrite_replaces_only_eligible_deconvs_in_place():
    """(1, 8, 6, 6) -> (1, 8, 48, 48) through three nested upsamplers; only the depthwise 4x4 s2 p1 is rewritten."""
    torch.manual_seed(2)
    net = nn.Sequential(
        nn.ConvTranspose2d(8, 8, 4, 2, 1),  # dense: one TRANSPOSE_CONV already
        nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(8, 8, 4, 2, 1, groups=8)),
        nn.ConvTranspose2d(8, 8, 3, 2, 1, output_padding=1, groups=8),  # output padding: not rewritten
    ).eval()
    dense, untouched = net[0], net[2]
    x = torch.randn(1, 8, 6, 6)
    with torch.no_grad():
        want = net(x)

    assert rewrite_grouped_conv_transpose(net) == ["1.1"]
    assert net[0] is dense and net[2] is untouched
    rewritten = net[1][1]
    assert isinstance(rewritten, nn.Sequential)
    assert isinstance(rewritten[0], nn.Conv2d) and isinstance(rewritten[1], nn.PixelShuffle)
    assert rewritten[0].groups == 8 and rewritten[0].out_channels == 8 * 2 * 2
    with torch.no_grad():
        torch.testing.assert_close(net(x), want, rtol=1e-5, atol=1e-5)
    assert rewrite_grouped_conv_transpose(net) == []  # nothing left to rewrite
