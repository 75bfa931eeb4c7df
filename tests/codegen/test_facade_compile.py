"""Every zoo card's facade, for both runtimes, compiled with Kotlin 2 against the real jars (the cached runtime
jar, android-all 14, kotlin-stdlib) in ONE compiler run, then loaded on the JVM: the constants the templates
wrote equal what the runtime's own parser reads from the facade's embedded manifest.

Compiled jars are cached in TEST_CACHE/android (keyed by sources): a session whose facades did not change finds
them there and starts only the JVM check.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mobilesdk.codegen import build_view, render_tree
from mobilesdk.packaging.compile import CompileError, CompileStats, FacadeSource, compile_facades, runtime_jar
from mobilesdk.packaging.toolchain import ToolchainError, find_toolchain
from tests.codegen.manifests import ANDROID_CACHE, RECIPES, synthetic_manifest, zoo_cards

JVM_DIR = Path(__file__).resolve().parent / "jvm"


def _toolchain():
    for tool in ("java", "javac", "mvn"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} not found: install a JDK 17 and Maven (./install.sh lists them)")
    return find_toolchain(ANDROID_CACHE)


def _source(manifest, recipe: str) -> tuple[FacadeSource, str]:
    v = build_view(manifest, recipe)
    facade = next(f for f in render_tree("module", v) if f.path.endswith(".kt"))
    return FacadeSource(
        v.artifact_id, v.package_path, f"{v.facade_class}.kt", facade.data
    ), f"{v.package}.{v.facade_class}"


def _sources() -> list[tuple[FacadeSource, str]]:
    out = []
    cards = zoo_cards()
    for card in cards.values():
        for runtime, (recipe, _, _) in RECIPES.items():
            out.append(_source(synthetic_manifest(card, runtime), recipe))
    # Names that need the naming module: a leading digit, a dotted id, a keyword, unicode, hostile keypoints.
    base = cards["movepose-xs"]
    odd = ["nose", 'say "cheese"', "${x}", "back\\slash", "épaule", "tab\there", *base.keypoints.names[6:]]
    out.append(
        _source(synthetic_manifest(base, "executorch", model_id="3d.pose-v2", names=odd), "xnnpack-fp32")
    )
    out.append(_source(synthetic_manifest(base, "litert", model_id="object"), "litert-fp32"))
    huge = [f"kp{i}_" + "é" * 300 for i in range(17)] * 20  # > 64 KB of manifest: chunked constant
    out.append(
        _source(synthetic_manifest(base, "litert", model_id="wholebody-huge", names=huge), "litert-fp32")
    )
    return out


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    tc = _toolchain()
    sources = _sources()
    stats = CompileStats()
    classes = compile_facades(ANDROID_CACHE, [s for s, _ in sources], lambda: tc, stats)
    out = tmp_path_factory.mktemp("facade-classes")
    for per_facade in classes.values():
        for name, data in per_facade.items():
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            (out / name).write_bytes(data)
    return tc, sources, classes, stats, out


def test_every_family_and_runtime_compiles_in_one_compiler_run(compiled):
    tc, sources, classes, stats, _ = compiled
    assert len(sources) == 2 * len(zoo_cards()) + 3
    assert set(classes) == {s.name for s, _ in sources}
    facade_runs = stats.compiler_runs - (0 if stats.runtime_cached else 1)
    assert facade_runs == (1 if stats.facades_compiled else 0), stats  # all of them together, or all cached
    assert stats.facades_compiled + stats.facades_cached == len(sources)
    for (src, cls), per in zip(sources, (classes[s.name] for s, _ in sources), strict=True):
        assert f"{cls.replace('.', '/')}.class" in per, (src.name, sorted(per))
        assert all(name.startswith(src.package_path + "/") for name in per)


def test_facade_constants_equal_the_runtime_parse_of_the_manifest(compiled, tmp_path):
    tc, sources, _, _, classes_dir = compiled
    javac = shutil.which("javac")
    runtime = runtime_jar(ANDROID_CACHE, lambda: tc)
    stdlib, android = tc.compile_classpath[0], tc.compile_classpath[1]
    cp = os.pathsep.join(map(str, [runtime, stdlib, android]))
    subprocess.run(
        [javac, "-d", str(tmp_path), "-cp", cp, str(JVM_DIR / "FacadeCheck.java")],
        check=True,
        capture_output=True,
    )
    run_cp = os.pathsep.join([str(tmp_path), str(classes_dir), cp])
    proc = subprocess.run(
        [str(tc.java), "-cp", run_cp, "FacadeCheck", *(c for _, c in sources)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("OK ") == len(sources), proc.stdout


def test_the_runtime_jar_is_cached_by_its_sources(compiled):
    tc = compiled[0]
    stats = CompileStats()
    jar = runtime_jar(
        ANDROID_CACHE, lambda: pytest.fail("a cached runtime must not look for the toolchain"), stats
    )
    assert jar.is_file() and stats.runtime_cached and stats.compiler_runs == 0
    again = CompileStats()
    compile_facades(
        ANDROID_CACHE, [s for s, _ in compiled[1]], lambda: pytest.fail("all cached: no compile"), again
    )
    assert again.facades_cached == len(compiled[1]) and again.compiler_runs == 0
    assert tc.kotlin_version.startswith("2.")


def test_a_broken_facade_is_a_one_line_compile_error(compiled):
    tc = compiled[0]
    src = FacadeSource(
        "broken",
        "io/mobilesdk/models/broken",
        "BrokenPoseEstimator.kt",
        b'package io.mobilesdk.models.broken\nobject Broken { val x: Int = "no" }\n',
    )
    with pytest.raises(
        CompileError, match=r"Kotlin compile of the facade\(s\) broken failed: .*error: .*\(log: "
    ):
        compile_facades(ANDROID_CACHE, [src], lambda: tc)


def test_missing_jdk_or_maven_is_a_one_line_error(tmp_path):
    fresh = tmp_path / "cache"
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    with pytest.raises(ToolchainError, match=r"a JDK \(java\) not found on PATH.*install a JDK 17"):
        find_toolchain(fresh, search_path=str(empty))
    only_java = tmp_path / "java-bin"
    only_java.mkdir()
    (only_java / "java").symlink_to(shutil.which("java"))
    with pytest.raises(ToolchainError, match=r"Maven not found on PATH.*install Maven"):
        find_toolchain(fresh, search_path=str(only_java))
