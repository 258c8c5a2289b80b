"""Text of instrument data strips: magnification, field width and the other fields.

The numbers follow from the design's exact pixel size, so every field agrees with the bar:
field width (HFW) = image width * nm_per_pixel, magnification = reference display width / HFW.
"""

from __future__ import annotations

from ._bar_design import MICRO_SIGN, ScaleBarDesign

REFERENCE_DISPLAY_WIDTH_MM = 127.0
"""Display width magnifications refer to, mm (the 4 x 5 inch Polaroid convention)."""
LENGTH_UNITS = (("nm", 1.0), ("um", 1e3), ("mm", 1e6))
"""Units for formatting lengths, with nanometres per unit ("um" is replaced by the micro spelling)."""


def field_width_nm(design: ScaleBarDesign) -> float:
    """Horizontal field width of the specimen image, nm."""
    return design.image_width_px * design.nm_per_pixel


def magnification(design: ScaleBarDesign) -> float:
    """Magnification relative to `REFERENCE_DISPLAY_WIDTH_MM`."""
    return REFERENCE_DISPLAY_WIDTH_MM * 1e6 / field_width_nm(design)


def micro_spelling(design: ScaleBarDesign) -> str:
    """The micro prefix as the label spells it ("µ", "μ" or "u"); "µ" if the label is not in µm."""
    return design.unit_text[0] if design.unit == MICRO_SIGN + "m" else MICRO_SIGN


def format_length(length_nm: float, micro: str = MICRO_SIGN, digits: int = 3) -> str:
    """A length with `digits` significant digits in nm, µm or mm, e.g. "12.7 µm"."""
    for index, (unit, per_unit) in enumerate(LENGTH_UNITS):
        value = float(f"{length_nm / per_unit:.{digits}g}")
        if value < 1000 or index == len(LENGTH_UNITS) - 1:
            number = f"{value:.{digits}g}" if value < 1000 else f"{value:.0f}"
            return f"{number} {unit.replace('u', micro)}"
    raise AssertionError("unreachable")


def zeiss_mag(mag: float) -> str:
    """Zeiss SmartSEM magnification, e.g. "50.00 K X" or "850 X"."""
    return f"{mag / 1000:.2f} K X" if mag >= 1000 else f"{mag:.0f} X"


def fei_mag(mag: float) -> str:
    """FEI xT magnification with thin-space thousands, e.g. "5 000 x"."""
    return f"{mag:,.0f} x".replace(",", " ")


def tescan_mag(mag: float) -> str:
    """Tescan magnification, e.g. "1.12 kx" or "850 x"."""
    return f"{mag / 1000:.3g} kx" if mag >= 1000 else f"{mag:.3g} x"


def jeol_mag(mag: float) -> str:
    """JEOL magnification, e.g. "x5,000"."""
    return f"x{mag:,.0f}"


def hv_text(design: ScaleBarDesign) -> str:
    """Accelerating voltage, e.g. "15.00 kV"."""
    return f"{design.fields.hv_kv:.2f} kV"
