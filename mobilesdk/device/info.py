"""Who a phone is: identity from getprop, the SoC (Snapdragon part -> marketing name), CPU clusters from sysfs
and /proc/cpuinfo, battery and thermal state from dumpsys (sysfs as the fallback).

Parsers are pure functions over text, so they are tested on recorded outputs; :func:`describe` gathers the
texts over a transport in a handful of commands (each adb round trip costs tens of ms on a phone).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from mobilesdk.device.transport import Transport

# Snapdragon part numbers (suffixes such as -AB, -AC, P normalised away only when the exact part is unknown).
# Sources: Qualcomm AI Hub's chipset list, press releases (specs/bench.md §3.7).
SOC_NAMES = {
    "SDM845": "Snapdragon 845",
    "SM8150": "Snapdragon 855",
    "SM8250": "Snapdragon 865",
    "SM8250-AB": "Snapdragon 865+",
    "SM8350": "Snapdragon 888",
    "SM8450": "Snapdragon 8 Gen 1",
    "SM8475": "Snapdragon 8+ Gen 1",
    "SM8550": "Snapdragon 8 Gen 2",
    "SM8635": "Snapdragon 8s Gen 3",
    "SM8650": "Snapdragon 8 Gen 3",
    "SM8735": "Snapdragon 8s Gen 4",
    "SM8750": "Snapdragon 8 Elite",
    "SM8750-AC": "Snapdragon 8 Elite for Galaxy",
    "SM8850": "Snapdragon 8 Elite Gen 5",
    "SM7750": "Snapdragon 7 Gen 4",
    "SM7675": "Snapdragon 7+ Gen 3",
    "SM7550": "Snapdragon 7 Gen 3",
    "SM7635": "Snapdragon 7s Gen 3",
    "SM7435": "Snapdragon 7s Gen 2",
    "SM7475": "Snapdragon 7+ Gen 2",
    "SM7450": "Snapdragon 7 Gen 1",
    "SM7325": "Snapdragon 778G",
    "SM7250": "Snapdragon 765G",
    "SM7150": "Snapdragon 730",
    "SM6375": "Snapdragon 695",
    "SM6225": "Snapdragon 680",
    "SM6150": "Snapdragon 675",
}
# ro.board.platform codenames of Qualcomm platforms -> part (used when ro.soc.model is absent, pre-API 31).
PLATFORM_CODENAMES = {
    "sdm845": "SDM845",
    "msmnile": "SM8150",
    "kona": "SM8250",
    "lahaina": "SM8350",
    "taro": "SM8450",
    "kalama": "SM8550",
    "pineapple": "SM8650",
    "sun": "SM8750",
}
# ARM / Qualcomm MIDR part numbers (implementer 0x41 ARM, 0x51 Qualcomm) -> core name.
CPU_PARTS = {
    (0x41, 0xD03): "Cortex-A53",
    (0x41, 0xD04): "Cortex-A35",
    (0x41, 0xD05): "Cortex-A55",
    (0x41, 0xD07): "Cortex-A57",
    (0x41, 0xD08): "Cortex-A72",
    (0x41, 0xD09): "Cortex-A73",
    (0x41, 0xD0A): "Cortex-A75",
    (0x41, 0xD0B): "Cortex-A76",
    (0x41, 0xD0D): "Cortex-A77",
    (0x41, 0xD41): "Cortex-A78",
    (0x41, 0xD44): "Cortex-X1",
    (0x41, 0xD46): "Cortex-A510",
    (0x41, 0xD47): "Cortex-A710",
    (0x41, 0xD48): "Cortex-X2",
    (0x41, 0xD4D): "Cortex-A715",
    (0x41, 0xD4E): "Cortex-X3",
    (0x41, 0xD80): "Cortex-A520",
    (0x41, 0xD81): "Cortex-A720",
    (0x41, 0xD82): "Cortex-X4",
    (0x41, 0xD85): "Cortex-X925",
    (0x41, 0xD87): "Cortex-A725",
    (0x51, 0x804): "Kryo 4xx Gold (A76)",
    (0x51, 0x805): "Kryo 4xx Silver (A55)",
    (0x51, 0x001): "Oryon",
}
THERMAL_STATUS = ["none", "light", "moderate", "severe", "critical", "emergency", "shutdown"]


@dataclass(frozen=True)
class Soc:
    part: str | None  # e.g. "SM8650"; None when nothing identifies it
    name: str | None  # e.g. "Snapdragon 8 Gen 3"
    manufacturer: str | None
    source: str  # the property it came from


def soc_from_props(props: dict[str, str]) -> Soc:
    """The SoC in the order of specs/bench.md §3.7: ro.soc.model (API 31+), ro.vendor.qti.soc_name,
    ro.board.platform (Qualcomm codename), ro.hardware."""
    manufacturer = props.get("ro.soc.manufacturer") or None
    for key in ("ro.soc.model", "ro.vendor.qti.soc_name"):
        value = (props.get(key) or "").strip()
        if value:
            part = value.upper()
            return Soc(part, soc_name(part), manufacturer, key)
    platform = (props.get("ro.board.platform") or "").strip().lower()
    if platform in PLATFORM_CODENAMES:
        part = PLATFORM_CODENAMES[platform]
        return Soc(part, soc_name(part), manufacturer or "QTI", "ro.board.platform")
    hardware = (props.get("ro.hardware") or "").strip()
    if hardware and hardware.lower() not in ("qcom", "mt", ""):
        return Soc(hardware, soc_name(hardware.upper()), manufacturer, "ro.hardware")
    return Soc(None, None, manufacturer, "none")


def soc_name(part: str) -> str | None:
    """Marketing name of a part number: exact first (SM8750-AC), then without suffixes (SM8650P -> SM8650)."""
    if part in SOC_NAMES:
        return SOC_NAMES[part]
    m = re.match(r"^(SDM\d{3}|SM\d{4})", part)
    return SOC_NAMES.get(m.group(1)) if m else None


@dataclass(frozen=True)
class Cluster:
    cpus: tuple[int, ...]
    max_khz: int
    core: str | None  # from /proc/cpuinfo's CPU part, where known

    @property
    def mask(self) -> int:
        m = 0
        for c in self.cpus:
            m |= 1 << c
        return m


def parse_cpu_list(text: str) -> list[int]:
    """Kernel CPU lists: ``0-3,6`` -> [0, 1, 2, 3, 6]."""
    cpus: list[int] = []
    for part in text.strip().split(","):
        if not part.strip():
            continue
        lo, _, hi = part.partition("-")
        cpus.extend(range(int(lo), int(hi or lo) + 1))
    return cpus


def parse_cpuinfo_parts(text: str) -> dict[int, str]:
    """cpu -> core name from /proc/cpuinfo (``processor``, ``CPU implementer``, ``CPU part`` per block)."""
    names: dict[int, str] = {}
    cpu, implementer = None, None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip().lower(), value.strip()
        if key == "processor" and value.isdigit():
            cpu, implementer = int(value), None
        elif key == "cpu implementer":
            implementer = int(value, 0)
        elif key == "cpu part" and cpu is not None:
            part = int(value, 0)
            names[cpu] = CPU_PARTS.get((implementer or 0x41, part), f"part {value}")
    return names


def clusters_from(max_freqs: dict[int, int], parts: dict[int, str]) -> list[Cluster]:
    """Clusters = CPUs of equal maximum frequency (one clock domain each on Snapdragon), slowest first."""
    by_freq: dict[int, list[int]] = {}
    for cpu, khz in sorted(max_freqs.items()):
        by_freq.setdefault(khz, []).append(cpu)
    out = []
    for khz, cpus in sorted(by_freq.items()):
        cores = {parts.get(c) for c in cpus} - {None}
        out.append(Cluster(tuple(cpus), khz, "/".join(sorted(cores)) if cores else None))
    return out


def parse_battery(text: str) -> dict[str, Any]:
    """``dumpsys battery``: level (%), temperature (°C; the text has tenths), charging (AC/USB/wireless
    powered, or status 2 = charging)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition(":")
        if sep:
            values[key.strip()] = value.strip()
    level = int(values["level"]) if values.get("level", "").lstrip("-").isdigit() else None
    temp = int(values["temperature"]) / 10 if values.get("temperature", "").lstrip("-").isdigit() else None
    powered = any(
        values.get(k) == "true" for k in ("AC powered", "USB powered", "Wireless powered", "Dock powered")
    )
    charging = powered or values.get("status") == "2"
    return {"level": level, "temperature_c": temp, "charging": charging}


_TEMP = re.compile(r"Temperature\{mValue=([-0-9.eE]+), mType=(-?\d+), mName=([^,]+), mStatus=(-?\d+)")


def parse_thermalservice(text: str) -> dict[str, Any]:
    """``dumpsys thermalservice``: the thermal status (0 none .. 6 shutdown) and the HAL's current
    temperatures (°C) by sensor name (the 'Current temperatures from HAL' block, else the cached one)."""
    m = re.search(r"Thermal Status:\s*(\d+)", text)
    status = int(m.group(1)) if m else None
    temps: dict[str, float] = {}
    section = text
    for head in ("Current temperatures from HAL:", "Cached temperatures:"):
        if head in text:
            section = text.split(head, 1)[1]
            nxt = re.search(r"^\S.*:\s*$", section, re.MULTILINE)
            section = section[: nxt.start()] if nxt else section
            break
    for value, _type, name, _st in _TEMP.findall(section):
        try:
            temps[name.strip()] = float(value)
        except ValueError:
            continue
    return {"status": status, "status_name": _status_name(status), "temperatures_c": temps}


def _status_name(status: int | None) -> str | None:
    return THERMAL_STATUS[status] if status is not None and 0 <= status < len(THERMAL_STATUS) else None


@dataclass
class DeviceInfo:
    serial: str
    state: str
    advice: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    device: str | None = None
    android: str | None = None
    sdk: int | None = None
    abis: list[str] = field(default_factory=list)
    soc: Soc | None = None
    clusters: list[Cluster] = field(default_factory=list)
    battery: dict[str, Any] = field(default_factory=dict)
    thermal: dict[str, Any] = field(default_factory=dict)
    fingerprint: str | None = None
    build_type: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["clusters"] = [
            {"cpus": list(c.cpus), "max_mhz": round(c.max_khz / 1000), "core": c.core, "mask": f"{c.mask:x}"}
            for c in self.clusters
        ]
        return out

    @property
    def big_cluster(self) -> Cluster | None:
        return self.clusters[-1] if self.clusters else None


# One shell script per aspect: a phone answers each adb round trip in tens of ms.
_CPU_SCRIPT = (
    "for c in /sys/devices/system/cpu/cpu[0-9]*; do "
    'f=$(cat $c/cpufreq/cpuinfo_max_freq 2>/dev/null); echo "${c##*cpu} ${f:-0}"; done'
)


def read_max_freqs(t: Transport) -> dict[int, int]:
    r = t.run(["sh", "-c", _CPU_SCRIPT], timeout=30)
    freqs: dict[int, int] = {}
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            freqs[int(parts[0])] = int(parts[1])
    return freqs


def read_thermal(t: Transport) -> dict[str, Any]:
    """Thermal status and temperatures: dumpsys thermalservice (Android 10+), else the sysfs zones."""
    r = t.run(["dumpsys", "thermalservice"], timeout=30)
    if r.exit_code == 0 and "Thermal Status" in r.stdout:
        return parse_thermalservice(r.stdout)
    z = t.run(
        [
            "sh",
            "-c",
            'for z in /sys/class/thermal/thermal_zone*; do echo "$(cat $z/type) $(cat $z/temp)"; done',
        ],
        timeout=30,
    )
    temps = {}
    for line in z.stdout.splitlines():
        name, _, milli = line.rpartition(" ")
        if name and milli.lstrip("-").isdigit():
            temps[name] = int(milli) / 1000
    return {"status": None, "status_name": None, "temperatures_c": temps}


def read_battery(t: Transport) -> dict[str, Any]:
    r = t.run(["dumpsys", "battery"], timeout=30)
    return parse_battery(r.stdout) if r.exit_code == 0 else {}


def describe(t: Transport, state: str = "device") -> DeviceInfo:
    """Everything `mobilesdk devices` shows about a phone that is online."""
    props = t.properties()
    parts = parse_cpuinfo_parts(t.read_text("/proc/cpuinfo") or "")
    abis = [
        a
        for a in (props.get("ro.product.cpu.abilist") or props.get("ro.product.cpu.abi", "")).split(",")
        if a
    ]
    sdk = props.get("ro.build.version.sdk", "")
    return DeviceInfo(
        serial=t.serial,
        state=state,
        manufacturer=props.get("ro.product.manufacturer"),
        model=props.get("ro.product.model"),
        device=props.get("ro.product.device"),
        android=props.get("ro.build.version.release"),
        sdk=int(sdk) if sdk.isdigit() else None,
        abis=abis,
        soc=soc_from_props(props),
        clusters=clusters_from(read_max_freqs(t), parts),
        battery=read_battery(t),
        thermal=read_thermal(t),
        fingerprint=props.get("ro.build.fingerprint"),
        build_type=props.get("ro.build.type"),
    )
