"""Scale-bar calibration: find the bar, read its label, return nm per pixel.

Bar finding and measuring live in ``_scale_bar_find``, label reading in ``_scale_bar_label``.
When the file carries the instrument's own calibration (TIFF tags), that is the answer
(``method="metadata"``) and the bar, when it can be read, says whether it agrees.
"""

from __future__ import annotations

import os
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from csmbench.errors import ToolError

from ._image_io import LoadedImage, load_image, to_gray
from ._scale_bar_find import MIN_BAR_LENGTH_PX, MIN_IMAGE_CONTRAST, Bar, bar_length, find_bars
from ._scale_bar_label import (
    PLAUSIBLE_NM_PER_PIXEL,
    Label,
    find_label,
    parse_scale_label,
    plausible_nm_per_pixel,
    resolve_unit,
    unit_nm,
)

__all__ = ["ScaleBarReading", "calibrate_scale_bar", "parse_scale_label"]

AGREEMENT_TOLERANCE = 0.03
METADATA_CONFIDENCE = 0.99
METADATA_ONLY_CONFIDENCE = 0.9

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
    metadata, ignored = _plausible_metadata(loaded) if use_metadata else (None, None)
    try:
        reading = _read_bar(loaded.pixels)
    except ToolError as error:
        if metadata is None and ignored:
            raise ToolError(f"{error} ({ignored})") from error
        if metadata is None:
            raise
        return _metadata_only(metadata, loaded.metadata_source, str(error))
    if ignored:
        reading = reading.model_copy(update={"notes": [*reading.notes, ignored]})
    return (
        reading if metadata is None else _with_metadata(reading, metadata, loaded.metadata_source)
    )


def _plausible_metadata(loaded: LoadedImage) -> tuple[float | None, str | None]:
    """The file's pixel size (nm/px) when it is physically possible; else None and a note
    saying it was ignored (a corrupt or hand-edited tag must not become the answer)."""
    metadata = loaded.metadata_nm_per_pixel
    if metadata is None or plausible_nm_per_pixel(metadata):
        return metadata, None
    return None, (f"ignored the pixel size in {loaded.metadata_source}, {metadata:.3g} nm/px: "
                  f"outside the possible {PLAUSIBLE_NM_PER_PIXEL[0]:g}-"
                  f"{PLAUSIBLE_NM_PER_PIXEL[1]:g} nm/px, so the tag is corrupt")


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
    bars = find_bars(gray)
    implausible = []
    for bar in bars:
        label = find_label(gray, bar)
        if label is None:
            continue
        reading = _reading(gray, bar, label)
        if reading.value > 0 and plausible_nm_per_pixel(reading.nm_per_pixel):
            return reading
        implausible.append(f"'{reading.label_text}' ({reading.nm_per_pixel:.3g} nm/px)")
    raise ToolError(_no_bar_message(len(bars), implausible))


def _no_bar_message(n_candidates: int, implausible: list[str]) -> str:
    """ToolError text when no bar with a usable label was found."""
    found = (
        f"{n_candidates} bar-like line(s) were found but none had a readable length label "
        "(e.g. '1 \u00b5m') next to it"
        if n_candidates
        else "no solid horizontal bar that stays clear of the image edges was found"
    )
    if implausible:
        found += (f"; labels read as {', '.join(implausible)} give no physically possible "
                  f"pixel size ({PLAUSIBLE_NM_PER_PIXEL[0]:g}-{PLAUSIBLE_NM_PER_PIXEL[1]:g} "
                  "nm/px), so OCR misread them")
    return (
        f"no scale bar found: {found}; expected a bar at least {MIN_BAR_LENGTH_PX} px long with "
        "a label such as '200 nm' above, below or beside it. Hint: use the instrument metadata, "
        "or crop the image so the databar with the scale bar is included."
    )


def _reading(gray: np.ndarray, bar: Bar, label: Label) -> ScaleBarReading:
    """Assemble the reading of a bar and its label."""
    length = bar_length(gray, bar)
    label, factor = resolve_unit(gray, bar, label, length)
    unit = label.unit or ""
    nm_per_pixel = label.value * unit_nm(unit) / length
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

