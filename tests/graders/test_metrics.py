"""Run metrics: pass@k and pass^k against brute-force enumeration, and the summary with epochs."""

from __future__ import annotations

from itertools import combinations

import pytest

from csmbench.env import EpisodeRecord
from csmbench.episodes import EpisodeScore, FinalAnswer, Score
from csmbench.graders import pass_at_k, pass_hat_k, summarize


def _enumerate(outcomes: list[bool], k: int) -> tuple[float, float]:
    """Share of k-subsets with at least one / only correct attempts."""
    subsets = list(combinations(outcomes, k))
    return (sum(any(s) for s in subsets) / len(subsets),
            sum(all(s) for s in subsets) / len(subsets))


@pytest.mark.parametrize("n,c", [(1, 0), (1, 1), (4, 0), (4, 1), (4, 3), (5, 2), (6, 6)])
def test_pass_at_k_and_pass_hat_k_count_subsets(n: int, c: int) -> None:
    outcomes = [True] * c + [False] * (n - c)
    for k in range(1, n + 1):
        at_least_one, all_correct = _enumerate(outcomes, k)
        assert pass_at_k(n, c, k) == pytest.approx(at_least_one)
        assert pass_hat_k(n, c, k) == pytest.approx(all_correct)


def _record(item: str, epoch: int, correct: bool) -> EpisodeRecord:
    score = EpisodeScore(answer=Score(value=float(correct), correct=correct,
                                      metadata={"outcome": "correct" if correct else "wrong"}))
    return EpisodeRecord(item_id=item, epoch=epoch, scale="Mesoscale", family="f",
                         answer_type="numeric", tools_offered=[], status="answered", steps=1,
                         trajectory=[], answer=FinalAnswer(text="1"), score=score)


def test_summary_reports_pass_at_k_over_epochs() -> None:
    # item a: 2 of 3 right; item b: 0 of 3; item c: 3 of 3
    records = [_record("a", e, e < 2) for e in range(3)] + [_record("b", e, False) for e in range(3)]
    records += [_record("c", e, True) for e in range(3)]
    summary = summarize(records)
    assert summary["overall"]["accuracy"] == pytest.approx(5 / 9)
    assert summary["pass_at_k"]["1"] == pytest.approx(5 / 9)
    assert summary["pass_at_k"]["2"] == pytest.approx((1 + 0 + 1) / 3)
    assert summary["pass_at_k"]["3"] == pytest.approx(2 / 3)
    assert summary["pass_hat_k"]["2"] == pytest.approx((1 / 3 + 0 + 1) / 3)
    assert summary["pass_hat_k"]["3"] == pytest.approx(1 / 3)


def test_one_epoch_has_no_pass_at_k() -> None:
    assert "pass_at_k" not in summarize([_record("a", 0, True), _record("b", 0, False)])


def test_results_table_shows_pass_rows() -> None:
    from csmbench.graders import results_markdown

    records = [_record("a", e, e == 0) for e in range(2)]
    text = results_markdown({"run": summarize(records)})
    assert "| repeats | pass@2 | 100.0% |" in text
    assert "| repeats | pass^2 | 0.0% |" in text
