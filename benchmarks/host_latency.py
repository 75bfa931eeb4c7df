"""Host CPU latency of every artifact in a build dir, against PyTorch eager measured in the same run.

    .venv/bin/python benchmarks/host_latency.py dist/movepose-xs [--runs 30] [--threads 2]

Prints median / p90 per runtime and the ratio to eager. Interleaves the candidates round by round so machine
noise hits them alike. Not a phone figure: XNNPACK on x86 host cores only ranks recipes against each other.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("build_dir", type=Path)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch

    from mobilesdk import build, pipeline
    from mobilesdk.export import manifest as mf
    from mobilesdk.export.executorch import run_executorch
    from mobilesdk.export.litert import run_litert
    from mobilesdk.verify import card_for_manifest, checkpoint_for_manifest, prepare_inputs

    torch.set_num_threads(args.threads)
    manifest = mf.read_manifest(args.build_dir / mf.MANIFEST_FILE)
    card = card_for_manifest(manifest, None)
    model = pipeline.load_eager(card, checkpoint_for_manifest(manifest, None))
    crop = build.verification_crops(card)[:1]
    x_eager = torch.from_numpy(
        prepare_inputs(crop, {**manifest["artifacts"][0]["input"], "layout": "NCHW", "dtype": "float32"})
    )

    def eager():
        with torch.no_grad():
            model(x_eager)

    candidates = {"eager (torch)": eager}
    for entry in manifest["artifacts"]:
        path = args.build_dir / entry["file"]
        x = prepare_inputs(crop, entry["input"])
        if entry["runtime"] == "executorch":
            candidates[entry["recipe"]] = lambda p=path, x=x: run_executorch(p, [x])
        else:
            candidates[entry["recipe"]] = lambda p=path, x=x: run_litert(p, [x], num_threads=args.threads)
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for fn in candidates.values():  # warm-up: load, pack weights
        fn()
        fn()
    for _ in range(args.runs):
        for name, fn in candidates.items():
            t0 = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t0) * 1e3)
    base = statistics.median(times["eager (torch)"])
    print(f"{manifest['model']['id']}: {args.runs} interleaved runs, {args.threads} threads, batch 1")
    print(f"{'candidate':<20} {'median ms':>10} {'p90 ms':>8} {'vs eager':>9}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:<20} {med:>10.2f} {float(np.percentile(ts, 90)):>8.2f} {base / med:>8.2f}x")


if __name__ == "__main__":
    main()
