"""``mobilesdk inspect``: what is inside an AAR, a ``.pte`` or a ``.tflite``, and what is wrong with it.

A *defect* makes the file unusable or unsafe to ship (the command exits non-zero): a missing ``classes.jar``
or ``AndroidManifest.xml``, a compressed model asset (TFLite memory-maps it), a ``.so`` whose LOAD segments are
not 16 KB aligned or whose ELF machine is not its ``jni/<abi>``, an asset whose SHA-256 is not the one the
facade and the AAR record carry (a tampered or swapped model), an embedded manifest that describes another
contract, a ``.tflite`` that needs a newer TFLite than the POM declares. A *warning* names what is missing but
not broken: an AAR without native libraries (the ExecuTorch engine needs them on a phone), no ``R.txt``, a
runtime dependency (from the local Maven repository) whose native libraries are not 16 KB-aligned
(:mod:`mobilesdk.packaging.deps`: TFLite 2.16.1's are not; the warning names the library and the fix).

A file that cannot be inspected at all (missing, not a zip, an unknown kind) is an :class:`InspectError`.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tempfile
import xml.etree.ElementTree as ET
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mobilesdk import manifest as mf
from mobilesdk.codegen.viewmodel import runtime_versions
from mobilesdk.errors import MobileSDKError
from mobilesdk.packaging.aar import RECORD, RECORD_SCHEMA
from mobilesdk.packaging.deps import check_dependencies
from mobilesdk.packaging.elf import ABIS, check_library
from mobilesdk.packaging.inspect_model import InspectError, check_header, inspect_model

MODEL_SUFFIXES = (".pte", ".tflite")
REQUIRED = ("AndroidManifest.xml", "classes.jar")
ANDROID_NS = "{http://schemas.android.com/apk/res/android}"
_PACKAGE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$")


@dataclass
class InspectReport:
    path: str
    kind: str  # "aar" | "pte" | "tflite"
    bytes: int
    defects: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.defects

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "bytes": self.bytes,
            "ok": self.ok,
            "defects": self.defects,
            "warnings": self.warnings,
            **self.details,
        }


def inspect_file(
    path: Path, tflite_runtime: str | None = None, maven_repo: Path | None = None
) -> InspectReport:
    """Inspect an ``.aar``, ``.pte`` or ``.tflite``. ``tflite_runtime``: the TFLite version to check a
    ``.tflite`` against (default: the POM beside an AAR, else the version mobilesdk's AARs declare);
    ``maven_repo``: where an AAR's dependencies are looked up (default ~/.m2/repository)."""
    path = Path(path)
    if path.is_dir():
        raise InspectError(f"{path}: is a directory; give an .aar, .pte or .tflite file")
    if not path.is_file():
        raise InspectError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".aar":
        return _inspect_aar(path, tflite_runtime, maven_repo)
    if suffix in MODEL_SUFFIXES:
        check_header(path)
        report = InspectReport(str(path), suffix[1:], path.stat().st_size)
        report.details["model"] = inspect_model(path, report, tflite_runtime or runtime_versions()["tflite"])
        return report
    raise InspectError(f"{path}: not an .aar, .pte or .tflite file")


# ---- AAR ---------------------------------------------------------------------------------------------------


def _entries(z: zipfile.ZipFile) -> list[dict[str, Any]]:
    return [
        {
            "name": i.filename,
            "bytes": i.file_size,
            "compressed": i.compress_size,
            "stored": i.compress_type == zipfile.ZIP_STORED,
        }
        for i in z.infolist()
        if not i.is_dir()
    ]


def _android_manifest(data: bytes, report: InspectReport) -> dict[str, Any]:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        report.defects.append(f"AndroidManifest.xml is not XML ({exc})")
        return {}
    package = root.get("package")
    sdk = root.find("uses-sdk")
    min_sdk = sdk.get(f"{ANDROID_NS}minSdkVersion") if sdk is not None else None
    if root.tag != "manifest":
        report.defects.append(f"AndroidManifest.xml: root element is <{root.tag}>, not <manifest>")
    if not package or not _PACKAGE.match(package):
        report.defects.append(f"AndroidManifest.xml: package {package!r} is not a valid namespace")
    if min_sdk is None:
        report.warnings.append("AndroidManifest.xml declares no minSdkVersion (Gradle then assumes 1)")
    return {"package": package, "min_sdk": int(min_sdk) if min_sdk and min_sdk.isdigit() else min_sdk}


def _classes(data: bytes, report: InspectReport) -> tuple[dict[str, Any], dict[str, bytes]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as jar:
            classes = {n: jar.read(n) for n in jar.namelist() if n.endswith(".class")}
    except (zipfile.BadZipFile, OSError) as exc:
        report.defects.append(f"classes.jar is not a readable jar ({exc})")
        return {}, {}
    packages: dict[str, int] = {}
    for name in classes:
        pkg = name.rpartition("/")[0].replace("/", ".")
        packages[pkg] = packages.get(pkg, 0) + 1
    if not classes:
        report.defects.append("classes.jar holds no classes")
    names = sorted(n.removesuffix(".class").replace("/", ".") for n in classes)
    return {"count": len(classes), "packages": dict(sorted(packages.items())), "names": names}, classes


def _native(z: zipfile.ZipFile, report: InspectReport) -> dict[str, list[dict[str, Any]]]:
    abis: dict[str, list[dict[str, Any]]] = {}
    for info in z.infolist():
        parts = info.filename.split("/")
        if parts[0] != "jni" or info.is_dir():
            continue
        if len(parts) != 3 or not parts[2].endswith(".so"):
            report.warnings.append(
                f"{info.filename}: not a jni/<abi>/<library>.so entry (ignored by Android)"
            )
            continue
        elf = check_library(z.read(info), info.filename, parts[1])
        report.defects.extend(elf.problems)
        abis.setdefault(parts[1], []).append(elf.to_json())
    return dict(sorted(abis.items()))


def _contract(doc: dict[str, Any]) -> dict[str, Any]:
    """What the runtime consumes of an embedded manifest (tool versions and titles may differ harmlessly)."""
    entry = doc["artifacts"][0]
    keys = ("recipe", "runtime", "precision", "input", "outputs", "quantization")
    return {
        "model.id": doc["model"]["id"],
        "codec": doc["codec"],
        "keypoints": doc["keypoints"],
        **{f"artifact.{k}": entry.get(k) for k in keys},
    }


def _check_model(
    z: zipfile.ZipFile, record: dict[str, Any], classes: dict[str, bytes], report: InspectReport, tflite: str
) -> dict[str, Any]:
    """The asset against the record and the facade; then the asset itself (when it is the one recorded)."""
    asset = record.get("asset") or {}
    name = f"assets/{asset.get('name')}"
    if name not in z.namelist():
        report.defects.append(f"{RECORD} names the asset {name}, which is not in the AAR")
        return {}
    data = z.read(name)
    digest = hashlib.sha256(data).hexdigest()
    facade = str(record.get("facade", "")).replace(".", "/") + ".class"
    info: dict[str, Any] = {"asset": name, "sha256": digest, "facade": record.get("facade")}
    if facade not in classes:
        report.defects.append(f"the facade {record.get('facade')} named by {RECORD} is not in classes.jar")
    elif str(asset.get("sha256")).encode() not in classes[facade]:
        report.defects.append(
            f"the facade {record.get('facade')} does not carry the recorded asset hash (classes.jar and the record disagree)"
        )
    if digest != asset.get("sha256"):
        report.defects.append(
            f"{name} has SHA-256 {digest[:16]}... but the facade and {RECORD} say {str(asset.get('sha256'))[:16]}...: "
            "the model was replaced or tampered with (not loaded)"
        )
        return info
    with tempfile.TemporaryDirectory(prefix="mobilesdk-inspect-") as tmp:
        local = Path(tmp) / Path(name).name
        local.write_bytes(data)
        sub = InspectReport(name, local.suffix[1:], len(data))
        model = inspect_model(local, sub, tflite)
    report.defects += [f"{name}: {d}" for d in sub.defects]
    report.warnings += [f"{name}: {w}" for w in sub.warnings]
    info.update({k: v for k, v in model.items() if k != "manifest"})
    embedded, recorded = model.get("manifest"), record.get("manifest")
    if embedded is not None and isinstance(recorded, dict):
        try:
            want = _contract(mf.from_json(recorded, RECORD, embedded=True).to_json())
        except MobileSDKError as exc:
            report.defects.append(f"{RECORD}: {exc}")
            return info
        got = _contract(embedded)
        diff = [k for k in want if want[k] != got.get(k)]
        info["embedded_manifest_matches"] = not diff
        if diff:
            report.defects.append(
                f"{name}: its embedded manifest differs from the facade's contract at '{diff[0]}'"
            )
    if model.get("runtime") and model.get("runtime") != record.get("runtime"):
        report.defects.append(
            f"{name} is a {model.get('runtime')} model but the AAR is for {record.get('runtime')}"
        )
    return info


def _pom_tflite(aar: Path) -> str | None:
    """The org.tensorflow:tensorflow-lite version the POM beside ``aar`` declares (None: no POM or none)."""
    pom = aar.with_suffix(".pom")
    if not pom.is_file():
        return None
    try:
        root = ET.parse(pom).getroot()
    except ET.ParseError:
        return None
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    for dep in root.iterfind("m:dependencies/m:dependency", ns):
        if (
            dep.findtext("m:groupId", "", ns) == "org.tensorflow"
            and dep.findtext("m:artifactId", "", ns) == "tensorflow-lite"
        ):
            return dep.findtext("m:version", "", ns) or None
    return None


def _inspect_aar(path: Path, tflite_runtime: str | None, maven_repo: Path | None) -> InspectReport:
    report = InspectReport(str(path), "aar", path.stat().st_size)
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InspectError(f"{path}: not an AAR (not a readable zip archive: {exc})") from None
    try:
        with z:
            _inspect_entries(z, path, report, tflite_runtime, maven_repo)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise InspectError(f"{path}: corrupt AAR ({type(exc).__name__}: {exc})") from None
    return report


def _inspect_entries(
    z: zipfile.ZipFile, path: Path, report: InspectReport, tflite_runtime: str | None, maven_repo: Path | None
) -> None:
    names = set(z.namelist())
    d = report.details
    d["entries"] = _entries(z)
    for required in REQUIRED:
        if required not in names:
            report.defects.append(f"{required} is missing (an AAR must have it)")
    for optional, why in (
        ("R.txt", "AGP expects it, even empty"),
        ("proguard.txt", "apps that minify may strip the JNI classes"),
        ("META-INF/com/android/build/gradle/aar-metadata.properties", "AGP checks it for compatibility"),
    ):
        if optional not in names:
            report.warnings.append(f"{optional} is missing ({why})")
    d["android_manifest"] = (
        _android_manifest(z.read("AndroidManifest.xml"), report) if "AndroidManifest.xml" in names else {}
    )
    d["classes"], classes = _classes(z.read("classes.jar"), report) if "classes.jar" in names else ({}, {})
    d["assets"] = [e for e in d["entries"] if e["name"].startswith("assets/")]
    for e in d["assets"]:
        if e["name"].lower().endswith(MODEL_SUFFIXES) and not e["stored"]:
            report.defects.append(
                f"{e['name']} is compressed: TFLite cannot memory-map it and ExecuTorch copies it slowly; store it (ZIP_STORED)"
            )
    if not any(e["name"].lower().endswith(MODEL_SUFFIXES) for e in d["assets"]):
        report.defects.append("no model asset (assets/*.pte or assets/*.tflite)")
    d["abis"] = _native(z, report)
    record = _record(z, names, report)
    d["record"] = {k: v for k, v in record.items() if k != "manifest"}
    if record:
        tflite = (
            tflite_runtime
            or _pom_tflite(path)
            or record.get("tflite_runtime")
            or runtime_versions()["tflite"]
        )
        d["model"] = _check_model(z, record, classes, report, tflite)
        _native_warning(record, d["abis"], report)
        deps = check_dependencies([str(c) for c in record.get("dependencies") or []], maven_repo)
        d["dependencies"] = [dep.to_json() for dep in deps]
        report.warnings += [w for w in (dep.warning() for dep in deps) if w]


def _record(z: zipfile.ZipFile, names: set[str], report: InspectReport) -> dict[str, Any]:
    if RECORD not in names:
        report.warnings.append(
            f"no {RECORD}: not built by mobilesdk, so the model asset cannot be checked against its facade"
        )
        return {}
    try:
        doc = json.loads(z.read(RECORD))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        report.defects.append(f"{RECORD} is not valid JSON ({exc})")
        return {}
    if not isinstance(doc, dict) or doc.get("schema") != RECORD_SCHEMA:
        report.defects.append(f"{RECORD} is not a {RECORD_SCHEMA} record")
        return {}
    return doc


def _native_warning(
    record: dict[str, Any], abis: dict[str, list[dict[str, Any]]], report: InspectReport
) -> None:
    lib = (record.get("native") or {}).get("library", "libmobilesdk_pose_jni.so")
    have = {abi for abi, libs in abis.items() if any(x["path"].endswith("/" + lib) for x in libs)}
    if record.get("runtime") == "executorch":
        if not have:
            report.warnings.append(
                f"no native libraries: the ExecuTorch engine needs jni/<abi>/{lib} on a phone ({', '.join(ABIS)}); "
                "build them with android_template/native/build_android.sh (an Android NDK) and rebuild"
            )
        no_et = sorted(
            abi
            for abi, libs in abis.items()
            for x in libs
            if x["path"].endswith("/" + lib) and x["has_executorch"] is False
        )
        if no_et:
            report.warnings.append(
                f"{lib} of {', '.join(no_et)} has no ExecuTorch engine (built without EXECUTORCH_ANDROID_DIR)"
            )
    elif not have:
        report.warnings.append(f"no native libraries (jni/<abi>/{lib}): pre/post-processing runs in Kotlin")
