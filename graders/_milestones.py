"""Milestones: which of an item's expected tool calls a trajectory made, in an allowed order.

A milestone matches a call to the same tool whose arguments agree with the milestone's:
strings and booleans exactly, numbers within the milestone's ``rel_tol``. A successful call
counts (a call the tool rejected does not). Milestone ``i`` with ``after=[j]`` is reached
only by a call later than the call that reached ``j``. :func:`assign_milestones` scores
partial matches (:func:`milestone_similarity`) and searches for the best order-respecting
assignment, which the trajectory grader uses; :func:`milestones_reached` keeps the full
matches of that assignment.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from csmbench.episodes import Milestone, ToolCall

if TYPE_CHECKING:
    from csmbench.env import Step

__all__ = ["MilestoneMatch", "argument_matches", "assign_milestones", "milestone_similarity",
           "milestones_reached", "successful_calls"]


def argument_matches(expected: Any, actual: Any, rel_tol: float) -> bool:
    """Whether one argument value agrees: numbers within ``rel_tol``, the rest exactly."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(actual) is type(expected) and actual == expected
    numbers = (int, float)
    if isinstance(expected, numbers) and not isinstance(expected, bool):
        if not isinstance(actual, numbers) or isinstance(actual, bool):
            return False
        return math.isclose(float(actual), float(expected), rel_tol=rel_tol, abs_tol=1e-12)
    return actual == expected


def successful_calls(trajectory: Sequence[Step]) -> list[ToolCall]:
    """The calls of a trajectory whose tool returned a result (not an error), in order."""
    calls = []
    for step in trajectory:
        ok = {result.call_id for result in step.results if result.ok}
        calls += [call for call in step.calls if call.id in ok]
    return calls


def milestone_similarity(milestone: Milestone, call: ToolCall) -> float:
    """How closely ``call`` reaches ``milestone``, in [0, 1].

    0 for another tool; for the milestone's tool, the fraction of the milestone's arguments
    the call matches (:func:`argument_matches`; a missing argument does not match), 1 when
    the milestone names no arguments. Arguments the milestone does not name are ignored.

    Example:
        >>> m = Milestone(tool="estimate_grain_size", arguments={"image": "img0", "nm_per_pixel": 250.0})
        >>> milestone_similarity(m, ToolCall(name="estimate_grain_size",
        ...                                  arguments={"image": "img0", "nm_per_pixel": 300.0}))
        0.5
    """
    if call.name != milestone.tool:
        return 0.0
    if not milestone.arguments:
        return 1.0
    matched = sum(name in call.arguments
                  and argument_matches(value, call.arguments[name], milestone.rel_tol)
                  for name, value in milestone.arguments.items())
    return matched / len(milestone.arguments)


@dataclass(frozen=True)
class MilestoneMatch:
    """The call (its position) assigned to one milestone and their similarity; None: unreached."""

    call: int | None
    similarity: float


def _topological(milestones: Sequence[Milestone]) -> list[int]:
    """Milestone indices, each after its ``after``; ValueError on a bad index or a cycle."""
    order: list[int] = []
    state: dict[int, str] = {}

    def visit(index: int, path: tuple[int, ...]) -> None:
        if state.get(index) == "done":
            return
        if state.get(index) == "open":
            raise ValueError(f"milestones form a cycle through indices {[*path, index]}")
        state[index] = "open"
        for before in milestones[index].after:
            if not 0 <= before < len(milestones) or before == index:
                raise ValueError(f"milestone {index} ({milestones[index].tool}) has after={before}; "
                                 f"expected the index of another of the {len(milestones)} milestones")
            visit(before, (*path, index))
        state[index] = "done"
        order.append(index)

    for index in range(len(milestones)):
        visit(index, ())
    return order


def assign_milestones(milestones: Sequence[Milestone],
                      calls: Sequence[tuple[int, ToolCall]]) -> list[MilestoneMatch]:
    """The best order-respecting assignment of calls to milestones (ToolSandbox style).

    Each milestone gets at most one call and each call serves at most one milestone. Milestone
    ``i`` with ``after=[j]`` may be assigned only when ``j`` is assigned to an earlier call
    (smaller position; calls of one step are ordered as the agent listed them). Among such
    assignments, the one with the largest sum of similarities (:func:`milestone_similarity`)
    wins; an exact branch-and-bound search (milestone lists are short). Ties go to the
    earliest calls.

    Args:
        milestones: The item's milestones.
        calls: (position, call) pairs of the calls that may reach milestones (the successful
            ones), positions increasing.

    Raises:
        ValueError: ``after`` names a missing milestone or the milestones form a cycle.
    """
    order = _topological(milestones)
    options = {i: [(pos, s) for pos, call in calls
                   if (s := milestone_similarity(milestones[i], call)) > 0] for i in order}
    ceiling = [max((s for _, s in options[i]), default=0.0) for i in order]
    remaining = [sum(ceiling[k:]) for k in range(len(order) + 1)]
    best: list[MilestoneMatch | None] = [None] * len(milestones)
    best_total = -1.0
    current: dict[int, MilestoneMatch] = {}

    def search(k: int, total: float, used: frozenset[int]) -> None:
        nonlocal best, best_total
        if total + remaining[k] <= best_total + 1e-12:
            return
        if k == len(order):
            best, best_total = [current[i] for i in range(len(milestones))], total
            return
        index = order[k]
        earliest = [current[j].call for j in milestones[index].after]
        if all(e is not None for e in earliest):
            after = max((e for e in earliest if e is not None), default=-1)
            for pos, similarity in options[index]:
                if pos > after and pos not in used:
                    current[index] = MilestoneMatch(pos, similarity)
                    search(k + 1, total + similarity, used | {pos})
        current[index] = MilestoneMatch(None, 0.0)
        search(k + 1, total, used)

    search(0, 0.0, frozenset())
    return [match or MilestoneMatch(None, 0.0) for match in best]


def milestones_reached(milestones: Sequence[Milestone], calls: Sequence[ToolCall]) -> list[int | None]:
    """For each milestone, the index in ``calls`` of the call that fully reached it in the
    best assignment (:func:`assign_milestones`), or None."""
    matches = assign_milestones(milestones, list(enumerate(calls)))
    return [m.call if m.similarity == 1.0 else None for m in matches]
