"""`mobilesdk bench ... --adb-serial S`: the phone part of the bench command (mobilesdk/bench/phone.py)."""

from __future__ import annotations

import json
from pathlib import Path

import click


def phone_device(info: dict):
    """The history's record of a phone (mobilesdk.bench.records.Device) from DeviceInfo.to_json()."""
    from mobilesdk.bench.records import Device

    soc = info.get("soc") or {}
    return Device(
        "phone",
        cpu=soc.get("name") or soc.get("part"),
        cores=sum(len(c["cpus"]) for c in info.get("clusters", [])) or None,
        machine="aarch64",
        serial=info.get("serial"),
        manufacturer=info.get("manufacturer"),
        model=info.get("model"),
        soc_id=soc.get("part"),
        soc_name=soc.get("name"),
        android_version=info.get("android"),
        sdk=info.get("sdk"),
        abi=(info.get("abis") or [None])[0],
        extra={"fingerprint": info.get("fingerprint"), "clusters": info.get("clusters")},
    )


def run_phone_bench(
    targets: list[Path],
    serials: tuple[str, ...],
    *,
    threads: tuple[int, ...],
    iterations: int,
    warmup: int,
    frame: str,
    cooldown: float,
    cooldown_poll: float = 15.0,
    max_temp: float,
    keep: bool,
    device_runners: tuple[Path, ...] = (),
    native_cache: Path,
    as_json: bool,
    report_path: Path | None,
    db: Path | None,
    no_history: bool,
    host_result=None,
    progress,
) -> None:
    """Bench ``targets`` on each phone; print one report; store each phone's run; fail (one line) at the end if
    a phone failed or stayed hot — after everything measured was printed and stored."""
    from mobilesdk.bench.host import BenchError, resolve_target
    from mobilesdk.bench.phone import PhoneBenchError, PhoneOutcome, PhonePlan, PhoneTooHot, bench_phone
    from mobilesdk.bench.report import format_table, write_html
    from mobilesdk.cli.history import store_result
    from mobilesdk.device.adb import Adb
    from mobilesdk.device.transport import DeviceError
    from mobilesdk.native_cross import build_arm64_bundle

    if len(threads) > 1:
        raise BenchError("--adb-serial takes one --threads value (default: the size of the fastest cluster)")
    resolved = [resolve_target(t) for t in targets]
    plan = PhonePlan(
        warmup=warmup,
        iterations=iterations,
        threads=threads[0] if threads else None,
        frame=frame,
        cooldown_s=cooldown,
        poll_s=cooldown_poll,
        max_temp_c=max_temp,
        keep=keep,
        device_runners=tuple(device_runners),
    )
    adb = Adb()
    with progress.phase("Building the arm64 runner bundle (cached after the first time)"):
        bundle = build_arm64_bundle(native_cache.expanduser(), native_cache.expanduser().parent / "wheels")
    outcomes: list[PhoneOutcome] = []
    for serial in serials:
        try:
            dev = adb.device(serial)
            outcomes.append(bench_phone(resolved, dev, plan, bundle.bundle_dir, bundle.info, progress))
        except PhoneTooHot as exc:
            outcomes.append(PhoneOutcome(serial, error=str(exc), skipped=True))
        except (PhoneBenchError, DeviceError) as exc:
            outcomes.append(PhoneOutcome(serial, error=str(exc)))
    for o in outcomes:
        if o.result is not None:
            soc = (
                (o.device.get("soc") or {}).get("name") or (o.device.get("soc") or {}).get("part") or "SoC ?"
            )
            o.result.host = {
                "cpu": f"{o.device.get('manufacturer')} {o.device.get('model')} / {soc} ({o.serial})",
                "cores": len(o.pinning.get("cpus", [])),
                "machine": "aarch64",
            }
    if as_json:
        doc = {"phones": [o.to_json() for o in outcomes]}
        if host_result is not None:
            doc["host"] = host_result.to_json()
        click.echo(json.dumps(doc, indent=2))
    else:
        blocks = [format_table(host_result)] if host_result is not None else []
        for o in outcomes:
            if o.result is None:
                blocks.append(f"{o.serial}: {'skipped' if o.skipped else 'failed'}: {o.error}")
                continue
            blocks.append(format_table(o.result))
            for p in o.published:
                pub, got = p["published"], p["measured"]
                blocks.append(
                    f"  published (paper, {pub['source']}): {pub['metric']} = {pub['value']} {pub['unit']}   "
                    f"measured here: {got['value']} {got['unit']} ({got['what']})"
                )
        click.echo("\n\n".join(blocks))
    if report_path is not None:
        done = [o for o in outcomes if o.result is not None]
        if done:
            write_html(_one_report(done, host_result), report_path)
    if not no_history:
        if host_result is not None:
            store_result(host_result, db)
        for o in outcomes:
            if o.result is not None:
                store_result(o.result, db, device=phone_device(o.device))
    failed = [o for o in outcomes if o.error]
    if failed:
        raise click.ClickException(
            failed[0].error + (f" (and {len(failed) - 1} more)" if len(failed) > 1 else "")
        )


def _one_report(done, host_result):
    """Every phone's (and the host's) candidates in one result for the HTML report, named by where they ran."""
    import copy

    merged = copy.copy(done[0].result)
    merged.results, merged.notes = [], []
    sources = [(f"{o.device.get('model') or o.serial}", o.result) for o in done]
    if host_result is not None:
        sources.insert(0, ("host", host_result))
    for label, result in sources:
        for r in result.results:
            r = copy.copy(r)
            r.name = f"{label}: {r.name}"
            merged.results.append(r)
        merged.notes.extend(result.notes)
    if len(sources) > 1:
        merged.host = {"cpu": ", ".join(label for label, _ in sources), "cores": "-", "machine": "several"}
    return merged
