"""Why int8 is (not) faster than fp32 here: per-operator times of movepose-xs in ExecuTorch, single layers in both.

    .venv/bin/python benchmarks/int8_layers.py profile --files dist/movepose-xs/*.pte [--runs 20]
    .venv/bin/python benchmarks/int8_layers.py layers [--runs 30] [--threads 1 2]

``profile``: runs ``.pte`` files built by ``mobilesdk build`` (e.g. movepose-xs xnnpack-fp32 and -int8) with
ExecuTorch's ETDump on (``_load_for_executorch(..., enable_etdump=True)``, 1 thread). The XNNPACK delegate of
this wheel records one event per XNNPACK operator (e.g. ``Convolution (NHWC, QC8) DWConv #3``); events are
grouped by operator kind (name without ``#n``) and their p50s summed, per variant, plus the q/dq ("Convert")
count. LiteRT's Python interpreter has no per-op profiler, hence ``layers``.

``layers``: single layers at movepose-xs shapes, fp32 vs static int8 (PT2E / ai_edge_quantizer) in ExecuTorch
and LiteRT: the 4x4 s2 ConvTranspose2d + BN + ReLU (as is and as its exact sub-pixel conv + pixel_shuffle
form), the SimCC head (1x1 conv + two Linear 1024->512; float, weight-only int8, static int8), a 1x1 conv and
a split 7x7 depthwise.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT)]

from _runtimes import Session, export_pte, export_tflite, interleave, nhwc, p50, workdir  # noqa: E402


def profile(args) -> None:
    """ETDump per-operator times of ``--files`` (.pte built by ``mobilesdk build``, e.g. xnnpack-fp32 and
    xnnpack-int8 of dist/movepose-xs), on their own first verification image."""
    from executorch.devtools import Inspector
    from executorch.extension.pybindings import portable_lib

    from mobilesdk.bench.host import _crop
    from mobilesdk.export.quiet import quiet
    from mobilesdk.manifest import read_embedded
    from mobilesdk.verify import model_inputs

    if not args.files:
        raise SystemExit("profile needs --files X.pte ... (build them with `mobilesdk build`)")
    with workdir() as where:
        names = [Path(f).stem for f in args.files]
        paths = dict(zip(names, map(Path, args.files), strict=True))
        with quiet():
            portable_lib._unsafe_reset_threadpool(1)
        table: dict[str, dict[str, tuple[int, float]]] = {}
        for name in names:
            path = paths[name]
            manifest = read_embedded(path)
            example = torch.from_numpy(model_inputs(_crop(manifest), manifest.artifacts[0].input))
            with quiet():
                module = portable_lib._load_for_executorch(str(path), enable_etdump=True, debug_buffer_size=0)
                for _ in range(args.runs):
                    module.forward([example])
                etdump = where / f"{path.stem}.etdp"
                module.write_etdump_result_to_file(str(etdump))
                frame = Inspector(etdump_path=str(etdump)).to_dataframe()
            kinds: dict[str, list[float]] = defaultdict(list)
            for event, raw in zip(frame["event_name"], frame["raw"], strict=True):
                if event in ("Method::init", "Program::load_method"):
                    continue
                kinds[re.sub(r" #\d+$", "", event)].append(float(np.median(raw[1:])))  # first run: warm-up
            table[name] = {k: (len(v), sum(v)) for k, v in kinds.items()}
            print(f"  profiled {name}", file=sys.stderr, flush=True)
        kinds_all = sorted(
            {k for t in table.values() for k in t},
            key=lambda k: -max(t.get(k, (0, 0))[1] for t in table.values()),
        )
        print(
            "ExecuTorch per-operator p50 (ms, summed per kind; count in brackets), movepose-xs 256x256, 1 thread"
        )
        print(f"{'operator kind':<44}" + "".join(f" {n[:22]:>22}" for n in names))
        for kind in kinds_all:
            cells = []
            for name in names:
                n, ms = table[name].get(kind, (0, 0.0))
                cells.append(f"{ms:>16.3f} [{n:>3}]" if n else f"{'':>22}")
            print(f"{kind[:44]:<44}" + "".join(f" {c:>22}" for c in cells))


class Deconv(nn.Module):
    """(1, C_in, h, w) -> (1, C_out, 2h, 2w): ConvTranspose2d 4x4 s2 p1 + BN + ReLU (MovePose's UpFuse)."""

    def __init__(self, cin: int, cout: int, subpixel: bool = False) -> None:
        super().__init__()
        from mobilesdk.export.deconv import build_subpixel_conv

        torch.manual_seed(0)
        deconv = nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False)
        self.up = build_subpixel_conv(deconv) if subpixel else deconv
        self.bn = nn.BatchNorm2d(cout).eval()
        with torch.no_grad():
            self.bn.running_var.uniform_(0.5, 2.0)

    def forward(self, x):
        return torch.relu(self.bn(self.up(x)))


class Head(nn.Module):
    """(1, 32, 32, 32) -> two (1, 17, 512): 1x1 conv to K=17, flatten, Linear 1024 -> 512 twice."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.final_layer = nn.Conv2d(32, 17, 1)
        self.mlp_head_x = nn.Linear(1024, 512)
        self.mlp_head_y = nn.Linear(1024, 512)

    def forward(self, x):
        x = torch.flatten(self.final_layer(x), 2)
        return self.mlp_head_x(x), self.mlp_head_y(x)


def layer_cases():
    from mobilesdk.export.large_kernel import build_split_conv

    dw = nn.Conv2d(96, 96, 7, padding=3, groups=96)
    heads = ["final_layer", "mlp_head_x", "mlp_head_y"]
    return {
        # name: (module, input shape, int8 exporter kwargs, precision label)
        "deconv 80->48 @8x8": (Deconv(80, 48), (1, 80, 8, 8), {}),
        "deconv 80->48 @8x8 subpixel": (Deconv(80, 48, True), (1, 80, 8, 8), {}),
        "deconv 48->32 @16x16": (Deconv(48, 32), (1, 48, 16, 16), {}),
        "deconv 48->32 @16x16 subpixel": (Deconv(48, 32, True), (1, 48, 16, 16), {}),
        "head float (keep-float)": (Head(), (1, 32, 32, 32), {"keep_float_modules": heads}),
        "head weight-only linears": (
            Head(),
            (1, 32, 32, 32),
            {"keep_float_modules": heads, "weight_only_modules": heads[1:]},
        ),
        "head static int8": (Head(), (1, 32, 32, 32), {}),
        "1x1 conv 48->192 @32x32": (nn.Conv2d(48, 192, 1), (1, 48, 32, 32), {}),
        "dw 7x7 split 96 @32x32": (build_split_conv(dw, "int8"), (1, 96, 32, 32), {}),
    }


def layers(args) -> None:
    with workdir() as where:
        files = {}
        for i, (name, (module, shape, kwargs)) in enumerate(layer_cases().items()):
            module.eval()
            x = torch.randn(*shape)
            calib = [torch.randn(*shape) for _ in range(4)]
            int8 = "int8" if kwargs else "int8-full"
            base = where / f"l{i}"
            files[name] = (
                x,
                export_pte(module, x, base.with_suffix(".fp32.pte")),
                export_pte(
                    module, x, base.with_suffix(".int8.pte"), quantize=int8, calibration=calib, **kwargs
                ),
                export_tflite(module, x, base.with_suffix(".fp32.tflite")),
                export_tflite(
                    module, x, base.with_suffix(".int8.tflite"), precision=int8, calibration=calib, **kwargs
                ),
            )
            print(f"  exported {name}", file=sys.stderr, flush=True)
        for threads in args.threads:
            session = Session(threads)
            cands = {}
            for name, (x, pf, pq, tf, tq) in files.items():
                cands[(name, "et fp32")] = session.pte(pf, x.numpy())
                cands[(name, "et int8")] = session.pte(pq, x.numpy())
                cands[(name, "lite fp32")] = session.tflite(tf, nhwc(x))
                cands[(name, "lite int8")] = session.tflite(tq, nhwc(x))
            times = interleave(cands, args.runs)
            session.close()
            print(f"\n## single layers, {threads} thread(s), p50 ms of {args.runs} interleaved runs")
            print(
                f"{'layer':<32} {'ET fp32':>8} {'ET int8':>8} {'int8/fp32':>9} {'LiteRT fp32':>11} {'int8':>8} {'int8/fp32':>9}"
            )
            for name in files:
                t = {k: p50(times[(name, k)]) for k in ("et fp32", "et int8", "lite fp32", "lite int8")}
                print(
                    f"{name:<32} {t['et fp32']:>8.3f} {t['et int8']:>8.3f} {t['et int8'] / t['et fp32']:>8.2f}x "
                    f"{t['lite fp32']:>11.3f} {t['lite int8']:>8.3f} {t['lite int8'] / t['lite fp32']:>8.2f}x"
                )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["profile", "layers"])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--files", nargs="*", default=[], help="profile these .pte files instead")
    args = parser.parse_args()
    profile(args) if args.what == "profile" else layers(args)


if __name__ == "__main__":
    main()
