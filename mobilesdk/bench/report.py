"""Bench output: a readable table, and a self-contained HTML report with plots (matplotlib, PNGs inlined)."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path


def format_table(result) -> str:
    plan = result.plan
    budget = f"{plan.seconds:g} s per phase" if plan.seconds is not None else f"{plan.iterations} rounds"
    lines = [
        f"{result.model} on {result.host['cpu']} ({result.host['cores']} cores): {budget} after {plan.warmup} "
        "warm-up runs, candidates interleaved; ms",
    ]
    baselines = sorted({b for r in result.results for b in r.ratios})
    header = (
        f"{'threads':>7}  {'candidate':<22} {'runtime':<22} {'load':>8} {'min':>7} {'p50':>7} {'p90':>7} "
        f"{'p99':>7} {'mean':>7} {'trim':>7} {'cv%':>5}" + "".join(f" {'/' + b:>12}" for b in baselines)
    )
    lines += [header, "-" * len(header)]
    for r in result.results:
        s = r.stats
        ratios = "".join(f" {r.ratios[b]:>11.2f}x" if b in r.ratios else f" {'':>12}" for b in baselines)
        lines.append(
            f"{r.threads:>7}  {r.name[:22]:<22} {r.runtime[:22]:<22} {r.load_ms:>8.1f} {s.min:>7.2f} {s.p50:>7.2f} "
            f"{s.p90:>7.2f} {s.p99:>7.2f} {s.mean:>7.2f} {s.trimmed_mean:>7.2f} {100 * s.cv:>5.1f}{ratios}"
        )
        if r.stages:
            stages = ", ".join(f"{k} {v.p50:.3f}" for k, v in r.stages.items())
            lines.append(f"{'':>9}{'':<22} per stage p50: {stages}")
    if baselines:
        lines.append("ratios: p50 / the baseline's p50 at the same thread count (below 1 is faster)")
    lines += result.notes
    return "\n".join(lines)


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _plots(result) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r.name} ({r.threads}t)" for r in result.results]
    height = max(2.5, 0.45 * len(labels) + 1)
    fig, ax = plt.subplots(figsize=(9, height))
    ax.boxplot(
        [r.samples for r in result.results], orientation="horizontal", tick_labels=labels, showfliers=True
    )
    ax.set_xlabel("latency per run (ms)")
    ax.set_title("Latency distribution per candidate")
    ax.grid(axis="x", alpha=0.3)
    dist = _png(fig)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(9, height))
    p50 = [r.stats.p50 for r in result.results]
    err = [
        [r.stats.p50 - r.stats.p10 for r in result.results],
        [r.stats.p90 - r.stats.p50 for r in result.results],
    ]
    ax.barh(labels, p50, xerr=err, capsize=4, color="#4c78a8")
    ax.invert_yaxis()
    ax.set_xlabel("p50 latency (ms), whiskers p10-p90")
    ax.set_title("p50 per candidate")
    ax.grid(axis="x", alpha=0.3)
    bars = _png(fig)
    plt.close(fig)
    return [("Latency distribution per candidate", dist), ("p50 with p10-p90 whiskers", bars)]


def write_html(result, path: Path) -> Path:
    """A self-contained HTML report (table + two plots) at ``path``, written atomically."""
    from mobilesdk.fsops import write_atomically

    figures = "".join(
        f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,{data}"><figcaption>{html.escape(title)}</figcaption></figure>'
        for title, data in _plots(result)
    )
    doc = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>mobilesdk bench: {html.escape(result.model)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}pre{background:#f6f6f6;padding:1em;overflow:auto}"
        "img{max-width:100%}</style></head><body>"
        f"<h1>mobilesdk bench: {html.escape(result.model)}</h1>"
        f"<pre>{html.escape(format_table(result))}</pre>{figures}</body></html>\n"
    )
    write_atomically(Path(path), doc.encode("utf-8"))
    return Path(path)
