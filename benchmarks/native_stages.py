"""Per-stage host timings of the native core, next to the numpy reference.

1. ``mobilesdk-runner`` on movepose-xs and mobilehumanpose-l (full size, random weights; built with
   ``mobilesdk build`` into .cache/bench-native): a synthetic 1920x1080 NV21 frame -> keypoints, p50 per stage,
   and the Python ``executorch.runtime`` forward of the same program for the inference column.
2. Every zoo card without an engine (``mobilesdk-runner --manifest M --outputs DIR``): preprocess of the same
   1920x1080 NV21 frame to the card's input and decode of peaked synthetic outputs (codec.encode + noise),
   against mobilesdk.preprocess.preprocess and the numpy codec on identical data.

Goal (issue 6): preprocess + decode < 0.5 ms per frame for every zoo model, < 5 ms for the 3D-L ones
(18 x 64 x 64 x 64 soft-argmax). Usage: ``.venv/bin/python benchmarks/native_stages.py [--threads N]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mobilesdk import preprocess as pp  # noqa: E402
from mobilesdk.cards import ZOO_DIR, load_card  # noqa: E402
from mobilesdk.codecs import codec_for  # noqa: E402
from mobilesdk.native import build_native  # noqa: E402
from mobilesdk.vectors import input_entry  # noqa: E402

CACHE = ROOT / ".cache"
FRAME = "nv21:1920x1080"


def p50(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def runner_json(runner: Path, *args: str) -> dict:
    proc = subprocess.run([str(runner), *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr.strip())
    return json.loads(proc.stdout.strip().splitlines()[-1])


def synthetic_nv21(width: int, height: int) -> pp.Frame:
    yy, xx = np.mgrid[0:height, 0:width]
    rgb = np.stack([xx * 255 // (width - 1), yy * 255 // (height - 1), (xx + yy) % 256], -1).astype(np.uint8)
    return pp.rgb_to_yuv_frame(rgb, "nv21")


def card_manifest(card) -> dict:
    codec = codec_for(card)
    outputs = [
        {"name": n, "shape": [1, *s], "dtype": "float32", "role": n} for n, s in codec.output_shapes().items()
    ]
    artifact = {
        "recipe": "bench",
        "runtime": "executorch",
        "input": input_entry(card.input, "NCHW", "float32"),
        "outputs": outputs,
    }
    return {
        "schema": "mobilesdk-manifest",
        "schema_version": 1,
        "model": {"id": card.id},
        "codec": {"name": card.codec.name, "params": dict(codec.params())},
        "keypoints": {"names": list(card.keypoints.names)},
        "artifacts": [artifact],
    }


def peaked_outputs(card, rng) -> dict[str, np.ndarray]:
    codec = codec_for(card)
    w, h = card.input.size.width, card.input.size.height
    kp = rng.uniform([0.1 * w, 0.1 * h], [0.9 * w, 0.9 * h], size=(1, card.num_keypoints, 2))
    return {k: (v + rng.normal(0, 0.02, v.shape)).astype(np.float32) for k, v in codec.encode(kp).items()}


def _python_threads(threads: int) -> None:
    import executorch.extension.pybindings.portable_lib as portable

    if hasattr(portable, "_unsafe_reset_threadpool") and threads > 0:
        portable._unsafe_reset_threadpool(threads)


def engine_rows(runner: Path, threads: int, iterations: int) -> list[dict]:
    import torch
    from executorch.runtime import Runtime

    from mobilesdk.build import BuildRequest, build

    rows = []
    for model_id in ("movepose-xs", "mobilehumanpose-l"):
        out_dir = build(
            BuildRequest(card=load_card(ZOO_DIR / f"{model_id}.yaml"), out=CACHE / "bench-native")
        ).out_dir
        manifest = json.loads((out_dir / "manifest.json").read_text())
        entry = next(a for a in manifest["artifacts"] if a["runtime"] == "executorch")
        pte = out_dir / entry["file"]
        r = runner_json(
            runner,
            "--model",
            str(pte),
            "--frame",
            FRAME,
            "--threads",
            str(threads),
            "--warmup",
            "3",
            "--iterations",
            str(iterations),
        )
        _python_threads(threads)  # same pool size as the runner, before the method loads
        method = Runtime.get().load_program(str(pte)).load_method("forward")
        x = torch.zeros(entry["input"]["shape"], dtype=torch.float32)
        method.execute([x])
        py_ms = p50(lambda method=method, x=x: method.execute([x]), iterations)
        s = r["stages"]
        rows.append(
            {
                "model": model_id,
                "threads": r["threads"],
                "load_ms": r["load_ms"],
                "preprocess": s["preprocess"]["p50"],
                "inference": s["inference"]["p50"],
                "decode": s["decode"]["p50"],
                "total": s["total"]["p50"],
                "python_et_inference": py_ms,
            }
        )
    return rows


def processor_rows(runner: Path, iterations: int, tmp: Path, threads: int = 1) -> list[dict]:
    rng = np.random.default_rng(0)
    frame = synthetic_nv21(1920, 1080)
    rows = []
    for card_path in sorted(ZOO_DIR.glob("*.yaml")):
        card = load_card(card_path)
        d = tmp / card.id
        d.mkdir(parents=True, exist_ok=True)
        (d / "manifest.json").write_text(json.dumps(card_manifest(card)))
        outs = peaked_outputs(card, rng)
        for name, arr in outs.items():
            arr.tofile(d / f"{name}.bin")
        r = runner_json(
            runner,
            "--manifest",
            str(d / "manifest.json"),
            "--outputs",
            str(d),
            "--frame",
            FRAME,
            "--warmup",
            "5",
            "--iterations",
            str(iterations),
            "--threads",
            str(threads),
        )
        codec = codec_for(card)
        np_pre = p50(lambda card=card: pp.preprocess(frame, card.input), 3)
        np_dec = p50(lambda codec=codec, outs=outs: codec.decode(outs), 5)
        s = r["stages"]
        shape = "x".join(str(v) for v in next(iter(outs.values())).shape[1:])
        rows.append(
            {
                "model": card.id,
                "codec": f"{card.codec.name} {shape}",
                "pre": s["preprocess"]["p50"],
                "dec": s["decode"]["p50"],
                "np_pre": np_pre,
                "np_dec": np_dec,
            }
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--skip-engine", action="store_true", help="only the engine-free pre/post timings")
    args = ap.parse_args()
    runner = build_native(CACHE / "native", "release").runner
    assert runner is not None
    tmp = CACHE / "bench-native" / "processor"
    print(
        f"native pre/post per zoo card, {FRAME} frame -> model input, p50 ms (numpy reference for the ratio);"
        f" decode on {args.threads} thread(s) (integral-3d: joints in parallel)"
    )
    print(
        f"{'model':<24} {'codec outputs':<26} {'pre':>7} {'decode':>7} {'sum':>7} {'goal':>5}"
        f" {'np pre':>8} {'np dec':>8} {'x pre':>6} {'x dec':>6}"
    )
    for r in processor_rows(runner, args.iterations, tmp, args.threads):
        goal = 5.0 if r["codec"].startswith("integral-3d 1152") else 0.5
        total = r["pre"] + r["dec"]
        print(
            f"{r['model']:<24} {r['codec']:<26} {r['pre']:7.3f} {r['dec']:7.3f} {total:7.3f}"
            f" {'ok' if total < goal else 'SLOW':>5} {r['np_pre']:8.1f} {r['np_dec']:8.2f}"
            f" {r['np_pre'] / r['pre']:6.0f} {r['np_dec'] / max(r['dec'], 1e-3):6.0f}"
        )
    if args.skip_engine:
        return
    print(f"\nmobilesdk-runner end to end ({FRAME}, {args.threads} thread(s)), p50 ms")
    print(
        f"{'model':<20} {'load':>7} {'pre':>7} {'infer':>8} {'decode':>7} {'total':>8} {'python ET infer':>16}"
    )
    for r in engine_rows(runner, args.threads, args.iterations):
        print(
            f"{r['model']:<20} {r['load_ms']:7.1f} {r['preprocess']:7.3f} {r['inference']:8.2f}"
            f" {r['decode']:7.3f} {r['total']:8.2f} {r['python_et_inference']:16.2f}"
        )


if __name__ == "__main__":
    main()
