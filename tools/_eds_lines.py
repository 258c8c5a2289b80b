"""Characteristic X-ray lines for energy-dispersive spectroscopy (EDS), from xraydb.

Line energies and the branching ratios of the lines leaving one vacancy (``Kα1 : Kα2 : Kβ``,
``Lα1 : Lβ1 : ...``, normalised per initial level) are xraydb's (Elam, Ravel and Sieber 2002).
The emission per atom of a line from initial level s at beam energy E0 is the textbook
ZAF-free approximation

    I ∝ n_s · Q(U_s) · ω_s · p_line · ε(E_line),   Q(U) = ln(U) / (U · E_c²),  U = E0 / E_c,

with n_s the electrons in the subshell, E_c its edge energy (keV), ω_s its fluorescence
yield (xraydb), p_line the branching ratio and ε the detector efficiency (a thin polymer
window, ``window_efficiency``). Left out, and so wrong by tens of % on real samples: the
atomic-number (backscatter, stopping power) and absorption corrections, Coster-Kronig
transitions and secondary fluorescence. The same model serves the spectrum simulator and the
``identify_elements`` tool; on real spectra it is a first approximation only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np
import xraydb

__all__ = ["ELEMENTS", "FANO", "PAIR_ENERGY_EV", "EdsLine", "emission_lines", "fwhm_ev",
           "noise_fwhm_ev", "window_efficiency"]

ELEMENTS: tuple[str, ...] = tuple(xraydb.atomic_symbol(z) for z in range(5, 93))
"""Elements EDS can see: boron (Z = 5) to uranium; lighter ones emit no usable line."""
FANO = 0.115
"""Fano factor of silicon (0.11-0.12 measured); sets the statistical part of the resolution."""
PAIR_ENERGY_EV = 3.76
"""Mean energy to make one electron-hole pair in silicon at room temperature, eV."""
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
"""FWHM of a Gaussian over its standard deviation (2.3548)."""
MN_KA_KEV = 5.8988
"""Mn Kα1 energy (keV), where detector resolution is quoted by convention."""
WINDOW_KEV = 0.25
"""Window cut-off energy, keV: efficiency exp(-(E_w/E)³) is 0.08 at B Kα, 0.48 at C Kα,
0.90 at O Kα (like a thin polymer window on a silicon drift detector)."""
MIN_LINE_KEV = 0.15
"""Lines below this energy are lost in the detector's noise peak and left out."""
MIN_OVERVOLTAGE = 1.05
"""Shells with E0 / E_c below this are not counted as excited (their yield is ~0)."""
MIN_BRANCH = 0.002
"""Lines weaker than this fraction of their level's vacancies are left out."""
ELECTRONS = {"K": 2, "L1": 2, "L2": 2, "L3": 4, "M1": 2, "M2": 2, "M3": 4, "M4": 4, "M5": 6}
"""Electrons per subshell (ionisation is taken proportional to them)."""


@dataclass(frozen=True)
class EdsLine:
    """One characteristic line.

    Attributes:
        element: Symbol, e.g. "Fe".
        family: "K", "L" or "M".
        name: Siegbahn-like name from xraydb ("Ka1", "Lb1", "Ma").
        energy_kev: Line energy, keV.
        yield_per_atom: Relative counts per atom of the element (arbitrary common units,
            detector efficiency included) at the beam energy asked.
    """

    element: str
    family: str
    name: str
    energy_kev: float
    yield_per_atom: float


def window_efficiency(energy_kev: np.ndarray | float) -> np.ndarray:
    """Detector efficiency (0-1) of the window at ``energy_kev``: exp(-(E_w / E)³)."""
    e = np.maximum(np.asarray(energy_kev, dtype=float), 1e-3)
    return np.exp(-((WINDOW_KEV / e) ** 3))


def fwhm_ev(energy_kev: np.ndarray | float, noise_ev: float) -> np.ndarray:
    """Detector FWHM (eV) by the Fano law: sqrt(noise² + 2.355² · F · ε · E).

    >>> round(float(fwhm_ev(5.8988, 45.0)), 1)
    127.2
    """
    e_ev = np.asarray(energy_kev, dtype=float) * 1000.0
    return np.sqrt(noise_ev ** 2 + FWHM_PER_SIGMA ** 2 * FANO * PAIR_ENERGY_EV * e_ev)


def noise_fwhm_ev(fwhm_mn_ka_ev: float) -> float:
    """Electronic-noise FWHM (eV) of a detector whose resolution at Mn Kα is ``fwhm_mn_ka_ev``."""
    fano2 = FWHM_PER_SIGMA ** 2 * FANO * PAIR_ENERGY_EV * MN_KA_KEV * 1000.0
    return math.sqrt(max(fwhm_mn_ka_ev ** 2 - fano2, 1.0))


def _family(level: str) -> str:
    return level[0]


@cache
def _raw_lines(element: str) -> tuple[tuple[str, str, str, float, float], ...]:
    """(family, initial level, name, energy keV, branching ratio) of an element's lines."""
    rows = []
    for name, line in xraydb.xray_lines(element).items():
        level = line.initial_level.split(",")[-1]  # "M4,5" -> the M5 vacancy
        if _family(level) not in "KLM" or line.intensity < MIN_BRANCH:
            continue
        rows.append((_family(level), level, name, line.energy / 1000.0, float(line.intensity)))
    return tuple(rows)


@cache
def _edges(element: str) -> dict[str, tuple[float, float]]:
    """Edge energy (keV) and fluorescence yield of each K/L/M subshell."""
    return {level: (edge.energy / 1000.0, float(edge.fyield))
            for level, edge in xraydb.xray_edges(element).items() if level in ELECTRONS}


def _cross_section(edge_kev: float, beam_kev: float) -> float:
    """Relative ionisation cross-section ln(U) / (U · E_c²) (Bethe form, constants dropped)."""
    u = beam_kev / edge_kev
    return math.log(u) / (u * edge_kev ** 2) if u > MIN_OVERVOLTAGE else 0.0


@lru_cache(maxsize=4096)
def emission_lines(element: str, beam_kev: float, max_kev: float = 100.0) -> tuple[EdsLine, ...]:
    """The excited lines of ``element`` between 0.15 keV and ``max_kev`` at beam ``beam_kev``.

    Args:
        element: Symbol, "B" to "U".
        beam_kev: Accelerating voltage, kV (= beam energy in keV).
        max_kev: Highest line energy kept, keV (the spectrum's end).

    Returns:
        Lines with their relative yield per atom, strongest first; empty when nothing is
        excited in the range.
    """
    edges = _edges(element)
    lines = []
    for family, level, name, energy, branch in _raw_lines(element):
        if level not in edges or not MIN_LINE_KEV <= energy <= min(max_kev, beam_kev):
            continue
        edge_kev, fluorescence = edges[level]
        per_atom = (ELECTRONS[level] * _cross_section(edge_kev, beam_kev) * fluorescence * branch
                    * float(window_efficiency(energy)))
        if per_atom > 0.0:
            lines.append(EdsLine(element, family, name, energy, per_atom))
    return tuple(sorted(lines, key=lambda line: -line.yield_per_atom))
