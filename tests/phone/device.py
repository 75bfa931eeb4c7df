"""The emulated phone's filesystem and namespace (stdlib only; used by adbd.py).

``build(phone_dir, profile, options)`` lays out ``phone_dir/root`` (what becomes ``/`` on the phone) from a
profile: /sys/devices/system/cpu with clusters and cpufreq policies, /sys/class/thermal zones, a battery under
/sys/class/power_supply, /sys/devices/soc0, /system/bin tools (device_tools.py), /system/build.prop, and
``phone_dir/cpuinfo`` (bound over /proc/cpuinfo). ``Namespace`` starts nsinit.py on it and gives the argv that
runs a device command inside (``nsenter``), plus the host path of a device path (``/proc/<init>/root/...``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from tests.phone.profiles import SKIN_THRESHOLDS

HERE = Path(__file__).resolve().parent
NS_UID = NS_GID = 2000  # the phone's root user on the host: unprivileged (2000 is Android's "shell" uid)
SYSTEM_PYTHON = "/usr/bin/python3"
NSENTER = "/usr/bin/nsenter"
QEMU = "/usr/bin/qemu-aarch64"
ANDROID_PATH = (
    "/product/bin:/apex/com.android.runtime/bin:/apex/com.android.art/bin:/system_ext/bin:/system/bin:"
    "/system/xbin:/odm/bin:/vendor/bin:/vendor/xbin:/usr/bin:/bin"  # + the host's tools (toybox's stand-ins)
)
TOOLS = ("taskset", "dumpsys", "cmd")  # Python (device_tools.py); getprop/setprop are getprop.sh
DEFAULT_THERMAL = {"start_c": 30.0, "floor_c": 30.0, "cool_per_read_c": 0.0, "cool_per_s_c": 0.0}
DEFAULT_BATTERY = {"level": 80, "usb": True}
EMU_DIR = "mnt/emu"  # the phone's tool state and configuration (device_tools.py), on the phone and the host


def cpulist(cpus) -> str:
    cpus = sorted(cpus)
    runs, start = [], None
    for i, c in enumerate(cpus):
        if start is None:
            start = c
        if i + 1 == len(cpus) or cpus[i + 1] != c + 1:
            runs.append(f"{start}" if start == c else f"{start}-{c}")
            start = None
    return ",".join(runs)


def _w(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{value}\n")


def cpuinfo_text(profile: dict) -> str:
    blocks = []
    for cl in profile["clusters"]:
        for cpu in cl["cpus"]:
            blocks.append(
                f"processor\t: {cpu}\nBogoMIPS\t: 38.40\nFeatures\t: {profile['features']}\n"
                f"CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: {cl['variant']:#x}\n"
                f"CPU part\t: {cl['part']:#x}\nCPU revision\t: {cl['revision']}\n"
            )
    text = "\n".join(sorted(blocks, key=lambda b: int(b.split(":", 1)[1].split("\n", 1)[0])))
    if profile.get("cpuinfo_hardware"):
        text += f"\nHardware\t: {profile['cpuinfo_hardware']}\n"
    return text


def build_sys(sysroot: Path, profile: dict) -> list[dict]:
    """/sys for the profile; returns the cpufreq policies."""
    cpu_dir = sysroot / "devices/system/cpu"
    n = profile["ncpus"]
    every = cpulist(range(n))
    for name in ("possible", "present", "online"):
        _w(cpu_dir / name, every)
    _w(cpu_dir / "offline", "")
    _w(cpu_dir / "kernel_max", profile["kernel_max"])
    policies = []
    for cluster_id, cl in enumerate(profile["clusters"]):
        pid = cl["cpus"][0]
        pol = cpu_dir / "cpufreq" / f"policy{pid}"
        related = cpulist(cl["cpus"])
        for name, value in {
            "affected_cpus": " ".join(map(str, cl["cpus"])),
            "related_cpus": " ".join(map(str, cl["cpus"])),
            "cpuinfo_max_freq": cl["max_khz"],
            "cpuinfo_min_freq": cl["min_khz"],
            "cpuinfo_transition_latency": 0,
            "scaling_max_freq": cl["max_khz"],
            "scaling_min_freq": cl["min_khz"],
            "scaling_cur_freq": cl["max_khz"],
            "scaling_governor": cl["governor"],
            "scaling_available_governors": f"{cl['governor']} performance powersave userspace schedutil",
            "scaling_available_frequencies": " ".join(map(str, cl["available_khz"])),
            "scaling_driver": profile["scaling_driver"],
            "scaling_setspeed": "<unsupported>",
        }.items():
            _w(pol / name, value)
        _w(pol / "stats/time_in_state", "\n".join(f"{f} 0" for f in cl["available_khz"]))
        policies.append(
            {"id": pid, "cpus": cl["cpus"], "max_khz": cl["max_khz"], "available_khz": cl["available_khz"]}
        )
        for core_id, cpu in enumerate(cl["cpus"]):
            c = cpu_dir / f"cpu{cpu}"
            c.mkdir(parents=True, exist_ok=True)
            (c / "cpufreq").symlink_to(f"../cpufreq/policy{pid}")
            if cpu:
                _w(c / "online", 1)
            midr = (0x41 << 24) | (cl["variant"] << 20) | (0xF << 16) | (cl["part"] << 4) | cl["revision"]
            _w(c / "regs/identification/midr_el1", f"0x{midr:016x}")
            _w(c / "regs/identification/revidr_el1", "0x0000000000000000")
            topo = c / "topology"
            for name, value in {
                "core_id": core_id,
                "cluster_id": cluster_id,
                "physical_package_id": 0,
                "thread_siblings_list": cpu,
                "thread_siblings": f"{1 << cpu:x}",
                "core_cpus_list": cpu,
                "core_siblings_list": every,
                "package_cpus_list": every,
                "cluster_cpus_list": related,
            }.items():
                _w(topo / name, value)
    thermal = sysroot / "devices/virtual/thermal"
    for i, (ztype, *_rest) in enumerate(profile["thermal_zones"]):
        _w(thermal / f"thermal_zone{i}/type", ztype)
        _w(thermal / f"thermal_zone{i}/temp", 30000)
        _w(thermal / f"thermal_zone{i}/mode", "enabled")
        _w(thermal / f"thermal_zone{i}/policy", "step_wise")
        link = sysroot / f"class/thermal/thermal_zone{i}"
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(f"../../devices/virtual/thermal/thermal_zone{i}")
    batt = sysroot / "class/power_supply/battery"
    for name, value in {"type": "Battery", "present": 1, "health": "Good", "technology": "Li-ion",
                        "status": "Charging", "capacity": 80, "temp": 300, "voltage_now": 4100000,
                        "current_now": -250000}.items():  # fmt: skip
        _w(batt / name, value)
    for name, value in profile.get("soc0", {}).items():
        _w(sysroot / "devices/soc0" / name, value)
    return policies


def build(phone_dir: Path, profile: dict, options: dict) -> dict:
    """Lay out the phone; returns the nsinit configuration."""
    root = phone_dir / "root"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    os.chmod(phone_dir, 0o755)
    os.chmod(root, 0o755)
    binds = ["usr", "etc"]
    for entry in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        host = Path("/") / entry
        if host.is_symlink():
            (root / entry).symlink_to(os.readlink(host))
        elif host.is_dir():
            binds.append(entry)
    for d in (*binds, "dev", "proc", "data", "mnt/emu", "vendor/bin", "product/bin", "odm/bin", "apex",
              "storage", "system/bin", "system/lib/emu", "system/xbin", "cache", "config"):  # fmt: skip
        (root / d).mkdir(parents=True, exist_ok=True)
    policies = build_sys(root / "sys", profile)
    (phone_dir / "cpuinfo").write_text(cpuinfo_text(profile))
    tools = root / "system/lib/emu/device_tools.py"
    shutil.copyfile(HERE / "device_tools.py", tools)
    tools.chmod(0o755)
    (root / "system/bin/sh").symlink_to("/bin/sh")
    shutil.copyfile(HERE / "getprop.sh", root / "system/lib/emu/getprop.sh")
    (root / "system/lib/emu/getprop.sh").chmod(0o755)
    for tool in TOOLS:
        (root / "system/bin" / tool).symlink_to("../lib/emu/device_tools.py")
    for tool in ("getprop", "setprop"):
        (root / "system/bin" / tool).symlink_to("../lib/emu/getprop.sh")
    props = profile["props"]
    (root / "system/build.prop").write_text("".join(f"{k}={v}\n" for k, v in sorted(props.items())))
    (root / EMU_DIR / "props.txt").write_text("".join(f"[{k}]: [{v}]\n" for k, v in sorted(props.items())))
    zones = [
        {"index": i, "type": t, "hal_name": name, "hal_type": hal_type, "offset_c": off}
        for i, (t, name, hal_type, off) in enumerate(profile["thermal_zones"])
    ]
    thermal = dict(DEFAULT_THERMAL, **options.get("thermal", {}))
    thermal.setdefault("skin_thresholds", profile.get("skin_thresholds", SKIN_THRESHOLDS))
    thermal["t0"] = time.time()
    (root / EMU_DIR / "phone.json").write_text(
        json.dumps(
            {
                "props": props,
                "ncpus": profile["ncpus"],
                "policies": policies,
                "thermal": thermal,
                "thermal_zones": zones,
                "battery": dict(DEFAULT_BATTERY, **options.get("battery", {})),
            },
            indent=1,
        )
    )
    for name in ("state.lock", "taskset.log"):
        (root / EMU_DIR / name).touch()
    for d in (root / "sys", root / "mnt"):  # the phone's root may write them (governors, tool state)
        for path in [d, *d.rglob("*")]:
            os.lchown(path, NS_UID, NS_GID)
    return {
        "root": str(root),
        "host_dir": str(phone_dir),
        "storage_bytes": int(options.get("storage_bytes", 1 << 30)),
        "prefill_bytes": int(options.get("prefill_bytes", 0)),
        "cpuset": str(options.get("cpuset") or f"0-{profile['ncpus'] - 1}"),
        "ns_uid": NS_UID,
        "ns_gid": NS_GID,
        "qemu": QEMU if os.path.exists(QEMU) else "",
        "binds": binds,
    }


class Namespace:
    """nsinit.py running the phone's user+mount+pid namespace."""

    def __init__(self, phone_dir: Path, ns_config: dict):
        self.phone_dir, self.config = phone_dir, ns_config
        self.proc: subprocess.Popen | None = None
        self.pid = 0

    def start(self, timeout: float = 20.0) -> None:
        cfg_path = self.phone_dir / "nsinit.json"
        cfg_path.write_text(json.dumps(self.config))
        log = open(self.phone_dir / "nsinit.log", "wb")  # noqa: SIM115 (kept by the child)
        self.proc = subprocess.Popen(
            [SYSTEM_PYTHON, str(HERE / "nsinit.py"), str(cfg_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            cwd="/",
        )
        log.close()
        deadline = time.monotonic() + timeout
        lines, ready = [], False
        while time.monotonic() < deadline:  # "pid N" (parent) and "ready" (child) come in either order
            line = self.proc.stdout.readline().decode().strip()
            if not line or line.startswith("error"):
                lines.append(line)
                break
            lines.append(line)
            if line.startswith("pid "):
                self.pid = int(line.split()[1])
            ready = ready or line == "ready"
            if ready and self.pid:
                return
        detail = (self.phone_dir / "nsinit.log").read_text()[-2000:]
        self.stop()
        raise RuntimeError(f"phone namespace did not start: {lines} {detail}")

    def argv(self, command: str | None) -> list[str]:
        sh = ["/system/bin/sh"] + (["-c", command] if command else [])
        return [NSENTER, "-t", str(self.pid), "-U", "-m", "-p", "-r", "-w", "--", *sh]

    def host_path(self, device_path: str) -> str:
        return f"/proc/{self.pid}/root/{device_path.lstrip('/')}"

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None


def refresh_thermal(ns: Namespace) -> None:
    """Time-based cooling shows in the sysfs files too: recompute them before each device command."""
    from tests.phone import device_tools

    device_tools.refresh(str(ns.phone_dir / "root"))


def shell_env(device: str, term: str | None) -> dict:
    env = {
        "PATH": ANDROID_PATH,
        "HOME": "/",
        "TMPDIR": "/data/local/tmp",
        "ANDROID_DATA": "/data",
        "ANDROID_ROOT": "/system",
        "ANDROID_STORAGE": "/storage",
        "EXTERNAL_STORAGE": "/sdcard",
        "HOSTNAME": device,
        "SHELL": "/system/bin/sh",
        "USER": "shell",
        "LOGNAME": "shell",
    }
    if term:
        env["TERM"] = term
    return env
