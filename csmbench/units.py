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
                 AssertionError, KeyError, IndexError, tokenize.TokenError, RecursionError)
_POWER = re.compile(r"\*\*|\^")
_PLAIN_EXPONENT = r"[-+]?\s*(?:\d{1,3}(?:\.\d+)?|\.\d+|\(\s*[-+]?\d{1,3}\s*/\s*\d{1,3}\s*\))"
_UNSAFE_EXPONENT = re.compile(
    rf"(?:\*\*|\^)\s*(?!{_PLAIN_EXPONENT}(?![\d.(]|\s*(?:\*\*|\^)))")
"""A power whose exponent is not a plain number of at most three digits (or a fraction such
as (1/2)), or is itself raised to a power."""
_POWER_OF_GROUP = re.compile(r"\)\s*(?:\*\*|\^)")


def _check_powers(text: str) -> None:
    """ValueError for powers pint would evaluate with huge Python integers ("9**9**9",
    "9**(9*9*9*9*9*9*9*9*9*9)", "((9**999)**999)**999"): a dozen characters of an answer
    would take hours and gigabytes, in a thread no timeout can stop."""
    if _UNSAFE_EXPONENT.search(text) or (_POWER_OF_GROUP.search(text)
                                         and len(_POWER.findall(text)) > 1):
        raise ValueError(f"cannot read {text[:60]!r}: exponents must be plain numbers such as "
                         "2, -1 or 0.5, and a bracket's power cannot hold another")


def parse_unit(text: str) -> pint.Unit:
    """Parse a unit string ("nm/px", "µm", "MPa", "" for dimensionless); ValueError if unknown."""
    cleaned = _COUNTED.sub("1 ", text.strip()).replace("per pixel", "/ px").replace("Å", "angstrom")
    _check_powers(cleaned)
    if not cleaned:
        return UREG.dimensionless
    try:
        return UREG.Unit(cleaned)
    except _PARSE_ERRORS as exc:
        raise ValueError(f"unknown unit {text!r} ({exc})") from None


def parse_quantity(text: str) -> pint.Quantity:
    """Parse "5.86 nm/px", "2.3e3 MPa", "0.5 µm"; ValueError when it is not a quantity."""
    _check_powers(text)
    try:
        quantity = UREG.Quantity(_COUNTED.sub("", text.strip()).replace("Å", "angstrom"))
    except _PARSE_ERRORS as exc:
        raise ValueError(f"cannot read {text!r} as a quantity ({exc})") from None
    if not isinstance(quantity, pint.Quantity):
        raise ValueError(f"{text!r} is not a quantity")  # noqa: TRY004 - callers catch ValueError
    return quantity
