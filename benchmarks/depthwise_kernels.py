"""Single depthwise layers on each runtime: why kernels above 25 taps are slow, and which split is fastest.

    .venv/bin/python benchmarks/depthwise_kernels.py [--channels 64] [--size 64] [--runs 30] [--threads 1 2]
                                                      [--precision fp32 int8] [--only NAME ...]

For one depthwise layer (C channels, S x S input, stride 1, 'same' zero padding) it exports, with the exporters'
own large-kernel rewrite switched off so each form is measured as written:

* plain ``k x k`` depthwise convs, k = 3, 5, 7, 9 (7 and 9 fall off XNNPACK's depthwise kernels);
* explicit splits of the 7x7 and 9x9 into <= 25-tap pieces (``mobilesdk.export.large_kernel``), including the
  planner's choice and the naive "four zero-extended 5x5 windows";

to ExecuTorch-XNNPACK (.pte) and LiteRT (.tflite, NHWC input), fp32 and int8 (PT2E / ai_edge_quantizer static,
``int8-full``), and runs them next to PyTorch eager, interleaved round by round. Then it fits the planner's
cost model ``t = a * sum(tile) + b * pieces + c`` to the split candidates of each runtime and precision and
prints ``b / a`` (the ``PIECE_COST`` constant: tap-equivalents per extra piece).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _runtimes import Session, export_pte, export_tflite, interleave, nhwc, p50, workdir  # noqa: E402

from mobilesdk.export.large_kernel import (  # noqa: E402
    Piece,
    build_split_conv,
    plan_split,
    split_cost,
    tile_for,
)


def grid(row_bands, col_bands):
    """Pieces of a grid: every row band x every column band."""
    pieces, r = [], 0
    for rh in row_bands:
        c = 0
        for cw in col_bands:
            pieces.append(Piece(r, c, rh, cw))
            c += cw
        r += rh
    return pieces


def rows(bands, width):
    return grid(bands, [width])


def cols(bands, height):
    return grid([height], bands)


# name -> (kernel, pieces or None for the plain conv / "planner")
SPLITS = {
    "7x7 3+3+1 rows": (7, rows([3, 3, 1], 7)),
    "7x7 3+3+1 cols": (7, cols([3, 3, 1], 7)),
    "7x7 2+5 rows, 5 split 5+2": (7, [Piece(0, 0, 2, 7), Piece(2, 0, 5, 5), Piece(2, 5, 5, 2)]),
    "7x7 grid 5+2 x 5+2": (7, grid([5, 2], [5, 2])),
    "7x7 7 x 1x7 rows": (7, rows([1] * 7, 7)),
    "7x7 3x7 + 4x6 + 4x1": (7, [Piece(0, 0, 3, 7), Piece(3, 0, 4, 6), Piece(3, 6, 4, 1)]),
    "7x7 3x7 + 4x2 + 4x2 + 4x3": (
        7,
        [Piece(0, 0, 3, 7), Piece(3, 0, 4, 2), Piece(3, 2, 4, 2), Piece(3, 4, 4, 3)],
    ),
    # the dilated (slice-free) form: 5x5 + rows {0, 6} x 7 (dilation (6, 1)) + {1..5} x cols {0, 6} (dilation (1, 6))
    "7x7 dilated 5x5 + 2x7 + 5x2": (
        7,
        [Piece(1, 1, 5, 5), Piece(0, 0, 2, 7, row_step=6), Piece(1, 0, 5, 2, col_step=6)],
    ),
    "9x9 2+2+2+2+1 rows": (9, rows([2, 2, 2, 2, 1], 9)),
    "9x9 grid 5+4 x 5+4": (9, grid([5, 4], [5, 4])),
    "9x9 grid 3+3+3 x 3+3+3": (9, grid([3, 3, 3], [3, 3, 3])),
    "9x9 1x9 + 3 x 8x3": (9, [Piece(0, 0, 1, 9), Piece(1, 0, 8, 3), Piece(1, 3, 8, 3), Piece(1, 6, 8, 3)]),
}


class ZeroExtended(nn.Module):
    """The issue's naive form: the k x k kernel zero-extended to 10x10, then four 5x5 windows."""

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        k = conv.kernel_size[0]
        big = nn.Conv2d(
            conv.in_channels, conv.out_channels, 10, groups=conv.groups, bias=conv.bias is not None
        )
        with torch.no_grad():
            big.weight.zero_()
            big.weight[:, :, :k, :k] = conv.weight
            if conv.bias is not None:
                big.bias.copy_(conv.bias)
        self.pad = (k // 2, 10 - 1 - k // 2, k // 2, 10 - 1 - k // 2)
        self.split = build_split_conv(big, pieces=grid([5, 5], [5, 5]))

    def forward(self, x):
        return self.split(F.pad(x, self.pad))


def depthwise(channels: int, k: int) -> nn.Conv2d:
    torch.manual_seed(k)
    return nn.Conv2d(channels, channels, k, padding=k // 2, groups=channels).eval()


def candidates(channels: int, precision: str) -> dict[str, tuple[nn.Module, list[Piece] | None]]:
    out: dict[str, tuple[nn.Module, list[Piece] | None]] = {}
    for k in (3, 5, 7, 9):
        out[f"{k}x{k} plain"] = (depthwise(channels, k), None)
    for k in (7, 9):
        split = plan_split((k, k), precision)
        out[f"{k}x{k} planner"] = (build_split_conv(depthwise(channels, k), precision), list(split.pieces))
    for name, (k, pieces) in SPLITS.items():
        out[name] = (build_split_conv(depthwise(channels, k), precision, pieces), pieces)
    out["7x7 4 x 5x5 zero-extended"] = (ZeroExtended(depthwise(channels, 7)), [Piece(0, 0, 5, 5)] * 4)
    return out


def export_all(cands, example, calib, precision: str, where: Path, only):
    files = {}
    for i, (name, (module, _)) in enumerate(cands.items()):
        if only and not any(o in name for o in only):
            continue
        pte, tfl = where / f"{precision}-{i}.pte", where / f"{precision}-{i}.tflite"
        quant = None if precision == "fp32" else "int8-full"
        lite = "fp32" if precision == "fp32" else "int8-full"
        export_pte(module, example, pte, quantize=quant, calibration=calib, split_large_kernels=False)
        export_tflite(module, example, tfl, precision=lite, calibration=calib, split_large_kernels=False)
        files[name] = (pte, tfl)
        print(f"  exported {precision} {name}", file=sys.stderr, flush=True)
    return files


def fit_piece_cost(rows_: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """Least squares ``t = a * sum_tile + b * pieces + c``; returns (a, b, c)."""
    design = np.array([[s, n, 1.0] for s, n, _ in rows_])
    t = np.array([r[2] for r in rows_])
    (a, b, c), *_ = np.linalg.lstsq(design, t, rcond=None)
    return float(a), float(b), float(c)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--precision", nargs="+", default=["fp32", "int8"], choices=["fp32", "int8"])
    parser.add_argument("--only", nargs="*", default=[], help="substrings of candidate names to keep")
    args = parser.parse_args()

    with workdir() as where:
        torch.manual_seed(0)
        example = torch.randn(1, args.channels, args.size, args.size)
        calib = [torch.randn_like(example) for _ in range(4)]
        print(
            f"depthwise layers: {args.channels} channels, {args.size}x{args.size}, stride 1, 'same' padding; "
            f"p50 of {args.runs} interleaved runs (ms)"
        )
        for precision in args.precision:
            cands = candidates(args.channels, precision)
            files = export_all(cands, example, calib, precision, where, args.only)
            for threads in args.threads:
                session = Session(threads)
                runs = {}
                x_nchw, x_nhwc = example.numpy(), nhwc(example)
                for name, (pte, tfl) in files.items():
                    runs[f"et|{name}"] = session.pte(pte, x_nchw)
                    runs[f"lite|{name}"] = session.tflite(tfl, x_nhwc)
                    if precision == "fp32":
                        runs[f"eager|{name}"] = session.eager(cands[name][0], example)
                times = interleave(runs, args.runs)
                session.close()
                report(precision, threads, files, cands, times)


def report(precision, threads, files, cands, times) -> None:
    print(f"\n## {precision}, {threads} thread(s)")
    header = f"{'candidate':<34} {'pieces':>6} {'sum tile':>8} {'model':>6} {'ExecuTorch':>10} {'LiteRT':>8}"
    header += f" {'eager':>7}" if precision == "fp32" else ""
    print(header)
    fits: dict[str, list[tuple[float, float, float]]] = {"et": [], "lite": []}
    for name in files:
        _, pieces = cands[name]
        if pieces is None:
            k = int(name.split("x")[0])
            tile = tile_for(k * k, precision)
            n, total, model = 1, tile or k * k, "-"
        else:
            n, total = len(pieces), sum(tile_for(p.taps, precision) for p in pieces)
            model = f"{split_cost(pieces, precision):.0f}"
        et, lite = p50(times[f"et|{name}"]), p50(times[f"lite|{name}"])
        line = f"{name:<34} {n:>6} {total:>8} {model:>6} {et:>10.3f} {lite:>8.3f}"
        if precision == "fp32":
            line += f" {p50(times[f'eager|{name}']):>7.3f}"
        print(line)
        if pieces is not None or tile_for(int(name.split("x")[0]) ** 2, precision):
            fits["et"].append((total, n, et))
            fits["lite"].append((total, n, lite))
    for runtime, rows_ in fits.items():
        a, b, c = fit_piece_cost(rows_)
        print(
            f"fit {runtime:<5}: t = {a * 1e3:.2f} us * sum_tile + {b * 1e3:.1f} us * pieces + {c * 1e3:.1f} us"
            f"  -> PIECE_COST = b/a = {b / a:.1f} tap-equivalents"
        )


if __name__ == "__main__":
    main()
