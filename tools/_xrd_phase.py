"""``identify_phase``: search-match a powder peak list against the crystal database.

Every record's reflections are computed once per database file (``_xrd_reflections``) and
a query converts them to 2θ for its wavelength and scores each phase in two stages
(``_xrd_match``):

1. screen (vectorised over all records): for a grid of common zero shifts (±0.3°), the
   fraction of the phase's reflection intensity (≥ 1 % of its strongest in the window)
   that lands within the 2θ tolerance of an observed peak, times the fraction of observed
   intensity explained;
2. refine the best records: least-squares zero shift from the matched pairs, then the
   figure of merit ``FOM = M_calc · M_obs · Q_pos · Q_int`` with M_calc the matched share
   of the calculated intensity the peak list could show (strong missing reflections cost
   most; one predicted below the weakest observed peak costs in proportion), M_obs the
   explained share of observed intensity (Kα2 satellites of matched reflections count as
   explained) corrected for chance (a phase whose tolerance windows cover a share c of the
   scan explains c of random peaks: M_obs → (M_obs - c) / (1 - c)), Q_pos = 1 -
   ½·mean(|Δ2θ|/tol) and Q_int = 0.6 + 0.4·(intensity agreement after a least-squares
   scale). Reflections closer to one observed peak than ``BLEND_DEG`` match it together
   when their intensity-weighted centroid is within tolerance (an unresolved group).

Mixtures are found greedily: the best phase explains some peaks, the next one is scored on
the intensity still unexplained (a peak the phases found predict keeps what exceeds twice
the prediction), shares the first phase's zero shift within ``SHARED_SHIFT_DEG`` (the shift
belongs to the specimen), must explain at least ``MIN_NEW_PEAKS`` peaks left unexplained,
and is not charged for reflections hidden under peaks the earlier phases explain;
candidates within ``TIE_FOM`` of the best (look-alikes: a superstructure, an isostructural
phase) are told apart by how well each explains the whole peak list together with the phases
already found (``_xrd_match.joint_fom``, a joint non-negative least-squares fit);
non-negative least squares gives the phases' scales.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from pymatgen.core import Element
from scipy.optimize import nnls

from csmbench.errors import ToolError

from ._crystal_db import CrystalRecord, load_records, open_database
from ._crystal_lookup import lookup_crystal
from ._radiation import CU_KA1, EMISSIONS
from ._registry import tool
from ._xrd_match import (
    MAX_SHIFT_DEG,
    Fit,
    ObservedPeaks,
    StickWindow,
    joint_fom,
    refine,
    screen,
    select_window,
    tolerance_deg,
)
from ._xrd_reflections import D_MIN_ANGSTROM, sticks_at

__all__ = ["ENANTIOMORPHS", "PhaseIdentification", "PhaseMatch", "identify_phase",
           "identify_phase_tool"]

D_MAX_SCAN_ANGSTROM = 8.8
"""Largest d a laboratory scan is assumed to reach (10° 2θ with Cu Kα1), Å."""
REFINED = 25
"""Records refined after the screen (per mixture step)."""
SAME_PHASE_FOM = 0.05
"""A higher-priority copy of the best phase is shown when its FOM is within this much."""
MIN_MIXTURE_FOM = 0.3
"""A further mixture phase must explain the remaining peaks at least this well."""
MIN_RESIDUAL = 0.005
"""Mixture search stops when less than this share of observed intensity is unexplained."""
RESIDUAL_FACTOR = 2.0
"""A peak stays (partly) unexplained when it is stronger than this × the fitted phases'
prediction (heights, preferred orientation and overlaps make predictions rough)."""
TIE_FOM = 0.01
"""Further-phase candidates within this figure of merit of the best are told apart by how
well each explains the whole pattern together with the phases found (:func:`joint_fom`)."""
MIN_NEW_PEAKS = 2
"""A further mixture phase must explain at least this many peaks left unexplained."""
SHARED_SHIFT_DEG = 0.05
"""Later mixture phases share the first one's zero shift within this, degrees (the zero
error and specimen displacement are the sample's, not a phase's)."""
MAX_PEAKS = 500


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PhaseMatch(_Model):
    """One phase matched to the peak list."""

    id: str
    formula: str
    names: list[str]
    space_group: str
    source: str
    figure_of_merit: float = Field(description="0..1, higher is better")
    matched_peaks: int = Field(description="observed peaks explained by this phase")
    unexplained_peaks: int = Field(description="observed peaks this phase leaves unexplained")
    shift_deg: float = Field(description="fitted zero shift, observed - calculated, degrees")
    scale: float = Field(description="observed intensity (input units) per % of the phase's "
                                     "strongest calculated reflection")


class PhaseIdentification(_Model):
    """Ranked single phases, the set of phases explaining the pattern, and notes.

    In ``mixture`` the first phase is the best single match; each later one's figure of
    merit measures how well it explains the peaks the earlier ones left unexplained, and
    the scales are a joint non-negative least-squares fit.
    """

    matches: list[PhaseMatch]
    mixture: list[PhaseMatch]
    notes: list[str] = Field(default_factory=list)


# ---------------------------------------------------------------------- interface

def _observed(two_theta: Sequence[float], intensity: Sequence[float]) -> ObservedPeaks:
    try:
        x = np.asarray(two_theta, dtype=float).ravel()
        y = np.asarray(intensity, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ToolError("peak positions and intensities must be lists of numbers") from None
    if len(x) != len(y):
        raise ToolError(f"peaks_two_theta and peaks_intensity must have the same length; got "
                        f"{len(x)} and {len(y)}")
    if len(x) > MAX_PEAKS:
        raise ToolError(f"at most {MAX_PEAKS} peaks can be matched; got {len(x)} (keep the "
                        "strongest)")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ToolError("peak positions and intensities must be finite numbers")
    if len(x) and (x.min() <= 0 or x.max() >= 180 or y.min() < 0):
        raise ToolError(f"peak 2θ must lie in (0, 180) degrees and intensities be >= 0; got "
                        f"2θ {x.min():.3g}..{x.max():.3g}, intensity min {y.min():.3g}")
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    peak_max = float(y.max()) if len(y) and y.max() > 0 else 1.0
    y = y / peak_max if len(y) and y.max() > 0 else np.ones_like(y)
    return ObservedPeaks(x, y, tolerance_deg(x), peak_max)


def _allowed(records: Sequence[CrystalRecord], elements: list[str] | None,
             candidates: list[str] | None, database: Path) -> np.ndarray:
    """Mask of the records the search may return."""
    allowed = np.ones(len(records), dtype=bool)
    if elements is not None:
        symbols = {str(e).strip().capitalize() for e in elements}
        unknown = sorted(s for s in symbols if not Element.is_valid_symbol(s))
        if unknown:
            raise ToolError(f"unknown element symbol(s) {unknown}; give symbols like "
                            "['Ti', 'O']")
        allowed &= np.array([set(r.elements) <= symbols for r in records])
    if candidates is not None:
        phases: set[tuple[str, int]] = set()
        for query in candidates:
            phases |= _resolve(str(query), records, database)
        allowed &= np.array([_phase(r) in phases for r in records])
    return allowed


def _resolve(query: str, records: Sequence[CrystalRecord], database: Path) -> set[tuple[str, int]]:
    """(formula, space group number) of the phases a candidate id, name or formula means."""
    for record in records:
        if record.id == query.strip():
            return {_phase(record)}
    found = lookup_crystal(query, limit=50, database=database)
    if not found.matches:
        hint = f" Did you mean {', '.join(found.suggestions)}?" if found.suggestions else ""
        raise ToolError(f"candidate {query!r} is not in the crystal database (give an id, "
                        f"a formula or a name, e.g. 'rutile').{hint}")
    return {(m.formula, ENANTIOMORPHS.get(m.space_group_number, m.space_group_number))
            for m in found.matches}


def _scan_window(observed: ObservedPeaks, wavelength: float,
                 two_theta_range: tuple[float, float] | None) -> tuple[float, float]:
    if two_theta_range is not None:
        return float(two_theta_range[0]), float(two_theta_range[1])
    start = math.degrees(2.0 * math.asin(min(1.0, wavelength / (2.0 * D_MAX_SCAN_ANGSTROM))))
    return (min(observed.two_theta[0] - 1.0, start), observed.two_theta[-1] + 1.0)


def _ka2_factor(wavelength: float) -> float | None:
    """λ(Kα2)/λ(Kα1) when the wavelength is a known Kα1 line, else None."""
    for line in EMISSIONS.values():
        if line.ka2_angstrom and abs(line.ka1_angstrom - wavelength) < 1e-4:
            return line.ka2_angstrom / line.ka1_angstrom
    return None


@dataclass(frozen=True)
class _Search:
    """Everything one query needs, prepared once."""

    records: tuple[CrystalRecord, ...]
    window: StickWindow
    observed: ObservedPeaks
    allowed: np.ndarray
    ka2_factor: float | None

    def best(self, weights: np.ndarray, excluded: set[tuple[str, int]],
             shifts: tuple[float, float] = (-MAX_SHIFT_DEG, MAX_SHIFT_DEG),
             occupied: np.ndarray | None = None, prior: float | None = None) -> list[Fit]:
        """Refined fits of the best-screened records, best first, one per phase.

        The zero shift stays in ``shifts`` (degrees) and is refined from the screen's best
        and, when given, from ``prior`` (degrees); ``occupied`` peaks are explained by other
        phases.
        """
        allowed = self.allowed & np.array([_phase(r) not in excluded for r in self.records])
        coarse, start = screen(self.window, self.observed, weights, allowed, len(self.records),
                               shifts, occupied)
        top = [int(i) for i in np.argsort(-coarse, kind="stable")[:REFINED] if coarse[i] > 0]
        fits = []
        for i in top:
            starts = [float(start[i])] if prior is None else [float(start[i]), prior]
            fits.append(max((refine(i, s0, self.window, self.observed, weights,
                                    self.ka2_factor, shifts, occupied) for s0 in starts),
                            key=lambda f: f.fom))
        return self._one_per_phase(sorted(fits, key=lambda f: (-f.fom, f.record)))

    def _one_per_phase(self, fits: list[Fit]) -> list[Fit]:
        """The best fit of each phase, replaced by a higher-priority copy within
        ``SAME_PHASE_FOM`` (records are in priority order, so a lower index wins)."""
        groups: dict[tuple[str, int], list[Fit]] = {}
        for fit in fits:
            groups.setdefault(_phase(self.records[fit.record]), []).append(fit)
        chosen = []
        for members in groups.values():
            top = members[0].fom
            chosen.append(min((f for f in members if f.fom >= top - SAME_PHASE_FOM),
                              key=lambda f: f.record))
        return sorted(chosen, key=lambda f: (-f.fom, f.record))

    def match(self, fit: Fit, scale: float | None = None) -> PhaseMatch:
        """The public record of a fit; ``scale`` (per unit of normalised intensity) overrides
        the fit's own."""
        r = self.records[fit.record]
        scale = (fit.scale if scale is None else scale) * self.observed.peak_max
        return PhaseMatch(
            id=r.id, formula=r.formula, names=list(r.names), space_group=r.space_group,
            source=r.source, figure_of_merit=round(fit.fom, 4),
            matched_peaks=int((fit.assigned > 0).sum()),
            unexplained_peaks=int((~fit.explained).sum()), shift_deg=round(fit.shift, 4),
            scale=float(f"{scale:.6g}"))


ENANTIOMORPHS = {154: 152, 153: 151, 145: 144, 78: 76, 95: 91, 96: 92, 170: 169, 172: 171,
                 179: 178, 181: 180, 213: 212}
"""Space groups mapped to their enantiomorph's number: the two give the same powder pattern."""


def _phase(record: CrystalRecord) -> tuple[str, int]:
    """The phase a record is a copy of: formula and space group up to enantiomorphism."""
    number = record.space_group_number
    return record.formula, ENANTIOMORPHS.get(number, number)


def _residual(weights: np.ndarray, fits: list[Fit]) -> np.ndarray:
    """Observed intensity the fitted phases leave unexplained: a peak they predict keeps
    what exceeds ``RESIDUAL_FACTOR`` × the prediction; a Kα2 satellite keeps nothing."""
    predicted = sum(f.scale * f.assigned for f in fits)
    explained = np.logical_or.reduce([f.explained for f in fits])
    kept = np.maximum(weights - RESIDUAL_FACTOR * predicted, 0.0)
    return np.where(predicted > 0, kept, np.where(explained, 0.0, weights))


def _mixture(search: _Search, first: Fit, max_phases: int) -> list[PhaseMatch]:
    """Greedy: add the phase that best explains the intensity still unexplained; candidates
    within ``TIE_FOM`` of the best are told apart by :func:`joint_fom`."""
    fits = [first]
    weights = search.observed.intensity
    shifts = (max(first.shift - SHARED_SHIFT_DEG, -MAX_SHIFT_DEG),
              min(first.shift + SHARED_SHIFT_DEG, MAX_SHIFT_DEG))
    while len(fits) < max_phases:
        residual = _residual(weights, fits)
        if residual.sum() < MIN_RESIDUAL * weights.sum():
            break
        excluded = {_phase(search.records[f.record]) for f in fits}
        occupied = np.logical_or.reduce([f.assigned > 0 for f in fits])
        found = [f for f in search.best(residual, excluded, shifts, occupied, first.shift)
                 if (f.explained & (residual > 0)).sum() >= MIN_NEW_PEAKS]
        if not found or found[0].fom < MIN_MIXTURE_FOM:
            break
        close = [f for f in found if f.fom >= max(found[0].fom - TIE_FOM, MIN_MIXTURE_FOM)]
        fits.append(max(close, key=lambda f: joint_fom(fits + [f], search.window,
                                                        search.observed)))
    matrix = np.stack([f.assigned for f in fits], axis=1)
    scales, _ = nnls(matrix, search.observed.intensity)
    return [search.match(f, float(s)) for f, s in zip(fits, scales, strict=True)]


def identify_phase(peaks_two_theta: Sequence[float], peaks_intensity: Sequence[float], *,
                   wavelength: float = CU_KA1, elements: list[str] | None = None,
                   candidates: list[str] | None = None, max_phases: int = 3,
                   database: Path | None = None, limit: int = 5,
                   two_theta_range: tuple[float, float] | None = None) -> PhaseIdentification:
    """Identify the crystalline phase(s) of a powder pattern from its peak list.

    Args:
        peaks_two_theta: Peak positions for Kα1, degrees 2θ, shape (P,).
        peaks_intensity: Peak heights or areas (any units), shape (P,).
        wavelength: Kα1 wavelength, Å (default Cu Kα1).
        elements: Restrict to phases made only of these elements (["Ti", "O"]).
        candidates: Restrict to these phases: database ids, names or formulas.
        max_phases: Most phases in the mixture (1-5).
        database: Crystal database file (default: the user cache). Not offered to agents.
        limit: Most single-phase matches to return (1-50).
        two_theta_range: Scanned range, degrees (default: from the peaks; reflections
            outside it are not expected).

    Returns:
        Single phases ranked by figure of merit, the mixture that explains the peaks and
        notes. Each phase appears once, by its highest-priority (curated) record.

    Raises:
        ToolError: Bad peak list, wavelength, options, or an unknown candidate/element.
    """
    if not (math.isfinite(wavelength) and 0.1 <= wavelength <= 5.0):
        raise ToolError(f"wavelength must be in ångström between 0.1 and 5 (Cu Kα1 is "
                        f"1.5405929); got {wavelength!r}")
    if not 1 <= max_phases <= 5 or not 1 <= limit <= 50:
        raise ToolError(f"max_phases must be 1-5 and limit 1-50; got {max_phases}, {limit}")
    path = open_database(database)
    records = load_records(path)
    observed = _observed(peaks_two_theta, peaks_intensity)
    allowed = _allowed(records, elements, candidates, path)
    if len(observed.two_theta) == 0:
        return PhaseIdentification(matches=[], mixture=[], notes=["the peak list is empty"])
    low, high = _scan_window(observed, wavelength, two_theta_range)
    window = select_window(sticks_at(path, float(wavelength)), low, high, len(records))
    search = _Search(records, window, observed, allowed, _ka2_factor(float(wavelength)))
    fits = search.best(observed.intensity, set())
    notes = [(f"{int(allowed.sum())} of {len(records)} database records searched, 2θ "
              f"{low:.1f}-{high:.1f}°")]
    table_end = 2 * math.degrees(math.asin(min(1.0, wavelength / (2 * D_MIN_ANGSTROM))))
    if high > table_end:
        notes.append(f"reflections with d < {D_MIN_ANGSTROM} Å (2θ > {table_end:.1f}°) are "
                     "not in the reference table; peaks there count as unexplained")
    if not fits:
        notes.append("no phase matches any peak")
        return PhaseIdentification(matches=[], mixture=[], notes=notes)
    return PhaseIdentification(matches=[search.match(f) for f in fits[:limit]],
                               mixture=_mixture(search, fits[0], max_phases), notes=notes)


@tool(name="identify_phase")
def identify_phase_tool(peaks_two_theta: list[float], peaks_intensity: list[float],
                        wavelength: float = CU_KA1, elements: list[str] | None = None,
                        candidates: list[str] | None = None, max_phases: int = 3,
                        limit: int = 5) -> PhaseIdentification:
    """Identify crystalline phases from a powder diffraction peak list (search-match).

    Matches the peaks against the stick patterns of every phase in the crystal database,
    after fitting a common zero shift (up to ±0.3°), and returns the best single phases
    (figure of merit 0-1, matched and unexplained peaks, shift) and the set of phases that
    together explain the pattern.

    Args:
        peaks_two_theta: Peak positions, degrees 2θ (for Kα1).
        peaks_intensity: Peak heights or areas, same order.
        wavelength: Kα1 wavelength in Å (Cu 1.5405929, Co 1.788996, Mo 0.7093).
        elements: Only phases made of these elements, e.g. ["Ti", "O"].
        candidates: Only these phases (names, formulas or database ids).
        max_phases: Most phases in the mixture (1-5).
        limit: Most single-phase matches to return (1-50).
    """
    return identify_phase(peaks_two_theta, peaks_intensity, wavelength=wavelength,
                          elements=elements, candidates=candidates, max_phases=max_phases,
                          limit=limit)
