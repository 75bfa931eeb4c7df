"""`mobilesdk predict`: a built model on a person's own photos -> named keypoints in image pixels.

A model is a build directory (``manifest.json``; one recipe of it) or a single ``.pte``/``.tflite`` built by
mobilesdk (its embedded manifest). Per image:

1. decode (Pillow) and apply the EXIF orientation (phones store photos rotated and say so in EXIF): the
   **upright** picture, (H, W, 3) uint8 RGB, is what keypoints, ROIs and overlays refer to;
2. crop to the model input exactly as :mod:`mobilesdk.preprocess` defines it (the whole picture, or a person
   box ``roi`` padded by the artifact's ``roi_padding``), run the artifact, decode with the manifest's codec,
   map back to upright-picture pixels with the inverse crop (:func:`~mobilesdk.preprocess.keypoints_to_frame`).

Two engines do step 2: ``python`` (the host runtimes of :mod:`mobilesdk.runtimes` and the numpy codecs, as
verification uses them) and ``native`` (``mobilesdk-runner``: the C++ core an app runs). The runner decodes
images with stb_image, which neither reads EXIF nor decodes JPEG bit-exactly like libjpeg, so it is handed the
upright pixels Pillow decoded, as a lossless PNG: both engines see identical pixels and agree to float rounding
(measured: <= 2e-6 px on SimCC, <= 3e-5 px on integral-3d). The exception is an exact tie between two arg-max
bins, which a flat black border (a non-square picture padded to a square input) can produce: the C++ crop
rounds differently in the last bit, and the tie may break the other way (seen once: 3.75 px, a weak keypoint).

Shapes: K keypoints; ``xy`` (K, 2) float64 upright-picture pixels (index convention: pixel (row i, col j) is
the point (x=j, y=i)); ``scores`` (K,) on the codec's scale; ``visibility`` (K,) the calibrated probability
that the keypoint is visible (:mod:`mobilesdk.codecs.visibility`; ``visible`` = visibility >= 0.5 for every
codec); ``z`` (K,) depth-grid units (integral-3d only).
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mobilesdk.errors import MobileSDKError, first_line

if TYPE_CHECKING:
    from mobilesdk.manifest import ArtifactEntry, Manifest

ENGINES = ("python", "native")
EXIF_ORIENTATION = 0x0112
ORIENTATIONS = {  # EXIF Orientation tag -> what makes the stored pixels upright
    1: "none",
    2: "mirror horizontally",
    3: "rotate 180°",
    4: "mirror vertically",
    5: "mirror + rotate 90° CCW",
    6: "rotate 90° CW",
    7: "mirror + rotate 90° CW",
    8: "rotate 90° CCW",
}
_NUMBER = r"\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*"
_ROI = re.compile(rf"^{_NUMBER},{_NUMBER},{_NUMBER},{_NUMBER}$")


class PredictError(MobileSDKError):
    """An image, ROI, model or engine that ``predict`` cannot use."""


# ---- the model -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelChoice:
    """The artifact to run and its contract: ``manifest`` (a build's, or the file's embedded one) and its
    ``entry`` for the chosen recipe."""

    path: Path
    manifest: Manifest
    entry: ArtifactEntry

    @property
    def names(self) -> list[str]:
        return list(self.manifest.keypoints["names"])

    @property
    def skeleton(self) -> list[tuple[int, int]]:
        """The manifest's limbs (K-index pairs); anything else in the list is skipped, not drawn."""
        k = len(self.names)
        edges = self.manifest.keypoints.get("skeleton") or []
        pairs = [e for e in edges if isinstance(e, list | tuple) and len(e) == 2]
        return [(a, b) for a, b in pairs if all(isinstance(i, int) and 0 <= i < k for i in (a, b))]

    @property
    def random_weights(self) -> bool:
        """True when the build had no checkpoint: the network's outputs carry no information."""
        model = self.manifest.model
        return model.get("weights") == "random" or (
            model.get("weights") is None and not model.get("checkpoint")
        )

    @property
    def is_3d(self) -> bool:
        return self.manifest.codec["name"] == "integral-3d"

    def codec(self):
        from mobilesdk.codecs import build_codec

        return build_codec(
            self.manifest.codec["name"],
            self.entry.input.size,
            len(self.names),
            self.manifest.codec.get("params") or {},
            self.manifest.codec.get("visibility"),
        )

    def input_spec(self):
        from mobilesdk.cards import InputSpec, Size

        e = self.entry.input
        return InputSpec(
            size=Size(e.size["width"], e.size["height"]),
            color=e.color,
            mean=e.mean,
            std=e.std,
            resize=e.resize,
            roi_padding=e.roi_padding,
        )


def _default_recipe(manifest: Manifest) -> ArtifactEntry:
    """The first fp32 artifact (manifest order), else the first."""
    if not manifest.artifacts:
        raise PredictError(f"the manifest of '{manifest.id}' lists no artifacts")
    return next((e for e in manifest.artifacts if e.precision == "fp32"), manifest.artifacts[0])


def resolve_model(target: Path, recipe: str | None = None) -> ModelChoice:
    """A build directory (``recipe``, default the first fp32 artifact) or one ``.pte``/``.tflite`` built by
    mobilesdk. The artifact of a build must be the one its manifest lists (sha256)."""
    from mobilesdk import manifest as mf

    target = Path(target)
    if not target.exists():
        raise PredictError(f"{target}: no such build directory or model file")
    if target.is_dir():
        if not (target / mf.MANIFEST_FILE).is_file():
            raise PredictError(f"{target}: not a mobilesdk build directory (no {mf.MANIFEST_FILE})")
        manifest = mf.read_manifest(target / mf.MANIFEST_FILE)
        entry = manifest.artifact(recipe) if recipe else _default_recipe(manifest)
        path = target / entry.file
        if not path.is_file():
            raise PredictError(f"{path}: listed in the manifest but missing")
        if entry.sha256 and mf.sha256_file(path) != entry.sha256:
            raise PredictError(f"{path}: changed since the build (sha256 differs from {mf.MANIFEST_FILE})")
        return ModelChoice(path, manifest, entry)
    manifest = mf.read_embedded(target)
    entry = manifest.artifacts[0]
    if recipe and recipe != entry.recipe:
        raise PredictError(f"{target}: is the '{entry.recipe}' artifact, not '{recipe}' (--recipe)")
    return ModelChoice(target, manifest, entry)


def visibility_threshold(choice: ModelChoice) -> float:
    """The visibility under which a keypoint counts as not visible: 0.5 for every codec (visibility is a
    calibrated probability, :mod:`mobilesdk.codecs.visibility`; the Kotlin runtime's default
    ``minKeypointScore``)."""
    from mobilesdk.codecs.visibility import DEFAULT_THRESHOLD

    return DEFAULT_THRESHOLD


# ---- images and ROIs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UprightImage:
    """A decoded image after its EXIF orientation: ``pixels`` (H, W, 3) uint8 RGB; ``orientation`` the EXIF
    Orientation tag that was applied (1 = none)."""

    path: Path
    pixels: np.ndarray
    orientation: int

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


def load_upright(path: Path) -> UprightImage:
    """Decode ``path`` completely (a truncated file is an error, not a grey bottom) and make it upright."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.exists():
        raise PredictError(f"{path}: no such image")
    if path.is_dir():
        raise PredictError(f"{path}: is a directory, not an image")
    try:
        with Image.open(path) as im:
            im.load()
            orientation = im.getexif().get(EXIF_ORIENTATION, 1)
            upright = ImageOps.exif_transpose(im)
            pixels = np.asarray(upright.convert("RGB"), dtype=np.uint8)
    except UnidentifiedImageError:
        raise PredictError(f"{path}: not an image (JPEG or PNG)") from None
    except Image.DecompressionBombError as exc:
        raise PredictError(f"{path}: {first_line(exc)}") from None
    except (OSError, SyntaxError, ValueError) as exc:  # truncated data, a broken chunk or EXIF block
        raise PredictError(f"{path}: not a readable image ({first_line(exc)})") from None
    if not isinstance(orientation, int) or orientation not in ORIENTATIONS:
        orientation = 1  # exif_transpose ignores anything else too
    return UprightImage(path, np.ascontiguousarray(pixels), orientation)


def parse_roi(text: str) -> tuple[float, float, float, float]:
    """``"l,t,r,b"`` -> 4 floats, held at float32 precision as the native core and Android's ``RectF`` hold
    them, so both engines crop the same box. Size and position are checked per image (:func:`check_roi`)."""
    if not isinstance(text, str) or not _ROI.match(text):
        raise PredictError(f"--roi {text!r}: expected left,top,right,bottom in pixels, e.g. 40,10,360,470")
    values = tuple(float(np.float32(v)) for v in text.split(","))
    if not all(math.isfinite(v) for v in values):
        raise PredictError(f"--roi {text!r}: every value must be a finite number")
    left, top, right, bottom = values
    if right <= left or bottom <= top:
        raise PredictError(f"--roi {text!r}: the box must have a positive size (right > left, bottom > top)")
    return values  # type: ignore[return-value]


def check_roi(roi: Sequence[float] | None, image: UprightImage) -> tuple[float, ...] | None:
    """``roi`` if it overlaps the upright picture; a one-line error naming the image otherwise."""
    if roi is None:
        return None
    left, top, right, bottom = roi
    if min(right, image.width) <= max(left, 0.0) or min(bottom, image.height) <= max(top, 0.0):
        box = ",".join(f"{v:g}" for v in roi)
        raise PredictError(
            f"--roi {box}: lies outside {image.path} ({image.width}x{image.height} upright"
            + (f", after EXIF orientation {image.orientation}" if image.orientation != 1 else "")
            + ")"
        )
    return tuple(roi)


# ---- predictions -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prediction:
    """Keypoints of one image (see the module docstring for shapes); ``matrix`` (2, 3) is the crop,
    upright-picture px -> model-input px."""

    image: Path
    width: int
    height: int
    orientation: int
    roi: tuple[float, ...] | None
    xy: np.ndarray
    scores: np.ndarray
    visibility: np.ndarray
    z: np.ndarray | None
    matrix: np.ndarray

    @property
    def pose_score(self) -> float:
        """Mean keypoint score (the native core's ``pose.score``)."""
        return float(np.mean(self.scores.astype(np.float64)))

    def to_json(self, choice: ModelChoice, engine: str) -> dict[str, Any]:
        keypoints = []
        for j, name in enumerate(choice.names):
            kp: dict[str, Any] = {"name": name, "x": float(self.xy[j, 0]), "y": float(self.xy[j, 1])}
            if self.z is not None:
                kp["z"] = float(self.z[j])
            kp["score"] = float(self.scores[j])
            kp["visibility"] = float(self.visibility[j])
            kp["visible"] = bool(self.visibility[j] >= visibility_threshold(choice))
            keypoints.append(kp)
        return {
            "image": str(self.image),
            "width": self.width,
            "height": self.height,
            "orientation_applied": self.orientation,
            # the float32 values both engines crop with, written shortest (30.3, not 30.299999237060547)
            "roi": None if self.roi is None else [float(str(np.float32(v))) for v in self.roi],
            "model": choice.manifest.id,
            "recipe": choice.entry.recipe,
            "runtime": choice.entry.runtime,
            "engine": engine,
            "random_weights": choice.random_weights,
            "visibility_threshold": visibility_threshold(choice),
            "keypoints": keypoints,
            "pose_score": self.pose_score,
        }


def model_input(choice: ModelChoice, image: UprightImage, roi) -> tuple[np.ndarray, np.ndarray]:
    """(model input (1, ...), crop matrix (2, 3)): :func:`mobilesdk.preprocess.preprocess` of an upright
    ``rgb`` frame, by its steps 3-6. Steps 1-2 are the identity on upright RGB bytes, and skipping them avoids
    three float64 copies of a whole photo (3.5 s -> 0.1 s on a 12 MP picture); tested equal."""
    from mobilesdk import preprocess as pp

    spec = choice.input_spec()
    matrix = pp.crop_matrix(spec, image.width, image.height, roi)
    warped = pp.warp_bilinear(image.pixels, matrix, spec.size.width, spec.size.height)
    return pp.to_model_input(warped, spec, choice.entry.input.layout, choice.entry.input.dtype), matrix


class PythonEngine:
    """The artifact on its host runtime (opened once), decoded by the numpy codec."""

    name = "python"

    def __init__(self, choice: ModelChoice, threads: int | None = None) -> None:
        from mobilesdk.runtimes import get_runtime

        self.choice = choice
        self.codec = choice.codec()
        self.session = get_runtime(choice.entry.runtime).open(choice.path, threads)

    def predict(self, image: UprightImage, roi) -> Prediction:
        from mobilesdk.preprocess import keypoints_to_frame

        x, matrix = model_input(self.choice, image, roi)
        outputs = self.session.run([x])
        roles = [o.role for o in self.choice.entry.outputs]
        kps = self.codec.decode(dict(zip(roles, outputs, strict=True)))
        return Prediction(
            image=image.path,
            width=image.width,
            height=image.height,
            orientation=image.orientation,
            roi=roi,
            xy=keypoints_to_frame(kps.xy[0], matrix),
            scores=kps.scores[0].astype(np.float64),
            visibility=kps.visibility[0],
            z=None if kps.z is None else kps.z[0].astype(np.float64),
            matrix=matrix,
        )

    def close(self) -> None:
        self.session.close()


class NativeEngine:
    """``mobilesdk-runner`` once per image on the upright pixels, written as a lossless PNG."""

    name = "native"

    def __init__(self, choice: ModelChoice, runner: Path, threads: int | None = None) -> None:
        self.choice = choice
        self.runner = Path(runner)
        self.threads = threads
        self._tmp = tempfile.TemporaryDirectory(prefix="mobilesdk-predict-")

    def predict(self, image: UprightImage, roi) -> Prediction:
        from PIL import Image

        from mobilesdk import preprocess as pp

        png = Path(self._tmp.name) / "upright.png"
        Image.fromarray(image.pixels, "RGB").save(png, compress_level=1)
        cmd = [str(self.runner), "--model", str(self.choice.path), "--image", str(png)]
        cmd += ["--warmup", "0", "--iterations", "1"]
        if self.threads:
            cmd += ["--threads", str(self.threads)]
        if roi is not None:
            cmd += ["--roi", ",".join(repr(float(v)) for v in roi)]
        result = self._run(cmd, image.path)
        kps = result.get("keypoints") or []
        names = self.choice.names
        if [k.get("name") for k in kps] != names:
            raise PredictError(
                f"mobilesdk-runner returned keypoints {[k.get('name') for k in kps]}, not {names}"
            )
        has_z = self.choice.is_3d and all(k.get("z") is not None for k in kps)
        scores = np.array([k["score"] for k in kps], dtype=np.float64)
        if all(k.get("visibility") is not None for k in kps):
            visibility = np.array([k["visibility"] for k in kps], dtype=np.float64)
        else:  # a runner from before visibility: the same map of the same score
            from mobilesdk.codecs.visibility import visibility as visibility_of

            params = self.choice.codec().visibility
            visibility = visibility_of(scores, params["a"], params["b"])
        return Prediction(
            image=image.path,
            width=image.width,
            height=image.height,
            orientation=image.orientation,
            roi=roi,
            xy=np.array([[k["x"], k["y"]] for k in kps], dtype=np.float64),
            scores=scores,
            visibility=visibility,
            z=np.array([k["z"] for k in kps], dtype=np.float64) if has_z else None,
            matrix=pp.crop_matrix(self.choice.input_spec(), image.width, image.height, roi),
        )

    def _run(self, cmd: list[str], image: Path) -> dict[str, Any]:
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
        except OSError as exc:
            raise PredictError(
                f"{self.runner}: cannot run mobilesdk-runner ({exc.strerror or exc})"
            ) from None
        if proc.returncode != 0:
            last = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()[-1]
            last = last.removeprefix("mobilesdk-runner: error: ")
            raise PredictError(f"mobilesdk-runner failed on {image}: {last[:300]}")
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        try:
            return json.loads(lines[-1])
        except (IndexError, json.JSONDecodeError):
            raise PredictError(f"mobilesdk-runner printed no result for {image}") from None

    def close(self) -> None:
        self._tmp.cleanup()


def open_engine(
    kind: str, choice: ModelChoice, *, threads: int | None = None, native_cache: Path | None = None
):
    """A :class:`PythonEngine` or a :class:`NativeEngine` (builds the runner on first use, cached)."""
    if kind == "python":
        return PythonEngine(choice, threads)
    if kind != "native":
        raise PredictError(f"--engine {kind!r}: one of {', '.join(ENGINES)}")
    from mobilesdk.native import NativeBuildError, build_native

    if native_cache is None:
        raise PredictError("--engine native needs a cache directory for the runner build")
    build = build_native(Path(native_cache).expanduser(), "release")
    if build.runner is None:
        raise NativeBuildError(f"the native build in {build.build_dir} produced no mobilesdk-runner")
    if choice.entry.runtime == "litert" and not getattr(build, "has_litert", False):
        raise PredictError(
            f"{choice.path.name}: the native runner runs .pte (ExecuTorch) only; this build of it has no LiteRT "
            "engine. Use --engine python, or an ExecuTorch recipe (--recipe xnnpack-fp32)"
        )
    if choice.entry.runtime == "executorch" and not build.has_executorch:
        raise PredictError(f"{choice.path.name}: the native runner was built without ExecuTorch")
    return NativeEngine(choice, build.runner, threads)


def predict_images(
    target: Path,
    images: Sequence[Path],
    *,
    engine: str = "python",
    roi: Sequence[float] | None = None,
    recipe: str | None = None,
    threads: int | None = None,
    native_cache: Path | None = None,
) -> tuple[ModelChoice, list[Prediction]]:
    """Every image through one engine: (the model, one :class:`Prediction` per image, in order). Every file
    must exist before the model loads (a typo in the tenth name should not wait for it); each is then decoded
    and its ROI checked as it comes. Nothing is written anywhere."""
    choice = resolve_model(target, recipe)
    if not images:
        raise PredictError("no images given")
    for path in images:
        if not Path(path).is_file():
            raise PredictError(
                f"{path}: " + ("is a directory, not an image" if Path(path).is_dir() else "no such image")
            )
    runner = open_engine(engine, choice, threads=threads, native_cache=native_cache)
    try:
        results = []
        for path in images:
            image = load_upright(Path(path))
            results.append(runner.predict(image, check_roi(roi, image)))
    finally:
        runner.close()
    return choice, results
