"""Answer graders for chemical formulas (pymatgen ``Composition``) and sets of numbers.

A formula answer is read from the text: the whole text when it is a formula ("TiO2"), else
the formula-like words after the last "answer" (or in the whole text), where words of more
than one element or with a count win over single symbols ("I", "In", "As" are English too).
Several different formulas, or none, make the answer unparseable. A name in ``Formula.names``
("anatase") counts as the formula.

A number-set answer is ``FinalAnswer.values`` when given, else every number in the text
(mentions of "2θ" removed; numbers whose unit does not convert to the item's are dropped).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping

import numpy as np
import pint
from pymatgen.core import Composition
from scipy.optimize import linear_sum_assignment

from csmbench.episodes import FinalAnswer, Formula, NumberSet, Score
from csmbench.units import parse_unit

from ._answer import _NUMBER, UNPARSEABLE, _to_float, _with_unit

__all__ = ["grade_formula", "grade_number_set", "read_formula", "read_numbers"]

_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_SEGMENT = r"(?:[A-Z][a-z]?\d*(?:\.\d+)?|\((?:[A-Z][a-z]?\d*(?:\.\d+)?)+\)\d*)"
_FORMULA = re.compile(rf"(?<![A-Za-z0-9]){_SEGMENT}+(?![A-Za-z0-9])")
_ENGLISH_WORDS = {"I", "In", "As", "At", "Be", "He", "No", "Am", "Ha", "Hi", "So"}
"""Element symbols that are also English words: not read as a formula inside a sentence."""
_NUMBER_WORD = re.compile(rf"({_NUMBER})\s*([A-Za-zµμÅ°][A-Za-zµμÅ°/]*)?")
_ANSWER_WORD = re.compile(r"answer", re.IGNORECASE)
_TWO_THETA = re.compile(r"2\s*[-]?\s*(?:θ|theta|Θ)", re.IGNORECASE)


def _reduced(text: str) -> str | None:
    """The reduced formula of ``text``, or None when it is not a formula of real elements."""
    with warnings.catch_warnings():  # noble gases and superheavy elements lack an
        warnings.filterwarnings("ignore", message="No Pauling electronegativity")  # X value
        try:
            composition = Composition(text)
            return composition.reduced_formula if composition.valid and len(composition) else None
        except (ValueError, KeyError, TypeError):
            return None


def read_formula(answer: FinalAnswer, aliases: Mapping[str, str] | None = None) -> str | None:
    """The reduced formula the answer names, or None when it names none or several.

    ``aliases`` maps phase names ("anatase") to their formula.
    """
    text = answer.text.translate(_SUBSCRIPTS).strip()
    whole = _reduced(text.rstrip(". "))
    if whole is not None:
        return whole
    marks = list(_ANSWER_WORD.finditer(text))
    found: set[str] = set()
    for part in (text[marks[-1].end():], text) if marks else (text,):
        tokens = [m.group(0) for m in _FORMULA.finditer(part)]
        rich = [t for t in tokens if re.search(r"\d|[A-Z].*[A-Z]", t)]
        plain = [t for t in tokens if t not in _ENGLISH_WORDS]
        found = {f for f in map(_reduced, rich or plain) if f}
        if found:
            break
    lowered = text.lower()
    for name, formula in (aliases or {}).items():
        if re.search(rf"(?<![\w-]){re.escape(name.lower())}(?![\w-])", lowered):
            found.add(_reduced(formula) or formula)
    return found.pop() if len(found) == 1 else None


def grade_formula(spec: Formula, answer: FinalAnswer) -> Score:
    """Right when the answer's formula reduces to the truth's (or names the phase)."""
    truth = _reduced(spec.formula) or spec.formula
    got = read_formula(answer, {name: truth for name in spec.names})
    if got is None:
        return Score(value=0.0, correct=False, metadata={"outcome": UNPARSEABLE},
                     explanation="no single chemical formula found in the answer")
    correct = got == truth
    return Score(value=float(correct), correct=correct, explanation=f"answered {got}, truth {truth}",
                 metadata={"outcome": "correct" if correct else "wrong", "answered": got})


def read_numbers(answer: FinalAnswer, expected_unit: str) -> list[float]:
    """The answer's numbers in ``expected_unit`` (structured ``values`` win over text)."""
    target = parse_unit(expected_unit)
    if answer.values is not None:
        try:
            factor = float((1 * parse_unit(answer.unit or expected_unit)).to(target).magnitude)
        except (ValueError, pint.errors.DimensionalityError):
            return []
        return [v * factor for v in answer.values if np.isfinite(v)]
    numbers = []
    for number, unit in _NUMBER_WORD.findall(_TWO_THETA.sub(" ", answer.text.replace("\u2212", "-"))):
        value = _to_float(number)
        quantity = None if value is None else _with_unit(value, unit)
        if value is None:
            continue
        if quantity is None:
            numbers.append(value)
        elif quantity.dimensionality == (1 * target).dimensionality:
            numbers.append(float(quantity.to(target).magnitude))
    return numbers


def grade_number_set(spec: NumberSet, answer: FinalAnswer) -> Score:
    """F1 of a one-to-one matching within ``abs_tol``; correct only when it is perfect."""
    got = read_numbers(answer, spec.unit)
    if not got:
        return Score(value=0.0, correct=False, metadata={"outcome": UNPARSEABLE},
                     explanation="no numbers found in the answer")
    truth = np.asarray(spec.values, dtype=float)
    cost = np.abs(np.asarray(got)[:, None] - truth[None, :])
    rows, cols = linear_sum_assignment(np.where(cost <= spec.abs_tol, cost, 1e9))
    matched = int((cost[rows, cols] <= spec.abs_tol).sum())
    f1 = 2.0 * matched / (len(got) + len(truth))
    correct = matched == len(got) == len(truth)
    return Score(value=f1, correct=correct,
                 explanation=(f"{matched} of {len(truth)} values matched within "
                              f"{spec.abs_tol:g} {spec.unit}; {len(got) - matched} extra"),
                 metadata={"outcome": "correct" if correct else "wrong", "answered": got,
                           "matched": matched, "f1": f1})
