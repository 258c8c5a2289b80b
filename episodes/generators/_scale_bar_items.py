"""Scale-bar calibration families: pixel size, field width, and the length of a marked feature.

The truth is exact by construction: the renderer draws a bar of an integer number of pixels for
a round label value, so ``nm_per_pixel = value_nm / bar_length_px`` with no rounding.
Difficulty: easy images are wide PNGs with an instrument databar (large label); medium ones
draw any width, bar style and format; hard ones are narrow (512-800 px, small label) JPEG or
TIFF files with a JEOL-style or overlay bar.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw

from csmbench.episodes import Asset, Difficulty, Item, Milestone, Numeric, Scale, ToolCall

from ._bar_design import BarStyle
from ._registry import ItemSink, family
from ._scale_bar_render import SyntheticMicrograph, save_micrograph, synthesize_micrograph

__all__ = ["MESOSCALE_FIELD_WIDTH_UM", "VERSION", "scale_for_field_width"]

VERSION = "2"
MESOSCALE_FIELD_WIDTH_UM = 10.0
"""Fields of view at least this wide (µm) are Mesoscale; narrower ones Microscale."""
REL_TOL = 0.02
_FORMATS: dict[Difficulty, tuple[tuple[Literal["png", "jpeg", "tiff"], str, float], ...]] = {
    "easy": (("png", ".png", 1.0),),
    "medium": (("png", ".png", 0.6), ("jpeg", ".jpg", 0.2), ("tiff", ".tif", 0.2)),
    "hard": (("jpeg", ".jpg", 0.6), ("tiff", ".tif", 0.4))}
_WIDTHS_PX: dict[Difficulty, tuple[int, int] | None] = {
    "easy": (1024, 2048), "medium": None, "hard": (512, 800)}
_BAR_STYLES: dict[Difficulty, tuple[BarStyle, ...] | None] = {
    "easy": ("zeiss", "fei", "tescan"), "medium": None, "hard": ("jeol", "overlay")}
_CALIBRATE = "calibrate_scale_bar"


def scale_for_field_width(field_width_um: float) -> Scale:
    """Mesoscale for fields of view >= 10 µm wide, Microscale below."""
    return "Mesoscale" if field_width_um >= MESOSCALE_FIELD_WIDTH_UM else "Microscale"


def _micrograph(rng: np.random.Generator, difficulty: Difficulty) -> SyntheticMicrograph:
    """A micrograph whose width and bar style follow ``difficulty`` (None draws freely)."""
    widths, styles = _WIDTHS_PX[difficulty], _BAR_STYLES[difficulty]
    width = None if widths is None else int(rng.integers(widths[0], widths[1] + 1))
    style = None if styles is None else styles[int(rng.integers(len(styles)))]
    return synthesize_micrograph(rng, width_px=width, style=style)


def _attach(micrograph: SyntheticMicrograph, sink: ItemSink, rng: np.random.Generator,
            difficulty: Difficulty, pixels: np.ndarray | None = None) -> tuple[Asset, int]:
    formats = _FORMATS[difficulty]
    fmt, suffix, _ = formats[int(rng.choice(len(formats), p=[f[2] for f in formats]))]
    drawn = micrograph if pixels is None else replace(micrograph, pixels=pixels)
    height, width = drawn.pixels.shape
    asset = sink.asset("img0", "image", suffix, lambda path: save_micrograph(drawn, Path(path), fmt),
                       meta={"format": fmt, "width_px": width, "height_px": height,
                             "modality": micrograph.modality})
    return asset, width


def _derivation(micrograph: SyntheticMicrograph) -> dict:
    return {"bar_value": micrograph.value, "bar_unit": micrograph.unit,
            "bar_length_px": micrograph.bar_length_px, "label_text": micrograph.label_text,
            "nm_per_pixel": micrograph.nm_per_pixel,
            "rule": "nm_per_pixel = bar value in nm / bar length in px",
            "style": micrograph.design.style}


def _item(item_id: str, micrograph: SyntheticMicrograph, width: int, question: str,
          answer: Numeric, family_name: str, asset: Asset, seed_note: dict) -> Item:
    field_um = micrograph.nm_per_pixel * width / 1000.0
    call = ToolCall(id="call_0", name=_CALIBRATE, arguments={"image": "img0"})
    return Item(id=item_id, source="generated", scale=scale_for_field_width(field_um),
                family=family_name, question=question, attachments=[asset], answer=answer,
                reference=[call], milestones=[Milestone(tool=_CALIBRATE, arguments={"image": "img0"})],
                metadata={"generator": family_name, "generator_version": VERSION,
                          "field_width_um": field_um, "derivation": _derivation(micrograph),
                          **seed_note})


@family("scale_bar.pixel_size", version=VERSION)
def make_pixel_size(item_id: str, rng: np.random.Generator, sink: ItemSink,
                    difficulty: Difficulty) -> Item:
    """Q: the pixel size in nm per pixel, from the scale bar.

    Truth: the bar's value in nm divided by its length in pixels; the renderer draws a bar
    of a whole number of pixels for a round value, so it is exact.

    Tolerance: 2 % relative: reading a bar's ends to about ±1 px on a bar of 40-700 px, as a
    careful reader does.
    """
    micrograph = _micrograph(rng, difficulty)
    asset, width = _attach(micrograph, sink, rng, difficulty)
    question = (f"Attachment img0 is a {micrograph.modality.upper()} micrograph with a scale bar. "
                "What is its pixel size, in nm per pixel? Answer as a number with the unit nm/px.")
    answer = Numeric(value=micrograph.nm_per_pixel, unit="nm/px", rel_tol=REL_TOL)
    return _item(item_id, micrograph, width, question, answer, "scale_bar.pixel_size", asset, {})


@family("scale_bar.field_width", version=VERSION)
def make_field_width(item_id: str, rng: np.random.Generator, sink: ItemSink,
                     difficulty: Difficulty) -> Item:
    """Q: the horizontal field width of the whole frame, in µm.

    Truth: pixel size (bar value / bar length) times the image width in pixels.

    Tolerance: 2 % relative, that of the pixel size it scales.
    """
    micrograph = _micrograph(rng, difficulty)
    asset, width = _attach(micrograph, sink, rng, difficulty)
    question = (f"Attachment img0 is a {micrograph.modality.upper()} micrograph, {width} pixels "
                "wide, with a scale bar. What horizontal field width does the full image width "
                "span, in µm?")
    value = micrograph.nm_per_pixel * width / 1000.0
    answer = Numeric(value=value, unit="µm", rel_tol=REL_TOL)
    return _item(item_id, micrograph, width, question, answer, "scale_bar.field_width", asset, {})


@family("scale_bar.feature_length", version=VERSION)
def make_feature_length(item_id: str, rng: np.random.Generator, sink: ItemSink,
                        difficulty: Difficulty) -> Item:
    """Q: the real length of a feature marked by a line between two given pixel positions.

    Truth: the Euclidean distance between the two stated pixel positions times the exact
    pixel size.

    Tolerance: 2 % relative, that of the pixel size (the end points are given exactly).
    """
    micrograph = _micrograph(rng, difficulty)
    start, end = _marker_endpoints(micrograph, rng)
    pixels = _draw_marker(micrograph.pixels, start, end)
    asset, width = _attach(micrograph, sink, rng, difficulty, pixels)
    length_nm = math.dist(start, end) * micrograph.nm_per_pixel
    unit = "µm" if length_nm >= 1000 else "nm"
    value = length_nm / 1000 if unit == "µm" else length_nm
    question = (f"Attachment img0 is a {micrograph.modality.upper()} micrograph with a scale bar. "
                f"A feature is marked by a straight line from pixel ({start[0]}, {start[1]}) to "
                f"pixel ({end[0]}, {end[1]}) (x, y; origin at the top-left corner). What is the "
                f"feature's real length, in {unit}?")
    answer = Numeric(value=value, unit=unit, rel_tol=REL_TOL)
    note = {"marker_px": [list(start), list(end)], "marker_length_px": math.dist(start, end)}
    return _item(item_id, micrograph, width, question, answer, "scale_bar.feature_length",
                 asset, note)


MARKER_MIN_ANGLE_DEG = 25.0
"""The marker line is drawn at 25-65° from the horizontal so it is never mistaken for a bar."""


def _marker_endpoints(micrograph: SyntheticMicrograph,
                      rng: np.random.Generator) -> tuple[tuple[int, int], tuple[int, int]]:
    x0, y0, x1, y1 = micrograph.specimen_bbox
    bar = micrograph.bar_bbox
    margin = 0.1
    for _ in range(1000):
        angle = math.radians(rng.uniform(MARKER_MIN_ANGLE_DEG, 90 - MARKER_MIN_ANGLE_DEG))
        angle *= rng.choice([-1.0, 1.0])
        length = rng.uniform(0.15, 0.5) * (x1 - x0)
        cx = rng.uniform(x0 + margin * (x1 - x0), x1 - margin * (x1 - x0))
        cy = rng.uniform(y0 + margin * (y1 - y0), y1 - margin * (y1 - y0))
        dx, dy = 0.5 * length * math.cos(angle), 0.5 * length * math.sin(angle)
        start = (round(cx - dx), round(cy - dy))
        end = (round(cx + dx), round(cy + dy))
        inside = all(x0 + 4 <= x < x1 - 4 and y0 + 4 <= y < y1 - 4 for x, y in (start, end))
        clear = not _overlaps((min(start[0], end[0]), min(start[1], end[1]),
                               max(start[0], end[0]), max(start[1], end[1])), bar, pad=12)
        if inside and clear:
            return start, end
    raise RuntimeError("could not place a feature marker clear of the scale bar")


def _overlaps(a: tuple, b: tuple, pad: int) -> bool:
    return not (a[2] + pad < b[0] or b[2] + pad < a[0] or a[3] + pad < b[1] or b[3] + pad < a[1])


def _draw_marker(pixels: np.ndarray, start: tuple[int, int], end: tuple[int, int]) -> np.ndarray:
    """Draw the marker: a 3 px line with round dots at both ends, in the contrasting grey."""
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    mean = float(pixels.mean())
    ink = 255 if mean < 128 else 0
    draw.line([start, end], fill=ink, width=3)
    for x, y in (start, end):
        draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=ink)
    return np.asarray(image)
