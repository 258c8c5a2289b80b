"""Milestones: which of an item's expected tool calls a trajectory made, in an allowed order.

A milestone matches a call to the same tool whose arguments agree with the milestone's:
strings and booleans exactly, numbers within the milestone's ``rel_tol``. A successful call
counts (a call the tool rejected does not). Milestone ``i`` with ``after=[j]`` is reached
only by a call later than the call that reached ``j``. Assignment is greedy in trajectory
order, which is exact for chains (every family's milestones form one).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from csmbench.episodes import Milestone, ToolCall

if TYPE_CHECKING:
    from csmbench.env import Step

__all__ = ["argument_matches", "milestone_matches", "milestones_reached", "successful_calls"]


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


def milestone_matches(milestone: Milestone, call: ToolCall) -> bool:
    """Whether ``call`` is the tool call ``milestone`` expects."""
    return call.name == milestone.tool and all(
        name in call.arguments and argument_matches(value, call.arguments[name], milestone.rel_tol)
        for name, value in milestone.arguments.items())


def successful_calls(trajectory: Sequence[Step]) -> list[ToolCall]:
    """The calls of a trajectory whose tool returned a result (not an error), in order."""
    calls = []
    for step in trajectory:
        ok = {result.call_id for result in step.results if result.ok}
        calls += [call for call in step.calls if call.id in ok]
    return calls


def milestones_reached(milestones: Sequence[Milestone], calls: Sequence[ToolCall]) -> list[int | None]:
    """For each milestone, the index in ``calls`` of the call that reached it, or None."""
    reached: list[int | None] = [None] * len(milestones)
    for position, call in enumerate(calls):
        for index, milestone in enumerate(milestones):
            if reached[index] is not None or not milestone_matches(milestone, call):
                continue
            before = [reached[j] for j in milestone.after]
            if all(b is not None and b < position for b in before):
                reached[index] = position
                break
    return reached
