"""Packaging: a finished build folder -> AARs, POMs, a local Maven repository and Gradle module sources.

:func:`package_build` runs after ``mobilesdk build`` put the verified artifacts and ``manifest.json`` in place,
so a missing JDK or Maven fails here with one line and leaves the model artifacts. It writes, in
``dist/<id>/``:

* ``<id>-<runtime>.aar`` and ``<id>-<runtime>.pom`` — one AAR per runtime in the build folder;
* ``m2/`` — a Maven repository holding them (``io.mobilesdk.models:<id>-<runtime>:<version>``);
* ``android/<id>-<runtime>/`` — the same library as a Gradle module (sources, asset, jniLibs).

Which artifact a runtime's AAR holds: the recipe of that runtime this build produced; a runtime the build
did not touch keeps its most recently built recipe (``built_at``, then the recipe name). One model per AAR, so
an app ships one file per model. Native libraries come from ``--native-libs DIR`` (``DIR/<abi>/*.so``) or,
by default, ``android_template/native/build-android/`` (what ``build_android.sh`` writes); each is checked for
16 KB LOAD alignment and its ELF machine before it goes in.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mobilesdk import fsops
from mobilesdk import manifest as mf
from mobilesdk.codegen import (
    GeneratedFile,
    GeneratedModule,
    aar_files,
    generate_module,
    render_pom,
    write_tree,
)
from mobilesdk.codegen.viewmodel import ANDROID_TEMPLATE, NATIVE_LIBRARY
from mobilesdk.errors import MobileSDKError
from mobilesdk.packaging import aar as aar_mod
from mobilesdk.packaging.compile import (
    CompileStats,
    FacadeSource,
    classes_jar,
    compile_facades,
    read_jar,
    runtime_jar,
)
from mobilesdk.packaging.deps import check_dependencies
from mobilesdk.packaging.elf import ABIS, check_library
from mobilesdk.packaging.toolchain import find_toolchain

DEFAULT_NATIVE_LIBS = ANDROID_TEMPLATE / "native" / "build-android"
JNI_LIBRARY = f"lib{NATIVE_LIBRARY}.so"  # the native core: pre/post-processing, the ExecuTorch engine
NDK_HINT = (
    "build them with an Android NDK (ANDROID_NDK_HOME=... EXECUTORCH_ANDROID_DIR=... "
    "android_template/native/build_android.sh) and rebuild, or pass --native-libs DIR"
)


class PackagingError(MobileSDKError):
    """The AAR step failed (the model artifacts of the build are in place)."""


@dataclass(frozen=True)
class PackagingOptions:
    """What the CLI decides for the AAR step. ``native_libs``: a folder with ``<abi>/*.so`` (None: the default
    of :data:`DEFAULT_NATIVE_LIBS`); ``search_path``: the PATH to find java/mvn on (None: the process's)."""

    cache_dir: Path
    native_libs: Path | None = None
    search_path: str | None = None


@dataclass
class AarResult:
    runtime: str
    recipe: str
    path: Path
    pom: Path
    coordinate: str  # group:artifact:version
    bytes: int
    facade: str
    abis: list[str]
    engines: list[str]  # what runs the model inside this AAR, e.g. "ExecuTorch (XNNPACK) on arm64-v8a"
    missing: list[str]  # what it lacks for a phone, and how to get it
    notes: list[str] = field(default_factory=list)  # caveats that do not stop a phone (16 KB, random weights)
    random_weights: bool = False  # built without --checkpoint: it runs, its keypoints are noise

    @property
    def ready_for_phone(self) -> bool:
        """An app can add it and run the model on a phone as it is: an engine inside, nothing missing."""
        return bool(self.engines) and not self.missing

    @property
    def status(self) -> str:
        """One line: 'ready for a phone', or what is missing."""
        if self.ready_for_phone:
            return "ready for a phone"
        return "not ready for a phone: missing " + "; ".join(self.missing or ["an engine"])

    def to_json(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "path": str(self.path),
            "pom": str(self.pom),
            "ready_for_phone": self.ready_for_phone,
            "status": self.status,
        }


@dataclass
class PackagingResult:
    aars: list[AarResult] = field(default_factory=list)
    m2: Path | None = None
    module_dir: Path | None = None
    compile: CompileStats = field(default_factory=CompileStats)
    seconds: float = 0.0

    @property
    def phone_ready(self) -> list[AarResult]:
        """The AARs an app can use on a phone today."""
        return [a for a in self.aars if a.ready_for_phone]

    def to_json(self) -> dict[str, Any]:
        return {
            "aars": [a.to_json() for a in self.aars],
            "ready_for_phone": [a.path.name for a in self.phone_ready],
            "m2": str(self.m2) if self.m2 else None,
            "android": str(self.module_dir) if self.module_dir else None,
            "compile": self.compile.to_json(),
            "seconds": round(self.seconds, 3),
        }


def choose_recipes(manifest: mf.Manifest, built: Sequence[str]) -> dict[str, str]:
    """runtime -> the recipe its AAR holds (see the module docstring)."""
    chosen = {manifest.artifact(recipe).runtime: recipe for recipe in built}
    built_runtimes = set(chosen)
    for entry in sorted(manifest.artifacts, key=lambda e: (e.built_at or "", e.recipe)):
        if entry.runtime not in built_runtimes:
            chosen[entry.runtime] = entry.recipe  # later (newer) entries win
    return dict(sorted(chosen.items()))


def find_native_libs(folder: Path | None) -> tuple[dict[str, list[Path]], dict[str, bool]]:
    """(ABI -> the ``.so`` files of ``folder/<abi>/`` (known ABIs only), ABI -> whether its native core
    :data:`JNI_LIBRARY` has the ExecuTorch engine (ABIs that have the core only)). Each library is checked; a
    defect is an error."""
    folder = Path(folder) if folder is not None else DEFAULT_NATIVE_LIBS
    found: dict[str, list[Path]] = {}
    executorch: dict[str, bool] = {}
    for abi in ABIS:
        libs = sorted(p for p in (folder / abi).glob("*.so") if p.is_file())
        for lib in libs:
            report = check_library(lib.read_bytes(), str(lib), abi)
            if report.problems:
                raise PackagingError(
                    f"{report.problems[0]} [AAR step; the verified model artifacts are in place]"
                )
            if lib.name == JNI_LIBRARY:
                executorch[abi] = bool(report.has_executorch)
        if libs:
            found[abi] = libs
    return found, executorch


def _engines(runtime: str, executorch: dict[str, bool], tflite: str) -> tuple[list[str], list[str]]:
    """(engines inside, what is missing) for an AAR of ``runtime`` whose native cores are ``executorch``
    (ABI -> the core has the ExecuTorch engine; see :func:`find_native_libs`)."""
    jni = list(executorch)
    with_et = [abi for abi, has in executorch.items() if has]
    if runtime == "executorch":
        if with_et:
            engines = [f"ExecuTorch (XNNPACK) in the native core on {', '.join(with_et)}"]
            missing = (
                []
                if len(with_et) == len(jni)
                else [
                    f"no ExecuTorch engine in the native core of {', '.join(sorted(set(jni) - set(with_et)))}"
                ]
            )
            return engines, missing
        if jni:
            return [], [
                f"the native core ({', '.join(jni)}) was built without the ExecuTorch engine: set EXECUTORCH_ANDROID_DIR for build_android.sh"
            ]
        return [], [
            f"jni/<abi>/libmobilesdk_pose_jni.so (the ExecuTorch engine runs in the native core; a phone needs it): {NDK_HINT}"
        ]
    engines = [f"TFLite Interpreter {tflite} (org.tensorflow:tensorflow-lite, through the POM)"]
    if jni:
        engines.append(f"native pre/post-processing on {', '.join(jni)} (Kotlin elsewhere)")
        return engines, []
    engines.append("Kotlin pre/post-processing (no native libraries)")
    return engines, []


class _NoProgress:
    @contextlib.contextmanager
    def phase(self, description: str, total: int | None = None):
        yield lambda: None

    def warn(self, message: str) -> None:
        pass


def package_build(
    target: Path, built: Sequence[str], options: PackagingOptions, progress=None
) -> PackagingResult:
    """Package the build folder ``target`` (its ``manifest.json`` and artifacts); ``built``: the recipes this
    build produced. ``progress``: an object with ``phase(description)`` and ``warn(message)``. Any failure is
    a :class:`PackagingError` whose one line also says that the model artifacts are in place."""
    try:
        return _package(Path(target), built, options, progress or _NoProgress())
    except PackagingError:
        raise
    except MobileSDKError as exc:
        raise PackagingError(f"{exc} [AAR step; the verified model artifacts are in {target}]") from None


def _assemble(
    m: GeneratedModule,
    manifest: mf.Manifest,
    target: Path,
    native: dict[str, list[Path]],
    executorch: dict[str, bool],
    classes: bytes,
) -> tuple[AarResult, aar_mod.MavenArtifact]:
    """Write ``<artifactId>.aar`` and ``.pom`` of one module into ``target``."""
    v = m.view
    asset = GeneratedFile(f"assets/{v.asset_name}", source=target / v.asset_name)
    jni = [GeneratedFile(f"jni/{abi}/{lib.name}", source=lib) for abi, libs in native.items() for lib in libs]
    # The document the facade embeds (embedded_manifest_json is its text). Not validated again: `manifest` was
    # validated when it was read, and the embedded view only leaves fields out.
    doc = aar_mod.record(v, manifest.artifact(v.recipe).bytes or 0, list(native), manifest.embedded(v.recipe))
    data = aar_mod.aar_bytes(aar_files(v), classes, doc, asset, jni)
    version = aar_mod.content_version(data)
    pom = render_pom(v, version)
    aar_path, pom_path = target / f"{v.artifact_id}.aar", target / f"{v.artifact_id}.pom"
    fsops.write_atomically(aar_path, data)
    fsops.write_atomically(pom_path, pom)
    engines, missing = _engines(v.runtime, executorch, v.tflite_version)
    deps = check_dependencies([d.coordinate for d in v.dependencies])  # their native libraries: 16 KB pages
    notes = [w for w in (d.warning() for d in deps) if w]
    if v.random_weights:
        notes.append(
            "random weights (built without --checkpoint): the model runs but its keypoints are noise; the facade "
            "says so (RANDOM_WEIGHTS, estimator.randomWeights) and create() logs a warning"
        )
    coordinate = f"{v.group_id}:{v.artifact_id}:{version}"
    facade = f"{v.package}.{v.facade_class}"
    aar = AarResult(
        v.runtime,
        v.recipe,
        aar_path,
        pom_path,
        coordinate,
        len(data),
        facade,
        sorted(native),
        engines,
        missing,
        notes,
        v.random_weights,
    )
    return aar, aar_mod.MavenArtifact(v, version, data, pom)


def _package(target: Path, built: Sequence[str], options: PackagingOptions, progress) -> PackagingResult:
    t0 = time.perf_counter()
    manifest = mf.read_manifest(target / mf.MANIFEST_FILE)
    choice = choose_recipes(manifest, built)
    native, executorch = find_native_libs(options.native_libs)
    modules = [generate_module(manifest, recipe, target, native) for recipe in choice.values()]
    result = PackagingResult()
    cache = Path(options.cache_dir).expanduser()
    # looked for once, and only if something must be compiled
    toolchain = functools.cache(lambda: find_toolchain(cache, options.search_path))

    sources = [
        FacadeSource(m.view.artifact_id, m.view.package_path, f"{m.view.facade_class}.kt", m.facade.read())
        for m in modules
    ]
    with progress.phase(
        f"Compiling the Kotlin facade{'s' if len(sources) > 1 else ''} ({', '.join(s.name for s in sources)})"
    ):
        runtime = runtime_jar(cache, toolchain, result.compile)
        compiled = compile_facades(cache, sources, toolchain, result.compile, runtime=runtime)
    runtime_entries = read_jar(runtime)
    fsops.remove_stale(target)  # m2/, android/ or partial files of a packaging step that was killed
    artifacts = []
    with progress.phase("Assembling the AAR" + ("s" if len(modules) > 1 else "")):
        for m in modules:
            classes = classes_jar(runtime_entries, compiled[m.view.artifact_id])
            aar, artifact = _assemble(m, manifest, target, native, executorch, classes)
            for what in aar.missing:
                progress.warn(f"{aar.path.name} has no native engine: {what}")
            result.aars.append(aar)
            artifacts.append(artifact)
        keep = {a.path.name for a in result.aars} | {a.pom.name for a in result.aars}
        for old in [*target.glob("*.aar"), *target.glob("*.pom")]:
            if old.name not in keep:  # an AAR of a runtime this folder no longer holds
                old.unlink(missing_ok=True)
        result.m2 = target / "m2"
        write_tree(aar_mod.repository_files(artifacts), result.m2)
        result.module_dir = target / "android"
        write_tree(
            [
                GeneratedFile(f"{m.view.artifact_id}/{f.path}", f.data, f.source)
                for m in modules
                for f in m.files
            ],
            result.module_dir,
        )
    result.seconds = time.perf_counter() - t0
    return result
