"""Scale-bar designs: every visual choice of a synthetic micrograph's bar, drawn at random.

The truth of a design is exact by construction: the bar stands for `value` `unit` and is
`length_px` pixels long, so the pixel size is value_in_nm / length_px, with no rounding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ._bar_fonts import MICRO_SIGN, MONO_FONTS, SANS_FONTS, font_px_for_cap_height, usable_fonts
from ._micrograph import Modality

BarStyle = Literal["zeiss", "fei", "tescan", "jeol", "overlay"]
LabelPosition = Literal["above", "below", "left", "right"]
Corner = Literal["bottom_left", "bottom_right", "top_left", "top_right"]
TickDirection = Literal["both", "up"]

BAR_STYLES: tuple[BarStyle, ...] = ("zeiss", "fei", "tescan", "jeol", "overlay")
DATABAR_STYLES: tuple[BarStyle, ...] = ("zeiss", "fei", "tescan", "jeol")
BAR_VALUES = (1, 2, 5, 10, 20, 50, 100, 200, 500)
"""Values a bar may stand for, in its unit (the 1-2-5 series instruments use)."""
NM_PER_UNIT = {"nm": 1.0, MICRO_SIGN + "m": 1e3, "mm": 1e6}
"""Nanometres per canonical unit."""
UNIT_SPELLINGS = {
    "nm": (("nm",), (1.0,)),
    MICRO_SIGN + "m": ((MICRO_SIGN + "m", "\u03bcm", "um"), (0.45, 0.3, 0.25)),
    "mm": (("mm",), (1.0,)),
}
"""Canonical unit -> (spellings drawn on the label, their probabilities)."""
NM_PER_PIXEL_RANGE: dict[str, tuple[float, float]] = {
    "tem": (0.02, 2.0),
    "sem": (1.0, 1000.0),
    "optical": (100.0, 5000.0),
}
"""Physically plausible pixel sizes per modality, nm/px."""
BAR_FRACTION = (0.10, 0.35)
"""Bar length as a fraction of the image width."""
MIN_BAR_PX = 40
"""Shortest bar, px."""
WIDTH_RANGE_PX = (512, 2048)
"""Image widths `random_design` accepts, px."""
LABEL_CAP_PX_PER_512 = (12.0, 16.0)
"""Label cap height at a 512 px wide image, px; it scales linearly with the width."""
STYLE_WEIGHTS: dict[str, tuple[float, float, float, float, float]] = {
    "sem": (0.2, 0.2, 0.2, 0.15, 0.25),
    "tem": (0.0, 0.2, 0.0, 0.2, 0.6),
    "optical": (0.0, 0.0, 0.0, 0.0, 1.0),
}
"""Probabilities of ("zeiss", "fei", "tescan", "jeol", "overlay") per modality."""
DETECTORS = {
    "sem": ("SE2", "InLens", "ETD", "BSE", "SEI", "E-T"),
    "tem": ("BF", "HAADF"),
    "optical": ("BF",),
}
"""Detector / signal names shown in data strips, per modality."""
HV_KV = {
    "sem": (1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0),
    "tem": (80.0, 120.0, 200.0, 300.0),
    "optical": (0.0,),
}
"""Accelerating voltages shown in data strips, kV."""
INSTITUTES = (
    "Institute of Materials Science",
    "IGIC RAS",
    "Dept. of Metallurgy",
    "Nano Lab",
    "MPI Eisenforschung",
)
OPERATORS = ("J. Smith", "A. Ivanova", "K. Tanaka", "M. Garcia", "L. Chen")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class DatabarFields:
    """Instrument values shown in a data strip besides the bar (numbers, not yet formatted)."""

    hv_kv: float
    wd_mm: float
    detector: str
    date: str
    institute: str
    operator: str
    photo_no: int
    instrument: str


@dataclass(frozen=True)
class ScaleBarDesign:
    """Every visual choice of a scale bar and its label.

    Attributes:
        style: Instrument layout ("overlay" is a bare bar on the image).
        value: Number on the label, in `unit`.
        unit_text: Unit as drawn ("µm", "μm", "um", "nm", "mm").
        unit: Canonical unit ("nm", "µm" with U+00B5, "mm").
        label_space: Whether a space separates value and unit ("200 µm" vs "200µm").
        length_px: Bar length, px (between tick centres when `ticks`, else the bar's extent).
        thickness_px: Height of the horizontal bar, px.
        ticks: Whether the bar has vertical end ticks.
        tick_height_px: Full height of each tick, px (> thickness_px).
        tick_width_px: Width of each tick, px (odd, so its centre is a pixel centre).
        tick_direction: "both" centres the ticks on the bar; "up" stands them on it.
        light_on_dark: White bar and text (else black).
        backing_box: Overlay only: an opaque box of the opposite colour behind bar and label.
        label_position: Where the label sits relative to the bar.
        label_align: For labels above/below, "center" or "left" (flush with the bar).
        corner: Overlay only: the image corner holding the bar.
        margin_px: Overlay only: distance of the block from the image edges, px.
        font_file: Label font, a file name in matplotlib's `fonts/ttf`.
        font_px: Label font size (em), px.
        field_font_px: Font size of the other data-strip text, px.
        image_width_px: Width of the specimen image the bar belongs to, px.
        fields: Other instrument values of the data strip.
    """

    style: BarStyle
    value: float
    unit_text: str
    unit: str
    label_space: bool
    length_px: int
    thickness_px: int
    ticks: bool
    tick_height_px: int
    tick_width_px: int
    tick_direction: TickDirection
    light_on_dark: bool
    backing_box: bool
    label_position: LabelPosition
    label_align: Literal["center", "left"]
    corner: Corner
    margin_px: int
    font_file: str
    font_px: int
    field_font_px: int
    image_width_px: int
    fields: DatabarFields

    @property
    def label_text(self) -> str:
        """The exact label string, e.g. "200 µm"."""
        return f"{self.value:g}{' ' if self.label_space else ''}{self.unit_text}"

    @property
    def value_nm(self) -> float:
        """Length the bar stands for, nm."""
        return self.value * NM_PER_UNIT[self.unit]

    @property
    def nm_per_pixel(self) -> float:
        """Exact pixel size, nm/px."""
        return self.value_nm / self.length_px


def bar_candidates(width_px: int, modality: Modality) -> list[tuple[int, str, int, int]]:
    """Bar values and length ranges that fit the width and the modality's pixel sizes.

    Returns:
        (value, canonical unit, min length px, max length px) for each feasible pair.
    """
    lo_px = max(MIN_BAR_PX, math.ceil(BAR_FRACTION[0] * width_px))
    hi_px = math.floor(BAR_FRACTION[1] * width_px)
    nm_lo, nm_hi = NM_PER_PIXEL_RANGE[modality]
    found = []
    for unit, factor in NM_PER_UNIT.items():
        for value in BAR_VALUES:
            shortest = max(lo_px, math.ceil(value * factor / nm_hi))
            longest = min(hi_px, math.floor(value * factor / nm_lo))
            if shortest <= longest:
                found.append((value, unit, shortest, longest))
    return found


def _choose_bar(
    rng: np.random.Generator, width_px: int, modality: Modality
) -> tuple[int, str, str, int]:
    """(value, canonical unit, unit as drawn, length px) of a random feasible bar."""
    candidates = bar_candidates(width_px, modality)
    value, unit, shortest, longest = candidates[int(rng.integers(len(candidates)))]
    spellings, weights = UNIT_SPELLINGS[unit]
    unit_text = str(rng.choice(spellings, p=weights))
    return value, unit, unit_text, int(rng.integers(shortest, longest + 1))


def _fields(rng: np.random.Generator, modality: Modality) -> DatabarFields:
    """Random instrument values for a data strip."""
    return DatabarFields(
        hv_kv=float(rng.choice(HV_KV[modality])),
        wd_mm=round(float(rng.uniform(2.0, 15.0)), 1),
        detector=str(rng.choice(DETECTORS[modality])),
        date=f"{int(rng.integers(1, 29))} {MONTHS[int(rng.integers(12))]} {int(rng.integers(2008, 2026))}",
        institute=str(rng.choice(INSTITUTES)),
        operator=str(rng.choice(OPERATORS)),
        photo_no=int(rng.integers(1, 999)),
        instrument=str(rng.choice(("NVision 40", "Supra 55", "Quanta 200", "VEGA3", "JSM-6390"))),
    )


def _ticks(
    rng: np.random.Generator, style: BarStyle, thickness: int, font_px: int, width_px: int
) -> tuple[bool, int, int, TickDirection]:
    """(ticks, tick height px, tick width px, direction) for a style."""
    ticks = {"zeiss": True, "tescan": True, "fei": bool(rng.random() < 0.5)}.get(
        style, bool(rng.random() < 0.5)
    )
    tick_width = 1 + 2 * int(rng.integers(0, 1 + width_px // 1024)) if thickness > 2 else 1
    direction: TickDirection = "up" if style == "tescan" else "both"
    if style == "overlay" and rng.random() < 0.3:
        direction = "up"
    extra = max(4, round(font_px * rng.uniform(0.25, 0.5)))
    return ticks, thickness + 2 * extra, tick_width, direction


def _label_placement(
    rng: np.random.Generator, style: BarStyle
) -> tuple[LabelPosition, Literal["center", "left"]]:
    """(label position, alignment) a style uses."""
    if style == "zeiss":
        return "above", "left"
    if style in ("tescan", "fei"):
        return "above", "center"
    if style == "jeol":
        return ("left", "right")[int(rng.integers(2))], "center"
    position = ("above", "below", "left", "right")[int(rng.choice(4, p=(0.35, 0.35, 0.15, 0.15)))]
    return position, "center"


def _style(rng: np.random.Generator, modality: Modality, style: BarStyle | None) -> BarStyle:
    """The requested style, or one drawn with the modality's style weights."""
    if style is None:
        return BAR_STYLES[int(rng.choice(len(BAR_STYLES), p=STYLE_WEIGHTS[modality]))]
    if style not in BAR_STYLES:
        raise ValueError(f"style {style!r} is unknown; expected one of {list(BAR_STYLES)}")
    return style


def _font(rng: np.random.Generator, style: BarStyle, width_px: int) -> tuple[str, int, int]:
    """(font file, label font px, field font px) for a style and image width."""
    candidates = {"overlay": usable_fonts(), "jeol": usable_fonts(MONO_FONTS)}.get(
        style, usable_fonts(SANS_FONTS)
    )
    font_file = candidates[int(rng.integers(len(candidates)))]
    cap_px = rng.uniform(*LABEL_CAP_PX_PER_512) * width_px / 512
    font_px = font_px_for_cap_height(font_file, cap_px)
    return font_file, font_px, max(11, round(font_px * rng.uniform(0.6, 0.8)))


def random_design(
    rng: np.random.Generator, *, width_px: int, modality: Modality, style: BarStyle | None = None
) -> ScaleBarDesign:
    """Draw a random scale-bar design for a specimen image of the given width.

    Args:
        rng: Source of randomness.
        width_px: Specimen image width, px, in [512, 2048].
        modality: "sem", "tem" or "optical"; sets the plausible pixel sizes.
        style: Force a style; None draws one with the modality's weights.

    Returns:
        A design whose `nm_per_pixel` lies in the modality's range and whose bar is
        10-35 % of the width and at least 40 px long.

    Raises:
        ValueError: For an unknown modality or style, or a width out of range.
    """
    if modality not in NM_PER_PIXEL_RANGE:
        raise ValueError(
            f"modality {modality!r} is unknown; expected one of {sorted(NM_PER_PIXEL_RANGE)}"
        )
    if not WIDTH_RANGE_PX[0] <= width_px <= WIDTH_RANGE_PX[1]:
        raise ValueError(
            f"width_px={width_px} is out of range; expected {WIDTH_RANGE_PX[0]}..{WIDTH_RANGE_PX[1]}"
        )
    style = _style(rng, modality, style)
    value, unit, unit_text, length_px = _choose_bar(rng, width_px, modality)
    font_file, font_px, field_font_px = _font(rng, style, width_px)
    thin = rng.random() < 0.4
    thickness = 2 if thin else int(rng.integers(3, max(4, round(width_px / 128)) + 1))
    ticks, tick_height, tick_width, direction = _ticks(rng, style, thickness, font_px, width_px)
    position, align = _label_placement(rng, style)
    overlay = style == "overlay"
    corners: tuple[Corner, ...] = ("bottom_right", "bottom_left", "top_right", "top_left")
    return ScaleBarDesign(
        style=style,
        value=float(value),
        unit_text=unit_text,
        unit=unit,
        label_space=bool(rng.random() < 0.7),
        length_px=length_px,
        thickness_px=thickness,
        ticks=ticks,
        tick_height_px=tick_height,
        tick_width_px=tick_width,
        tick_direction=direction,
        light_on_dark=bool(rng.random() < 0.65) if overlay else True,
        backing_box=bool(rng.random() < 0.5) if overlay else False,
        label_position=position,
        label_align=align,
        corner=corners[int(rng.choice(4, p=(0.45, 0.35, 0.1, 0.1)))],
        margin_px=round(width_px * rng.uniform(0.02, 0.05)),
        font_file=font_file,
        font_px=font_px,
        field_font_px=field_font_px,
        image_width_px=width_px,
        fields=_fields(rng, modality),
    )
