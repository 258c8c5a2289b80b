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
    "xrd.peak_positions": FinalAnswer(text="28.44°, 47.30°, 56.12°", values=[28.44, 47.30, 56.12],
                                      unit="deg"),
    "xrd.strongest_d": FinalAnswer(text="2.5 Å", value=2.5, unit="Å"),
    "xrd.cubic_lattice": FinalAnswer(text="4.2 Å", value=4.2, unit="Å"),
    "xrd.phase_id": FinalAnswer(text="NaCl"),
    "xrd.phase_candidates": FinalAnswer(text="A", choice="A"),
    "xrd.phase_count": FinalAnswer(text="1", value=1.0, unit=""),
    "xrd.scherrer_size": FinalAnswer(text="30 nm", value=30.0, unit="nm"),
    "xrd.williamson_hall": FinalAnswer(text="D = 30 nm, ε = 0.2 %"),
    "grains.mean_intercept": FinalAnswer(text="20 µm", value=20.0, unit="µm"),
    "grains.astm_g": FinalAnswer(text="G = 8.0", value=8.0, unit=""),
    "grains.per_mm2": FinalAnswer(text="2000 grains/mm²", value=2000.0, unit="1/mm^2"),
    "grains.phase_fraction": FinalAnswer(text="0.3", value=0.3, unit=""),
    "grains.shape": FinalAnswer(text="A", choice="A"),
    "hrtem.d_spacing": FinalAnswer(text="2.0 Å", value=2.0, unit="Å"),
    "hrtem.phase": FinalAnswer(text="A", choice="A"),
    "eds.elements": FinalAnswer(text="A", choice="A"),
    "eds.phase": FinalAnswer(text="A", choice="A"),
    "cross.hall_petch": FinalAnswer(text="150 MPa", value=150.0, unit="MPa"),
    "cross.part_mass": FinalAnswer(text="30 g", value=30.0, unit="g"),
    "cross.vegard": FinalAnswer(text="x = 0.5", value=0.5, unit=""),
    "cross.size_ratio": FinalAnswer(text="ℓ/D = 10", value=10.0, unit=""),
    "cross.single_crystallite": FinalAnswer(text="A", choice="A"),
}
"""Typical magnitudes: a mid-magnification SEM image (20 nm/px, about 20 µm across); a Cu
Kα scan of a common phase (Si peaks, d ≈ 2.5 Å, a ≈ 4.2 Å, 30 nm crystallites, 0.2 % strain);
a mid-size steel grain (ASTM G 8: intercept 20 µm, about 2000 grains/mm²) and a minor second
phase of 30 %; a 2 Å lattice fringe; a mild-steel yield strength of 150 MPa and a 30 g part; an equimolar solid solution and grains
ten crystallites across; the first option of a
multiple choice."""


class NoToolsAgent:
    """Answers every question with its family's typical value, without tools."""

    name = "no-tools"

    async def act(self, observation: Observation) -> Action:
        return TYPICAL_ANSWERS.get(observation.family,
                                   FinalAnswer(text="I cannot answer this without measuring."))


@register_agent("no-tools")
def _no_tools(argument: str) -> AgentFactory:
    return NoToolsAgent
