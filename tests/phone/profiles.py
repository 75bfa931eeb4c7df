"""Phone profiles for the emulated phone: CPU topology, /proc/cpuinfo features, getprops, thermal zones.

Plain data (stdlib only: adbd.py and device.py run outside pytest). Where a value comes from:

* CPU numbering and core types of SM8650: upstream Linux ``arch/arm64/boot/dts/qcom/sm8650.dtsi`` (cpu0-1
  cortex-a520, cpu2-4 cortex-a720 in one frequency domain, cpu5-6 cortex-a720 in another, cpu7 cortex-x4).
* MIDR part numbers: Linux ``arch/arm64/include/asm/cputype.h`` (A720 0xd81, X4 0xd82, X3 0xd4e verified there;
  A55 0xd05, A78 0xd41, A510 0xd46, A715 0xd4d, A520 0xd80 are the same table's values).
* Qualcomm ``/sys/devices/soc0/soc_id``: ``include/dt-bindings/arm/qcom,ids.h`` (SM8650 = 557, SM7325 = 475).
* ``ro.soc.model``/``ro.board.platform`` pairs: shared/specs/bench.md §3.7 (SM8650 = pineapple).
* Everything marked ``GUESS`` is plausible but not checked against a device: exact kHz tables (we only know the
  marketing GHz, rounded to Qualcomm's 19.2 MHz steps), minimum frequencies, governors, fingerprints, thermal
  zone names and thresholds. A test that depends on such a value should take it from the profile, not hard-code it.
"""

from __future__ import annotations

import copy
import zlib

# MIDR part numbers (implementer 0x41 = Arm)
PART = {
    "cortex-a55": 0xD05,
    "cortex-a78": 0xD41,
    "cortex-a510": 0xD46,
    "cortex-a715": 0xD4D,
    "cortex-x3": 0xD4E,
    "cortex-a520": 0xD80,
    "cortex-a720": 0xD81,
    "cortex-x4": 0xD82,
}

# /proc/cpuinfo "Features" (one line, the same for every core as the kernel prints the system-wide set).
FEATURES_V82 = (
    "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp"
)
# Armv9 cores; SVE left out on Snapdragon (GUESS: Qualcomm kernels of the 8 Gen 1-3 era do not expose SVE).
FEATURES_V9_QCOM = (
    "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma lrcpc dcpop "
    "sha3 sm3 sm4 asimddp sha512 asimdfhm dit uscat ilrcpc flagm ssbs sb paca pacg dcpodp flagm2 frint i8mm "
    "bf16 dgh bti ecv afp wfxt"
)
FEATURES_V9_SVE = FEATURES_V9_QCOM.replace("asimdfhm", "asimdfhm sve").replace(
    "dcpodp", "dcpodp sve2 sveaes svepmull svebitperm svesha3 svesm4"
)  # GUESS for Tensor G3

# Android's thermal HAL temperature types (mType in dumpsys thermalservice)
CPU, GPU, BATTERY, SKIN = 0, 1, 2, 3

# SKIN throttling thresholds in degC for status LIGHT(1) .. SHUTDOWN(6). GUESS: vendor configs differ; these
# give NONE below 39 degC, like react-native-executorch's 37 degC gate expects of a cool phone.
SKIN_THRESHOLDS = [39.0, 41.0, 43.0, 45.0, 50.0, 55.0]


def _freqs(min_khz: int, max_khz: int, steps: int = 8) -> list[int]:
    """A plausible ``scaling_available_frequencies`` ladder on Qualcomm's 19.2 MHz grid (GUESS)."""
    out = []
    for i in range(steps):
        f = min_khz + (max_khz - min_khz) * i // (steps - 1)
        out.append(f - f % 19200 if i < steps - 1 else max_khz)
    return sorted(set(out))


def _cluster(cpus, core, max_khz, min_khz, governor, variant=0, revision=0):
    return {
        "cpus": list(cpus),
        "core": core,
        "part": PART[core],
        "variant": variant,
        "revision": revision,
        "max_khz": max_khz,
        "min_khz": min_khz,
        "available_khz": _freqs(min_khz, max_khz),
        "governor": governor,
    }


GALAXY_S24 = {
    "name": "galaxy-s24",
    "description": "Samsung Galaxy S24 (SM-S921U), Snapdragon 8 Gen 3 for Galaxy (SM8650)",
    "clusters": [
        # kHz: the marketing clocks (2.27 / 2.96 / 3.15 / 3.39 GHz) on the 19.2 MHz grid; which A720 domain is
        # the faster one follows the public Geekbench listings quoted in the brief (GUESS, not a dtsi fact).
        _cluster(range(0, 2), "cortex-a520", 2265600, 307200, "walt", revision=1),
        _cluster(range(2, 5), "cortex-a720", 2956800, 499200, "walt", revision=1),
        _cluster(range(5, 7), "cortex-a720", 3148800, 499200, "walt", revision=1),
        _cluster(range(7, 8), "cortex-x4", 3398400, 480000, "walt", revision=1),
    ],
    "features": FEATURES_V9_QCOM,
    "cpuinfo_hardware": None,  # GKI kernels print no "Hardware" line
    "scaling_driver": "qcom-cpufreq-hw",
    "kernel_max": 31,  # GKI CONFIG_NR_CPUS=32 (GUESS)
    "soc0": {"vendor": "Qualcomm", "family": "Snapdragon", "machine": "SM8650", "soc_id": "557"},
    "props": {
        "ro.product.manufacturer": "samsung",
        "ro.product.brand": "samsung",
        "ro.product.model": "SM-S921U",
        "ro.product.name": "e1qsqw",  # GUESS (US carrier build)
        "ro.product.device": "e1q",
        "ro.product.board": "pineapple",
        "ro.board.platform": "pineapple",
        "ro.hardware": "qcom",
        "ro.soc.manufacturer": "QTI",
        "ro.soc.model": "SM8650",
        "ro.vendor.qti.soc_name": "pineapple",  # GUESS
        "ro.build.version.release": "14",
        "ro.build.version.sdk": "34",
        "ro.build.version.security_patch": "2024-03-01",
        "ro.build.id": "UP1A.231005.007",
        "ro.build.fingerprint": "samsung/e1qsqw/e1q:14/UP1A.231005.007/S921USQU1AXB7:user/release-keys",
        "ro.product.cpu.abi": "arm64-v8a",
        "ro.product.cpu.abilist": "arm64-v8a",  # A520/A720/X4 have no AArch32
        "ro.product.cpu.abilist64": "arm64-v8a",
        "ro.product.cpu.abilist32": "",
    },
    "thermal_zones": [  # (sysfs type, HAL name, HAL type, offset from skin degC)  GUESS names
        ("cpu-0-0-0", "cpu-0-0-0", CPU, 6.0),
        ("cpu-1-0-0", "cpu-1-0-0", CPU, 8.0),
        ("gpuss-0", "gpuss-0", GPU, 4.0),
        ("battery", "battery", BATTERY, -1.5),
        ("skin-msm-therm", "skin-msm-therm", SKIN, 0.0),
    ],
}

GALAXY_A52S = {
    "name": "galaxy-a52s",
    "description": "Samsung Galaxy A52s 5G (SM-A528B), Snapdragon 778G (SM7325)",
    "clusters": [
        # Qualcomm: 4x A55 @1.9, 3x A78 @2.2, 1x A78 @2.4 GHz (kHz values on the 19.2 MHz grid: GUESS)
        _cluster(range(0, 4), "cortex-a55", 1900800, 300000, "walt", variant=2, revision=0),
        _cluster(range(4, 7), "cortex-a78", 2208000, 652800, "walt", variant=1, revision=0),
        _cluster(range(7, 8), "cortex-a78", 2400000, 806400, "walt", variant=1, revision=0),
    ],
    "features": FEATURES_V82,
    "cpuinfo_hardware": "Qualcomm Technologies, Inc SM7325",  # GUESS (pre-GKI 5.4 kernels print one)
    "scaling_driver": "qcom-cpufreq-hw",
    "kernel_max": 7,
    "soc0": {"vendor": "Qualcomm", "family": "Snapdragon", "machine": "SM7325", "soc_id": "475"},
    "props": {
        "ro.product.manufacturer": "samsung",
        "ro.product.brand": "samsung",
        "ro.product.model": "SM-A528B",
        "ro.product.name": "a52sxqxx",
        "ro.product.device": "a52sxq",
        "ro.product.board": "lahaina",
        "ro.board.platform": "lahaina",  # GUESS: SM7325 devices ship the lahaina (SM8350) BSP
        "ro.hardware": "qcom",
        "ro.soc.manufacturer": "QTI",
        "ro.soc.model": "SM7325",
        "ro.vendor.qti.soc_name": "yupik",  # GUESS
        "ro.build.version.release": "13",
        "ro.build.version.sdk": "33",
        "ro.build.version.security_patch": "2023-11-01",
        "ro.build.id": "TP1A.220624.014",
        "ro.build.fingerprint": "samsung/a52sxqxx/a52sxq:13/TP1A.220624.014/A528BXXS5DWK1:user/release-keys",
        "ro.product.cpu.abi": "arm64-v8a",
        "ro.product.cpu.abilist": "arm64-v8a,armeabi-v7a,armeabi",
        "ro.product.cpu.abilist64": "arm64-v8a",
        "ro.product.cpu.abilist32": "armeabi-v7a,armeabi",
    },
    "thermal_zones": [
        ("cpu-0-0-usr", "cpu-0-0-usr", CPU, 5.0),
        ("cpu-1-0-usr", "cpu-1-0-usr", CPU, 7.0),
        ("gpuss-0-usr", "gpuss-0-usr", GPU, 3.0),
        ("battery", "battery", BATTERY, -1.0),
        ("xo-therm", "skin-therm", SKIN, 0.0),
    ],
}

PIXEL_8 = {
    "name": "pixel-8",
    "description": "Google Pixel 8, Tensor G3 (zuma): a non-Qualcomm arm64 phone with 9 cores",
    "clusters": [
        # Tensor G3: 4x A510 @1.70, 4x A715 @2.37, 1x X3 @2.91 GHz (kHz values GUESS)
        _cluster(range(0, 4), "cortex-a510", 1704000, 324000, "sched_pixel", revision=1),
        _cluster(range(4, 8), "cortex-a715", 2367000, 402000, "sched_pixel", revision=1),
        _cluster(range(8, 9), "cortex-x3", 2914000, 500000, "sched_pixel", revision=1),
    ],
    "features": FEATURES_V9_SVE,
    "cpuinfo_hardware": None,
    "scaling_driver": "exynos-acme",  # GUESS
    "kernel_max": 31,
    "soc0": {"vendor": "Google", "family": "Tensor", "machine": "zuma"},  # GUESS
    "props": {
        "ro.product.manufacturer": "Google",
        "ro.product.brand": "google",
        "ro.product.model": "Pixel 8",
        "ro.product.name": "shiba",
        "ro.product.device": "shiba",
        "ro.product.board": "shiba",
        "ro.board.platform": "zuma",
        "ro.hardware": "shiba",
        "ro.soc.manufacturer": "Google",
        "ro.soc.model": "Tensor G3",
        "ro.build.version.release": "14",
        "ro.build.version.sdk": "34",
        "ro.build.version.security_patch": "2024-04-05",
        "ro.build.id": "AP1A.240405.002",
        "ro.build.fingerprint": "google/shiba/shiba:14/AP1A.240405.002/11480754:user/release-keys",
        "ro.product.cpu.abi": "arm64-v8a",
        "ro.product.cpu.abilist": "arm64-v8a",
        "ro.product.cpu.abilist64": "arm64-v8a",
        "ro.product.cpu.abilist32": "",
    },
    "thermal_zones": [
        ("BIG", "BIG", CPU, 7.0),
        ("MID", "MID", CPU, 5.0),
        ("LITTLE", "LITTLE", CPU, 3.0),
        ("G3D", "G3D", GPU, 4.0),
        ("battery", "battery", BATTERY, -1.0),
        ("VIRTUAL-SKIN", "VIRTUAL-SKIN", SKIN, 0.0),
    ],
}

# A 32-bit-only phone (Android Go on an arm64 SoC with a 32-bit userspace): the arm64 bundle cannot run there.
GALAXY_A03_CORE = {
    "name": "galaxy-a03-core",
    "description": "Samsung Galaxy A03 Core (Unisoc SC9863A), 32-bit userspace: abilist armeabi-v7a only",
    "clusters": [
        # SC9863A: 4x A55 @1.2 + 4x A55 @1.6 GHz (kHz values GUESS)
        _cluster(range(0, 4), "cortex-a55", 1200000, 614400, "schedutil"),
        _cluster(range(4, 8), "cortex-a55", 1600000, 768000, "schedutil"),
    ],
    "features": FEATURES_V82,
    "cpuinfo_hardware": None,
    "scaling_driver": "sprd-cpufreq",  # GUESS
    "kernel_max": 7,
    "soc0": {"vendor": "Unisoc", "family": "SC9863A", "machine": "sc9863a"},  # GUESS
    "props": {
        "ro.product.manufacturer": "samsung",
        "ro.product.brand": "samsung",
        "ro.product.model": "SM-A032F",
        "ro.product.name": "a03coredd",
        "ro.product.device": "a03core",
        "ro.product.board": "s9863a",
        "ro.board.platform": "sp9863a",
        "ro.hardware": "s9863a",
        "ro.soc.manufacturer": "Spreadtrum",
        "ro.soc.model": "SC9863A",
        "ro.build.version.release": "11",
        "ro.build.version.sdk": "30",
        "ro.build.fingerprint": "samsung/a03coredd/a03core:11/RP1A.201005.001/A032FXXU1AUL1:user/release-keys",
        "ro.product.cpu.abi": "armeabi-v7a",
        "ro.product.cpu.abilist": "armeabi-v7a,armeabi",
        "ro.product.cpu.abilist64": "",
        "ro.product.cpu.abilist32": "armeabi-v7a,armeabi",
    },
    "thermal_zones": [
        ("soc-thmzone", "soc-thmzone", CPU, 3.0),
        ("battery", "battery", BATTERY, -1.0),
        ("board-thmzone", "board-thmzone", SKIN, 0.0),
    ],
}

PROFILES = {p["name"]: p for p in (GALAXY_S24, GALAXY_A52S, PIXEL_8, GALAXY_A03_CORE)}

COMMON_PROPS = {
    "ro.build.type": "user",
    "ro.build.tags": "release-keys",
    "ro.debuggable": "0",
    "ro.secure": "1",
    "ro.adb.secure": "0",  # this phone accepts the host without RSA auth (the "unauthorized" fault sets 1)
    "ro.zygote": "zygote64",
    "sys.boot_completed": "1",
    "dev.bootcomplete": "1",
    "ro.boot.mode": "normal",
    "persist.sys.timezone": "Etc/UTC",
    "ro.product.locale": "en-US",
    "service.adb.root": "0",
}


def get(name: str) -> dict:
    """A deep copy of profile ``name`` with the common properties and the ro.* props derived from it."""
    if name not in PROFILES:
        raise KeyError(f"unknown phone profile {name!r}; known: {', '.join(sorted(PROFILES))}")
    p = copy.deepcopy(PROFILES[name])
    props = dict(COMMON_PROPS)
    props.update(p["props"])
    props["ro.serialno"] = props.get("ro.serialno") or f"EMU{zlib.crc32(name.encode()) % 10**8:08d}"
    p["props"] = props
    p["ncpus"] = sum(len(c["cpus"]) for c in p["clusters"])
    return p


def cpu_mask(cpus) -> str:
    """Hex affinity mask (as taskset takes it) for a list of cpu numbers."""
    return f"{sum(1 << c for c in cpus):x}"
