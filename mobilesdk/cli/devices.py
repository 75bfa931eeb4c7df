"""`mobilesdk devices`: the phones adb sees, with SoC, CPU clusters, battery and thermal state."""

from __future__ import annotations

import json

import click

from mobilesdk.cli.options import json_option


@click.command()
@click.option("--serial", "-s", "serials", multiple=True, help="Only this phone (repeatable).")
@json_option
def devices(serials, as_json) -> None:
    """List phones connected over adb: identity, Android version, ABIs, SoC (part and marketing name), CPU
    clusters (cpus, max frequency, core type), battery and thermal state. Phones that are unauthorized or
    offline are listed with what to do about it.

    \b
    mobilesdk devices
    mobilesdk devices --json
    """
    from mobilesdk.device.adb import Adb
    from mobilesdk.device.info import DeviceInfo, describe
    from mobilesdk.device.transport import DeviceError

    adb = Adb()
    listed = adb.devices()
    if serials:
        known = {d.serial for d in listed}
        missing = [s for s in serials if s not in known]
        if missing:
            raise DeviceError(
                f"no phone with serial {missing[0]!r} (adb lists: {', '.join(sorted(known)) or 'none'})"
            )
        listed = [d for d in listed if d.serial in serials]
    infos: list[DeviceInfo] = []
    for d in listed:
        if d.state != "device":
            infos.append(
                DeviceInfo(serial=d.serial, state=d.state, advice=d.advice, model=d.details.get("model"))
            )
            continue
        try:
            infos.append(describe(adb.device(d.serial)))
        except DeviceError as exc:  # one phone failing does not hide the others
            infos.append(DeviceInfo(serial=d.serial, state="error", advice=str(exc)))
    if as_json:
        click.echo(
            json.dumps(
                {"adb": adb.path, "adb_version": adb.version(), "devices": [i.to_json() for i in infos]},
                indent=2,
            )
        )
        return
    if not infos:
        click.echo(
            "no phones: connect one with USB debugging on (Settings > Developer options), then `adb devices`"
        )
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="phones (adb)")
    for col in ("serial", "state", "phone", "Android", "SoC", "CPU clusters", "battery", "thermal"):
        table.add_column(col, overflow="fold")
    for i in infos:
        if i.state != "device":
            table.add_row(i.serial, i.state, i.model or "", "", "", "", "", i.advice or "")
            continue
        soc = i.soc
        soc_text = " ".join(
            x for x in (soc.part if soc else None, f"({soc.name})" if soc and soc.name else None) if x
        )
        clusters = "\n".join(
            f"{len(c.cpus)}x {c.core or '?'} @ {c.max_khz / 1e6:.2f} GHz (cpu {c.cpus[0]}-{c.cpus[-1]})"
            for c in reversed(i.clusters)
        )
        b = i.battery
        battery = (
            f"{b.get('level')}% {b.get('temperature_c')} °C{' charging' if b.get('charging') else ''}"
            if b
            else "?"
        )
        t = i.thermal
        hottest = max(t.get("temperatures_c", {}).values(), default=None)
        thermal = f"{t.get('status_name') or '?'}" + (
            f", max {hottest:.1f} °C" if hottest is not None else ""
        )
        table.add_row(
            i.serial,
            i.state,
            f"{i.manufacturer or ''} {i.model or ''}".strip(),
            f"{i.android or '?'} (SDK {i.sdk or '?'})\n{', '.join(i.abis)}",
            soc_text or "unknown",
            clusters,
            battery,
            thermal,
        )
    Console(width=160).print(table)
