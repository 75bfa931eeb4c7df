"""The manifest: the one contract between an artifact and everything that consumes it.

``dist/<id>/manifest.json`` (schema ``mobilesdk-manifest`` version 1)::

    {
      "schema": "mobilesdk-manifest", "schema_version": 1,
      "model":     {id, title, family, architecture, hparams, reconstructed, card_sha256,
                    weights: "checkpoint" | "random", checkpoint: {file, sha256} | null},
      "codec":     {name, params},                       # decoding contract (see mobilesdk/codecs)
      "keypoints": {names, skeleton, flip_pairs},
      "tools":     {mobilesdk, torch, executorch, litert_torch, ai_edge_litert, python},
      "artifacts": [                                      # one per recipe; runtimes side by side
        {recipe, runtime, precision, file, sha256, bytes,
         input:   {name, shape, layout, dtype, color, mean, std, normalization: "app" | "in-graph",
                   size: {width, height}, resize},
         outputs: [{name, shape, dtype, role}],           # role = the codec output it feeds
         quantization: {mode, keep_float: [...], calibration: {source, count}} | null,
         lowering: {...},                                 # delegate report (ExecuTorch) / op counts (LiteRT)
         parity: {...},                                   # written by verify
         cache_key, built_at}
      ]
    }

The same document, restricted to one artifact and without the fields that depend on the finished file
(``file``, ``sha256``, ``bytes``, ``parity``), is embedded in the artifact itself, so an artifact carries its
own contract: ExecuTorch ``.pte`` as a constant method, LiteRT ``.tflite`` as a metadata buffer (both under
the name :data:`EMBED_KEY`; see ``export/executorch.py`` and ``export/litert.py`` for the exact encodings).
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
from collections.abc import Mapping
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from mobilesdk import __version__
from mobilesdk.errors import MobileSDKError

SCHEMA = "mobilesdk-manifest"
SCHEMA_VERSION = 1
EMBED_KEY = "mobilesdk_manifest"
MANIFEST_FILE = "manifest.json"
FILE_DEPENDENT_KEYS = ("file", "sha256", "bytes", "parity", "lowering", "built_at")


def tool_versions() -> dict[str, str]:
    out = {"mobilesdk": __version__, "python": platform.python_version()}
    for dist in ("torch", "executorch", "litert-torch", "ai-edge-litert"):
        try:
            out[dist.replace("-", "_")] = importlib_metadata.version(dist)
        except importlib_metadata.PackageNotFoundError:
            out[dist.replace("-", "_")] = "not installed"
    return out


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def embedded_document(manifest: Mapping[str, Any], recipe: str) -> dict[str, Any]:
    """The manifest restricted to one artifact, without file-dependent fields: what goes inside the artifact."""
    entry = find_artifact(manifest, recipe)
    doc = {k: v for k, v in manifest.items() if k != "artifacts"}
    doc["artifacts"] = [{k: v for k, v in entry.items() if k not in FILE_DEPENDENT_KEYS}]
    return doc


def find_artifact(manifest: Mapping[str, Any], recipe: str) -> dict[str, Any]:
    for entry in manifest.get("artifacts", []):
        if entry.get("recipe") == recipe:
            return entry
    known = ", ".join(e.get("recipe", "?") for e in manifest.get("artifacts", [])) or "none"
    raise MobileSDKError(f"manifest has no artifact for recipe '{recipe}' (has: {known})")


def validate(doc: Any, source: str) -> dict[str, Any]:
    """Check the parts every consumer relies on; one-line errors naming the source and the key."""
    if not isinstance(doc, dict):
        raise MobileSDKError(f"{source}: not a mobilesdk manifest (expected a JSON object)")
    if doc.get("schema") != SCHEMA:
        raise MobileSDKError(f"{source}: not a mobilesdk manifest (schema is {doc.get('schema')!r})")
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise MobileSDKError(
            f"{source}: manifest schema_version {doc.get('schema_version')!r} is not supported "
            f"(this mobilesdk reads {SCHEMA_VERSION})"
        )
    for key in ("model", "codec", "keypoints", "artifacts"):
        if key not in doc:
            raise MobileSDKError(f"{source}: manifest key '{key}' is missing")
    for i, entry in enumerate(doc["artifacts"]):
        for key in ("recipe", "runtime", "input", "outputs"):
            if key not in entry:
                raise MobileSDKError(f"{source}: manifest key 'artifacts[{i}].{key}' is missing")
    return doc


_NUMBER_LIST = re.compile(r"\[\s+(-?[\d.eE+-]+(?:,\s+-?[\d.eE+-]+)*)\s+\]")


def dumps(doc: Mapping[str, Any]) -> str:
    """Indented JSON with short number lists (shapes, pairs, mean/std) kept on one line."""
    text = json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False)
    return (
        _NUMBER_LIST.sub(lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(",")) + "]", text)
        + "\n"
    )


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MobileSDKError(f"{path}: no manifest here") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MobileSDKError(f"{path}: manifest is not valid JSON ({exc})") from None
    return validate(doc, str(path))


def read_embedded(artifact: Path) -> dict[str, Any]:
    """The manifest embedded in a .pte or .tflite file, from the file alone."""
    artifact = Path(artifact)
    if not artifact.is_file():
        raise MobileSDKError(f"{artifact}: no such artifact")
    if artifact.suffix == ".pte":
        from mobilesdk.export.executorch import read_executorch_metadata

        raw = read_executorch_metadata(artifact).get(EMBED_KEY)
    elif artifact.suffix == ".tflite":
        from mobilesdk.export.litert import read_litert_metadata

        value = read_litert_metadata(artifact).get(EMBED_KEY)
        raw = value.decode("utf-8") if isinstance(value, bytes) else value
    else:
        raise MobileSDKError(f"{artifact}: not an artifact (expected .pte or .tflite)")
    if raw is None:
        raise MobileSDKError(f"{artifact}: no embedded mobilesdk manifest (was it built by mobilesdk?)")
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise MobileSDKError(f"{artifact}: embedded manifest is not valid JSON ({exc})") from None
    return validate(doc, f"{artifact} (embedded)")
