"""Synthetic micrographs with scale bars and exact truth: compose, then save byte-stably.

A micrograph is a specimen image (SEM, TEM or optical texture) plus either an instrument
data strip below it (Zeiss, FEI, Tescan, JEOL layouts) or a bare bar drawn over one of its
corners ("overlay"). The bar's length and value fix the pixel size exactly.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Literal

import numpy as np
import tifffile
from PIL import Image, ImageDraw

from ._bar_design import (
    BAR_STYLES,
    NM_PER_PIXEL_RANGE,
    WIDTH_RANGE_PX,
    BarStyle,
    ScaleBarDesign,
    random_design,
)
from ._bar_draw import Box, draw_block, fill_box, layout_block
from ._databar import render_strip
from ._micrograph import Modality, render_specimen

__all__ = [
    "BarStyle",
    "ScaleBarDesign",
    "SyntheticMicrograph",
    "random_design",
    "random_modality",
    "render_micrograph",
    "save_micrograph",
    "synthesize_micrograph",
]

ImageFormat = Literal["png", "jpeg", "tiff"]
MODALITIES: tuple[Modality, ...] = ("sem", "tem", "optical")
MODALITY_WEIGHTS = (0.5, 0.25, 0.25)
"""Probabilities of SEM, TEM and optical when the modality is not given."""
ASPECT_RANGE = (0.7, 0.8)
"""Specimen height / width."""
SPECIMEN_GREY_RANGE = (3, 252)
"""Grey levels of the specimen in uint8: bars and text use the full-scale 0 and 255."""
JPEG_QUALITY = 92
"""Fixed JPEG quality (baseline, 4:4:4: no chroma subsampling)."""
PNG_COMPRESS_LEVEL = 6
"""Fixed zlib level for PNG, so the bytes do not depend on Pillow defaults."""
BOX_PADDING_FRACTION = 0.35
"""Backing-box padding around bar and label, as a fraction of the label font size."""


@dataclass(frozen=True, eq=False)
class SyntheticMicrograph:
    """A rendered micrograph and its exact truth.

    Attributes:
        pixels: (H, W) uint8, the whole frame as saved (data strips at the bottom).
        nm_per_pixel: Exact pixel size, nm/px: value in nm / bar_length_px.
        bar_length_px: Bar length by the convention of `_bar_draw` (tick centres or extent).
        bar_bbox: (x0, y0, x1, y1) of the bar including ticks, x1/y1 exclusive, frame px.
        label_text: The exact string drawn, e.g. "200 µm".
        value: The label's number, e.g. 200.0.
        unit: Canonical unit: "nm", "µm" (U+00B5) or "mm".
        modality: "sem", "tem" or "optical".
        specimen_bbox: (x0, y0, x1, y1) of the specimen image in the frame, exclusive.
        design: Every visual choice of the bar.
    """

    pixels: np.ndarray
    nm_per_pixel: float
    bar_length_px: int
    bar_bbox: tuple[int, int, int, int]
    label_text: str
    value: float
    unit: str
    modality: Modality
    specimen_bbox: tuple[int, int, int, int]
    design: ScaleBarDesign

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SyntheticMicrograph):
            return NotImplemented
        return all(
            np.array_equal(getattr(self, f.name), getattr(other, f.name))
            if f.name == "pixels"
            else getattr(self, f.name) == getattr(other, f.name)
            for f in fields(self)
        )

    __hash__ = None  # type: ignore[assignment]


def specimen_to_uint8(specimen: np.ndarray) -> np.ndarray:
    """Map a [0, 1] float specimen into `SPECIMEN_GREY_RANGE` as uint8."""
    lo, hi = SPECIMEN_GREY_RANGE
    return np.round(lo + (hi - lo) * np.clip(specimen, 0.0, 1.0)).astype(np.uint8)


def _overlay_origin(
    design: ScaleBarDesign, size: tuple[int, int], frame: tuple[int, int]
) -> tuple[int, int]:
    """Top-left corner of a (w, h) block placed in the design's corner of a (W, H) frame."""
    (w, h), (width, height) = size, frame
    m = design.margin_px
    x = m if design.corner.endswith("left") else width - m - w
    y = m if design.corner.startswith("top") else height - m - h
    return x, y


INK_CONFUSION_GREY = 0.35
"""Specimen pixels within this grey distance (of 1) of the ink can be mistaken for it."""
MAX_CONFUSED_FRACTION = 0.03
"""More confusable pixels than this under a bare overlay and a microscopist adds a box."""


def _overlay_region(design: ScaleBarDesign, frame: tuple[int, int]) -> Box:
    layout = layout_block(design)
    pad = round(BOX_PADDING_FRACTION * design.font_px) if design.backing_box else 0
    size = (layout.width + 2 * pad, layout.height + 2 * pad)
    x, y = _overlay_origin(design, size, frame)
    return x, y, x + size[0], y + size[1]


def legible_design(design: ScaleBarDesign, specimen: np.ndarray) -> ScaleBarDesign:
    """Make a bare overlay legible, as a microscopist would: ink that contrasts with the
    specimen under it, and a backing box where the specimen there has features of the
    ink's own grey (dark grain boundaries under black text, say)."""
    if design.style != "overlay" or design.backing_box:
        return design
    height, width = specimen.shape
    x0, y0, x1, y1 = _overlay_region(design, (width, height))
    under = specimen[max(y0, 0):y1, max(x0, 0):x1]
    light = bool(under.mean() < 0.5)
    ink = 1.0 if light else 0.0
    confused = float(np.mean(np.abs(under - ink) < INK_CONFUSION_GREY))
    return replace(design, light_on_dark=light, backing_box=confused > MAX_CONFUSED_FRACTION)


def _draw_overlay(image: Image.Image, design: ScaleBarDesign) -> Box:
    """Draw a bare bar (optionally on a backing box) in a corner; return the bar bbox."""
    layout = layout_block(design)
    pad = round(BOX_PADDING_FRACTION * design.font_px) if design.backing_box else 0
    size = (layout.width + 2 * pad, layout.height + 2 * pad)
    x, y = _overlay_origin(design, size, image.size)
    draw = ImageDraw.Draw(image)
    ink, background = (255, 0) if design.light_on_dark else (0, 255)
    if design.backing_box:
        fill_box(draw, (x, y, x + size[0], y + size[1]), background)
    return draw_block(draw, design, layout, (x + pad, y + pad), ink)


def render_micrograph(
    specimen: np.ndarray, design: ScaleBarDesign, modality: Modality
) -> SyntheticMicrograph:
    """Compose a specimen image and a scale-bar design into a micrograph.

    Args:
        specimen: (H, W) float image in [0, 1]; W must equal `design.image_width_px`.
        design: The bar design.
        modality: The specimen's modality.

    Returns:
        The micrograph; data-strip styles append the strip below the specimen.
    """
    height, width = specimen.shape
    if width != design.image_width_px:
        raise ValueError(
            f"specimen width {width} px != design.image_width_px {design.image_width_px} px"
        )
    image = Image.fromarray(specimen_to_uint8(specimen), mode="L")
    if design.style == "overlay":
        bar = _draw_overlay(image, design)
    else:
        strip, (x0, y0, x1, y1) = render_strip(design)
        frame = Image.new("L", (width, height + strip.height), 0)
        frame.paste(image, (0, 0))
        frame.paste(strip, (0, height))
        image, bar = frame, (x0, y0 + height, x1, y1 + height)
    return SyntheticMicrograph(
        pixels=np.asarray(image, dtype=np.uint8).copy(),
        nm_per_pixel=design.nm_per_pixel,
        bar_length_px=design.length_px,
        bar_bbox=bar,
        label_text=design.label_text,
        value=design.value,
        unit=design.unit,
        modality=modality,
        specimen_bbox=(0, 0, width, height),
        design=design,
    )


def random_modality(rng: np.random.Generator) -> Modality:
    """A modality drawn with `MODALITY_WEIGHTS`."""
    return MODALITIES[int(rng.choice(len(MODALITIES), p=MODALITY_WEIGHTS))]


def synthesize_micrograph(
    rng: np.random.Generator,
    *,
    width_px: int | None = None,
    modality: Modality | None = None,
    style: BarStyle | None = None,
) -> SyntheticMicrograph:
    """Draw a random micrograph with a scale bar; the same generator state gives the same one.

    Args:
        rng: Source of randomness.
        width_px: Image width in [512, 2048] px; None draws one.
        modality: "sem", "tem" or "optical"; None draws one.
        style: Bar style; None draws one suited to the modality.

    Returns:
        The micrograph with its exact pixel size.

    Example:
        >>> m = synthesize_micrograph(np.random.default_rng(1), width_px=512, style="overlay")
        >>> m.nm_per_pixel * m.bar_length_px == m.design.value_nm
        True
    """
    if modality is None:
        modality = random_modality(rng)
    if modality not in NM_PER_PIXEL_RANGE:
        raise ValueError(f"modality {modality!r} is unknown; expected one of {list(MODALITIES)}")
    if style is not None and style not in BAR_STYLES:
        raise ValueError(f"style {style!r} is unknown; expected one of {list(BAR_STYLES)}")
    if width_px is None:
        width_px = int(rng.integers(WIDTH_RANGE_PX[0], WIDTH_RANGE_PX[1] + 1))
    height_px = round(width_px * rng.uniform(*ASPECT_RANGE))
    design = random_design(rng, width_px=width_px, modality=modality, style=style)
    specimen = render_specimen(modality, height_px, width_px, rng)
    return render_micrograph(specimen, legible_design(design, specimen), modality)


def encode_micrograph(pixels: np.ndarray, fmt: ImageFormat) -> bytes:
    """Encode a (H, W) uint8 frame to file bytes that depend on the pixels only.

    PNG and JPEG go through Pillow with fixed settings and no metadata; TIFF through
    tifffile, uncompressed, without software, date-time or description tags.
    """
    buffer = io.BytesIO()
    if fmt == "png":
        Image.fromarray(pixels, mode="L").save(
            buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL
        )
    elif fmt == "jpeg":
        Image.fromarray(pixels, mode="L").save(
            buffer,
            format="JPEG",
            quality=JPEG_QUALITY,
            subsampling=0,
            optimize=False,
            progressive=False,
        )
    elif fmt == "tiff":
        tifffile.imwrite(
            buffer, pixels, photometric="minisblack", software=False, metadata=None, datetime=None
        )
    else:
        raise ValueError(f"format {fmt!r} is unknown; expected 'png', 'jpeg' or 'tiff'")
    return buffer.getvalue()


def save_micrograph(micrograph: SyntheticMicrograph, path: Path, fmt: ImageFormat) -> None:
    """Save the frame to `path` as PNG, JPEG or TIFF; the same frame gives the same bytes.

    Args:
        micrograph: What to save (only `pixels` is written).
        path: Destination file; its parent must exist.
        fmt: "png", "jpeg" or "tiff".
    """
    Path(path).write_bytes(encode_micrograph(micrograph.pixels, fmt))
