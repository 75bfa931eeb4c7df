"""The CPU profiles of `bench --emulate arm64` are what they claim: each runs on the installed qemu-aarch64, the
Features line of its /proc/cpuinfo names exactly the HWCAP bits qemu gives the guest, and the ARMv9 profile's
SVE vector length is 128 bits (what phone cores ship; XNNPACK picks its kernels by these)."""

from __future__ import annotations

import shutil
import subprocess

from mobilesdk.emulate.profiles import PROFILES

# The kernel's names of the arm64 HWCAP / HWCAP2 bits (arch/arm64/kernel/cpuinfo.c), in bit order.
HWCAP = [
    "fp",
    "asimd",
    "evtstrm",
    "aes",
    "pmull",
    "sha1",
    "sha2",
    "crc32",
    "atomics",
    "fphp",
    "asimdhp",
    "cpuid",
    "asimdrdm",
    "jscvt",
    "fcma",
    "lrcpc",
    "dcpop",
    "sha3",
    "sm3",
    "sm4",
    "asimddp",
    "sha512",
    "sve",
    "asimdfhm",
    "dit",
    "uscat",
    "ilrcpc",
    "flagm",
    "ssbs",
    "sb",
    "paca",
    "pacg",
]
HWCAP2 = [
    "dcpodp",
    "sve2",
    "sveaes",
    "svepmull",
    "svebitperm",
    "svesha3",
    "svesm4",
    "flagm2",
    "frint",
    "svei8mm",
    "svef32mm",
    "svef64mm",
    "svebf16",
    "i8mm",
    "bf16",
    "dgh",
    "rng",
    "bti",
    "mte",
    "ecv",
    "afp",
    "rpres",
    "mte3",
    "sme",
]

PROBE = r"""
#include <stdio.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
int main(void) {
  int vl = prctl(51 /* PR_SVE_GET_VL */);
  printf("%lu %lu %d\n", getauxval(AT_HWCAP), getauxval(AT_HWCAP2), vl < 0 ? 0 : (vl & 0xffff));
  return 0;
}
"""


def test_profiles_match_what_qemu_gives_the_guest(tmp_path):
    cc = shutil.which("aarch64-linux-gnu-gcc")
    qemu = shutil.which("qemu-aarch64")
    assert cc and qemu, "the aarch64 cross compiler and qemu-user come with install.sh"
    (tmp_path / "probe.c").write_text(PROBE)
    subprocess.run([cc, "-static", "-O1", "-o", tmp_path / "probe", tmp_path / "probe.c"], check=True)
    vector_bits = {}
    for profile in PROFILES.values():
        out = subprocess.run(
            [qemu, "-cpu", profile.qemu_cpu, tmp_path / "probe"], capture_output=True, text=True, check=True
        ).stdout.split()
        hwcap, hwcap2, vl = int(out[0]), int(out[1]), int(out[2])
        names = [n for i, n in enumerate(HWCAP) if hwcap >> i & 1] + [
            n for i, n in enumerate(HWCAP2) if hwcap2 >> i & 1
        ]
        assert hwcap2 >> len(HWCAP2) == 0, f"{profile.name}: HWCAP2 bits beyond {HWCAP2[-1]} (SME's are off)"
        assert profile.features.split() == names, profile.name
        vector_bits[profile.name] = vl * 8
        cpuinfo = profile.cpuinfo(2)
        assert cpuinfo.count("processor\t:") == 2 and f"CPU part\t: 0x{profile.part:03x}" in cpuinfo
    assert vector_bits["armv9-sve128"] == 128
    assert (
        "asimddp" in PROFILES["cortex-a76"].features.split()
    )  # the big core has dotprod, the little one not
    assert "asimddp" not in PROFILES["cortex-a53"].features.split()
