"""Templates rendered from manifests: golden files, StrictUndefined, the module's file list, the writer.

Golden files live in tests/codegen/golden/<artifactId>/. After a deliberate change to a template, the naming or
a card, regenerate them on purpose and review the diff:

    MOBILESDK_UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/codegen/test_templates.py
"""

from __future__ import annotations

import dataclasses
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mobilesdk.codegen import (
    CodegenError,
    GeneratedFile,
    aar_files,
    build_view,
    generate_module,
    render_pom,
    write_tree,
)
from mobilesdk.codegen.render import TEMPLATES_DIR, render_template, render_tree
from tests.codegen.manifests import FAMILY_GOLDEN, RECIPES, synthetic_manifest, zoo_cards

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("MOBILESDK_UPDATE_GOLDEN") == "1"
CARDS = zoo_cards()


def _check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.is_file(), (
        f"no golden file {path}: run with MOBILESDK_UPDATE_GOLDEN=1 (see the module docstring)"
    )
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} differs from its golden file (update on purpose: see the module docstring)"
    )


def _view(card_id: str, runtime: str):
    return build_view(synthetic_manifest(CARDS[card_id], runtime), RECIPES[runtime][0])


@pytest.mark.parametrize(
    ("card_id", "runtime"), [*((c, "executorch") for c in FAMILY_GOLDEN), ("movepose-xs", "litert")]
)
def test_facade_golden(card_id, runtime):
    v = _view(card_id, runtime)
    (facade,) = [f for f in render_tree("module", v) if f.path.endswith(".kt")]
    assert (
        facade.path
        == f"src/main/kotlin/io/mobilesdk/models/{v.package_path.split('/')[3]}/{runtime}/{v.facade_class}.kt"
    )
    _check_golden(f"{v.artifact_id}/{v.facade_class}.kt", facade.data.decode())


@pytest.mark.parametrize("runtime", ["executorch", "litert"])
def test_build_files_and_pom_golden(runtime):
    v = _view("movepose-xs", runtime)
    files = {f.path: f.data.decode() for f in render_tree("module", v)}
    for name in ("build.gradle.kts", "consumer-rules.pro", "src/main/AndroidManifest.xml"):
        _check_golden(f"{v.artifact_id}/module/{name}", files[name])
    aar = {f.path: f.data.decode() for f in aar_files(v)}
    assert set(aar) == {
        "AndroidManifest.xml",
        "R.txt",
        "proguard.txt",
        "META-INF/com/android/build/gradle/aar-metadata.properties",
    }
    for name, text in aar.items():
        _check_golden(f"{v.artifact_id}/aar/{name}", text)
    _check_golden(f"{v.artifact_id}/{v.artifact_id}.pom", render_pom(v, "0.1.0-0123456789").decode())


def test_facade_constants_come_from_the_manifest():
    card = CARDS["mobilehumanpose-xs"]
    m = synthetic_manifest(card, "litert", names=['it\'s "left" $eye', "épaule", *card.keypoints.names[2:]])
    v = build_view(m, "litert-fp32")
    text = next(f for f in render_tree("module", v) if f.path.endswith(".kt")).data.decode()
    assert '"it\'s \\"left\\" \\$eye"' in text and '"épaule"' in text
    assert "ModelSpec.Runtime.LITERT" in text and "InputSpec.Layout.NHWC" in text
    assert f'"{m.artifacts[0].sha256}"' in text and '"mobilehumanpose-xs.litert-fp32.tflite"' in text
    assert '"integral-3d"' in text and '"depth_bins" to ' in text


def test_long_manifests_are_split_under_the_jvm_constant_limit():
    card = CARDS["movepose-xs"]
    names = [f"keypoint_{i}_" + "x" * 200 for i in range(17)] * 30  # ~100 KB of JSON
    m = synthetic_manifest(card, "executorch", names=names)
    v = build_view(m, "xnnpack-fp32")
    assert len(v.manifest_chunks) > 8 and all(len(c.encode()) < 65535 for c in v.manifest_chunks)
    text = next(f for f in render_tree("module", v) if f.path.endswith(".kt")).data.decode()
    assert ').joinToString("")' in text


def test_xml_templates_escape_what_they_print():
    title = "a <b> & \"c\" 'd'"
    v = dataclasses.replace(_view("movepose-xs", "litert"), title=title)
    pom = ET.fromstring(render_pom(v, "0.1.0-0123456789"))  # well-formed despite the markup characters
    assert pom.findtext("m:name", "", {"m": "http://maven.apache.org/POM/4.0.0"}) == f"{title} (litert)"
    facade = next(f for f in render_tree("module", v) if f.path.endswith(".kt")).data.decode()
    assert f" * {title} (" in facade  # Kotlin sources are not XML-escaped


def test_strict_undefined_names_the_missing_field():
    with pytest.raises(CodegenError, match="build.gradle.kts.j2.*has no attribute"):
        render_template("module/build.gradle.kts.j2", v=object())
    with pytest.raises(CodegenError, match="no templates for 'nowhere'"):
        render_tree("nowhere", object())


def test_template_files_follow_the_conventions():
    files = [p.relative_to(TEMPLATES_DIR).as_posix() for p in TEMPLATES_DIR.rglob("*") if p.is_file()]
    assert files and all(f.endswith(".j2") for f in files), files
    assert {f.split("/")[0] for f in files} == {"module", "aar", "maven", "_macros"}
    assert "module/src/main/kotlin/__package_path__/__facade_class__.kt.j2" in files


def test_a_manifest_without_file_fields_is_refused():
    card = CARDS["movepose-xs"]
    embedded = synthetic_manifest(card, "executorch").embedded("xnnpack-fp32")
    from mobilesdk import manifest as mf

    with pytest.raises(CodegenError, match="names no file"):
        build_view(mf.from_json(embedded, "embedded", embedded=True), "xnnpack-fp32")
    other = synthetic_manifest(card, "executorch")
    with pytest.raises(mf.ManifestError, match="no artifact for recipe 'litert-fp32'"):
        build_view(other, "litert-fp32")


def test_module_files(tmp_path):
    m = synthetic_manifest(CARDS["movepose-xs"], "executorch")
    asset = tmp_path / m.artifacts[0].file
    asset.write_bytes(b"model")
    lib = tmp_path / "libmobilesdk_pose_jni.so"
    lib.write_bytes(b"\x7fELF")
    module = generate_module(m, "xnnpack-fp32", tmp_path, {"arm64-v8a": [lib]})
    paths = {f.path for f in module.files}
    assert {"build.gradle.kts", "consumer-rules.pro", "src/main/AndroidManifest.xml"} <= paths
    assert "src/main/kotlin/io/mobilesdk/pose/PoseEstimator.kt" in paths  # the static runtime's sources
    assert module.facade.path in paths and f"src/main/assets/{asset.name}" in paths
    assert "src/main/jniLibs/arm64-v8a/libmobilesdk_pose_jni.so" in paths
    asset.unlink()
    with pytest.raises(CodegenError, match="is missing"):
        generate_module(m, "xnnpack-fp32", tmp_path)


def test_write_tree_replaces_atomically(tmp_path):
    target = tmp_path / "android"
    write_tree([GeneratedFile("a/b.txt", data=b"one")], target)
    assert (target / "a" / "b.txt").read_bytes() == b"one"
    with pytest.raises(OSError):
        write_tree(
            [GeneratedFile("c.txt", data=b"two"), GeneratedFile("d.bin", source=tmp_path / "gone")], target
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["android"]  # no staging left behind
    assert (target / "a" / "b.txt").read_bytes() == b"one" and not (target / "c.txt").exists()
    write_tree([GeneratedFile("c.txt", data=b"two")], target)
    assert [p.name for p in target.iterdir()] == ["c.txt"]


@pytest.mark.parametrize(
    ("card_id", "runtime"), [(c, r) for c in sorted(CARDS) for r in ("executorch", "litert")]
)
def test_module_readme_shows_the_modes_the_camerax_analyzer_and_the_overlay(card_id, runtime):
    """The generated module's README: its names are this model's, and what it calls exists in the runtime."""
    import re

    from mobilesdk.codegen import RUNTIME_SOURCES

    v = _view(card_id, runtime)
    (readme,) = [f.data.decode() for f in render_tree("module", v) if f.path == "README.md"]
    assert f"import {v.package}.{v.facade_class}" in readme
    constant = re.search(rf"{v.facade_class}\.Keypoint\.(\w+)", readme).group(1)
    assert constant in v.keypoint_constants
    for call in (
        "estimator.estimate(bitmap)",
        "estimateForVideo(bitmap, timestampMs)",
        "estimator.estimateAsync(image, imageProxy.imageInfo.rotationDegrees, imageProxy.imageInfo.timestamp / 1_000_000)",
        "imageProxy.close()",
        "ImageAnalysis.Analyzer",
        "overlay?.draw(canvas, pose, width.toFloat(), height.toFloat())",
    ):
        assert call in readme, call
    api = (RUNTIME_SOURCES / "io/mobilesdk/pose/PoseEstimator.kt").read_text()
    options = re.search(r"PoseEstimator\.Options\((.*?)\n\)\)", readme, re.S).group(1)
    named = re.findall(r"^\s*(\w+) =", options, re.M)
    assert {"runningMode", "resultListener", "listenerExecutor"} <= set(named)
    for name in named:
        assert re.search(rf"\bval {name}:", api), (
            f"README passes Options({name} = ...), which PoseEstimator.Options lacks"
        )
    assert re.search(r"fun estimateAsync\(image: Image, rotationDegrees: Int, timestampMs: Long", api)
    overlay = (RUNTIME_SOURCES / "io/mobilesdk/pose/PoseOverlay.kt").read_text()
    assert "fun draw(canvas: Canvas, pose: Pose, viewWidth: Float, viewHeight: Float)" in overlay
