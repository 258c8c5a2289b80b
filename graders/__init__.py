"""Answer graders, run metrics and results tables."""

from ._answer import (
    UNPARSEABLE,
    grade_answer,
    grade_choice,
    grade_numeric,
    read_choice,
    read_numeric,
)
from ._metrics import outcome, pass_at_k, pass_hat_k, summarize
from ._report import results_markdown, results_table
from ._structured import grade_formula, grade_number_set, read_formula, read_numbers

__all__ = ["UNPARSEABLE", "grade_answer", "grade_choice", "grade_formula", "grade_number_set",
           "grade_numeric", "outcome", "pass_at_k", "pass_hat_k", "read_choice", "read_formula", "read_numbers",
           "read_numeric", "results_markdown", "results_table", "summarize"]
