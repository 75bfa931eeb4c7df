"""The AAR checked as an app will use it: an old phone, an app on an older Kotlin, a release build that shrinks.

* Java API level: classes.jar calls only the Java 8 API that Android implements (javap over it: no covariant
  ``ByteBuffer.clear()``-style overrides of Java 9+, which are a NoSuchMethodError on older Android), and a call
  newer than minSdk 24 or Java 8 in a source compiled the way the AAR's classes are fails that compile.
* Kotlin compatibility: a consumer written as the README shows, compiled by Kotlin 1.9 against the AAR's
  classes.jar, the kotlin-stdlib version its POM declares and Android 7.0 (API 24).
* Shrinking: that consumer, ProGuard-ed together with the AAR's classes.jar under the AAR's own proguard.txt
  (R8 is not on Maven Central; ProGuard reads the same rules), runs the model end to end on the JVM through
  the host JNI library of the native core, with the keypoints of the unshrunk classes and of the Python path;
  without the JNI keep rules the shrunk app fails.

The AAR is packaged from the ``movepose_pte`` build (trained fixture weights; no new export).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from mobilesdk.codegen.viewmodel import ANDROID_TEMPLATE
from mobilesdk.packaging import PackagingOptions, package_build
from mobilesdk.packaging.compile import CompileError, kotlinc
from mobilesdk.packaging.toolchain import ANDROID_ALL, find_toolchain, pom_classpath, repo_jar
from tests.codegen.manifests import ANDROID_CACHE

POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}
KOTLINC_APP_POM = ANDROID_TEMPLATE / "toolchain" / "kotlinc-app" / "pom.xml"
PROGUARD_POM = ANDROID_TEMPLATE / "toolchain" / "proguard" / "pom.xml"
# The keep rules the native core needs (it registers NativeCore's natives by name in JNI_OnLoad).
JNI_RULES = ("NativeCore", "native <methods>")
# Java 9+ members that Java 8 (and so older Android) lacks: the covariant Buffer overrides (Java 9 made
# ByteBuffer.clear() etc. return ByteBuffer instead of Buffer) and common additions of Java 9-11.
_COVARIANT = re.compile(
    r"Method java/nio/(\w*Buffer)\.(clear|flip|rewind|mark|reset|position|limit):\(I?\)Ljava/nio/(\w*Buffer);"
)
_JAVA9 = re.compile(
    r"Method java/(util/(List|Set|Map)\.(of|copyOf)|lang/String\.(isBlank|strip|lines|repeat)"
    r"|io/InputStream\.(readAllBytes|readNBytes|transferTo)|util/Optional\.isEmpty|nio/file/Path\.of"
    r"|util/Objects\.requireNonNullElse)[:(]"
)

APP = """\
package app

import android.content.Context
import android.content.ContextWrapper
import android.graphics.Bitmap
import android.util.Log
import {facade}
import io.mobilesdk.pose.PoseEstimator
import io.mobilesdk.pose.PoseException
import java.io.File

/** What the README shows an app doing (compiled, not run: a Bitmap needs Android's graphics). */
fun onFrame(context: Context, bitmap: Bitmap) {{
    val estimator = {cls}.create(context, PoseEstimator.Options(threads = 4))
    val result = estimator.estimate(bitmap)                 // or estimate(image, rotationDegrees), estimate(bitmap, roi)
    val nose = result.poses.first()["nose"]                 // Keypoint(name, x, y, score) in bitmap pixels
    Log.d("pose", "nose at ${{nose.x}},${{nose.y}}; ${{result.timings.totalMs}} ms")
    estimator.close()
}}

/** The same calls on the JVM: an NV21 frame instead of a Bitmap, the model file instead of the APK's asset. */
object App {{
    @JvmStatic
    fun main(args: Array<String>) {{
        val context: Context = ContextWrapper(null)  // not used when Options.modelFile is given
        val estimator = {cls}.create(context, PoseEstimator.Options(threads = 1, modelFile = File(args[0])))
        val result = estimator.estimateNv21(File(args[1]).readBytes(), args[2].toInt(), args[3].toInt(), args[4].toInt())
        for (k in result.poses.first().keypoints) println("kp ${{k.name}} ${{k.x}} ${{k.y}} ${{k.score}}")
        println("engine ${{estimator.engineName}} randomWeights ${{estimator.randomWeights}} ${{{cls}.RANDOM_WEIGHTS}}")
        estimator.close()
        // A failure inside the native core comes back as PoseException, constructed by JNI.
        try {{
            PoseEstimator.create(context, {cls}.SPEC.copy(sha256 = null), PoseEstimator.Options(modelFile = File(args[5])))
            println("native error: none")
        }} catch (e: PoseException) {{
            println("native error: ${{e.javaClass.name}} status ${{e.status}}")
        }}
    }}
}}
"""


def _run(cmd: list[str], timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def tc():
    return find_toolchain(ANDROID_CACHE)


@pytest.fixture(scope="module")
def aar(movepose_pte, tmp_path_factory, no_native_libs, tc):
    """The ExecuTorch AAR of the trained movepose-xs-128 build, unpacked, with what its POM declares."""
    work = tmp_path_factory.mktemp("app-compat")
    folder = work / movepose_pte["dir"].name
    shutil.copytree(movepose_pte["dir"], folder)
    result = package_build(
        folder, [movepose_pte["artifact"]["recipe"]], PackagingOptions(ANDROID_CACHE, no_native_libs)
    )
    built = next(a for a in result.aars if a.runtime == "executorch")
    with zipfile.ZipFile(built.path) as z:
        z.extract("classes.jar", work)
        z.extract("proguard.txt", work)
    pom = ET.parse(built.pom).getroot()
    stdlib = next(
        d.findtext("m:version", "", POM_NS)
        for d in pom.iterfind("m:dependencies/m:dependency", POM_NS)
        if d.findtext("m:artifactId", "", POM_NS) == "kotlin-stdlib"
    )
    return SimpleNamespace(
        work=work,
        classes=work / "classes.jar",
        proguard=work / "proguard.txt",
        facade=built.facade,
        stdlib=repo_jar(tc.maven_repo, "org.jetbrains.kotlin", "kotlin-stdlib", stdlib),
        android=repo_jar(tc.maven_repo, *ANDROID_ALL),
        pte=Path(movepose_pte["pte"]),
        card=movepose_pte["card"],
    )


@pytest.fixture(scope="module")
def app(aar, tc):
    """The README's use of the facade compiled by Kotlin 1.9 against the AAR, as an app on Kotlin 1.9 would
    (its kotlin-stdlib: the version the AAR's POM declares, which Gradle resolves for it)."""
    cls = aar.facade.rsplit(".", 1)[1]
    src = aar.work / "app-src" / "App.kt"
    src.parent.mkdir()
    src.write_text(APP.format(facade=aar.facade, cls=cls))
    compiler = pom_classpath(ANDROID_CACHE, None, KOTLINC_APP_POM, "kotlinc-app", "Kotlin 1.9")
    assert any(j.name == "kotlin-compiler-embeddable-1.9.25.jar" for j in compiler), compiler
    jar = aar.work / "app.jar"
    cp = os.pathsep.join(map(str, [aar.classes, aar.stdlib, aar.android]))
    cmd = [str(tc.java), "-XX:TieredStopAtLevel=1", "-cp", os.pathsep.join(map(str, compiler))]
    cmd += ["org.jetbrains.kotlin.cli.jvm.K2JVMCompiler", "-no-stdlib", "-no-reflect", "-jvm-target", "1.8"]
    cmd += ["-classpath", cp, "-d", str(jar), str(src.parent)]
    return _run(cmd), jar


@pytest.fixture(scope="module")
def frame(aar, tmp_path_factory):
    """An NV21 frame of a synthetic figure (stored rotated: 90 makes it upright), a truncated program, and the
    Python path's keypoints for that frame (preprocess -> ExecuTorch host runtime -> codec)."""
    from mobilesdk import preprocess as pp
    from mobilesdk import synthetic
    from mobilesdk.cards import load_card
    from mobilesdk.codecs import codec_for
    from mobilesdk.runtimes import get_runtime

    card = load_card(aar.card)
    images, _ = synthetic.make_samples(1, card.num_keypoints, 128, 96, card.keypoints.skeleton, seed=5)
    stored = np.ascontiguousarray(np.rot90(images[0], k=1))  # 96 x 128 upright, stored 128 x 96
    nv21 = pp.rgb_to_yuv_frame(stored, "nv21")
    folder = tmp_path_factory.mktemp("nv21")
    (folder / "frame.nv21").write_bytes(np.concatenate([p.data for p in nv21.planes]).tobytes())
    (folder / "truncated.pte").write_bytes(aar.pte.read_bytes()[:4096])
    codec = codec_for(card)
    with get_runtime("executorch").open(aar.pte) as session:
        x, matrix = pp.preprocess(nv21, card.input, layout="NCHW", dtype="float32", rotation=90)
        kps = codec.decode(dict(zip(codec.output_names, session.run([x]), strict=True)))
    xy = pp.keypoints_to_frame(kps.xy[0], matrix)
    args = [str(aar.pte), str(folder / "frame.nv21"), str(nv21.width), str(nv21.height), "90"]
    return SimpleNamespace(args=[*args, str(folder / "truncated.pte")], xy=xy, scores=kps.scores[0])


def _jni() -> Path:
    from mobilesdk.native import NativeBuildError, jni_library_path
    from tests.fixtures import NATIVE_CACHE

    try:
        return jni_library_path(NATIVE_CACHE)
    except NativeBuildError as exc:
        pytest.fail(str(exc))


def _run_app(tc, aar, frame, *jars: Path) -> subprocess.CompletedProcess:
    cp = os.pathsep.join(map(str, [*jars, aar.stdlib, aar.android]))
    return _run([str(tc.java), f"-Dmobilesdk.native.lib={_jni()}", "-cp", cp, "app.App", *frame.args], 300)


def _proguard(tc, aar, app_jar: Path, name: str, rules: str, optimize: bool = True) -> tuple[Path, str]:
    """``app_jar`` + the AAR's classes.jar shrunk, optimised and obfuscated as a release build does, with
    ``rules`` as the AAR's consumer rules. Library jars: what the app runs on (the JDK's java.base for the
    java.* Android has, Android 7.0's framework, the stdlib and its annotations)."""
    jmod = Path(os.path.realpath(tc.java)).parents[1] / "jmods" / "java.base.jmod"
    assert jmod.is_file(), f"{jmod}: the JDK has no jmods (ProGuard needs java.base.jmod as a library)"
    annotations = repo_jar(tc.maven_repo, "org.jetbrains", "annotations", "13.0")
    folder = aar.work / name
    folder.mkdir()
    (folder / "consumer.pro").write_text(rules)
    out = folder / "shrunk.jar"
    config = [
        f"-injars {app_jar}",
        f"-injars {aar.classes}(!META-INF/MANIFEST.MF)",
        f"-outjars {out}",
        f"-libraryjars {jmod}(!**.jar;!module-info.class)",
        *(f"-libraryjars {jar}" for jar in (aar.android, aar.stdlib, annotations)),
        f"-include {folder / 'consumer.pro'}",
        "-keep class app.App { public static void main(java.lang.String[]); }",
        f"-printmapping {folder / 'mapping.txt'}",
        *([] if optimize else ["-dontoptimize"]),
    ]
    (folder / "app.pro").write_text("\n".join(config) + "\n")
    classpath = pom_classpath(ANDROID_CACHE, None, PROGUARD_POM, "proguard", "ProGuard")
    cmd = [str(tc.java), "-cp", os.pathsep.join(map(str, classpath)), "proguard.ProGuard"]
    proc = _run([*cmd, f"@{folder / 'app.pro'}"])
    assert proc.returncode == 0 and out.is_file(), proc.stdout[-3000:] + proc.stderr[-3000:]
    return out, (folder / "mapping.txt").read_text()


def _javap(jar: Path, *flags: str, classes: list[str] | None = None) -> str:
    javap = shutil.which("javap") or pytest.fail("javap not found: install a JDK 17")
    if classes is None:
        with zipfile.ZipFile(jar) as z:
            classes = [n[:-6].replace("/", ".") for n in z.namelist() if n.endswith(".class")]
    proc = _run([javap, *flags, "-cp", str(jar), *classes])
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_classes_call_only_the_java8_api_android_has(aar):
    code = _javap(aar.classes, "-c", "-p")
    covariant = sorted({m.group(0) for m in _COVARIANT.finditer(code) if m.group(3) != "Buffer"})
    assert not covariant, f"Java 9+ covariant Buffer methods (NoSuchMethodError on old Android): {covariant}"
    assert "Method java/nio/ByteBuffer.clear:()Ljava/nio/Buffer;" in code  # the scan sees the calls
    newer = sorted({m.group(0) for m in _JAVA9.finditer(code)})
    assert not newer, f"Java 9+ methods: {newer}"
    major = re.findall(r"major version: (\d+)", _javap(aar.classes, "-v", classes=[aar.facade]))
    assert major == ["52"], major  # Java 8 class files


def test_a_call_newer_than_min_sdk_or_java8_fails_our_compile(tc, tmp_path):
    """The probe is compiled exactly as the AAR's classes are (flags, classpath): both calls must fail there."""
    src = tmp_path / "Probe.kt"
    src.write_text(
        "package probe\n"
        "fun newerThanMinSdk(b: android.graphics.Bitmap) = b.colorSpace  // API 26 (minSdk is 24)\n"
        "fun newerThanJava8(): java.nio.ByteBuffer = java.nio.ByteBuffer.allocate(4).clear()  // Java 9 API\n"
    )
    log = tmp_path / "compile.log"
    with pytest.raises(CompileError, match=r"Probe\.kt:2:"):
        kotlinc(tc, ANDROID_CACHE, [src], tmp_path / "out", "probe", tc.compile_classpath, "the probe", log)
    errors = [line for line in log.read_text().splitlines() if "error:" in line]
    assert any("Probe.kt:2:" in e and "colorSpace" in e for e in errors), errors
    assert any("Probe.kt:3:" in e and "Buffer" in e for e in errors), errors


def test_an_app_on_kotlin_1_9_compiles_against_the_aar(app, aar):
    proc, jar = app
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert "incompatible version of Kotlin" not in proc.stderr
    with zipfile.ZipFile(jar) as z:
        assert {"app/App.class", "app/AppKt.class"} <= set(z.namelist())
    assert aar.stdlib.name == "kotlin-stdlib-2.0.21.jar"  # what the POM declares and Kotlin 1.9 reads


def test_the_shrunk_app_runs_the_model_end_to_end(app, aar, tc, frame):
    proc, app_jar = app
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    shrunk, mapping = _proguard(tc, aar, app_jar, "shrunk", aar.proguard.read_text())
    with zipfile.ZipFile(shrunk) as small, zipfile.ZipFile(aar.classes) as full:
        assert len(small.namelist()) < len(full.namelist())  # it did shrink
    # What the native core finds by name is there, unrenamed: NativeCore with every native method (the
    # RegisterNatives table) and PoseException(int, String).
    core = ["io.mobilesdk.pose.internal.NativeCore"]
    natives = [ln.strip() for ln in _javap(aar.classes, "-p", classes=core).splitlines() if " native " in ln]
    shrunk_natives = _javap(shrunk, "-p", classes=core)
    assert natives and all(n in shrunk_natives for n in natives), shrunk_natives
    assert "io.mobilesdk.pose.PoseException(int, java.lang.String)" in _javap(
        shrunk, "-p", classes=["io.mobilesdk.pose.PoseException"]
    )
    assert "io.mobilesdk.pose.internal.NativeCore -> io.mobilesdk.pose.internal.NativeCore:" in mapping

    small, full = _run_app(tc, aar, frame, shrunk), _run_app(tc, aar, frame, app_jar, aar.classes)
    assert small.returncode == 0, (small.stdout + small.stderr)[-3000:]
    assert full.returncode == 0, (full.stdout + full.stderr)[-3000:]
    assert small.stdout == full.stdout  # the same keypoints, bit for bit
    kps = [ln.split() for ln in small.stdout.splitlines() if ln.startswith("kp ")]
    assert [k[1] for k in kps][0] == "nose" and len(kps) == len(frame.scores)
    xy = np.array([[float(k[2]), float(k[3])] for k in kps])
    np.testing.assert_allclose(xy, frame.xy, atol=0.1)  # the Python path's keypoints
    np.testing.assert_allclose([float(k[4]) for k in kps], frame.scores, atol=1e-3)
    assert "engine executorch randomWeights false false" in small.stdout  # trained fixture weights
    assert "native error: io.mobilesdk.pose.PoseException status" in small.stdout


def test_without_the_jni_keep_rules_the_shrunk_app_fails(app, aar, tc, frame):
    """The keep rules are what makes the shrunk app work: drop them and the native core cannot find NativeCore."""
    proc, app_jar = app
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    rules = aar.proguard.read_text()
    dropped = "\n".join(ln for ln in rules.splitlines() if not any(r in ln for r in JNI_RULES))
    assert dropped != rules
    broken, mapping = _proguard(tc, aar, app_jar, "no-jni-rules", dropped, optimize=False)
    assert "io.mobilesdk.pose.internal.NativeCore -> io.mobilesdk.pose.internal.NativeCore:" not in mapping
    run = _run_app(tc, aar, frame, broken)
    out = run.stdout + run.stderr
    assert run.returncode != 0, out[-3000:]
    # JNI_OnLoad cannot find NativeCore by name; create() fails saying so, and what to keep
    assert re.search(r"UnsatisfiedLinkError|NoSuchMethodError|ClassNotFound|NoClassDefFoundError", out), out
    assert "PoseException[MSDK_ERR_UNSUPPORTED]: The ExecuTorch engine needs the native core" in out, out
    assert "keep the AAR's consumer rules (its proguard.txt)" in out
