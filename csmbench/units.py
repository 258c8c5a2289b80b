"""The one pint unit registry of csmbench, with the image pixel as a unit of its own.

"µ" (U+00B5), "μ" (U+03BC) and "u" all mean micro; "px", "pix" and "pixel" are image pixels
(a dimension of their own, not pint's CSS pixel), so "nm/px" is a length per pixel.

Example:
    >>> parse_quantity("0.5 µm").to("nm").magnitude
    500.0
"""

from __future__ import annotations

import re
import tokenize

import pint

__all__ = ["UREG", "Quantity", "parse_quantity", "parse_unit"]

UREG = pint.UnitRegistry(on_redefinition="ignore")
UREG.define("pixel = [pixel] = px = pix")
Quantity = UREG.Quantity
_COUNTED = re.compile(r"\b(?:grains?|particles?)\s*(?=/|per\b)", re.IGNORECASE)
"""Counted things before "/" or "per" ("grains/mm²"): a number, not pint's mass unit grain."""
# What pint's parser raises on hostile text besides its own errors.
_PARSE_ERRORS = (pint.errors.PintError, ValueError, TypeError, AttributeError, SyntaxError,
                 AssertionError, KeyError, IndexError, tokenize.TokenError)


def parse_unit(text: str) -> pint.Unit:
    """Parse a unit string ("nm/px", "µm", "MPa", "" for dimensionless); ValueError if unknown."""
    cleaned = _COUNTED.sub("1 ", text.strip()).replace("per pixel", "/ px").replace("Å", "angstrom")
    if not cleaned:
        return UREG.dimensionless
    try:
        return UREG.Unit(cleaned)
    except _PARSE_ERRORS as exc:
        raise ValueError(f"unknown unit {text!r} ({exc})") from None


def parse_quantity(text: str) -> pint.Quantity:
    """Parse "5.86 nm/px", "2.3e3 MPa", "0.5 µm"; ValueError when it is not a quantity."""
    try:
        quantity = UREG.Quantity(_COUNTED.sub("", text.strip()).replace("Å", "angstrom"))
    except _PARSE_ERRORS as exc:
        raise ValueError(f"cannot read {text!r} as a quantity ({exc})") from None
    if not isinstance(quantity, pint.Quantity):
        raise ValueError(f"{text!r} is not a quantity")  # noqa: TRY004 - callers catch ValueError
    return quantity
