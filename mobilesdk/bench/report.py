"""Bench output: a readable table, and a self-contained HTML report with plots (matplotlib, PNGs inlined)."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path


def format_table(result) -> str:
    if getattr(result, "unit", "ms") == "instructions":  # an emulated-cost run (mobilesdk/emulate/)
        from mobilesdk.emulate.bench import format_table as format_counts

        return format_counts(result)
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
    unit = getattr(result, "unit", "ms")
    what = "latency per run (ms)" if unit == "ms" else f"{unit} per run (emulated, not time)"
    height = max(2.5, 0.45 * len(labels) + 1)
    fig, ax = plt.subplots(figsize=(9, height))
    ax.boxplot(
        [r.samples for r in result.results], orientation="horizontal", tick_labels=labels, showfliers=True
    )
    ax.set_xlabel(what)
    ax.set_title("Latency distribution per candidate" if unit == "ms" else "Instructions per candidate")
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
    ax.set_xlabel(f"p50 {what}, whiskers p10-p90")
    ax.set_title("p50 per candidate")
    ax.grid(axis="x", alpha=0.3)
    bars = _png(fig)
    plt.close(fig)
    first = (
        "Latency distribution per candidate"
        if unit == "ms"
        else f"{unit.capitalize()} per candidate (emulated)"
    )
    return [(first, dist), ("p50 with p10-p90 whiskers", bars)]


def _document(title: str, body: str) -> bytes:
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}pre{background:#f6f6f6;padding:1em;overflow:auto}"
        "img{max-width:100%}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{body}</body></html>\n"
    ).encode()


def _figures(plots: list[tuple[str, str]]) -> str:
    return "".join(
        f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,{data}"><figcaption>{html.escape(title)}</figcaption></figure>'
        for title, data in plots
    )


def write_html(result, path: Path) -> Path:
    """A self-contained HTML report (table + two plots) at ``path``, written atomically."""
    from mobilesdk.fsops import write_atomically

    body = f"<pre>{html.escape(format_table(result))}</pre>{_figures(_plots(result))}"
    write_atomically(Path(path), _document(f"mobilesdk bench: {result.model}", body))
    return Path(path)


# ---- history ---------------------------------------------------------------------------------------------


def _when(run) -> str:
    return run.created_at[:19].replace("T", " ")


def _candidates_line(run, width: int = 70) -> str:
    text = ", ".join(f"{c.name}@{c.threads}t {c.stats.p50:.3g}" for c in run.candidates)
    return text if len(text) <= width else text[: width - 1] + "…"


def format_runs(runs, total: int, path, *, detail: bool = False) -> str:
    """Stored runs, newest first: one line each, or (``detail``) every candidate's statistics."""
    if not runs:
        return f"no runs stored in {path}"
    if detail:
        return "\n\n".join(_format_run(r) for r in runs)
    lines = [f"{len(runs)} of {total} run(s) in {path}, newest first; candidates: name@threads p50"]
    header = f"{'run':>5}  {'time (UTC)':<19}  {'model':<20} {'device':<34} {'unit':<5} candidates"
    lines += [header, "-" * len(header)]
    for r in runs:
        lines.append(
            f"{r.id:>5}  {_when(r):<19}  {r.model[:20]:<20} {r.device.label[:34]:<34} {r.unit:<5} "
            f"{_candidates_line(r)}"
        )
    if total > len(runs):
        lines.append(f"(the newest {len(runs)}; --limit 0 lists all {total})")
    return "\n".join(lines)


def _format_run(run) -> str:
    plan = run.plan or {}
    budget = f"{plan['seconds']:g} s per phase" if plan.get("seconds") else f"{plan.get('iterations')} rounds"
    lines = [
        f"run {run.id}: {run.model} on {run.device.label}, {_when(run)} UTC, mobilesdk {run.mobilesdk_version}",
        f"  {budget} after {plan.get('warmup')} warm-up runs; {run.unit}"
        + (f"; model fingerprint {run.model_fingerprint[:12]}" if run.model_fingerprint else ""),
    ]
    header = (
        f"  {'threads':>7}  {'candidate':<22} {'runtime':<12} {'version':<10} {'n':>5} {'min':>8} {'p10':>8} "
        f"{'p50':>8} {'p90':>8} {'p99':>8} {'cv%':>5}  sha256"
    )
    lines += [header, "  " + "-" * (len(header) - 2)]
    for c in run.candidates:
        s = c.stats
        lines.append(
            f"  {c.threads:>7}  {c.name[:22]:<22} {c.runtime[:12]:<12} {(c.runtime_version or '-')[:10]:<10} "
            f"{s.n:>5} {s.min:>8.3f} {s.p10:>8.3f} {s.p50:>8.3f} {s.p90:>8.3f} {s.p99:>8.3f} "
            f"{100 * s.cv:>5.1f}  {(c.artifact_sha256 or '-')[:12]}"
        )
    lines += [f"  note: {n}" for n in run.notes]
    return "\n".join(lines)


def format_comparison(comparison) -> str:
    """Per candidate: p50 of A and B, B/A, the test's p-value, the noise threshold and the verdict."""
    from mobilesdk.bench.compare import ALPHA

    a, b = comparison.a, comparison.b
    lines = [
        f"A: run {a.id}  {_when(a)}  {a.model} on {a.device.label}",
        f"B: run {b.id}  {_when(b)}  {b.model} on {b.device.label}",
    ]
    if comparison.differs:
        lines.append(f"the runs differ in: {', '.join(comparison.differs)}")
    header = f"{'threads':>7}  {'candidate':<22} {'p50 A':>9} {'p50 B':>9} {'B/A':>7} {'p':>8} {'noise':>7}  verdict"
    lines += [header, "-" * len(header)]
    for r in comparison.rows:
        lines.append(
            f"{r.threads:>7}  {r.name[:22]:<22} {r.p50_a:>9.3f} {r.p50_b:>9.3f} {r.ratio:>6.3f}x {r.p_value:>8.2g} "
            f"{100 * r.noise:>6.1f}%  {r.verdict} ({r.reason})"
        )
    if comparison.only_a:
        lines.append(f"only in A: {', '.join(comparison.only_a)}")
    if comparison.only_b:
        lines.append(f"only in B: {', '.join(comparison.only_b)}")
    counts = {w: sum(r.verdict == w for r in comparison.rows) for w in ("slower", "faster", "no change")}
    lines.append(", ".join(f"{n} {w}" for w, n in counts.items()) + f" (p50 in {a.unit})")
    lines.append(
        f"faster/slower: Mann-Whitney U on the samples, p < {ALPHA:g}, AND |B/A - 1| > noise = "
        "max(floor, IQR/p50 of A, of B); otherwise no change"
    )
    return "\n".join(lines)


def _history_plots(runs) -> list[tuple[str, str]]:
    """One figure per model and device: p50 over time per candidate (name @ threads), p10-p90 band."""
    from datetime import datetime

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[tuple[str, str], list] = {}
    for run in sorted(runs, key=lambda r: r.id):
        groups.setdefault((run.model, run.device.key), []).append(run)
    out = []
    for group in groups.values():
        series: dict[tuple[str, int], list[tuple]] = {}
        for run in group:
            when = datetime.fromisoformat(run.created_at)
            for c in run.candidates:
                series.setdefault((c.name, c.threads), []).append(
                    (when, c.stats.p10, c.stats.p50, c.stats.p90)
                )
        fig, ax = plt.subplots(figsize=(9, 4.5))
        for (name, threads), points in series.items():
            when, p10, p50, p90 = zip(*points, strict=True)
            (line,) = ax.plot(when, p50, marker="o", label=f"{name} @ {threads}t")
            ax.fill_between(when, p10, p90, color=line.get_color(), alpha=0.2, linewidth=0)
            if len(points) == 1:  # a band needs two points: whiskers instead
                ax.errorbar(when, p50, yerr=[[p50[0] - p10[0]], [p90[0] - p50[0]]], color=line.get_color())
        first = group[0]
        title = f"{first.model} on {first.device.label}"
        ax.set_title(title)
        ax.set_ylabel(f"p50 ({first.unit}), band p10-p90")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
        fig.autofmt_xdate()
        out.append((f"{title}: {len(group)} run(s)", _png(fig)))
        plt.close(fig)
    return out


def write_history_html(runs, path: Path) -> Path:
    """A self-contained HTML report of stored runs: a plot per model and device, then the runs' table."""
    from mobilesdk.fsops import write_atomically

    runs = list(runs)
    models = sorted({r.model for r in runs})
    table = format_runs(sorted(runs, key=lambda r: -r.id), len(runs), Path(path).name)
    body = f"{_figures(_history_plots(runs))}<pre>{html.escape(table)}</pre>"
    write_atomically(Path(path), _document(f"mobilesdk bench history: {', '.join(models)}", body))
    return Path(path)
