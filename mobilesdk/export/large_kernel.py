"""Large-kernel depthwise Conv2d -> a sum of <= 25-tap depthwise convs on shifted windows: an exact rewrite.

Why
    XNNPACK's depthwise micro-kernels cover at most 25 taps (unipass primary tiles fp32 3, 4, 9, 25; int8 3, 9,
    25: ``src/configs/dwconv-config.c`` of the versions ExecuTorch 1.5 and LiteRT 2.x pin). A depthwise conv
    with more taps gets no depthwise kernel and runs as a grouped GEMM, one 1-channel GEMM per channel, in
    ExecuTorch-XNNPACK and LiteRT-XNNPACK alike, fp32 and int8, on x86 and arm64. Measured here (64 channels,
    64x64, 1 thread): a 7x7 takes 13.9 ms in ExecuTorch and 7.4 ms in LiteRT, against 0.8 / 0.6 ms for a 5x5.

How (exact)
    A depthwise conv (``groups == in_channels``, ``out_channels = m * in_channels``) computes, per output
    channel ``o``, ``y[o, i, j] = b[o] + sum_{u, v} w[o, u, v] * xp[o // m, i*sh + u*dh, j*sw + v*dw]`` over the
    zero-padded input ``xp``. Cutting the kernel into rectangles ``R = [u0, u0 + rh) x [v0, v0 + cw)`` splits
    the sum: each rectangle is a ``rh x cw`` depthwise conv (same stride, dilation, groups, no padding) on the
    window of ``xp`` that starts at row ``u0*dh``, column ``v0*dw``. The input is padded once, each piece
    reads its window (a slice), the pieces are summed and the bias is added once (by the first piece). Same
    terms, same products; only the order of the float additions changes.

The dilated form (:func:`plan_dilated`, ``form="dilated"``)
    Pieces symmetric about the kernel's centre, each a depthwise conv with its own dilation and padding on
    the unpadded input: no pad, no slices. Also exact; measured slower than the window form on movepose-xs
    (host and arm64 counts, :func:`choose_split`), so it is not the default.

Which split (:func:`plan_split`)
    Cost, in "tap-equivalents" per output element: ``sum over pieces of tile(taps)`` (the smallest XNNPACK
    primary tile >= the piece's taps: a 21-tap piece runs the 25-tap kernel, a 4-tap int8 piece the 9-tap
    one) ``+ PIECE_COST * (pieces - 1)`` (each extra piece: its input window copy, one more pass over the
    output, one add). The search is exhaustive over two-level band partitions (guillotine cuts): the kernel
    is cut into bands along one axis, each band into segments along the other, both axes tried, by dynamic
    programming over band and segment lengths (ties: fewer pieces). What it picks, and the naive form (the
    kernel zero-extended to 10x10, four 5x5 windows: 100 taps):

    ========  =================================  =================================  ============
    kernel    fp32 pieces (cost)                 int8 pieces (cost)                 naive (fp32)
    ========  =================================  =================================  ============
    7x7       3x7 + 4x1 + 4x6 (62)               1x7 + 3x7 + 3x7 (69)               4 x 5x5 (112)
    9x9       1x9 + 3 x 8x3 (96)                 1x9 + 3 x 8x3 (99)                 4 x 5x5 (112)
    1x31      1x6 + 1x25 (38)                    1x6 + 1x25 (39)                    -
    6x6       2x2 + 2x4 + 4x6 (46)               4 x 3x3 (51)                       -
    8x8       2 x 1x8 + 2 x 3x8 (80)             2 x 1x8 + 2 x 3x8 (83)             -
    ========  =================================  =================================  ============

Measured (``benchmarks/depthwise_kernels.py``: 64 channels, 64x64, 'same', p50 of 30 interleaved runs, ms)
    =======================  ====  ==========  ======  ==========  ======  ==========  ======
    form                     taps  ET fp32 1t  LiteRT  ET fp32 2t  LiteRT  ET int8 1t  LiteRT
    =======================  ====  ==========  ======  ==========  ======  ==========  ======
    5x5 plain                25    1.14        0.89    0.88        0.79    1.15        0.78
    7x7 plain (GEMM path)    49    17.41       9.62    14.11       10.88   18.92       30.93
    7x7 3x7 + 4x1 + 4x6      54    2.27        1.91    1.86        2.07    2.71        1.66
    7x7 3+3+1 row bands      59    2.30        1.83    1.89        2.03    2.69        1.64
    7x7 4 x 5x5 naive        100   3.88        2.99    2.46        3.26    4.19        2.44
    9x9 plain (GEMM path)    81    25.13       14.93   20.34       13.21   30.46       50.27
    9x9 1x9 + 3 x 8x3        84    3.42        2.73    2.68        3.02    3.62        2.16
    9x9 4 x 5x5 grid         100   3.59        2.82    3.53        3.51    4.20        2.45
    =======================  ====  ==========  ======  ==========  ======  ==========  ======

    Least squares over 14 split forms, ``t = a * sum(tile) + b * pieces + c``: ``b / a`` = 3.2 (ExecuTorch)
    and 2.8 (LiteRT) at 1 thread, 8.6 and 4.7 at 2 threads for fp32; 3.8, 4.3, 5.1 and 7.9 for int8. Hence
    ``PIECE_COST`` fp32 4, int8 5 (the medians). Within 5 % of each other, the top forms are ties; the model
    ranks the clearly slower ones (naive windows, many thin pieces) last.

Scope
    Rewritten: ``nn.Conv2d`` with ``groups == in_channels > 1`` (``out_channels`` any multiple), more than 25
    taps, ``padding_mode='zeros'``, any stride, dilation and padding (int, tuple, ``'same'``, ``'valid'``).
    Left alone: other padding modes. ``reflect`` / ``replicate`` / ``circular`` pads are not zero pads: neither
    XNNPACK delegate takes them (ExecuTorch leaves the pad on the portable kernels; LiteRT's MIRROR_PAD is not
    an XNNPACK op), so such a layer is off the fast path before its kernel size matters, and splitting it
    would only add slices around a graph break.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mobilesdk.errors import ExportError

MAX_TAPS = 25
FP32_TILES = (3, 4, 9, 25)  # XNNPACK f32 dwconv unipass primary tiles
INT8_TILES = (3, 9, 25)  # XNNPACK qs8/qc8w dwconv unipass primary tiles
# Tap-equivalents of each extra piece (its input window slice, its pass over the output, its add), per
# precision; measured with benchmarks/depthwise_kernels.py (see the module docstring).
PIECE_COST = {"fp32": 4.0, "int8": 5.0}
TILES = {"fp32": FP32_TILES, "int8": INT8_TILES}


@dataclass(frozen=True)
class Piece:
    """One rectangle of the kernel: rows ``row + i * row_step`` (i < ``rows``), columns ``col + j * col_step``
    (j < ``cols``). Steps of 1 are contiguous rectangles (the window form); larger steps are the rows or
    columns a dilated conv reads (the dilated form, :class:`DilatedSplitDepthwiseConv2d`)."""

    row: int
    col: int
    rows: int
    cols: int
    row_step: int = 1
    col_step: int = 1

    @property
    def taps(self) -> int:
        return self.rows * self.cols

    def cells(self):
        for i in range(self.rows):
            for j in range(self.cols):
                yield self.row + i * self.row_step, self.col + j * self.col_step


@dataclass(frozen=True)
class Split:
    """A partition of a ``kernel = (kh, kw)`` kernel into pieces of <= 25 taps, and its modelled cost."""

    pieces: tuple[Piece, ...]
    cost: float


def tile_for(taps: int, precision: str = "fp32") -> int | None:
    """Smallest XNNPACK depthwise primary tile >= ``taps`` (None: no depthwise micro-kernel, GEMM path)."""
    return next((t for t in TILES[precision] if t >= taps), None)


def split_cost(pieces: Sequence[Piece], precision: str = "fp32") -> float:
    """The cost model of the module docstring for an explicit list of pieces (inf if a piece is too big)."""
    tiles = [tile_for(p.taps, precision) for p in pieces]
    if None in tiles:
        return float("inf")
    return sum(tiles) + PIECE_COST[precision] * (len(pieces) - 1)


def plan_split(kernel: tuple[int, int], precision: str = "fp32") -> Split:
    """The cheapest two-level band partition of ``kernel`` (kh, kw) into <= 25-tap pieces (see module doc)."""
    kh, kw = kernel
    return min(
        (_plan_bands(kh, kw, precision, transpose=False), _plan_bands(kw, kh, precision, transpose=True)),
        key=lambda s: (s.cost, len(s.pieces)),
    )


def _plan_bands(n_bands_axis: int, n_seg_axis: int, precision: str, transpose: bool) -> Split:
    """Bands along the first axis (length ``n_bands_axis``), segments along the other, by two nested DPs."""
    extra = PIECE_COST[precision]

    def piece_cost(band: int, seg: int) -> float:
        tile = tile_for(band * seg, precision)
        return float("inf") if tile is None else tile + extra

    @functools.cache
    def segments(band: int, length: int) -> tuple[float, tuple[int, ...]]:
        # cheapest cut of `length` columns of a `band`-row band into segments: (cost, segment lengths)
        if length == 0:
            return 0.0, ()
        options = []
        for seg in range(1, length + 1):
            rest_cost, rest = segments(band, length - seg)
            options.append((piece_cost(band, seg) + rest_cost, (seg, *rest)))
        return min(options, key=lambda o: (o[0], len(o[1])))

    @functools.cache
    def bands(length: int) -> tuple[float, tuple[tuple[int, tuple[int, ...]], ...]]:
        if length == 0:
            return 0.0, ()
        options = []
        for band in range(1, length + 1):
            seg_cost, segs = segments(band, n_seg_axis)
            rest_cost, rest = bands(length - band)
            options.append((seg_cost + rest_cost, ((band, segs), *rest)))
        return min(options, key=lambda o: (o[0], sum(len(s) for _, s in o[1])))

    cost, layout = bands(n_bands_axis)
    pieces, start = [], 0
    for band, segs in layout:
        offset = 0
        for seg in segs:
            pieces.append(Piece(offset, start, seg, band) if transpose else Piece(start, offset, band, seg))
            offset += seg
        start += band
    return Split(tuple(sorted(pieces, key=lambda p: (p.row, p.col))), cost - extra)


def plan_dilated(
    kernel: tuple[int, int],
    padding: tuple[int, int, int, int],
    stride: tuple[int, int] = (1, 1),
    dilation: tuple[int, int] = (1, 1),
) -> Split | None:
    """The dilated (slice-free) form of a ``kernel`` (kh, kw) depthwise conv, or None where it does not apply.

    Pieces symmetric about the kernel's centre read the *unpadded* input through their own padding, so the
    form needs no pad op and no window slices (each copy of the window form is a pass over the input; on
    arm64 the window copies of movepose-xs were 7 M instructions of ``memcpy`` per inference). A centre band
    of ``rc`` rows x ``cc`` columns (<= 25 taps), then each pair of rows ``{c - t, c + t}`` outside the band
    across the whole width (a 2 x kw conv with row dilation 2t), then each pair of columns outside the band
    across the band's rows (an rc x 2 conv with column dilation 2t). 7x7 'same': 5x5 + 2x7 (dilation (6, 1))
    + 5x2 (dilation (1, 6)), three convs on the same input, summed.

    Applies when the zero padding is the same on both sides of each axis (else the pieces' outputs would be
    shifted or differ in size), at stride 1 (at stride 2 LiteRT would add one PAD op per piece: its convs
    only pad 'SAME', which is asymmetric there), and the pieces fit in 25 taps. Among the band sizes it
    takes the fewest pieces, then the smallest sum of XNNPACK tiles, then the largest centre band (the 7x7
    form measured; 3x7 + two 2x7 pairs ties with it in the model).
    """
    kh, kw = kernel
    top, bottom, left, right = padding
    if top != bottom or left != right or tuple(stride) != (1, 1) or kh * kw <= MAX_TAPS:
        return None
    best: Split | None = None
    for rc in range(kh % 2, kh + 1, 2):
        for cc in range(kw % 2, kw + 1, 2):
            if rc * cc > MAX_TAPS or (rc == 0) != (cc == 0):
                continue
            r0, c0 = (kh - rc) // 2, (kw - cc) // 2
            pieces = [Piece(r0, c0, rc, cc)] if rc else []
            if 2 * kw > MAX_TAPS and r0 > 0:
                continue
            for t in range(r0):  # row pairs {t, kh - 1 - t} across the width
                pieces.append(Piece(t, 0, 2, kw, row_step=kh - 1 - 2 * t))
            for t in range(c0):  # column pairs {t, kw - 1 - t} across the centre band's rows
                if rc:
                    pieces.append(Piece(r0, t, rc, 2, col_step=kw - 1 - 2 * t))
            if any(p.row * dilation[0] > top or p.col * dilation[1] > left for p in pieces):
                continue  # a piece would need negative padding (padding smaller than 'same')
            cost = sum(tile_for(p.taps) or float("inf") for p in pieces)
            if cost == float("inf"):
                continue
            candidate = Split(tuple(pieces), cost)
            key = (len(pieces), cost, -pieces[0].taps)
            if best is None or key < (len(best.pieces), best.cost, -best.pieces[0].taps):
                best = candidate
    if best is not None:
        _check_partition(kernel, best.pieces)
    return best


# ------------------------------------------------------------------------------------------- the module


def is_large_depthwise(conv: nn.Module) -> bool:
    """A depthwise ``nn.Conv2d`` (any channel multiplier) with more than 25 taps and zero padding."""
    if not isinstance(conv, nn.Conv2d) or type(conv).forward is not nn.Conv2d.forward:
        return False
    kh, kw = conv.kernel_size
    return (
        conv.groups > 1
        and conv.groups == conv.in_channels
        and kh * kw > MAX_TAPS
        and conv.padding_mode == "zeros"
    )


def resolve_padding(conv: nn.Conv2d) -> tuple[int, int, int, int]:
    """``(top, bottom, left, right)`` zero padding of a Conv2d, ``'same'`` / ``'valid'`` included.

    ``'same'`` follows PyTorch: total ``d * (k - 1)`` per axis, the odd extra pixel at the bottom/right.
    """
    if conv.padding == "valid":
        return 0, 0, 0, 0
    if conv.padding == "same":
        (kh, kw), (dh, dw) = conv.kernel_size, conv.dilation
        th, tw = dh * (kh - 1), dw * (kw - 1)
        return th // 2, th - th // 2, tw // 2, tw - tw // 2
    ph, pw = conv.padding
    return ph, ph, pw, pw


class SplitDepthwiseConv2d(nn.Module):
    """Depthwise conv as a sum of small depthwise convs on windows of the once-padded input.

    (N, C, H, W) -> (N, m*C, Ho, Wo), equal to the ``nn.Conv2d`` it was built from. ``pieces[i]`` is a
    ``rows x cols`` depthwise Conv2d without padding (only ``pieces[0]`` has the bias); ``offsets[i]`` is
    the (row, col) of its window in the padded input, in input pixels (kernel offset times dilation).
    """

    def __init__(self, conv: nn.Conv2d, split: Split) -> None:
        super().__init__()
        self.kernel_size = tuple(conv.kernel_size)
        self.stride = tuple(conv.stride)
        self.dilation = tuple(conv.dilation)
        self.in_channels, self.out_channels = conv.in_channels, conv.out_channels
        top, bottom, left, right = resolve_padding(conv)
        self.pad = (left, right, top, bottom)  # F.pad order: last dim first
        self.offsets = [(p.row * self.dilation[0], p.col * self.dilation[1]) for p in split.pieces]
        self.windows = [(p.rows, p.cols) for p in split.pieces]
        pieces = []
        for i, p in enumerate(split.pieces):
            piece = nn.Conv2d(
                conv.in_channels,
                conv.out_channels,
                (p.rows, p.cols),
                stride=conv.stride,
                dilation=conv.dilation,
                groups=conv.groups,
                bias=i == 0 and conv.bias is not None,
                device=conv.weight.device,
                dtype=conv.weight.dtype,
            )
            with torch.no_grad():
                piece.weight.copy_(conv.weight[:, :, p.row : p.row + p.rows, p.col : p.col + p.cols])
                if piece.bias is not None:
                    piece.bias.copy_(conv.bias)
            pieces.append(piece)
        self.pieces = nn.ModuleList(pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xp = F.pad(x, self.pad) if any(self.pad) else x
        hp, wp = xp.shape[-2], xp.shape[-1]
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.stride, self.dilation
        ho, wo = (hp - dh * (kh - 1) - 1) // sh + 1, (wp - dw * (kw - 1) - 1) // sw + 1
        out = None
        for piece, (r0, c0), (rh, cw) in zip(self.pieces, self.offsets, self.windows, strict=True):
            # the rows/cols the piece reads: exactly ho (wo) outputs, no more (stride-1 would make more)
            rows = (ho - 1) * sh + dh * (rh - 1) + 1
            cols = (wo - 1) * sw + dw * (cw - 1) + 1
            window = xp
            if (r0, rows) != (0, hp):
                window = window[:, :, r0 : r0 + rows]
            if (c0, cols) != (0, wp):
                window = window[:, :, :, c0 : c0 + cols]
            y = piece(window)
            out = y if out is None else out + y
        return out

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, pieces={self.windows}, offsets={self.offsets}"


class DilatedSplitDepthwiseConv2d(nn.Module):
    """Depthwise conv as a sum of small, possibly dilated, depthwise convs on the same unpadded input.

    Each ``pieces[i]`` is a depthwise Conv2d over the kernel taps of one :class:`Piece` (rows ``row + k *
    row_step``...) with dilation ``conv.dilation * step`` and padding ``conv.padding - offset * dilation``
    (see :func:`plan_dilated`); only the first has the bias. No pad op, no slices.
    """

    def __init__(self, conv: nn.Conv2d, split: Split) -> None:
        super().__init__()
        self.kernel_size = tuple(conv.kernel_size)
        top, _, left, _ = resolve_padding(conv)
        dh, dw = conv.dilation
        self.windows = [(p.rows, p.cols) for p in split.pieces]
        self.dilations = [(dh * p.row_step, dw * p.col_step) for p in split.pieces]
        pieces = []
        for i, p in enumerate(split.pieces):
            pad = (top - p.row * dh, left - p.col * dw)
            if min(pad) < 0:
                raise ExportError(
                    f"depthwise split {self.kernel_size}: piece {p} needs negative padding {pad}"
                )
            piece = nn.Conv2d(
                conv.in_channels,
                conv.out_channels,
                (p.rows, p.cols),
                stride=conv.stride,
                padding=pad,
                dilation=(dh * p.row_step, dw * p.col_step),
                groups=conv.groups,
                bias=i == 0 and conv.bias is not None,
                device=conv.weight.device,
                dtype=conv.weight.dtype,
            )
            rows = [p.row + k * p.row_step for k in range(p.rows)]
            cols = [p.col + k * p.col_step for k in range(p.cols)]
            with torch.no_grad():
                piece.weight.copy_(conv.weight[:, :, rows][:, :, :, cols])
                if piece.bias is not None:
                    piece.bias.copy_(conv.bias)
            pieces.append(piece)
        self.pieces = nn.ModuleList(pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = None
        for piece in self.pieces:
            y = piece(x)
            out = y if out is None else out + y
        return out

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, pieces={self.windows}, dilations={self.dilations}"


FORMS = ("windows", "dilated")


def choose_split(conv: nn.Conv2d, precision: str = "fp32", form: str = "windows") -> Split:
    """The ``form`` split of a large depthwise ``conv``.

    ``windows`` (the default everywhere) is :func:`plan_split`'s. The dilated form (:func:`plan_dilated`) reads no copied
    windows, but its symmetric pieces fill XNNPACK's tiles worse (7x7: 5x5 + 2x7 + 5x2 run three 25-tap
    kernels, 75 tap-equivalents, against 25 + 4 + 25 = 54 for 3x7 + 4x1 + 4x6), and that costs more than
    the copies it saves. Measured on movepose-xs (14 stride-1 7x7 layers), dilated against window form:
    host x86 p50 at 1 thread, one interleaved run, +5 % ExecuTorch fp32, +16 % ExecuTorch int8, +5 % LiteRT
    fp32, +9 % LiteRT int8; arm64 instructions (emulated Cortex-A76, inference) +7 % / +2 % / +7 % / +8 %
    (the window copies are 7 M instructions of those). On one layer alone the dilated form had looked
    faster (64 channels, 64x64: 1.57 against 1.99 ms in ExecuTorch). ``dilated`` picks it where it applies.
    """
    if form not in FORMS:
        raise ExportError(f"unknown depthwise split form {form!r} ({', '.join(FORMS)})")
    kernel = tuple(conv.kernel_size)
    if form == "windows":
        return plan_split(kernel, precision)
    dilated = plan_dilated(kernel, resolve_padding(conv), tuple(conv.stride), tuple(conv.dilation))
    if dilated is None:
        raise ExportError(
            f"no dilated split for {conv} (it needs stride 1 and the same zero padding on both sides)"
        )
    return dilated


def build_split_conv(
    conv: nn.Conv2d, precision: str = "fp32", pieces: Sequence[Piece] | None = None, form: str = "windows"
) -> nn.Module:
    """The exact split form of a large depthwise ``conv``: ``form`` as in :func:`choose_split` (default the
    window form, what the benchmarks compare); ``pieces`` overrides the choice (pieces with steps > 1: the
    dilated form)."""
    if not is_large_depthwise(conv):
        raise ExportError(f"not a large zero-padded depthwise Conv2d: {conv}")
    kernel = tuple(conv.kernel_size)
    if pieces is None:
        split = choose_split(conv, precision, form)
    else:
        split = Split(tuple(pieces), split_cost(pieces, precision))
        form = "dilated" if any(p.row_step > 1 or p.col_step > 1 for p in pieces) else form
    _check_partition(kernel, split.pieces)
    if form == "dilated":
        return DilatedSplitDepthwiseConv2d(conv, split)
    return SplitDepthwiseConv2d(conv, split)


def rewrite_large_depthwise(module: nn.Module, precision: str = "fp32", form: str = "windows") -> list[dict]:
    """Replace every large depthwise Conv2d of ``module`` in place (same dotted path); returns what was done.

    Each record: ``{"module": dotted name, "kernel": [kh, kw], "stride": [sh, sw], "dilation": [dh, dw],
    "form": form, "pieces": [[rows, cols], ...]}``, plus ``"piece_dilations"`` for the dilated form.
    ``precision`` ("fp32" | "int8") picks the tile set of the cost model; ``form`` as in :func:`choose_split`.
    """
    if precision not in TILES:
        raise ExportError(f"unknown precision {precision!r} for the depthwise split (fp32, int8)")
    done = []
    for name, child in list(module.named_modules()):
        if not name or not is_large_depthwise(child):
            continue
        parent_name, _, attr = name.rpartition(".")
        parent = module.get_submodule(parent_name) if parent_name else module
        conv, folded = _fold_next_batchnorm(parent, attr, child)
        split_conv = build_split_conv(conv, precision, form=form)
        setattr(parent, attr, split_conv)
        record = {
            "module": name,
            "kernel": list(child.kernel_size),
            "stride": list(child.stride),
            "dilation": list(child.dilation),
            "form": form,
            "pieces": [list(w) for w in split_conv.windows],
        }
        if form == "dilated":
            record["piece_dilations"] = [list(d) for d in split_conv.dilations]
        if folded:
            record["folded_batchnorm"] = f"{parent_name}.{folded}" if parent_name else folded
        done.append(record)
    return done


def _fold_next_batchnorm(parent: nn.Module, attr: str, conv: nn.Conv2d) -> tuple[nn.Conv2d, str | None]:
    """Fold an eval-mode BatchNorm2d that directly follows ``conv`` in an ``nn.Sequential`` into it.

    Why: both converters fold a BN into the conv just before it; after the split that is an add, so the BN
    would stay as per-channel mul + add ops over the whole tensor (28 MUL / 14 SUB in movepose-xs's LiteRT
    graph). Folding first is the same arithmetic the converters do. Returns (conv to split, BN attr or None).
    """
    if not isinstance(parent, nn.Sequential) or parent.training:
        return conv, None
    names = list(parent._modules)
    index = names.index(attr)
    if index + 1 >= len(names):
        return conv, None
    bn_name = names[index + 1]
    bn = parent._modules[bn_name]
    if (
        not isinstance(bn, nn.BatchNorm2d)
        or bn.training
        or bn.running_mean is None
        or bn.num_features != conv.out_channels
    ):
        return conv, None
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    fused = fuse_conv_bn_eval(conv.eval(), bn)
    setattr(parent, bn_name, nn.Identity())
    return fused, bn_name


def _check_partition(kernel: tuple[int, int], pieces: Sequence[Piece]) -> None:
    """Every kernel tap in exactly one piece, every piece within 25 taps (a wrong split is not exact)."""
    kh, kw = kernel
    seen = [[0] * kw for _ in range(kh)]
    for p in pieces:
        last_row, last_col = p.row + (p.rows - 1) * p.row_step, p.col + (p.cols - 1) * p.col_step
        if (
            p.taps > MAX_TAPS
            or min(p.row, p.col, p.rows - 1, p.cols - 1, p.row_step - 1, p.col_step - 1) < 0
            or last_row >= kh
            or last_col >= kw
        ):
            raise ExportError(f"depthwise split {kernel}: bad piece {p}")
        for r, c in p.cells():
            seen[r][c] += 1
    if any(n != 1 for row in seen for n in row):
        raise ExportError(f"depthwise split {kernel}: pieces do not cover every tap exactly once")
