"""Native libraries in an AAR: 16 KB page alignment and the ELF machine of each ``jni/<abi>/*.so``.

Android 15 devices may use 16 KB memory pages; a library whose LOAD segments are aligned to 4 KB does not load
there (Google Play requires 16 KB alignment for apps targeting Android 15+). A segment is fine when its
``p_align`` is a multiple of 16384 (what ``-Wl,-z,max-page-size=16384`` gives, as ``build_android.sh`` links);
``p_offset`` and ``p_vaddr`` must then agree modulo that alignment, which the ELF spec requires of any loadable
segment. Read with pyelftools; a file that is not ELF is a defect, never a crash.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

PAGE_16K = 16384
# jni/<abi> -> (ELF e_machine, ELF class). The four ABIs Android supports.
ABIS = {
    "arm64-v8a": ("EM_AARCH64", "ELFCLASS64"),
    "armeabi-v7a": ("EM_ARM", "ELFCLASS32"),
    "x86_64": ("EM_X86_64", "ELFCLASS64"),
    "x86": ("EM_386", "ELFCLASS32"),
}
# android_template/native/src/engine_none.cpp's message: present only in a core built without ExecuTorch.
NO_EXECUTORCH_MARKER = b"has no ExecuTorch engine"


@dataclass
class ElfReport:
    """One ``.so``: what it is and what is wrong with it (``problems`` empty: fine)."""

    path: str
    abi: str
    bytes: int
    machine: str | None = None
    elf_class: str | None = None
    load_aligns: list[int] = field(default_factory=list)
    aligned_16k: bool = False
    has_executorch: bool | None = None  # for libmobilesdk_pose_jni.so
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "abi": self.abi,
            "bytes": self.bytes,
            "machine": self.machine,
            "elf_class": self.elf_class,
            "load_aligns": self.load_aligns,
            "aligned_16k": self.aligned_16k,
            "has_executorch": self.has_executorch,
            "problems": self.problems,
        }


def check_library(data: bytes, path: str, abi: str) -> ElfReport:
    """Check one shared library's bytes, found at ``path`` under ``jni/<abi>/`` (or ``jniLibs/<abi>/``)."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    report = ElfReport(path=path, abi=abi, bytes=len(data))
    if abi not in ABIS:
        report.problems.append(f"{path}: '{abi}' is not an Android ABI ({', '.join(ABIS)})")
    try:
        elf = ELFFile(io.BytesIO(data))
        report.machine = elf["e_machine"]
        report.elf_class = f"ELFCLASS{elf.elfclass}"
        if elf["e_type"] != "ET_DYN":
            report.problems.append(f"{path}: ELF type {elf['e_type']}, not a shared library (ET_DYN)")
        loads = [seg for seg in elf.iter_segments() if seg["p_type"] == "PT_LOAD"]
    except (ELFError, ValueError, KeyError, IndexError, OSError) as exc:
        report.problems.append(f"{path}: not a readable ELF file ({type(exc).__name__}: {str(exc)[:120]})")
        return report
    if abi in ABIS:
        machine, elf_class = ABIS[abi]
        if (report.machine, report.elf_class) != (machine, elf_class):
            report.problems.append(
                f"{path}: built for {report.machine} ({report.elf_class}) but placed in jni/{abi}/, which needs "
                f"{machine} ({elf_class})"
            )
    if not loads:
        report.problems.append(f"{path}: no LOAD segments")
    report.load_aligns = [int(seg["p_align"]) for seg in loads]
    bad = [
        seg
        for seg in loads
        if seg["p_align"] < PAGE_16K
        or seg["p_align"] % PAGE_16K
        or (seg["p_offset"] - seg["p_vaddr"]) % seg["p_align"]
    ]
    report.aligned_16k = bool(loads) and not bad
    if bad:
        aligns = sorted({int(seg["p_align"]) for seg in bad})
        report.problems.append(
            f"{path}: LOAD segments aligned to {', '.join(map(str, aligns))} bytes, not 16 KB: it fails to load on "
            "16 KB-page devices (link with -Wl,-z,max-page-size=16384, as build_android.sh does)"
        )
    if path.endswith("libmobilesdk_pose_jni.so"):
        report.has_executorch = NO_EXECUTORCH_MARKER not in data
    return report
