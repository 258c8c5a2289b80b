"""Run metrics: accuracy by scale, family and answer type, and outcome counts."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from csmbench.env import EpisodeRecord

from ._answer import UNPARSEABLE

__all__ = ["outcome", "summarize"]

OUTCOMES = ("correct", "wrong", UNPARSEABLE, "step_limit", "error")


def outcome(record: EpisodeRecord) -> str:
    """correct, wrong, unparseable, step_limit (no answer in budget) or error (infrastructure)."""
    if record.status != "answered" or record.score is None:
        return "error" if record.status == "error" else "step_limit"
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
    return {"accuracy": correct / n if n else 0.0, "n": n, "correct": correct, "mean_score": mean}


def summarize(records: Iterable[EpisodeRecord]) -> dict[str, Any]:
    """The run summary: ``overall``, ``by_scale``, ``by_family``, ``by_answer_type``, ``outcomes``.

    Every episode counts; one that ended in an error or at the step limit counts as not correct.
    """
    records = list(records)
    calls = sum(len(step.calls) for record in records for step in record.trajectory)
    failed = sum(not result.ok for record in records for step in record.trajectory
                 for result in step.results)
    return {
        "overall": _accuracy(records),
        "by_scale": _group(records, lambda r: r.scale),
        "by_family": _group(records, lambda r: r.family),
        "by_answer_type": _group(records, lambda r: r.answer_type),
        "outcomes": {name: Counter(map(outcome, records)).get(name, 0) for name in OUTCOMES},
        "tool_calls": {"total": calls, "failed": failed,
                       "per_episode": calls / len(records) if records else 0.0},
    }
