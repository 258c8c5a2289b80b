"""Answer graders, the LLM judge, run metrics and results tables."""

from ._answer import (
    UNPARSEABLE,
    UNSCORED,
    grade_answer,
    grade_choice,
    grade_free_text,
    grade_numeric,
    original_choice,
    read_choice,
    read_numeric,
)
from ._judge import (
    DEFAULT_JUDGE_MODEL,
    JUDGE_PROMPT,
    PASS_SCORE,
    Judge,
    JudgeCache,
    JudgeError,
    JudgeOptions,
    LLMJudge,
    judge_messages,
)
from ._judge_read import original_judge_score, read_judge_score
from ._metrics import outcome, pass_at_k, pass_hat_k, summarize
from ._milestones import (
    argument_matches,
    milestone_matches,
    milestones_reached,
    successful_calls,
)
from ._report import results_markdown, results_table
from ._structured import grade_formula, grade_number_set, read_formula, read_numbers

__all__ = ["DEFAULT_JUDGE_MODEL", "JUDGE_PROMPT", "PASS_SCORE", "UNPARSEABLE", "UNSCORED",
           "Judge", "JudgeCache", "JudgeError", "JudgeOptions", "LLMJudge", "argument_matches",
           "grade_answer",
           "grade_choice", "grade_formula", "grade_free_text", "grade_number_set",
           "grade_numeric", "judge_messages", "milestone_matches", "milestones_reached", "original_choice", "original_judge_score",
           "outcome", "pass_at_k", "pass_hat_k", "read_choice", "read_formula",
           "read_judge_score", "read_numbers", "read_numeric", "results_markdown",
           "results_table", "successful_calls", "summarize"]
