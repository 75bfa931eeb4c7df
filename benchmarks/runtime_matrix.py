"""The runtime matrix of issue 8: one model per family, every XNNPACK recipe, before and after the export fixes.

    .venv/bin/python benchmarks/runtime_matrix.py [--models movepose-xs ...] [--runs 30] [--threads 1 2]
                                                  [--variants before after] [--drift] [--out .cache/bench-matrix]

For each zoo card (default: movepose-xs and one model of each other family) it builds, with ``mobilesdk build``
(random weights; latency does not depend on them):

* ``after``: today's defaults — xnnpack-fp32, xnnpack-int8, litert-fp32, litert-int8 (large-kernel split on,
  keypoint-aware int8 with weight-only SimCC linears);
* ``before``: the same recipes with ``--no-split-large-kernels --float-heads`` (what the exporters did before);

then benchmarks all of one card's artifacts in ONE ``mobilesdk bench`` run per thread count, next to PyTorch
eager and ONNX Runtime on the same weights and input, interleaved round by round, and prints p50, the ratio to
ONNX Runtime and to eager, and the file size. ``--drift`` adds the keypoint drift of each recipe measured on
the 128-px trained test fixtures (committed in tests/fixtures/weights/): mean px against
eager on the 8 verification images, the build's own parity figure.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mobilesdk.bench.host import BenchPlan, bench  # noqa: E402
from mobilesdk.build import BuildRequest, build  # noqa: E402
from mobilesdk.cards import load_card, resolve_card  # noqa: E402

MODELS = ["movepose-xs", "mobilehumanpose-xs", "mobileposenet-256x192", "rethinkdeconv-256x192"]
VARIANTS = {"after": {}, "before": {"split_large_kernels": False, "weight_only_heads": False}}


def _build_variant(card, out: Path, variant: str, **extra) -> Path:
    for backend, quantize in (("all", "none"), ("all", "int8")):
        build(
            BuildRequest(
                card=card, out=out / variant, backend=backend, quantize=quantize, **VARIANTS[variant], **extra
            )
        )
    return out / variant / card.id


def _drift(card_id: str, out: Path, variants: list[str]) -> dict[tuple[str, str], float]:
    from tests.conftest import SMALL_CARDS, TRAINED, write_card
    from tests.fixtures.training import fixture_weights

    family = resolve_card(card_id).family
    if family not in TRAINED:
        return {}
    base, changes = SMALL_CARDS[family]
    card = load_card(write_card(out, base, **changes))
    ckpt = fixture_weights(card)
    from mobilesdk import manifest as mf

    found = {}
    for variant in variants:
        d = _build_variant(card, out / "drift", variant, checkpoint=ckpt)
        for entry in mf.read_manifest(d / mf.MANIFEST_FILE).artifacts:
            found[(variant, entry.recipe)] = entry.parity["mean_px"]
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=MODELS)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--variants", nargs="+", default=["before", "after"], choices=list(VARIANTS))
    parser.add_argument("--drift", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / ".cache" / "bench-matrix")
    args = parser.parse_args()

    for card_id in args.models:
        card = resolve_card(card_id)
        dirs = {v: _build_variant(card, args.out, v) for v in args.variants}
        drift = _drift(card_id, args.out, args.variants) if args.drift else {}
        plan = BenchPlan(
            warmup=3, iterations=args.runs, threads=tuple(args.threads), compare=("eager", "onnxruntime")
        )
        result = bench(list(dirs.values()), plan, workdir=args.out)  # every variant in one interleaved run
        print(
            f"\n{card_id} ({card.input.size}) on {result.host['cpu']}, {args.runs} interleaved rounds, p50 ms"
        )
        print(
            f"{'threads':>7}  {'candidate':<22} {'p50':>8} {'/ORT':>7} {'/eager':>7} {'MB':>6} {'drift px':>9}"
        )
        for r in result.results:
            size = f"{r.bytes / 1e6:6.2f}" if r.bytes else f"{'':>6}"
            variant, _, recipe = r.name.rpartition(":")
            d = drift.get((variant, recipe))
            print(
                f"{r.threads:>7}  {r.name:<22} {r.stats.p50:>8.2f} {r.ratios.get('onnxruntime', float('nan')):>6.2f}x "
                f"{r.ratios.get('eager', float('nan')):>6.2f}x {size} {'' if d is None else f'{d:9.3f}':>9}"
            )


if __name__ == "__main__":
    main()
