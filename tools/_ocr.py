"""OCR for short instrument labels (scale-bar labels, databar fields) with RapidOCR.

RapidOCR (PP-OCRv4 detection + recognition run by onnxruntime) ships its ONNX models in
the wheel, so it works offline with no system package. It was chosen over Tesseract in
``benchmarks/ocr_engines.py`` (see ``benchmarks/results/ocr_engines.md``).

The engine is created lazily on first use, once per process, and guarded by a lock: the
RapidOCR object keeps per-call state, so calls are serialised.
"""

from __future__ import annotations

import functools
import itertools
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["TextBox", "merge_lines", "ocr_engine", "read_line", "read_text"]

OCR_PAD_PX = 8
"""Border added around the crop (edge-replicated) so text touching the crop edge is detected."""

OCR_MIN_SCORE = 0.3
"""Recognition score below which RapidOCR drops a text line."""

OCR_DETECTION_LIMIT = "max"
"""Detector resizing rule: only shrink big inputs, never enlarge small crops (fast on crops)."""

_ENGINE_LOCK = threading.Lock()


@dataclass(frozen=True)
class TextBox:
    """One line of text found by OCR.

    Attributes:
        text: The recognised string (as the engine returns it; μ may be U+03BC).
        bbox: ``(x0, y0, x1, y1)`` in pixels of the input array, x1/y1 exclusive.
        confidence: Recognition score in ``[0, 1]``.
    """

    text: str
    bbox: tuple[int, int, int, int]
    confidence: float

    @property
    def height(self) -> int:
        """Box height in pixels."""
        return self.bbox[3] - self.bbox[1]


@functools.cache
def ocr_engine() -> Any:
    """The process-wide RapidOCR engine (created on first call; about 0.2 s)."""
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR(use_cls=False, det_limit_type=OCR_DETECTION_LIMIT, text_score=OCR_MIN_SCORE)


def read_text(gray: np.ndarray) -> list[TextBox]:
    """Find and read the text lines in a grayscale image.

    Args:
        gray: ``(H, W)`` grayscale, float in ``[0, 1]`` or uint8. Both polarities work.

    Returns:
        Text boxes in the engine's reading order (top to bottom, left to right); empty when
        there is no text.

    Example:
        >>> read_text(np.zeros((32, 32)))
        []
    """
    from rapidocr_onnxruntime.utils.process_img import ResizeImgError

    image = _to_rgb_uint8(gray)
    with _ENGINE_LOCK:
        engine = ocr_engine()
        try:
            result, _ = engine(image)
        except ResizeImgError:  # a crop so elongated that it shrinks to 0 px rows holds no text
            return []
    return [_to_box(item, gray.shape) for item in (result or [])]


def _to_rgb_uint8(gray: np.ndarray) -> np.ndarray:
    """``(H, W)`` float [0, 1] or uint8 -> padded ``(H + 2p, W + 2p, 3)`` uint8."""
    data = np.asarray(gray)
    if data.dtype != np.uint8:
        data = np.round(np.clip(data, 0.0, 1.0) * 255.0).astype(np.uint8)
    padded = np.pad(data, OCR_PAD_PX, mode="edge")
    return np.repeat(padded[..., None], 3, axis=2)


def _to_box(item: list[Any], shape: tuple[int, ...]) -> TextBox:
    """RapidOCR ``[points, text, score]`` -> TextBox in unpadded input coordinates."""
    points = np.asarray(item[0], dtype=float) - OCR_PAD_PX
    height, width = shape[:2]
    x0, y0 = np.floor(points.min(axis=0)).astype(int)
    x1, y1 = np.ceil(points.max(axis=0)).astype(int)
    bbox = (max(int(x0), 0), max(int(y0), 0), min(int(x1), width), min(int(y1), height))
    return TextBox(str(item[1]), bbox, float(item[2]))


LINE_MIN_VERTICAL_OVERLAP = 0.5
"""Two boxes are on one line when they overlap vertically by this fraction of the smaller height."""

LINE_MAX_GAP_HEIGHTS = 1.0
"""Two boxes on one line merge when the horizontal gap is at most this many text heights."""


OVERLAP_REREAD_PX = 2
"""Boxes of one line overlapping by at least this much read some glyphs twice."""


def read_lines(gray: np.ndarray) -> list[TextBox]:
    """Text lines of ``gray``: detected boxes merged per line, left to right.

    A line whose boxes overlap was partly read twice by the detector ("10 nm" as "101" and
    "nm"); it is recognised again as a whole.
    """
    boxes = read_text(gray)
    return [_reread_overlapping(gray, line, boxes) for line in merge_lines(boxes)]


def _inside(box: TextBox, line: TextBox) -> bool:
    (x0, y0, x1, y1), (lx0, ly0, lx1, ly1) = box.bbox, line.bbox
    return lx0 <= x0 and ly0 <= y0 and x1 <= lx1 and y1 <= ly1


def _reread_overlapping(gray: np.ndarray, line: TextBox, boxes: list[TextBox]) -> TextBox:
    parts = sorted((b for b in boxes if _inside(b, line)), key=lambda b: b.bbox[0])
    overlapping = any(left.bbox[2] - right.bbox[0] >= OVERLAP_REREAD_PX
                      for left, right in itertools.pairwise(parts))
    if not overlapping:
        return line
    x0, y0, x1, y1 = line.bbox
    pad = max(1, (y1 - y0) // 8)
    top, left = max(y0 - pad, 0), max(x0 - pad, 0)
    reread = read_line(gray[top : y1 + pad, left : x1 + pad])
    return line if reread is None else TextBox(reread.text, line.bbox, reread.confidence)


def merge_lines(boxes: list[TextBox]) -> list[TextBox]:
    """Join boxes that the detector split within one text line ("1" + "µm" -> "1 µm").

    Args:
        boxes: Text boxes from ``read_text``.

    Returns:
        Boxes sorted left to right, neighbours on a line merged (texts joined by a space,
        confidence the minimum of the parts).
    """
    merged: list[TextBox] = []
    for box in sorted(boxes, key=lambda b: (b.bbox[0], b.bbox[1])):
        partner = next((i for i, other in enumerate(merged) if _same_line(other, box)), None)
        if partner is None:
            merged.append(box)
        else:
            merged[partner] = _join(merged[partner], box)
    return merged


def _same_line(left: TextBox, right: TextBox) -> bool:
    """True when ``right`` continues the line of ``left`` (vertical overlap, small gap)."""
    overlap = min(left.bbox[3], right.bbox[3]) - max(left.bbox[1], right.bbox[1])
    gap = right.bbox[0] - left.bbox[2]
    height = max(left.height, right.height)
    return overlap >= LINE_MIN_VERTICAL_OVERLAP * min(left.height, right.height) and (
        gap <= LINE_MAX_GAP_HEIGHTS * height
    )


def _join(left: TextBox, right: TextBox) -> TextBox:
    """One box spanning both, texts joined by a space."""
    bbox = (
        min(left.bbox[0], right.bbox[0]),
        min(left.bbox[1], right.bbox[1]),
        max(left.bbox[2], right.bbox[2]),
        max(left.bbox[3], right.bbox[3]),
    )
    return TextBox(f"{left.text} {right.text}", bbox, min(left.confidence, right.confidence))


def read_line(gray: np.ndarray) -> TextBox | None:
    """Recognise one text line without detection (for a region already known to hold it).

    The detector sometimes drops a lone narrow glyph such as the "1" of "1 µm"; reading the
    widened line region with the recogniser alone recovers it.

    Args:
        gray: ``(H, W)`` grayscale crop holding a single line, float in ``[0, 1]`` or uint8.

    Returns:
        The line (bbox = the whole crop), or None when nothing was recognised.
    """
    image = _to_rgb_uint8(gray)
    with _ENGINE_LOCK:
        result, _ = ocr_engine()(image, use_det=False, use_cls=False)
    if not result or not str(result[0][0]).strip():
        return None
    text, score = result[0]
    return TextBox(str(text), (0, 0, gray.shape[1], gray.shape[0]), float(score))
