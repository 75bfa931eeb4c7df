"""The AAR zip (written without the Android Gradle Plugin) and the Maven repository layout beside it.

AAR entries, in this order::

    AndroidManifest.xml                        package (namespace) + minSdk
    classes.jar                                runtime + facade
    R.txt                                      empty: no Android resources
    proguard.txt                               consumer keep rules (JNI names, the engine)
    META-INF/com/android/build/gradle/aar-metadata.properties
    META-INF/mobilesdk/model.json              what mobilesdk put in: model, recipe, facade, asset hash,
                                               native libraries, the embedded manifest (read by `inspect`)
    assets/<model file>                        ZIP_STORED: TFLite memory-maps it from the APK
    jni/<abi>/*.so                             when the native Android build produced them

Entries have fixed times, so the same inputs give the same bytes: the Maven version is derived from them.
"""

from __future__ import annotations

import hashlib
import json
import time
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from mobilesdk import __version__
from mobilesdk.codegen import GeneratedFile, ModuleView
from mobilesdk.codegen.render import render_template
from mobilesdk.packaging.zips import zip_bytes

RECORD = "META-INF/mobilesdk/model.json"
RECORD_SCHEMA = "mobilesdk-aar"
AAR_TEXT_ORDER = ("AndroidManifest.xml", "classes.jar", "R.txt", "proguard.txt")


def record(
    view: ModuleView, asset_bytes: int, abis: Sequence[str], manifest: dict[str, Any]
) -> dict[str, Any]:
    """``META-INF/mobilesdk/model.json``."""
    doc: dict[str, Any] = {
        "schema": RECORD_SCHEMA,
        "schema_version": 1,
        "mobilesdk": __version__,
        "model_id": view.model_id,
        "runtime": view.runtime,
        "recipe": view.recipe,
        "group_id": view.group_id,
        "artifact_id": view.artifact_id,
        "facade": f"{view.package}.{view.facade_class}",
        "min_sdk": view.min_sdk,
        "asset": {"name": view.asset_name, "sha256": view.sha256, "bytes": asset_bytes},
        "native": {
            "library": f"lib{view.native_library}.so",
            "required": view.needs_native,
            "abis": sorted(abis),
        },
        "dependencies": [d.coordinate for d in view.dependencies],
        "manifest": manifest,
    }
    if view.runtime == "litert":
        doc["tflite_runtime"] = view.tflite_version
    return doc


def aar_bytes(
    text_files: Sequence[GeneratedFile],
    classes: bytes,
    doc: dict[str, Any],
    asset: GeneratedFile,
    jni: Sequence[GeneratedFile],
) -> bytes:
    """The AAR's bytes (deterministic). ``asset`` and ``jni`` paths are AAR entry names."""
    by_name = {f.path: f.read() for f in text_files}
    by_name["classes.jar"] = classes

    def entries() -> Iterator[tuple[str, bytes, int]]:  # the asset and libraries are read one at a time
        for name in AAR_TEXT_ORDER:
            # classes.jar is a zip already: deflating it again gains nothing
            yield (
                name,
                by_name.pop(name),
                zipfile.ZIP_STORED if name == "classes.jar" else zipfile.ZIP_DEFLATED,
            )
        for name in sorted(by_name):
            yield name, by_name[name], zipfile.ZIP_DEFLATED
        yield (
            RECORD,
            (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode("utf-8"),
            zipfile.ZIP_DEFLATED,
        )
        yield asset.path, asset.read(), zipfile.ZIP_STORED
        for lib in sorted(jni, key=lambda f: f.path):
            yield lib.path, lib.read(), zipfile.ZIP_DEFLATED

    return zip_bytes(entries())


def content_version(aar: bytes) -> str:
    """The Maven version of an AAR: mobilesdk's version + the first 10 hex digits of the AAR's SHA-256, so the
    same coordinates always mean the same bytes (Gradle and Maven cache by coordinates)."""
    return f"{__version__}-{hashlib.sha256(aar).hexdigest()[:10]}"


@dataclass(frozen=True)
class MavenArtifact:
    view: ModuleView
    version: str
    aar: bytes
    pom: bytes

    @property
    def directory(self) -> str:
        return "/".join([*self.view.group_id.split("."), self.view.artifact_id, self.version])

    @property
    def base(self) -> str:
        return f"{self.view.artifact_id}-{self.version}"


def _checksums(path: str, data: bytes) -> list[GeneratedFile]:
    """``path`` plus the ``.md5`` and ``.sha1`` files Maven writes beside every file it deploys."""
    return [
        GeneratedFile(path, data=data),
        GeneratedFile(path + ".md5", data=hashlib.md5(data).hexdigest().encode()),
        GeneratedFile(path + ".sha1", data=hashlib.sha1(data).hexdigest().encode()),
    ]


def repository_files(artifacts: Sequence[MavenArtifact]) -> list[GeneratedFile]:
    """A Maven repository layout (what ``deploy:deploy-file`` to a ``file://`` URL writes)::

    <group as dirs>/<artifactId>/<version>/<artifactId>-<version>.aar|.pom (+ .md5, .sha1)
    <group as dirs>/<artifactId>/maven-metadata.xml (+ .md5, .sha1)
    """
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    files: list[GeneratedFile] = []
    for a in artifacts:
        files += _checksums(f"{a.directory}/{a.base}.aar", a.aar)
        files += _checksums(f"{a.directory}/{a.base}.pom", a.pom)
        meta = render_template("maven/maven-metadata.xml.j2", v=a.view, version=a.version, last_updated=stamp)
        files += _checksums(f"{a.directory.rsplit('/', 1)[0]}/maven-metadata.xml", meta.encode("utf-8"))
    return files
