"""Kotlin compiles for the AAR's ``classes.jar``, cached so that each source is compiled once.

* The static runtime (``android_template/runtime/src/main/kotlin``) is compiled once into
  ``<cache>/runtime-<key>.jar``; the key hashes its sources, the compiler's POM, the pinned versions and the
  compiler flags. A changed source makes a new key (older jars are pruned).
* Facades are compiled against that jar, several in one compiler run (the JVM and compiler start-up is most of
  a facade's cost), and cached one jar per facade under ``<cache>/facades/<key>.jar`` (key: the facade source
  and the runtime key). An unchanged rebuild finds everything cached and starts no JVM at all.
* The compiler runs directly (``K2JVMCompiler`` on the classpath Maven resolved; no Gradle, no Maven plugin),
  on the C1 JIT only, with an AppCDS archive of its classes made by the first run (``-XX:ArchiveClassesAtExit``):
  a facade compile drops from ~8 s to ~5 s here.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mobilesdk import fsops
from mobilesdk.codegen import runtime_sources
from mobilesdk.codegen.viewmodel import JVM_TARGET, RUNTIME_DIR, runtime_versions
from mobilesdk.errors import MobileSDKError
from mobilesdk.packaging.toolchain import ANDROID_ALL, KOTLINC_POM, Toolchain
from mobilesdk.packaging.zips import zip_bytes

KOTLIN_API = runtime_versions()["kotlin_api"] or "2.0"

# What an app on an old phone and an old Kotlin can use:
# * Kotlin metadata 2.0 (-language-version/-api-version 2.0, the lowest kotlinc 2.4 accepts): apps on Kotlin 1.9+
#   read the classes (see runtime/pom.xml), and they are compiled against the kotlin-stdlib the POM declares;
# * JVM 1.8 bytecode against the Java 8 API (-Xjdk-release=1.8, from the JDK's ct.sym): java.* calls resolve to
#   methods Android has, e.g. ByteBuffer.clear() returns Buffer (the covariant ByteBuffer overrides of Java 9+
#   are a NoSuchMethodError on older Android); android.* resolves against minSdk's android-all (ANDROID_ALL).
COMPILER_FLAGS = (
    "-no-stdlib",
    "-no-reflect",
    "-jvm-target",
    JVM_TARGET,
    f"-Xjdk-release={JVM_TARGET}",
    "-language-version",
    KOTLIN_API,
    "-api-version",
    KOTLIN_API,
)
# C1 only: the compiler runs for seconds, C2 would not pay off (half the time, measured).
JVM_FLAGS = (
    "-XX:TieredStopAtLevel=1",
    "-XX:+UseParallelGC",
    "-Xss8m",
    "-Xmx2g",
    "-Xlog:cds=off",
    "-Xlog:cds+dynamic=off",
)
COMPILER_MAIN = "org.jetbrains.kotlin.cli.jvm.K2JVMCompiler"
RUNTIME_MODULE = "mobilesdk-pose-runtime"
FACADE_MODULE = "mobilesdk-model-facades"
_FACADE_MAX_AGE_S = 60 * 86400  # facade jars unused for 60 days are pruned
_JAR_MANIFEST = "META-INF/MANIFEST.MF"


class CompileError(MobileSDKError):
    """The Kotlin compiler failed (the message has its first error and the log's path)."""


@dataclass(frozen=True)
class FacadeSource:
    """One generated facade: ``text`` goes to ``<package_path>/<file_name>``; its classes are those of its
    package (one package per facade, so several compile in one run)."""

    name: str
    package_path: str
    file_name: str
    text: bytes


@dataclass
class CompileStats:
    runtime_cached: bool = True
    runtime_seconds: float = 0.0
    facades_compiled: int = 0
    facades_cached: int = 0
    facade_seconds: float = 0.0
    compiler_runs: int = 0
    logs: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "runtime_cached": self.runtime_cached,
            "runtime_seconds": round(self.runtime_seconds, 2),
            "facades_compiled": self.facades_compiled,
            "facades_cached": self.facades_cached,
            "facade_seconds": round(self.facade_seconds, 2),
            "compiler_runs": self.compiler_runs,
        }


def _hash(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8") if isinstance(p, str) else p)
        h.update(b"\0")
    return h.hexdigest()


def runtime_key() -> str:
    """Identity of the compiled runtime: its sources, the compiler (its POM), pinned versions and flags."""
    parts: list[bytes | str] = [KOTLINC_POM.read_bytes(), *COMPILER_FLAGS, RUNTIME_MODULE, *ANDROID_ALL]
    parts += [f"{k}={v}" for k, v in sorted(runtime_versions().items())]
    root = RUNTIME_DIR / "src" / "main" / "kotlin"
    for path in runtime_sources():
        parts += [path.relative_to(root).as_posix(), path.read_bytes()]
    return _hash(*parts)[:20]


def facade_key(source: FacadeSource, runtime: str) -> str:
    return _hash(runtime, FACADE_MODULE, source.package_path, source.file_name, source.text)[:24]


def _first_error(log: str) -> str:
    for line in log.splitlines():
        if "error:" in line:
            return line.strip()[:300]
    lines = [ln.strip() for ln in log.splitlines() if ln.strip() and not ln.startswith("warning:")]
    return (lines[-1] if lines else "no output")[:300]


def kotlinc(
    tc: Toolchain,
    cache_dir: Path,
    sources: Sequence[Path],
    out: Path,
    module: str,
    classpath: Sequence[Path],
    what: str,
    log: Path | None = None,
) -> None:
    """One compiler run: ``sources`` (files or directories) -> ``out`` (a .jar or a directory), with the flags
    of every AAR compile (:data:`COMPILER_FLAGS`). The whole output goes to ``log`` (default
    ``cache_dir/last-compile.log``); a failure raises :class:`CompileError` with the first error."""
    jsa = (
        cache_dir
        / f"kotlinc-{_hash(str(tc.java), tc.java_version, *map(str, tc.compiler_classpath))[:16]}.jsa"
    )
    dump = None
    jvm = [str(tc.java), *JVM_FLAGS]
    if jsa.is_file():
        jvm.append(f"-XX:SharedArchiveFile={jsa}")
    else:  # the first run records the compiler's classes; later runs map them instead of loading them
        dump = jsa.with_name(fsops.owned_name(jsa.name, "partial"))
        jvm.append(f"-XX:ArchiveClassesAtExit={dump}")
    cmd = [*jvm, "-cp", os.pathsep.join(map(str, tc.compiler_classpath)), COMPILER_MAIN, *COMPILER_FLAGS]
    cmd += [
        "-module-name",
        module,
        "-classpath",
        os.pathsep.join(map(str, classpath)),
        "-d",
        str(out),
        *map(str, sources),
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False)
        log = log or cache_dir / "last-compile.log"
        log.write_text("$ " + " ".join(cmd) + "\n" + proc.stdout + proc.stderr, encoding="utf-8")
        if proc.returncode != 0:
            raise CompileError(
                f"Kotlin compile of {what} failed: {_first_error(proc.stdout + proc.stderr)} (log: {log})"
            )
        if dump is not None and dump.is_file():
            os.replace(dump, jsa)
            for old in cache_dir.glob("kotlinc-*.jsa"):  # another JDK's or compiler's archive (~85 MB each)
                if old != jsa:
                    old.unlink(missing_ok=True)
    except subprocess.TimeoutExpired:
        raise CompileError(f"Kotlin compile of {what} did not finish in 30 min") from None
    except OSError as exc:
        raise CompileError(f"cannot run the Kotlin compiler ({exc.strerror or exc})") from None
    finally:
        if dump is not None:
            dump.unlink(missing_ok=True)


def runtime_jar(
    cache_dir: Path, toolchain: Callable[[], Toolchain], stats: CompileStats | None = None
) -> Path:
    """The compiled static runtime, from the cache or compiled now (``toolchain`` is called only then)."""
    stats = stats or CompileStats()
    cache_dir = Path(cache_dir)
    key = runtime_key()
    path = cache_dir / f"runtime-{key}.jar"
    if path.is_file():
        return path
    with fsops.locked(cache_dir / "runtime.lock"):
        if path.is_file():  # another process compiled it while we waited
            return path
        tc = toolchain()
        t0 = time.perf_counter()
        tmp = cache_dir / (
            fsops.owned_name(path.stem, "partial") + ".jar"
        )  # kotlinc writes a jar for "*.jar"
        try:
            root = RUNTIME_DIR / "src" / "main" / "kotlin"
            kotlinc(tc, cache_dir, [root], tmp, RUNTIME_MODULE, tc.compile_classpath, "the mobilesdk runtime")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        stats.runtime_cached = False
        stats.runtime_seconds += time.perf_counter() - t0
        stats.compiler_runs += 1
        for old in cache_dir.glob("runtime-*.jar"):
            if old != path:
                old.unlink(missing_ok=True)
    return path


def read_jar(path: Path) -> dict[str, bytes]:
    """Entry name -> bytes of every file in the jar ``path`` (directories left out)."""
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist() if not name.endswith("/")}


def write_jar(entries: dict[str, bytes], manifest: bool = True) -> bytes:
    """A jar of ``entries`` with fixed times and sorted names (MANIFEST.MF first): deterministic bytes."""
    default_manifest = b"Manifest-Version: 1.0\r\n\r\n"
    head = [(_JAR_MANIFEST, entries.get(_JAR_MANIFEST, default_manifest))] if manifest else []
    rest = [(n, entries[n]) for n in sorted(entries) if n != _JAR_MANIFEST]
    return zip_bytes((name, data, zipfile.ZIP_DEFLATED) for name, data in [*head, *rest])


def _batches(sources: Sequence[FacadeSource]) -> list[list[FacadeSource]]:
    """Split ``sources`` so no run holds two facades of one package (their classes could not be told apart)."""
    batches: list[list[FacadeSource]] = []
    for src in sources:
        for batch in batches:
            if all(s.package_path != src.package_path for s in batch):
                batch.append(src)
                break
        else:
            batches.append([src])
    return batches


def _compile_batch(
    tc: Toolchain, cache_dir: Path, runtime: Path, batch: list[FacadeSource]
) -> dict[str, dict[str, bytes]]:
    with tempfile.TemporaryDirectory(prefix="facades-", dir=cache_dir) as tmp:
        src_root, out = Path(tmp) / "src", Path(tmp) / "classes"
        for s in batch:
            dest = src_root / s.package_path / s.file_name
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(s.text)
        what = ", ".join(s.name for s in batch)
        kotlinc(
            tc,
            cache_dir,
            [src_root],
            out,
            FACADE_MODULE,
            [runtime, *tc.compile_classpath],
            f"the facade(s) {what}",
        )
        result = {}
        for s in batch:
            pkg = out / s.package_path
            classes = {f"{s.package_path}/{p.name}": p.read_bytes() for p in sorted(pkg.glob("*.class"))}
            if not classes:
                raise CompileError(
                    f"the Kotlin compiler produced no classes for {s.name} in {s.package_path}"
                )
            result[s.name] = classes
        return result


def compile_facades(
    cache_dir: Path,
    sources: Sequence[FacadeSource],
    toolchain: Callable[[], Toolchain],
    stats: CompileStats | None = None,
    *,
    runtime: Path | None = None,
) -> dict[str, dict[str, bytes]]:
    """name -> {class entry path: bytes} for every facade, compiled against the cached runtime jar.

    Facades missing from the cache are compiled together (one compiler run per batch of distinct packages);
    ``toolchain`` is only called when something must be compiled. ``runtime``: the jar :func:`runtime_jar`
    gave (None: it is looked up here).
    """
    stats = stats or CompileStats()
    cache_dir = Path(cache_dir)
    if runtime is None:
        runtime = runtime_jar(cache_dir, toolchain, stats)
    rkey = runtime.stem.removeprefix("runtime-")
    facade_dir = cache_dir / "facades"
    facade_dir.mkdir(parents=True, exist_ok=True)
    found: dict[str, dict[str, bytes]] = {}
    missing = []
    for src in sources:
        jar = facade_dir / f"{facade_key(src, rkey)}.jar"
        if jar.is_file():
            found[src.name] = read_jar(jar)
            os.utime(jar)  # recently used: kept by the pruning below
            stats.facades_cached += 1
        else:
            missing.append(src)
    if missing:
        tc = toolchain()
        for batch in _batches(missing):
            t0 = time.perf_counter()
            compiled = _compile_batch(tc, cache_dir, runtime, batch)
            stats.facade_seconds += time.perf_counter() - t0
            stats.compiler_runs += 1
            stats.facades_compiled += len(batch)
            for src in batch:
                fsops.write_atomically(
                    facade_dir / f"{facade_key(src, rkey)}.jar", write_jar(compiled[src.name], manifest=False)
                )
                found[src.name] = compiled[src.name]
        _prune_facades(facade_dir)
    return found


def _prune_facades(facade_dir: Path) -> None:
    now = time.time()
    for jar in facade_dir.glob("*.jar"):
        with contextlib.suppress(OSError):
            if now - jar.stat().st_mtime > _FACADE_MAX_AGE_S:
                jar.unlink()


def classes_jar(runtime: dict[str, bytes], facade_classes: dict[str, bytes]) -> bytes:
    """``classes.jar`` of an AAR: the runtime jar's entries (:func:`read_jar`) plus one facade's classes (the
    facade batch's empty ``.kotlin_module`` is left out: a facade is an object, it has no top-level
    declarations to index)."""
    clash = sorted(set(runtime) & set(facade_classes))
    if clash:
        raise CompileError(f"facade classes collide with the runtime's: {clash[0]}")
    return write_jar({**runtime, **facade_classes})
