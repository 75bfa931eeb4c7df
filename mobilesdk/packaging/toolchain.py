"""The JVM toolchain for packaging: a JDK's ``java``, Maven (once, to resolve the Kotlin compiler) and the
jars of the local Maven repository that ``android_template/maven-offline.sh`` resolved.

Nothing here reads the environment: the caller passes the cache directory and, if it wants, the ``PATH`` to
search. Every missing piece is a one-line :class:`ToolchainError` that says how to get it. Discovery is lazy:
a build whose classes are all cached never looks for a JDK.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mobilesdk import fsops, tools
from mobilesdk.codegen.viewmodel import ANDROID_TEMPLATE, runtime_versions
from mobilesdk.errors import MobileSDKError

KOTLINC_POM = ANDROID_TEMPLATE / "toolchain" / "kotlinc" / "pom.xml"
OFFLINE_HINT = "run android_template/maven-offline.sh once with network access (./install.sh does)"
MIN_JAVA = 11
# The Android framework the AAR's classes compile against: Robolectric's android-all of Android 7.0 = API 24,
# the AAR's minSdk (mobilesdk.codegen.viewmodel.MIN_SDK), so a call newer than minSdk fails our compile rather
# than an app on an old phone. (It is the framework's implementation jar, not the SDK's stub android.jar: hidden
# APIs of API 24 resolve too.) The JVM tests run on android-all(-instrumented) 14 (runtime/pom.xml).
ANDROID_ALL = ("org.robolectric", "android-all", "7.0.0_r1-robolectric-r1")


class ToolchainError(MobileSDKError):
    """A tool or jar the AAR step needs is missing (JDK, Maven, the Kotlin compiler, the Android API jar...)."""


@dataclass(frozen=True)
class Toolchain:
    """Everything a Kotlin compile needs; paths are absolute."""

    java: Path
    java_version: str
    maven_repo: Path
    compiler_classpath: tuple[Path, ...]  # kotlin-compiler-embeddable and its dependencies
    compile_classpath: tuple[Path, ...]  # kotlin-stdlib, android-all, the TFLite API classes
    kotlin_version: str


def find_tool(name: str, what: str, hint: str, search_path: str | None) -> Path:
    return Path(tools.find_tool(name, what, hint, search_path, ToolchainError))


def java_version(java: Path) -> str:
    """``17.0.15`` from ``java -version``; a JDK older than 11 is refused (Kotlin 2 targets JVM 11 here)."""
    try:
        proc = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except OSError as exc:
        raise ToolchainError(f"{java}: cannot run ({exc.strerror or exc})") from None
    match = re.search(r'version "([^"]+)"', proc.stderr + proc.stdout)
    if proc.returncode != 0 or not match:
        raise ToolchainError(f"{java} -version failed (exit {proc.returncode}): is it a JDK?")
    version = match.group(1)
    major = int(version.split(".")[1] if version.startswith("1.") else re.split(r"[.+-]", version)[0])
    if major < MIN_JAVA:
        raise ToolchainError(
            f"{java} is Java {version}; the Kotlin compile needs a JDK {MIN_JAVA} or newer (17 recommended)"
        )
    return version


def _classpath_cache(cache_dir: Path, pom: Path = KOTLINC_POM, prefix: str = "kotlinc") -> Path:
    key = hashlib.sha256(pom.read_bytes()).hexdigest()[:16]
    return cache_dir / f"{prefix}-{key}.classpath"


def compiler_classpath(cache_dir: Path, search_path: str | None) -> tuple[Path, ...]:
    """The Kotlin compiler's jars, resolved by Maven from ~/.m2 once and cached (keyed by its POM)."""
    return pom_classpath(cache_dir, search_path, KOTLINC_POM, "kotlinc", "the Kotlin compiler")


def pom_classpath(
    cache_dir: Path, search_path: str | None, pom: Path, prefix: str, what: str
) -> tuple[Path, ...]:
    """The jars of the dependencies of ``pom`` (a tool: the Kotlin compiler, ProGuard...), resolved by Maven
    offline from ~/.m2 once and cached in ``cache_dir/<prefix>-<hash of the POM>.classpath``."""
    cached = _classpath_cache(cache_dir, pom, prefix)
    if cached.is_file():
        jars = tuple(Path(p) for p in cached.read_text(encoding="utf-8").split(os.pathsep) if p)
        if jars and all(j.is_file() for j in jars):
            return jars
    mvn = find_tool("mvn", "Maven", "install Maven 3.8+ (Debian: apt-get install maven)", search_path)
    cache_dir.mkdir(parents=True, exist_ok=True)
    out = cache_dir / fsops.owned_name(cached.name, "partial")
    cmd = [
        str(mvn),
        "-o",
        "-q",
        "-B",
        "-f",
        str(pom),
        "dependency:build-classpath",
        f"-Dmdep.outputFile={out}",
    ]
    env = tools.tool_env(search_path)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, check=False)
        if proc.returncode != 0 or not out.is_file():
            error = next((ln for ln in (proc.stdout + proc.stderr).splitlines() if "[ERROR]" in ln), "")
            error = re.sub(r"\x1b\[[0-9;]*m", "", error).replace("[ERROR]", "").strip()[:200]
            raise ToolchainError(
                f"Maven cannot resolve {what} offline ({error or f'exit {proc.returncode}'}); {OFFLINE_HINT}"
            )
        jars = tuple(Path(p) for p in out.read_text(encoding="utf-8").split(os.pathsep) if p)
        os.replace(out, cached)
    finally:
        out.unlink(missing_ok=True)
    return jars


def _maven_repo(compiler: tuple[Path, ...]) -> Path:
    """The local repository the compiler jars live in (``<repo>/org/jetbrains/kotlin/<name>/<v>/<jar>``)."""
    for jar in compiler:
        parts = jar.parts
        if len(parts) > 6 and parts[-6:-3] == ("org", "jetbrains", "kotlin"):
            return Path(*parts[:-6])
    raise ToolchainError(
        f"cannot tell the local Maven repository from the Kotlin compiler's classpath; {OFFLINE_HINT}"
    )


def repo_jar(repo: Path, group: str, artifact: str, version: str) -> Path:
    return repo.joinpath(*group.split("."), artifact, version, f"{artifact}-{version}.jar")


def compile_classpath(repo: Path) -> tuple[Path, ...]:
    """kotlin-stdlib (the version the AAR's POM declares), the Android API of minSdk (android-all) and the
    TFLite Interpreter API classes, from ``repo``."""
    versions = runtime_versions()
    jars = (
        repo_jar(repo, "org.jetbrains.kotlin", "kotlin-stdlib", versions["kotlin_stdlib"]),
        repo_jar(repo, *ANDROID_ALL),
        repo_jar(repo, "io.mobilesdk.toolchain", "tensorflow-lite-classes", versions["tflite"]),
        repo_jar(repo, "io.mobilesdk.toolchain", "tensorflow-lite-api-classes", versions["tflite"]),
    )
    for jar in jars:
        if not jar.is_file():
            raise ToolchainError(f"{jar.name} is not in the local Maven repository {repo}; {OFFLINE_HINT}")
    return jars


def find_toolchain(cache_dir: Path, search_path: str | None = None) -> Toolchain:
    """Find (and cache what is slow to find) everything a compile needs; one-line errors."""
    java = find_tool(
        "java",
        "a JDK (java)",
        "install a JDK 17 (Debian: apt-get install openjdk-17-jdk-headless)",
        search_path,
    )
    version = java_version(java)
    compiler = compiler_classpath(Path(cache_dir), search_path)
    repo = _maven_repo(compiler)
    kotlin = next((j.parent.name for j in compiler if j.name.startswith("kotlin-compiler-embeddable-")), "")
    if not kotlin:
        raise ToolchainError(f"kotlin-compiler-embeddable is not on the compiler's classpath; {OFFLINE_HINT}")
    return Toolchain(java, version, repo, compiler, compile_classpath(repo), kotlin)
