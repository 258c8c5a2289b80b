"""Consistency: does the final answer agree with what the agent's own tool results say?

A diagnostic, not a grade: the agent's own arithmetic (Hall-Petch, a mass from a density) is
invisible to it, so a right answer can look inconsistent, and a coincidental number can make
a wrong one look consistent.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from typing import Any

import pint

from csmbench.episodes import AnswerSpec, FinalAnswer, Formula, NumberSet, Numeric
from csmbench.units import parse_unit

from ._answer import read_numeric
from ._structured import _reduced, read_formula, read_numbers

__all__ = ["Results", "answer_consistency"]


Results = Sequence[tuple[int, str, Any]]
"""Successful tool results: (call number, tool name, content)."""


_KEY_UNITS = tuple((re.compile(pattern, re.IGNORECASE), unit) for pattern, unit in [
    (r"nm_per_pix(el)?$", "nm/px"), (r"um_per_pix(el)?$", "µm/px"), (r"per_mm2$", "1/mm^2"),
    (r"_g_cm3(_lit)?$", "g/cm^3"), (r"_a3$", "angstrom^3"), (r"_mpa_sqrt_m$", "MPa*m^0.5"),
    (r"_mpa$", "MPa"), (r"_um$", "µm"), (r"_nm$", "nm"), (r"_mm$", "mm"),
    (r"_angstrom$", "angstrom"), (r"_deg$", "degree"), (r"_kev$", "keV"), (r"_ev$", "eV"),
    (r"_px$", "px")])
"""Units of tool-result fields, read from the field name's suffix (``mean_intercept_um``)."""


def _key_unit(key: str) -> str | None:
    return next((unit for pattern, unit in _KEY_UNITS if pattern.search(key)), None)


def _leaves(content: Any, unit: str | None = None, path: str = "") -> Iterator[tuple[str, Any, str | None]]:
    """(path, value, unit) for every number and string in a tool result.

    A number's unit comes from its field name's suffix, else from a string ``unit`` field
    beside it, else from the enclosing field; None means unknown (a bare number).
    """
    if isinstance(content, dict):
        sibling = content.get("unit") if isinstance(content.get("unit"), str) else None
        for key, value in content.items():
            yield from _leaves(value, _key_unit(str(key)) or sibling or unit,
                               f"{path}.{key}" if path else str(key))
    elif isinstance(content, list):
        for index, value in enumerate(content):
            yield from _leaves(value, unit, f"{path}[{index}]")
    elif isinstance(content, str) or (isinstance(content, int | float)
                                      and not isinstance(content, bool)
                                      and math.isfinite(content)):
        yield path, content, unit


def _in_unit(value: float, unit: str | None, target: str) -> float | None:
    """``value`` (in ``unit``; None: already in ``target``) in ``target``, or None if it does not convert."""
    if unit is None:
        return value
    try:
        source, goal = parse_unit(unit), parse_unit(target)
        if _is_angle(source) != _is_angle(goal):  # pint reads angles as dimensionless
            return None
        return value * float((1 * source).to(goal).magnitude)
    except (ValueError, pint.errors.DimensionalityError):
        return None


def _is_angle(unit: pint.Unit) -> bool:
    return any(name in str(unit) for name in ("degree", "radian", "arcminute", "arcsecond"))


def _support(value: float, allowed: float, unit: str, results: Results) -> str | None:
    """Where a number within ``allowed`` of ``value`` (in ``unit``) appears in the results."""
    slack = allowed + 1e-9 * max(abs(value), 1e-300)
    for position, tool, content in reversed(results):
        for path, leaf, leaf_unit in _leaves(content):
            if isinstance(leaf, str):
                continue
            converted = _in_unit(float(leaf), leaf_unit, unit)
            if converted is not None and abs(converted - value) <= slack:
                return f"call {position} ({tool}) {path} = {leaf}" + (f" {leaf_unit}" if leaf_unit else "")
    return None


def answer_consistency(spec: AnswerSpec, answer: FinalAnswer | None,
                       results: Results) -> tuple[bool | None, str]:
    """Whether the final answer is what the agent's own successful tool results say.

    Definition, by answer type (None: not checkable, with the reason):

    - Numeric: the answer, converted to the item's unit, is within the item's tolerance
      (max(rel_tol * |truth|, abs_tol)) of a number in a successful result. A result number
      is read in the unit its field name ends with (``_um``, ``_nm``, ``_angstrom``,
      ``_deg``, ``nm_per_pixel``, ...) or a ``unit`` field beside it, converted to the item's
      unit (skipped when it does not convert); a number with no known unit is read in the
      item's unit.
    - NumberSet: every answered number is within ``abs_tol`` of such a number.
    - Formula: the answer's formula reduces to the same formula as a string in a result field
      whose name contains "formula".
    - Choice and FreeText answers, unparseable answers, episodes without an answer or
      without a successful call: None.

    What it cannot see: arithmetic the agent did on tool outputs (Hall-Petch, a mass from
    density and volume, a field width from pixels times calibration, a strain in percent
    from a fraction, a count of listed phases, an average of two calls) makes a right answer
    "inconsistent"; a number that appears in a result by coincidence (a peak's shape factor
    equal to a dimensionless answer) makes a wrong answer "consistent", which is why the
    detail names the field that supports it; a truncated (clipped) result hides its numbers.
    """
    if answer is None:
        return None, "no answer"
    if not results:
        return None, "no successful tool result to compare with"
    if isinstance(spec, Numeric):
        quantity = read_numeric(answer, spec.unit)
        try:
            value = float(quantity.to(parse_unit(spec.unit)).magnitude) if quantity is not None else None
        except pint.errors.DimensionalityError:
            value = None
        if value is None:
            return None, f"the answer holds no number in {spec.unit or 'the item unit'}"
        source = _support(value, max(spec.rel_tol * abs(spec.value), spec.abs_tol), spec.unit, results)
        return source is not None, source or f"{value:.6g} {spec.unit} appears in no tool result"
    if isinstance(spec, NumberSet):
        values = read_numbers(answer, spec.unit)
        if not values:
            return None, "the answer holds no numbers"
        missing = [v for v in values if _support(v, spec.abs_tol, spec.unit, results) is None]
        return not missing, (f"not in any tool result: {[round(v, 6) for v in missing]}" if missing
                             else f"all {len(values)} numbers appear in tool results")
    if isinstance(spec, Formula):
        return _formula_consistency(spec, answer, results)
    return None, f"not checked for {spec.type} answers"


def _formula_consistency(spec: Formula, answer: FinalAnswer,
                         results: Results) -> tuple[bool | None, str]:
    truth = _reduced(spec.formula) or spec.formula
    formula = read_formula(answer, {name: truth for name in spec.names})
    if formula is None:
        return None, "the answer names no single formula"
    for position, tool, content in reversed(results):
        for path, leaf, _ in _leaves(content):
            if isinstance(leaf, str) and "formula" in path.lower() and _reduced(leaf) == formula:
                return True, f"call {position} ({tool}) {path} = {leaf}"
    return False, f"{formula} appears in no formula field of a tool result"
