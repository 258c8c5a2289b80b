"""Answer graders: numbers with units (pint) and multiple choice (formulas and number sets:
``_structured``; free text: ``_judge``).

A numeric answer is taken from ``FinalAnswer.value``/``unit`` when given, else parsed from its
text ("about 5.9 nm/px", "Answer: 0.5 µm"). A bare number is read in the item's unit. An answer
that holds no usable number is *unparseable*, its own outcome, never silently a guess.

An option letter is read from ``FinalAnswer.choice`` or from the text in two tiers: explicit
statements first ("Answer: C", "The correct caption is C.", "I choose C", a line holding only
the letter: "C", "C.", "(C)", "**C**"), then mere mentions ("(C)", "**C**", "option C", a line
opening with "C."). The first tier that names any option decides; naming two different options
there makes the answer unparseable. The letter itself must be upper case, except in a reply
that is only the letter, so articles ("a", "A TEM image") are not read as options.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

import pint

from csmbench.episodes import (
    AnswerSpec,
    Choice,
    FinalAnswer,
    Formula,
    FreeText,
    NumberSet,
    Numeric,
    Score,
)
from csmbench.units import parse_quantity, parse_unit

if TYPE_CHECKING:
    from ._judge import Judge

__all__ = [
    "UNPARSEABLE",
    "UNSCORED",
    "grade_answer",
    "grade_choice",
    "grade_numeric",
    "original_choice",
    "read_choice",
    "read_numeric",
]

UNPARSEABLE = "unparseable"
UNSCORED = "unscored"
"""Outcome of a free-text answer no judge scored (no judge given, or its verdict unreadable)."""
ORIGINAL_LETTERS = "ABCD"
_NUMBER = r"[-+]?(?:\d+(?:[.,]\d+)?|\.\d+)(?:\s*[eE][-+]?\d+|\s*[x×]\s*10\^?[-+]?\d+)?"
_UNIT = r"(?:[A-Za-zµμÅ°%/^·*\-\d²³⁻¹]+(?:\s*(?:/|per)\s*[A-Za-zµμÅ²³⁻¹^\d]+)?)?"
_QUANTITY = re.compile(rf"({_NUMBER})\s*({_UNIT})")
_NOT_WORD = r"(?![A-Za-z0-9])"
_STATED = [  # explicit statements of the chosen letter (tier 1)
    (rf"(?i:\b(?:answer|caption|option|choice|letter|match)\b)[^\w\n]*"
     rf"(?:(?i:is|would\s+be|should\s+be|must\s+be)\b|[:=])[^\w\n]*(?P<L>[A-Z]){_NOT_WORD}"),
    (rf"(?i:\b(?:choose|chose|select|pick|go\s+with)\b)[^\w\n]*"
     rf"(?:(?i:option|caption|choice|letter)[^\w\n]*)?(?P<L>[A-Z]){_NOT_WORD}"),
    r"^[^\w\n]*(?P<L>[A-Za-z])[^\w\n]*$",
    r"(?i:\bis|['’]s)[^\S\n]+[(\[*\"']*(?P<L>[A-Z])[)\]*\"']*(?=[.!;,]|[^\S\n]*$)",
]
_MENTIONED = [  # weaker mentions, used when nothing is stated (tier 2)
    r"\((?P<L>[A-Z])\)", r"\*\*(?P<L>[A-Z])\*\*",
    rf"(?i:\b(?:option|caption|choice)\b)[^\S\n]+(?P<L>[A-Z]){_NOT_WORD}",
    r"^[^\S\n]*(?P<L>[A-Z])[.):](?:\s|$)",
]
_TIERS = [[re.compile(p, re.MULTILINE) for p in tier] for tier in (_STATED, _MENTIONED)]


def grade_answer(spec: AnswerSpec, answer: FinalAnswer, *, judge: Judge | None = None,
                 question: str = "") -> Score:
    """Grade ``answer`` against the item's answer spec.

    Args:
        spec: The item's answer spec.
        answer: The agent's final answer.
        judge: Scores free-text answers; without one they are recorded unscored.
        question: The item's question, which the judge sees.
    """
    from ._structured import grade_formula, grade_number_set

    if isinstance(spec, Numeric):
        return grade_numeric(spec, answer)
    if isinstance(spec, Formula):
        return grade_formula(spec, answer)
    if isinstance(spec, NumberSet):
        return grade_number_set(spec, answer)
    if isinstance(spec, FreeText):
        return grade_free_text(spec, answer, judge, question)
    return grade_choice(spec, answer)


def grade_free_text(spec: FreeText, answer: FinalAnswer, judge: Judge | None,
                    question: str) -> Score:
    """The judge's score of a free-text answer, or an unscored Score when there is no judge."""
    if judge is None:
        return Score(value=0.0, correct=False, metadata={"outcome": UNSCORED},
                     explanation="free-text answer not scored: no judge was given (pass "
                                 "judge= to CSMBenchEnv, or --judge MODEL to csmbench eval)")
    return judge.score(question, spec.reference, answer.text, rubric=spec.rubric)


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
    """The option letter the answer names, or None when it names none or several.

    Example:
        >>> read_choice(FinalAnswer(text="The correct caption is C."), ["A", "B", "C", "D"])
        'C'
        >>> read_choice(FinalAnswer(text="A or B"), ["A", "B", "C", "D"]) is None
        True
    """
    if answer.choice is not None:
        letter = answer.choice.strip().strip("().*").upper()
        return letter if letter in options else None
    text = answer.text.strip()
    for tier in _TIERS:
        found = {m["L"].upper() for pattern in tier for m in pattern.finditer(text)}
        found &= set(options)
        if found:
            return found.pop() if len(found) == 1 else None
    return None


def original_choice(text: str) -> str:
    """The letter CSMBench's original ``mcqa_generate.py`` reads from a reply.

    Its rule: the first character of the stripped reply that is one of A-D in either case,
    upper-cased; failing that the reply's first character, upper-cased, or "?" for an empty
    reply. So "Answer: C" reads as "A".

    Example:
        >>> original_choice("Answer: C")
        'A'
    """
    text = text.strip()
    letter = next((ch.upper() for ch in text if ch.upper() in ORIGINAL_LETTERS), None)
    return letter or (text[:1].upper() if text else "?")


def grade_choice(spec: Choice, answer: FinalAnswer) -> Score:
    """Right when the answer names exactly the correct option.

    The metadata also holds ``original_choice`` and ``original_correct``: what CSMBench's
    original script would have read from the answer's text (see :func:`original_choice`).
    """
    original = original_choice(answer.text or answer.choice or "")
    parity = {"original_choice": original, "original_correct": original == spec.correct}
    letter = read_choice(answer, sorted(spec.options))
    if letter is None:
        return Score(value=0.0, correct=False, metadata={"outcome": UNPARSEABLE, **parity},
                     explanation="no single option letter found in the answer")
    correct = letter == spec.correct
    return Score(value=float(correct), correct=correct,
                 explanation=f"chose {letter}, correct is {spec.correct}",
                 metadata={"outcome": "correct" if correct else "wrong", "answered": letter,
                           **parity})
