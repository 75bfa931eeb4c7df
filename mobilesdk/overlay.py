"""Skeleton overlays of ``mobilesdk predict`` results: PNGs a person can look at (no display needed).

One picture per image, at the image's own pixel size: limbs from the manifest's skeleton, keypoints as discs
coloured by visibility (colour map ``RdYlGn``: red = 0, green = 1; :mod:`mobilesdk.codecs.visibility`),
keypoints under the 0.5 threshold faded and hollow, the ROI box when one was given, keypoint names
optionally, a legend of the colour scale, and a red banner when the model has random weights. A 3-D model
(``integral-3d``) gets a rotated 3-D view of its joints beside the picture. Several images make a contact
sheet (a grid with the file names), or one file each in a directory.

Drawing is Pillow (exact pixel geometry, fast on 12 MP photos); the 3-D view is matplotlib on its Agg canvas
(no pyplot, no global backend state). Files are rendered in memory first and then written each to a temporary
name and renamed, so a failure leaves no half-written PNG.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mobilesdk.predict import ModelChoice, PredictError, Prediction, visibility_threshold

COLORMAP = "RdYlGn"
BANNER = "RANDOM WEIGHTS — output is noise"
ROI_COLOUR = (0, 200, 255, 255)
SHEET_CELL_HEIGHT = 400  # px: contact-sheet panels are scaled to at most this height
SHEET_BACKGROUND = (32, 32, 32)
PANEL_3D_MIN = 360  # px: the 3-D view is at least this tall, so small model inputs stay readable


@dataclass(frozen=True)
class OverlayPlan:
    """Where overlays go: ``directory`` (one ``<stem>-pose.png`` per image) or ``file`` (the one image's
    overlay, or a contact sheet of several)."""

    out: Path
    directory: bool

    def files(self, images: Sequence[Path]) -> list[Path]:
        if not self.directory:
            return [self.out]
        names: list[Path] = []
        taken: set[str] = set()
        for image in images:
            stem, n = Path(image).stem, 1
            name = f"{stem}-pose.png"
            while name in taken:
                n += 1
                name = f"{stem}-pose-{n}.png"
            taken.add(name)
            names.append(self.out / name)
        return names


def plan_output(out: str | Path) -> OverlayPlan:
    """Check ``--overlay OUT`` before any work: an existing directory or a path ending in '/' is a directory
    (created at the end if missing); anything else must be a ``.png`` in an existing directory."""
    text = str(out)
    out = Path(out)
    if out.is_dir():
        return OverlayPlan(out, True)
    if text.endswith(("/", os.sep)):
        if out.exists():
            raise PredictError(f"--overlay {text}: exists and is not a directory")
        parent = out.parent
        while not parent.exists():
            parent = parent.parent
        if not parent.is_dir() or not os.access(parent, os.W_OK):
            raise PredictError(f"--overlay {text}: cannot create a directory under {parent}")
        return OverlayPlan(out, True)
    if out.suffix.lower() != ".png":
        raise PredictError(
            f"--overlay {text}: the overlay is a PNG; name it .png, or end it with '/' for a directory"
        )
    if not out.parent.is_dir():
        raise PredictError(f"--overlay {text}: no such directory {out.parent}")
    return OverlayPlan(out, False)


# ---- one picture -----------------------------------------------------------------------------------------


def _font(size: float):
    """DejaVu Sans at ``size`` px (matplotlib ships it; Pillow's default font has no '—')."""
    import matplotlib
    from PIL import ImageFont

    size = max(6, round(size))
    try:
        return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts/ttf/DejaVuSans.ttf"), size)
    except OSError:
        return ImageFont.load_default(size=size)


def _colours(visibility: np.ndarray, threshold: float) -> np.ndarray:
    """(K, 4) uint8 RGBA of each keypoint's visibility on the colour map (0 .. 1)."""
    import matplotlib

    values = np.clip(visibility, 0.0, 1.0)
    return (np.asarray(matplotlib.colormaps[COLORMAP](values)) * 255).round().astype(np.uint8)


def _faded(colour: np.ndarray, alpha: int) -> tuple[int, int, int, int]:
    return (int(colour[0]), int(colour[1]), int(colour[2]), alpha)


def draw_pose(pixels: np.ndarray, choice: ModelChoice, prediction: Prediction, *, labels: bool = False):
    """(H, W, 3) uint8 upright picture -> PIL RGB image of the same size with the pose drawn on it."""
    from PIL import Image, ImageDraw

    h, w = pixels.shape[:2]
    unit = max(max(w, h) / 640.0, 0.5)  # sizes scale with the picture, legibly on small ones
    base = Image.fromarray(pixels, "RGB").convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    thr = visibility_threshold(choice)
    visible = prediction.visibility >= thr
    colours = _colours(prediction.visibility, thr)
    xy = prediction.xy
    if prediction.roi is not None:
        draw.rectangle(list(prediction.roi), outline=ROI_COLOUR, width=max(1, round(2 * unit)))
    limb = max(1, round(2.5 * unit))
    for a, b in choice.skeleton:
        both = bool(visible[a] and visible[b])
        weaker = a if prediction.visibility[a] <= prediction.visibility[b] else b
        draw.line(
            [tuple(xy[a]), tuple(xy[b])],
            fill=_faded(colours[weaker], 230 if both else 70),
            width=limb if both else max(1, limb // 2),
        )
    r = max(3.5, 5 * unit)
    outline = max(1, round(unit))
    for j, (x, y) in enumerate(xy):
        box = [x - r, y - r, x + r, y + r]
        if visible[j]:
            draw.ellipse(box, fill=_faded(colours[j], 255), outline=(0, 0, 0, 255), width=outline)
        else:
            draw.ellipse(box, outline=_faded(colours[j], 120), width=outline)
    if labels:
        font = _font(max(8.0, 11 * unit))
        for j, (x, y) in enumerate(xy):
            draw.text(
                (x + r + 1, y - r),
                choice.names[j],
                font=font,
                fill=(255, 255, 255, 255 if visible[j] else 130),
                stroke_width=1,
                stroke_fill=(0, 0, 0, 255 if visible[j] else 130),
            )
    if w >= 240:
        _legend(draw, w, h, unit, thr)
    if choice.random_weights:
        _banner(draw, w, h)
    return Image.alpha_composite(base, layer).convert("RGB")


def _legend(draw, w: int, h: int, unit: float, thr: float) -> None:
    """The colour scale in the bottom-left corner: visibility 0 .. 1, the threshold marked."""
    import matplotlib

    bar_w, bar_h = round(min(w * 0.3, 150 * unit)), max(4, round(6 * unit))
    font = _font(max(8.0, 10 * unit))
    x0, y0 = round(6 * unit), h - round(6 * unit) - bar_h - round(12 * unit)
    cmap = matplotlib.colormaps[COLORMAP]
    draw.rectangle([x0 - 2, y0 - 2, x0 + bar_w + 2, h - 2], fill=(0, 0, 0, 140))
    for i in range(bar_w):
        c = (np.asarray(cmap(i / max(bar_w - 1, 1))) * 255).round().astype(int)
        draw.line([(x0 + i, y0), (x0 + i, y0 + bar_h)], fill=(int(c[0]), int(c[1]), int(c[2]), 255))
    mark = x0 + bar_w * thr
    draw.line([(mark, y0 - 1), (mark, y0 + bar_h + 1)], fill=(255, 255, 255, 255), width=1)
    text = f"visibility 0 | {thr:.3g} visible | 1"
    draw.text((x0, y0 + bar_h + 1), text, font=font, fill=(255, 255, 255, 255))


def _banner(draw, w: int, h: int) -> None:
    band = max(14, round(h * 0.07))
    draw.rectangle([0, 0, w, band], fill=(200, 0, 0, 215))
    size = band * 0.7
    font = _font(size)
    while size > 6 and draw.textlength(BANNER, font=font) > w * 0.96:
        size *= 0.9
        font = _font(size)
    tw = draw.textlength(BANNER, font=font)
    draw.text(((w - tw) / 2, band / 2), BANNER, font=font, fill=(255, 255, 255, 255), anchor="lm")


# ---- the 3-D view ----------------------------------------------------------------------------------------


def depth_in_pixels(choice: ModelChoice, prediction: Prediction) -> np.ndarray:
    """(K,) depth in upright-picture pixels, centred on the joints' mean: the integral-3d cube is as deep as
    the crop is wide (MobileHumanPose's convention), so one depth bin is crop width / D pixels."""
    params = choice.manifest.codec.get("params") or {}
    bins = params.get("depth_bins")
    if not bins:
        volumetric = next(o.shape for o in choice.entry.outputs if o.role == "volumetric")
        bins = volumetric[1] // len(choice.names)
    crop_width = choice.entry.input.size["width"] / prediction.matrix[0, 0]
    z = np.asarray(prediction.z, dtype=np.float64) * crop_width / float(bins)
    return z - z.mean()


def draw_3d(choice: ModelChoice, prediction: Prediction, size: int):
    """A ``size`` x ``size`` PIL RGB image: the joints in 3-D (x right, y up the picture, depth away)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator
    from PIL import Image

    thr = visibility_threshold(choice)
    colours = _colours(prediction.visibility, thr) / 255.0
    visible = prediction.visibility >= thr
    x, y = prediction.xy[:, 0], prediction.xy[:, 1]
    d = depth_in_pixels(choice, prediction)
    fig = Figure(figsize=(size / 100, size / 100), dpi=100)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot(projection="3d")
    for a, b in choice.skeleton:
        both = bool(visible[a] and visible[b])
        ax.plot([x[a], x[b]], [d[a], d[b]], [y[a], y[b]], color=(0.3, 0.3, 0.3), alpha=0.9 if both else 0.25)
    on, off = visible, ~visible
    ax.scatter(x[on], d[on], y[on], c=colours[on, :3], s=28, edgecolors="black", linewidths=0.5)
    if off.any():  # faded: hollow and translucent, as in the picture
        ax.scatter(x[off], d[off], y[off], facecolors="none", edgecolors=colours[off, :3], s=28, alpha=0.5)
    span = max(float(np.ptp(x)), float(np.ptp(y)), float(np.ptp(d)), 1.0) / 2 * 1.1
    for setter, centre in ((ax.set_xlim, x), (ax.set_ylim, d)):
        mid = (float(np.max(centre)) + float(np.min(centre))) / 2
        setter(mid - span, mid + span)
    mid = (float(np.max(y)) + float(np.min(y))) / 2
    ax.set_zlim(mid + span, mid - span)  # image y grows downwards
    ax.set_box_aspect((1, 1, 1))
    ax.view_init(elev=12, azim=-70)
    small = max(6, size / 60)
    ax.set_xlabel("x (px)", fontsize=small)
    ax.set_ylabel("depth (px)", fontsize=small)
    ax.set_zlabel("y (px)", fontsize=small)
    ax.tick_params(labelsize=small * 0.8)
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.set_major_locator(MaxNLocator(4))
    ax.set_title("3-D joints (depth: cube as deep as the crop is wide)", fontsize=small)
    if choice.random_weights:
        fig.text(0.5, 0.02, BANNER, color="white", backgroundcolor=(0.8, 0, 0), ha="center", fontsize=small)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    return Image.fromarray(rgba[..., :3].copy(), "RGB")


def render(pixels: np.ndarray, choice: ModelChoice, prediction: Prediction, *, labels: bool = False):
    """The picture of one prediction (PIL RGB): the image's size, or for a 3-D model the image with the
    3-D view beside it (as tall as the image, at least :data:`PANEL_3D_MIN`; the image is padded below)."""
    from PIL import Image

    picture = draw_pose(pixels, choice, prediction, labels=labels)
    if not choice.is_3d or prediction.z is None:
        return picture
    w, h = picture.size
    size = max(h, PANEL_3D_MIN)
    panel = draw_3d(choice, prediction, size)
    out = Image.new("RGB", (w + panel.width, size), (255, 255, 255))
    out.paste(picture, (0, 0))
    out.paste(panel, (w, 0))
    return out


def _fit_height(image, height: int, *, grow: bool = False):
    """``image`` scaled (aspect kept) to ``height`` px if taller (or, with ``grow``, shorter)."""
    from PIL import Image

    if image.height == height or (image.height < height and not grow):
        return image
    size = (max(1, round(image.width * height / image.height)), height)
    return image.resize(size, Image.Resampling.LANCZOS)


def contact_sheet(panels: Sequence[tuple[str, object]]):
    """(caption, PIL image) panels -> one PIL RGB grid, panels scaled to a common height, captions below."""
    from PIL import Image, ImageDraw

    cell_h = min(SHEET_CELL_HEIGHT, max(p.height for _, p in panels))
    scaled = [(caption, _fit_height(panel, cell_h, grow=True)) for caption, panel in panels]
    cell_w = max(p.width for _, p in scaled)
    cols = math.ceil(math.sqrt(len(scaled)))
    rows = math.ceil(len(scaled) / cols)
    gap, caption_h = 8, 18
    sheet = Image.new(
        "RGB", (cols * (cell_w + gap) + gap, rows * (cell_h + caption_h + gap) + gap), SHEET_BACKGROUND
    )
    draw = ImageDraw.Draw(sheet)
    font = _font(12)
    for i, (caption, panel) in enumerate(scaled):
        x = gap + (i % cols) * (cell_w + gap) + (cell_w - panel.width) // 2
        y = gap + (i // cols) * (cell_h + caption_h + gap)
        sheet.paste(panel, (x, y))
        text = caption
        while len(text) > 4 and draw.textlength(text, font=font) > cell_w:
            text = "…" + text[2:]
        draw.text((x, y + cell_h + 2), text, font=font, fill=(230, 230, 230))
    return sheet


def _png(image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=3)  # 12 MP: 1.4 s, 2.0 s at the default 6
    return buf.getvalue()


def _upright_pixels(path: Path) -> np.ndarray:
    from mobilesdk.predict import load_upright

    return load_upright(path).pixels


def write_overlays(
    plan: OverlayPlan,
    choice: ModelChoice,
    predictions: Sequence[Prediction],
    *,
    labels: bool = False,
    load: Callable[[Path], np.ndarray] = _upright_pixels,
) -> list[Path]:
    """Render every overlay in memory (one photo decoded at a time: ``load(path)`` gives the upright (H, W, 3)
    uint8 picture a prediction was made on), then write each file to a temporary name and rename it into
    place. Returns the files written."""
    from mobilesdk.fsops import write_atomically

    def picture(p: Prediction):
        return render(load(p.image), choice, p, labels=labels)

    files = plan.files([p.image for p in predictions])
    if plan.directory or len(predictions) == 1:
        blobs = [_png(picture(p)) for p in predictions]
    else:
        names = [p.image.name for p in predictions]
        captions = names if len(set(names)) == len(names) else [str(p.image) for p in predictions]
        panels = [
            (caption, _fit_height(picture(p), SHEET_CELL_HEIGHT))
            for caption, p in zip(captions, predictions, strict=True)
        ]
        blobs = [_png(contact_sheet(panels))]
    if plan.directory:
        plan.out.mkdir(parents=True, exist_ok=True)
    for path, data in zip(files, blobs, strict=True):
        write_atomically(path, data)
    return files
