"""Scoring a peak list against stick patterns: tolerances, the shift screen, the refined fit.

The screen is vectorised over every record: for a grid of common zero shifts it scores the
share of a phase's reflection intensity landing within tolerance of an observed peak times
the share of observed intensity explained. The refinement fits the shift of one record from
its matched pairs and computes ``FOM = M_calc · M_obs · Q_pos · Q_int`` (see
:func:`refine`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._xrd_reflections import Sticks

__all__ = ["MAX_SHIFT_DEG", "MIN_RELATIVE", "Fit", "ObservedPeaks", "StickWindow",
           "nearest_index", "refine", "screen", "select_window", "tolerance_deg"]

MIN_RELATIVE = 0.01
"""Reflections below 1 % of the phase's strongest in the window are ignored."""
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
    return StickWindow(sticks.two_theta[inside][keep], relative[keep], record[keep])


def screen(window: StickWindow, observed: ObservedPeaks, weights: np.ndarray,
           allowed: np.ndarray, n_records: int) -> tuple[np.ndarray, np.ndarray]:
    """Coarse score and best shift of every record over the zero-shift grid.

    Args:
        window: Sticks of all records in the scan window.
        observed: The observed peaks, shape (P,).
        weights: Observed intensity each peak is worth (zero for peaks already explained),
            shape (P,).
        allowed: Records the search may return, shape (R,).
        n_records: R.

    Returns:
        Scores (-1 for records not allowed) and shifts in degrees, shape (R,) each.
    """
    total_calc = np.bincount(window.record, weights=window.relative, minlength=n_records)
    best = np.zeros(n_records)
    best_shift = np.zeros(n_records)
    tol = tolerance_deg(window.two_theta) + SHIFT_STEP_DEG / 2
    explained = np.zeros((n_records, len(observed.two_theta)))
    for shift in np.arange(-MAX_SHIFT_DEG, MAX_SHIFT_DEG + 1e-9, SHIFT_STEP_DEG):
        position = window.two_theta + shift
        nearest = nearest_index(observed.two_theta, position)
        hit = np.abs(observed.two_theta[nearest] - position) <= tol
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
           weights: np.ndarray, ka2_factor: float | None) -> Fit:
    """Fit the zero shift from matched pairs and compute the figure of merit of one record.

    ``FOM = M_calc · M_obs · Q_pos · Q_int``: M_calc is the matched share of the record's
    calculated intensity (strong missing reflections cost most, missing weak ones little),
    M_obs the share of ``weights`` explained (Kα2 satellites of matched reflections count
    when ``ka2_factor`` = λ2/λ1 is given), Q_pos = 1 - ½·mean(|Δ2θ| / tolerance) and
    Q_int = 0.6 + 0.4 × the intensity agreement after a least-squares scale.
    """
    mine = window.of(record)
    calc, rel = window.two_theta[mine], window.relative[mine]
    for _ in range(2):
        nearest = nearest_index(observed.two_theta, calc + shift)
        delta = observed.two_theta[nearest] - calc - shift
        tol = observed.tolerance[nearest]
        hit = np.abs(delta) <= tol
        if not hit.any():
            break
        shift = float(np.clip(shift + np.average(delta[hit], weights=rel[hit]),
                              -MAX_SHIFT_DEG, MAX_SHIFT_DEG))
    nearest = nearest_index(observed.two_theta, calc + shift)
    delta = observed.two_theta[nearest] - calc - shift
    hit = np.abs(delta) <= observed.tolerance[nearest]
    assigned = np.bincount(nearest[hit], weights=100.0 * rel[hit],
                           minlength=len(observed.two_theta))
    explained = assigned > 0
    m_calc = rel[hit].sum() / rel.sum()
    m_obs = weights[explained].sum() / max(weights.sum(), 1e-12)
    q_pos = 1.0 - 0.5 * (np.average(np.abs(delta[hit]) / observed.tolerance[nearest[hit]],
                                    weights=rel[hit]) if hit.any() else 1.0)
    scale, agreement = _intensity_agreement(observed.intensity[explained], assigned[explained])
    if ka2_factor is not None and hit.any():
        explained = explained | _ka2_explained(calc[hit] + shift, ka2_factor, observed)
        m_obs = weights[explained].sum() / max(weights.sum(), 1e-12)
    fom = float(m_calc * m_obs * q_pos * (0.6 + 0.4 * agreement))
    return Fit(record, fom, shift, explained, assigned, scale)


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
