"""Answer graders: numbers with units (pint) and multiple choice (formulas and number sets:
``_structured``).

A numeric answer is taken from ``FinalAnswer.value``/``unit`` when given, else parsed from its
text ("about 5.9 nm/px", "Answer: 0.5 µm"). A bare number is read in the item's unit. An answer
that holds no usable number is *unparseable*, its own outcome, never silently a guess.
"""

from __future__ import annotations

import math
import re

import pint

from csmbench.episodes import AnswerSpec, Choice, FinalAnswer, Formula, NumberSet, Numeric, Score
from csmbench.units import parse_quantity, parse_unit

__all__ = [
    "UNPARSEABLE",
    "grade_answer",
    "grade_choice",
    "grade_numeric",
    "read_choice",
    "read_numeric",
]

UNPARSEABLE = "unparseable"
_NUMBER = r"[-+]?(?:\d+(?:[.,]\d+)?|\.\d+)(?:\s*[eE][-+]?\d+|\s*[x×]\s*10\^?[-+]?\d+)?"
_UNIT = r"(?:[A-Za-zµμÅ°%/^·*\-\d²³⁻¹]+(?:\s*(?:/|per)\s*[A-Za-zµμÅ²³⁻¹^\d]+)?)?"
_QUANTITY = re.compile(rf"({_NUMBER})\s*({_UNIT})")
_LETTER = re.compile(r"(?:answer|option|choice|caption)\s*(?:is|:)?\s*[\(\*\s]*([A-Z])\b"
                     r"|^\s*[\(\*]*([A-Z])[\)\.\*:]*\s*$|\(([A-Z])\)|\*\*([A-Z])\*\*", re.IGNORECASE | re.MULTILINE)


def grade_answer(spec: AnswerSpec, answer: FinalAnswer) -> Score:
    """Grade ``answer`` against the item's answer spec."""
    from ._structured import grade_formula, grade_number_set

    if isinstance(spec, Numeric):
        return grade_numeric(spec, answer)
    if isinstance(spec, Formula):
        return grade_formula(spec, answer)
    if isinstance(spec, NumberSet):
        return grade_number_set(spec, answer)
    return grade_choice(spec, answer)


def read_numeric(answer: FinalAnswer, expected_unit: str) -> pint.Quantity | None:
    """The answer as a quantity in a unit compatible with ``expected_unit``, or None.

    Structured ``value``/``unit`` win over text; in text, the last quantity whose unit
    converts to ``expected_unit`` wins, then the last bare number (read in ``expected_unit``).
    """
    target = parse_unit(expected_unit)
    if answer.value is not None and math.isfinite(answer.value):
        try:
            return answer.value * parse_unit(answer.unit or expected_unit)
        except ValueError:
            return None
    bare: list[float] = []
    compatible = other = None
    for number, unit in _QUANTITY.findall(answer.text.replace("\u2212", "-")):
        value = _to_float(number)
        if value is None:
            continue
        quantity = _with_unit(value, unit)
        if quantity is None:
            bare.append(value)
        elif quantity.dimensionality == (1 * target).dimensionality:
            compatible = quantity
        else:
            other = quantity
    if compatible is not None:
        return compatible
    return bare[-1] * target if bare else other


def _to_float(number: str) -> float | None:
    text = re.sub(r"\s*[x×]\s*10\^?", "e", number.replace(" ", "")).replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _with_unit(value: float, unit: str) -> pint.Quantity | None:
    unit = unit.strip().rstrip(".-/*^")
    if not unit:
        return None
    try:
        return value * parse_quantity(f"1 {unit}")
    except ValueError:
        return None


def grade_numeric(spec: Numeric, answer: FinalAnswer) -> Score:
    """Right when within ``rel_tol`` (relative) or ``abs_tol`` (in the spec's unit) of the truth."""
    quantity = read_numeric(answer, spec.unit)
    if quantity is None:
        return Score(value=0.0, correct=False, explanation="no number found in the answer",
                     metadata={"outcome": UNPARSEABLE})
    try:
        got = float(quantity.to(parse_unit(spec.unit)).magnitude)
    except pint.errors.DimensionalityError:
        return Score(value=0.0, correct=False, metadata={"outcome": "wrong"},
                     explanation=f"answer unit {quantity.units:~P} does not convert to {spec.unit}")
    error = abs(got - spec.value)
    allowed = max(spec.rel_tol * abs(spec.value), spec.abs_tol)
    correct = error <= allowed * (1 + 1e-9)
    relative = error / abs(spec.value) if spec.value else math.inf
    return Score(value=1.0 if correct else 0.0, correct=correct,
                 explanation=f"answered {got:.6g} {spec.unit}, truth {spec.value:.6g} {spec.unit} "
                             f"(error {relative:.2%}, allowed {allowed:.3g})",
                 metadata={"outcome": "correct" if correct else "wrong", "answered": got,
                           "relative_error": relative if math.isfinite(relative) else None})


def read_choice(answer: FinalAnswer, options: list[str]) -> str | None:
    """The option letter the answer names, or None when it names none or several."""
    if answer.choice is not None:
        letter = answer.choice.strip().strip("().*").upper()
        return letter if letter in options else None
    found = {next(g for g in match.groups() if g).upper() for match in _LETTER.finditer(answer.text)}
    found &= set(options)
    return found.pop() if len(found) == 1 else None


def grade_choice(spec: Choice, answer: FinalAnswer) -> Score:
    """Right when the answer names exactly the correct option."""
    letter = read_choice(answer, sorted(spec.options))
    if letter is None:
        return Score(value=0.0, correct=False, metadata={"outcome": UNPARSEABLE},
                     explanation="no single option letter found in the answer")
    correct = letter == spec.correct
    return Score(value=float(correct), correct=correct,
                 explanation=f"chose {letter}, correct is {spec.correct}",
                 metadata={"outcome": "correct" if correct else "wrong", "answered": letter})
