"""Scoring a peak list against stick patterns: tolerances, the shift screen, the refined fit.

The screen is vectorised over every record: for a grid of common zero shifts it scores the
share of a phase's reflection intensity landing within tolerance of an observed peak (alone,
or as part of an unresolved group whose centroid does, :func:`_hits`) times the share of
observed intensity explained. The refinement fits the shift of one record from its matched
pairs and computes ``FOM = M_calc · M_obs · Q_pos · Q_int`` (see :func:`refine`);
:func:`joint_fom` scores a set of refined phases together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from ._xrd_reflections import Sticks

__all__ = ["MAX_SHIFT_DEG", "MIN_RELATIVE", "Fit", "ObservedPeaks", "StickWindow", "coverage",
           "joint_fom", "nearest_index", "refine", "screen", "select_window", "tolerance_deg"]

MIN_RELATIVE = 0.01
"""Reflections below 1 % of the phase's strongest in the window are ignored."""
BLEND_DEG = 0.5
"""Reflections this close to an observed peak may be an unresolved part of it, degrees 2θ."""
MAX_FLOOR = 0.05
"""The detection limit of a peak list (relative to its strongest peak) is taken as its weakest
peak, at most this."""
MAX_SHIFT_DEG = 0.3
"""Largest common zero shift fitted, degrees 2θ."""
SHIFT_STEP_DEG = 0.05
"""Step of the zero-shift grid of the screen (the screen's tolerance is widened by half)."""
TOL_BASE_DEG = 0.12
"""2θ match tolerance at low angle, degrees."""
TOL_STRAIN = 0.002
"""Allowed relative lattice mismatch; adds 2·ε·tanθ (radians) to the tolerance."""


@dataclass(frozen=True)
class ObservedPeaks:
    """Observed peaks sorted by 2θ: positions (degrees), intensities (max 1), tolerances."""

    two_theta: np.ndarray
    intensity: np.ndarray
    tolerance: np.ndarray
    peak_max: float = 1.0
    """Largest input intensity (intensities above are divided by it)."""


def tolerance_deg(two_theta_deg: np.ndarray) -> np.ndarray:
    """2θ match tolerance (degrees): a base width plus a lattice mismatch of ``TOL_STRAIN``.

    >>> round(float(tolerance_deg(np.array([90.0]))[0]), 3)
    0.349
    """
    tan_theta = np.tan(np.radians(two_theta_deg) / 2.0)
    return TOL_BASE_DEG + np.degrees(2.0 * TOL_STRAIN * tan_theta)


def nearest_index(sorted_x: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Index of the nearest element of ``sorted_x`` for each value."""
    right = np.clip(np.searchsorted(sorted_x, values), 1, len(sorted_x) - 1)
    left = right - 1
    take_right = np.abs(sorted_x[right] - values) < np.abs(sorted_x[left] - values)
    return np.where(take_right, right, left) if len(sorted_x) > 1 else np.zeros_like(right)


@dataclass(frozen=True)
class StickWindow:
    """Sticks of every record inside the scan window, intensities relative to each record's
    strongest there (only those ≥ MIN_RELATIVE)."""

    two_theta: np.ndarray
    relative: np.ndarray
    record: np.ndarray
    low: float = 0.0
    """First angle of the scan window, degrees 2θ."""
    high: float = 180.0
    """Last angle of the scan window, degrees 2θ."""

    def of(self, record: int) -> slice:
        """The sticks of one record (the window keeps the table's record order)."""
        return slice(int(np.searchsorted(self.record, record, "left")),
                     int(np.searchsorted(self.record, record, "right")))


def select_window(sticks: Sticks, low: float, high: float, n_records: int) -> StickWindow:
    inside = (sticks.two_theta >= low) & (sticks.two_theta <= high)
    record = sticks.record[inside]
    intensity = sticks.intensity[inside]
    strongest = np.zeros(n_records)
    np.maximum.at(strongest, record, intensity)
    relative = intensity / strongest[record]
    keep = relative >= MIN_RELATIVE
    return StickWindow(sticks.two_theta[inside][keep], relative[keep], record[keep], low, high)


def coverage(position: np.ndarray, low: float, high: float) -> float:
    """Share of the window [low, high] (degrees) within the match tolerance of a reflection
    at ``position`` (sorted, degrees): the chance that a random peak is matched."""
    if len(position) == 0 or high <= low:
        return 0.0
    tol = tolerance_deg(position)
    start = np.maximum(position - tol, low)
    end = np.maximum.accumulate(np.minimum(position + tol, high))
    before = np.concatenate([[low], end[:-1]])
    return float(np.maximum(end - np.maximum(start, before), 0.0).sum() / (high - low))


def screen(window: StickWindow, observed: ObservedPeaks, weights: np.ndarray,
           allowed: np.ndarray, n_records: int,
           shifts: tuple[float, float] = (-MAX_SHIFT_DEG, MAX_SHIFT_DEG),
           occupied: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Coarse score and best shift of every record over the zero-shift grid.

    Args:
        window: Sticks of all records in the scan window.
        observed: The observed peaks, shape (P,).
        weights: Observed intensity each peak is worth (zero for peaks already explained),
            shape (P,).
        allowed: Records the search may return, shape (R,).
        n_records: R.
        shifts: Range of zero shifts tried, degrees.
        occupied: Peaks explained by other phases, shape (P,): an unmatched reflection
            within ``BLEND_DEG`` of one may hide under it and is not counted.

    Returns:
        Scores (-1 for records not allowed) and shifts in degrees, shape (R,) each.
    """
    best = np.zeros(n_records)
    best_shift = np.zeros(n_records)
    tol = tolerance_deg(window.two_theta) + SHIFT_STEP_DEG / 2
    explained = np.zeros((n_records, len(observed.two_theta)))
    count = max(1, round((shifts[1] - shifts[0]) / SHIFT_STEP_DEG)) + 1
    n_peaks = len(observed.two_theta)
    for shift in np.linspace(shifts[0], shifts[1], count):
        position = window.two_theta + shift
        nearest = nearest_index(observed.two_theta, position)
        hit, delta = _hits(position, window.relative, nearest,
                           window.record * n_peaks + nearest, n_records * n_peaks,
                           observed.two_theta, tol)
        counted = np.ones(len(hit), dtype=bool) if occupied is None else (
            hit | ~occupied[nearest] | (np.abs(delta) > BLEND_DEG))
        total_calc = np.bincount(window.record[counted], weights=window.relative[counted],
                                 minlength=n_records)
        calc = np.bincount(window.record[hit], weights=window.relative[hit],
                           minlength=n_records)
        explained[:] = 0.0
        explained[window.record[hit], nearest[hit]] = 1.0
        score = np.divide(calc, total_calc, out=np.zeros(n_records), where=total_calc > 0) * (
            explained @ weights)
        better = score > best
        best[better], best_shift[better] = score[better], shift
    return np.where(allowed, best, -1.0), best_shift


@dataclass(frozen=True)
class Fit:
    """The refined match of one record."""

    record: int
    fom: float
    shift: float
    explained: np.ndarray  # bool over observed peaks
    assigned: np.ndarray  # calculated % intensity assigned to each observed peak
    scale: float


def refine(record: int, shift: float, window: StickWindow, observed: ObservedPeaks,
           weights: np.ndarray, ka2_factor: float | None,
           shifts: tuple[float, float] = (-MAX_SHIFT_DEG, MAX_SHIFT_DEG),
           occupied: np.ndarray | None = None) -> Fit:
    """Fit the zero shift from matched pairs and compute the figure of merit of one record.

    ``FOM = M_calc · M_obs · Q_pos · Q_int``: M_calc is the matched share of the record's
    calculated intensity that the peak list could show (a missing reflection counts in
    proportion to its visibility: its predicted intensity over the weakest observed peak,
    taken as 1-5 % of the strongest, capped at 1), M_obs the share of ``weights`` explained
    (Kα2 satellites of matched reflections count when ``ka2_factor`` = λ2/λ1 is given)
    corrected for chance, (M_obs - c) / (1 - c) with c the :func:`coverage` of the record's
    reflections, Q_pos = 1 - ½·mean(|Δ2θ| / tolerance) and Q_int = 0.6 + 0.4 × the intensity
    agreement after a least-squares scale, both scale and agreement over the matched peaks
    that carry weight. The shift stays in ``shifts`` (degrees). A missing reflection within
    ``BLEND_DEG`` of an ``occupied`` peak (one explained by another phase) may hide under
    it and does not count.
    """
    mine = window.of(record)
    calc, rel = window.two_theta[mine], window.relative[mine]
    n_peaks = len(observed.two_theta)
    for _ in range(2):
        nearest = nearest_index(observed.two_theta, calc + shift)
        hit, delta = _hits(calc + shift, rel, nearest, nearest, n_peaks, observed.two_theta,
                           observed.tolerance[nearest])
        if not hit.any():
            break
        shift = float(np.clip(shift + np.average(delta[hit], weights=rel[hit]), *shifts))
    nearest = nearest_index(observed.two_theta, calc + shift)
    hit, delta = _hits(calc + shift, rel, nearest, nearest, n_peaks, observed.two_theta,
                       observed.tolerance[nearest])
    assigned = np.bincount(nearest[hit], weights=100.0 * rel[hit],
                           minlength=len(observed.two_theta))
    explained = assigned > 0
    fitted = explained & (weights > 0) if (explained & (weights > 0)).any() else explained
    scale, agreement = _intensity_agreement(observed.intensity[fitted], assigned[fitted])
    floor = float(np.clip(observed.intensity.min(), MIN_RELATIVE, MAX_FLOOR))
    visible = np.where(hit, 1.0, np.clip(scale * 100.0 * rel / floor, 0.0, 1.0))
    if occupied is not None:
        hidden = ~hit & occupied[nearest] & (np.abs(delta) <= BLEND_DEG)
        visible = np.where(hidden, 0.0, visible)
    m_calc = rel[hit].sum() / max((rel * visible).sum(), 1e-12)
    q_pos = 1.0 - 0.5 * (np.average(np.abs(delta[hit]) / observed.tolerance[nearest[hit]],
                                    weights=rel[hit]) if hit.any() else 1.0)
    if ka2_factor is not None and hit.any():
        explained = explained | _ka2_explained(calc[hit] + shift, ka2_factor, observed)
    chance = min(coverage(calc + shift, window.low, window.high), 0.99)
    m_obs = weights[explained].sum() / max(weights.sum(), 1e-12)
    m_obs = max(m_obs - chance, 0.0) / (1.0 - chance)
    fom = float(m_calc * m_obs * q_pos * (0.6 + 0.4 * agreement))
    return Fit(record, fom, shift, explained, assigned, scale)


def _matched(record: int, shift: float, window: StickWindow, observed: ObservedPeaks):
    """Positions (degrees), relative intensities, nearest observed peak, match mask and Δ2θ
    (degrees) of one record's reflections at a zero shift (degrees)."""
    mine = window.of(record)
    calc, rel = window.two_theta[mine] + shift, window.relative[mine]
    nearest = nearest_index(observed.two_theta, calc)
    hit, delta = _hits(calc, rel, nearest, nearest, len(observed.two_theta), observed.two_theta,
                       observed.tolerance[nearest])
    return calc, rel, nearest, hit, delta


def joint_fom(fits: list[Fit], window: StickWindow, observed: ObservedPeaks) -> float:
    """Figure of merit of a set of phases explaining the peak list together.

    As :func:`refine`'s, over the union: the product of each phase's M_calc (its missing
    reflections' visibility from a joint non-negative least-squares scale; one hidden under
    a peak another phase explains does not count), M_obs of the intensity any phase explains
    corrected for the chance coverage of all their reflections, Q_pos over all matches and
    Q_int of the joint prediction.
    """
    y = observed.intensity
    matrix = np.stack([f.assigned for f in fits], axis=1)
    scales, _ = nnls(matrix, y)
    predicted = matrix @ scales
    floor = float(np.clip(y.min(), MIN_RELATIVE, MAX_FLOOR))
    m_calc, errors, weights, positions = 1.0, [], [], []
    for k, fit in enumerate(fits):
        calc, rel, nearest, hit, delta = _matched(fit.record, fit.shift, window, observed)
        others = np.logical_or.reduce([f.assigned > 0 for j, f in enumerate(fits) if j != k]
                                      + [np.zeros(len(y), dtype=bool)])
        visible = np.where(hit, 1.0, np.clip(scales[k] * 100.0 * rel / floor, 0.0, 1.0))
        visible[~hit & others[nearest] & (np.abs(delta) <= BLEND_DEG)] = 0.0
        m_calc *= rel[hit].sum() / max((rel * visible).sum(), 1e-12)
        errors.append(np.abs(delta[hit]) / observed.tolerance[nearest[hit]])
        weights.append(rel[hit])
        positions.append(calc)
    error, weight = np.concatenate(errors), np.concatenate(weights)
    q_pos = 1.0 - 0.5 * (np.average(error, weights=weight) if weight.sum() > 0 else 1.0)
    explained = np.logical_or.reduce([f.explained for f in fits])
    chance = min(coverage(np.sort(np.concatenate(positions)), window.low, window.high), 0.99)
    m_obs = max(y[explained].sum() / max(y.sum(), 1e-12) - chance, 0.0) / (1.0 - chance)
    fitted = predicted > 0
    agreement = (1.0 - np.abs(y - predicted)[fitted].sum() / (y + predicted)[fitted].sum()
                 if fitted.any() else 0.0)
    return float(m_calc * m_obs * q_pos * (0.6 + 0.4 * agreement))


def _hits(position: np.ndarray, relative: np.ndarray, nearest: np.ndarray, group: np.ndarray,
          n_groups: int, observed: np.ndarray, tol: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which reflections match their nearest observed peak, and Δ2θ (degrees).

    A reflection matches alone when it lies within ``tol`` of the peak, or as part of an
    unresolved blend: the reflections of one ``group`` (one record's reflections nearest to
    one peak) within ``BLEND_DEG`` of it, whose intensity-weighted centroid lies within
    ``tol``. Δ2θ is observed minus the centroid for a blend, minus the reflection otherwise.
    """
    delta = observed[nearest] - position
    near = np.abs(delta) <= BLEND_DEG
    weight = np.bincount(group[near], weights=relative[near], minlength=n_groups)
    moment = np.bincount(group[near], weights=(relative * delta)[near], minlength=n_groups)
    centroid = np.divide(moment, weight, out=np.full(n_groups, np.inf), where=weight > 0)[group]
    blended = near & (np.abs(centroid) <= tol)
    return blended | (np.abs(delta) <= tol), np.where(blended, centroid, delta)


def _intensity_agreement(observed: np.ndarray, calculated: np.ndarray) -> tuple[float, float]:
    """Least-squares scale (observed per calculated %) and 1 - relative misfit, in 0..1."""
    if len(observed) == 0 or not calculated.any():
        return 0.0, 0.0
    scale = float(observed @ calculated / (calculated @ calculated))
    misfit = np.abs(observed - scale * calculated).sum() / (observed + scale * calculated).sum()
    return scale, float(1.0 - misfit)


def _ka2_explained(ka1_deg: np.ndarray, factor: float, observed: ObservedPeaks) -> np.ndarray:
    """Observed peaks lying at the Kα2 satellite of a matched reflection."""
    sin_theta = np.clip(factor * np.sin(np.radians(ka1_deg) / 2.0), -1.0, 1.0)
    ka2 = np.degrees(2.0 * np.arcsin(sin_theta))
    nearest = nearest_index(observed.two_theta, ka2)
    near = np.abs(observed.two_theta[nearest] - ka2) <= 0.5 * observed.tolerance[nearest]
    found = np.zeros(len(observed.two_theta), dtype=bool)
    found[nearest[near & (ka2 - ka1_deg > 0.05)]] = True
    return found
