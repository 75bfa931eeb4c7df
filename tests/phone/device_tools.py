#!/usr/bin/python3 -S
"""The emulated phone's Android tools, one multi-call script (like toybox): taskset, dumpsys (battery,
thermalservice), cmd (power set-fixed-performance-mode-enabled). Stdlib only. (getprop/setprop: getprop.sh.)

Installed in the phone as /system/bin/<tool> -> /system/lib/emu/device_tools.py and run by /usr/bin/python3
inside the phone's namespace; device.py imports it on the host to refresh the thermal/battery files. State lives
in /mnt/emu (``EMU``): phone.json (the configuration adbd wrote), state.json (what the tools changed),
props.txt (getprop's properties) and taskset.log (one JSON line per taskset call, for tests to read).

Thermal model: the SKIN temperature is ``max(floor_c, start_c - cool_per_read_c * reads - cool_per_s_c *
seconds)`` where ``reads`` counts the earlier ``dumpsys thermalservice`` and ``dumpsys battery`` calls (a poll
shows the phone as it is, the next one finds it cooler) and ``seconds`` the time since the phone started;
every zone is SKIN + its offset. A phone that never cools has both rates 0.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time

EMU = "mnt/emu"  # relative to the phone's root ("/" inside the namespace)
STATUS_NAMES = ["NONE", "LIGHT", "MODERATE", "SEVERE", "CRITICAL", "EMERGENCY", "SHUTDOWN"]


def emu(root: str, name: str) -> str:
    return os.path.join(root, EMU, name)


def config(root: str) -> dict:
    with open(emu(root, "phone.json")) as f:
        return json.load(f)


@contextlib.contextmanager
def state(root: str, save: bool = True):
    """The mutable state (read count, battery overrides, fixed performance mode), under a lock."""
    with open(emu(root, "state.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = emu(root, "state.json")
        try:
            with open(path) as f:
                st = json.load(f)
        except FileNotFoundError:
            st = {"reads": 0, "battery": {}, "updates_stopped": False, "fixed_performance": False}
        yield st
        if not save:
            return
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(st, f)
        os.replace(tmp, path)
        with contextlib.suppress(OSError):  # written by adbd on the host: keep it the phone's file
            owner = os.stat(os.path.dirname(path))
            os.chown(path, owner.st_uid, owner.st_gid)


def thermal(root: str, cfg: dict, st: dict) -> dict:
    """Current temperatures (degC) and thermal status; writes them to the sysfs files too."""
    th = cfg["thermal"]
    elapsed = max(0.0, time.time() - th["t0"])
    skin = max(
        th["floor_c"], th["start_c"] - th["cool_per_read_c"] * st["reads"] - th["cool_per_s_c"] * elapsed
    )
    status = sum(skin >= t for t in th["skin_thresholds"])
    zones = [dict(z, value=round(skin + z["offset_c"], 1)) for z in cfg["thermal_zones"]]
    for z in zones:
        _write(
            os.path.join(root, "sys/class/thermal", f"thermal_zone{z['index']}", "temp"),
            int(z["value"] * 1000),
        )
    batt_c = next((z["value"] for z in zones if z["hal_type"] == 2), round(skin, 1))
    battery = battery_info(cfg, st, batt_c)
    ps = os.path.join(root, "sys/class/power_supply/battery")
    _write(os.path.join(ps, "temp"), battery["temperature"])
    _write(os.path.join(ps, "capacity"), battery["level"])
    _write(
        os.path.join(ps, "status"),
        {2: "Charging", 3: "Discharging", 4: "Not charging", 5: "Full"}.get(battery["status"], "Unknown"),
    )
    return {"skin": round(skin, 1), "status": status, "zones": zones, "battery": battery}


def _write(path: str, value) -> None:
    """Write a sysfs-like file, only if its value changed (rewriting a file costs ~1 ms here)."""
    text = f"{value}\n"
    with contextlib.suppress(OSError):
        with open(path) as f:
            if f.read() == text:
                return
        with open(path, "w") as f:
            f.write(text)


def battery_info(cfg: dict, st: dict, batt_c: float) -> dict:
    b = cfg["battery"]
    info = {
        "ac": False,
        "usb": bool(b.get("usb", True)),
        "wireless": False,
        "dock": False,
        "status": 2 if b.get("usb", True) and b["level"] < 100 else (5 if b["level"] >= 100 else 3),
        "health": 2,
        "present": True,
        "level": int(b["level"]),
        "voltage": 3700 + int(b["level"]) * 5,
        "temperature": int(round(batt_c * 10)),
    }
    info.update(st.get("battery", {}))
    return info


def refresh(root: str, advance: bool = False) -> dict:
    """Recompute the thermal/battery files (adbd calls this before every shell command); ``advance``: this
    is a read that counts (the next one sees the phone cooler by cool_per_read_c)."""
    cfg = config(root)
    with state(root, save=advance) as st:
        info = thermal(root, cfg, st)
        if advance:
            st["reads"] += 1
        return info


# ----------------------------------------------------------------------------------------------- tools


def taskset(args: list[str]) -> int:
    """toybox's ``taskset [-ap] [mask] [PID | cmd [args...]]``. Records the mask, then runs the command
    unpinned (the host has fewer cores than the phone: pinning is not emulated)."""
    flags = ""
    while args and args[0].startswith("-") and len(args[0]) > 1:
        flags += args.pop(0)[1:]
    ncpus = config("/")["ncpus"]
    full = (1 << ncpus) - 1

    def parse(mask: str) -> int:
        try:
            return int(mask, 16) if mask and all(c in "0123456789abcdefABCDEF" for c in mask) else -1
        except ValueError:
            return -1

    def record(mask: str, argv: list[str], pid: int) -> None:
        with open(emu("/", "taskset.log"), "a") as f:
            cpus = [c for c in range(64) if parse(mask) >> c & 1]
            f.write(
                json.dumps({"mask": mask, "cpus": cpus, "argv": argv, "pid": pid, "time": time.time()}) + "\n"
            )

    if "p" not in flags:
        if len(args) < 2:
            print("taskset: Needs 2 args", file=sys.stderr)
            return 1
        mask = parse(args[0])
        if mask < 0:
            print(f"taskset: bad mask '{args[0]}'", file=sys.stderr)
            return 1
        if not mask & full:
            print(f"taskset: failed to set pid {os.getpid()}'s affinity: Invalid argument", file=sys.stderr)
            return 1
        record(args[0], args[1:], os.getpid())
        try:
            os.execvp(args[1], args[1:])
        except OSError as e:
            print(f"taskset: exec {args[1]}: {e.strerror}", file=sys.stderr)
            return 127
    pid = args[-1] if args else ""
    if not pid.isdigit():
        print(f"taskset: Not int {pid}", file=sys.stderr)
        return 1
    print(f"pid {pid}'s current affinity mask: {full:x}")
    if len(args) >= 2:
        mask = parse(args[0])
        if mask < 0 or not mask & full:
            print(f"taskset: failed to set pid {pid}'s affinity: Invalid argument", file=sys.stderr)
            return 1
        record(args[0], [], int(pid))
        print(f"pid {pid}'s new affinity mask: {mask & full:x}")
    return 0


def dumpsys(args: list[str]) -> int:
    if not args or args[0] == "-l":
        print("Currently running services:\n  battery\n  thermalservice\n  power")
        return 0
    service, rest = args[0], args[1:]
    if service == "battery":
        return _dumpsys_battery(rest)
    if service == "thermalservice":
        info = refresh("/", advance=True)
        _print_thermal(info)
        return 0
    print(f"Can't find service: {service}")
    return 0


def _dumpsys_battery(rest: list[str]) -> int:
    keys = {"ac": "ac", "usb": "usb", "wireless": "wireless", "status": "status", "level": "level",
            "temp": "temperature", "present": "present", "counter": "counter"}  # fmt: skip
    cfg = config("/")
    with state("/") as st:
        if rest and rest[0] == "unplug":
            st["battery"].update(ac=False, usb=False, wireless=False)
            st["updates_stopped"] = True
            return 0
        if rest and rest[0] == "reset":
            st["battery"], st["updates_stopped"] = {}, False
            return 0
        if rest and rest[0] == "set" and len(rest) == 3 and rest[1] in keys:
            value = rest[2]
            v = (
                value.lower() in ("1", "true")
                if rest[1] in ("ac", "usb", "wireless", "present")
                else int(value)
            )
            st["battery"][keys[rest[1]]] = v
            st["updates_stopped"] = True
            return 0
        if rest and rest[0] == "get" and len(rest) == 2 and rest[1] in keys:
            info = thermal("/", cfg, st)["battery"]
            print(str(info.get(keys[rest[1]], 0)).lower())
            return 0
        if rest:
            print(f"Unknown command: {rest[0]}", file=sys.stderr)
            return 255
        info, stopped = thermal("/", cfg, st)["battery"], st["updates_stopped"]
        st["reads"] += 1
    b = lambda v: "true" if v else "false"  # noqa: E731
    lines = ["Current Battery Service state:"]
    if stopped:
        lines.append("  (UPDATES STOPPED -- use 'reset' to restart)")
    lines += [
        f"  AC powered: {b(info['ac'])}",
        f"  USB powered: {b(info['usb'])}",
        f"  Wireless powered: {b(info['wireless'])}",
        f"  Dock powered: {b(info['dock'])}",
        "  Max charging current: 500000",
        "  Max charging voltage: 5000000",
        f"  Charge counter: {info['level'] * 40000}",
        f"  status: {info['status']}",
        f"  health: {info['health']}",
        f"  present: {b(info['present'])}",
        f"  level: {info['level']}",
        "  scale: 100",
        f"  voltage: {info['voltage']}",
        f"  temperature: {info['temperature']}",
        "  technology: Li-ion",
    ]
    print("\n".join(lines))
    return 0


def _print_thermal(info: dict) -> None:
    def temp(z, status):
        return f"\tTemperature{{mValue={z['value']}, mType={z['hal_type']}, mName={z['hal_name']}, mStatus={status}}}"

    temps = [temp(z, info["status"] if z["hal_type"] == 3 else 0) for z in info["zones"]]
    cfg = config("/")
    thresholds = ", ".join(str(t) for t in cfg["thermal"]["skin_thresholds"])
    skin = [z for z in info["zones"] if z["hal_type"] == 3]
    out = [
        "IsStatusOverride: false",
        "ThermalEventListeners:",
        "\tcallbacks: 1",
        "\tkilled: false",
        "\tbroadcasts count: -1",
        "ThermalStatusListeners:",
        "\tcallbacks: 1",
        "\tkilled: false",
        "\tbroadcasts count: -1",
        f"Thermal Status: {info['status']}",
        "Cached temperatures:",
        *temps,
        "HAL Ready: true",
        "HAL connection:",
        "\tThermalHAL AIDL 1  connected: yes",
        "Current temperatures from HAL:",
        *temps,
        "Current cooling devices from HAL:",
        "Temperature static thresholds from HAL:",
        *[
            f"\tTemperatureThreshold{{mType=3, mName={z['hal_name']}, mHotThrottlingThresholds=[NaN, {thresholds}], "
            "mColdThrottlingThresholds=[NaN, NaN, NaN, NaN, NaN, NaN, NaN]}"
            for z in skin
        ],
    ]
    print("\n".join(out))


def cmd(args: list[str]) -> int:
    """``cmd power set-fixed-performance-mode-enabled true|false``: caps every policy's scaling_max_freq
    (GUESS of the effect: ~60 % of the cluster's max, as react-native-executorch measured on a Galaxy)."""
    if args[:2] == ["power", "set-fixed-performance-mode-enabled"] and len(args) == 3:
        on = args[2] == "true"
        cfg = config("/")
        with state("/") as st:
            st["fixed_performance"] = on
        for pol in cfg["policies"]:
            cap = (
                pol["max_khz"]
                if not on
                else min(pol["available_khz"], key=lambda f: abs(f - 0.6 * pol["max_khz"]))
            )
            _write(f"/sys/devices/system/cpu/cpufreq/policy{pol['id']}/scaling_max_freq", cap)
            _write(f"/sys/devices/system/cpu/cpufreq/policy{pol['id']}/scaling_cur_freq", cap)
        return 0
    if args:
        print(f"cmd: Can't find service: {args[0]}", file=sys.stderr)
        return 20
    print(
        "cmd: No service specified; use -l to list all running services. Use -w to start and wait for a service."
    )
    return 20


TOOLS = {"taskset": taskset, "dumpsys": dumpsys, "cmd": cmd}

if __name__ == "__main__":
    tool = os.path.basename(sys.argv[0])
    sys.exit(TOOLS[tool](sys.argv[1:]) if tool in TOOLS else 127)
