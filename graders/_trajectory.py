"""Trajectory grader: milestones, minefields, call checks, efficiency and consistency.

The score (``Score.value``) is ToolSandbox's: the mean milestone similarity over the best
order-respecting assignment of the agent's successful calls to the item's milestones
(:func:`csmbench.graders.assign_milestones`), zeroed when a minefield is hit. ``correct``
means value >= :data:`TRAJECTORY_CORRECT_AT`: every milestone fully reached, no minefield.
Items without milestones (CSMBench's real figures) get no trajectory score (None).

Calls are numbered 0, 1, ... across the whole trajectory (calls of one step in the order
the agent listed them); ``metadata`` refers to them by that number. It holds:

- ``milestones``: per milestone, its tool, the call assigned to it (or None) and the
  similarity; ``milestone_score``: their mean before minefields.
- ``minefields``: the ones hit, each ``{"name", "call", "detail"}``:
  ``answered_before_measuring`` (the agent answered while no call of any milestone tool had
  succeeded), ``wrong_attachment`` (see :func:`wrong_attachment`), ``repeated_failed_call``
  (a call with the same tool and identical arguments as an earlier call the tool rejected as
  the agent's mistake; a retry after a csmbench internal error is allowed).
- ``call_checks``: counts of calls by kind (BFCL-like taxonomy, :data:`CALL_KINDS`) and
  ``call_errors``: the calls that are not "ok", with the kind and a detail.
- ``efficiency``: reference calls / max(agent calls, reference calls); 1 = no more calls
  than the reference solution; ``tool_error_rate``: calls the tool rejected as the agent's
  mistake / calls (None without calls).
- ``consistency`` and ``consistency_detail``: see :func:`answer_consistency`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from csmbench.episodes import (
    EpisodeScore,
    FinalAnswer,
    Item,
    Score,
    ToolCall,
    ToolResult,
)
from csmbench.tools import REGISTRY, ToolRegistry

from ._consistency import answer_consistency
from ._milestones import assign_milestones

if TYPE_CHECKING:
    from csmbench.env import Step

__all__ = ["CALL_KINDS", "TRAJECTORY_CORRECT_AT", "TRAJECTORY_FLOOR", "answer_consistency",
           "check_call", "combined_score", "grade_trajectory", "wrong_attachment"]

TRAJECTORY_CORRECT_AT = 0.999
"""A trajectory is correct when its score reaches this: every milestone fully matched and no
minefield (one partial match leaves the mean at most 1 - 1/(arguments * milestones), far
below for short lists); the margin only absorbs float rounding."""

TRAJECTORY_FLOOR = 0.5
"""Share of the answer score kept whatever the trajectory: combined = answer * (FLOOR + (1 -
FLOOR) * trajectory). The answer dominates (a wrong answer scores 0 however good the tool
use; no credit for going through the motions), while a right answer reached without the
expected measurements (a guess, a minefield) keeps only half its credit."""

CALL_KINDS = ("ok", "unknown_tool", "missing_required", "unknown_argument", "wrong_type",
              "out_of_range", "tool_error", "internal_error")
"""Kinds of calls, one per call, the first that applies in this order (after "ok"): the
static BFCL-like checks against the tool's schema (a tool not offered in the episode is
unknown; types are checked strictly, so "250" for a number is wrong_type even when the
tool's lax parsing accepted it), then how the call ended: the tool rejected it (tool_error:
a ToolError, the agent's mistake) or csmbench failed (internal_error, a bug)."""

_RANGE_ERRORS = {"literal_error", "enum", "greater_than", "greater_than_equal", "less_than",
                 "less_than_equal", "too_short", "too_long", "finite_number", "multiple_of"}
"""pydantic error types that mean a value outside the allowed set or range."""

ATTACHMENT_PARAMS = {"image": "image", "pattern": "pattern", "spectrum": "spectrum",
                     "structure": "structure"}
"""Argument names that name an attachment, and the asset kind each expects."""


def check_call(call: ToolCall, registry: ToolRegistry = REGISTRY) -> tuple[str, str] | None:
    """The first static problem of ``call`` against the registry's schemas, or None.

    Returns:
        (kind, detail), kind one of unknown_tool, missing_required, unknown_argument,
        wrong_type, out_of_range.
    """
    if call.name not in registry.names:
        return "unknown_tool", f"tool {call.name!r} is not offered"
    model = registry.get(call.name).arguments
    try:
        model.model_validate_json(json.dumps(call.arguments), strict=True)
    except (TypeError, ValueError) as exc:
        if not isinstance(exc, ValidationError):
            return "wrong_type", f"arguments are not JSON: {exc}"
        kinds = [(_error_kind(e["type"]), ".".join(map(str, e["loc"])), e["msg"])
                 for e in exc.errors(include_url=False)]
        kind, where, message = min(kinds, key=lambda k: CALL_KINDS.index(k[0]))
        return kind, f"{where}: {message}"
    return None


def _error_kind(error_type: str) -> str:
    if error_type == "missing":
        return "missing_required"
    if error_type == "extra_forbidden":
        return "unknown_argument"
    return "out_of_range" if error_type in _RANGE_ERRORS else "wrong_type"


def _call_kind(call: ToolCall, result: ToolResult | None,
               registry: ToolRegistry) -> tuple[str, str]:
    problem = check_call(call, registry)
    if problem is not None:
        return problem
    if result is None or result.ok:
        return "ok", ""
    return ("internal_error" if result.internal_error else "tool_error"), (result.error or "")[:200]


def _flat_calls(trajectory: Sequence[Step]) -> list[tuple[ToolCall, ToolResult | None]]:
    """Every call of the trajectory, in order, with its result (None when it has none)."""
    pairs = []
    for step in trajectory:
        results = {result.call_id: result for result in step.results}
        pairs += [(call, results.get(call.id)) for call in step.calls]
    return pairs


def wrong_attachment(item: Item, call: ToolCall, outputs: set[str],
                     registry: ToolRegistry = REGISTRY) -> str | None:
    """Why ``call`` names the wrong attachment, or None.

    An attachment argument (a parameter the tool's schema types as an attachment id, or one
    named image/pattern/spectrum/structure) is wrong when its string value: is not an id of
    the item's attachments or of a file an earlier call wrote (``outputs``); names an item
    attachment of another kind than the parameter's name says (a pattern passed as image);
    or differs from every value the item's milestones for this tool fix for it (when each of
    them fixes it), e.g. the second micrograph when the question is about the first.
    """
    known = call.name in REGISTRY.names or call.name in registry.names
    spec = (registry if call.name in registry.names else REGISTRY).get(call.name) if known else None
    params = set(spec.attachment_params if spec else ()) | set(ATTACHMENT_PARAMS)
    kinds = {asset.id: asset.kind for asset in item.attachments}
    fixed = [m.arguments for m in item.milestones if m.tool == call.name]
    for param in sorted(params & set(call.arguments)):
        value = call.arguments[param]
        if not isinstance(value, str):
            continue
        if value not in kinds and value not in outputs:
            return f"{param}={value!r} is not an attachment (attachments: {sorted(kinds)})"
        expected = ATTACHMENT_PARAMS.get(param)
        if value in kinds and expected and kinds[value] != expected:
            return f"{param}={value!r} is a {kinds[value]}, not a {expected}"
        if fixed and all(param in f for f in fixed) and value not in {f[param] for f in fixed}:
            wanted = sorted({str(f[param]) for f in fixed})
            return f"{param}={value!r}: the question is about {', '.join(wanted)}"
    return None


def _minefields(item: Item, calls: list[tuple[ToolCall, ToolResult | None]],
                answer: FinalAnswer | None, registry: ToolRegistry) -> list[dict[str, Any]]:
    """The minefields the trajectory hit (see the module docstring), in call order."""
    hits: list[dict[str, Any]] = []
    failed: set[str] = set()
    outputs: set[str] = set()
    for position, (call, result) in enumerate(calls):
        why = wrong_attachment(item, call, outputs, registry)
        if why:
            hits.append({"name": "wrong_attachment", "call": position, "detail": why})
        key = json.dumps([call.name, call.arguments], sort_keys=True, default=str)
        if key in failed:
            hits.append({"name": "repeated_failed_call", "call": position,
                         "detail": f"{call.name} repeated unchanged after it failed"})
        if result is not None and not result.ok and not result.internal_error:
            failed.add(key)
        if result is not None:
            outputs.update(result.attachments)
    tools = {m.tool for m in item.milestones}
    measured = any(r is not None and r.ok and c.name in tools for c, r in calls)
    if answer is not None and not measured:
        hits.append({"name": "answered_before_measuring", "call": None,
                     "detail": f"answered with no successful call of {', '.join(sorted(tools))}"})
    return hits


def grade_trajectory(item: Item, trajectory: Sequence[Step], answer: FinalAnswer | None,
                     *, registry: ToolRegistry = REGISTRY) -> Score | None:
    """Grade the tool use of one episode (see the module docstring); None without milestones.

    Args:
        item: The episode's item (milestones, reference, attachments, answer spec).
        trajectory: The episode's steps.
        answer: The final answer, None when the episode ended without one.
        registry: The tools offered in the episode (for the call checks).
    """
    if not item.milestones:
        return None
    calls = _flat_calls(trajectory)
    successful = [(pos, call) for pos, (call, result) in enumerate(calls)
                  if result is not None and result.ok]
    matches = assign_milestones(item.milestones, successful)
    milestone_score = sum(m.similarity for m in matches) / len(matches)
    mines = _minefields(item, calls, answer, registry)
    value = 0.0 if mines else milestone_score
    kinds = [(pos, call, *_call_kind(call, result, registry))
             for pos, (call, result) in enumerate(calls)]
    counts = {kind: sum(k == kind for *_, k, _ in kinds) for kind in CALL_KINDS}
    rejected = sum(result is not None and not result.ok and not result.internal_error
                   for _, result in calls)
    consistent, why = answer_consistency(item.answer, answer, [
        (pos, call.name, result.content) for pos, (call, result) in enumerate(calls)
        if result is not None and result.ok])
    reached = sum(m.similarity >= 1.0 for m in matches)
    explanation = (f"milestones {milestone_score:.2f} ({reached}/{len(matches)} fully reached)"
                   + (f"; minefield {', '.join(m['name'] for m in mines)}: score 0" if mines
                      else "; no minefield"))
    metadata = {
        "milestones": [{"tool": ms.tool, "call": m.call, "similarity": m.similarity}
                       for ms, m in zip(item.milestones, matches, strict=True)],
        "milestone_score": milestone_score,
        "minefields": mines,
        "call_checks": counts,
        "call_errors": [{"call": pos, "tool": call.name, "kind": kind, "detail": detail}
                        for pos, call, kind, detail in kinds if kind != "ok"],
        "calls": len(calls),
        "reference_calls": len(item.reference),
        "efficiency": _efficiency(len(item.reference), len(calls)),
        "tool_error_rate": rejected / len(calls) if calls else None,
        "consistency": consistent,
        "consistency_detail": why,
    }
    return Score(value=value, correct=value >= TRAJECTORY_CORRECT_AT, explanation=explanation,
                 metadata=metadata)


def _efficiency(reference: int, made: int) -> float:
    """reference / max(made, reference): 1 when the agent made no more calls than the reference."""
    most = max(made, reference)
    return 1.0 if most == 0 else reference / most


def combined_score(score: EpisodeScore) -> float:
    """answer * (FLOOR + (1 - FLOOR) * trajectory) (:data:`TRAJECTORY_FLOOR`); the answer
    score alone when there is no trajectory score.

    Example:
        >>> right = Score(value=1.0, correct=True)
        >>> combined_score(EpisodeScore(answer=right, trajectory=Score(value=0.0, correct=False)))
        0.5
    """
    if score.trajectory is None:
        return score.answer.value
    value = score.answer.value * (TRAJECTORY_FLOOR + (1 - TRAJECTORY_FLOOR) * score.trajectory.value)
    return min(max(value, 0.0), 1.0) if math.isfinite(value) else 0.0
