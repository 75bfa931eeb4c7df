"""Fixtures of the packaging tests: AARs of the tiny user model (both runtimes), host shared libraries with a
chosen page alignment (gcc), and a helper that rewrites one entry of an AAR (the deliberately broken ones)."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.codegen.manifests import ANDROID_CACHE

# The engine_none.cpp message that marks a native core built without ExecuTorch (see mobilesdk.packaging.elf).
NO_ET = "this build of mobilesdk-native has no ExecuTorch engine"


def build_shared_library(folder: Path, name: str, page_size: int, marker: str = "") -> Path:
    """A tiny x86_64 host ``.so`` linked with ``-z max-page-size=page_size`` (4096: the host default)."""
    gcc = shutil.which("gcc") or pytest.fail("gcc not found (./install.sh installs it)")
    folder.mkdir(parents=True, exist_ok=True)
    src = folder / f"{name}.c"
    src.write_text(
        f'const char* mobilesdk_note = "{marker}";\nint mobilesdk_tiny(int x) {{ return x + 1; }}\n'
    )
    out = folder / name
    subprocess.run(
        [gcc, "-shared", "-fPIC", "-O2", f"-Wl,-z,max-page-size={page_size}", "-o", str(out), str(src)],
        check=True,
        capture_output=True,
    )
    return out


def rewrite_aar(
    src: Path,
    dst: Path,
    *,
    replace: dict | None = None,
    compress: dict | None = None,
    add: dict | None = None,
) -> Path:
    """A copy of the AAR ``src`` with entries replaced (None: removed), recompressed or added."""
    replace, compress, add = replace or {}, compress or {}, add or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            if info.filename in replace and replace[info.filename] is None:
                continue
            data = replace.get(info.filename, zin.read(info))
            zout.writestr(info.filename, data, compress_type=compress.get(info.filename, info.compress_type))
        for name, data in add.items():
            zout.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return dst


@pytest.fixture(scope="session")
def no_native_libs(tmp_path_factory) -> Path:
    """An empty --native-libs folder: the tests see no NDK build even on a machine that has one."""
    return tmp_path_factory.mktemp("no-native-libs")


@pytest.fixture(scope="session")
def tiny_packaged(tiny_build, tmp_path_factory, no_native_libs):
    """(build folder, PackagingResult) of the tiny user model packaged for both runtimes."""
    from mobilesdk.packaging import PackagingOptions, package_build

    folder = tmp_path_factory.mktemp("tiny-aar") / tiny_build.name
    shutil.copytree(tiny_build, folder)
    result = package_build(
        folder, ["xnnpack-fp32", "litert-fp32"], PackagingOptions(ANDROID_CACHE, no_native_libs)
    )
    return folder, result


@pytest.fixture(scope="session")
def tiny_aars(tiny_packaged) -> dict[str, Path]:
    """runtime -> the tiny model's AAR."""
    return {a.runtime: a.path for a in tiny_packaged[1].aars}
