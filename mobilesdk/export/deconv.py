"""Grouped ConvTranspose2d -> grouped Conv2d + PixelShuffle: an exact rewrite of a PyTorch module tree.

Why
    litert-torch lowers ``ConvTranspose2d(groups=g>1)`` to g SLICE + TRANSPOSE_CONV pairs and a CONCATENATION
    (correct, but ~10x slower for a depthwise 128-channel 4x4/s2 upsample). Before conversion, every such module
    with ``kernel - 2 * padding == stride`` (e.g. 4x4 s2 p1), square stride, no dilation or output padding is
    replaced by its exact sub-pixel form: one grouped ``Conv2d(C_in, C_out * s^2, 2R+1, padding=R)`` followed by
    ``pixel_shuffle(s)`` (same module path, so names that address the module still apply). Others are left as
    they are.

How
    A transposed conv writes input pixel ``i`` through tap ``t`` to output ``o = s*i - p + t``. Output ``s*m + a``
    (phase ``a``) therefore reads inputs ``m + d`` with ``d = (a + p - t) / s`` for the taps ``t`` where that is
    an integer: a plain convolution per phase, with offsets ``|d| <= R``. The s*s phase convolutions are stacked
    as output channels in ``pixel_shuffle``'s order, so one Conv2d + PixelShuffle computes all of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def rewrite_grouped_conv_transpose(module: torch.nn.Module) -> list[str]:
    """Replace eligible grouped ConvTranspose2d submodules in place; returns their dotted names. (A dense one
    has the same exact form, at (2R+1)^2 / (k/s)^2 times the MACs, 2.25x for 4x4 s2: it is left alone.)"""
    from torch import nn

    done = []
    for name, child in list(module.named_modules()):
        if isinstance(child, nn.ConvTranspose2d) and is_subpixel_eligible(child):
            parent_name, _, attr = name.rpartition(".")
            setattr(
                module.get_submodule(parent_name) if parent_name else module,
                attr,
                build_subpixel_conv(child),
            )
            done.append(name)
    return done


def is_subpixel_eligible(ct: torch.nn.ConvTranspose2d) -> bool:
    """Grouped, square stride ``s``, ``kernel - 2 * padding == s`` on both axes, no
    dilation/output padding."""
    (kh, kw), (sh, sw), (ph, pw) = ct.kernel_size, ct.stride, ct.padding
    return (
        ct.groups > 1
        and sh == sw
        and ct.dilation == (1, 1)
        and tuple(ct.output_padding) == (0, 0)
        and ct.padding_mode == "zeros"
        and kh - 2 * ph == sh
        and kw - 2 * pw == sw
    )


def build_subpixel_conv(ct: torch.nn.ConvTranspose2d) -> torch.nn.Module:
    """Exact ConvTranspose2d (k - 2p == s) as grouped Conv2d(C_in, C_out*s*s, 2R+1, padding=R) + PixelShuffle(s).

    (N, C_in, H, W) -> (N, C_out, s*H, s*W), as the ConvTranspose2d it is built from.
    """
    import torch
    from torch import nn

    s, g = ct.stride[0], ct.groups
    (kh, kw), (ph, pw) = ct.kernel_size, ct.padding
    cin_g, cout_g = ct.in_channels // g, ct.out_channels // g
    taps_h, taps_w = _list_phase_taps(kh, s, ph), _list_phase_taps(kw, s, pw)
    rh = max(abs(d) for taps in taps_h.values() for d, _ in taps)
    rw = max(abs(d) for taps in taps_w.values() for d, _ in taps)
    # (C_in, C_out/g, kh, kw) -> (C_out, C_in/g, kh, kw) with output channel o = group * C_out/g + oo.
    w = ct.weight.detach().reshape(g, cin_g, cout_g, kh, kw).transpose(1, 2).reshape(-1, cin_g, kh, kw)
    # Conv output channel o*s*s + a*s + b computes phase (a, b) of output channel o: pixel_shuffle's order.
    conv_w = torch.zeros(ct.out_channels, s, s, cin_g, 2 * rh + 1, 2 * rw + 1, dtype=w.dtype)
    for a, row_taps in taps_h.items():
        for b, col_taps in taps_w.items():
            for du, tu in row_taps:
                for dv, tv in col_taps:
                    conv_w[:, a, b, :, du + rh, dv + rw] = w[:, :, tu, tv]
    conv = nn.Conv2d(
        ct.in_channels,
        ct.out_channels * s * s,
        (2 * rh + 1, 2 * rw + 1),
        padding=(rh, rw),
        groups=g,
        bias=ct.bias is not None,
    )
    with torch.no_grad():
        conv.weight.copy_(conv_w.reshape(conv.weight.shape))
        if ct.bias is not None:
            conv.bias.copy_(ct.bias.detach().repeat_interleave(s * s))
    return nn.Sequential(conv, nn.PixelShuffle(s))


def _list_phase_taps(kernel: int, stride: int, padding: int) -> dict[int, list[tuple[int, int]]]:
    """For output phase a (out index s*m + a): [(input offset d = i - m, kernel tap t)]. From o = s*i - p + t."""
    taps: dict[int, list[tuple[int, int]]] = {a: [] for a in range(stride)}
    for a in range(stride):
        for t in range(kernel):
            if (a + padding - t) % stride == 0:
                taps[a].append(((a + padding - t) // stride, t))
    return taps
