"""Templates -> in-memory files, and in-memory files -> a directory (atomically).

Templates live in ``android_template/templates/<section>/`` as real files named after their target plus
``.j2``; a path part ``__name__`` is replaced by the view model's attribute ``name`` (``__package_path__``
becomes ``io/mobilesdk/models/...``). Rendering uses ``StrictUndefined``: a name the view model lacks is an
error on the first use, never an empty string. Macros shared by several templates are in ``_macros/``.
"""

from __future__ import annotations

import functools
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mobilesdk import fsops
from mobilesdk.codegen.viewmodel import ANDROID_TEMPLATE, CodegenError

TEMPLATES_DIR = ANDROID_TEMPLATE / "templates"
_PLACEHOLDER = re.compile(r"__([a-z][a-z0-9_]*)__")


@dataclass(frozen=True)
class GeneratedFile:
    """One output file: ``path`` relative to the output root (POSIX), content in ``data`` or copied from
    ``source`` (model assets and native libraries are not read into memory)."""

    path: str
    data: bytes | None = None
    source: Path | None = None

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.source is not None
        return self.source.read_bytes()


@functools.cache
def environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=lambda name: bool(name) and name.removesuffix(".j2").endswith(".xml"),
    )


def _target_path(relative: str, view: Any) -> str:
    def sub(match: re.Match) -> str:
        name = match.group(1)
        if not hasattr(view, name):
            raise CodegenError(f"template path {relative}: the view model has no '{name}'")
        return str(getattr(view, name))

    return _PLACEHOLDER.sub(sub, relative.removesuffix(".j2"))


def render_template(name: str, **context: Any) -> str:
    """Render one template (path relative to the templates dir) with ``context``; errors name the template."""
    import jinja2

    try:
        return environment().get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        raise CodegenError(f"template {exc.filename or name}:{exc.lineno}: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        raise CodegenError(f"template {name}: {exc.message}") from None


def render_tree(section: str, view: Any, **context: Any) -> list[GeneratedFile]:
    """Every ``*.j2`` under ``templates/<section>/`` rendered with ``v=view`` (+ ``context``), sorted by path."""
    root = TEMPLATES_DIR / section
    if not root.is_dir():
        raise CodegenError(f"no templates for '{section}' in {TEMPLATES_DIR}")
    out = []
    for path in sorted(root.rglob("*.j2")):
        relative = path.relative_to(root).as_posix()
        text = render_template(f"{section}/{relative}", v=view, **context)
        out.append(GeneratedFile(_target_path(relative, view), data=text.encode("utf-8")))
    return out


def write_tree(files: Iterable[GeneratedFile], target: Path) -> None:
    """Write ``files`` as the directory ``target``: staged beside it, then swapped into place (the previous
    ``target`` stays intact if anything fails)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = fsops.make_staging(target.parent, target.name)
    try:
        for f in files:
            dest = staging / f.path
            dest.parent.mkdir(parents=True, exist_ok=True)
            if f.data is not None:
                dest.write_bytes(f.data)
            else:
                fsops.link_or_copy(f.source, dest)
        fsops.swap_into_place(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
