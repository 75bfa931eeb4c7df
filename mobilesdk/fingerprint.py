"""What makes two builds "the same": the model fingerprint and the artifact cache key.

* :func:`card_digest` — the *resolved* card (after keypoint presets are read), as data: editing a preset file
  changes it, reformatting the YAML does not.
* :func:`architecture_digest` — the source the model is built from: for a zoo architecture every module of
  ``mobilesdk/archs``; for a user class (``architecture.entry``) the file that defines it (the card's
  ``file.py:Class``, or the module's source file for ``package.module:Class``). Other files that file imports
  are not followed; a user who splits a model over several files should keep them in one package and expect
  only the entry file to be tracked (README says so).
* :func:`model_fingerprint` — card digest + architecture digest + checkpoint sha256: the one definition of
  "the same model". Artifacts of other recipes are kept side by side only when it matches.
* :func:`cache_key` — model fingerprint + mobilesdk's own package source + the recipe and every export option
  + calibration data + tool versions: an artifact is reused only when all of them match, and a reused artifact
  is verified again against today's budgets.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent


def _sha(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _files_digest(files) -> str:
    h = hashlib.sha256()
    for path in sorted(files):
        name = path.relative_to(PACKAGE_DIR) if path.is_relative_to(PACKAGE_DIR) else Path(path.name)
        h.update(str(name).encode())
        h.update(b"\0")
        h.update(Path(path).read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def card_digest(card) -> str:
    """sha256 of the resolved card as data (everything but its path and text hash)."""
    data = {k: v for k, v in dataclasses.asdict(card).items() if k not in ("path", "sha256")}
    return _sha(data)


def architecture_digest(card) -> str:
    from mobilesdk.modeling import architecture_class

    spec = card.architecture
    if spec.name is not None:
        return "zoo:" + _files_digest((PACKAGE_DIR / "archs").glob("*.py"))
    cls = architecture_class(card)
    source = inspect.getsourcefile(cls)
    if source is None:
        return f"user:{cls.__module__}.{cls.__qualname__}"
    return "user:" + _files_digest([Path(source).resolve()])


def model_fingerprint(card, checkpoint_sha256: str | None) -> str:
    return _sha("model", card_digest(card), architecture_digest(card), checkpoint_sha256)


@functools.cache
def package_digest() -> str:
    """sha256 of mobilesdk's own Python source: exporter fixes invalidate cached artifacts."""
    return _files_digest(p for p in PACKAGE_DIR.rglob("*.py") if "__pycache__" not in p.parts)


def cache_key(
    fingerprint: str,
    recipe: str,
    options: Mapping[str, Any],
    calibration: str | None,
    tools: Mapping[str, str],
) -> str:
    return _sha("artifact", fingerprint, package_digest(), recipe, dict(options), calibration, dict(tools))
