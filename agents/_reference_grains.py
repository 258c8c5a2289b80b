"""Reference solvers of the grain-size families: calibrate when needed, then measure the grains.

They read only the question and tool results: the pixel size from the question when it is
stated, else from ``calibrate_scale_bar``; everything else from ``estimate_grain_size``.
"""

from __future__ import annotations

import re

from csmbench.env import Observation
from csmbench.episodes import FinalAnswer

from ._reference import Solve, ToolFailed, call, content, solver

__all__ = ["ELONGATED_INTERCEPT_RATIO"]

_GIVEN = re.compile(r"pixel size is ([0-9.eE+-]+) nm")
_OPTION = re.compile(r"^([A-D])\. (.+)$", re.MULTILINE)
ELONGATED_INTERCEPT_RATIO = 1.4
"""Grains count as elongated when the longest directional mean intercept is at least this
many times the shortest (an aspect ratio a gives a ratio of about a)."""
_DIRECTION_WORD = {"0": "horizontal", "90": "vertical", "45": "inclined", "135": "inclined"}


def _image(observation: Observation) -> str:
    images = [a.id for a in observation.attachments if a.kind == "image"]
    if not images:
        raise ToolFailed("the item has no image attachment")
    return images[0]


def _pixel_size_nm(observation: Observation, image: str) -> Solve:
    given = _GIVEN.search(observation.question)
    if given:
        return float(given.group(1))
    return content((yield call("calibrate_scale_bar", image=image)))["nm_per_pixel"]


def _grains(observation: Observation, method: str = "intercept", **options) -> Solve:
    image = _image(observation)
    nm_per_pixel = yield from _pixel_size_nm(observation, image)
    return content((yield call("estimate_grain_size", image=image, nm_per_pixel=nm_per_pixel,
                               method=method, **options)))


@solver("grains.mean_intercept")
def solve_mean_intercept(observation: Observation) -> Solve:
    value = (yield from _grains(observation))["mean_intercept_um"]
    return FinalAnswer(text=f"{value:.4g} µm", value=value, unit="µm")


@solver("grains.astm_g")
def solve_astm_g(observation: Observation) -> Solve:
    method = "planimetric" if "planimetric" in observation.question else "intercept"
    value = (yield from _grains(observation, method))["astm_grain_size_number"]
    return FinalAnswer(text=f"G = {value:.1f}", value=round(value, 1), unit="")


@solver("grains.per_mm2")
def solve_grains_per_mm2(observation: Observation) -> Solve:
    value = (yield from _grains(observation, "planimetric"))["grains_per_mm2"]
    return FinalAnswer(text=f"{value:.4g} grains/mm²", value=value, unit="1/mm^2")


@solver("grains.phase_fraction")
def solve_phase_fraction(observation: Observation) -> Solve:
    darker = (yield from _grains(observation, two_phase=True))["phase_fraction"]
    if darker is None:
        raise ToolFailed("estimate_grain_size found one phase only")
    value = darker if "darker phase" in observation.question else 1.0 - darker
    return FinalAnswer(text=f"{value:.3f}", value=value, unit="")


@solver("grains.shape")
def solve_shape(observation: Observation) -> Solve:
    """Compare the directional mean intercepts: the longest lies along the grains."""
    by_direction = (yield from _grains(observation))["intercept_by_direction_um"]
    lengths = {d: v for d, v in by_direction.items() if v}
    longest = max(lengths, key=lengths.get)
    elongated = lengths[longest] >= ELONGATED_INTERCEPT_RATIO * min(lengths.values())
    word = _DIRECTION_WORD[longest] if elongated else "equiaxed"
    for letter, text in _OPTION.findall(observation.question):
        if text.startswith(word) or (elongated and word in text):
            return FinalAnswer(text=f"Answer: {letter}", choice=letter)
    raise ToolFailed(f"no option says {word!r}")
