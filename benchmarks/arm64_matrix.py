"""The arm64 instruction matrix of issue 16: one model per family (the smallest variant), every recipe and ONNX
Runtime, counted under qemu-aarch64 on each CPU profile (`mobilesdk bench --emulate arm64`), per stage.

    .venv/bin/python benchmarks/arm64_matrix.py [--models movepose-xs ...] [--cpu cortex-a76 ...]
                                                [--iterations 3] [--frame nv21:1920x1080] [--no-onnx]
                                                [--out .cache/arm64-matrix] [--json FILE]

Each card is built with ``mobilesdk build`` (random weights: instruction counts do not depend on them, but for
data-dependent paths such as denormals, which these models do not take), fp32 and int8, both runtimes; all of
a card's artifacts and its ONNX export (the host bench's, with the build's manifest) run in ONE emulated runner
process per profile, one thread, on a synthetic camera frame. Printed: millions of instructions per inference
(steady state: median of iterations 2..N), per stage, and each recipe's inference instructions over ONNX
Runtime's on the same profile. Instructions (emulated), not time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mobilesdk.bench.host import resolve_target  # noqa: E402
from mobilesdk.build import BuildRequest, build  # noqa: E402
from mobilesdk.cards import resolve_card  # noqa: E402
from mobilesdk.emulate import bench as eb  # noqa: E402
from mobilesdk.emulate.onnx import onnx_rows  # noqa: E402
from mobilesdk.emulate.profiles import resolve  # noqa: E402
from mobilesdk.native_cross import build_arm64_bundle  # noqa: E402

MODELS = ["movepose-xs", "mobilehumanpose-xs", "mobileposenet-256x192", "rethinkdeconv-256x192"]
NATIVE_CACHE = Path("~/.cache/mobilesdk/native").expanduser()


def _build(card_id: str, out: Path) -> Path:
    card = resolve_card(card_id)
    for quantize in ("none", "int8"):
        build(BuildRequest(card=card, out=out, backend="all", quantize=quantize))
    return out / card.id


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=MODELS)
    parser.add_argument("--cpu", nargs="+", default=[])
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--frame", default="nv21:1920x1080")
    parser.add_argument("--no-onnx", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / ".cache" / "arm64-matrix")
    parser.add_argument("--json", type=Path, help="also write every run's JSON here")
    args = parser.parse_args()

    profiles = resolve(args.cpu)
    tools = eb.preflight()
    bundle = build_arm64_bundle(NATIVE_CACHE, NATIVE_CACHE.parent / "wheels")
    matrix = []  # (model, profile, candidate, stages, ratio)
    docs = {}
    for card_id in args.models:
        build_dir = _build(card_id, args.out)
        print(f"built {build_dir}", file=sys.stderr, flush=True)
        target = resolve_target(build_dir)
        with tempfile.TemporaryDirectory(prefix="arm64-matrix-") as work:
            extra = [] if args.no_onnx else onnx_rows([build_dir], [""], bundle.info, Path(work))
            runs = eb.bench_emulated(
                [target], profiles, iterations=args.iterations, frame=args.frame, bundle_dir=bundle.bundle_dir,
                bundle_info=bundle.info, extra_models=extra, tools=tools,
            )  # fmt: skip
        docs[card_id] = eb.to_json(runs)
        print(eb.format_runs(runs), flush=True)
        print(flush=True)
        for run in runs:
            for r in run.result.results:
                ratio = next(iter(r.ratios.values()), None)
                matrix.append(
                    (card_id, run.profile.name, r.name, {k: v.p50 for k, v in r.stages.items()}, ratio)
                )
    print(summary(matrix, [p.name for p in profiles]))
    if args.json:
        args.json.write_text(json.dumps(docs, indent=2))
    return 0


def summary(matrix, profiles: list[str]) -> str:
    """Model x recipe rows, per profile: inference M instructions and the ratio to ONNX Runtime's."""
    lines = [
        "arm64 instructions (emulated), not time: millions per inference (inference stage, steady state); "
        "in brackets: / ONNX Runtime's on the same profile",
    ]
    header = f"{'model':<22} {'candidate':<18}" + "".join(f" {p:>22}" for p in profiles)
    lines += [header, "-" * len(header)]
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for model, profile, name, stages, ratio in matrix:
        cell = f"{stages['inference'] / 1e6:.1f}" + (f" ({ratio:.2f}x)" if ratio is not None else "")
        rows.setdefault((model, name), {})[profile] = cell
    for (model, name), cells in rows.items():
        lines.append(f"{model:<22} {name:<18}" + "".join(f" {cells.get(p, '-'):>22}" for p in profiles))
    lines.append("")
    lines.append("per stage (M instructions, steady state): preprocess / decode / total")
    for model, profile, name, stages, _ in matrix:
        lines.append(
            f"  {model:<22} {profile:<13} {name:<18} {stages['preprocess'] / 1e6:7.2f} / "
            f"{stages['decode'] / 1e6:6.2f} / {stages['total'] / 1e6:8.2f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
