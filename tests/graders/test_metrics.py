"""Run metrics: pass@k and pass^k against brute-force enumeration, and the summary with epochs."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import pytest

from csmbench.env import EpisodeRecord
from csmbench.episodes import EpisodeScore, FinalAnswer, Score
from csmbench.graders import pass_at_k, pass_hat_k, summarize
from csmbench.graders._metrics import uplift


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


def _record(item: str, epoch: int, correct: bool, family: str = "f",
            tools: tuple[str, ...] = ()) -> EpisodeRecord:
    score = EpisodeScore(answer=Score(value=float(correct), correct=correct,
                                      metadata={"outcome": "correct" if correct else "wrong"}))
    return EpisodeRecord(item_id=item, epoch=epoch, scale="Mesoscale", family=family,
                         answer_type="numeric", tools_offered=list(tools), status="answered", steps=1,
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


def _run(hits: int, n: int) -> list[EpisodeRecord]:
    return [_record(f"i{index}", 0, index < hits) for index in range(n)]


@pytest.mark.parametrize(("hits", "n"), [(7, 10), (1, 12), (30, 40)], ids=["7of10", "1of12", "30of40"])
def test_interval_contains_the_accuracy_and_is_reproducible(hits: int, n: int) -> None:
    overall = summarize(_run(hits, n))["overall"]
    low, high = overall["ci95"]
    assert overall["accuracy"] == pytest.approx(hits / n)
    assert low <= overall["accuracy"] <= high
    assert low < high and overall["mean_score_ci95"] == overall["ci95"]
    assert summarize(_run(hits, n))["overall"]["ci95"] == [low, high]


def test_interval_narrows_with_more_episodes() -> None:
    intervals = [summarize(_run(n // 2, n))["overall"]["ci95"] for n in (10, 100, 1000)]
    widths = [high - low for low, high in intervals]
    assert widths[0] > widths[1] > widths[2]
    assert widths[2] == pytest.approx(2 * 1.96 * (0.25 / 1000) ** 0.5, rel=0.2)


def test_interval_is_exact_when_all_or_none_are_correct() -> None:
    assert summarize(_run(5, 5))["overall"]["ci95"] == [1.0, 1.0]
    assert summarize(_run(0, 5))["overall"]["ci95"] == [0.0, 0.0]
    assert summarize(_run(1, 1))["overall"]["ci95"] is None  # no interval from one episode


def test_uplift_is_paired_by_item_with_epochs_averaged() -> None:
    # with tools: a 1,0 (0.5); b 1; c 1; d only here.  without: a 0; b 1,1; c 0; e only here.
    tools = ("find_peaks",)
    with_tools = [_record("a", 0, True, "f1", tools), _record("a", 1, False, "f1", tools),
                  _record("b", 0, True, "f1", tools), _record("c", 0, True, "f2", tools),
                  _record("d", 0, True, "f2", tools)]
    without = [_record("a", 0, False, "f1"), _record("b", 0, True, "f1"),
               _record("b", 1, True, "f1"), _record("c", 0, False, "f2"),
               _record("e", 0, False, "f2")]
    result = uplift(with_tools, without)
    overall = result["overall"]
    assert overall["n"] == 3  # a, b, c
    assert overall["with"] == pytest.approx((0.5 + 1 + 1) / 3)
    assert overall["without"] == pytest.approx(1 / 3)
    assert overall["uplift"] == pytest.approx((0.5 + 0 + 1) / 3)
    assert overall["ci95"][0] <= overall["uplift"] <= overall["ci95"][1]
    assert result["by_family"]["f1"] | {"ci95": None} == {
        "with": 0.75, "without": 0.5, "uplift": 0.25, "ci95": None, "n": 2}
    assert result["by_family"]["f2"] == {"with": 1.0, "without": 0.0, "uplift": 1.0,
                                         "ci95": None, "n": 1}
    assert uplift(with_tools, [])["overall"] is None


def test_report_tables_show_intervals_and_the_uplift(tmp_path: Path) -> None:
    from csmbench.graders import results_markdown
    from csmbench.graders._report import RunResults, tool_pairs, uplift_markdown, uplift_table

    tools = ("find_peaks",)
    ref = [_record(f"i{k}", 0, k < 3, "f1", tools) for k in range(4)]
    base = [_record(f"i{k}", 0, k < 1, "f1") for k in range(4)]
    runs = [RunResults("base (tools=none)", tmp_path, summarize(base), base),
            RunResults("ref (tools=all)", tmp_path, summarize(ref), ref)]
    text = results_markdown({run.name: run.summary for run in runs})
    low, high = runs[1].summary["overall"]["ci95"]
    assert f"| overall | overall | 25.0% [0,75] (4) | 75.0% [{100 * low:.0f},{100 * high:.0f}] (4) |" \
        in text
    [(more, fewer)] = tool_pairs(runs)
    assert (more.name, fewer.name) == ("ref (tools=all)", "base (tools=none)")
    markdown = uplift_markdown(more, fewer)
    assert "| overall | overall | 0.750 | 0.250 | +0.500 | [+0.00,+1.00] | 4 |" in markdown
    assert "| family | f1 | 0.750 | 0.250 | +0.500 |" in markdown
    assert uplift_table(more, fewer).row_count == 3  # overall, one scale, one family
    assert tool_pairs(runs[:1]) == [] and tool_pairs([runs[1], runs[1]]) == []
