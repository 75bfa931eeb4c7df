"""`mobilesdk bench DIR --adb-serial S`: latency on a phone, through the arm64 runner bundle over adb.

Per phone (specs/bench.md §3):

1. **Preflight**: the phone is online and authorized, its ABI list has arm64-v8a, battery level and charging are
   recorded (a low battery is noted: phones cap clocks below ~25 %), and the thermal state is read. A hot phone
   (thermal status above NONE, or a temperature above ``max_temp_c``) is waited for, polling every ``poll_s``,
   at most ``cooldown_s``; one that stays hot is reported and skipped, never benchmarked.
2. **Push once**: the runner bundle to ``/data/local/tmp/mobilesdk/bundle-<key>/`` and each artifact to
   ``/data/local/tmp/mobilesdk/models/<sha256 prefix>/``; what is already there with the right sha256 is not
   pushed again.
3. **Pin**: the CPUs of the fastest cluster (highest ``cpuinfo_max_freq``) that the shell may use (its
   ``Cpus_allowed_list``), through ``taskset``; threads default to that many. Clock frequencies of those CPUs are
   read before and after.
4. **Run**: every candidate in ONE runner process — loaded once, warmed up, then timed round by round with the
   order rotated each round, as on the host — on a synthetic camera frame (``nv21:1920x1080`` by default), with
   per-stage timings (preprocess, inference = model only, decode). The runner's final JSON line proves it
   finished; a runner killed by a signal, a non-zero exit or output that does not parse is a one-line error.
5. **Clean up** what this bench pushed unless ``keep``.

Results measured before a failure are kept: each phone is its own :class:`PhoneOutcome`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mobilesdk.bench import native_runner
from mobilesdk.bench.host import BenchPlan, BenchResult, CandidateResult, Target
from mobilesdk.bench.stats import Stats
from mobilesdk.device import info as devinfo
from mobilesdk.device.transport import DeviceError, Transport
from mobilesdk.errors import MobileSDKError
from mobilesdk.manifest import sha256_file

REMOTE_ROOT = "/data/local/tmp/mobilesdk"
# Published on-device figures of a card, matched to the SoC they were measured on (metric slug -> SoC part).
PUBLISHED_SOCS = {
    "snapdragon-8plus": "SM8475",
    "snapdragon-8-gen-1": "SM8450",
    "snapdragon-8-gen-2": "SM8550",
    "snapdragon-8-gen-3": "SM8650",
    "snapdragon-888": "SM8350",
    "snapdragon-865": "SM8250",
    "snapdragon-855": "SM8150",
    "snapdragon-845": "SDM845",
}


class PhoneBenchError(MobileSDKError):
    """A phone bench that cannot go on (the message says which phone and why)."""


class PhoneTooHot(PhoneBenchError):
    """The phone stayed hot through the cool-down: skipped, not benchmarked."""


@dataclass(frozen=True)
class PhonePlan:
    warmup: int = 3
    iterations: int = 20
    threads: int | None = None  # default: the size of the pinned (fastest) cluster
    frame: str = native_runner.DEFAULT_FRAME
    cooldown_s: float = 300.0
    poll_s: float = 15.0
    max_temp_c: float = 40.0
    keep: bool = False
    runner_timeout_s: float = 3600.0
    device_runners: tuple[Path, ...] = ()  # a user's stock benchmark_model / executor_runner binaries


@dataclass
class PhoneOutcome:
    """One phone's bench: its result, or why it was skipped or failed (results before a failure are kept)."""

    serial: str
    device: dict[str, Any] = field(default_factory=dict)  # DeviceInfo.to_json()
    result: BenchResult | None = None
    error: str | None = None
    skipped: bool = False  # too hot: nothing was run
    preflight: dict[str, Any] = field(default_factory=dict)
    pinning: dict[str, Any] = field(default_factory=dict)
    published: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "device": self.device,
            "skipped": self.skipped,
            "error": self.error,
            "preflight": self.preflight,
            "pinning": self.pinning,
            "published": self.published,
            "result": self.result.to_json() if self.result is not None else None,
        }


def _hot(thermal: dict[str, Any], max_temp_c: float) -> str | None:
    """Why the phone counts as hot, or None."""
    status = thermal.get("status")
    temps = thermal.get("temperatures_c") or {}
    hottest = max(temps.values(), default=None)
    if status is not None and status > 0:
        return f"thermal status {thermal.get('status_name') or status}" + (
            f", {hottest:.1f} °C" if hottest is not None else ""
        )
    if hottest is not None and hottest > max_temp_c:
        name = max(temps, key=temps.get)
        return f"{name} at {hottest:.1f} °C (above {max_temp_c:g} °C)"
    return None


def wait_until_cool(dev: Transport, plan: PhonePlan, progress) -> dict[str, Any]:
    """The thermal state once the phone is cool; :class:`PhoneTooHot` if it is still hot after the cool-down."""
    start = time.monotonic()
    thermal = devinfo.read_thermal(dev)
    reason = _hot(thermal, plan.max_temp_c)
    while reason is not None:
        waited = time.monotonic() - start
        if waited >= plan.cooldown_s:
            raise PhoneTooHot(
                f"{dev.serial} stayed hot through the {plan.cooldown_s:g} s cool-down ({reason}): skipped, not "
                "benchmarked (let it cool, unplug the charger, or raise --cooldown)"
            )
        progress.warn(f"{dev.serial} is hot ({reason}); waiting to cool ({waited:.0f}/{plan.cooldown_s:g} s)")
        time.sleep(min(plan.poll_s, max(0.0, plan.cooldown_s - waited)))
        thermal = devinfo.read_thermal(dev)
        reason = _hot(thermal, plan.max_temp_c)
    return thermal


def _remotesha256_file(dev: Transport, paths: Sequence[str]) -> dict[str, str]:
    """sha256 of the files that exist among ``paths`` on the phone (toybox's sha256sum)."""
    if not paths:
        return {}
    script = (
        "for f in "
        + " ".join(shlex.quote(p) for p in paths)
        + '; do [ -f "$f" ] && sha256sum "$f"; done; true'
    )
    r = dev.run(["sh", "-c", script], timeout=120)
    found = {}
    for line in r.stdout.splitlines():
        digest, _, path = line.strip().partition(" ")
        if len(digest) == 64:
            found[path.strip().lstrip("*")] = digest
    return found


def push_files(dev: Transport, files: Sequence[tuple[Path, str, str]], progress) -> list[str]:
    """Push (local, remote, sha256) unless the phone has that content; returns the remote paths pushed."""
    have = _remotesha256_file(dev, [remote for _, remote, _ in files])
    pushed = []
    dirs = sorted({remote.rsplit("/", 1)[0] for _, remote, _ in files})
    if dirs:
        dev.run(["mkdir", "-p", *dirs], timeout=60)
    for local, remote, digest in files:
        if have.get(remote) == digest:
            continue
        size = local.stat().st_size
        with progress.phase(f"Pushing {local.name} ({size / 1e6:.1f} MB) to {dev.serial}", total=100) as tick:
            shown = [0]

            def advance(done: int, total: int, shown=shown, tick=tick) -> None:
                pct = done * 100 // max(total, 1)
                for _ in range(pct - shown[0]):
                    tick()
                shown[0] = max(shown[0], pct)

            dev.push(local, remote, progress=advance)
        pushed.append(remote)
    after = _remotesha256_file(dev, [remote for _, remote, _ in files])
    bad = [remote for _, remote, digest in files if after.get(remote) != digest]
    if bad:
        raise PhoneBenchError(f"{dev.serial}: {bad[0]} does not have the content pushed (sha256 differs)")
    return pushed


def _bundle_files(bundle_dir: Path, bundle_info: dict) -> tuple[str, list[tuple[Path, str, str]]]:
    key = hashlib.sha256(
        json.dumps(sorted((f["path"], f["sha256"]) for f in bundle_info["files"])).encode()
    ).hexdigest()[:16]
    remote = f"{REMOTE_ROOT}/bundle-{key}"
    files = [(bundle_dir / f["path"], f"{remote}/{f['path']}", f["sha256"]) for f in bundle_info["files"]]
    files.append(
        (bundle_dir / "bundle.json", f"{remote}/bundle.json", sha256_file(bundle_dir / "bundle.json"))
    )
    return remote, files


def _check_finished(dev: Transport, r, what: str) -> None:
    """A runner that died by a signal or exited non-zero is a one-line error (its last line of output)."""
    if r.signal is not None:
        raise PhoneBenchError(f"{dev.serial}: {what} was killed by signal {r.signal}")
    if r.exit_code != 0:
        last = [ln for ln in (r.stderr or r.stdout).splitlines() if ln.strip()][-1:] or ["no output"]
        raise PhoneBenchError(f"{dev.serial}: {what} exited {r.exit_code}: {last[0][:300]}")


def allowed_cpus(dev: Transport) -> list[int] | None:
    """The CPUs a shell process may run on: its cpuset (Android: ``/proc/self/cpuset`` names the group,
    ``/dev/cpuset/<group>/cpus`` lists its CPUs), else the kernel's ``Cpus_allowed_list``; None if neither."""
    script = (
        "g=$(cat /proc/self/cpuset 2>/dev/null); g=${g%/}; "
        'cat "/dev/cpuset$g/cpus" 2>/dev/null || cat /dev/cpuset/cpus 2>/dev/null || '
        "grep '^Cpus_allowed_list:' /proc/self/status"
    )
    r = dev.run(["sh", "-c", script], timeout=30)
    text = r.stdout.strip().splitlines()[-1:] if r.exit_code == 0 else []
    if not text:
        return None
    value = text[0].split(":", 1)[-1].strip()
    try:
        return devinfo.parse_cpu_list(value) or None
    except ValueError:
        return None


def choose_pinning(
    clusters: Sequence[devinfo.Cluster], allowed: Sequence[int] | None
) -> tuple[list[int], str]:
    """The CPUs of the fastest cluster the shell may use (falling back to the next cluster when none is
    allowed), and the reason."""
    allowed_set = set(allowed) if allowed is not None else None
    for cluster in sorted(clusters, key=lambda c: -c.max_khz):
        cpus = [c for c in cluster.cpus if allowed_set is None or c in allowed_set]
        if cpus:
            why = f"fastest cluster ({cluster.core or 'cores'} @ {cluster.max_khz / 1e6:.2f} GHz)"
            if len(cpus) < len(cluster.cpus):
                why += f", limited to the CPUs the shell may use ({','.join(map(str, cpus))})"
            return cpus, why
    raise PhoneBenchError("no CPU of the phone is both listed in sysfs and allowed to the shell")


def read_freqs(dev: Transport, cpus: Sequence[int]) -> dict[str, int | None]:
    script = "; ".join(
        f"echo {c} $(cat /sys/devices/system/cpu/cpu{c}/cpufreq/scaling_cur_freq 2>/dev/null)" for c in cpus
    )
    r = dev.run(["sh", "-c", script], timeout=30)
    out: dict[str, int | None] = {}
    for line in r.stdout.splitlines():
        parts = line.split()
        if parts and parts[0].isdigit():
            out[f"cpu{parts[0]}"] = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    return out


def parse_multi(stdout: str, count: int) -> list[tuple[dict[str, list[float]], dict]]:
    """The runner's output for ``count`` models: per model, its per-iteration stage samples and summary.
    One model: the runner's single-model format (native_runner.parse_output)."""
    if count == 1:
        return [native_runner.parse_output(stdout)]
    lines = stdout.splitlines()
    final = next((ln for ln in reversed(lines) if ln.startswith("{")), None)
    try:
        doc = json.loads(final) if final else None
    except json.JSONDecodeError:
        doc = None
    if not doc or len(doc.get("models", [])) != count:
        last = [ln for ln in lines if ln.strip()][-1:] or ["no output"]
        raise PhoneBenchError(f"the runner's output does not parse (last line: {last[0][:200]})")
    out = []
    for j, summary in enumerate(doc["models"]):
        prefix = f"model {j} "
        text = "\n".join(ln[len(prefix) :] for ln in lines if ln.startswith(prefix))
        samples, _ = native_runner.parse_output(text + "\n" + json.dumps(summary))
        out.append((samples, summary))
    return out


def stock_kind(binary: Path) -> str:
    """Which stock runner a binary is, by its name: LiteRT's ``benchmark_model`` or ExecuTorch's
    ``executor_runner`` (also ``xnn_executor_runner``)."""
    name = Path(binary).name
    if "benchmark_model" in name:
        return "benchmark_model"
    if "executor_runner" in name:
        return "executor_runner"
    raise PhoneBenchError(
        f"--device-runner {binary}: cannot tell which stock runner this is; name it benchmark_model (LiteRT) "
        "or executor_runner (ExecuTorch)"
    )


def _stock_args(kind: str, binary: str, model: str, plan: PhonePlan, threads: int) -> list[str]:
    if kind == "benchmark_model":  # specs/bench.md §1.3
        return [binary, f"--graph={model}", f"--num_threads={threads}", f"--warmup_runs={plan.warmup}",
                f"--num_runs={plan.iterations}", "--warmup_min_secs=0", "--min_secs=0"]  # fmt: skip
    # executor_runner has no warm-up flag (§2.1): its first iterations are part of the figures
    return [binary, "--model_path", model, f"--num_executions={plan.iterations}", f"--cpu_threads={threads}"]


def run_stock(dev: Transport, kind: str, binary: str, model: str, plan: PhonePlan, threads: int, mask: int):
    """One stock runner on one model, pinned like ours; its output parsed (stdout, else logcat)."""
    from mobilesdk.bench import stock

    parse = stock.parse_benchmark_model if kind == "benchmark_model" else stock.parse_executor_runner
    tag = "tflite" if kind == "benchmark_model" else "ExecuTorch"
    dev.run(["logcat", "-c"], timeout=30)  # absent on a non-Android host: harmless
    r = dev.run(
        ["taskset", f"{mask:x}", *_stock_args(kind, binary, model, plan, threads)],
        timeout=plan.runner_timeout_s,
    )
    _check_finished(dev, r, kind)
    try:
        return parse(r.stdout + "\n" + r.stderr)
    except stock.StockParseError:
        log = dev.run(["logcat", "-d", "-s", f"{tag}:I"], timeout=60)  # Android-preset builds log there only
        try:
            return parse(log.stdout)
        except stock.StockParseError as exc:
            raise PhoneBenchError(f"{dev.serial}: {kind}'s output does not parse: {exc}") from None


def _stock_candidate(kind, res, path, entry, target, threads, mask) -> CandidateResult:
    """A stock runner's figures as a candidate. benchmark_model prints summary statistics only (no samples):
    the candidate's samples are then its mean, and its statistics the runner's own where printed."""
    samples = res.samples_ms or [res.mean_ms]
    stats = Stats.of(samples)
    if not res.samples_ms:
        n = res.count
        nan = float("nan")
        p50 = res.p50_ms if res.p50_ms is not None else res.mean_ms
        stats = Stats(n=n, min=res.min_ms if res.min_ms is not None else nan, p10=nan, p50=p50, p90=nan,
                      p99=nan, max=res.max_ms if res.max_ms is not None else nan, mean=res.mean_ms,
                      trimmed_mean=nan, std=res.std_ms if res.std_ms is not None else nan,
                      cv=(res.std_ms / res.mean_ms) if res.std_ms is not None and res.mean_ms else nan)  # fmt: skip
    name = f"stock {kind}:{entry.recipe if entry is not None else path.name}"
    r = CandidateResult(name, "stock", f"{kind} (stock, user's binary; model only)", threads,
                        float(res.load_ms or 0.0), stats, samples, entry.recipe if entry is not None else None,
                        path.name, path.stat().st_size)  # fmt: skip
    r.sha256 = target.hashes.get(path)
    r.core_mask = f"{mask:x}"
    return r


def bench_phone(
    targets: Sequence[Target],
    dev: Transport,
    plan: PhonePlan,
    bundle_dir: Path,
    bundle_info: dict,
    progress,
) -> PhoneOutcome:
    """Benchmark every artifact of ``targets`` on one phone (see the module docstring)."""
    outcome = PhoneOutcome(dev.serial)
    info = devinfo.describe(dev)
    outcome.device = info.to_json()
    if "arm64-v8a" not in info.abis:
        raise PhoneBenchError(
            f"{dev.serial} is not an arm64 phone (ABIs: {', '.join(info.abis) or 'unknown'}); the runner bundle is arm64-v8a"
        )
    battery = info.battery
    outcome.preflight = {"battery": battery, "thermal_start": info.thermal, "notes": []}
    if battery.get("level") is not None and battery["level"] < 25:
        outcome.preflight["notes"].append(
            f"battery at {battery['level']} %: phones often cap clocks below 25 %, even on a charger"
        )
    if battery.get("charging"):
        outcome.preflight["notes"].append(
            "charging: USB charging keeps a phone warmer (unplug for steadier figures)"
        )
    with progress.phase(f"Preflight {dev.serial}: thermal state"):
        outcome.preflight["thermal_before"] = wait_until_cool(dev, plan, progress)

    models = [(entry, path, target) for target in targets for entry, path in target.files]
    runnable = [
        (e, p, t)
        for e, p, t in models
        if p.suffix == ".pte" or (p.suffix == ".tflite" and "litert" in bundle_info.get("engines", []))
    ]
    if not runnable:
        raise PhoneBenchError("nothing to run: the bundle runs .pte and .tflite artifacts")
    remote_bundle, files = _bundle_files(bundle_dir, bundle_info)
    remote_models = []
    for _e, path, target in runnable:
        digest = target.hashes.get(path) or sha256_file(path)
        remote = f"{REMOTE_ROOT}/models/{digest[:16]}/{path.name}"
        files.append((path, remote, digest))
        remote_models.append(remote)
    stock_bins = []
    for binary in plan.device_runners:
        kind = stock_kind(binary)
        remote = f"{REMOTE_ROOT}/stock/{sha256_file(binary)[:16]}/{Path(binary).name}"
        files.append((Path(binary), remote, sha256_file(binary)))
        stock_bins.append((kind, remote))
    pushed: list[str] = []
    try:
        pushed = push_files(dev, files, progress)
        if stock_bins:
            dev.check(
                ["chmod", "755", *(remote for _, remote in stock_bins)], what="chmod of the stock runners"
            )
        dev.check(["chmod", "755", f"{remote_bundle}/run", f"{remote_bundle}/ld-linux-aarch64.so.1",
                   f"{remote_bundle}/mobilesdk-runner"], what="chmod of the runner bundle")  # fmt: skip
        cpus, why = choose_pinning(info.clusters, allowed_cpus(dev))
        mask = 0
        for c in cpus:
            mask |= 1 << c
        threads = plan.threads or len(cpus)
        outcome.pinning = {"cpus": cpus, "mask": f"{mask:x}", "threads": threads, "why": why}
        outcome.pinning["freqs_before_khz"] = read_freqs(dev, cpus)
        args = ["taskset", f"{mask:x}", "sh", f"{remote_bundle}/run"]
        for m in remote_models:
            args += ["--model", m]
        args += ["--frame", plan.frame, "--warmup", str(plan.warmup), "--iterations", str(plan.iterations)]
        args += ["--threads", str(threads)]
        with progress.phase(
            f"Running {len(remote_models)} candidate(s) on {dev.serial} (pinned to {mask:x})"
        ):
            r = dev.run(args, timeout=plan.runner_timeout_s)
        _check_finished(dev, r, "the runner")
        parsed = parse_multi(r.stdout, len(remote_models))
        stock_results = []
        for kind, binary in stock_bins:
            suffix = ".tflite" if kind == "benchmark_model" else ".pte"
            for (entry, path, target), remote in zip(runnable, remote_models, strict=True):
                if path.suffix == suffix:
                    with progress.phase(f"Stock {kind} on {path.name} ({dev.serial})"):
                        res = run_stock(dev, kind, binary, remote, plan, threads, mask)
                    stock_results.append(_stock_candidate(kind, res, path, entry, target, threads, mask))
        outcome.pinning["freqs_after_khz"] = read_freqs(dev, cpus)
        thermal_after = devinfo.read_thermal(dev)
        outcome.preflight["thermal_after"] = thermal_after
        outcome.result = _result(targets, runnable, parsed, threads, outcome, info, thermal_after, plan)
        outcome.result.results.extend(stock_results)
        outcome.published = published_figures(targets, info, outcome.result)
    finally:
        if not plan.keep and pushed:
            with contextlib.suppress(DeviceError):
                dev.run(
                    ["rm", "-rf", f"{REMOTE_ROOT}/models", f"{REMOTE_ROOT}/stock", remote_bundle], timeout=120
                )
    return outcome


def _result(targets, runnable, parsed, threads, outcome, info, thermal_after, plan) -> BenchResult:
    first = targets[0]
    bench_plan = BenchPlan(warmup=plan.warmup, iterations=plan.iterations, threads=(threads,))
    device_label = f"{info.manufacturer or ''} {info.model or ''}".strip() or info.serial
    result = BenchResult(first.name, {"phone": device_label, "serial": info.serial}, bench_plan)
    result.fingerprint = first.manifest.fingerprint if first.manifest is not None else None
    result.state_before = {
        "freqs_khz": outcome.pinning.get("freqs_before_khz"),
        "temps_c": (outcome.preflight.get("thermal_before") or {}).get("temperatures_c"),
    }
    result.state_after = {
        "freqs_khz": outcome.pinning.get("freqs_after_khz"),
        "temps_c": thermal_after.get("temperatures_c"),
    }
    for (entry, path, target), (samples, summary) in zip(runnable, parsed, strict=True):
        stages = {stage: Stats.of(values) for stage, values in samples.items()}
        runtime = summary.get("runtime") or {}
        name = f"{target.label}{entry.recipe if entry is not None else path.name}"
        r = CandidateResult(
            name,
            "phone",
            f"mobilesdk-runner arm64 ({runtime.get('name', '?')})",
            int(summary.get("threads", threads)),
            float(summary.get("load_ms", 0.0)),
            stages["total"],
            samples["total"],
            entry.recipe if entry is not None else None,
            path.name,
            path.stat().st_size,
        )
        r.stages = stages
        r.sha256 = target.hashes.get(path)
        r.runtime_version = runtime.get("version")
        r.core_mask = outcome.pinning["mask"]
        result.results.append(r)
    base = result.results[0].stages["inference"].p50 if result.results else None
    for r in result.results:
        if base:
            r.ratios = {result.results[0].name: r.stages["inference"].p50 / base}
    result.notes.append(
        f"{device_label} ({info.soc.name or info.soc.part if info.soc else 'unknown SoC'}): pinned to CPUs "
        f"{outcome.pinning['cpus']} (mask {outcome.pinning['mask']}, {outcome.pinning['why']}), "
        f"{threads} thread(s); frame {plan.frame}; arm64 runner bundle over adb shell (CPU, XNNPACK)"
    )
    result.notes.extend(outcome.preflight.get("notes", []))
    result.finished_at = datetime.now(UTC).isoformat(timespec="milliseconds")
    return result


def published_figures(targets: Sequence[Target], info, result: BenchResult) -> list[dict[str, Any]]:
    """The card's published on-device figures measured on this phone's SoC, beside our measurement."""
    from mobilesdk.cards import resolve_card
    from mobilesdk.errors import UnknownModelError

    part = info.soc.part if info.soc else None
    if not part or not result.results:
        return []
    try:
        card = resolve_card(targets[0].name)
    except (UnknownModelError, MobileSDKError):
        return []
    found = []
    for fig in getattr(card, "published", None) or []:
        metric = fig["metric"] if isinstance(fig, dict) else getattr(fig, "metric", "")
        for slug, soc in PUBLISHED_SOCS.items():
            if slug in metric and part.startswith(soc):
                value = fig["value"] if isinstance(fig, dict) else fig.value
                unit = fig.get("unit") if isinstance(fig, dict) else getattr(fig, "unit", "")
                best = min(r.stats.p50 for r in result.results)
                measured = {"fps": 1000.0 / best, "ms": best}.get(unit, best)
                found.append(
                    {
                        "published": {"metric": metric, "value": value, "unit": unit,
                                      "source": fig.get("source") if isinstance(fig, dict) else None},
                        "measured": {"value": round(measured, 2), "unit": unit or "ms",
                                     "what": "best candidate, p50 end to end (preprocess + inference + decode)"},
                    }
                )  # fmt: skip
    return found
