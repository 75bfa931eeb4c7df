"""Named CPU profiles for emulated arm64 instruction counts, each standing for a phone core.

A profile is a qemu-aarch64 ``-cpu`` model (what instructions exist: the ISA features the guest sees in its
HWCAPs) plus an ARM ``/proc/cpuinfo`` (what core the guest believes it runs on: XNNPACK, through the cpuinfo
library, picks microkernels by the core's MIDR — implementer, part, variant, revision — and features). qemu 7.2
passes the host's x86 ``/proc/cpuinfo`` through, so each run gets its profile's file bound over
``/proc/cpuinfo`` in a private mount namespace. The Features lines are the kernel's names of the HWCAP bits
qemu 7.2 sets for that ``-cpu`` (read with getauxval under qemu). The table is in docs/emulated-cost.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from mobilesdk.errors import MobileSDKError


@dataclass(frozen=True)
class Profile:
    name: str
    qemu_cpu: str  # qemu-aarch64 -cpu
    stands_for: str
    implementer: int
    variant: int
    part: int
    revision: int
    features: str
    architecture: int = 8  # what arm64 kernels print as "CPU architecture" (8 also for ARMv9 cores)

    def cpuinfo(self, processors: int | None = None) -> str:
        """An arm64 Linux ``/proc/cpuinfo`` of ``processors`` identical cores (default: this machine's CPU
        count, so it agrees with /sys/devices/system/cpu, which the guest also reads)."""
        n = processors or os.cpu_count() or 1
        block = (
            "processor\t: {i}\nBogoMIPS\t: 50.00\n"
            f"Features\t: {self.features}\n"
            f"CPU implementer\t: 0x{self.implementer:02x}\nCPU architecture: {self.architecture}\n"
            f"CPU variant\t: 0x{self.variant:x}\nCPU part\t: 0x{self.part:03x}\n"
            f"CPU revision\t: {self.revision}\n\n"
        )
        return "".join(block.format(i=i) for i in range(n))


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            "cortex-a76",
            "cortex-a76",
            "a big core with dotprod (ARMv8.2: Snapdragon 855/865 gold, Kirin 980, Dimensity 1000)",
            0x41, 4, 0xD0B, 1,
            "fp asimd aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp",
        ),
        Profile(
            "armv9-sve128",
            # qemu 7.2 has no ARMv9 phone core: `max` with SME off and SVE (SVE2) limited to 128 bits, as every
            # phone core ships it; pauth-impdef only makes pointer authentication cheaper to emulate.
            "max,sme=off,sve-max-vq=1,pauth-impdef=on",
            "an ARMv9 core with 128-bit SVE2 (Cortex-A710 identity: Snapdragon 8 Gen 1, Dimensity 9000)",
            0x41, 2, 0xD47, 0,
            "fp asimd aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma lrcpc dcpop sha3 "
            "sm3 sm4 asimddp sha512 sve asimdfhm ilrcpc flagm sb paca pacg dcpodp sve2 sveaes svepmull "
            "svebitperm svesha3 svesm4 flagm2 frint svei8mm svef32mm svef64mm svebf16 i8mm bf16 rng bti mte",
            architecture=8,
        ),
        Profile(
            "cortex-a53",
            "cortex-a53",
            "a little core, no dotprod (ARMv8.0: the efficiency cores of many phones; qemu 7.2 has no Cortex-A55)",
            0x41, 0, 0xD03, 4,
            "fp asimd aes pmull sha1 sha2 crc32 cpuid",
        ),
    )
}  # fmt: skip
DEFAULT_PROFILES = tuple(PROFILES)


def resolve(names: tuple[str, ...] | list[str]) -> list[Profile]:
    """The profiles named (default: all), in the order given; one-line error for an unknown name."""
    if not names:
        return list(PROFILES.values())
    unknown = [n for n in names if n not in PROFILES]
    if unknown:
        raise MobileSDKError(f"--cpu {unknown[0]}: unknown CPU profile; choose from {', '.join(PROFILES)}")
    return [PROFILES[n] for n in dict.fromkeys(names)]
