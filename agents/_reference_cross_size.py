"""Reference solvers of the Vegard and crystallite-vs-grain-size families.

They read only the question and tool results. Vegard: end members from the question or
``lookup_crystal``, then ``find_peaks`` → ``fit_lattice`` (cubic) → x. Sizes: the grain
solver (``_reference_grains``) for ℓ and the Scherrer solver (``_reference_xrd``) for D.
"""

from __future__ import annotations

import math
import re

from csmbench.env import Observation
from csmbench.episodes import FinalAnswer

from ._reference import Solve, ToolFailed, call, content, solver
from ._reference_grains import _grains
from ._reference_xrd import _pattern, _peaks, solve_scherrer_size

__all__: list[str] = []

_MEMBER = re.compile(r"([AB]) = (\S+) \(space group ([^,)]+)(?:, a = ([0-9.]+) Å)?\)")
_OPTION = re.compile(r"^([A-E])\. .*\(ℓ/D (below|between|above) ([0-9.]+)(?: and ([0-9.]+))?\)",
                     re.MULTILINE)
SUBCELL_FACTORS = tuple(math.sqrt(n) for n in (1, 2, 3, 4))
"""Indexing may return a sub-cell (bcc as primitive a/√2, rock salt of isoelectronic ions as
a/2): the true edge is the fitted one times one of these."""


def _end_member_a(formula: str, space_group: str) -> Solve:
    """Lattice parameter a (Å) of the cubic phase ``formula`` in ``space_group``."""
    matches = content((yield call("lookup_crystal", query=formula)))["matches"]
    for match in matches:
        if match["space_group"] == space_group and match["crystal_system"] == "cubic":
            return float(match["lattice"]["a"])
    raise ToolFailed(f"lookup_crystal found no cubic {formula} in {space_group}")


def _end_members(question: str) -> Solve:
    """(a_A, a_B) in Å: stated in the question, else looked up."""
    found = {name: (formula, group, a) for name, formula, group, a in _MEMBER.findall(question)}
    if set(found) != {"A", "B"}:
        raise ToolFailed("the question names no end members A and B")
    values = []
    for name in "AB":
        formula, group, a = found[name]
        values.append(float(a) if a else (yield from _end_member_a(formula, group)))
    return values[0], values[1]


def _true_cell(a_fit: float, a_a: float, a_b: float) -> float:
    """The multiple of the fitted edge that lies nearest the end members' range (Å)."""
    low, high = min(a_a, a_b), max(a_a, a_b)
    return min((a_fit * f for f in SUBCELL_FACTORS),
               key=lambda a: max(low - a, a - high, 0.0))


@solver("cross.vegard")
def solve_vegard(observation: Observation) -> Solve:
    a_a, a_b = yield from _end_members(observation.question)
    _, wavelength = _pattern(observation)
    peaks = yield from _peaks(observation)
    fit = content((yield call("fit_lattice", peaks_two_theta=[p["two_theta"] for p in peaks],
                              crystal_system="cubic", wavelength=wavelength)))
    a = _true_cell(fit["a"], a_a, a_b)
    x = min(max((a - a_a) / (a_b - a_a), 0.0), 1.0)
    return FinalAnswer(text=f"a = {a:.5f} Å, x = {x:.3f}", value=x, unit="")


def _ratio(observation: Observation) -> Solve:
    """ℓ / D from the grain and Scherrer measurements."""
    intercept_um = (yield from _grains(observation))["mean_intercept_um"]
    size = yield from solve_scherrer_size(observation)
    if size.value is None:
        raise ToolFailed("no crystallite size")
    return intercept_um * 1000.0 / size.value


@solver("cross.size_ratio")
def solve_size_ratio(observation: Observation) -> Solve:
    ratio = yield from _ratio(observation)
    return FinalAnswer(text=f"ℓ/D = {ratio:.4g}", value=ratio, unit="")


def _contains(kind: str, first: float, second: str, ratio: float) -> bool:
    if kind == "below":
        return ratio < first
    if kind == "above":
        return ratio > first
    return first <= ratio <= float(second)


@solver("cross.single_crystallite")
def solve_single_crystallite(observation: Observation) -> Solve:
    ratio = yield from _ratio(observation)
    for letter, kind, first, second in _OPTION.findall(observation.question):
        if _contains(kind, float(first), second, ratio):
            return FinalAnswer(text=f"ℓ/D = {ratio:.3g}; answer: {letter}", choice=letter)
    raise ToolFailed(f"no option covers ℓ/D = {ratio:.3g}")
