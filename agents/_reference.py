"""The reference agent: a per-family solver that sees only the question and tool outputs.

It never reads the truth; its score on generated items shows that they are solvable with the
tools. Each solver is a generator: it yields tool calls, receives their results, and returns
the final answer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Generator
from typing import Any

from csmbench.env import Action, Observation
from csmbench.episodes import FinalAnswer, ToolCall, ToolResult

from ._protocol import AgentFactory, register_agent

__all__ = ["SOLVERS", "ReferenceAgent", "solver"]

Solve = Generator[ToolCall, ToolResult, FinalAnswer]
SOLVERS: dict[str, Callable[[Observation], Solve]] = {}


def solver(*families: str) -> Callable[[Callable[[Observation], Solve]], Callable[[Observation], Solve]]:
    """Register the solver of one or more families."""

    def register(fn: Callable[[Observation], Solve]) -> Callable[[Observation], Solve]:
        for name in families:
            SOLVERS[name] = fn
        return fn

    return register


class ToolFailed(Exception):
    """A tool the solver needed returned an error; the solver gives up on the item."""


def call(name: str, **arguments: Any) -> ToolCall:
    return ToolCall(id=f"ref_{name}", name=name, arguments=arguments)


def content(result: ToolResult) -> Any:
    """The result's content, or ToolFailed with the tool's error."""
    if not result.ok:
        raise ToolFailed(result.error or "tool failed")
    return result.content


class ReferenceAgent:
    """Drives the family's solver; answers "cannot solve" for families it has no solver for."""

    name = "reference"

    def __init__(self) -> None:
        self._solve: Solve | None = None

    async def act(self, observation: Observation) -> Action:
        try:
            if observation.kind == "question":
                if observation.family not in SOLVERS:
                    return FinalAnswer(text=f"no reference solver for {observation.family}")
                self._solve = SOLVERS[observation.family](observation)
                return next(self._solve)
            if self._solve is None:
                return FinalAnswer(text="no solver is running")
            result = observation.tool_results[0] if observation.tool_results else None
            if result is None:
                raise ToolFailed(observation.error or "no tool result")
            return self._solve.send(result)
        except StopIteration as stop:
            return stop.value
        except ToolFailed:
            return FinalAnswer(text="cannot solve: a tool the solver needs failed")


@register_agent("reference")
def _reference(argument: str) -> AgentFactory:
    return ReferenceAgent


# -- solvers ----------------------------------------------------------------------------

_WIDTH = re.compile(r"(\d+) pixels\s+wide")
_POINT = re.compile(r"pixel \((\d+), (\d+)\)")
_UNIT = re.compile(r"in (nm|µm) per pixel|in (nm|µm)\?")


@solver("scale_bar.pixel_size", "scale_bar.field_width", "scale_bar.feature_length")
def solve_scale_bar(observation: Observation) -> Solve:
    """Calibrate the bar, then convert what the question asks for."""
    image = observation.attachments[0].id
    nm_per_px = content((yield call("calibrate_scale_bar", image=image)))["nm_per_pixel"]
    if observation.family == "scale_bar.pixel_size":
        return FinalAnswer(text=f"{nm_per_px:.6g} nm/px", value=nm_per_px, unit="nm/px")
    if observation.family == "scale_bar.field_width":
        width_px = int(_WIDTH.search(observation.question).group(1))
        value = nm_per_px * width_px / 1000
        return FinalAnswer(text=f"{value:.6g} µm", value=value, unit="µm")
    (x0, y0), (x1, y1) = [tuple(map(int, m)) for m in _POINT.findall(observation.question)[:2]]
    unit = next(u for u in _UNIT.search(observation.question).groups() if u)
    length_nm = math.dist((x0, y0), (x1, y1)) * nm_per_px
    value = length_nm / 1000 if unit == "µm" else length_nm
    return FinalAnswer(text=f"{value:.6g} {unit}", value=value, unit=unit)
