"""Formula and number-set graders: composition equality, aliases, unit-aware set matching."""

from __future__ import annotations

import math

import pytest

from csmbench.episodes import FinalAnswer, Formula, NumberSet
from csmbench.graders import UNPARSEABLE, grade_answer, read_formula

ANATASE = Formula(formula="TiO2", names=["anatase"])


@pytest.mark.parametrize("text", ["TiO2", "O2Ti", "TiO₂", "Ti2O4", "The phase is TiO2.",
                                  "I think it is anatase", "Answer: TiO2 (anatase)"])
def test_same_composition_or_name_is_correct(text: str) -> None:
    assert grade_answer(ANATASE, FinalAnswer(text=text)).correct


@pytest.mark.parametrize("text", ["SiO2", "Ti", "TiO", "It is rutile-like Ti2O3"])
def test_other_compositions_are_wrong(text: str) -> None:
    score = grade_answer(ANATASE, FinalAnswer(text=text))
    assert not score.correct and score.metadata["outcome"] == "wrong"


@pytest.mark.parametrize("text", ["", "I do not know", "It is SiO2 or TiO2", "Xx2",
                                  "In my view it is hard to say"])
def test_no_single_formula_is_unparseable(text: str) -> None:
    score = grade_answer(ANATASE, FinalAnswer(text=text))
    assert not score.correct and score.metadata["outcome"] == UNPARSEABLE


def test_answer_keyword_picks_the_final_formula() -> None:
    text = "Peaks like SiO2 were considered. Final answer: TiO2"
    assert read_formula(FinalAnswer(text=text)) == "TiO2"


PEAKS = NumberSet(values=[28.44, 47.30, 56.12], unit="deg", abs_tol=0.05)


def test_number_set_perfect_match_from_text_with_units() -> None:
    score = grade_answer(PEAKS, FinalAnswer(text="Peaks at 2θ = 28.45°, 47.31° and 56.10°."))
    assert score.correct and score.value == 1.0


def test_number_set_scores_f1_for_missing_and_extra_values() -> None:
    missing = grade_answer(PEAKS, FinalAnswer(values=[28.44, 47.30]))
    assert not missing.correct and missing.value == pytest.approx(2 * 2 / (2 + 3))
    extra = grade_answer(PEAKS, FinalAnswer(values=[28.44, 47.30, 56.12, 69.13]))
    assert not extra.correct and extra.value == pytest.approx(2 * 3 / (4 + 3))
    shifted = grade_answer(PEAKS, FinalAnswer(values=[28.54, 47.40, 56.22]))
    assert shifted.value == 0.0


def test_number_set_converts_units_and_matches_one_to_one() -> None:
    radians = [math.radians(v) for v in PEAKS.values]
    assert grade_answer(PEAKS, FinalAnswer(values=radians, unit="rad")).correct
    # two answers near one truth value match it once only
    doubled = grade_answer(PEAKS, FinalAnswer(values=[28.44, 28.45, 47.30]))
    assert doubled.metadata["matched"] == 2 and not doubled.correct


def test_number_set_without_numbers_is_unparseable() -> None:
    score = grade_answer(PEAKS, FinalAnswer(text="several peaks"))
    assert score.metadata["outcome"] == UNPARSEABLE
