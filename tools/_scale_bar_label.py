"""Reading the scale bar's label: OCR beside the bar, value and unit, a misread µ recovered.

The label is read by OCR on a crop around the bar with the bar's own ink erased, parsed
into a number and a length unit with pint; a µ that OCR misread ("1 m", "1 jm") is recovered
from another databar field in µm or from physical plausibility, always with a note and a
lower confidence.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

import numpy as np
import pint
from scipy import ndimage

from csmbench.errors import ToolError
from csmbench.units import UREG

from ._ocr import TextBox, read_line, read_lines
from ._scale_bar_find import END_ZONE_FRACTION, END_ZONE_MIN_PX, Bar, background_level

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
WORD_GAP_HEIGHTS = 0.18
"""Ink-free gaps at least this many line heights wide separate words."""
OCR_RETRY_ZOOM = 2
"""Enlargement of the label crop for the last OCR attempt (small fonts)."""
LABEL_MAX_GAP_HEIGHTS = 3.0
"""A label belongs to a bar when within this many text heights of it."""
PLAUSIBLE_NM_PER_PIXEL = (1e-3, 1e5)
"""Pixel sizes a micrograph can have (HRTEM to low-magnification optical), nm/px."""
CONTEXT_MICRO_CONFIDENCE = 0.7
PLAUSIBILITY_MICRO_CONFIDENCE = 0.5
AMBIGUOUS_UNIT_CONFIDENCE = 0.2

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



@dataclass(frozen=True)
class Label:
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
        if value > 0:  # a bar of length 0 is a misread ("10" read as "0")
            pairs.append((value, match.group(2), text[match.start() : match.end()]))
    return pairs


def _canonical_unit(token: str) -> str | None:
    """Canonical symbol of a metric length token ("um" -> "µm"), via pint; None otherwise."""
    if not _LENGTH_TOKEN.match(token):
        return None
    try:
        unit = UREG.Unit(token.replace("u", MICRO))
    except (pint.errors.PintError, ValueError):
        return None
    return _CANONICAL_UNITS.get(str(unit))


def unit_nm(unit: str) -> float:
    """Nanometres in one ``unit`` (pint)."""
    return float(UREG.Quantity(1.0, unit).to(UREG.nanometer).magnitude)


def _interpret(box: TextBox) -> Label | None:
    """Label from an OCR line: a clean length unit first, else a µ-lookalike ("1 jm", "1 m")."""
    pairs = _number_unit_pairs(box.text)
    for value, token, matched in pairs:
        unit = _canonical_unit(token)
        if unit is not None and not _micro_suspect(token):
            note = (f"OCR read '{token}' as {MICRO}m",) if token.startswith("u") else ()
            return Label(value, unit, token, _sub_box(box, matched), note)
    suspects = [(value, token, matched) for value, token, matched in pairs if _micro_suspect(token)]
    if not suspects:
        return None
    value, token, matched = suspects[0]
    return Label(value, None, token, _sub_box(box, matched))


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



# --- label search ----------------------------------------------------------------------------


def _label_crop(shape: tuple[int, ...], bar: Bar) -> tuple[int, int, int, int]:
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


def find_label(gray: np.ndarray, bar: Bar) -> Label | None:
    """OCR a crop around the bar; the parseable line nearest the bar, within a few text heights.

    Tries the crop as it is, then binarised (labels on a textured specimen), then enlarged
    (small labels the text detector misses at their own size).
    """
    x0, y0, x1, y1 = _label_crop(gray.shape, bar)
    crop = _erase_bar(gray, bar)[y0:y1, x0:x1]
    label = _nearest_label(crop, bar, (x0, y0))
    if label is None:
        label = _nearest_label(_ink_only(crop, gray, bar), bar, (x0, y0))
    if label is None:
        label = _nearest_label_enlarged(crop, bar, (x0, y0))
    return label


def _nearest_label_enlarged(crop: np.ndarray, bar: Bar, offset: tuple[int, int]) -> Label | None:
    """``_nearest_label`` on the crop enlarged ``OCR_RETRY_ZOOM`` times, in image coordinates."""
    zoom = OCR_RETRY_ZOOM
    big = ndimage.zoom(crop, zoom, order=1)
    scaled = replace(bar, x0=bar.x0 * zoom, y0=bar.y0 * zoom, x1=bar.x1 * zoom,
                     y1=bar.y1 * zoom, core_y0=bar.core_y0 * zoom, core_y1=bar.core_y1 * zoom)
    label = _nearest_label(big, scaled, (offset[0] * zoom, offset[1] * zoom))
    if label is None:
        return None
    bbox = tuple(v // zoom for v in label.box.bbox)
    return replace(label, box=replace(label.box, bbox=bbox))


def _erase_bar(gray: np.ndarray, bar: Bar) -> np.ndarray:
    """A copy with the bar's ink (body and ticks) painted in the background level.

    Stops OCR from reading a tick next to the label as a "1" or an "l".
    """
    values = gray if bar.light else 1.0 - gray
    background = background_level(values, bar)
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


def _ink_only(crop: np.ndarray, gray: np.ndarray, bar: Bar) -> np.ndarray:
    """The crop binarised between its median and the bar's ink level: dark text on white.

    Helps OCR with labels drawn straight on a textured micrograph, without a backing box.
    """
    values, ink = (crop, gray) if bar.light else (1.0 - crop, 1.0 - gray)
    ink_level = float(np.median(ink[bar.core_y0 : bar.core_y1, bar.x0 : bar.x1]))
    base = float(np.median(values))
    return np.where(values > base + INK_LEVEL_FRACTION * (ink_level - base), 0.0, 1.0)


def _nearest_label(crop: np.ndarray, bar: Bar, offset: tuple[int, int]) -> Label | None:
    """The parseable OCR line of ``crop`` nearest the bar, within a few text heights.

    Args:
        crop: The image region searched; ``offset`` is its top-left corner in the image.
        bar: The candidate bar (image coordinates).
        offset: ``(x, y)`` of the crop in the image.
    """
    lines = read_lines(crop)
    candidates = []
    for line in lines:
        label = _interpret(line) or _reread_bare_unit(crop, line, _left_limit(line, lines))
        if label is not None and _glued(line.text, label):
            label = _reread_words(crop, line, bar, offset)
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


def _glued(text: str, label: Label) -> bool:
    """True when the label's number runs into the text before it ("SS30200nm", "x56550 µm"):
    OCR joined a neighbouring databar field to the label."""
    start = text.find(label.box.text)
    before = text[start - 1] if start > 0 else " "
    return before.isalnum() or len(re.sub(r"\D", "", f"{label.value:g}").strip("0")) >= 3


def _words(crop: np.ndarray, box: TextBox) -> list[tuple[int, int]]:
    """Column ranges of the words in a line box, split where ink-free gaps are wide."""
    x0, y0, x1, y1 = box.bbox
    region = crop[y0:y1, x0:x1]
    deviation = np.abs(region - np.median(region))
    ink = (deviation > 0.5 * max(float(deviation.max()), 1e-6)).any(axis=0)
    min_gap = max(2, round(WORD_GAP_HEIGHTS * (y1 - y0)))
    words, start, blank = [], None, 0
    for column, has_ink in enumerate(ink):
        if has_ink:
            if start is None:
                start = column
            blank, end = 0, column + 1
        elif start is not None:
            blank += 1
            if blank >= min_gap:
                words.append((x0 + start, x0 + end))
                start = None
    if start is not None:
        words.append((x0 + start, x0 + end))
    return words


def _reread_words(crop: np.ndarray, line: TextBox, bar: Bar,
                  offset: tuple[int, int]) -> Label | None:
    """Re-read single words and adjacent pairs of a glued line; the label nearest the bar."""
    words = _words(crop, line)
    _, y0, _, y1 = line.bbox
    pad = max(1, (y1 - y0) // 8)
    found = []
    for first, last in [(i, i) for i in range(len(words))] + [
            (i, i + 1) for i in range(len(words) - 1)]:
        left, right = words[first][0], words[last][1]
        read = read_line(crop[max(y0 - pad, 0):y1 + pad, max(left - pad, 0):right + pad])
        label = None if read is None else _interpret(
            TextBox(read.text, (left, y0, right, y1), read.confidence))
        if label is not None and not _glued(read.text, label):
            found.append((_gap(_shift(label.box.bbox, *offset), bar), label))
    return min(found, key=lambda item: item[0])[1] if found else None


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


ROUND_MANTISSAS = (1.0, 2.0, 2.5, 3.0, 5.0)
"""Scale bars stand for 1, 2, 2.5, 3 or 5 times a power of ten (instruments' series)."""


def _round_bar_value(value: float) -> bool:
    """True for 1, 2, 2.5, 3 or 5 times a power of ten."""
    if not value > 0:
        return False
    mantissa = value / 10 ** math.floor(math.log10(value))
    return any(math.isclose(mantissa, m, rel_tol=1e-6) for m in ROUND_MANTISSAS)


def _with_dropped_digits(crop: np.ndarray, label: Label, left_limit: int) -> Label:
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
    if _round_bar_value(label.value) and not _round_bar_value(reread.value):
        return label  # "50 µm" is a bar value, "550 µm" (a digit of a neighbour) is not
    note = "leading digit recovered by re-reading the line"
    return replace(
        reread,
        box=replace(reread.box, confidence=label.box.confidence),
        notes=(*reread.notes, note),
    )


def _reread_bare_unit(gray: np.ndarray, box: TextBox, left_limit: int) -> Label | None:
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


def _gap(bbox: tuple[int, int, int, int], bar: Bar) -> int:
    """Largest of the horizontal and vertical gaps between a box and the bar (0 if touching)."""
    horizontal = max(0, bbox[0] - bar.x1, bar.x0 - bbox[2])
    vertical = max(0, bbox[1] - bar.y1, bar.y0 - bbox[3])
    return max(horizontal, vertical)


def _micro_in_context(gray: np.ndarray, bar: Bar, label: Label) -> str | None:
    """Another text in the bar's databar band that reads "<number> µm", or None."""
    top = max(min(bar.y0, label.box.bbox[1]) - LABEL_SEARCH_MIN_PX, 0)
    bottom = min(max(bar.y1, label.box.bbox[3]) + LABEL_SEARCH_MIN_PX, gray.shape[0])
    for line in read_lines(gray[top:bottom]):
        found = [
            matched for _, token, matched in _number_unit_pairs(line.text) if token == f"{MICRO}m"
        ]
        if found:
            return found[0]
    return None



# --- µ recovery ------------------------------------------------------------------------------


def resolve_unit(
    gray: np.ndarray, bar: Bar, label: Label, length_px: float
) -> tuple[Label, float]:
    """Give a label whose unit looks like a misread µ its unit, and a confidence factor.

    Returns:
        The label with ``unit`` set, and the factor (<= 1) to multiply the confidence by.

    Raises:
        ToolError: Neither the unit as read nor µm is possible.
    """
    if label.unit is not None:
        return label, 1.0
    as_read = _canonical_unit(label.token)
    read_ok = as_read is not None and plausible_nm_per_pixel(label.value * unit_nm(as_read) / length_px)
    micro_ok = plausible_nm_per_pixel(label.value * 1e3 / length_px)
    # A bare "m" may equally be "nm" with the n dropped: then µm is not the only candidate.
    nano_ok = label.token == "m" and plausible_nm_per_pixel(label.value / length_px)
    context = _micro_in_context(gray, bar, label) if micro_ok else None
    text = f"'{label.box.text}'"
    if context is not None:
        note = f"{MICRO} recovered from context: OCR read {text}, another databar field reads '{context}'"
        return replace(label, unit=f"{MICRO}m", notes=(note,)), CONTEXT_MICRO_CONFIDENCE
    if micro_ok and not read_ok and not nano_ok:
        note = f"{MICRO} recovered: OCR read {text}; {MICRO}m is the only physically plausible unit"
        return replace(label, unit=f"{MICRO}m", notes=(note,)), PLAUSIBILITY_MICRO_CONFIDENCE
    if as_read is not None:
        note = f"unit of {text} kept as read ({as_read}) but it may be a misread {MICRO}m"
        return replace(label, unit=as_read, notes=(note,)), AMBIGUOUS_UNIT_CONFIDENCE
    raise ToolError(
        f"scale-bar label {text} has no readable length unit; expected e.g. '1 {MICRO}m' or "
        "'200 nm'. Hint: give the pixel size from the instrument metadata instead."
    )


def plausible_nm_per_pixel(nm_per_pixel: float) -> bool:
    """True inside ``PLAUSIBLE_NM_PER_PIXEL``."""
    return PLAUSIBLE_NM_PER_PIXEL[0] <= nm_per_pixel <= PLAUSIBLE_NM_PER_PIXEL[1]


