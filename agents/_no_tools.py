"""The no-tools baseline: answers at once with a typical value for the family's question.

It never calls a tool and never sees the truth: it shows what a benchmark item gives away
without measurement.
"""

from __future__ import annotations

from csmbench.env import Action, Observation
from csmbench.episodes import FinalAnswer

from ._protocol import AgentFactory, register_agent

__all__ = ["TYPICAL_ANSWERS", "NoToolsAgent"]

TYPICAL_ANSWERS: dict[str, FinalAnswer] = {
    "scale_bar.pixel_size": FinalAnswer(text="20 nm/px", value=20.0, unit="nm/px"),
    "scale_bar.field_width": FinalAnswer(text="20 µm", value=20.0, unit="µm"),
    "scale_bar.feature_length": FinalAnswer(text="5 µm", value=5.0, unit="µm"),
}
"""Typical magnitudes: a mid-magnification SEM image (20 nm/px, about 20 µm across)."""


class NoToolsAgent:
    """Answers every question with its family's typical value, without tools."""

    name = "no-tools"

    async def act(self, observation: Observation) -> Action:
        return TYPICAL_ANSWERS.get(observation.family,
                                   FinalAnswer(text="I cannot answer this without measuring."))


@register_agent("no-tools")
def _no_tools(argument: str) -> AgentFactory:
    return NoToolsAgent
