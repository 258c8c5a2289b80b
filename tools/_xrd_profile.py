"""Pseudo-Voigt peak profiles and the least-squares fit of groups of overlapping peaks.

A group is a window of the pattern (2θ in degrees, background-subtracted counts, noise σ)
holding one or more reflections. Each reflection is a pseudo-Voigt profile (centre, height,
FWHM, Lorentzian fraction eta); with a Kα1+Kα2 beam it is a pair whose Kα2 position follows
from 2θ2 = 2·asin(λ2/λ1·sin θ1) and whose Kα2 height is a fixed ratio of the Kα1 height. A
linear background b0 + b1·(2θ - mid) completes the model. The fit is MINPACK
Levenberg-Marquardt (``scipy.optimize.leastsq``) with an analytic Jacobian; the model and its
Jacobian are one compiled (numba) function, since a group holds a few profiles on a few dozen
points and numpy's per-call cost would dominate (2.7× less CPU per fit than numpy).

:func:`fit_group` fits the candidates of one group (:func:`candidate_groups` makes the
groups): broad groups on block means of the data, then one more profile where the residual
holds an unresolved shoulder; profiles wider than MAX_FWHM_DEG (× λ/λ(Cu Kα1), passed in as
``max_fwhm_deg``) are amorphous humps (kept in the fit as background, never reported as peaks).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np
from scipy.optimize import leastsq

from ._xrd_background import savgol

__all__ = ["FOUR_LN2", "MAX_FWHM_DEG", "MIN_FWHM_POINTS", "MIN_MATCHED_SNR",
           "PROFILE_SQUARE_INTEGRAL", "SHOULDER_CHI2_GAIN", "SHOULDER_MIN_SEPARATION",
           "SHOULDER_WIDTH_RATIO", "Candidates", "GroupFit", "bin_points", "candidate_groups",
           "fit_group", "pack_profiles", "profile_sum", "pseudo_voigt", "unpack_profiles"]

FOUR_LN2 = 4.0 * math.log(2.0)
INITIAL_ETA = 0.5
MAX_NFEV = 60
FIT_TOLERANCE = 1e-5
"""Relative tolerance on χ² and on the scaled parameter step (MINPACK ftol, xtol)."""
_LN2 = math.log(2.0)
MAX_FWHM_DEG = 4.5
"""Wider maxima are amorphous humps (FWHM 5° and more), not Bragg peaks (crystallites of
5 nm give FWHM up to ~4° at high angles). For Cu Kα1: both widths scale with λ, so at another
wavelength the limit is this × λ/λ(Cu Kα1) (``_xrd_background.width_scale``)."""
MAX_WINDOW_SHARE = 0.5
"""A fitted profile wider than this share of its fit window has run away (a broad peak cut by
a window set for a narrower maximum): it is not a peak."""
MIN_FWHM_POINTS = 1.5
"""A fitted profile narrower than this many (block) points is not a peak."""
MAX_WIDTH_GROWTH = 10.0
WEAK_CANDIDATE_SNR = 2.0
"""A profile fitted more than MAX_WIDTH_GROWTH × wider than its candidate, a maximum below
this × min_snr, has left that noise maximum to model something else (a hump's non-ideal
shape): it is not a peak."""
FIT_POINTS_PER_FWHM = 12
"""Groups whose narrowest candidate spans more points are fitted on block means of the data
(broad peaks: a 2° FWHM is 200 points at a 0.01° step; 12 describe it as well)."""
MAX_GROUP_PEAKS = 8
"""Larger chains of overlapping windows are cut where they overlap least."""
SHOULDER_MIN_SEPARATION = 1.0
"""A shoulder is a profile at least one FWHM (the wider one's) from every other, before and
after the refit; closer, an extra profile of a similar width only models a non-ideal
(asymmetric) shape."""
SHOULDER_WIDTH_RATIO = 2.0
"""Two profiles whose FWHMs differ by at least this factor are two reflections (phases of
different crystallite sizes: a broad peak beside or under a sharp one) already when
SHOULDER_MIN_SEPARATION × the narrower FWHM apart."""
SHOULDER_CHI2_GAIN = 0.6
"""A shoulder is kept when χ² falls below this × its previous value."""
SHOULDER_MIN_REDUCED_CHI2 = 1.5
"""A shoulder is only looked for when the group's fit leaves χ²/dof above this."""
SHOULDER_SMOOTH_MIN_POINTS = 5
MIN_MATCHED_SNR = 7.0
"""A peak's matched-filter SNR, (h/σ)·sqrt(0.76·FWHM/step), must reach this: with ~10³
independent resolution elements per pattern, single-point noise excursions of 3-4σ are
otherwise accepted (P(>7σ) is negligible)."""
PROFILE_SQUARE_INTEGRAL = 0.76
"""∫p² dx / FWHM of a unit-height pseudo-Voigt (0.753 Gaussian, 0.785 Lorentzian)."""


def pseudo_voigt(x, center, height, fwhm, eta):
    """Pseudo-Voigt profile ``height·(eta·L + (1-eta)·G)``, L and G of equal FWHM, peak = height.

    Args:
        x: Positions, degrees; any shape broadcastable with the parameters.
        center: Peak position, degrees.
        height: Peak maximum.
        fwhm: Full width at half maximum, degrees.
        eta: Lorentzian fraction in [0, 1].
    """
    t2 = ((np.asarray(x) - center) / fwhm) ** 2
    return height * (eta / (1.0 + 4.0 * t2) + (1.0 - eta) * np.exp(-FOUR_LN2 * t2))


def profile_sum(x: np.ndarray, lines: np.ndarray, reach_fwhm: float) -> np.ndarray:
    """Sum of pseudo-Voigt lines on x (deg, shape (n,), increasing), each evaluated within
    ``reach_fwhm`` × its FWHM of its centre; ``lines`` rows are (centre deg, height, FWHM deg,
    eta), shape (k, 4); lines with a non-finite centre are skipped."""
    model = np.zeros_like(x, dtype=float)
    _add_lines(np.ascontiguousarray(x, dtype=float), model,
               np.ascontiguousarray(lines, dtype=float).reshape(-1, 4), float(reach_fwhm))
    return model


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _add_lines(x: np.ndarray, model: np.ndarray, lines: np.ndarray, reach_fwhm: float) -> None:
    """Add the lines of :func:`profile_sum` to ``model`` in place (compiled: a pattern's
    dozens of lines cost far less than one numpy call each)."""
    for k in range(lines.shape[0]):
        centre, height, fwhm, eta = lines[k, 0], lines[k, 1], lines[k, 2], lines[k, 3]
        if not math.isfinite(centre):
            continue
        start = np.searchsorted(x, centre - reach_fwhm * fwhm)
        stop = np.searchsorted(x, centre + reach_fwhm * fwhm)
        for j in range(start, stop):
            t = (x[j] - centre) / fwhm
            t2 = t * t
            model[j] += height * (eta / (1.0 + 4.0 * t2) + (1.0 - eta) * math.exp(-FOUR_LN2 * t2))


def pack_profiles(params: np.ndarray) -> np.ndarray:
    """(n, 4) rows (centre deg, height, FWHM deg, eta) to the fit's parameter vector (4n,).

    The vector holds centre, height, log FWHM and u with eta = (1 + sin u)/2 per profile.
    """
    eta = np.clip(params[:, 3], 0.0, 1.0)
    return np.column_stack([params[:, 0], params[:, 1], np.log(params[:, 2]),
                            np.arcsin(2 * eta - 1)]).ravel()


def unpack_profiles(q: np.ndarray) -> np.ndarray:
    """Inverse of :func:`pack_profiles`: (4n,) vector to (n, 4) rows (c, h, FWHM, eta)."""
    q = q.reshape(-1, 4)
    return np.column_stack([q[:, 0], q[:, 1], np.exp(q[:, 2]), 0.5 * (1.0 + np.sin(q[:, 3]))])


def bin_points(x: np.ndarray, y: np.ndarray, sigma: np.ndarray,
               factor: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Means of ``factor`` consecutive points of x, y (shape (m,)) and their σ, σ_rms/√factor.

    A trailing partial block is averaged over the points it has. ``factor`` 1 returns the
    arrays as they are.
    """
    if factor <= 1:
        return x, y, sigma
    edges = np.arange(0, x.size, factor)
    counts = np.diff(np.append(edges, x.size))
    xb, yb, var = (np.add.reduceat(v, edges) / counts for v in (x, y, sigma * sigma))
    return xb, yb, np.sqrt(var / counts)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _residual_and_jacobian(x: np.ndarray, dx: np.ndarray, y: np.ndarray,
                           inv_sigma: np.ndarray, p: np.ndarray, lam_ratio: float,
                           ka2_ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """Weighted residuals (model - y)/σ, shape (m,), and their derivatives by the parameters,
    shape (len(p), m), of a group's model (see :class:`GroupFit` for the parameters).

    ``lam_ratio`` is λ2/λ1 (nan: one line per peak, no Kα2). Compiled (numba): the group's
    few profiles on a few dozen points cost far less than the numpy calls that built them.
    A diverging fit may reach extreme parameters: they give inf and nan, never an exception.
    """
    n_params, m = p.size, x.size
    model = p[n_params - 2] + p[n_params - 1] * dx
    jac = np.zeros((n_params, m))
    for i in range(0, n_params - 2, 4):
        centre, height, fwhm = p[i], p[i + 1], math.exp(p[i + 2])
        eta, deta_du = 0.5 * (1.0 + math.sin(p[i + 3])), 0.5 * math.cos(p[i + 3])
        for line in range(1 if math.isnan(lam_ratio) else 2):
            weight, slope = 1.0, 1.0  # line height / peak height, d(line centre)/d(centre)
            if line == 1:  # Kα2: 2θ2 = 2·asin(λ2/λ1·sin θ1)
                half = math.radians(p[i]) / 2.0
                sin2 = min(lam_ratio * math.sin(half), 1.0)
                sin2 = sin2 if sin2 >= -1.0 else math.nan
                weight = ka2_ratio
                slope = lam_ratio * math.cos(half) / math.sqrt(max(1.0 - sin2 * sin2, 1e-12))
                centre = math.degrees(2.0 * math.asin(sin2))
            for j in range(m):
                t = (x[j] - centre) / fwhm
                t2 = t * t
                lor = 1.0 / (1.0 + 4.0 * t2)
                gau = math.exp(-FOUR_LN2 * t2)
                profile = gau + eta * (lor - gau)
                g = t * (eta * lor * lor + (1.0 - eta) * _LN2 * gau)  # d(profile)/dt = -8g
                model[j] += weight * height * profile
                jac[i, j] += weight * slope * 8.0 * height / fwhm * g
                jac[i + 1, j] += weight * profile
                jac[i + 2, j] += weight * 8.0 * height * g * t
                jac[i + 3, j] += weight * height * deta_du * (lor - gau)
    for j in range(m):
        for row in range(n_params - 2):
            jac[row, j] *= inv_sigma[j]
        jac[n_params - 2, j] = inv_sigma[j]
        jac[n_params - 1, j] = dx[j] * inv_sigma[j]
    return (model - y) * inv_sigma, jac


class GroupFit:
    """Least-squares problem of one group of overlapping peaks (a window of the pattern).

    Parameters per peak: centre (deg), height, log FWHM, u with eta = (1 + sin u)/2; then a
    linear background b0 + b1·(x - x_mid). Residuals are weighted by 1/σ. Each call at new
    parameters computes the residuals and the Jacobian at once (MINPACK asks for both at
    every accepted step) and keeps them: a repeated call at the same parameters returns the
    same arrays (MINPACK copies what it gets). The Jacobian is column-major (``col_deriv``),
    one row per parameter, so MINPACK copies it as it is.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, sigma: np.ndarray, ka2_ratio: float,
                 ka2: tuple[float, float] | None):
        """x: 2θ (deg), y: background-free counts, sigma: noise σ, each (m,); ka2: (λ1, λ2) Å."""
        self.x, self.y, self.inv_sigma = x, y, 1.0 / sigma
        self.ratio = ka2_ratio
        self.lam_ratio = math.nan if ka2 is None else ka2[1] / ka2[0]
        self.dx = x - float(x.mean())
        self._key: bytes | None = None
        self._residual, self._jacobian = np.empty(0), np.empty(0)

    def _evaluate(self, p: np.ndarray) -> None:
        key = p.tobytes()
        if key != self._key:
            self._residual, self._jacobian = _residual_and_jacobian(
                self.x, self.dx, self.y, self.inv_sigma, p, self.lam_ratio, self.ratio)
            self._key = key

    def residual(self, p: np.ndarray) -> np.ndarray:
        """Weighted residuals (model - y)/σ, shape (m,)."""
        self._evaluate(p)
        return self._residual

    def jacobian(self, p: np.ndarray) -> np.ndarray:
        """Derivatives of the residuals by the parameters, shape (len(p), m)."""
        self._evaluate(p)
        return self._jacobian

    def fit(self, centers, heights, fwhms) -> tuple[np.ndarray, float]:
        """Fit from initial guesses (deg, counts, deg); returns (c, h, w, eta) rows (n, 4), χ²."""
        p0 = np.zeros(4 * len(centers) + 2)
        p0[0:-2:4], p0[1:-2:4], p0[2:-2:4] = centers, heights, np.log(fwhms)
        p0[3:-2:4] = math.asin(2 * INITIAL_ETA - 1)
        if self.x.size <= p0.size:
            return np.column_stack([centers, heights, fwhms, np.full(len(centers), 0.5)]), math.inf
        # full_output: a fit stopped at maxfev is judged by _plausible, not by a warning
        p, _cov, info, _msg, _ier = leastsq(
            self.residual, p0, Dfun=self.jacobian, col_deriv=True, ftol=FIT_TOLERANCE,
            xtol=FIT_TOLERANCE, maxfev=MAX_NFEV, full_output=True)
        return unpack_profiles(p[:-2]), float(info["fvec"] @ info["fvec"])


# --- groups of candidates ------------------------------------------------------------------
class Candidates(NamedTuple):
    """Initial guesses (deg, counts, deg) and fit windows [lo, hi] (deg), one per candidate."""

    centers: np.ndarray
    heights: np.ndarray
    fwhms: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


def candidate_groups(lo: np.ndarray, hi: np.ndarray) -> list[np.ndarray]:
    """Index groups of candidates (sorted by ``lo``) whose [lo, hi] windows overlap."""
    order = np.argsort(lo)
    groups, current, reach = [], [order[0]], hi[order[0]]
    for i in order[1:]:
        if lo[i] <= reach:
            current.append(i)
            reach = max(reach, hi[i])
        else:
            groups.append(np.array(current))
            current, reach = [i], hi[i]
    groups.append(np.array(current))
    return [part for g in groups for part in _split(g, lo, hi)]


def _split(members: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> list[np.ndarray]:
    """Cut a group larger than MAX_GROUP_PEAKS where consecutive windows overlap least."""
    if members.size <= MAX_GROUP_PEAKS:
        return [members]
    overlap = hi[members[:-1]] - lo[members[1:]]
    cut = int(np.argmin(overlap)) + 1
    return _split(members[:cut], lo, hi) + _split(members[cut:], lo, hi)


def _window(x: np.ndarray, guess: Candidates, members: np.ndarray) -> slice:
    """Slice of x covering the fit windows of ``members``."""
    return slice(np.searchsorted(x, guess.lo[members].min(), side="left"),
                 np.searchsorted(x, guess.hi[members].max(), side="right"))


def fit_group(data: tuple[np.ndarray, np.ndarray, np.ndarray], guess: Candidates,
              members: np.ndarray, ka2_ratio: float, ka2: tuple[float, float] | None,
              min_snr: float, step: float, max_fwhm_deg: float = MAX_FWHM_DEG) -> np.ndarray:
    """Fit one group of overlapping candidates over their joint window, plus a shoulder.

    Broad groups are fitted on block means: FIT_POINTS_PER_FWHM per FWHM of the narrowest
    candidate that is not weak (a maximum below WEAK_CANDIDATE_SNR × min_snr: noise, whose
    profile then ends up too narrow to be plausible).

    Args:
        data: 2θ (deg), background-free counts and noise σ of the whole pattern, each (n,).
        guess: Every candidate's initial guess and window; ``members`` index this group's.
        ka2_ratio: Kα2/Kα1 intensity ratio; ka2: (λ1, λ2) in Å, or None for one line.
        min_snr: SNR a shoulder must reach (as for peaks).
        step: Median 2θ step of the pattern, degrees.
        max_fwhm_deg: Profiles wider than this (degrees) are humps, the background of the
            peaks on them (MAX_FWHM_DEG scaled to the wavelength).

    Returns:
        (centre, height, FWHM, eta) rows of the plausible profiles, humps included.
    """
    x, net, sigma = data
    sel = _window(x, guess, members)
    fwhms = guess.fwhms[members]
    weak = guess.heights[members] < WEAK_CANDIDATE_SNR * min_snr * np.interp(
        guess.centers[members], x, sigma)
    narrowest = float((fwhms[~weak] if (~weak).any() else fwhms).min())
    factor = max(1, int(narrowest / (FIT_POINTS_PER_FWHM * step)))
    group = GroupFit(*bin_points(x[sel], net[sel], sigma[sel], factor), ka2_ratio, ka2)
    params, chi2 = group.fit(guess.centers[members], guess.heights[members], fwhms)
    grown = weak & (params[:, 2] > MAX_WIDTH_GROWTH * fwhms)
    return _add_shoulder(group, params[~grown], chi2, min_snr, max_fwhm_deg)


def _add_shoulder(group: GroupFit, params: np.ndarray, chi2: float, min_snr: float,
                  max_fwhm_deg: float = MAX_FWHM_DEG) -> np.ndarray:
    """Keep the plausible profiles; refit with one more where the residual holds a neighbour.

    The residual is smoothed over the group's median FWHM; its highest point becomes a new
    profile when it is a significant peak (min_snr, matched-filter SNR) lying at least
    SHOULDER_MIN_SEPARATION FWHM from every fitted centre, and is kept when χ² falls
    below SHOULDER_CHI2_GAIN of its previous value and the profiles stay that far apart.
    Profiles wider than ``max_fwhm_deg`` (humps, never reported) are background here: a peak
    may sit on top of one.
    """
    params = params[_plausible(params, group.x)]
    if len(params) == 0 or not math.isfinite(chi2):
        return params
    if chi2 < SHOULDER_MIN_REDUCED_CHI2 * (group.x.size - 4 * len(params) - 2):
        return params
    p = np.concatenate([pack_profiles(params), [0.0, 0.0]])
    step = float(group.x[-1] - group.x[0]) / (group.x.size - 1)
    peaks = params[params[:, 2] <= max_fwhm_deg]
    # a group of humps alone: look for peaks of up to a third of their width on top of them
    width = float(np.median(peaks[:, 2] if len(peaks) else params[:, 2] / 3.0))
    window = max(SHOULDER_SMOOTH_MIN_POINTS, round(width / step) | 1)
    if window >= group.x.size:
        return params
    resid = savgol(-group.residual(p) / group.inv_sigma, window, 2)
    snr = resid * group.inv_sigma  # the local noise, the peaks' own counting noise included
    i = int(np.argmax(snr))
    far = np.all(np.abs(group.x[i] - peaks[:, 0]) >= SHOULDER_MIN_SEPARATION * peaks[:, 2])
    if not (far and snr[i] >= min_snr
            and snr[i] * math.sqrt(PROFILE_SQUARE_INTEGRAL * width / step) >= MIN_MATCHED_SNR):
        return params
    trial, chi2_new = group.fit(np.r_[params[:, 0], group.x[i]], np.r_[params[:, 1], resid[i]],
                                np.r_[params[:, 2], width])
    if chi2_new < SHOULDER_CHI2_GAIN * chi2 and _resolved(trial, max_fwhm_deg) and \
            _plausible(trial, group.x).all():
        return trial
    return params


def _resolved(params: np.ndarray, max_fwhm_deg: float = MAX_FWHM_DEG) -> bool:
    """Whether the peaks (humps: wider than ``max_fwhm_deg``, degrees, aside) lie
    SHOULDER_MIN_SEPARATION FWHM apart: the wider FWHM, the narrower one for FWHMs differing
    by SHOULDER_WIDTH_RATIO."""
    peaks = params[params[:, 2] <= max_fwhm_deg]
    gaps = np.abs(peaks[:, None, 0] - peaks[None, :, 0]) + np.eye(len(peaks)) * 1e9
    wide = np.maximum(peaks[:, None, 2], peaks[None, :, 2])
    narrow = np.minimum(peaks[:, None, 2], peaks[None, :, 2])
    apart = np.where(wide >= SHOULDER_WIDTH_RATIO * narrow, narrow, wide)
    return bool(np.all(gaps >= SHOULDER_MIN_SEPARATION * apart))


def _plausible(params: np.ndarray, xw: np.ndarray) -> np.ndarray:
    """Mask of fitted profiles that are real peaks inside their window."""
    c, h, w = params[:, 0], params[:, 1], params[:, 2]
    span = xw[-1] - xw[0]
    min_w = MIN_FWHM_POINTS * span / (xw.size - 1)
    return (h > 0) & (c > xw[0]) & (c < xw[-1]) & (w < MAX_WINDOW_SHARE * span) & (w > min_w)
