"""Hidden peaks: maxima of what the first fits of ``find_peaks`` leave, fitted one by one.

A weak peak on the flank of a strong one (a broad reflection of nano-crystallites beside a
sharp one of another phase, or the tail of a strong peak outside the fit window of its
neighbour) is no maximum of the pattern, so the first candidate search misses it. Here the
fitted profiles are subtracted and the rest is searched again, as it is and smoothed over
HIDDEN_BROAD_SMOOTH_FWHM × the broad-peak FWHM (the noisy top of a weak broad peak is
otherwise taken for a narrow maximum, and the fit window made from its width is too small).
A maximum a FWHM away from every fitted line (:func:`_apart`; Kα2 lines included: a measured
line shape is never exactly the model's) is fitted alone on the rest and kept on the shoulder
criteria of ``_xrd_profile``: resolved from the other profiles and lowering the χ² of its
window below SHOULDER_CHI2_GAIN × its value without it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ._radiation import ka2_two_theta
from ._xrd_background import SMOOTH_MIN_POINTS, savgol
from ._xrd_profile import (
    MIN_MATCHED_SNR,
    PROFILE_SQUARE_INTEGRAL,
    SHOULDER_CHI2_GAIN,
    SHOULDER_MIN_SEPARATION,
    SHOULDER_WIDTH_RATIO,
    Candidates,
    fit_group,
    profile_sum,
)

__all__ = ["HIDDEN_BROAD_SMOOTH_FWHM", "add_hidden", "fitted_model", "hidden_candidates"]

HIDDEN_BROAD_SMOOTH_FWHM = 0.3
"""The rest is also searched smoothed over this × the broad-peak FWHM (cubic Savitzky-Golay)."""
MODEL_FWHM = 10.0
"""Profiles are evaluated within this × FWHM of their centre (a Lorentzian is down to 0.25 %
of its height there)."""
Maxima = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]
"""Candidate search of ``find_peaks`` on a signal: indices, heights, FWHM (degrees)."""


def fitted_model(x: np.ndarray, fitted: np.ndarray, ratio: float,
                 ka2: tuple[float, float] | None) -> np.ndarray:
    """The fitted profiles (rows centre deg, height, FWHM deg, eta) on x (deg), shape (n,);
    with ``ka2`` = (λ1, λ2) in Å each has a Kα2 line of ``ratio`` × its height."""
    lines = fitted
    if ka2 is not None:
        ka2_lines = fitted * [0.0, ratio, 1.0, 1.0]
        ka2_lines[:, 0] = ka2_two_theta(fitted[:, 0], *ka2)
        lines = np.vstack([fitted, ka2_lines])
    return profile_sum(x, lines, MODEL_FWHM)


def hidden_candidates(x: np.ndarray, rest: np.ndarray, searched: np.ndarray, maxima: Maxima,
                      noise: tuple[np.ndarray, float], step: float, broad_min: float,
                      fitted: np.ndarray, ka2: tuple[float, float] | None):
    """Maxima of the rest of the pattern that pass the final SNR cuts of ``find_peaks`` and
    lie apart (:func:`_apart`) from every fitted line and from each other.

    Args:
        x: 2θ, degrees, shape (n,).
        rest: Background-free counts less the fitted profiles, shape (n,); searched smoothed
            over HIDDEN_BROAD_SMOOTH_FWHM × ``broad_min`` first ...
        searched: ... then as the candidate search of ``find_peaks`` sees it, shape (n,).
        maxima: That candidate search.
        noise: σ at the background level (shape (n,)) and ``min_snr``: heights must reach
            min_snr σ and the matched-filter SNR MIN_MATCHED_SNR.
        step: 2θ step, degrees.
        broad_min: Smallest FWHM of a broad peak at this wavelength, degrees.
        fitted: Fitted profiles, rows (centre deg, height, FWHM deg, eta).
        ka2: (λ1, λ2) in Å with a doublet beam, else None.

    Returns:
        Indices into x, heights and FWHM (degrees) of the hidden candidates.
    """
    sigma_bg, min_snr = noise
    window = round(HIDDEN_BROAD_SMOOTH_FWHM * broad_min / step) | 1
    signals = [savgol(rest, window, 3), searched] if SMOOTH_MIN_POINTS < window < x.size \
        else [searched]
    centres, widths = _lines(fitted[:, [0, 2]], ka2)
    found: list[tuple[int, float, float]] = []
    for signal in signals:
        for i, h, w in zip(*maxima(signal), strict=True):
            snr = h / sigma_bg[i]
            strong = snr >= min_snr and snr * math.sqrt(
                PROFILE_SQUARE_INTEGRAL * w / step) >= MIN_MATCHED_SNR
            if strong and _apart(x[i], w, centres, widths):
                found.append((int(i), float(h), float(w)))
                centres, widths = np.r_[centres, x[i]], np.r_[widths, w]
    if not found:
        return np.empty(0, dtype=int), np.empty(0), np.empty(0)
    i, h, w = (np.array(v) for v in zip(*found, strict=True))
    return i.astype(int), h, w


def add_hidden(rest_data: tuple[np.ndarray, np.ndarray, np.ndarray], fitted: np.ndarray,
               hidden: tuple[np.ndarray, np.ndarray, np.ndarray], ratio: float,
               ka2: tuple[float, float] | None, min_snr: float, step: float,
               max_fwhm: float, window_fwhm: float) -> np.ndarray:
    """Fit each hidden candidate (indices, heights, FWHM; strongest first) alone on the rest.

    Args:
        rest_data: 2θ (deg), the background-free counts less the fitted profiles, and the
            noise σ, each shape (n,).
        fitted: Fitted profiles, rows (centre deg, height, FWHM deg, eta).
        hidden: From :func:`hidden_candidates`.
        ratio, ka2, min_snr, step, max_fwhm: As for ``_xrd_profile.fit_group``.
        window_fwhm: Each is fitted over ± this × its FWHM around its Kα1 (and Kα2) line.

    Returns:
        ``fitted`` with the profiles of the hidden peaks kept (see the module docstring).
    """
    x, rest, sigma = rest_data
    for i, height, fwhm in sorted(zip(*hidden, strict=True), key=lambda h: -h[1]):
        right = float(ka2_two_theta(x[i], *ka2)) if ka2 else x[i]
        right = right if math.isfinite(right) else x[i]
        guess = Candidates(np.array([x[i]]), np.array([height]), np.array([fwhm]),
                           np.array([x[i] - window_fwhm * fwhm]),
                           np.array([right + window_fwhm * fwhm]))
        trial = fit_group((x, rest, sigma), guess, np.array([0]), ratio, ka2, min_snr, step,
                          max_fwhm)
        if len(trial) != 1 or not _apart(trial[0, 0], trial[0, 2],
                                         *_lines(fitted[:, [0, 2]], ka2)):
            continue
        sel = slice(*np.searchsorted(x, [guess.lo[0], guess.hi[0]]))
        profile = fitted_model(x, trial, ratio, ka2)
        if _line_chi2(x[sel], rest[sel] - profile[sel], sigma[sel]) < \
                SHOULDER_CHI2_GAIN * _line_chi2(x[sel], rest[sel], sigma[sel]):
            fitted = np.vstack([fitted, trial])
            rest = rest - profile
    return fitted


def _line_chi2(x: np.ndarray, y: np.ndarray, sigma: np.ndarray) -> float:
    """χ² of y (shape (m,)) about its weighted least-squares straight line."""
    design = np.column_stack([np.ones_like(x), x - x.mean()]) / sigma[:, None]
    coef = np.linalg.lstsq(design, y / sigma, rcond=None)[0]
    return float(np.sum((y / sigma - design @ coef) ** 2))


def _apart(center: float, fwhm: float, centres: np.ndarray, widths: np.ndarray) -> bool:
    """Whether a peak (centre and FWHM, degrees) lies SHOULDER_MIN_SEPARATION × the wider FWHM
    from each of the peaks (``centres``, ``widths``), or × the other's FWHM when it is at
    least SHOULDER_WIDTH_RATIO × wider than that one (a broad peak beside a sharp one; a
    narrow maximum near a broader peak is that peak's misfit or noise).

    >>> _apart(44.0, 1.0, np.array([43.4]), np.array([0.35]))
    True
    >>> _apart(43.6, 0.3, np.array([43.4]), np.array([0.35]))
    False
    """
    need = np.where(fwhm >= SHOULDER_WIDTH_RATIO * widths, widths, np.maximum(widths, fwhm))
    return bool(np.all(np.abs(centres - center) >= SHOULDER_MIN_SEPARATION * need))


def _lines(peaks: np.ndarray, ka2: tuple[float, float] | None) -> tuple[np.ndarray, np.ndarray]:
    """Centres and FWHM (degrees) of the lines of peaks (rows centre, FWHM in degrees): their
    Kα2 lines too with a doublet beam."""
    centres, widths = peaks[:, 0], peaks[:, 1]
    if ka2 is None:
        return centres, widths
    return np.r_[centres, ka2_two_theta(centres, *ka2)], np.r_[widths, widths]
