"""The AAR step on a real build folder: AAR entries, POM, the m2/ repository layout, android/ module sources,
which recipe goes into which AAR, native libraries, determinism and the compile cache."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import xml.etree.ElementTree as ET
import zipfile

import pytest

from mobilesdk import manifest as mf
from mobilesdk.codegen.viewmodel import embedded_manifest_json
from mobilesdk.packaging import PackagingError, PackagingOptions, choose_recipes, package_build
from mobilesdk.packaging.aar import RECORD
from tests.codegen.manifests import ANDROID_CACHE, synthetic_manifest, zoo_cards
from tests.packaging.conftest import NO_ET, build_shared_library

POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


def test_one_aar_and_pom_per_runtime(tiny_packaged):
    folder, result = tiny_packaged
    assert sorted(a.path.name for a in result.aars) == [
        "user-tinyheatmapnet-executorch.aar",
        "user-tinyheatmapnet-litert.aar",
    ]
    for a in result.aars:
        assert a.path.parent == folder and a.pom == folder / f"{a.path.stem}.pom" and a.pom.is_file()
        assert a.bytes == a.path.stat().st_size and a.abis == []
    by = {a.runtime: a for a in result.aars}
    assert by["executorch"].engines == [] and "libmobilesdk_pose_jni.so" in by["executorch"].missing[0]
    assert "build_android.sh" in by["executorch"].missing[0]
    assert by["litert"].engines[0].startswith("TFLite Interpreter 2.16.1") and by["litert"].missing == []
    assert by["litert"].ready_for_phone and by["litert"].status == "ready for a phone"
    assert not by["executorch"].ready_for_phone
    assert by["executorch"].status.startswith(
        "not ready for a phone: missing jni/<abi>/libmobilesdk_pose_jni.so"
    )
    assert any("libtensorflowlite_jni.so" in n and "4 KB-aligned" in n for n in by["litert"].notes)
    assert not any("libtensorflowlite_jni.so" in n for n in by["executorch"].notes)  # no TFLite dependency
    assert all(a.random_weights and any("random weights" in n for n in a.notes) for a in result.aars)
    assert result.to_json()["ready_for_phone"] == ["user-tinyheatmapnet-litert.aar"]


def test_aar_entries(tiny_aars):
    with zipfile.ZipFile(tiny_aars["litert"]) as z:
        infos = z.infolist()
        names = [i.filename for i in infos]
        assert names[:4] == ["AndroidManifest.xml", "classes.jar", "R.txt", "proguard.txt"]
        assert "META-INF/com/android/build/gradle/aar-metadata.properties" in names and RECORD in names
        asset = z.getinfo("assets/user-tinyheatmapnet.litert-fp32.tflite")
        assert asset.compress_type == zipfile.ZIP_STORED  # TFLite memory-maps it
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)
        manifest = ET.fromstring(z.read("AndroidManifest.xml"))
        assert manifest.get("package") == "io.mobilesdk.models.user_tinyheatmapnet.litert"
        assert (
            manifest.find("uses-sdk").get("{http://schemas.android.com/apk/res/android}minSdkVersion") == "24"
        )
        assert z.read("R.txt") == b""
        props = z.read("META-INF/com/android/build/gradle/aar-metadata.properties").decode()
        assert "aarFormatVersion=1.0" in props and "aarMetadataVersion=1.0" in props
        proguard = z.read("proguard.txt").decode()
        assert "-keep class io.mobilesdk.pose.internal.NativeCore { *; }" in proguard
        assert "-keep class io.mobilesdk.pose.PoseException { <init>(int, java.lang.String); }" in proguard
        assert "-keep class org.tensorflow.lite.** { *; }" in proguard
        record = json.loads(z.read(RECORD))
        with zipfile.ZipFile(io.BytesIO(z.read("classes.jar"))) as jar:
            classes = set(jar.namelist())
    assert "io/mobilesdk/models/user_tinyheatmapnet/litert/UserTinyheatmapnetPoseEstimator.class" in classes
    assert {"io/mobilesdk/pose/PoseEstimator.class", "io/mobilesdk/pose/internal/NativeCore.class"} <= classes
    assert "META-INF/mobilesdk-pose-runtime.kotlin_module" in classes
    assert not [c for c in classes if c.endswith(".kotlin_module") and "runtime" not in c]
    assert (
        record["facade"] == "io.mobilesdk.models.user_tinyheatmapnet.litert.UserTinyheatmapnetPoseEstimator"
    )
    built = mf.read_manifest(tiny_aars["litert"].parent / "manifest.json")
    assert record["asset"]["sha256"] == built.artifact("litert-fp32").sha256
    assert record["tflite_runtime"] == "2.16.1" and record["native"] == {
        "library": "libmobilesdk_pose_jni.so",
        "required": False,
        "abis": [],
    }
    embedded = mf.from_json(record["manifest"], "record", embedded=True)
    assert embedded.artifacts[0].recipe == "litert-fp32"
    assert embedded.to_json() == record["manifest"]  # a valid embedded manifest, already normalised
    # ... and the document the facade embeds
    assert record["manifest"] == json.loads(embedded_manifest_json(built, "litert-fp32"))


def test_executorch_aar_declares_no_tflite(tiny_aars):
    pom = ET.parse(tiny_aars["executorch"].with_suffix(".pom")).getroot()
    deps = [
        (d.findtext("m:groupId", "", POM_NS), d.findtext("m:artifactId", "", POM_NS))
        for d in pom.iterfind("m:dependencies/m:dependency", POM_NS)
    ]
    assert deps == [("org.jetbrains.kotlin", "kotlin-stdlib")]
    with zipfile.ZipFile(tiny_aars["executorch"]) as z:
        proguard = z.read("proguard.txt").decode()
    assert "-dontwarn org.tensorflow.lite.**" in proguard and "-keep class org.tensorflow" not in proguard


def test_pom_and_maven_repository_layout(tiny_packaged):
    folder, result = tiny_packaged
    for a in result.aars:
        group, artifact, version = a.coordinate.split(":")
        assert version.startswith("0.1.0-") and version.endswith(
            hashlib.sha256(a.path.read_bytes()).hexdigest()[:10]
        )
        base = folder / "m2" / "io" / "mobilesdk" / "models" / artifact
        vdir = base / version
        assert (vdir / f"{artifact}-{version}.aar").read_bytes() == a.path.read_bytes()
        assert (vdir / f"{artifact}-{version}.pom").read_bytes() == a.pom.read_bytes()
        for f in [
            vdir / f"{artifact}-{version}.aar",
            vdir / f"{artifact}-{version}.pom",
            base / "maven-metadata.xml",
        ]:
            data = f.read_bytes()
            assert f.with_name(f.name + ".sha1").read_text() == hashlib.sha1(data).hexdigest()
            assert f.with_name(f.name + ".md5").read_text() == hashlib.md5(data).hexdigest()
        meta = ET.parse(base / "maven-metadata.xml").getroot()
        assert (
            meta.findtext("groupId"),
            meta.findtext("artifactId"),
            meta.findtext("versioning/release"),
        ) == (group, artifact, version)
        pom = ET.parse(a.pom).getroot()
        assert (
            pom.findtext("m:packaging", "", POM_NS) == "aar"
            and pom.findtext("m:version", "", POM_NS) == version
        )
    litert = next(a for a in result.aars if a.runtime == "litert")
    deps = {
        d.findtext("m:artifactId", "", POM_NS): d
        for d in ET.parse(litert.pom).getroot().iterfind("m:dependencies/m:dependency", POM_NS)
    }
    assert deps["tensorflow-lite"].findtext("m:version", "", POM_NS) == "2.16.1"
    assert deps["tensorflow-lite"].findtext("m:type", "", POM_NS) == "aar"
    # the stdlib of the classes' Kotlin API version (2.0), not the compiler's 2.4: apps on Kotlin 1.9 read it
    assert deps["kotlin-stdlib"].findtext("m:version", "", POM_NS) == "2.0.21"


def test_gradle_module_sources(tiny_packaged):
    folder, _ = tiny_packaged
    module = folder / "android" / "user-tinyheatmapnet-litert"
    assert (module / "build.gradle.kts").is_file() and (module / "consumer-rules.pro").is_file()
    assert (module / "src/main/AndroidManifest.xml").is_file()
    assert (module / "src/main/assets/user-tinyheatmapnet.litert-fp32.tflite").read_bytes() == (
        folder / "user-tinyheatmapnet.litert-fp32.tflite"
    ).read_bytes()
    assert (module / "src/main/kotlin/io/mobilesdk/pose/internal/NativeCore.kt").is_file()
    assert (
        module
        / "src/main/kotlin/io/mobilesdk/models/user_tinyheatmapnet/litert/UserTinyheatmapnetPoseEstimator.kt"
    ).is_file()
    assert (
        'implementation("org.tensorflow:tensorflow-lite:2.16.1")' in (module / "build.gradle.kts").read_text()
    )
    assert not (module / "src/main/jniLibs").exists()


def test_an_unchanged_rebuild_compiles_nothing_and_gives_the_same_bytes(tiny_packaged, no_native_libs):
    folder, first = tiny_packaged
    before = {a.path.name: a.path.read_bytes() for a in first.aars}
    again = package_build(
        folder,
        ["xnnpack-fp32", "litert-fp32"],
        PackagingOptions(ANDROID_CACHE, no_native_libs, search_path="/nonexistent"),
    )
    assert again.compile.compiler_runs == 0 and again.compile.facades_cached == 2  # no JDK needed either
    assert {a.path.name: a.path.read_bytes() for a in again.aars} == before
    assert [a.coordinate for a in again.aars] == [a.coordinate for a in first.aars]


def test_which_recipe_goes_into_each_aar():
    m = synthetic_manifest(zoo_cards()["movepose-xs"], "executorch")
    e = m.artifacts[0]
    from dataclasses import replace

    arts = [
        replace(e, recipe="xnnpack-fp32", built_at="2026-01-01T00:00:00Z"),
        replace(e, recipe="xnnpack-int8", built_at="2026-02-01T00:00:00Z"),
        replace(e, recipe="litert-fp32", runtime="litert", built_at="2026-01-15T00:00:00Z"),
        replace(e, recipe="litert-int8", runtime="litert", built_at="2026-01-10T00:00:00Z"),
    ]
    m = m.with_artifacts(arts)
    assert choose_recipes(m, ["xnnpack-fp32"]) == {"executorch": "xnnpack-fp32", "litert": "litert-fp32"}
    assert choose_recipes(m, ["litert-int8"]) == {"executorch": "xnnpack-int8", "litert": "litert-int8"}
    assert choose_recipes(m, ["xnnpack-int8", "litert-int8"]) == {
        "executorch": "xnnpack-int8",
        "litert": "litert-int8",
    }


def test_native_libraries_go_into_jni_and_are_checked(tiny_build, tmp_path):
    folder = tmp_path / tiny_build.name
    shutil.copytree(tiny_build, folder)
    libs = tmp_path / "libs"
    build_shared_library(libs / "x86_64", "libmobilesdk_pose_jni.so", 16384, marker=NO_ET)
    result = package_build(folder, ["litert-fp32", "xnnpack-fp32"], PackagingOptions(ANDROID_CACHE, libs))
    by = {a.runtime: a for a in result.aars}
    assert (
        by["litert"].abis == ["x86_64"] and "native pre/post-processing on x86_64" in by["litert"].engines[1]
    )
    assert by["executorch"].engines == [] and "without the ExecuTorch engine" in by["executorch"].missing[0]
    with zipfile.ZipFile(by["litert"].path) as z:
        assert "jni/x86_64/libmobilesdk_pose_jni.so" in z.namelist()
    assert (
        folder / "android/user-tinyheatmapnet-litert/src/main/jniLibs/x86_64/libmobilesdk_pose_jni.so"
    ).is_file()
    build_shared_library(libs / "x86_64", "libmobilesdk_pose_jni.so", 16384, marker="with executorch")
    by = {
        a.runtime: a
        for a in package_build(folder, ["xnnpack-fp32"], PackagingOptions(ANDROID_CACHE, libs)).aars
    }
    assert (
        by["executorch"].engines == ["ExecuTorch (XNNPACK) in the native core on x86_64"]
        and by["executorch"].missing == []
    )
    build_shared_library(libs / "x86_64", "libmobilesdk_pose_jni.so", 4096)
    with pytest.raises(
        PackagingError, match=r"LOAD segments aligned to 4096 bytes, not 16 KB.*model artifacts are in place"
    ):
        package_build(folder, ["xnnpack-fp32"], PackagingOptions(ANDROID_CACHE, libs))
    shutil.rmtree(libs / "x86_64")
    build_shared_library(libs / "arm64-v8a", "libmobilesdk_pose_jni.so", 16384)
    with pytest.raises(PackagingError, match=r"built for EM_X86_64 .* jni/arm64-v8a/"):
        package_build(folder, ["xnnpack-fp32"], PackagingOptions(ANDROID_CACHE, libs))
