"""Run metrics: accuracy by scale, family and answer type, outcome counts, pass@k and pass^k.

With several epochs per item, pass@k is the chance that at least one of k attempts drawn
without replacement from an item's n is correct, 1 - C(n - c, k) / C(n, k) (the unbiased
estimator of Chen et al. 2021); pass^k the chance that all k are, C(c, k) / C(n, k) (Yao et
al. 2024, tau-bench). Both are averaged over items, for k = 1 .. the fewest epochs of an item.

Every group carries a 95% confidence interval of its accuracy (``ci95``) and mean score
(``mean_score_ci95``): a percentile bootstrap over episodes (``scipy.stats.bootstrap``, a fixed
seed, so the same records give the same interval; None with fewer than two episodes). Tool
uplift (``uplift``) compares two runs on the same items: the per-item mean score with tools
minus without (epochs averaged first), averaged over the items both runs have, with a paired
bootstrap interval over items.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.stats import bootstrap

if TYPE_CHECKING:
    from csmbench.env import EpisodeRecord

from ._answer import UNPARSEABLE, UNSCORED

__all__ = ["bootstrap_ci", "outcome", "pass_at_k", "pass_hat_k", "summarize", "uplift"]

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
"""The bootstrap's fixed seed: a report is reproducible to the last digit."""

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


def bootstrap_ci(values: Sequence[float], seed: int = BOOTSTRAP_SEED) -> list[float] | None:
    """The 95% percentile-bootstrap interval of the mean of ``values``, [low, high].

    None for fewer than two values; exact ([1, 1]) when all values are equal. The values
    are sorted first, so the interval depends on them, not on the order episodes finished.

    Example:
        >>> bootstrap_ci([1.0, 1.0, 1.0])
        [1.0, 1.0]
    """
    if len(values) < 2:
        return None
    result = bootstrap((np.sort(np.asarray(values, dtype=float)),), np.mean, vectorized=True,
                       confidence_level=CONFIDENCE, n_resamples=BOOTSTRAP_RESAMPLES,
                       method="percentile", rng=np.random.default_rng(seed))
    interval = result.confidence_interval
    return [float(interval.low), float(interval.high)]


def _score(record: EpisodeRecord) -> float:
    """The answer score in [0, 1]; 0 for an episode without one (an error, a limit)."""
    return record.score.answer.value if record.score else 0.0


def _accuracy(records: list[EpisodeRecord]) -> dict[str, Any]:
    n = len(records)
    correct = sum(record.correct for record in records)
    scores = [_score(r) for r in records]
    return {"accuracy": correct / n if n else 0.0, "n": n, "correct": correct,
            "mean_score": sum(scores) / n if n else 0.0,
            "ci95": bootstrap_ci([float(r.correct) for r in records]),
            "mean_score_ci95": bootstrap_ci(scores),
            **_trajectory_scores(records), **_judge_scores(records)}


def _trajectory_scores(records: list[EpisodeRecord]) -> dict[str, Any]:
    """The mean trajectory (milestone) score over the episodes that have one, if any do."""
    values = [r.score.trajectory.value for r in records
              if r.score is not None and r.score.trajectory is not None]
    if not values:
        return {}
    return {"mean_trajectory_score": sum(values) / len(values), "trajectory_scored": len(values)}


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
    ``by_difficulty`` (generated items), ``outcomes``, ``tool_calls`` and, with several epochs, ``pass_at_k`` and ``pass_hat_k``.

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
        "by_difficulty": _group([r for r in records if r.difficulty], lambda r: r.difficulty),
        "outcomes": {name: Counter(map(outcome, records)).get(name, 0) for name in OUTCOMES},
        "tool_calls": {"total": calls, "failed": failed,
                       "per_episode": calls / len(records) if records else 0.0},
    }
    return summary | (_repeats(records) or {})


def _item_scores(records: Iterable[EpisodeRecord]) -> dict[str, tuple[float, EpisodeRecord]]:
    """Each item's mean answer score over its epochs, with one of its records (for grouping)."""
    scores: dict[str, list[float]] = defaultdict(list)
    first: dict[str, EpisodeRecord] = {}
    for record in records:
        scores[record.item_id].append(_score(record))
        first.setdefault(record.item_id, record)
    return {item: (sum(values) / len(values), first[item]) for item, values in scores.items()}


def _paired(pairs: list[tuple[float, float]]) -> dict[str, Any]:
    """Mean with, mean without, their difference and its bootstrap interval over items."""
    n = len(pairs)
    differences = [with_ - without for with_, without in pairs]
    return {"with": sum(w for w, _ in pairs) / n, "without": sum(o for _, o in pairs) / n,
            "uplift": sum(differences) / n, "ci95": bootstrap_ci(differences), "n": n}


def uplift(with_tools: Iterable[EpisodeRecord], without: Iterable[EpisodeRecord]
           ) -> dict[str, Any]:
    """Tool uplift: mean answer score with tools minus without, paired by item.

    Epochs are averaged per item first; only items both runs have count. The interval is a
    bootstrap over items of the per-item differences (a paired bootstrap).

    Returns:
        ``{"overall": {...}, "by_family": {name: {...}}, "by_scale": {name: {...}}}``, each
        entry ``{"with", "without", "uplift", "ci95", "n"}`` (n: paired items); ``overall``
        is None when the runs share no item.
    """
    mine, theirs = _item_scores(with_tools), _item_scores(without)
    shared = [item for item in mine if item in theirs]
    result: dict[str, Any] = {"overall": _paired([(mine[i][0], theirs[i][0]) for i in shared])
                              if shared else None}
    for group, key in (("by_family", "family"), ("by_scale", "scale")):
        members: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for item in shared:
            members[getattr(mine[item][1], key)].append((mine[item][0], theirs[item][0]))
        result[group] = {name: _paired(pairs) for name, pairs in sorted(members.items())}
    return result
