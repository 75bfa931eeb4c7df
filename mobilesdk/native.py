"""Build the native core (``android_template/native``) for the host with CMake, into a cache.

A build directory is keyed by a hash of everything that determines its output: every file of the native
sources, the ExecuTorch version and the variant's options. A warm call finds the finished build and returns at
once; a change to any source starts a fresh directory. Builds of one key are serialised by a file lock, so
concurrent test sessions (ours, the Kotlin runtime's) share one build.

Variants:

* ``release`` (g++ or c++): ``mobilesdk-runner``, ``libmobilesdk_pose_jni.so`` (against the JDK's headers, when
  a JDK is found) and the GoogleTest binary, with the ExecuTorch engine of the installed ``executorch`` wheel,
  the LiteRT engine on the installed ``ai-edge-litert`` wheel's ``libLiteRt.so`` and the ONNX Runtime engine on
  the installed ``onnxruntime`` wheel's ``libonnxruntime.so.<version>`` (``.onnx`` files, for comparisons).
* ``sanitize`` (clang): the GoogleTest binary under AddressSanitizer + UndefinedBehaviorSanitizer and the
  libFuzzer target (``mobilesdk_fuzz``), from one build.

Nothing here reads the environment: the caller passes the cache directory (the CLI defaults it to
``~/.cache/mobilesdk/native``) and, if it wants, the ``PATH`` to search for tools.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from importlib import util as importlib_util
from pathlib import Path

from mobilesdk import fsops, tools
from mobilesdk.errors import MobileSDKError

NATIVE_DIR = Path(__file__).resolve().parent.parent / "android_template" / "native"
VARIANTS = ("release", "sanitize")
_BUILD_LOG = "build.log"
_DONE = ".complete"
_USED = ".used"


class NativeBuildError(MobileSDKError):
    """The native core cannot be built: a missing tool, or CMake failed (the message names the first error)."""


@dataclass(frozen=True)
class NativeBuild:
    """Paths of one finished build; a target that was not built (e.g. JNI without a JDK) is ``None``."""

    variant: str
    build_dir: Path
    runner: Path | None
    tests: Path | None
    jni: Path | None
    fuzzer: Path | None
    has_executorch: bool
    has_litert: bool = False
    has_onnxruntime: bool = False


def find_tool(names: tuple[str, ...], what: str, hint: str, search_path: str | None = None) -> str:
    return tools.find_tool(names, what, hint, search_path, NativeBuildError)


def executorch_dir() -> Path | None:
    """The installed ``executorch`` package directory (holds share/cmake/executorch-config.cmake), if any."""
    spec = importlib_util.find_spec("executorch")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    return root if (root / "share" / "cmake" / "executorch-config.cmake").is_file() else None


def litert_dir() -> Path | None:
    """The installed ``ai_edge_litert`` package directory, if it holds ``libLiteRt.so`` (the LiteRT C API)."""
    spec = importlib_util.find_spec("ai_edge_litert")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    return root if (root / "libLiteRt.so").is_file() else None


def litert_version() -> str:
    try:
        return importlib_metadata.version("ai-edge-litert")
    except importlib_metadata.PackageNotFoundError:
        return "none"


def onnxruntime_dir() -> Path | None:
    """The installed ``onnxruntime`` wheel's ``capi`` directory, if it holds ``libonnxruntime.so.<version>``."""
    spec = importlib_util.find_spec("onnxruntime")
    if spec is None or not spec.submodule_search_locations:
        return None
    capi = Path(next(iter(spec.submodule_search_locations))) / "capi"
    return capi if any(capi.glob("libonnxruntime.so.*")) else None


def onnxruntime_version() -> str:
    try:
        return importlib_metadata.version("onnxruntime")
    except importlib_metadata.PackageNotFoundError:
        return "none"


def executorch_version() -> str:
    try:
        return importlib_metadata.version("executorch")
    except importlib_metadata.PackageNotFoundError:
        return "none"


def source_hash(*extra: str) -> str:
    """sha256 of every native source file (path and bytes) plus ``extra`` strings (versions, options)."""
    h = hashlib.sha256()
    for path in sorted(p for p in NATIVE_DIR.rglob("*") if p.is_file()):
        rel = path.relative_to(NATIVE_DIR).as_posix()
        if "/build" in f"/{rel}" or rel.endswith((".pyc", "~")):
            continue
        h.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    for value in extra:
        h.update(value.encode() + b"\0")
    return h.hexdigest()


def _java_home(search_path: str | None) -> Path | None:
    javac = shutil.which("javac", path=search_path)
    if not javac:
        return None
    home = Path(os.path.realpath(javac)).parent.parent
    return home if (home / "include" / "jni.h").is_file() else None


def _configure_args(variant: str, search_path: str | None) -> tuple[list[str], dict[str, str]]:
    """(cmake -D arguments, identity of the tools) for ``variant``."""
    if variant not in VARIANTS:
        raise NativeBuildError(f"unknown native build variant {variant!r}; one of {', '.join(VARIANTS)}")
    args = ["-DCMAKE_BUILD_TYPE=Release" if variant == "release" else "-DCMAKE_BUILD_TYPE=RelWithDebInfo"]
    if variant == "release":
        cxx = find_tool(
            ("c++", "g++", "clang++"), "a C++ compiler", "install g++ (see install.sh)", search_path
        )
        args += ["-DMSDK_BUILD_TESTS=ON", "-DMSDK_BUILD_RUNNER=ON", "-DMSDK_BUILD_JNI=ON"]
        java_home = _java_home(search_path)
        if java_home is not None:
            args.append(f"-DJAVA_HOME={java_home}")
    else:
        cxx = find_tool(
            ("clang++", "clang++-14"),
            "clang++ (for the sanitizer and libFuzzer build)",
            "install clang and libclang-rt-14-dev (see install.sh)",
            search_path,
        )
        args += [
            "-DMSDK_SANITIZE=ON",
            "-DMSDK_BUILD_FUZZER=ON",
            "-DMSDK_BUILD_TESTS=ON",
            "-DMSDK_BUILD_RUNNER=OFF",
            "-DMSDK_BUILD_JNI=OFF",
        ]
    args.append(f"-DCMAKE_CXX_COMPILER={cxx}")
    et_dir = executorch_dir()
    if et_dir is not None:
        args.append(f"-DMSDK_EXECUTORCH_DIR={et_dir}")
    else:
        args.append("-DMSDK_WITH_EXECUTORCH=OFF")
    lrt_dir = litert_dir()
    if lrt_dir is not None:
        args += [f"-DMSDK_LITERT_DIR={lrt_dir}", f"-DMSDK_LITERT_VERSION={litert_version()}"]
    ort_dir = onnxruntime_dir() if variant == "release" else None  # the sanitizer build tests the core alone
    if ort_dir is not None:
        args.append(f"-DMSDK_ONNXRUNTIME_DIR={ort_dir}")
    return args, {"cxx": os.path.realpath(cxx)}


def _run(cmd: list[str], log: Path, step: str, search_path: str | None) -> None:
    env = tools.tool_env(search_path)
    with open(log, "a", encoding="utf-8") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, check=False)
    if proc.returncode != 0:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
        at = next((i for i, ln in enumerate(lines) if "error" in ln.lower() and not ln.startswith("$")), None)
        first = "" if at is None else lines[at].strip()
        if first.startswith("CMake Error"):  # "CMake Error at X:N (message):" + the message, indented
            for ln in lines[at + 1 :]:
                if not ln.startswith("  ") or not ln.strip():
                    break
                first += " " + ln.strip()
        raise NativeBuildError(f"native {step} failed: {first[:300] or 'see ' + str(log)} (log: {log})")


def build_native(
    cache_dir: Path, variant: str = "release", *, jobs: int | None = None, search_path: str | None = None
) -> NativeBuild:
    """Configure and build ``variant`` into ``cache_dir/<variant>-<key>`` unless that build is complete."""
    cmake = find_tool(("cmake",), "cmake", "install cmake 3.22 or newer (see install.sh)", search_path)
    args, tools = _configure_args(variant, search_path)
    ninja = shutil.which("ninja", path=search_path)
    key = source_hash(
        variant,
        executorch_version(),
        litert_version(),
        f"onnxruntime={onnxruntime_version()}",
        *args,
        *sorted(tools.values()),
    )[:16]
    cache_dir = Path(cache_dir).expanduser()
    build_dir = cache_dir / f"{variant}-{key}"
    with fsops.locked(cache_dir / f"{variant}-{key}.lock"):
        if not (build_dir / _DONE).is_file():
            if build_dir.exists():
                shutil.rmtree(build_dir)
            build_dir.mkdir(parents=True)
            log = build_dir / _BUILD_LOG
            gen = ["-G", "Ninja", f"-DCMAKE_MAKE_PROGRAM={ninja}"] if ninja else []
            _run(
                [cmake, "-S", str(NATIVE_DIR), "-B", str(build_dir), *gen, *args],
                log,
                "configure",
                search_path,
            )
            build = [cmake, "--build", str(build_dir), "--parallel", str(jobs or os.cpu_count() or 2)]
            _run(build, log, "build", search_path)
            (build_dir / _DONE).write_text(key + "\n", encoding="utf-8")
            _prune(cache_dir, variant, keep=build_dir)
        mark_used(build_dir)
    return _result(variant, build_dir)


PRUNE_UNUSED_S = 2 * 86400  # a build nobody used for this long is removed when a newer one is made


def _used_marker(build_dir: Path) -> Path:
    return build_dir.with_name(build_dir.name + _USED)  # beside the build: its files stay untouched


def mark_used(build_dir: Path) -> None:
    """Note that ``build_dir`` is in use now (``<build_dir>.used``'s mtime): :func:`_prune` keeps it a while."""
    with contextlib.suppress(OSError):
        _used_marker(build_dir).touch()


def _prune(cache_dir: Path, variant: str, keep: Path) -> None:
    """Remove builds of ``variant`` nobody used for :data:`PRUNE_UNUSED_S` and whose lock nobody holds; best
    effort. Builds of other clones (their keys hold their own venv's paths) and of sessions still running keep
    being used, so they stay: removing one mid-run breaks that run."""
    now = time.time()
    for old in cache_dir.glob(f"{variant}-*"):
        if old == keep or not old.is_dir():
            continue
        used = _used_marker(old) if _used_marker(old).exists() else old / _DONE
        try:
            if now - used.stat().st_mtime < PRUNE_UNUSED_S:
                continue
        except OSError:  # being built (no marker yet) or already gone
            continue
        lock = old.with_name(old.name + ".lock")
        try:
            with fsops.locked(lock, wait=False):
                shutil.rmtree(old, ignore_errors=True)
            lock.unlink(missing_ok=True)
            _used_marker(old).unlink(missing_ok=True)
        except OSError:  # BlockingIOError: in use by another process, leave it
            continue


def _result(variant: str, build_dir: Path) -> NativeBuild:
    def opt(name: str) -> Path | None:
        p = build_dir / name
        return p if p.is_file() else None

    cache = (build_dir / "CMakeCache.txt").read_text(encoding="utf-8", errors="replace")
    return NativeBuild(
        variant=variant,
        build_dir=build_dir,
        runner=opt("mobilesdk-runner"),
        tests=opt("mobilesdk_native_tests"),
        jni=opt("libmobilesdk_pose_jni.so"),
        fuzzer=opt("mobilesdk_fuzz"),
        has_executorch="MSDK_WITH_EXECUTORCH:BOOL=OFF" not in cache and executorch_dir() is not None,
        has_litert=any(
            line.startswith("MSDK_LITERT_DIR:PATH=") and line.split("=", 1)[1].strip()
            for line in cache.splitlines()
        ),
        has_onnxruntime=any(
            line.startswith("MSDK_ONNXRUNTIME_DIR:PATH=") and line.split("=", 1)[1].strip()
            for line in cache.splitlines()
        ),
    )


def runner_path(cache_dir: Path, *, jobs: int | None = None, search_path: str | None = None) -> Path:
    """The host ``mobilesdk-runner``, built on first use."""
    build = build_native(cache_dir, "release", jobs=jobs, search_path=search_path)
    if build.runner is None:
        raise NativeBuildError(f"the native build in {build.build_dir} produced no mobilesdk-runner")
    return build.runner


def jni_library_path(cache_dir: Path, *, search_path: str | None = None) -> Path:
    """The host ``libmobilesdk_pose_jni.so`` (for JVM tests: ``-Dmobilesdk.native.lib=<this>``), built on first use."""
    build = build_native(cache_dir, "release", search_path=search_path)
    if build.jni is None:
        raise NativeBuildError(
            "libmobilesdk_pose_jni.so was not built: no JDK (javac with include/jni.h) on PATH"
        )
    return build.jni
