"""The native libraries an AAR brings in through its Maven dependencies, checked like our own.

An app that adds our LiteRT AAR also packages what its POM declares, e.g. ``org.tensorflow:tensorflow-lite``,
whose ``libtensorflowlite_jni.so`` is what runs the model. A library whose LOAD segments are 4 KB-aligned does
not load on 16 KB-page devices, and Google Play rejects apps targeting Android 15+ that ship one; so the
dependencies' ``jni/<abi>/*.so`` are checked with :func:`mobilesdk.packaging.elf.check_library` too, from the
local Maven repository (``~/.m2/repository``, where ``android_template/maven-offline.sh`` put them). A
dependency that is not there is reported as not checked, never guessed at.

These are warnings, not defects: the AAR is ours and correct, the app works on today's 4 KB-page phones, and the
fix is a dependency substitution in the app (see :data:`FIXES` and docs/android.md).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mobilesdk.packaging.elf import ABIS, check_library

# group:artifact -> what to use instead when its native libraries are not 16 KB-aligned.
FIXES = {
    "org.tensorflow:tensorflow-lite": (
        "replace org.tensorflow:tensorflow-lite and tensorflow-lite-api with LiteRT's "
        "com.google.ai.edge.litert:litert and litert-api 1.4.0 (Google's Maven repository), which keep the "
        "org.tensorflow.lite Java API (Interpreter) and ship 16 KB-aligned libraries: a Gradle dependency "
        'substitution in the app (docs/android.md, "16 KB pages")'
    ),
}


def default_maven_repo() -> Path:
    """The local Maven repository the dependencies are looked up in (Maven's default)."""
    return Path.home() / ".m2" / "repository"


@dataclass
class DependencyCheck:
    """One dependency (``group:artifact:version``): where its AAR is and what its native libraries are."""

    coordinate: str
    file: Path | None = None  # the .aar (or .jar) in the local repository; None: not there, not checked
    # ElfReport.to_json() of each jni/<abi>/*.so
    libraries: list[dict[str, Any]] = field(default_factory=list)
    unaligned: list[str] = field(default_factory=list)  # "jni/<abi>/<lib>.so" not 16 KB-aligned

    def to_json(self) -> dict[str, Any]:
        return {
            "coordinate": self.coordinate,
            "file": str(self.file) if self.file else None,
            "checked": self.file is not None,
            "libraries": self.libraries,
            "unaligned": self.unaligned,
        }

    def warning(self) -> str | None:
        """One line naming the library, the ABIs, the consequence and the fix (None: nothing to say)."""
        if self.file is None:
            return (
                f"dependency {self.coordinate}: not in the local Maven repository, so its native libraries were "
                "not checked for 16 KB alignment"
            )
        if not self.unaligned:
            return None
        by_lib: dict[str, list[str]] = {}
        for path in self.unaligned:
            _, abi, name = path.split("/")
            by_lib.setdefault(name, []).append(abi)
        libs = "; ".join(f"{name} ({', '.join(sorted(abis))})" for name, abis in sorted(by_lib.items()))
        verb = "is" if len(by_lib) == 1 else "are"
        group_artifact = self.coordinate.rsplit(":", 1)[0]
        fix = FIXES.get(group_artifact, f"use a version of {group_artifact} built with 16 KB page alignment")
        return (
            f"dependency {self.coordinate}: {libs} {verb} 4 KB-aligned (LOAD segments not aligned to 16 KB): it does not "
            f"load on 16 KB-page devices and Google Play rejects apps targeting Android 15+ that ship it. Fix: {fix}"
        )


def _artifact_file(repo: Path, coordinate: str) -> Path | None:
    parts = coordinate.split(":")
    if len(parts) != 3:
        return None
    group, artifact, version = parts
    folder = repo.joinpath(*group.split("."), artifact, version)
    for ext in ("aar", "jar"):
        path = folder / f"{artifact}-{version}.{ext}"
        if path.is_file():
            return path
    return None


def check_dependency(coordinate: str, repo: Path) -> DependencyCheck:
    """Find ``coordinate`` in ``repo`` and check every ``jni/<abi>/*.so`` inside it."""
    result = DependencyCheck(coordinate, _artifact_file(Path(repo), coordinate))
    if result.file is None:
        return result
    try:
        with zipfile.ZipFile(result.file) as z:
            for info in z.infolist():
                parts = info.filename.split("/")
                if len(parts) != 3 or parts[0] != "jni" or parts[1] not in ABIS:
                    continue
                if not parts[2].endswith(".so"):
                    continue
                report = check_library(z.read(info), info.filename, parts[1])
                result.libraries.append(report.to_json())
                if not report.aligned_16k:
                    result.unaligned.append(info.filename)
    except (zipfile.BadZipFile, OSError):
        result.file = None  # unreadable: reported as not checked
    return result


def check_dependencies(coordinates: list[str], repo: Path | None = None) -> list[DependencyCheck]:
    """Each of ``coordinates`` (``group:artifact:version``) checked in ``repo`` (default: ~/.m2/repository)."""
    repo = Path(repo) if repo is not None else default_maven_repo()
    return [check_dependency(c, repo) for c in coordinates]
