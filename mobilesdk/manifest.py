"""The manifest: the one contract between an artifact and everything that consumes it (verify, bench, codegen,
the native core, the Kotlin runtime).

``dist/<id>/manifest.json`` (schema ``mobilesdk-manifest`` version 1)::

    {
      "schema": "mobilesdk-manifest", "schema_version": 1,
      "model":     {id, title, family, architecture, hparams, reconstructed, card, card_sha256, fingerprint,
                    weights: "checkpoint" | "random", checkpoint: {file, sha256} | null},
      "codec":     {name, params, visibility: {a, b}},   # decoding contract (see mobilesdk/codecs); visibility
                                                          # optional (older manifests: the codec's default)
      "keypoints": {names, skeleton, flip_pairs},
      "tools":     {mobilesdk, torch, executorch, litert_torch, ai_edge_litert, python},
      "artifacts": [                                      # one per recipe; runtimes side by side
        {recipe, runtime, precision, file, sha256, bytes,
         input:   {name, shape, layout, dtype, color, mean, std, normalization: "app" | "in-graph",
                   size: {width, height}, resize, roi_padding},
         outputs: [{name, shape, dtype, role}],           # role = the codec output it feeds
         quantization: {mode, keep_float: [...], weight_only: [...], calibration: {source, kind, count}} | null,
         lowering: {...},                                 # delegate report (ExecuTorch) / op counts (LiteRT), rewrites
         parity: {...},                                   # the verification that accepted the file
         cache_key, built_at}
      ]
    }

``model.fingerprint`` is the one definition of "the same model" (resolved card, architecture source, weights):
artifacts of other recipes are kept side by side only when it matches, and it is part of every cache key.

The same document, restricted to one artifact and without the fields that depend on the finished file
(:data:`FILE_DEPENDENT_KEYS`), is embedded in the artifact itself under :data:`EMBED_KEY`, so an artifact
carries its own contract: ExecuTorch ``.pte`` as a constant method, LiteRT ``.tflite`` as a metadata buffer.

Reading validates every field a consumer relies on (types, enums, shapes, a ``file`` that stays inside the
build folder) and raises :class:`ManifestError` with the source and the key; :class:`Manifest` and
:class:`ArtifactEntry` are the typed views the rest of the code uses.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from mobilesdk import __version__
from mobilesdk.cards import RESIZE_MODES, ROI_PADDING_DEFAULT, ROI_PADDING_RANGE
from mobilesdk.errors import MobileSDKError
from mobilesdk.export import EMBED_KEY
from mobilesdk.export.recipes import DTYPES, LAYOUTS

SCHEMA = "mobilesdk-manifest"
SCHEMA_VERSION = 1
MANIFEST_FILE = "manifest.json"
FILE_DEPENDENT_KEYS = ("file", "sha256", "bytes", "lowering", "parity", "built_at")


class ManifestError(MobileSDKError):
    """A manifest (file or embedded) is missing, malformed or does not describe what it claims."""


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
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError as exc:
        raise MobileSDKError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return h.hexdigest()


# ---- typed views -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InputEntry:
    """What the artifact takes. ``mean``/``std`` on the 0..255 scale in ``color`` order; ``normalization``
    "app" (the caller feeds (x - mean) / std) or "in-graph" (uint8 pixels, the graph normalises)."""

    name: str
    shape: tuple[int, ...]
    layout: str
    dtype: str
    color: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    normalization: str
    size: dict[str, int]
    resize: str
    roi_padding: float = 1.25

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "shape": list(self.shape),
            "layout": self.layout,
            "dtype": self.dtype,
            "color": self.color,
            "mean": list(self.mean),
            "std": list(self.std),
            "normalization": self.normalization,
            "size": dict(self.size),
            "resize": self.resize,
            "roi_padding": self.roi_padding,
        }


@dataclass(frozen=True)
class OutputEntry:
    name: str
    shape: tuple[int, ...]
    dtype: str
    role: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype, "role": self.role}


@dataclass(frozen=True)
class ArtifactEntry:
    """One artifact of a build. File-dependent fields are ``None`` in an embedded manifest."""

    recipe: str
    runtime: str
    precision: str
    input: InputEntry
    outputs: tuple[OutputEntry, ...]
    quantization: dict[str, Any] | None = None
    cache_key: str | None = None
    file: str | None = None
    sha256: str | None = None
    bytes: int | None = None
    lowering: dict[str, Any] = field(default_factory=dict)
    parity: dict[str, Any] | None = None
    built_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "recipe": self.recipe,
            "runtime": self.runtime,
            "precision": self.precision,
            "input": self.input.to_json(),
            "outputs": [o.to_json() for o in self.outputs],
            "quantization": self.quantization,
            "cache_key": self.cache_key,
        }
        if self.file is not None:
            doc.update({key: getattr(self, key) for key in FILE_DEPENDENT_KEYS})
        return doc

    def embedded(self) -> ArtifactEntry:
        """Without the fields that depend on the finished file (:data:`FILE_DEPENDENT_KEYS`)."""
        return replace(self, **{key: {} if key == "lowering" else None for key in FILE_DEPENDENT_KEYS})


@dataclass(frozen=True)
class Manifest:
    model: dict[str, Any]
    codec: dict[str, Any]
    keypoints: dict[str, Any]
    tools: dict[str, str]
    artifacts: tuple[ArtifactEntry, ...] = ()

    @property
    def id(self) -> str:
        return self.model["id"]

    @property
    def fingerprint(self) -> str | None:
        return self.model.get("fingerprint")

    def artifact(self, recipe: str) -> ArtifactEntry:
        for entry in self.artifacts:
            if entry.recipe == recipe:
                return entry
        known = ", ".join(e.recipe for e in self.artifacts) or "none"
        raise ManifestError(f"manifest of '{self.id}' has no artifact for recipe '{recipe}' (has: {known})")

    def with_artifacts(self, artifacts) -> Manifest:
        return replace(self, artifacts=tuple(sorted(artifacts, key=lambda e: e.recipe)))

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "model": self.model,
            "codec": self.codec,
            "keypoints": self.keypoints,
            "tools": self.tools,
            "artifacts": [a.to_json() for a in self.artifacts],
        }

    def embedded(self, recipe: str) -> dict[str, Any]:
        """The document embedded in the artifact of ``recipe``: this manifest restricted to it, without file
        fields and without the builder's paths (card file, checkpoint file): an artifact shipped in an app
        must not carry someone's home directory. The checkpoint's sha256 stays."""
        model = {k: v for k, v in self.model.items() if k != "card"}
        if model.get("checkpoint"):
            model["checkpoint"] = {"sha256": model["checkpoint"].get("sha256")}
        return replace(self, model=model, artifacts=(self.artifact(recipe).embedded(),)).to_json()


# ---- validation ------------------------------------------------------------------------------------------


class _Check:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, expected: str, got: Any) -> ManifestError:
        return ManifestError(f"{self.source}: manifest key '{key}': expected {expected}, got {got!r}"[:400])

    def get(self, doc: Mapping[str, Any], key: str, name: str, kind, *, optional: bool = False, default=None):
        full = f"{key}.{name}" if key else name
        if name not in doc or doc[name] is None:
            if optional:
                return default
            raise ManifestError(f"{self.source}: manifest key '{full}' is missing")
        value = doc[name]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind in (int, float) and isinstance(value, bool)):
            raise self.fail(full, getattr(kind, "__name__", str(kind)), value)
        return value

    def choice(self, doc, key, name, choices, *, optional=False, default=None):
        value = self.get(doc, key, name, str, optional=optional, default=default)
        if value not in choices:
            raise self.fail(f"{key}.{name}", f"one of {', '.join(choices)}", value)
        return value

    def shape(self, doc, key, name) -> tuple[int, ...]:
        value = self.get(doc, key, name, list)
        if not value or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in value):
            raise self.fail(f"{key}.{name}", "a list of positive integers", value)
        return tuple(value)

    def triple(self, doc, key, name, *, positive: bool) -> tuple[float, float, float]:
        value = self.get(doc, key, name, list)
        ok = len(value) == 3 and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        if not ok or any(v != v or abs(v) == float("inf") for v in value) or (positive and min(value) <= 0):
            raise self.fail(f"{key}.{name}", "3 finite numbers" + (" > 0" if positive else ""), value)
        return tuple(float(v) for v in value)


_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")


def _input_entry(c: _Check, doc: Any, key: str) -> InputEntry:
    if not isinstance(doc, Mapping):
        raise c.fail(key, "a mapping", doc)
    size = c.get(doc, key, "size", dict)
    for side in ("width", "height"):
        c.get(size, f"{key}.size", side, int)
    layout = c.choice(doc, key, "layout", LAYOUTS)
    shape = c.shape(doc, key, "shape")
    w, h = size["width"], size["height"]
    want = (1, h, w, 3) if layout == "NHWC" else (1, 3, h, w)
    if shape != want:
        raise c.fail(f"{key}.shape", f"{list(want)} ({layout}, size {w}x{h})", list(shape))
    padding = c.get(doc, key, "roi_padding", float, optional=True, default=ROI_PADDING_DEFAULT)
    lo, hi = ROI_PADDING_RANGE
    if not lo <= padding <= hi:
        raise c.fail(f"{key}.roi_padding", "a number in [1, 4]", padding)
    return InputEntry(
        name=c.get(doc, key, "name", str),
        shape=shape,
        layout=layout,
        dtype=c.choice(doc, key, "dtype", DTYPES),
        color=c.choice(doc, key, "color", ("rgb", "bgr")),
        mean=c.triple(doc, key, "mean", positive=False),
        std=c.triple(doc, key, "std", positive=True),
        normalization=c.choice(doc, key, "normalization", ("app", "in-graph")),
        size={"width": w, "height": h},
        resize=c.choice(doc, key, "resize", RESIZE_MODES),
        roi_padding=padding,
    )


def _artifact(c: _Check, doc: Any, key: str, embedded: bool) -> ArtifactEntry:
    if not isinstance(doc, Mapping):
        raise c.fail(key, "a mapping", doc)
    outputs = c.get(doc, key, "outputs", list)
    if not outputs:
        raise c.fail(f"{key}.outputs", "at least one output", outputs)
    outs = []
    for j, o in enumerate(outputs):
        k = f"{key}.outputs[{j}]"
        if not isinstance(o, Mapping):
            raise c.fail(k, "a mapping", o)
        outs.append(
            OutputEntry(
                c.get(o, k, "name", str),
                c.shape(o, k, "shape"),
                c.get(o, k, "dtype", str),
                c.get(o, k, "role", str),
            )
        )
    file = c.get(doc, key, "file", str, optional=embedded)
    if file is not None and (not _FILE_NAME.match(file) or file in (".", "..")):
        raise c.fail(f"{key}.file", "a plain file name inside the build folder", file)
    size = c.get(doc, key, "bytes", int, optional=embedded)
    return ArtifactEntry(
        recipe=c.get(doc, key, "recipe", str),
        runtime=c.get(doc, key, "runtime", str),
        precision=c.get(doc, key, "precision", str, optional=True, default="fp32"),
        input=_input_entry(c, c.get(doc, key, "input", dict), f"{key}.input"),
        outputs=tuple(outs),
        quantization=c.get(doc, key, "quantization", dict, optional=True),
        cache_key=c.get(doc, key, "cache_key", str, optional=True),
        file=file,
        sha256=c.get(doc, key, "sha256", str, optional=embedded),
        bytes=size,
        lowering=c.get(doc, key, "lowering", dict, optional=True, default={}),
        parity=c.get(doc, key, "parity", dict, optional=True),
        built_at=c.get(doc, key, "built_at", str, optional=True),
    )


def from_json(doc: Any, source: str, *, embedded: bool = False) -> Manifest:
    """Validate a parsed manifest document; ``embedded`` documents have no file-dependent fields."""
    c = _Check(source)
    if not isinstance(doc, dict):
        raise ManifestError(f"{source}: not a mobilesdk manifest (expected a JSON object)")
    if doc.get("schema") != SCHEMA:
        raise ManifestError(f"{source}: not a mobilesdk manifest (schema is {doc.get('schema')!r})")
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise ManifestError(
            f"{source}: manifest schema_version {doc.get('schema_version')!r} is not supported "
            f"(this mobilesdk reads {SCHEMA_VERSION})"
        )
    model = c.get(doc, "", "model", dict)
    c.get(model, "model", "id", str)
    codec = c.get(doc, "", "codec", dict)
    c.get(codec, "codec", "name", str)
    c.get(codec, "codec", "params", dict)
    if codec.get("visibility") is not None:
        from mobilesdk.codecs.visibility import parse_params
        from mobilesdk.errors import CodecError

        try:
            parse_params("codec.visibility", codec["visibility"])
        except CodecError as exc:
            raise ManifestError(f"{source}: manifest key {exc}") from None
    keypoints = c.get(doc, "", "keypoints", dict)
    names = c.get(keypoints, "keypoints", "names", list)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise c.fail("keypoints.names", "a non-empty list of names", names)
    artifacts = c.get(doc, "", "artifacts", list)
    entries = tuple(_artifact(c, a, f"artifacts[{i}]", embedded) for i, a in enumerate(artifacts))
    if embedded and len(entries) != 1:
        raise ManifestError(
            f"{source}: an embedded manifest describes exactly one artifact, got {len(entries)}"
        )
    return Manifest(
        model=dict(model),
        codec=dict(codec),
        keypoints=dict(keypoints),
        tools=dict(doc.get("tools") or {}),
        artifacts=entries,
    )


_NUMBER_LIST = re.compile(r"\[\s+(-?[\d.eE+-]+(?:,\s+-?[\d.eE+-]+)*)\s+\]")


def dumps(doc: Mapping[str, Any]) -> str:
    """Indented JSON with short number lists (shapes, pairs, mean/std) kept on one line."""
    text = json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False, allow_nan=False)
    return (
        _NUMBER_LIST.sub(lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(",")) + "]", text)
        + "\n"
    )


def parse(text: str | bytes, source: str, *, embedded: bool = False) -> Manifest:
    try:
        doc = json.loads(text)
    except UnicodeDecodeError:
        raise ManifestError(f"{source}: manifest is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{source}: manifest is not valid JSON ({exc})") from None
    except RecursionError:
        raise ManifestError(f"{source}: manifest is nested too deeply") from None
    return from_json(doc, source, embedded=embedded)


def read_manifest(path: Path) -> Manifest:
    """``manifest.json`` of a build directory (or the file itself)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ManifestError(f"{path}: no manifest here") from None
    except IsADirectoryError:
        raise ManifestError(f"{path}: is a directory, not a manifest") from None
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return parse(data, str(path))


def read_embedded(artifact: Path) -> Manifest:
    """The manifest embedded in a ``.pte`` or ``.tflite`` file, from the file alone."""
    from mobilesdk.runtimes import runtime_for_file

    artifact = Path(artifact)
    if not artifact.is_file():
        raise ManifestError(f"{artifact}: no such artifact")
    raw = runtime_for_file(artifact).read_metadata(artifact).get(EMBED_KEY)
    if raw is None:
        raise ManifestError(f"{artifact}: no embedded mobilesdk manifest (was it built by mobilesdk?)")
    return parse(raw, f"{artifact} (embedded)", embedded=True)
