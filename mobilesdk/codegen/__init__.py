"""Android code generation: manifest -> view model -> templates -> in-memory files -> writer.

:func:`generate_module` gives the Gradle library module of one artifact (the facade, build files, the static
runtime's sources, the model asset, native libraries); :func:`aar_files` the AAR's static entries;
:func:`render_pom` the POM. Nothing here compiles or zips: that is :mod:`mobilesdk.packaging`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mobilesdk import manifest as mf
from mobilesdk.codegen.render import GeneratedFile, render_template, render_tree, write_tree
from mobilesdk.codegen.viewmodel import RUNTIME_DIR, CodegenError, ModuleView, build_view

__all__ = [
    "CodegenError",
    "GeneratedFile",
    "GeneratedModule",
    "ModuleView",
    "aar_files",
    "build_view",
    "generate_module",
    "render_pom",
    "runtime_sources",
    "write_tree",
]

RUNTIME_SOURCES = RUNTIME_DIR / "src" / "main" / "kotlin"


@dataclass(frozen=True)
class GeneratedModule:
    view: ModuleView
    files: tuple[GeneratedFile, ...]  # paths relative to the module directory

    @property
    def facade(self) -> GeneratedFile:
        """The rendered ``<Model>PoseEstimator.kt``."""
        path = f"src/main/kotlin/{self.view.package_path}/{self.view.facade_class}.kt"
        return next(f for f in self.files if f.path == path)


def runtime_sources() -> list[Path]:
    """The static Kotlin runtime's source files (sorted)."""
    return sorted(p for p in RUNTIME_SOURCES.rglob("*.kt") if p.is_file())


def generate_module(
    manifest: mf.Manifest,
    recipe: str,
    build_dir: Path,
    native_libs: Mapping[str, Sequence[Path]] | None = None,
) -> GeneratedModule:
    """The Android library module of ``manifest``'s artifact ``recipe`` (asset taken from ``build_dir``).

    ``native_libs``: ABI -> ``.so`` files for ``src/main/jniLibs/<abi>/`` (none: the module has no native code).
    """
    view = build_view(manifest, recipe)
    files = render_tree("module", view)
    files += [
        GeneratedFile(f"src/main/kotlin/{p.relative_to(RUNTIME_SOURCES).as_posix()}", data=p.read_bytes())
        for p in runtime_sources()
    ]
    asset = Path(build_dir) / view.asset_name
    if not asset.is_file():
        raise CodegenError(f"{asset}: the artifact of recipe '{recipe}' is missing")
    files.append(GeneratedFile(f"src/main/assets/{view.asset_name}", source=asset))
    for abi, libs in sorted((native_libs or {}).items()):
        files += [GeneratedFile(f"src/main/jniLibs/{abi}/{lib.name}", source=lib) for lib in libs]
    return GeneratedModule(view, tuple(files))


def aar_files(view: ModuleView) -> list[GeneratedFile]:
    """The AAR's entries that are text: AndroidManifest.xml, R.txt, proguard.txt, aar-metadata.properties."""
    return render_tree("aar", view)


def render_pom(view: ModuleView, version: str) -> bytes:
    return render_template("maven/pom.xml.j2", v=view, version=version).encode("utf-8")
