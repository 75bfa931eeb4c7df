"""Parsers of what phones print (getprop, adb devices -l, /proc/cpuinfo, dumpsys battery/thermalservice), on
texts in the formats real phones and adb versions produce."""

from __future__ import annotations

import pytest

from mobilesdk.device import info
from mobilesdk.device.adb import parse_devices, parse_getprop

DEVICES_L = """\
* daemon not running; starting now at tcp:5037
* daemon started successfully
List of devices attached
R5CX123ABC             device usb:1-1 product:e3qxxx model:SM_S928B device:e3q transport_id:3
127.0.0.1:5601         unauthorized transport_id:4
emulator-5554          offline transport_id:1
0123456789ABCDEF       no permissions (missing udev rules? user is in the plugdev group); see [http://developer.android.com/tools/device.html]

"""


def test_adb_devices_listing():
    found = {d.serial: d for d in parse_devices(DEVICES_L)}
    assert set(found) == {"R5CX123ABC", "127.0.0.1:5601", "emulator-5554", "0123456789ABCDEF"}
    assert found["R5CX123ABC"].state == "device"
    assert found["R5CX123ABC"].details["model"] == "SM_S928B"
    assert found["127.0.0.1:5601"].state == "unauthorized"
    assert "RSA" in found["127.0.0.1:5601"].advice
    assert found["emulator-5554"].state == "offline" and "reconnect" in found["emulator-5554"].advice
    assert found["0123456789ABCDEF"].state == "no permissions"
    assert parse_devices("List of devices attached\n\n") == []


def test_getprop_lines():
    props = parse_getprop("[ro.soc.model]: [SM8650]\n[ro.product.model]: [SM-S921B]\n[empty]: []\nnoise\n")
    assert props == {"ro.soc.model": "SM8650", "ro.product.model": "SM-S921B", "empty": ""}


@pytest.mark.parametrize(
    "props,part,name,source",
    [
        (
            {"ro.soc.model": "SM8650", "ro.soc.manufacturer": "QTI"},
            "SM8650",
            "Snapdragon 8 Gen 3",
            "ro.soc.model",
        ),
        ({"ro.soc.model": "SM8475"}, "SM8475", "Snapdragon 8+ Gen 1", "ro.soc.model"),
        ({"ro.soc.model": "SM8750P"}, "SM8750P", "Snapdragon 8 Elite", "ro.soc.model"),  # suffix normalised
        ({"ro.soc.model": "SM8750-AC"}, "SM8750-AC", "Snapdragon 8 Elite for Galaxy", "ro.soc.model"),
        ({"ro.soc.model": "SM7325"}, "SM7325", "Snapdragon 778G", "ro.soc.model"),
        (
            {"ro.board.platform": "kalama", "ro.hardware": "qcom"},
            "SM8550",
            "Snapdragon 8 Gen 2",
            "ro.board.platform",
        ),
        ({"ro.soc.model": "Tensor G3", "ro.soc.manufacturer": "Google"}, "TENSOR G3", None, "ro.soc.model"),
        ({"ro.hardware": "qcom"}, None, None, "none"),
    ],
)
def test_soc_from_getprop(props, part, name, source):
    soc = info.soc_from_props(props)
    assert (soc.part, soc.name, soc.source) == (part, name, source)


CPUINFO_SM8650 = "".join(
    f"processor\t: {cpu}\nBogoMIPS\t: 38.40\nFeatures\t: fp asimd asimddp\nCPU implementer\t: 0x41\n"
    f"CPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: {part}\nCPU revision\t: 1\n\n"
    for cpu, part in enumerate(["0xd80", "0xd80", "0xd81", "0xd81", "0xd81", "0xd81", "0xd81", "0xd82"])
)


def test_clusters_from_sysfs_and_cpuinfo():
    parts = info.parse_cpuinfo_parts(CPUINFO_SM8650)
    assert parts[0] == "Cortex-A520" and parts[2] == "Cortex-A720" and parts[7] == "Cortex-X4"
    freqs = {0: 2265600, 1: 2265600, 2: 2956800, 3: 2956800, 4: 2956800, 5: 3148800, 6: 3148800, 7: 3393600}
    clusters = info.clusters_from(freqs, parts)
    assert [c.cpus for c in clusters] == [(0, 1), (2, 3, 4), (5, 6), (7,)]
    assert clusters[-1].core == "Cortex-X4" and clusters[-1].mask == 0x80
    assert clusters[1].mask == 0b11100
    assert info.parse_cpu_list("0-3,6\n") == [0, 1, 2, 3, 6]


def test_battery_and_thermal_dumpsys():
    battery = info.parse_battery(
        "Current Battery Service state:\n  AC powered: false\n  USB powered: true\n  Wireless powered: false\n"
        "  status: 2\n  health: 2\n  present: true\n  level: 87\n  scale: 100\n  voltage: 4312\n"
        "  temperature: 285\n  technology: Li-ion\n"
    )
    assert battery == {"level": 87, "temperature_c": 28.5, "charging": True}
    thermal = info.parse_thermalservice(
        "IsStatusOverride: false\nThermalEventListeners:\n\tcallbacks: 2\nThermal Status: 1\n"
        "Cached temperatures:\n\tTemperature{mValue=30.1, mType=0, mName=cpu-0-0, mStatus=0}\n"
        "HAL Ready: true\nHAL connection:\n\tThermalHAL 2.0 connected: yes\n"
        "Current temperatures from HAL:\n"
        "\tTemperature{mValue=41.25, mType=0, mName=cpu-1-0, mStatus=1}\n"
        "\tTemperature{mValue=33.0, mType=2, mName=battery, mStatus=0}\n"
        "\tTemperature{mValue=3.2e1, mType=3, mName=skin, mStatus=0}\n"
        "Current cooling devices from HAL:\n\tCoolingDevice{mValue=0, mType=2, mName=cpu-cluster0}\n"
    )
    assert thermal["status"] == 1 and thermal["status_name"] == "light"
    assert thermal["temperatures_c"] == {"cpu-1-0": 41.25, "battery": 33.0, "skin": 32.0}
