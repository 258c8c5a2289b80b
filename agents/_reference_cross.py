"""Reference solvers of the Macroscale cross-scale families: yield strength and part mass.

They read only the question (dimensions, constants when given, porosity) and tool results:
``cross.hall_petch`` measures the mean intercept (after calibrating the scale bar when the
pixel size is not stated) and looks the constants up when they are not given;
``cross.part_mass`` takes the named phase, or identifies it from the pattern, looks up its
density and multiplies by the part's volume.
"""

from __future__ import annotations

import math
import re

from csmbench.env import Observation
from csmbench.episodes import FinalAnswer

from ._reference import Solve, ToolFailed, call, content, solver
from ._reference_grains import _grains
from ._reference_xrd import _identify

__all__ = ["part_volume_mm3"]

_NUMBER = r"([0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)"
_SIGMA0 = re.compile(rf"σ0 = {_NUMBER} MPa")
_K = re.compile(rf"k = {_NUMBER} MPa·m\^½")
_MATERIAL = re.compile(r"The specimen is (.+?)\. Estimate")
_NAMED_PHASE = re.compile(r"The material is .+? \(([^,]+), space group (\S+)\)")
_FORMULA = re.compile(r"The material is (\S+), a single crystalline phase; which polymorph")
_POROSITY = re.compile(rf"porosity of {_NUMBER} %")
_SHAPES = {
    "cylinder": re.compile(rf"cylinder of diameter {_NUMBER} mm and height {_NUMBER} mm"),
    "plate": re.compile(rf"plate of {_NUMBER} mm × {_NUMBER} mm × {_NUMBER} mm"),
    "tube": re.compile(rf"tube of outer diameter {_NUMBER} mm, inner diameter {_NUMBER} mm "
                       rf"and length {_NUMBER} mm"),
}


def _constants(observation: Observation) -> Solve:
    """σ0 (MPa) and k (MPa·m^½): from the question, else from ``lookup_hall_petch``."""
    sigma0, k = _SIGMA0.search(observation.question), _K.search(observation.question)
    if sigma0 and k:
        return float(sigma0.group(1)), float(k.group(1))
    material = _MATERIAL.search(observation.question)
    if material is None:
        raise ToolFailed("the question names no material")
    found = content((yield call("lookup_hall_petch", material=material.group(1))))
    return found["sigma0_MPa"], found["k_MPa_sqrt_m"]


@solver("cross.hall_petch")
def solve_hall_petch(observation: Observation) -> Solve:
    """σy = σ0 + k / sqrt(d), d the measured mean intercept in metres."""
    d_um = (yield from _grains(observation))["mean_intercept_um"]
    sigma0, k = yield from _constants(observation)
    sigma_y = sigma0 + k / math.sqrt(d_um * 1e-6)
    return FinalAnswer(text=f"σy = {sigma_y:.4g} MPa (d = {d_um:.4g} µm)", value=sigma_y,
                       unit="MPa")


def part_volume_mm3(question: str) -> float:
    """The volume (mm³) of the part the question describes."""
    for shape, pattern in _SHAPES.items():
        found = pattern.search(question)
        if found:
            d = [float(v) for v in found.groups()]
            if shape == "cylinder":
                return math.pi / 4.0 * d[0] ** 2 * d[1]
            if shape == "plate":
                return d[0] * d[1] * d[2]
            return math.pi / 4.0 * (d[0] ** 2 - d[1] ** 2) * d[2]
    raise ToolFailed("the question describes no part shape")


def _density(query: str, space_group: str | None = None, phase_id: str | None = None) -> Solve:
    """Density (g/cm³) of the phase matching ``phase_id`` or ``space_group`` (else the first)."""
    matches = content((yield call("lookup_crystal", query=query, limit=20)))["matches"]
    for match in matches:
        if match["id"] == phase_id or (phase_id is None and space_group in (
                None, match["space_group"])):
            return match["density_g_cm3"]
    raise ToolFailed(f"lookup_crystal found no phase {phase_id or space_group} for {query!r}")


def _identified_phase(observation: Observation, elements: list[str] | None) -> Solve:
    options = {"elements": elements} if elements else {}
    result = yield from _identify(observation, max_phases=1, **options)
    if not result["matches"]:
        raise ToolFailed("identify_phase matched nothing")
    return result["matches"][0]


def _elements(formula: str) -> list[str]:
    return sorted(set(re.findall(r"[A-Z][a-z]?", formula)))


@solver("cross.part_mass")
def solve_part_mass(observation: Observation) -> Solve:
    """Phase (named, or identified), its database density, times the part's volume."""
    question = observation.question
    named, formula = _NAMED_PHASE.search(question), _FORMULA.search(question)
    if named:
        density = yield from _density(named.group(1), space_group=named.group(2))
    else:
        elements = _elements(formula.group(1)) if formula else None
        phase = yield from _identified_phase(observation, elements)
        density = yield from _density(phase["formula"], phase_id=phase["id"])
    porosity = _POROSITY.search(question)
    solid = 1.0 - (float(porosity.group(1)) / 100.0 if porosity else 0.0)
    mass = density * part_volume_mm3(question) / 1000.0 * solid
    return FinalAnswer(text=f"m = {mass:.4g} g (ρ = {density:.4f} g/cm³)", value=mass, unit="g")
