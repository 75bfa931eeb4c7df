"""Model cards: the YAML data files in ``models/`` that describe one deployable pose model.

A card is parsed once, validated with precise errors (file, key, what was expected) and passed down explicitly
as a frozen :class:`Card`. Loading a card imports neither torch nor any runtime.

Schema (see docs/cards.md for the user-facing description)::

    id: movepose-xs                    # kebab-case, unique in the zoo
    family: movepose                   # free text; "custom" for user models
    title: MovePose XS
    paper: {title: ..., url: ...}      # optional
    architecture:
      name: movepose                   # a registered architecture ...
      entry: my_model.py:MyNet         # ... or a user class (file relative to the card, or module:Class)
      hparams: {...}                   # passed to the constructor
      reconstructed: true              # true when the layer table is not published and was designed by us
      notes: free text                 # where the design comes from, gaps to the paper
    input:
      size: {width: 256, height: 256}
      color: rgb                       # rgb | bgr
      mean: [123.675, 116.28, 103.53]  # on the 0..255 scale, in the color order above
      std: [58.395, 57.12, 57.375]
      resize: affine                   # affine (top-down crop) | letterbox | stretch
      roi_padding: 1.25                # affine: a person box is enlarged by this factor (default 1.25)
    codec: {name: simcc, params: {...}}
    keypoints: coco-17                 # a preset in models/keypoints/, or a mapping with names/skeleton/flip_pairs
    published: [{metric: ..., value: ..., unit: ..., source: ..., note: ...}]
    cost: {params: 123, macs: 456}     # our measured figures (conv/linear MACs); a test keeps them true
    quantization: {int8_mean_px: 2.0}  # mean keypoint-drift budget (input px) for int8 artifacts
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mobilesdk.errors import CardError, UnknownModelError

ZOO_DIR = Path(__file__).resolve().parent.parent / "models"
KEYPOINT_PRESET_DIR = ZOO_DIR / "keypoints"

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*[a-z0-9]$")
COLOR_ORDERS = ("rgb", "bgr")
RESIZE_MODES = ("affine", "letterbox", "stretch")
ROI_PADDING_DEFAULT, ROI_PADDING_RANGE = 1.25, (1.0, 4.0)  # MMPose/HRNet enlarge a detector's box by 1.25


@dataclass(frozen=True)
class Size:
    width: int
    height: int

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"

    def as_dict(self) -> dict[str, int]:
        return {"width": self.width, "height": self.height}


@dataclass(frozen=True)
class ArchitectureSpec:
    name: str | None  # registry key, or None for a user class
    entry: str | None  # "file.py:Class" or "package.module:Class" for user models
    hparams: Mapping[str, Any]
    reconstructed: bool
    notes: str


@dataclass(frozen=True)
class InputSpec:
    size: Size
    color: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    resize: str
    roi_padding: float = ROI_PADDING_DEFAULT  # `affine` crops of a person box grow it by this factor


@dataclass(frozen=True)
class CodecSpec:
    name: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class KeypointSpec:
    preset: str | None
    names: tuple[str, ...]
    skeleton: tuple[tuple[int, int], ...]
    flip_pairs: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Figure:
    """One figure published in a paper, kept verbatim with its source."""

    metric: str
    value: float
    unit: str
    source: str
    note: str = ""


@dataclass(frozen=True)
class Cost:
    params: int
    macs: int

    @property
    def gflops(self) -> float:
        """GFLOPs in the HRNet/SimCC convention: conv and linear multiply-accumulates, in 1e9."""
        return self.macs / 1e9


@dataclass(frozen=True)
class QuantizationBudget:
    int8_mean_px: float = 2.0


@dataclass(frozen=True)
class Card:
    id: str
    family: str
    title: str
    path: Path
    sha256: str
    architecture: ArchitectureSpec
    input: InputSpec
    codec: CodecSpec
    keypoints: KeypointSpec
    published: tuple[Figure, ...] = ()
    cost: Cost | None = None
    quantization: QuantizationBudget = field(default_factory=QuantizationBudget)
    paper: Mapping[str, str] = field(default_factory=dict)

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoints.names)

    def published_figure(self, metric: str) -> Figure | None:
        return next((f for f in self.published if f.metric == metric), None)


class _Reader:
    """Walks a parsed YAML mapping and raises CardError naming the file, the dotted key and the expectation."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, key: str, expected: str, got: Any = None, *, show_got: bool = True) -> CardError:
        where = f"{self.path}: key '{key}'" if key else str(self.path)
        got_text = f", got {got!r}" if show_got else ""
        return CardError(f"{where}: expected {expected}{got_text}")

    def mapping(self, data: Any, key: str) -> Mapping[str, Any]:
        if not isinstance(data, Mapping):
            raise self.fail(key, "a mapping", type(data).__name__)
        return data

    def only(self, data: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> None:
        for k in data:
            if k not in allowed:
                hint = difflib.get_close_matches(str(k), allowed, n=1)
                hint_text = f" (did you mean '{hint[0]}'?)" if hint else ""
                where = f"{key}.{k}" if key else str(k)
                raise self.fail(where, f"one of {', '.join(allowed)}{hint_text}", show_got=False)

    def get(
        self, data: Mapping[str, Any], key: str, name: str, default: Any = ..., *, kind: type | tuple = object
    ):
        full = f"{key}.{name}" if key else name
        if name not in data:
            if default is ...:
                raise self.fail(full, "to be present", show_got=False)
            return default
        value = data[name]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind in (int, float) and isinstance(value, bool)):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail(full, f"a {names}", value)
        return value

    def positive_int(self, data: Mapping[str, Any], key: str, name: str) -> int:
        value = self.get(data, key, name, kind=int)
        if value <= 0:
            raise self.fail(f"{key}.{name}", "a positive integer", value)
        return value

    def triple(
        self, data: Mapping[str, Any], key: str, name: str, *, positive: bool
    ) -> tuple[float, float, float]:
        value = self.get(data, key, name, kind=list)
        ok = len(value) == 3 and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        if not ok or (positive and any(v <= 0 for v in value)):
            kind = "positive numbers" if positive else "numbers"
            raise self.fail(f"{key}.{name}", f"a list of 3 {kind} (one per color channel)", value)
        return tuple(float(v) for v in value)

    def choice(
        self, data: Mapping[str, Any], key: str, name: str, choices: tuple[str, ...], default: Any = ...
    ):
        value = self.get(data, key, name, default, kind=str)
        if value not in choices:
            raise self.fail(f"{key}.{name}", f"one of {', '.join(choices)}", value)
        return value


def _read_yaml(path: Path) -> Any:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CardError(f"{path}: card file not found") from None
    except UnicodeDecodeError as exc:
        raise CardError(f"{path}: not UTF-8 text (byte {exc.start}); save the card as UTF-8") from None
    except OSError as exc:
        raise CardError(f"{path}: cannot read card: {exc.strerror}") from None
    try:
        return yaml.safe_load(text), text
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise CardError(f"{path}: invalid YAML{where}: {problem}") from None


def _pairs(r: _Reader, value: Any, key: str, n: int) -> tuple[tuple[int, int], ...]:
    if not isinstance(value, list):
        raise r.fail(key, "a list of [i, j] index pairs", value)
    out = []
    for i, pair in enumerate(value):
        ok = (
            isinstance(pair, list)
            and len(pair) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in pair)
        )
        if not ok:
            raise r.fail(f"{key}[{i}]", "a pair [i, j] of keypoint indices", pair)
        if not all(0 <= v < n for v in pair) or pair[0] == pair[1]:
            raise r.fail(f"{key}[{i}]", f"two different keypoint indices in 0..{n - 1}", pair)
        out.append((pair[0], pair[1]))
    return tuple(out)


def _keypoints(r: _Reader, value: Any, key: str = "keypoints") -> KeypointSpec:
    preset = None
    if isinstance(value, str):
        preset = value
        path = KEYPOINT_PRESET_DIR / f"{value}.yaml"
        if not path.is_file():
            known = sorted(p.stem for p in KEYPOINT_PRESET_DIR.glob("*.yaml"))
            raise r.fail(key, f"a keypoint preset ({', '.join(known)}) or a mapping", value)
        data, _ = _read_yaml(path)
        r = _Reader(path)
        key = ""
        value = data
    data = r.mapping(value, key)
    r.only(data, key, ("names", "skeleton", "flip_pairs"))
    names = r.get(data, key, "names", kind=list)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise r.fail(f"{key}.names".lstrip("."), "a non-empty list of keypoint names", names)
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise r.fail(f"{key}.names".lstrip("."), "unique keypoint names", dup)
    n = len(names)
    skeleton = _pairs(r, r.get(data, key, "skeleton", [], kind=list), f"{key}.skeleton".lstrip("."), n)
    flips = _pairs(r, r.get(data, key, "flip_pairs", [], kind=list), f"{key}.flip_pairs".lstrip("."), n)
    seen: set[int] = set()
    for i, (a, b) in enumerate(flips):
        if a in seen or b in seen:
            raise r.fail(
                f"{key}.flip_pairs[{i}]".lstrip("."), "each keypoint in at most one flip pair", [a, b]
            )
        seen.update((a, b))
    return KeypointSpec(preset=preset, names=tuple(names), skeleton=skeleton, flip_pairs=flips)


def _architecture(r: _Reader, data: Mapping[str, Any]) -> ArchitectureSpec:
    from mobilesdk.archs import ARCHITECTURES

    key = "architecture"
    r.only(data, key, ("name", "entry", "hparams", "reconstructed", "notes"))
    name = r.get(data, key, "name", None, kind=str)
    entry = r.get(data, key, "entry", None, kind=str)
    if (name is None) == (entry is None):
        raise r.fail(
            key, "exactly one of 'name' (a registered architecture) or 'entry' (module:Class)", dict(data)
        )
    if name is not None and name not in ARCHITECTURES:
        hint = difflib.get_close_matches(name, ARCHITECTURES, n=1)
        suffix = f" (did you mean '{hint[0]}'?)" if hint else ""
        raise r.fail(
            f"{key}.name", f"a registered architecture: {', '.join(sorted(ARCHITECTURES))}{suffix}", name
        )
    if entry is not None and entry.count(":") != 1:
        raise r.fail(f"{key}.entry", "'path/to/file.py:ClassName' or 'package.module:ClassName'", entry)
    hparams = r.mapping(r.get(data, key, "hparams", {}, kind=dict), f"{key}.hparams")
    return ArchitectureSpec(
        name=name,
        entry=entry,
        hparams=dict(hparams),
        reconstructed=r.get(data, key, "reconstructed", False, kind=bool),
        notes=r.get(data, key, "notes", "", kind=str).strip(),
    )


def _input(r: _Reader, data: Mapping[str, Any]) -> InputSpec:
    key = "input"
    r.only(data, key, ("size", "color", "mean", "std", "resize", "roi_padding"))
    size = r.mapping(r.get(data, key, "size", kind=dict), f"{key}.size")
    r.only(size, f"{key}.size", ("width", "height"))
    return InputSpec(
        size=Size(
            r.positive_int(size, f"{key}.size", "width"), r.positive_int(size, f"{key}.size", "height")
        ),
        color=r.choice(data, key, "color", COLOR_ORDERS, "rgb"),
        mean=r.triple(data, key, "mean", positive=False),
        std=r.triple(data, key, "std", positive=True),
        resize=r.choice(data, key, "resize", RESIZE_MODES, "affine"),
        roi_padding=_roi_padding(r, data, key),
    )


def is_budget(value: Any) -> bool:
    """A keypoint-drift budget is a finite number > 0 (px): NaN, inf, 0 or negative would switch a gate off.
    The one rule for cards, ``--int8-budget-px`` and the library's ``int8_mean_px``."""
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < float("inf")


def _budget(r: _Reader, data: Mapping[str, Any]) -> float:
    value = r.get(data, "quantization", "int8_mean_px", 2.0, kind=float)
    if not is_budget(value):
        raise r.fail("quantization.int8_mean_px", "a finite number > 0 (px)", value)
    return value


def _roi_padding(r: _Reader, data: Mapping[str, Any], key: str) -> float:
    value = r.get(data, key, "roi_padding", ROI_PADDING_DEFAULT, kind=float)
    lo, hi = ROI_PADDING_RANGE
    if not lo <= value <= hi:
        raise r.fail(f"{key}.roi_padding", "a number between 1 and 4 (box enlargement factor)", value)
    return value


def _figures(r: _Reader, value: Any) -> tuple[Figure, ...]:
    if not isinstance(value, list):
        raise r.fail("published", "a list of figures {metric, value, unit, source}", value)
    out = []
    for i, item in enumerate(value):
        key = f"published[{i}]"
        item = r.mapping(item, key)
        r.only(item, key, ("metric", "value", "unit", "source", "note"))
        out.append(
            Figure(
                metric=r.get(item, key, "metric", kind=str),
                value=r.get(item, key, "value", kind=float),
                unit=r.get(item, key, "unit", "", kind=str),
                source=r.get(item, key, "source", kind=str),
                note=r.get(item, key, "note", "", kind=str),
            )
        )
    return tuple(out)


_TOP_KEYS = (
    "id",
    "family",
    "title",
    "paper",
    "architecture",
    "input",
    "codec",
    "keypoints",
    "published",
    "cost",
    "quantization",
)


def load_card(path: str | Path) -> Card:
    """Read and validate one card file. Raises CardError with the file, the key and what was expected."""
    from mobilesdk.codecs import build_codec
    from mobilesdk.errors import CodecError

    path = Path(path)
    raw, text = _read_yaml(path)
    r = _Reader(path)
    data = r.mapping(raw, "")
    r.only(data, "", _TOP_KEYS)
    card_id = r.get(data, "", "id", kind=str)
    if not _ID_RE.match(card_id):
        raise r.fail("id", "a kebab-case id (lowercase letters, digits, '-')", card_id)
    codec_data = r.mapping(r.get(data, "", "codec", kind=dict), "codec")
    r.only(codec_data, "codec", ("name", "params"))
    codec = CodecSpec(
        name=r.get(codec_data, "codec", "name", kind=str),
        params=dict(r.mapping(r.get(codec_data, "codec", "params", {}, kind=dict), "codec.params")),
    )
    cost = None
    if "cost" in data:
        c = r.mapping(data["cost"], "cost")
        r.only(c, "cost", ("params", "macs"))
        cost = Cost(params=r.positive_int(c, "cost", "params"), macs=r.positive_int(c, "cost", "macs"))
    q = r.mapping(r.get(data, "", "quantization", {}, kind=dict), "quantization")
    r.only(q, "quantization", ("int8_mean_px",))
    paper = r.mapping(r.get(data, "", "paper", {}, kind=dict), "paper")
    card = Card(
        id=card_id,
        family=r.get(data, "", "family", "custom", kind=str),
        title=r.get(data, "", "title", card_id, kind=str),
        path=path,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        architecture=_architecture(r, r.mapping(r.get(data, "", "architecture", kind=dict), "architecture")),
        input=_input(r, r.mapping(r.get(data, "", "input", kind=dict), "input")),
        codec=codec,
        keypoints=_keypoints(r, r.get(data, "", "keypoints")),
        published=_figures(r, r.get(data, "", "published", [], kind=list)),
        cost=cost,
        quantization=QuantizationBudget(int8_mean_px=_budget(r, q)),
        paper={str(k): str(v) for k, v in paper.items()},
    )
    try:  # the codec validates its own parameters against the card's geometry
        build_codec(codec.name, card.input.size.as_dict(), card.num_keypoints, codec.params)
    except CodecError as exc:
        raise CardError(f"{path}: key 'codec': {exc}") from None
    return card


def zoo_card_paths() -> list[Path]:
    return sorted(ZOO_DIR.glob("*.yaml"))


def zoo_ids() -> list[str]:
    return [p.stem for p in zoo_card_paths()]


def load_zoo() -> list[Card]:
    """Every card shipped in models/. The file name must equal the card id."""
    cards = []
    for path in zoo_card_paths():
        card = load_card(path)
        if card.id != path.stem:
            raise CardError(f"{path}: key 'id': expected '{path.stem}' (the file name), got '{card.id}'")
        cards.append(card)
    return cards


def resolve_card(model_id: str | None = None, card_path: str | Path | None = None) -> Card:
    """The card for ``--model ID`` or ``--card PATH`` (exactly one of them)."""
    if card_path is not None:
        card = load_card(card_path)
        if model_id is not None and model_id != card.id:
            raise CardError(f"{card_path}: key 'id': expected '{model_id}' (from --model), got '{card.id}'")
        return card
    if model_id is None:
        raise UnknownModelError("no model given: pass --model ID (see `mobilesdk models`) or --card PATH")
    ids = zoo_ids()
    if model_id not in ids:
        close = difflib.get_close_matches(model_id, ids, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known ids: {', '.join(ids)}"
        raise UnknownModelError(f"unknown model '{model_id}'{hint}")
    return load_card(ZOO_DIR / f"{model_id}.yaml")
