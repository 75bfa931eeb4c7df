"""Manifest -> view model: everything the templates print, already turned into names and Kotlin literals.

The view model is built from a :class:`~mobilesdk.manifest.Manifest` and one of its recipes only (plus the
versions the static runtime is pinned to, read from ``android_template/runtime/pom.xml``), so a generated
module depends on nothing but the contract the artifact itself carries. Templates do no logic beyond loops:
every identifier comes from :mod:`mobilesdk.codegen.naming`, every value is a ready literal.
"""

from __future__ import annotations

import functools
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mobilesdk import __version__
from mobilesdk import manifest as mf
from mobilesdk.codegen import naming
from mobilesdk.errors import MobileSDKError

ANDROID_TEMPLATE = Path(__file__).resolve().parents[2] / "android_template"
RUNTIME_DIR = ANDROID_TEMPLATE / "runtime"

# minSdk 24 (Android 7.0): the native core is built for android-24 (native/build_android.sh), and the Kotlin
# runtime avoids newer APIs (Bitmap.Config.HARDWARE, API 26, is compared by name). TFLite 2.16.1 itself says 19.
MIN_SDK = 24
# The compileSdk of the generated Gradle module (the AAR's classes.jar is compiled against the API of MIN_SDK:
# mobilesdk.packaging.toolchain.ANDROID_ALL).
COMPILE_SDK = 34
# JVM 1.8 bytecode and the Java 8 API (kotlinc -Xjdk-release=1.8): the java.* that Android implements.
JVM_TARGET = "1.8"
NATIVE_LIBRARY = "mobilesdk_pose_jni"
# The JVM limits one string constant to 65535 UTF-8 bytes; longer manifests are split into chunks.
_CHUNK_CHARS = 8000

ENGINES = {
    "executorch": {
        "enum": "EXECUTORCH",
        "engine": "ExecuTorch (XNNPACK) in the native core, through JNI",
        "needs_native": True,
        "extension": "pte",
    },
    "litert": {
        "enum": "LITERT",
        "engine": "TFLite Interpreter (org.tensorflow:tensorflow-lite, XNNPACK)",
        "needs_native": False,
        "extension": "tflite",
    },
}


class CodegenError(MobileSDKError):
    """A manifest cannot be turned into Android code (unknown runtime, recipe missing, no file name...)."""


@functools.cache
def runtime_versions() -> dict[str, str]:
    """The versions the static runtime is built with, from its POM: ``kotlin`` (the compiler), ``kotlin_stdlib``
    (what the AAR's POM declares: the stdlib of the runtime's Kotlin API version), ``kotlin_api`` (its
    ``-api-version``/``-language-version``), ``tflite``."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    root = ET.parse(RUNTIME_DIR / "pom.xml").getroot()
    props = root.find("m:properties", ns)
    found = {el.tag.split("}")[1]: (el.text or "").strip() for el in props} if props is not None else {}
    return {
        "kotlin": found.get("kotlin.version", ""),
        "kotlin_stdlib": found.get("kotlin.stdlib.version", ""),
        "kotlin_api": found.get("kotlin.compiler.apiVersion", ""),
        "tflite": found.get("tflite.version", ""),
        "runtime": root.findtext("m:version", "", ns),
    }


@dataclass(frozen=True)
class Dependency:
    """A Maven dependency of the AAR (POM and ``build.gradle.kts``)."""

    group: str
    artifact: str
    version: str
    type: str  # "jar" | "aar"
    scope: str  # "compile": the AAR's public API uses its types; "runtime": only its code does
    why: str
    exclusions: tuple[str, ...] = ()  # "group:artifact" of transitive dependencies to leave out
    gradle: bool = True  # declared in the module's build.gradle.kts too (the Kotlin plugin adds the stdlib)

    @property
    def coordinate(self) -> str:
        return f"{self.group}:{self.artifact}:{self.version}"


@dataclass(frozen=True)
class InputView:
    name: str
    width: int
    height: int
    layout: str  # InputSpec.Layout constant
    dtype: str  # InputSpec.DType constant
    color: str  # InputSpec.Color constant
    resize: str  # InputSpec.Resize constant
    mean: str  # listOf(...) literal
    std: str
    roi_padding: str
    normalization: str


@dataclass(frozen=True)
class OutputView:
    name: str  # Kotlin string literals
    shape: str  # listOf(...) literal
    dtype: str
    role: str
    text: str  # "simcc_x [1, 17, 512]" for comments


@dataclass(frozen=True)
class ModuleView:
    """One model + runtime as the templates see it (literals are Kotlin source text)."""

    model_id: str
    model_id_literal: str
    title: str  # for comments (one line)
    runtime: str  # "executorch" | "litert"
    runtime_enum: str
    engine: str
    needs_native: bool
    recipe: str
    recipe_literal: str
    package: str
    package_path: str
    facade_class: str
    namespace: str
    group_id: str
    artifact_id: str
    asset_name: str
    asset_literal: str
    asset_extension: str
    sha256: str
    random_weights: bool  # built without --checkpoint (the manifest's model.weights is "random")
    input: InputView
    outputs: tuple[OutputView, ...]
    codec_name: str
    codec_literal: str
    codec_params: str
    keypoint_names: tuple[str, ...]  # literals
    first_keypoint: str  # literal, for the usage example
    keypoint_constants: tuple[str, ...]  # the facade's Keypoint enum constants, in model order
    skeleton_constants: tuple[tuple[str, str], ...]  # the skeleton's edges as pairs of those constants
    num_keypoints: int
    skeleton: str  # listOf(a to b, ...) literal
    flip_pairs: str
    manifest_chunks: tuple[str, ...]  # literals; concatenated they are the embedded manifest JSON
    dependencies: tuple[Dependency, ...]  # the POM's
    gradle_dependencies: tuple[Dependency, ...]  # build.gradle.kts's
    min_sdk: int
    compile_sdk: int
    jvm_target: str
    kotlin_api: str  # the runtime's -api-version / -language-version ("2.0")
    tflite_version: str
    native_library: str
    mobilesdk_version: str


def _pairs(pairs: Any) -> str:
    items = [f"{int(a)} to {int(b)}" for a, b in (pairs or [])]
    return "listOf(" + ", ".join(items) + ")" if items else "emptyList()"


def _doubles(values) -> str:
    return "listOf(" + ", ".join(naming.kotlin_double(v) for v in values) + ")"


def _input_view(entry: mf.InputEntry) -> InputView:
    return InputView(
        name=naming.kotlin_string(entry.name),
        width=entry.size["width"],
        height=entry.size["height"],
        layout=entry.layout,
        dtype={"float32": "FLOAT32", "uint8": "UINT8"}[entry.dtype],
        color=entry.color.upper(),
        resize=entry.resize.upper(),
        mean=_doubles(entry.mean),
        std=_doubles(entry.std),
        roi_padding=naming.kotlin_double(entry.roi_padding),
        normalization=entry.normalization,
    )


def _output_view(o: mf.OutputEntry) -> OutputView:
    return OutputView(
        name=naming.kotlin_string(o.name),
        shape="listOf(" + ", ".join(str(d) for d in o.shape) + ")",
        dtype=naming.kotlin_string(o.dtype),
        role=naming.kotlin_string(o.role),
        text=f"{o.name} {list(o.shape)}".replace("*/", "* /"),
    )


def embedded_manifest_json(manifest: mf.Manifest, recipe: str) -> str:
    """The manifest the facade hands to the native core: the artifact's embedded document, compact."""
    return json.dumps(manifest.embedded(recipe), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def dependencies(runtime: str) -> tuple[Dependency, ...]:
    versions = runtime_versions()
    deps = [
        Dependency(
            "org.jetbrains.kotlin",
            "kotlin-stdlib",
            versions["kotlin_stdlib"],
            "jar",
            "compile",
            "the Kotlin standard library",
            gradle=False,
        )
    ]
    if runtime == "litert":
        # tensorflow-lite's POM lists tensorflow-lite-api without <type>aar</type>, so Maven looks for a jar that
        # does not exist (Gradle reads the packaging and copes): exclude it there and name the AAR directly.
        tflite = versions["tflite"]
        deps += [
            Dependency(
                "org.tensorflow",
                "tensorflow-lite",
                tflite,
                "aar",
                "runtime",
                "the TFLite Interpreter and its runtime",
                exclusions=("org.tensorflow:tensorflow-lite-api",),
            ),
            Dependency(
                "org.tensorflow",
                "tensorflow-lite-api",
                tflite,
                "aar",
                "runtime",
                "the TFLite Java API (tensorflow-lite needs it)",
                gradle=False,
            ),
        ]
    return tuple(deps)


def _one_line(text: str) -> str:
    return " ".join(str(text).split()).replace("*/", "* /")


def build_view(manifest: mf.Manifest, recipe: str) -> ModuleView:
    """The view of ``manifest``'s artifact ``recipe`` (which must name its ``file``: the AAR's asset)."""
    entry = manifest.artifact(recipe)
    if entry.runtime not in ENGINES:
        raise CodegenError(
            f"artifact '{recipe}' has runtime '{entry.runtime}'; Android code exists for {', '.join(ENGINES)}"
        )
    if not entry.file or not entry.sha256:
        raise CodegenError(
            f"artifact '{recipe}' of '{manifest.id}' names no file and hash (an embedded manifest?)"
        )
    engine = ENGINES[entry.runtime]
    versions = runtime_versions()
    names = [str(n) for n in manifest.keypoints["names"]]
    constants = naming.keypoint_constants(names)
    text = embedded_manifest_json(manifest, recipe)
    package = naming.model_package(manifest.id, entry.runtime)
    return ModuleView(
        model_id=manifest.id,
        model_id_literal=naming.kotlin_string(manifest.id),
        title=_one_line(manifest.model.get("title") or manifest.id),
        runtime=entry.runtime,
        runtime_enum=engine["enum"],
        engine=engine["engine"],
        needs_native=engine["needs_native"],
        recipe=entry.recipe,
        recipe_literal=naming.kotlin_string(entry.recipe),
        package=package,
        package_path=package.replace(".", "/"),
        facade_class=naming.facade_class(manifest.id),
        namespace=package,
        group_id=naming.GROUP_ID,
        artifact_id=naming.artifact_id(manifest.id, entry.runtime),
        asset_name=entry.file,
        asset_literal=naming.kotlin_string(entry.file),
        asset_extension=engine["extension"],
        sha256=entry.sha256,
        random_weights=manifest.model.get("weights") == "random",
        input=_input_view(entry.input),
        outputs=tuple(_output_view(o) for o in entry.outputs),
        codec_name=_one_line(manifest.codec["name"]),
        codec_literal=naming.kotlin_string(manifest.codec["name"]),
        codec_params=naming.kotlin_value(dict(manifest.codec.get("params") or {})),
        keypoint_names=tuple(naming.kotlin_string(n) for n in names),
        first_keypoint=naming.kotlin_string(names[0]),
        keypoint_constants=tuple(constants),
        skeleton_constants=tuple(
            (constants[int(a)], constants[int(b)]) for a, b in (manifest.keypoints.get("skeleton") or [])
        ),
        num_keypoints=len(names),
        skeleton=_pairs(manifest.keypoints.get("skeleton")),
        flip_pairs=_pairs(manifest.keypoints.get("flip_pairs")),
        manifest_chunks=tuple(
            naming.kotlin_string(text[i : i + _CHUNK_CHARS]) for i in range(0, len(text), _CHUNK_CHARS)
        ),
        dependencies=dependencies(entry.runtime),
        gradle_dependencies=tuple(d for d in dependencies(entry.runtime) if d.gradle),
        min_sdk=MIN_SDK,
        compile_sdk=COMPILE_SDK,
        jvm_target=JVM_TARGET,
        kotlin_api=versions["kotlin_api"],
        tflite_version=versions["tflite"],
        native_library=NATIVE_LIBRARY,
        mobilesdk_version=__version__,
    )
