"""The native core cross-compiled for arm64 Linux into a self-contained bundle for ``adb shell`` (no NDK).

``mobilesdk runner build --target arm64`` compiles ``android_template/native`` with Debian's aarch64 cross
compiler (``cmake/aarch64-linux-gnu.cmake``) against the aarch64 manylinux wheels of the pinned ExecuTorch,
LiteRT and ONNX Runtime (the versions installed here), and assembles a directory that carries everything the runner loads:

    mobilesdk/run                      POSIX-sh launcher: exec ./ld-linux-aarch64.so.1 --library-path DIR runner
    mobilesdk/mobilesdk-runner         the runner (core + ExecuTorch engine [+ LiteRT engine])
    mobilesdk/libexecutorch*.so        the ExecuTorch libraries the runner NEEDs (RUNPATH removed)
    mobilesdk/libLiteRt.so             LiteRT's C API library (when the core has the LiteRT engine)
    mobilesdk/libonnxruntime.so.1      ONNX Runtime's library (when the core has the ONNX Runtime engine)
    mobilesdk/libc.so.6 ... ld-linux-aarch64.so.1   glibc, libstdc++, libgcc_s and glibc's loader
    mobilesdk/bundle.json              files with sha256 and sizes, versions, target

Android has no glibc; started through its own loader the bundle needs nothing of the phone's ``/lib``, so it
runs from ``/data/local/tmp`` over ``adb shell`` (CPU only: a glibc process cannot load bionic GPU/NPU drivers).

The bundle is cached in ``cache_dir/arm64-<key>/mobilesdk`` where the key hashes the native sources, both wheel
versions and platform tags, this module (the build logic) and the toolchain's identity (compiler, the bytes of
the glibc pieces it ships, patchelf); builds of one key are serialised by a file lock and an interrupted one is
redone. The wheels are downloaded once with ``pip download`` into ``wheel_cache`` (temporary directory, then
rename).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path

from mobilesdk import __version__, fsops, tools
from mobilesdk.errors import first_line
from mobilesdk.native import NATIVE_DIR, NativeBuildError, _prune, _run, mark_used, source_hash

TARGETS = ("host", "arm64")
TOOLCHAIN_FILE = NATIVE_DIR / "cmake" / "aarch64-linux-gnu.cmake"
CROSS_CXX = "aarch64-linux-gnu-g++"
LOADER = "ld-linux-aarch64.so.1"
BUNDLE_NAME = (
    "mobilesdk"  # adb push <cache>/arm64-<key>/mobilesdk /data/local/tmp/ -> /data/local/tmp/mobilesdk
)
RUNNER = "mobilesdk-runner"
LAUNCHER = "run"
BUNDLE_JSON = "bundle.json"
SCHEMA = "mobilesdk.arm64-bundle/1"
# The wheels: (distribution, platform tag). pip does not widen platform tags: these are the exact ones published.
EXECUTORCH_WHEEL = ("executorch", "manylinux_2_28_aarch64")
LITERT_WHEEL = ("ai-edge-litert", "manylinux_2_27_aarch64")
ONNXRUNTIME_WHEEL = ("onnxruntime", "manylinux_2_28_aarch64")
# What the runner links of the ExecuTorch wheel: the runtime (with the Module API), the CPU kernels, XNNPACK and
# the thread pool; not EXECUTORCH_LIBRARIES, which also drags in the OpenVINO delegate and the profiler.
EXECUTORCH_LIBS = (
    "executorch",
    "executorch_kernels_optimized",
    "executorch_backend_xnnpack",
    "executorch_threadpool",
)
LITERT_LIBRARY = "libLiteRt.so"
# The wheel ships onnxruntime/capi/libonnxruntime.so.<version>; its SONAME (what the runner NEEDs) is this name.
ONNXRUNTIME_LIBRARY = "libonnxruntime.so.1"
# glibc/GCC runtime pieces a bundle may carry (their bytes are part of the cache key).
SYSTEM_LIBS = (
    LOADER,
    "libc.so.6",
    "libm.so.6",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
    "libstdc++.so.6",
    "libgcc_s.so.1",
)
INSTALL_HINT = (
    "apt-get install g++-aarch64-linux-gnu libc6-dev-arm64-cross libstdc++6-arm64-cross patchelf "
    "(see install.sh)"
)
ABI = "arm64-v8a"
_DONE = ".complete"
_NO_EXECUTORCH_MARKER = b"has no ExecuTorch engine"  # src/engine_none.cpp, as mobilesdk.packaging.elf
_NO_LITERT_MARKER = b"has no LiteRT engine"  # src/engine_litert_none.cpp
_NO_ONNXRUNTIME_MARKER = b"has no ONNX Runtime engine"  # src/engine_onnxruntime_none.cpp

LAUNCHER_TEXT = """#!/system/bin/sh
# mobilesdk-runner (arm64, glibc) started through the bundle's own loader, so it needs nothing of the system's
# /lib: works on Android (adb shell, from /data/local/tmp) and on arm64 Linux. POSIX sh (Android's mksh, toybox
# sh, dash, bash); also as `sh DIR/run ...`, whatever the shebang. Usage: run --model M.pte [runner options]
case $0 in */*) DIR=${0%/*} ;; *) DIR=. ;; esac
DIR=$(cd "$DIR" && pwd -P) || exit 1
exec "$DIR/ld-linux-aarch64.so.1" --library-path "$DIR" "$DIR/mobilesdk-runner" "$@"
"""


@dataclass(frozen=True)
class Arm64Bundle:
    """A finished arm64 bundle: the directory to push, its launcher and runner, and ``bundle.json``'s content."""

    bundle_dir: Path
    launcher: Path
    runner: Path
    build_dir: Path
    has_litert: bool
    info: dict
    has_onnxruntime: bool = False


def installed_version(dist: str) -> str:
    """The installed version of ``dist`` (the pin the aarch64 wheel must match); one-line error if absent."""
    try:
        return importlib_metadata.version(dist)
    except importlib_metadata.PackageNotFoundError:
        raise NativeBuildError(
            f"{dist} is not installed: the arm64 build uses the aarch64 wheel of the installed version "
            "(run install.sh)"
        ) from None


def litert_supported() -> bool:
    """Whether the native CMakeLists has the LiteRT engine (the ``MSDK_LITERT_DIR`` cache variable)."""
    return "MSDK_LITERT_DIR" in (NATIVE_DIR / "CMakeLists.txt").read_text(encoding="utf-8")


def onnxruntime_supported() -> bool:
    """Whether the native CMakeLists has the ONNX Runtime engine (the ``MSDK_ONNXRUNTIME_DIR`` cache variable)."""
    return "MSDK_ONNXRUNTIME_DIR" in (NATIVE_DIR / "CMakeLists.txt").read_text(encoding="utf-8")


# ---- wheels ------------------------------------------------------------------------------------------------


def _python_tag() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def fetch_wheel(
    dist: str, version: str, platform: str, wheel_cache: Path, search_path: str | None = None
) -> Path:
    """The ``dist==version`` wheel for ``platform`` (and this CPython) in ``wheel_cache``, downloaded with
    ``pip download`` on first use into a temporary directory and renamed into place."""
    wheel_cache = Path(wheel_cache).expanduser()
    wheel_cache.mkdir(parents=True, exist_ok=True)
    py = _python_tag()
    cp = "cp" + py.replace(".", "")
    pattern = f"{dist.replace('-', '_')}-{version}-{cp}-*{platform}*.whl"
    with fsops.locked(wheel_cache / f".{dist}-{version}-{cp}-{platform}.lock"):
        found = sorted(wheel_cache.glob(pattern))
        if found:
            return found[0]
        fsops.remove_stale(wheel_cache)
        staging = fsops.make_staging(wheel_cache, f"{dist}-{version}")
        try:
            cmd = [sys.executable, "-m", "pip", "download", f"{dist}=={version}", "--platform", platform]
            cmd += ["--python-version", py, "--implementation", "cp", "--only-binary=:all:", "--no-deps"]
            cmd += ["--disable-pip-version-check", "--quiet", "--dest", str(staging)]
            proc = subprocess.run(
                cmd, capture_output=True, text=True, env=tools.tool_env(search_path), check=False
            )
            wheels = list(staging.glob("*.whl"))
            if proc.returncode != 0 or len(wheels) != 1 or not zipfile.is_zipfile(wheels[0]):
                errors = [ln for ln in proc.stderr.splitlines() if "ERROR" in ln] or proc.stderr.splitlines()
                why = first_line(errors[-1] if errors else "", 300) or "pip produced no wheel"
                raise NativeBuildError(f"cannot download {dist}=={version} for {platform} ({cp}): {why}")
            target = wheel_cache / wheels[0].name
            os.replace(wheels[0], target)
            return target
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _extract(wheel: Path, members: list[str], dest: Path) -> None:
    """Unzip the wheel's ``members`` (exact names, or prefixes ending in ``/``) into ``dest``; each must exist."""
    with zipfile.ZipFile(wheel) as z:
        names = [n for n in z.namelist() if not n.endswith("/")]
        for member in members:
            chosen = [n for n in names if (n.startswith(member) if member.endswith("/") else n == member)]
            if not chosen:
                raise NativeBuildError(f"{wheel.name} has no {member}: not the wheel the arm64 build expects")
            for name in chosen:
                if name.startswith("/") or ".." in name.split("/"):
                    raise NativeBuildError(f"{wheel.name}: unsafe member name {name!r}")
                out = dest / name
                out.parent.mkdir(parents=True, exist_ok=True)
                with z.open(name) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst)


# ---- toolchain -----------------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class _Toolchain:
    cmake: str
    ninja: str | None
    cxx: str
    patchelf: str
    compiler: str  # `g++ --version`'s first line
    system_libs: dict[str, Path]  # soname -> file in the cross sysroot (symlinks resolved)

    def identity(self) -> list[str]:
        libs = [f"{name}={_sha256(path)}" for name, path in sorted(self.system_libs.items())]
        return [os.path.realpath(self.cxx), self.compiler, _tool_version(self.patchelf), *libs]


def _tool_version(tool: str) -> str:
    proc = subprocess.run([tool, "--version"], capture_output=True, text=True, check=False)
    return first_line(proc.stdout or proc.stderr, 200)


def _find_toolchain(search_path: str | None) -> _Toolchain:
    cmake = tools.find_tool(
        "cmake", "cmake", "install cmake 3.22 or newer (see install.sh)", search_path, NativeBuildError
    )
    cxx = tools.find_tool(
        CROSS_CXX, "the aarch64 cross compiler", INSTALL_HINT, search_path, NativeBuildError
    )
    patchelf = tools.find_tool("patchelf", "patchelf", INSTALL_HINT, search_path, NativeBuildError)
    env = tools.tool_env(search_path)
    system_libs: dict[str, Path] = {}
    for name in SYSTEM_LIBS:
        proc = subprocess.run(
            [cxx, f"-print-file-name={name}"], capture_output=True, text=True, env=env, check=False
        )
        found = Path(proc.stdout.strip())
        if found.is_absolute() and found.is_file():
            system_libs[name] = Path(os.path.realpath(found))
    for name in (LOADER, "libc.so.6", "libstdc++.so.6", "libgcc_s.so.1"):
        if name not in system_libs:
            raise NativeBuildError(
                f"{CROSS_CXX} finds no arm64 {name} (the cross glibc/libstdc++); {INSTALL_HINT}"
            )
    return _Toolchain(
        cmake=cmake,
        ninja=shutil.which("ninja", path=search_path),
        cxx=cxx,
        patchelf=patchelf,
        compiler=_tool_version(cxx),
        system_libs=system_libs,
    )


# ---- ELF -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ElfInfo:
    machine: str
    needed: tuple[str, ...]
    runpath: tuple[str, ...]  # DT_RUNPATH and DT_RPATH entries
    interp: str | None


def elf_info(path: Path) -> ElfInfo | None:
    """NEEDED, RUNPATH/RPATH and PT_INTERP of ``path``; ``None`` if it is not an ELF file."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.dynamic import DynamicSection
    from elftools.elf.elffile import ELFFile

    with open(path, "rb") as f:
        if f.read(4) != b"\x7fELF":
            return None
        f.seek(0)
        try:
            elf = ELFFile(f)
            needed: list[str] = []
            runpath: list[str] = []
            for section in elf.iter_sections():
                if isinstance(section, DynamicSection):
                    for tag in section.iter_tags():
                        if tag.entry.d_tag == "DT_NEEDED":
                            needed.append(tag.needed)
                        elif tag.entry.d_tag == "DT_RUNPATH":
                            runpath.append(tag.runpath)
                        elif tag.entry.d_tag == "DT_RPATH":
                            runpath.append(tag.rpath)
            interp = next(
                (seg.get_interp_name() for seg in elf.iter_segments() if seg["p_type"] == "PT_INTERP"), None
            )
            return ElfInfo(elf["e_machine"], tuple(needed), tuple(runpath), interp)
        except (ELFError, ValueError, KeyError, IndexError) as exc:
            raise NativeBuildError(f"{path}: not a readable ELF file ({first_line(exc, 120)})") from None


def check_bundle(bundle_dir: Path) -> list[str]:
    """Problems of a bundle (empty: fine): every NEEDED of every ELF resolved inside it, no RUNPATH/RPATH, every
    ELF aarch64 with 16 KB-aligned LOAD segments, no library nobody needs, the launcher and bundle.json present."""
    from mobilesdk.packaging.elf import check_library

    bundle_dir = Path(bundle_dir)
    problems: list[str] = []
    files = {p.name: p for p in bundle_dir.iterdir()}
    for required in (LAUNCHER, RUNNER, LOADER, BUNDLE_JSON):
        if required not in files:
            problems.append(f"{required} is missing")
    needed_by_someone: set[str] = set()
    for name, path in sorted(files.items()):
        info = elf_info(path)
        if info is None:
            if name not in (LAUNCHER, BUNDLE_JSON):
                problems.append(f"{name}: not an ELF file, and neither the launcher nor bundle.json")
            continue
        if info.machine != "EM_AARCH64":
            problems.append(f"{name}: built for {info.machine}, not aarch64")
        for lib in info.needed:
            needed_by_someone.add(lib)
            if lib not in files:
                problems.append(f"{name} needs {lib}, which is not in the bundle")
        if info.runpath:
            problems.append(
                f"{name}: RUNPATH/RPATH {':'.join(info.runpath)} (the bundle resolves by --library-path)"
            )
        problems += check_library(path.read_bytes(), name, ABI).problems
    for name in files:
        is_library = name.endswith(".so") or ".so." in name
        if is_library and name not in needed_by_someone and name not in (LOADER, LITERT_LIBRARY):
            problems.append(f"{name}: not needed by anything in the bundle")
    return problems


# ---- the build -----------------------------------------------------------------------------------------------


def _find_header(relative: str) -> Path:
    for root in (Path("/usr/include"), Path("/usr/local/include")):
        for candidate in (root / relative, root / "stb" / relative):
            if candidate.is_file():
                return candidate
    package = "nlohmann-json3-dev" if "nlohmann" in relative else "libstb-dev"
    raise NativeBuildError(
        f"{relative} not found in /usr/include; apt-get install {package} (see install.sh)"
    )


def _header_deps(dest: Path) -> Path:
    """A directory holding only nlohmann/ and stb_image.h (host header-only libraries): never -isystem
    /usr/include in a cross build, whose glibc headers are the host's."""
    include = dest / "include"
    json_h = _find_header("nlohmann/json.hpp")
    shutil.copytree(json_h.parent, include / "nlohmann")
    shutil.copyfile(_find_header("stb_image.h"), include / "stb_image.h")
    return include


def _runner_checks(runner: Path, litert: bool, onnxruntime: bool = False) -> None:
    """A cross build must not pass without its engines (CMake FATAL_ERRORs too; this is the last guard)."""
    data = runner.read_bytes()
    info = elf_info(runner)
    if _NO_EXECUTORCH_MARKER in data or info is None or "libexecutorch.so" not in info.needed:
        raise NativeBuildError(f"{runner}: the arm64 runner was built without its ExecuTorch engine")
    if litert and (_NO_LITERT_MARKER in data or LITERT_LIBRARY not in info.needed):
        raise NativeBuildError(f"{runner}: the arm64 runner was built without its LiteRT engine")
    if onnxruntime and (_NO_ONNXRUNTIME_MARKER in data or ONNXRUNTIME_LIBRARY not in info.needed):
        raise NativeBuildError(f"{runner}: the arm64 runner was built without its ONNX Runtime engine")


def _glibc_version(libc: Path) -> str:
    match = re.search(rb"release version (\d+\.\d+)", libc.read_bytes())
    return match.group(1).decode() if match else "unknown"


def _assemble(
    staging: Path, runner: Path, search: list[Path], toolchain: _Toolchain, patchelf_env: dict | None
) -> dict[str, str]:
    """Copy the runner, LiteRT (if found in ``search``) and the closure of their NEEDED libraries into
    ``staging``; returns name -> kind."""
    kinds = {RUNNER: "runner"}
    shutil.copyfile(runner, staging / RUNNER)
    for folder in search:
        if (folder / LITERT_LIBRARY).is_file():
            shutil.copyfile(folder / LITERT_LIBRARY, staging / LITERT_LIBRARY)
            kinds[LITERT_LIBRARY] = "litert"
    shutil.copyfile(toolchain.system_libs[LOADER], staging / LOADER)
    kinds[LOADER] = "loader"
    pending = list(kinds)
    while pending:
        info = elf_info(staging / pending.pop())
        for lib in info.needed if info else ():
            if lib in kinds:
                continue
            source = next((folder / lib for folder in search if (folder / lib).is_file()), None)
            kind = "executorch" if source is not None and lib.startswith("libexecutorch") else "library"
            kind = "onnxruntime" if source is not None and lib == ONNXRUNTIME_LIBRARY else kind
            if source is None and lib in toolchain.system_libs:
                source, kind = toolchain.system_libs[lib], "system"
            if source is None:
                raise NativeBuildError(
                    f"{lib} (needed by the arm64 runner's libraries) is neither in the wheels nor in the cross "
                    f"sysroot; {INSTALL_HINT}"
                )
            shutil.copyfile(os.path.realpath(source), staging / lib)
            kinds[lib] = kind
            pending.append(lib)
    for name in kinds:
        path = staging / name
        os.chmod(path, 0o755)
        info = elf_info(path)
        if info is not None and info.runpath:
            proc = subprocess.run(
                [toolchain.patchelf, "--remove-rpath", str(path)],
                capture_output=True,
                text=True,
                env=patchelf_env,
                check=False,
            )
            if proc.returncode != 0:
                raise NativeBuildError(
                    f"patchelf --remove-rpath {name} failed: {first_line(proc.stderr, 200)}"
                )
    return kinds


def _bundle_json(staging: Path, kinds: dict[str, str], versions: dict, wheels: list[Path], key: str) -> dict:
    files = []
    for name in sorted([*kinds, LAUNCHER]):
        path = staging / name
        info = elf_info(path)
        entry = {
            "path": name,
            "kind": kinds.get(name, "launcher"),
            "bytes": path.stat().st_size,
            "sha256": _sha256(path),
        }
        if info is not None:
            entry["needed"] = list(info.needed)
        files.append(entry)
    return {
        "schema": SCHEMA,
        "target": {
            "abi": ABI,
            "machine": "aarch64",
            "libc": f"glibc {versions['glibc']} (bundled, with its loader {LOADER})",
            "runs_on": "Android (adb shell, /data/local/tmp) and arm64 Linux; CPU only; not for apps",
        },
        "launcher": LAUNCHER,
        "runner": RUNNER,
        "usage": f"sh <dir>/{LAUNCHER} --model MODEL.pte|.tflite|.onnx [mobilesdk-runner options]",
        "engines": [
            "executorch",
            *(["litert"] if LITERT_LIBRARY in kinds else []),
            *(["onnxruntime"] if ONNXRUNTIME_LIBRARY in kinds else []),
        ],
        "versions": versions,
        "wheels": [{"file": w.name, "sha256": _sha256(w)} for w in wheels],
        "key": key,
        "files": files,
        "total_bytes": sum(f["bytes"] for f in files),
    }


def build_arm64_bundle(
    cache_dir: Path,
    wheel_cache: Path,
    *,
    jobs: int | None = None,
    search_path: str | None = None,
    litert: bool | None = None,
    onnxruntime: bool | None = None,
) -> Arm64Bundle:
    """Cross-build the runner and assemble the bundle into ``cache_dir/arm64-<key>/mobilesdk`` unless it is
    complete. ``litert`` / ``onnxruntime``: with the LiteRT / ONNX Runtime engine (default: when the native
    CMakeLists has it)."""
    toolchain = _find_toolchain(search_path)
    with_litert = litert_supported() if litert is None else litert
    with_ort = onnxruntime_supported() if onnxruntime is None else onnxruntime
    et_version = installed_version(EXECUTORCH_WHEEL[0])
    lr_version = installed_version(LITERT_WHEEL[0]) if with_litert else None
    ort_version = installed_version(ONNXRUNTIME_WHEEL[0]) if with_ort else None
    key = source_hash(
        "arm64",
        f"executorch={et_version}@{EXECUTORCH_WHEEL[1]}",
        f"litert={lr_version}@{LITERT_WHEEL[1]}",
        *([f"onnxruntime={ort_version}@{ONNXRUNTIME_WHEEL[1]}"] if ort_version else []),
        f"cp{_python_tag()}",
        *EXECUTORCH_LIBS,
        hashlib.sha256(
            Path(__file__).read_bytes()
        ).hexdigest(),  # this build logic (configure args, assembly)
        *toolchain.identity(),
    )[:16]
    cache_dir = Path(cache_dir).expanduser()
    entry = cache_dir / f"arm64-{key}"
    with fsops.locked(cache_dir / f"arm64-{key}.lock"):
        if not (entry / _DONE).is_file():
            if entry.exists():
                shutil.rmtree(entry)
            (entry / "build").mkdir(parents=True)
            _build(entry, key, toolchain, wheel_cache, et_version, lr_version, jobs, search_path, ort_version)
            (entry / _DONE).write_text(key + "\n", encoding="utf-8")
            _prune(cache_dir, "arm64", keep=entry)
        mark_used(entry)
    bundle = entry / BUNDLE_NAME
    info = json.loads((bundle / BUNDLE_JSON).read_text(encoding="utf-8"))
    return Arm64Bundle(
        bundle_dir=bundle,
        launcher=bundle / LAUNCHER,
        runner=bundle / RUNNER,
        build_dir=entry / "build",
        has_litert="litert" in info["engines"],
        info=info,
        has_onnxruntime="onnxruntime" in info["engines"],
    )


def _build(
    entry: Path,
    key: str,
    toolchain: _Toolchain,
    wheel_cache: Path,
    et_version: str,
    lr_version: str | None,
    jobs: int | None,
    search_path: str | None,
    ort_version: str | None = None,
) -> None:
    build_dir, deps = entry / "build", entry / "deps"
    log = entry / "build.log"
    et_wheel = fetch_wheel(EXECUTORCH_WHEEL[0], et_version, EXECUTORCH_WHEEL[1], wheel_cache, search_path)
    libs = [f"executorch/lib/lib{name}.so" for name in EXECUTORCH_LIBS]
    _extract(et_wheel, ["executorch/share/cmake/", "executorch/include/", *libs], deps)
    wheels = [et_wheel]
    et_dir = deps / "executorch"
    search = [et_dir / "lib"]
    args = [
        f"-DCMAKE_TOOLCHAIN_FILE={TOOLCHAIN_FILE}",
        f"-DCMAKE_CXX_COMPILER={toolchain.cxx}",
        "-DCMAKE_BUILD_TYPE=Release",
        "-DMSDK_BUILD_TESTS=OFF",
        "-DMSDK_BUILD_JNI=OFF",
        "-DMSDK_BUILD_FUZZER=OFF",
        "-DMSDK_BUILD_RUNNER=ON",
        "-DCMAKE_SKIP_RPATH=ON",  # the bundle resolves by --library-path; no build path in the runner
        f"-DMSDK_EXECUTORCH_DIR={et_dir}",
        "-DMSDK_EXECUTORCH_LIBS=" + ";".join(EXECUTORCH_LIBS),
        # No absolute build path in the binaries (__FILE__ in log and check messages): reproducible, relocatable.
        f"-DCMAKE_CXX_FLAGS=-ffile-prefix-map={NATIVE_DIR}=native -ffile-prefix-map={entry}=.",
    ]
    if lr_version is not None:
        lr_wheel = fetch_wheel(LITERT_WHEEL[0], lr_version, LITERT_WHEEL[1], wheel_cache, search_path)
        _extract(lr_wheel, [f"ai_edge_litert/{LITERT_LIBRARY}"], deps)
        wheels.append(lr_wheel)
        search.append(deps / "ai_edge_litert")
        args += [f"-DMSDK_LITERT_DIR={deps / 'ai_edge_litert'}", f"-DMSDK_LITERT_VERSION={lr_version}"]
    if ort_version is not None:
        ort_wheel = fetch_wheel(
            ONNXRUNTIME_WHEEL[0], ort_version, ONNXRUNTIME_WHEEL[1], wheel_cache, search_path
        )
        member = f"onnxruntime/capi/libonnxruntime.so.{ort_version}"
        _extract(ort_wheel, [member], deps)
        ort_dir = deps / "onnxruntime" / "capi"
        os.replace(deps / member, ort_dir / ONNXRUNTIME_LIBRARY)  # by its SONAME, as the runner NEEDs it
        wheels.append(ort_wheel)
        search.append(ort_dir)
        args.append(f"-DMSDK_ONNXRUNTIME_DIR={ort_dir}")
    include = _header_deps(deps)
    args += [f"-DMSDK_JSON_INCLUDE_DIR={include}", f"-DMSDK_STB_INCLUDE_DIR={include}"]
    gen = ["-G", "Ninja", f"-DCMAKE_MAKE_PROGRAM={toolchain.ninja}"] if toolchain.ninja else []
    _run(
        [toolchain.cmake, "-S", str(NATIVE_DIR), "-B", str(build_dir), *gen, *args],
        log,
        "arm64 configure",
        search_path,
    )
    jobs_arg = str(jobs or os.cpu_count() or 2)
    _run(
        [toolchain.cmake, "--build", str(build_dir), "--parallel", jobs_arg], log, "arm64 build", search_path
    )
    runner = build_dir / RUNNER
    if not runner.is_file():
        raise NativeBuildError(f"the arm64 build in {build_dir} produced no {RUNNER} (log: {log})")
    _runner_checks(runner, lr_version is not None, ort_version is not None)

    staging = entry / fsops.owned_name(BUNDLE_NAME, "staging")
    staging.mkdir()
    kinds = _assemble(staging, runner, search, toolchain, tools.tool_env(search_path))
    (staging / LAUNCHER).write_text(LAUNCHER_TEXT, encoding="utf-8")
    os.chmod(staging / LAUNCHER, 0o755)
    versions = {
        "mobilesdk": __version__,
        "executorch": et_version,
        "litert": lr_version if LITERT_LIBRARY in kinds else None,
        "onnxruntime": ort_version if ONNXRUNTIME_LIBRARY in kinds else None,
        "glibc": _glibc_version(toolchain.system_libs["libc.so.6"]),
        "compiler": toolchain.compiler,
    }
    info = _bundle_json(staging, kinds, versions, wheels, key)
    (staging / BUNDLE_JSON).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    problems = check_bundle(staging)
    if problems:
        raise NativeBuildError(
            f"the arm64 bundle is not self-contained: {problems[0]} ({len(problems)} problems)"
        )
    os.rename(staging, entry / BUNDLE_NAME)
