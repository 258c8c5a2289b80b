"""Answer graders: numbers with units through pint, tolerances, option letters."""

import pytest

from csmbench.episodes import Choice, FinalAnswer, Numeric
from csmbench.graders import UNPARSEABLE, grade_choice, grade_numeric

PIXEL = Numeric(value=5.86, unit="nm/px", rel_tol=0.02)


@pytest.mark.parametrize(
    ("text", "correct"),
    [("about 5.9 nm/px", True), ("The pixel size is 5.86 nm per pixel.", True),
     ("0.00586 µm/px", True), ("0.00586 μm/px", True), ("5.86e-3 um/pixel", True),
     ("Answer: 5.8", True), ("6.2 nm/px", False), ("58.6 Å/px", True), ("5860 pm/px", True), ("586 pm/px", False)],
    ids=["approx", "per-pixel", "micro-sign", "greek-mu", "u-exponent", "bare-number", "off-6pct",
         "angstrom", "picometre", "picometre-wrong"],
)
def test_numeric_reads_units_and_tolerance(text: str, correct: bool) -> None:
    assert grade_numeric(PIXEL, FinalAnswer(text=text)).correct is correct


@pytest.mark.parametrize(
    ("spec", "answer"),
    [(Numeric(value=500, unit="nm"), FinalAnswer(value=0.5, unit="µm")),
     (Numeric(value=2300, unit="MPa"), FinalAnswer(text="2.3 GPa")),
     (Numeric(value=20, unit="µm", rel_tol=0.0, abs_tol=0.5), FinalAnswer(text="20.4 um"))],
    ids=["um-vs-nm", "GPa-vs-MPa", "abs-tol"],
)
def test_equivalent_units_are_equal(spec: Numeric, answer: FinalAnswer) -> None:
    assert grade_numeric(spec, answer).correct


def test_structured_value_wins_over_text() -> None:
    answer = FinalAnswer(text="I measured 100 nm/px first", value=5.86, unit="nm/px")
    assert grade_numeric(PIXEL, answer).correct


def test_wrong_dimension_is_wrong_not_unparseable() -> None:
    score = grade_numeric(PIXEL, FinalAnswer(text="10 MPa"))
    assert not score.correct and score.metadata["outcome"] == "wrong"


def test_no_number_is_unparseable() -> None:
    score = grade_numeric(PIXEL, FinalAnswer(text="I cannot tell"))
    assert score.metadata["outcome"] == UNPARSEABLE and score.value == 0.0


def test_tolerance_edge() -> None:
    spec = Numeric(value=100.0, unit="nm", rel_tol=0.02)
    assert grade_numeric(spec, FinalAnswer(value=102.0, unit="nm")).correct
    assert not grade_numeric(spec, FinalAnswer(value=102.1, unit="nm")).correct


CHOICE = Choice(options={"A": "a", "B": "b", "C": "c", "D": "d"}, correct="C")


@pytest.mark.parametrize("text", ["Answer: C", "(C)", "**C**", "The correct caption is C.", "C"],
                         ids=["answer-colon", "parens", "bold", "sentence", "bare"])
def test_choice_letter_forms(text: str) -> None:
    assert grade_choice(CHOICE, FinalAnswer(text=text)).correct


@pytest.mark.parametrize("text", ["A or B", "no idea"], ids=["two-letters", "none"])
def test_choice_unparseable(text: str) -> None:
    assert grade_choice(CHOICE, FinalAnswer(text=text)).metadata["outcome"] == UNPARSEABLE


def test_choice_field() -> None:
    assert not grade_choice(CHOICE, FinalAnswer(choice="B")).correct
    assert grade_choice(CHOICE, FinalAnswer(choice="c")).correct


@pytest.mark.parametrize(("text", "ours", "original"), [
    ("Answer: C", "C", "A"), ("(C)", "C", "C"), ("**C**", "C", "C"), ("C.", "C", "C"),
    ("c", "C", "C"), ("The correct caption is C.", "C", "C"), ("**Answer:** D", "D", "A"),
    ("I think it's B.", "B", "B"), ("The answer is C. Option A shows AFM, not TEM.", "C", "A"),
    ("C\n\nOption B mentions SEM, which is wrong.", "C", "C"),
    ("B) TEM images of ZrB2 nanoparticle", "B", "B"),
    ("(C) or (D)", None, "C"), ("A or B", None, "A"), ("C and D", None, "C"),
    ("A TEM image of grains.", None, "A"), ("no idea", None, "D"), ("", None, "?"),
    ("It is fine", None, "I"),
], ids=["answer-colon", "parens", "bold", "letter-dot", "lower-bare", "sentence",
        "bold-label", "its", "stated-beats-mentioned", "bare-line-beats-mention",
        "option-line", "two-parens", "two-letters", "two-bare", "article", "none", "empty",
        "no-letter-first-char"])
def test_letter_reading_and_the_original_reading(text: str, ours: str | None,
                                                 original: str) -> None:
    # original: first character of the stripped reply that is A-D in either case, else
    # the reply's first character, else "?" (mcqa_generate.py of the CSMBench repository)
    score = grade_choice(CHOICE, FinalAnswer(text=text))
    assert score.metadata.get("answered") == ours
    assert score.metadata["outcome"] == (UNPARSEABLE if ours is None else
                                         "correct" if ours == "C" else "wrong")
    assert score.metadata["original_choice"] == original
    assert score.metadata["original_correct"] is (original == "C")
