"""Scale-bar calibration: find the bar, read its label, return nm per pixel.

The bar is a solid thin horizontal rectangle, optionally with end ticks, that does not touch
the image edges and is not part of a box or grid. Candidates come from connected components
of the image thresholded at a few levels in both polarities (isolated bars), then from
stacks of equal horizontal runs (bars touched by grain boundaries or particle edges); the
best are checked, in turn, for a parseable length label next to them (OCR on a crop around
each one). A µ that OCR misread ("1 m", "1 jm") is recovered from another databar field in
µm or from physical plausibility, always with a note and a lower confidence.

Length convention: a bar without end ticks measures its full extent in pixel columns
(``x1 - x0``); a bar with end ticks measures the distance between the two tick centres.
Ends are located where the profile crosses mid-contrast between bar and background, to
sub-pixel precision, so blur and JPEG ringing do not move them.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pint
from pydantic import BaseModel, ConfigDict
from scipy import ndimage

from csmbench.errors import ToolError

from ._image_io import LoadedImage, load_image, to_gray
from ._metadata import unit_registry
from ._ocr import TextBox, merge_lines, read_line, read_text

__all__ = ["ScaleBarReading", "calibrate_scale_bar", "parse_scale_label"]

# --- bar detection -------------------------------------------------------------------------
THRESHOLD_FRACTIONS = (0.5, 0.75, 0.95)
"""Binarisation levels, as fractions of the way from the median gray level to the maximum."""
MIN_BAR_LENGTH_PX = 12
MIN_BAR_ASPECT = 4.0
"""A bar is at least this many times longer than thick."""
CORE_ROW_FILL = 0.9
"""Rows of the bar body are filled over at least this fraction of the bar's width."""
END_ZONE_FRACTION = 0.08
END_ZONE_MIN_PX = 3
"""Pixels above/below the body (ticks) may only lie this close to the ends."""
EDGE_MARGIN_PX = 1
"""A candidate closer than this to the left/right image edge is a border, not a bar."""
TICK_RANK_BONUS = 1.5
TICK_MIN_EXTRA_PX = 2
"""Ticks stand at least this many pixels above or below the bar body."""
MAX_OCR_CANDIDATES = 4
"""Candidates of each kind (isolated, touched) checked for a label, best first."""
RUN_CLEAR_FILL = 0.5
"""A bar found from runs has rows above and below it filled less than this over its width."""
RUN_MIN_LENGTH_FRACTION = 0.03
"""Bars touched by other structures are searched only this long (fraction of image width)."""
MIN_IMAGE_CONTRAST = 0.05
PROFILE_MARGIN_PX = 6
"""Columns beyond the bar's ends used for the mid-contrast profile."""

# --- label reading ---------------------------------------------------------------------------
LABEL_SEARCH_MIN_PX = 40
LABEL_SEARCH_HEIGHT_FRACTION = 0.1
LABEL_SEARCH_WIDTH_FRACTION = 0.25
"""OCR crop padding: max(min px, fraction of the image height/width, half the bar length)."""
ERASE_DILATION_PX = 2
"""The bar's ink is grown by this much before it is erased (anti-aliased edges)."""
INK_LEVEL_FRACTION = 0.75
"""Ink-only OCR retry: binarise this far from the crop median towards the bar's ink level."""
BARE_UNIT_WIDEN_HEIGHTS = 1.5
REREAD_MIN_CONFIDENCE = 0.9
"""A widened re-read replaces a detected label only when recognised at least this surely."""
"""A bare unit box is widened leftwards by this many text heights to re-read its number."""
LABEL_MAX_GAP_HEIGHTS = 3.0
"""A label belongs to a bar when within this many text heights of it."""
PLAUSIBLE_NM_PER_PIXEL = (1e-3, 1e5)
"""Pixel sizes a micrograph can have (HRTEM to low-magnification optical), nm/px."""
AGREEMENT_TOLERANCE = 0.03
CONTEXT_MICRO_CONFIDENCE = 0.7
PLAUSIBILITY_MICRO_CONFIDENCE = 0.5
AMBIGUOUS_UNIT_CONFIDENCE = 0.2
METADATA_CONFIDENCE = 0.99
METADATA_ONLY_CONFIDENCE = 0.9

MICRO = "\u00b5"
_LABEL_PATTERN = re.compile(r"(?<![\d.,])(\d+(?:[.,]\d+)?)\s?([^\W\d_]{1,3})(?![^\W\d_])")
_GLUED_THOUSANDS = re.compile(r"\d{1,3}(?:[.,]\d{3})+(\d+)")
_BARE_UNIT = re.compile(r"^\s*[^\W\d_]{1,3}\s*$")
_LENGTH_TOKEN = re.compile(r"^(?:[pnumck\u00b5]?m|\u00c5)$")
_MICRO_LOOKALIKES = frozenset("jJiIyYvVUwqgr|lL")
_CANONICAL_UNITS = {
    "picometer": "pm",
    "angstrom": "\u00c5",
    "nanometer": "nm",
    "micrometer": f"{MICRO}m",
    "millimeter": "mm",
    "centimeter": "cm",
    "meter": "m",
}


class ScaleBarReading(BaseModel):
    """What ``calibrate_scale_bar`` measured.

    Attributes:
        bar_length_px: Bar length in pixels (tick centre to tick centre, or full extent).
        value: The label's number, e.g. 200.
        unit: Canonical unit: "nm", "µm" (U+00B5), "mm" (also "pm", "Å", "cm", "m").
        nm_per_pixel: The answer: from the bar, or from metadata when method == "metadata".
        label_text: What OCR read.
        bbox: Bar bounding box (x0, y0, x1, y1), x1/y1 exclusive, in image pixels.
        method: "scale_bar" or "metadata".
        confidence: 0..1.
        bar_nm_per_pixel: The bar's own value (filled whenever the bar was read).
        agrees_with_metadata: Bar vs metadata within 3 %; None without metadata.
        notes: Caveats, e.g. "OCR read 'um' as µm".
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    bar_length_px: float
    value: float
    unit: str
    nm_per_pixel: float
    label_text: str
    bbox: tuple[int, int, int, int]
    method: Literal["scale_bar", "metadata"]
    confidence: float
    bar_nm_per_pixel: float | None = None
    agrees_with_metadata: bool | None = None
    notes: list[str] = []


@dataclass(frozen=True)
class _Bar:
    """A bar candidate; rows ``core_y0:core_y1`` are the body, the rest of the bbox ticks."""

    x0: int
    y0: int
    x1: int
    y1: int
    core_y0: int
    core_y1: int
    light: bool
    has_ticks: bool

    @property
    def rank(self) -> float:
        """Search order: long bars first, ticked bars favoured."""
        return (self.x1 - self.x0) * (TICK_RANK_BONUS if self.has_ticks else 1.0)


@dataclass(frozen=True)
class _Label:
    """A parsed label: ``unit`` is None when the unit token looks like a misread µ."""

    value: float
    unit: str | None
    token: str
    box: TextBox
    notes: tuple[str, ...] = ()


# --- label parsing ---------------------------------------------------------------------------


def parse_scale_label(text: str) -> tuple[float, str] | None:
    """Parse a scale-bar label into value and canonical length unit.

    µ (U+00B5), μ (U+03BC) and "u" all mean micro; a decimal comma is accepted.

    Args:
        text: OCR text, e.g. "1 µm", "500nm", "2,5 μm", "Mag 50 KX 1 um".

    Returns:
        ``(value, unit)`` with unit "nm", "µm", "mm", ..., or None without number + length unit.

    Example:
        >>> parse_scale_label("2,5 um")
        (2.5, 'µm')
    """
    for value, token, _ in _number_unit_pairs(text):
        unit = _canonical_unit(token)
        if unit is not None:
            return value, unit
    return None


def _number_unit_pairs(text: str) -> list[tuple[float, str, str]]:
    """All ``(number, following word, matched text)`` of a text; μ normalised to µ in the word."""
    pairs = []
    for match in _LABEL_PATTERN.finditer(text.replace("\u03bc", MICRO)):
        number = match.group(1)
        glued = _GLUED_THOUSANDS.fullmatch(number)  # "56,740500" = magnification "56,740" + "500"
        number = glued.group(1) if glued else number
        thousands = re.fullmatch(r"\d{1,3},\d{3}", number) is not None
        value = float(number.replace(",", "" if thousands else "."))
        pairs.append((value, match.group(2), text[match.start() : match.end()]))
    return pairs


def _canonical_unit(token: str) -> str | None:
    """Canonical symbol of a metric length token ("um" -> "µm"), via pint; None otherwise."""
    if not _LENGTH_TOKEN.match(token):
        return None
    registry = unit_registry()
    try:
        unit = registry.Unit(token.replace("u", MICRO))
    except (pint.errors.PintError, ValueError):
        return None
    return _CANONICAL_UNITS.get(str(unit))


def _unit_nm(unit: str) -> float:
    """Nanometres in one ``unit`` (pint)."""
    registry = unit_registry()
    return float(registry.Quantity(1.0, unit).to(registry.nanometer).magnitude)


def _interpret(box: TextBox) -> _Label | None:
    """Label from an OCR line: a clean length unit first, else a µ-lookalike ("1 jm", "1 m")."""
    pairs = _number_unit_pairs(box.text)
    for value, token, matched in pairs:
        unit = _canonical_unit(token)
        if unit is not None and not _micro_suspect(token):
            note = (f"OCR read '{token}' as {MICRO}m",) if token.startswith("u") else ()
            return _Label(value, unit, token, _sub_box(box, matched), note)
    suspects = [(value, token, matched) for value, token, matched in pairs if _micro_suspect(token)]
    if not suspects:
        return None
    value, token, matched = suspects[0]
    return _Label(value, None, token, _sub_box(box, matched))


def _sub_box(box: TextBox, part: str) -> TextBox:
    """The box of a substring of a line, its x-range estimated from character positions."""
    start = max(box.text.find(part), 0)
    width, length = box.bbox[2] - box.bbox[0], max(len(box.text), 1)
    x0 = box.bbox[0] + round(width * start / length)
    x1 = box.bbox[0] + round(width * (start + len(part)) / length)
    return TextBox(part, (x0, box.bbox[1], max(x1, x0 + 1), box.bbox[3]), box.confidence)


def _micro_suspect(token: str) -> bool:
    """True for unit tokens OCR makes out of "µm": "m", "pm", "jm", "Um", ..."""
    return token in {"m", "pm"} or (
        len(token) == 2 and token[1] == "m" and token[0] in _MICRO_LOOKALIKES
    )


# --- bar detection ---------------------------------------------------------------------------


def _find_bars(gray: np.ndarray) -> list[_Bar]:
    """The best bar candidates of both polarities, deduplicated, best first.

    Isolated bars (connected components) come first; bars touched by other structures
    (grain boundaries, particle edges), found from horizontal runs, after them.
    """
    isolated: list[_Bar] = []
    touched: list[_Bar] = []
    for light in (True, False):
        values = gray if light else 1.0 - gray
        base, top = float(np.median(values)), float(values.max())
        for fraction in THRESHOLD_FRACTIONS:
            mask = values > base + fraction * (top - base)
            isolated += _bars_in_mask(mask, light)
            touched += _bars_from_runs(mask, light)
    best = _unique_best(isolated, [], MAX_OCR_CANDIDATES)
    return best + _unique_best(touched, best, MAX_OCR_CANDIDATES)


def _unique_best(bars: list[_Bar], known: list[_Bar], limit: int) -> list[_Bar]:
    """Up to ``limit`` best-ranked bars, skipping duplicates of each other and of ``known``."""
    kept: list[_Bar] = []
    for bar in sorted(bars, key=lambda bar: -bar.rank):
        if len(kept) == limit:
            break
        if not any(_same_bar(bar, other) for other in (*kept, *known)):
            kept.append(bar)
    return kept


def _bars_in_mask(mask: np.ndarray, light: bool) -> list[_Bar]:
    """Connected components (4-connectivity) of ``mask`` that are bar-shaped."""
    labels, _ = ndimage.label(mask)
    bars = []
    for index, window in enumerate(ndimage.find_objects(labels), start=1):
        height, width = window[0].stop - window[0].start, window[1].stop - window[1].start
        if width >= MIN_BAR_LENGTH_PX and width >= 2 * height:
            bar = _as_bar(labels[window] == index, window, mask.shape, light)
            if bar is not None:
                bars.append(bar)
    return bars


def _as_bar(
    component: np.ndarray, window: tuple[slice, ...], image_shape: tuple[int, ...], light: bool
) -> _Bar | None:
    """A ``_Bar`` if the component is a solid thin rectangle plus, at most, ticks at both ends."""
    height, width = component.shape
    core = np.flatnonzero(component.sum(axis=1) >= CORE_ROW_FILL * width)
    if core.size == 0 or core[-1] - core[0] + 1 != core.size or width < MIN_BAR_ASPECT * core.size:
        return None
    x0, y0 = window[1].start, window[0].start
    if not _inside(x0, y0, width, height, image_shape):
        return None
    outside = component.copy()
    outside[core[0] : core[-1] + 1] = False
    columns = np.flatnonzero(outside.any(axis=0))
    zone = max(END_ZONE_MIN_PX, math.ceil(END_ZONE_FRACTION * width))
    at_left, at_right = columns < zone, columns >= width - zone
    if not np.all(at_left | at_right) or (columns.size and not (at_left.any() and at_right.any())):
        return None
    return _Bar(
        x0,
        y0,
        x0 + width,
        y0 + height,
        int(y0 + core[0]),
        int(y0 + core[-1]) + 1,
        light,
        bool(columns.size),
    )


def _bars_from_runs(mask: np.ndarray, light: bool) -> list[_Bar]:
    """Bars as stacks of equal horizontal runs with clear rows above and below."""
    bars = []
    for row0, row1, x0, x1 in _run_stacks(mask):
        thickness, width = row1 - row0, x1 - x0
        clear = all(
            0 <= row < mask.shape[0] and mask[row, x0:x1].mean() < RUN_CLEAR_FILL
            for row in (row0 - 1, row1)
        )
        if (
            clear
            and width >= MIN_BAR_ASPECT * thickness
            and _inside(x0, row0, width, thickness, mask.shape)
        ):
            bar = _with_ticks(mask, _Bar(x0, row0, x1, row1, row0, row1, light, False))
            if bar is not None:
                bars.append(bar)
    return bars


def _run_stacks(mask: np.ndarray) -> list[tuple[int, int, int, int]]:
    """``(row0, row1, x0, x1)`` of long runs repeated (ends +-1 px) in consecutive rows."""
    edges = np.diff(np.pad(mask, ((0, 0), (1, 1))).astype(np.int8), axis=1)
    starts, stops = np.nonzero(edges == 1), np.nonzero(edges == -1)
    keep = stops[1] - starts[1] >= max(MIN_BAR_LENGTH_PX, RUN_MIN_LENGTH_FRACTION * mask.shape[1])
    runs = zip(
        starts[0][keep].tolist(), starts[1][keep].tolist(), stops[1][keep].tolist(), strict=True
    )
    stacks: list[list[int]] = []
    open_stacks: list[list[int]] = []  # stacks that reached the previous row
    row_now, grown = -1, []
    for row, x0, x1 in runs:
        if row != row_now:
            open_stacks = grown if row == row_now + 1 else []
            row_now, grown = row, []
        match = next((s for s in open_stacks if abs(s[2] - x0) <= 1 and abs(s[3] - x1) <= 1), None)
        if match is None:
            match = [row, row, x0, x1]
            stacks.append(match)
        match[1] = row + 1
        grown.append(match)
    return [(r0, r1, x0, x1) for r0, r1, x0, x1 in stacks]


def _with_ticks(mask: np.ndarray, bar: _Bar) -> _Bar | None:
    """The bar extended by end ticks found in ``mask``; None if it is the edge of a box."""
    zone = max(END_ZONE_MIN_PX, math.ceil(END_ZONE_FRACTION * (bar.x1 - bar.x0)))
    left, right = mask[:, bar.x0 : bar.x0 + zone], mask[:, bar.x1 - zone : bar.x1]
    reach = [_vertical_reach(end, bar.core_y0, bar.core_y1) for end in (left, right)]
    up, down = min(r[0] for r in reach), min(r[1] for r in reach)
    if max(up, down) < TICK_MIN_EXTRA_PX:
        return bar
    y0, y1 = bar.core_y0 - up, bar.core_y1 + down
    outer = np.r_[y0 : bar.core_y0, bar.core_y1 : y1]
    if outer.size and (mask[outer, bar.x0 : bar.x1].mean(axis=1) >= CORE_ROW_FILL).any():
        return None
    return replace(bar, y0=y0, y1=y1, has_ticks=True)


def _vertical_reach(columns: np.ndarray, row0: int, row1: int) -> tuple[int, int]:
    """How many rows the longest column of ``columns`` stays set above ``row0`` and below ``row1``."""
    set_rows = columns.any(axis=1)
    up = 0
    while row0 - up - 1 >= 0 and set_rows[row0 - up - 1]:
        up += 1
    down = 0
    while row1 + down < set_rows.size and set_rows[row1 + down]:
        down += 1
    return up, down


def _inside(x0: int, y0: int, width: int, height: int, image_shape: tuple[int, ...]) -> bool:
    """True when the box keeps ``EDGE_MARGIN_PX`` from every image edge (borders touch them)."""
    rows, columns = image_shape[:2]
    return (
        min(x0, y0) >= EDGE_MARGIN_PX
        and x0 + width <= columns - EDGE_MARGIN_PX
        and y0 + height <= rows - EDGE_MARGIN_PX
    )


def _same_bar(a: _Bar, b: _Bar) -> bool:
    """True when two candidates overlap in rows and in most of their columns."""
    rows = min(a.core_y1, b.core_y1) - max(a.core_y0, b.core_y0)
    columns = min(a.x1, b.x1) - max(a.x0, b.x0)
    return rows > 0 and columns > 0.8 * max(a.x1 - a.x0, b.x1 - b.x0)


# --- length measurement ----------------------------------------------------------------------


def _bar_length(gray: np.ndarray, bar: _Bar) -> float:
    """Bar length in pixels: tick centre to tick centre, or the body's full extent."""
    values = gray if bar.light else 1.0 - gray
    if bar.has_ticks:
        return _tick_centre(values, bar, right=True) - _tick_centre(values, bar, right=False)
    start, stop = _columns(values, bar, PROFILE_MARGIN_PX)
    profile = values[bar.core_y0 : bar.core_y1, start:stop].mean(axis=0)
    level = 0.5 * (np.median(profile[bar.x0 - start : bar.x1 - start]) + _background(values, bar))
    middle = (bar.x0 + bar.x1) // 2 - start
    left = _crossing(profile, middle, level, step=-1)
    right = _crossing(profile, middle, level, step=1)
    if left is None or right is None:
        return float(bar.x1 - bar.x0)
    return right - left


def _tick_centre(values: np.ndarray, bar: _Bar, *, right: bool) -> float:
    """Column (sub-pixel) of the centre of the left or right end tick."""
    zone = max(END_ZONE_MIN_PX, math.ceil(END_ZONE_FRACTION * (bar.x1 - bar.x0)))
    start, stop = (bar.x1 - zone, bar.x1) if right else (bar.x0, bar.x0 + zone)
    start, stop = max(start - PROFILE_MARGIN_PX, 0), min(stop + PROFILE_MARGIN_PX, values.shape[1])
    rows = _tick_rows(bar)
    profile = values[rows, start:stop].mean(axis=0)
    peak = int(np.argmax(profile))
    level = 0.5 * (profile[peak] + float(np.median(profile)))
    left = _crossing(profile, peak, level, step=-1)
    right_edge = _crossing(profile, peak, level, step=1)
    if left is None or right_edge is None:
        return float(start + peak)
    return start + 0.5 * (left + right_edge)


def _tick_rows(bar: _Bar) -> np.ndarray:
    """Rows of the ticks above and below the body, skipping the row next to it (blur)."""
    above = np.arange(bar.y0, bar.core_y0 - 1)
    below = np.arange(bar.core_y1 + 1, bar.y1)
    rows = np.concatenate([above, below])
    return (
        rows
        if rows.size
        else np.concatenate([np.arange(bar.y0, bar.core_y0), np.arange(bar.core_y1, bar.y1)])
    )


def _columns(values: np.ndarray, bar: _Bar, margin: int) -> tuple[int, int]:
    """Column range of the bar widened by ``margin`` on both sides, clipped to the image."""
    return max(bar.x0 - margin, 0), min(bar.x1 + margin, values.shape[1])


def _background(values: np.ndarray, bar: _Bar) -> float:
    """Median level of the rows just above and below the body (over the bar's middle half)."""
    thickness = bar.core_y1 - bar.core_y0
    gap = max(2, thickness)
    quarter = (bar.x1 - bar.x0) // 4
    columns = slice(bar.x0 + quarter, bar.x1 - quarter)
    above = values[max(bar.core_y0 - gap - 2, 0) : max(bar.core_y0 - gap, 0), columns]
    below = values[bar.core_y1 + gap : bar.core_y1 + gap + 2, columns]
    samples = np.concatenate([above.ravel(), below.ravel()])
    return float(np.median(samples)) if samples.size else 0.0


def _crossing(profile: np.ndarray, start: int, level: float, *, step: int) -> float | None:
    """Sub-pixel index where ``profile`` first drops below ``level`` walking from ``start``."""
    if profile[start] < level:
        return None
    index = start
    while 0 <= index + step < profile.size:
        nxt = index + step
        if profile[nxt] < level:
            fraction = (profile[index] - level) / (profile[index] - profile[nxt])
            return index + step * float(fraction)
        index = nxt
    return None


# --- label search ----------------------------------------------------------------------------


def _label_crop(shape: tuple[int, ...], bar: _Bar) -> tuple[int, int, int, int]:
    """Region ``(x0, y0, x1, y1)`` around a bar where its label is searched."""
    rows, columns = shape[:2]
    half = (bar.x1 - bar.x0) // 2
    pad_y = max(LABEL_SEARCH_MIN_PX, int(LABEL_SEARCH_HEIGHT_FRACTION * rows))
    pad_x = max(LABEL_SEARCH_MIN_PX, int(LABEL_SEARCH_WIDTH_FRACTION * columns), half)
    return (
        max(bar.x0 - pad_x, 0),
        max(bar.y0 - pad_y, 0),
        min(bar.x1 + pad_x, columns),
        min(bar.y1 + pad_y, rows),
    )


def _find_label(gray: np.ndarray, bar: _Bar) -> _Label | None:
    """OCR a crop around the bar; the parseable line nearest the bar, within a few text heights."""
    x0, y0, x1, y1 = _label_crop(gray.shape, bar)
    crop = _erase_bar(gray, bar)[y0:y1, x0:x1]
    label = _nearest_label(crop, bar, (x0, y0))
    return label if label is not None else _nearest_label(_ink_only(crop, gray, bar), bar, (x0, y0))


def _erase_bar(gray: np.ndarray, bar: _Bar) -> np.ndarray:
    """A copy with the bar's ink (body and ticks) painted in the background level.

    Stops OCR from reading a tick next to the label as a "1" or an "l".
    """
    values = gray if bar.light else 1.0 - gray
    background = _background(values, bar)
    body = float(np.median(values[bar.core_y0 : bar.core_y1, bar.x0 : bar.x1]))
    zone = max(END_ZONE_MIN_PX, math.ceil(END_ZONE_FRACTION * (bar.x1 - bar.x0)))
    regions = [(slice(bar.core_y0, bar.core_y1), slice(bar.x0, bar.x1))]
    if bar.has_ticks:
        regions += [(slice(bar.y0, bar.y1), slice(x, x + zone)) for x in (bar.x0, bar.x1 - zone)]
    ink = np.zeros(values.shape, dtype=bool)
    for rows, columns in regions:
        ink[rows, columns] = values[rows, columns] > 0.5 * (body + background)
    erased = np.where(
        ndimage.binary_dilation(ink, iterations=ERASE_DILATION_PX), background, values
    )
    return erased if bar.light else 1.0 - erased


def _ink_only(crop: np.ndarray, gray: np.ndarray, bar: _Bar) -> np.ndarray:
    """The crop binarised between its median and the bar's ink level: dark text on white.

    Helps OCR with labels drawn straight on a textured micrograph, without a backing box.
    """
    values, ink = (crop, gray) if bar.light else (1.0 - crop, 1.0 - gray)
    ink_level = float(np.median(ink[bar.core_y0 : bar.core_y1, bar.x0 : bar.x1]))
    base = float(np.median(values))
    return np.where(values > base + INK_LEVEL_FRACTION * (ink_level - base), 0.0, 1.0)


def _nearest_label(crop: np.ndarray, bar: _Bar, offset: tuple[int, int]) -> _Label | None:
    """The parseable OCR line of ``crop`` nearest the bar, within a few text heights.

    Args:
        crop: The image region searched; ``offset`` is its top-left corner in the image.
        bar: The candidate bar (image coordinates).
        offset: ``(x, y)`` of the crop in the image.
    """
    lines = merge_lines(read_text(crop))
    candidates = []
    for line in lines:
        label = _interpret(line) or _reread_bare_unit(crop, line, _left_limit(line, lines))
        if label is None:
            continue
        gap = _gap(_shift(label.box.bbox, *offset), bar)
        if gap <= LABEL_MAX_GAP_HEIGHTS * max(label.box.height, 1):
            candidates.append((gap, -label.box.confidence, label, line))
    if not candidates:
        return None
    _, _, label, line = min(candidates, key=lambda item: item[:2])
    if _interpret(line) is not None:  # detected with its number: check for a dropped digit
        label = _with_dropped_digits(crop, label, _left_limit(line, lines))
    box = label.box
    return replace(label, box=TextBox(box.text, _shift(box.bbox, *offset), box.confidence))


def _left_limit(line: TextBox, lines: list[TextBox]) -> int:
    """First column right of the nearest other text box left of ``line`` on its row (else 0)."""
    x0, y0, _, y1 = line.bbox
    edges = [
        other.bbox[2]
        for other in lines
        if other is not line
        and other.bbox[2] <= x0
        and min(y1, other.bbox[3]) > max(y0, other.bbox[1])
    ]
    return max(edges) + 1 if edges else 0


def _with_dropped_digits(crop: np.ndarray, label: _Label, left_limit: int) -> _Label:
    """Re-read a label's line widened to the left; keep the re-read if it only adds leading digits.

    The detector sometimes drops the first digit ("50 µm" read as "0 µm"). The widening
    stops at ``left_limit``, short of the neighbouring text box.
    """
    x0, y0, x1, y1 = label.box.bbox
    height = max(y1 - y0, 1)
    left, top = max(x0 - height, left_limit), max(y0 - height // 8, 0)
    if left >= x0:
        return label
    bottom, right = min(y1 + height // 8, crop.shape[0]), min(x1 + height // 2, crop.shape[1])
    line = read_line(crop[top:bottom, left:right])
    if line is None or line.confidence < REREAD_MIN_CONFIDENCE:
        return label
    reread = _interpret(TextBox(line.text, (left, top, x1, y1), line.confidence))
    if reread is None or reread.token != label.token or reread.value == label.value:
        return label
    old_digits, new_digits = (re.sub(r"\D", "", text) for text in (label.box.text, reread.box.text))
    if not new_digits.endswith(old_digits):
        return label
    note = "leading digit recovered by re-reading the line"
    return replace(
        reread,
        box=replace(reread.box, confidence=label.box.confidence),
        notes=(*reread.notes, note),
    )


def _reread_bare_unit(gray: np.ndarray, box: TextBox, left_limit: int) -> _Label | None:
    """A line read as a bare unit ("µm"): re-read it widened to the left, where its number is.

    The text detector tends to drop a lone narrow digit such as the "1" of "1 µm".
    """
    token = box.text.strip().replace("\u03bc", MICRO)
    if not _BARE_UNIT.match(token) or (
        _canonical_unit(token) is None and not _micro_suspect(token)
    ):
        return None
    x0, y0, x1, y1 = box.bbox
    widen, margin = int(BARE_UNIT_WIDEN_HEIGHTS * box.height), max(1, box.height // 8)
    left, top = max(x0 - widen, left_limit), max(y0 - margin, 0)
    line = read_line(
        gray[top : min(y1 + margin, gray.shape[0]), left : min(x1 + margin, gray.shape[1])]
    )
    if line is None:
        return None
    label = _interpret(TextBox(line.text, (left, top, x1, y1), line.confidence))
    return (
        None
        if label is None
        else replace(label, notes=(*label.notes, "number re-read beside its unit"))
    )


def _shift(bbox: tuple[int, int, int, int], dx: int, dy: int) -> tuple[int, int, int, int]:
    """Translate a bbox by ``(dx, dy)``."""
    return bbox[0] + dx, bbox[1] + dy, bbox[2] + dx, bbox[3] + dy


def _gap(bbox: tuple[int, int, int, int], bar: _Bar) -> int:
    """Largest of the horizontal and vertical gaps between a box and the bar (0 if touching)."""
    horizontal = max(0, bbox[0] - bar.x1, bar.x0 - bbox[2])
    vertical = max(0, bbox[1] - bar.y1, bar.y0 - bbox[3])
    return max(horizontal, vertical)


def _micro_in_context(gray: np.ndarray, bar: _Bar, label: _Label) -> str | None:
    """Another text in the bar's databar band that reads "<number> µm", or None."""
    top = max(min(bar.y0, label.box.bbox[1]) - LABEL_SEARCH_MIN_PX, 0)
    bottom = min(max(bar.y1, label.box.bbox[3]) + LABEL_SEARCH_MIN_PX, gray.shape[0])
    for line in merge_lines(read_text(gray[top:bottom])):
        found = [
            matched for _, token, matched in _number_unit_pairs(line.text) if token == f"{MICRO}m"
        ]
        if found:
            return found[0]
    return None


# --- µ recovery ------------------------------------------------------------------------------


def _resolve_unit(
    gray: np.ndarray, bar: _Bar, label: _Label, length_px: float
) -> tuple[_Label, float]:
    """Give a label whose unit looks like a misread µ its unit, and a confidence factor.

    Returns:
        The label with ``unit`` set, and the factor (<= 1) to multiply the confidence by.

    Raises:
        ToolError: Neither the unit as read nor µm is possible.
    """
    if label.unit is not None:
        return label, 1.0
    as_read = _canonical_unit(label.token)
    read_ok = as_read is not None and _plausible(label.value * _unit_nm(as_read) / length_px)
    micro_ok = _plausible(label.value * 1e3 / length_px)
    context = _micro_in_context(gray, bar, label) if micro_ok else None
    text = f"'{label.box.text}'"
    if context is not None:
        note = f"{MICRO} recovered from context: OCR read {text}, another databar field reads '{context}'"
        return replace(label, unit=f"{MICRO}m", notes=(note,)), CONTEXT_MICRO_CONFIDENCE
    if micro_ok and not read_ok:
        note = f"{MICRO} recovered: OCR read {text}; {MICRO}m is the only physically plausible unit"
        return replace(label, unit=f"{MICRO}m", notes=(note,)), PLAUSIBILITY_MICRO_CONFIDENCE
    if as_read is not None:
        note = f"unit of {text} kept as read ({as_read}) but it may be a misread {MICRO}m"
        return replace(label, unit=as_read, notes=(note,)), AMBIGUOUS_UNIT_CONFIDENCE
    raise ToolError(
        f"scale-bar label {text} has no readable length unit; expected e.g. '1 {MICRO}m' or "
        "'200 nm'. Hint: give the pixel size from the instrument metadata instead."
    )


def _plausible(nm_per_pixel: float) -> bool:
    """True inside ``PLAUSIBLE_NM_PER_PIXEL``."""
    return PLAUSIBLE_NM_PER_PIXEL[0] <= nm_per_pixel <= PLAUSIBLE_NM_PER_PIXEL[1]


# --- calibration -----------------------------------------------------------------------------


def calibrate_scale_bar(
    image: str | os.PathLike | np.ndarray | LoadedImage, *, use_metadata: bool = True
) -> ScaleBarReading:
    """Pixel size of a micrograph from its scale bar (and its instrument metadata, if any).

    Args:
        image: Image path, pixel array (``(H, W)`` or ``(H, W, 3|4)``), or a ``LoadedImage``.
        use_metadata: Return the file's instrument pixel size (``method="metadata"``) when
            it has one; the bar is still read and compared.

    Returns:
        The reading; ``nm_per_pixel`` is the answer, in nm per pixel.

    Raises:
        ToolError: Unreadable image, no contrast, no scale bar, or an unreadable label.
    """
    loaded = _as_loaded(image)
    metadata = loaded.metadata_nm_per_pixel if use_metadata else None
    try:
        reading = _read_bar(loaded.pixels)
    except ToolError as error:
        if metadata is None:
            raise
        return _metadata_only(metadata, loaded.metadata_source, str(error))
    return (
        reading if metadata is None else _with_metadata(reading, metadata, loaded.metadata_source)
    )


def _as_loaded(image: str | os.PathLike | np.ndarray | LoadedImage) -> LoadedImage:
    """Whatever was given -> ``LoadedImage`` (arrays carry no metadata)."""
    if isinstance(image, LoadedImage):
        return image
    if isinstance(image, np.ndarray):
        return LoadedImage(to_gray(image), None)
    if isinstance(image, (str, os.PathLike)):
        return load_image(image)
    raise ToolError(
        f"image has type {type(image).__name__}; expected a file path, a numpy array or a "
        "LoadedImage. Hint: pass the attachment's path or its pixels."
    )


def _read_bar(gray: np.ndarray) -> ScaleBarReading:
    """Find the bar with a label, measure it, and return the scale-bar reading."""
    contrast = float(gray.max() - gray.min())
    if contrast < MIN_IMAGE_CONTRAST:
        raise ToolError(
            f"image has no contrast (gray levels span {contrast:.3f} of full scale; expected a "
            f"scale bar standing out by at least {MIN_IMAGE_CONTRAST}). Hint: the image is blank "
            "or saturated; check that the right attachment was passed."
        )
    bars = _find_bars(gray)
    for bar in bars:
        label = _find_label(gray, bar)
        if label is not None:
            return _reading(gray, bar, label)
    raise ToolError(_no_bar_message(len(bars)))


def _no_bar_message(n_candidates: int) -> str:
    """ToolError text when no bar with a label was found."""
    found = (
        f"{n_candidates} bar-like line(s) were found but none had a readable length label "
        "(e.g. '1 \u00b5m') next to it"
        if n_candidates
        else "no solid horizontal bar that stays clear of the image edges was found"
    )
    return (
        f"no scale bar found: {found}; expected a bar at least {MIN_BAR_LENGTH_PX} px long with "
        "a label such as '200 nm' above, below or beside it. Hint: use the instrument metadata, "
        "or crop the image so the databar with the scale bar is included."
    )


def _reading(gray: np.ndarray, bar: _Bar, label: _Label) -> ScaleBarReading:
    """Assemble the reading of a bar and its label."""
    length = _bar_length(gray, bar)
    label, factor = _resolve_unit(gray, bar, label, length)
    unit = label.unit or ""
    nm_per_pixel = label.value * _unit_nm(unit) / length
    return ScaleBarReading(
        bar_length_px=round(length, 3),
        value=label.value,
        unit=unit,
        nm_per_pixel=nm_per_pixel,
        label_text=label.box.text,
        bbox=(int(bar.x0), int(bar.y0), int(bar.x1), int(bar.y1)),
        method="scale_bar",
        confidence=round(min(max(label.box.confidence * factor, 0.0), 1.0), 3),
        bar_nm_per_pixel=nm_per_pixel,
        notes=list(label.notes),
    )


def _with_metadata(
    reading: ScaleBarReading, metadata: float, source: str | None
) -> ScaleBarReading:
    """Switch a bar reading to the instrument pixel size, recording whether they agree."""
    bar = reading.bar_nm_per_pixel or reading.nm_per_pixel
    agrees = abs(bar / metadata - 1.0) <= AGREEMENT_TOLERANCE
    note = f"pixel size from {source}: {metadata:g} nm/px; scale bar gives {bar:.4g} nm/px"
    if not agrees:
        note += f" (differs by {100 * (bar / metadata - 1):+.1f} %)"
    return reading.model_copy(
        update={
            "nm_per_pixel": metadata,
            "method": "metadata",
            "confidence": METADATA_CONFIDENCE if agrees else METADATA_ONLY_CONFIDENCE,
            "agrees_with_metadata": agrees,
            "notes": [*reading.notes, note],
        }
    )


def _metadata_only(metadata: float, source: str | None, reason: str) -> ScaleBarReading:
    """Reading from metadata alone when the bar could not be read (bar fields left empty)."""
    return ScaleBarReading(
        bar_length_px=0.0,
        value=metadata,
        unit="nm",
        nm_per_pixel=metadata,
        label_text="",
        bbox=(0, 0, 0, 0),
        method="metadata",
        confidence=METADATA_ONLY_CONFIDENCE,
        notes=[f"pixel size from {source}; the scale bar could not be read: {reason}"],
    )
