"""Reference solvers of the HRTEM lattice-image families: calibrate, take the FFT, index.

They read only the question and tool results: the pixel size from the question when it is
stated, else from ``calibrate_scale_bar``; the spots from ``measure_lattice_spacing``; for
named-only phase candidates, their lattices from ``lookup_crystal``.
"""

from __future__ import annotations

import itertools
import math
import re

from csmbench.env import Observation
from csmbench.episodes import FinalAnswer

from ._reference import Solve, ToolFailed, call, content, solver

__all__ = ["indexes_pair"]

_GIVEN = re.compile(r"pixel size is ([0-9.eE+-]+) nm per pixel")
_OPTION = re.compile(r"^([A-D])\. (\S+) \(([^;)]+)(?:;[^)]*?, (\w)\S*, a = ([0-9.]+) Å)?\)\s*$",
                     re.MULTILINE)
MIN_SPOT_STRENGTH = 0.06
"""Spots at least this share of the strongest count as lattice planes (the generator calls
a reflection resolved at 12 % and weaker ones absent below 1 %)."""
INDEXING_SPOTS = 5
"""Pairs are formed among the strongest this-many spots."""
D_TOL = 0.03
"""A measured d matches a reflection within 3 % (scale-bar calibration plus FFT)."""
RATIO_TOL = 0.012
"""The ratio of two measured d's (free of the calibration) matches within 1.2 %."""
ANGLE_TOL_DEG = 1.5
"""A measured plane angle matches within 1.5°."""
PARALLEL_DEG = 2.0
MAX_INDEX_SUM = 24


def _image(observation: Observation) -> str:
    images = [a.id for a in observation.attachments if a.kind == "image"]
    if not images:
        raise ToolFailed("the item has no image attachment")
    return images[0]


def _spots(observation: Observation) -> Solve:
    image = _image(observation)
    given = _GIVEN.search(observation.question)
    if given:
        nm_per_pixel = float(given.group(1))
    else:
        nm_per_pixel = content((yield call("calibrate_scale_bar", image=image)))["nm_per_pixel"]
    result = content((yield call("measure_lattice_spacing", image=image,
                                 nm_per_pixel=nm_per_pixel)))
    spots = [s for s in result["spots"] if s["relative_strength"] >= MIN_SPOT_STRENGTH]
    if not spots:
        raise ToolFailed("measure_lattice_spacing found no lattice spots")
    return spots


@solver("hrtem.d_spacing")
def solve_d_spacing(observation: Observation) -> Solve:
    spots = yield from _spots(observation)
    d = max(s["d_angstrom"] for s in spots)
    return FinalAnswer(text=f"{d:.3f} Å", value=d, unit="Å")


def _allowed(letter: str, hkl: tuple[int, int, int]) -> bool:
    """Reflections a cubic lattice of this centering (P, I, F) allows."""
    if letter == "F":
        return len({v % 2 for v in hkl}) == 1
    if letter == "I":
        return sum(hkl) % 2 == 0
    return True


def _plane_angle(p: tuple[int, ...], q: tuple[int, ...]) -> float:
    dot = abs(sum(a * b for a, b in zip(p, q, strict=True)))
    norm = math.sqrt(sum(a * a for a in p) * sum(b * b for b in q))
    return math.degrees(math.acos(min(dot / norm, 1.0)))


def indexes_pair(a: float, letter: str, d1: float, d2: float, angle_deg: float) -> bool:
    """Whether a cubic lattice (a in Å, centering letter) has two reflections with spacings
    d1, d2 (Å) whose planes meet at ``angle_deg``."""
    r = range(-5, 6)
    table = [(hkl, a / math.sqrt(n)) for hkl in itertools.product(r, r, r)
             if 0 < (n := sum(v * v for v in hkl)) <= MAX_INDEX_SUM and _allowed(letter, hkl)]
    first = [(h, d) for h, d in table if abs(d / d1 - 1) <= D_TOL]
    second = [(h, d) for h, d in table if abs(d / d2 - 1) <= D_TOL]
    return any(abs((dp / dq) / (d1 / d2) - 1) <= RATIO_TOL
               and abs(_plane_angle(p, q) - angle_deg) <= ANGLE_TOL_DEG
               for (p, dp), (q, dq) in itertools.product(first, second))


def _pairs(spots: list[dict]) -> list[tuple[float, float, float]]:
    out = []
    for s, t in itertools.combinations(spots[:INDEXING_SPOTS], 2):
        diff = abs(s["angle_deg"] - t["angle_deg"]) % 180.0
        acute = min(diff, 180.0 - diff)
        if acute >= PARALLEL_DEG:
            out.append((s["d_angstrom"], t["d_angstrom"], acute))
    return out


def _candidate_lattices(observation: Observation) -> Solve:
    """{letter: (a Å, centering letter)} from the options, looked up when not stated."""
    lattices = {}
    for letter, _formula, name, centering, a in _OPTION.findall(observation.question):
        if a:
            lattices[letter] = (float(a), centering)
            continue
        found = content((yield call("lookup_crystal", query=name.strip())))["matches"]
        if not found:
            raise ToolFailed(f"lookup_crystal found nothing for {name!r}")
        lattices[letter] = (float(found[0]["lattice"]["a"]), found[0]["space_group"][0])
    if len(lattices) != 4:
        raise ToolFailed("could not read the four candidates")
    return lattices


@solver("hrtem.phase")
def solve_phase(observation: Observation) -> Solve:
    """The candidate that indexes the most pairs of measured spots (d1, d2, plane angle)."""
    spots = yield from _spots(observation)
    pairs = _pairs(spots)
    lattices = yield from _candidate_lattices(observation)
    scores = {letter: sum(indexes_pair(a, centering, *p) for p in pairs)
              for letter, (a, centering) in lattices.items()}
    best = max(scores, key=scores.get)
    return FinalAnswer(text=f"Answer: {best}", choice=best)
