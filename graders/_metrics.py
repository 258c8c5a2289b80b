"""Run metrics: accuracy by scale, family and answer type, outcome counts, pass@k and pass^k.

With several epochs per item, pass@k is the chance that at least one of k attempts drawn
without replacement from an item's n is correct, 1 - C(n - c, k) / C(n, k) (the unbiased
estimator of Chen et al. 2021); pass^k the chance that all k are, C(c, k) / C(n, k) (Yao et
al. 2024, tau-bench). Both are averaged over items, for k = 1 .. the fewest epochs of an item.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from csmbench.env import EpisodeRecord

from ._answer import UNPARSEABLE, UNSCORED

__all__ = ["outcome", "pass_at_k", "pass_hat_k", "summarize"]

OUTCOMES = ("correct", "wrong", UNPARSEABLE, UNSCORED, "step_limit", "time_limit",
            "token_limit", "error")


def outcome(record: EpisodeRecord) -> str:
    """correct, wrong, unparseable, a limit (step, time, token: no answer within the budget)
    or error (infrastructure)."""
    if record.status != "answered" or record.score is None:
        return record.status if record.status != "answered" else "error"
    return str(record.score.answer.metadata.get("outcome", "correct" if record.correct else "wrong"))


def _group(records: list[EpisodeRecord], key: Callable[[EpisodeRecord], str]) -> dict[str, Any]:
    groups: dict[str, list[EpisodeRecord]] = defaultdict(list)
    for record in records:
        groups[key(record)].append(record)
    return {name: _accuracy(members) for name, members in sorted(groups.items())}


def _accuracy(records: list[EpisodeRecord]) -> dict[str, Any]:
    n = len(records)
    correct = sum(record.correct for record in records)
    mean = sum(r.score.answer.value if r.score else 0.0 for r in records) / n if n else 0.0
    return {"accuracy": correct / n if n else 0.0, "n": n, "correct": correct, "mean_score": mean,
            **_judge_scores(records)}


def _judge_scores(records: list[EpisodeRecord]) -> dict[str, Any]:
    """For groups with free-text answers: the mean judge score (0-10) over the judged ones,
    how many were judged, and the mean of the original script's readings of the same verdicts
    (over the verdicts it could read, as the original averages)."""
    if not any(r.answer_type == "free_text" for r in records):
        return {}
    grades = [r.score.answer.metadata for r in records
              if r.answer_type == "free_text" and r.score is not None]
    scores = [m["judge_score"] for m in grades if m.get("judge_score") is not None]
    originals = [m["original_score"] for m in grades if m.get("original_score") is not None]
    return {"mean_judge_score": sum(scores) / len(scores) if scores else None,
            "judged": len(scores),
            "mean_original_score": sum(originals) / len(originals) if originals else None}


def pass_at_k(n: int, c: int, k: int) -> float:
    """Chance that at least one of k of n attempts (c correct) is correct."""
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """Chance that all k of n attempts (c correct) are correct."""
    return math.comb(c, k) / math.comb(n, k)


def _repeats(records: list[EpisodeRecord]) -> dict[str, dict[str, float]] | None:
    """pass@k and pass^k for k = 1 .. min epochs per item, or None with one epoch."""
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for record in records:
        tally[record.item_id][0] += 1
        tally[record.item_id][1] += record.correct
    if not tally or max(n for n, _ in tally.values()) < 2:
        return None
    ks = range(1, min(n for n, _ in tally.values()) + 1)
    counts = list(tally.values())

    def mean(estimate: Callable[[int, int, int], float], k: int) -> float:
        return sum(estimate(n, c, k) for n, c in counts) / len(counts)

    return {"pass_at_k": {str(k): mean(pass_at_k, k) for k in ks},
            "pass_hat_k": {str(k): mean(pass_hat_k, k) for k in ks}}


def summarize(records: Iterable[EpisodeRecord]) -> dict[str, Any]:
    """The run summary: ``overall``, ``by_scale``, ``by_family``, ``by_answer_type``,
    ``outcomes``, ``tool_calls`` and, with several epochs, ``pass_at_k`` and ``pass_hat_k``.

    Every episode counts; one that ended in an error or at the step limit counts as not correct.
    """
    records = list(records)
    calls = sum(len(step.calls) for record in records for step in record.trajectory)
    failed = sum(not result.ok for record in records for step in record.trajectory
                 for result in step.results)
    summary = {
        "overall": _accuracy(records),
        "by_scale": _group(records, lambda r: r.scale),
        "by_family": _group(records, lambda r: r.family),
        "by_answer_type": _group(records, lambda r: r.answer_type),
        "outcomes": {name: Counter(map(outcome, records)).get(name, 0) for name in OUTCOMES},
        "tool_calls": {"total": calls, "failed": failed,
                       "per_episode": calls / len(records) if records else 0.0},
    }
    return summary | (_repeats(records) or {})
