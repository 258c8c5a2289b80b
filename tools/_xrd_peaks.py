"""Powder-diffraction peak finding: pattern in, fitted pseudo-Voigt peaks out.

Pipeline of :func:`find_peaks`:

1. smooth (Savitzky-Golay) and estimate the noise σ along 2θ (running median of the
   lag-L residuals, robust to peaks and to short-range correlation);
2. remove the background with SNIP (statistics-sensitive non-linear iterative
   peak-clipping, Ryan et al. 1988, decreasing clipping window), run on a decimated copy and
   interpolated back;
3. candidates from ``scipy.signal.find_peaks`` on the smoothed, background-free signal with a
   noise-based prominence threshold; with a Kα1+Kα2 beam, candidates sitting at the Kα2
   position of a stronger one are dropped (the Kα2 line is part of the model, not a peak);
4. overlapping candidates are grouped, and each group is fitted with pseudo-Voigt profiles
   plus a local linear background (``scipy.optimize.leastsq``, MINPACK Levenberg-Marquardt,
   analytic Jacobian); with a doublet beam every reflection is a Kα1+Kα2 pair with the Kα2
   position fixed by 2θ2 = 2·asin(λ2/λ1·sin θ1) and the intensity ratio fixed by the radiation;
5. a group whose fit leaves χ²/dof > 1.5 and a significant bump in its residual at least one
   FWHM from every profile (an unresolved shoulder) gets one more profile, kept when it
   lowers χ² by 40 % and stays resolved;
6. peaks below ``min_snr`` × noise (at the background level), with a matched-filter SNR below
   7 (single-point noise spikes), or below ``min_relative_height`` × the strongest are dropped.

Reported positions, heights, widths and areas are those of the Kα1 component.
"""

from __future__ import annotations

import math
import re
from os import PathLike
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import ndimage, signal
from scipy.optimize import leastsq

from csmbench.errors import ToolError

from ._radiation import Radiation, emission, ka2_two_theta

__all__ = ["Peak", "PeakList", "find_peaks", "pseudo_voigt", "read_xy", "validate_pattern"]

# --- input checks ----------------------------------------------------------------------------
MIN_POINTS = 20
NEGATIVE_TOLERANCE = 0.05
"""Negative intensities are accepted down to -this × max(intensity): background-subtracted
data scatter around zero. Anything more negative is not a diffraction pattern."""

# --- smoothing, noise, background ------------------------------------------------------------
SMOOTH_WINDOW_DEG = 0.04
SMOOTH_MIN_POINTS = 5
SMOOTH_POLYORDER = 3
CHI2_1_MEDIAN = 0.4549
"""Median of a χ²(1) variable: median(r²)/0.4549 estimates σ² of Gaussian noise."""
NOISE_LAG_DEG = 0.02
NOISE_MIN_LAG = 2
NOISE_BLOCK_DEG = 0.5
NOISE_BLOCKS_MEDIAN = 5
POISSON_MIN_BG_SIGMA = 3.0
NOISE_FLOOR = 1e-9
"""σ never falls below this × max|I| (noise-free synthetic data)."""
SNIP_HALF_WIDTH_DEG = 2.0
SNIP_MAX_ITERATIONS = 40
"""SNIP runs on a copy decimated so that the clipping window spans at most this many points."""

# --- candidates and fitting ------------------------------------------------------------------
CANDIDATE_SNR_FRACTION = 1.0
"""Candidates need a smoothed prominence of this × min_snr × σ (final cut is on the fit)."""
CANDIDATE_HEIGHT_FRACTION = 0.8
"""... and a smoothed height above the local background level of this × min_snr × σ ..."""
CANDIDATE_MATCHED_FRACTION = 0.6
"""... and a matched-filter SNR estimate of this × MIN_MATCHED_SNR (noise spikes skip fitting)."""
KA2_MATCH_FWHM = 0.5
"""A candidate within this × FWHM of a stronger candidate's Kα2 position is that Kα2 line."""
KA2_MATCH_MAX_RATIO = 0.85
WINDOW_FWHM = 2.5
"""Each profile is fitted over ±2.5 FWHM around its Kα1 (and Kα2) position."""
MAX_GROUP_PEAKS = 8
"""Larger chains of overlapping windows are cut where they overlap least."""
MIN_FWHM_POINTS = 1.5
MAX_FWHM_DEG = 1.5
"""Wider maxima are amorphous humps or background, not Bragg peaks (D < ~6 nm at 2θ < 60°);
SNIP with a 2° half-width would also clip them."""
INITIAL_ETA = 0.5
MAX_NFEV = 60
FIT_TOLERANCE = 1e-5
"""Relative tolerance on χ² and on the scaled parameter step (MINPACK ftol, xtol)."""
SHOULDER_MIN_SEPARATION = 1.0
"""A shoulder is a profile at least one FWHM (the wider one's) from every other, before and
after the refit; closer, an extra profile only models a non-ideal (asymmetric) shape."""
SHOULDER_CHI2_GAIN = 0.6
SHOULDER_MIN_REDUCED_CHI2 = 1.5
"""A shoulder is only looked for when the group's fit leaves χ²/dof above this."""
MIN_MATCHED_SNR = 7.0
"""A peak's matched-filter SNR, (h/σ)·sqrt(0.76·FWHM/step), must reach this: with ~10³
independent resolution elements per pattern, single-point noise excursions of 3-4σ are
otherwise accepted (P(>7σ) is negligible)."""
PROFILE_SQUARE_INTEGRAL = 0.76
"""∫p² dx / FWHM of a unit-height pseudo-Voigt (0.753 Gaussian, 0.785 Lorentzian)."""
MERGE_FWHM = 0.3
"""Two fitted profiles closer than this × FWHM describe one peak; the weaker is dropped."""
FOUR_LN2 = 4.0 * math.log(2.0)
PV_GAUSS_AREA = math.sqrt(math.pi / FOUR_LN2)
PV_LORENTZ_AREA = math.pi / 2.0


class Peak(BaseModel):
    """One fitted reflection (the Kα1 component when the beam is a Kα1+Kα2 doublet).

    Attributes:
        two_theta: Kα1 peak position, degrees 2θ.
        d_spacing: Interplanar spacing from the Kα1 wavelength, Å.
        height: Peak height above the background, in the pattern's intensity units.
        fwhm: Full width at half maximum, degrees 2θ.
        area: Integrated intensity (height × FWHM × shape factor), intensity·degrees.
        eta: Pseudo-Voigt Lorentzian fraction, 0 (Gaussian) to 1 (Lorentzian).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    two_theta: float
    d_spacing: float
    height: float
    fwhm: float
    area: float
    eta: float = Field(ge=0.0, le=1.0)


class PeakList(BaseModel):
    """The peaks of one pattern, sorted by 2θ, with how they were found."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    peaks: list[Peak]
    radiation: str
    wavelength: float
    background: str
    notes: list[str] = Field(default_factory=list)

    @property
    def two_thetas(self) -> list[float]:
        """Kα1 positions of the peaks, degrees."""
        return [p.two_theta for p in self.peaks]


# --- input -----------------------------------------------------------------------------------
def validate_pattern(two_theta, intensity) -> tuple[np.ndarray, np.ndarray]:
    """Check a powder pattern and return it as float arrays.

    Args:
        two_theta: 2θ values in degrees, shape (n,), strictly increasing, inside (0, 180).
        intensity: Intensities (counts or scaled counts), shape (n,). Small negative values
            (down to -5 % of the maximum, from background subtraction) are accepted.

    Returns:
        ``(two_theta, intensity)`` as 1-D float64 arrays.

    Raises:
        ToolError: Lengths differ, fewer than 20 points, NaN or infinite values, negative
            intensities, 2θ not strictly increasing, or 2θ outside (0, 180).
    """
    x = _as_1d(two_theta, "two_theta")
    y = _as_1d(intensity, "intensity")
    if x.size != y.size:
        raise ToolError(f"two_theta has {x.size} points but intensity has {y.size}; "
                        "pass one intensity per 2θ value")
    if x.size < MIN_POINTS:
        raise ToolError(f"a pattern needs at least {MIN_POINTS} points; got {x.size}")
    for name, arr in (("two_theta", x), ("intensity", y)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise ToolError(f"{name} has {bad.size} NaN or infinite values (first at index "
                            f"{bad[0]}); remove those points before calling")
    _check_axis(x)
    _check_counts(y)
    return x, y


def _as_1d(values, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ToolError(f"{name} must be a list of numbers; got {type(values).__name__}") from exc
    if arr.ndim != 1:
        raise ToolError(f"{name} must be one-dimensional; got shape {arr.shape}")
    return arr


def _check_axis(x: np.ndarray) -> None:
    step = np.diff(x)
    if np.any(step == 0.0):
        i = int(np.flatnonzero(step == 0.0)[0])
        raise ToolError(f"two_theta has duplicated values ({x[i]:g}° at indices {i} and {i + 1});"
                        " average or drop the duplicates so 2θ is strictly increasing")
    if np.any(step < 0.0):
        i = int(np.flatnonzero(step < 0.0)[0])
        raise ToolError(f"two_theta is not sorted ({x[i]:g}° is followed by {x[i + 1]:g}° at index "
                        f"{i + 1}); sort both arrays by 2θ (e.g. order = np.argsort(two_theta))")
    if x[0] <= 0.0 or x[-1] >= 180.0:
        raise ToolError(f"two_theta must lie inside (0, 180) degrees; got {x[0]:g}-{x[-1]:g}. "
                        "Is the axis in radians, θ, or d-spacing instead of 2θ in degrees?")


def _check_counts(y: np.ndarray) -> None:
    top = float(y.max())
    if top <= 0.0:
        raise ToolError("intensity has no positive values; expected counts above zero")
    if float(y.min()) < -NEGATIVE_TOLERANCE * top:
        i = int(np.argmin(y))
        raise ToolError(f"intensity has negative values (min {y[i]:g} at index {i}, below "
                        f"-{NEGATIVE_TOLERANCE:.0%} of the maximum {top:g}); expected counts >= 0."
                        " Add back the subtracted background or clip the data")


_SPLIT = re.compile(r"[\s,;]+")
_COMMENT_PREFIXES = ("#", "!", "%", "//")


def read_xy(path: str | PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read a two- or three-column text pattern (.xy, .xye, .dat, .csv).

    Columns are separated by spaces, tabs, commas or semicolons; only the first two
    (2θ, intensity) are kept. Blank lines, comment lines (``#``, ``!``, ``%``, ``//``) and text
    header lines before the first data row are skipped.

    Returns:
        ``(two_theta, intensity)``, float arrays of shape (n,), in file order (not validated).

    Raises:
        ToolError: The file is missing, has no data rows, or a row after the header is not
            two numbers (the message gives the line number).
    """
    file = Path(path)
    if not file.is_file():
        raise ToolError(f"pattern file '{path}' does not exist; pass an existing .xy file")
    rows: list[tuple[float, float]] = []
    with file.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            row = _parse_row(line, number, data_started=bool(rows))
            if row is not None:
                rows.append(row)
    if not rows:
        raise ToolError(f"pattern file '{path}' has no data rows (two numbers per line)")
    data = np.asarray(rows, dtype=float)
    return data[:, 0], data[:, 1]


def _parse_row(line: str, number: int, *, data_started: bool) -> tuple[float, float] | None:
    text = line.strip()
    if not text or text.startswith(_COMMENT_PREFIXES):
        return None
    fields = [f for f in _SPLIT.split(text) if f]
    try:
        values = [float(f) for f in fields[:2]]
    except ValueError:
        values = []
    if len(values) == 2:
        return values[0], values[1]
    if data_started:
        raise ToolError(f"line {number} is not two numbers (2θ, intensity): {text[:60]!r}; "
                        "fix or remove that line")
    return None  # header line before the data


# --- profile model ---------------------------------------------------------------------------
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


def _shapes(x: np.ndarray, c: np.ndarray, w: np.ndarray, eta: np.ndarray):
    """Reduced offsets t, Lorentzian, Gaussian and unit-height profiles, each (m, n)."""
    t = (x[:, None] - c) / w
    t2 = t * t
    lor = 1.0 / (1.0 + 4.0 * t2)
    gau = np.exp(-FOUR_LN2 * t2)
    return t, lor, gau, gau + eta * (lor - gau)


def _grads(shapes, w: np.ndarray, eta: np.ndarray):
    """Derivatives of unit profiles by centre, log-width and eta, each (m, n)."""
    t, lor, gau, _ = shapes
    dpdt = -8.0 * t * (eta * lor * lor + (1.0 - eta) * math.log(2.0) * gau)
    return -dpdt / w, -dpdt * t, lor - gau


class _Group:
    """Least-squares problem of one group of overlapping peaks (a window of the pattern).

    Parameters per peak: centre (deg), height, log FWHM, u with eta = (1 + sin u)/2; then a
    linear background b0 + b1·(x - x_mid). Residuals are weighted by 1/σ. The residual call
    also computes the Jacobian's columns and keeps them for the Jacobian call at the same
    parameters (MINPACK asks for both at every accepted step).
    """

    def __init__(self, x, y, sigma, ratio: float, ka2: tuple[float, float] | None):
        self.x, self.y, self.inv_sigma = x, y, 1.0 / sigma
        self.ratio, self.ka2 = ratio, ka2
        self.dx = x - float(x.mean())
        self._cache: tuple[np.ndarray, tuple] | None = None

    @staticmethod
    def unpack(p: np.ndarray):
        q = p[:-2].reshape(-1, 4)
        return q[:, 0], q[:, 1], np.exp(q[:, 2]), 0.5 * (1.0 + np.sin(q[:, 3])), q[:, 3]

    def _profiles(self, p: np.ndarray):
        """Unit profiles (Kα1 and, for a doublet, Kα2 shapes) at p, cached for the Jacobian."""
        cached = self._cache
        if cached is not None and cached[0].shape == p.shape and (cached[0] == p).all():
            return cached[1]
        c, _h, w, eta, u = self.unpack(p)
        first = _shapes(self.x, c, w, eta)
        second = None
        if self.ka2 is not None:
            ratio = self.ka2[1] / self.ka2[0]
            sin2 = np.minimum(ratio * np.sin(np.radians(c) / 2), 1.0)
            dc2 = ratio * np.cos(np.radians(c) / 2) / np.sqrt(np.maximum(1 - sin2**2, 1e-12))
            second = (_shapes(self.x, np.degrees(2.0 * np.arcsin(sin2)), w, eta), dc2)
        prof = first[3] if second is None else first[3] + self.ratio * second[0][3]
        self._cache = (p.copy(), (prof, first, second, (w, eta, u.copy())))
        return self._cache[1]

    def residual(self, p: np.ndarray) -> np.ndarray:
        prof = self._profiles(p)[0]
        h = p[1:-2:4]
        return (prof @ h + p[-2] + p[-1] * self.dx - self.y) * self.inv_sigma

    def jacobian(self, p: np.ndarray) -> np.ndarray:
        prof, first, second, (w, eta, u) = self._profiles(p)
        h = p[1:-2:4]
        dc, dlw, deta = _grads(first, w, eta)
        if second is not None:
            dc_2, dlw2, deta2 = _grads(second[0], w, eta)
            r = self.ratio
            dc, dlw, deta = dc + (r * second[1]) * dc_2, dlw + r * dlw2, deta + r * deta2
        jac = np.empty((self.x.size, p.size))
        jac[:, 0:-2:4] = dc * h
        jac[:, 1:-2:4] = prof
        jac[:, 2:-2:4] = dlw * h
        jac[:, 3:-2:4] = deta * (h * 0.5 * np.cos(u))
        jac[:, -2] = 1.0
        jac[:, -1] = self.dx
        jac *= self.inv_sigma[:, None]
        return jac

    def fit(self, centers, heights, fwhms) -> tuple[np.ndarray, float]:
        """Fit from initial guesses; returns (c, h, w, eta) as an (n, 4) array and χ²."""
        init = np.column_stack([centers, heights, np.log(fwhms),
                                np.full(len(centers), math.asin(2 * INITIAL_ETA - 1))])
        p0 = np.concatenate([init.ravel(), [0.0, 0.0]])
        if self.x.size <= p0.size:
            return np.column_stack([centers, heights, fwhms, np.full(len(centers), 0.5)]), math.inf
        # full_output: a fit stopped at maxfev is judged by _plausible, not by a warning
        p = leastsq(self.residual, p0, Dfun=self.jacobian, ftol=FIT_TOLERANCE,
                    xtol=FIT_TOLERANCE, maxfev=MAX_NFEV, full_output=True)[0]
        c, h, w, eta, _ = self.unpack(p)
        chi2 = float(np.sum(self.residual(p) ** 2))
        return np.column_stack([c, h, w, eta]), chi2


# --- smoothing, noise, background ------------------------------------------------------------
def _smooth(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Savitzky-Golay smoothing over ~0.04° (at least 5 points, cubic)."""
    step = float(np.median(np.diff(x)))
    window = max(SMOOTH_MIN_POINTS, round(SMOOTH_WINDOW_DEG / step) | 1)
    window = min(window, (y.size - 1) | 1 if y.size % 2 == 0 else y.size)
    order = min(SMOOTH_POLYORDER, window - 2)
    return signal.savgol_filter(y, window, order, mode="interp")


def _block_median(x: np.ndarray, v: np.ndarray, block_deg: float) -> np.ndarray:
    """Running median of ``v`` (shape (n,)) over ~``block_deg``: medians of blocks, a median of
    NOISE_BLOCKS_MEDIAN consecutive blocks, interpolated back to every point."""
    step = float(np.median(np.diff(x)))
    block = min(max(8, round(block_deg / step)), v.size)
    n_blocks = v.size // block
    med = np.median(v[: n_blocks * block].reshape(n_blocks, block), axis=1)
    if n_blocks >= NOISE_BLOCKS_MEDIAN:
        med = ndimage.median_filter(med, size=NOISE_BLOCKS_MEDIAN, mode="nearest")
    centres = x[((np.arange(n_blocks) + 0.5) * block).astype(int)]
    return np.interp(x, centres, med)


def _local_noise(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Noise σ at the background level along 2θ, shape (n,).

    Uses the residual from the mean of the neighbours at lag L (≈0.02°, at least 2 points, so
    short-range correlation from rebinned detectors does not hide noise) and its running
    median over ~NOISE_BLOCK_DEG blocks; peaks occupy a minority of each region, so the
    median sees the background noise.
    """
    step = float(np.median(np.diff(x)))
    lag = min(max(NOISE_MIN_LAG, round(NOISE_LAG_DEG / step)), (y.size - 1) // 2)
    r2 = np.zeros_like(y)
    r2[lag:-lag] = (y[lag:-lag] - 0.5 * (y[:-2 * lag] + y[2 * lag:])) ** 2
    r2[:lag], r2[-lag:] = r2[lag], r2[-lag - 1]
    return np.sqrt(_block_median(x, r2, NOISE_BLOCK_DEG) / (1.5 * CHI2_1_MEDIAN))


def _sigma(net: np.ndarray, background: np.ndarray, sigma_bg: np.ndarray) -> np.ndarray:
    """Noise σ including the peak's own counting noise where the background looks like counts.

    Where the background is clearly above its noise (>= 3σ) the variance grows as
    σ_bg²·(1 + net/bg) (Poisson-like); elsewhere it is taken as constant.
    """
    counts_like = background >= POISSON_MIN_BG_SIGMA * sigma_bg
    gain = np.where(counts_like, np.maximum(net, 0.0) / np.maximum(background, 1e-300), 0.0)
    return sigma_bg * np.sqrt(1.0 + gain)


def snip_background(x: np.ndarray, y: np.ndarray, half_width_deg: float = SNIP_HALF_WIDTH_DEG
                    ) -> np.ndarray:
    """SNIP background (decreasing clipping window) of a smooth-ish signal.

    Runs on a block-averaged copy whose clipping window spans at most ``SNIP_MAX_ITERATIONS``
    points, then interpolates back; the background is smooth, so nothing is lost.

    Args:
        x: 2θ, degrees, shape (n,), increasing.
        y: Signal, shape (n,) (smoothed counts work best).
        half_width_deg: Largest clipping half-width, degrees; wider than the widest peak.

    Returns:
        Background, shape (n,), never above ``y``.
    """
    step = float(np.median(np.diff(x)))
    half_pts = max(1, round(half_width_deg / step))
    factor = max(1, math.ceil(half_pts / SNIP_MAX_ITERATIONS))
    n_blocks = y.size // factor
    v = y[: n_blocks * factor].reshape(n_blocks, factor).mean(axis=1)
    centres = np.arange(n_blocks) * factor + (factor - 1) / 2.0
    for k in range(min(half_pts // factor, (v.size - 1) // 2), 0, -1):
        v[k:-k] = np.minimum(v[k:-k], 0.5 * (v[:-2 * k] + v[2 * k:]))
    return np.minimum(np.interp(np.arange(y.size), centres, v), y)


# --- candidates and groups -------------------------------------------------------------------
def _candidates(x, net, sigma, sigma_bg, min_snr: float):
    """Indices, heights and FWHM (deg) of local maxima of ``net`` prominent above the noise.

    SNIP leaves the background at the lower envelope of the noise, so heights are counted
    from the running median of ``net`` (the true background level) before the SNR cut.
    """
    idx, _props = signal.find_peaks(net, prominence=CANDIDATE_SNR_FRACTION * min_snr * sigma)
    level = _block_median(x, net, NOISE_BLOCK_DEG)
    snr = (net[idx] - level[idx]) / sigma_bg[idx]
    idx, snr = idx[snr >= CANDIDATE_HEIGHT_FRACTION * min_snr], snr[snr >= CANDIDATE_HEIGHT_FRACTION
                                                                    * min_snr]
    if idx.size == 0:
        return idx, np.empty(0), np.empty(0)
    _, _, left, right = signal.peak_widths(net, idx, rel_height=0.5)
    width_pts = np.maximum(right - left, MIN_FWHM_POINTS)
    keep = snr * np.sqrt(PROFILE_SQUARE_INTEGRAL * width_pts) >= CANDIDATE_MATCHED_FRACTION * \
        MIN_MATCHED_SNR
    idx, left, right = idx[keep], left[keep], right[keep]
    grid = np.arange(x.size)
    fwhm = np.interp(right, grid, x) - np.interp(left, grid, x)
    step = np.gradient(x)[idx]
    return idx, net[idx], np.maximum(fwhm, MIN_FWHM_POINTS * step)


def _drop_ka2(centers, heights, fwhms, ka2: tuple[float, float]) -> np.ndarray:
    """Mask of candidates that are not the Kα2 line of a stronger candidate."""
    keep = np.ones(centers.size, dtype=bool)
    ka2_pos = ka2_two_theta(centers, *ka2)
    for i in np.argsort(-heights):
        if not keep[i]:
            continue
        near = np.abs(centers - ka2_pos[i]) < KA2_MATCH_FWHM * fwhms[i]
        keep &= ~(near & (heights < KA2_MATCH_MAX_RATIO * heights[i]))
    return keep


def _groups(lo: np.ndarray, hi: np.ndarray) -> list[np.ndarray]:
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


# --- driver ----------------------------------------------------------------------------------
def find_peaks(two_theta, intensity, *, wavelength: float | None = None,
               radiation: Radiation = "CuKa1", min_relative_height: float = 0.01,
               min_snr: float = 3.0, max_peaks: int = 200) -> PeakList:
    """Find and fit the peaks of a powder diffraction pattern.

    Args:
        two_theta: 2θ in degrees, shape (n,), strictly increasing.
        intensity: Counts (or scaled counts), shape (n,).
        wavelength: Kα1 wavelength in Å; None means the radiation's Kα1. With a doublet
            radiation, Kα2 is placed at this × λ2/λ1 of the radiation.
        radiation: Tube emission; "...Ka12" fits every reflection as a Kα1+Kα2 pair.
        min_relative_height: Drop peaks lower than this fraction of the strongest peak.
        min_snr: Drop peaks lower than this many noise σ (at the background level).
        max_peaks: Keep at most this many peaks (the strongest).

    Returns:
        PeakList sorted by 2θ; Kα1 positions, heights, FWHM, areas, pseudo-Voigt eta.

    Raises:
        ToolError: Invalid pattern (see :func:`validate_pattern`), unknown radiation, or
            out-of-range options.
    """
    x, y = validate_pattern(two_theta, intensity)
    em = emission(radiation)
    lam = em.ka1_angstrom if wavelength is None else _check_positive(wavelength, "wavelength")
    _check_options(min_relative_height, min_snr, max_peaks)
    ka2 = (lam, lam * em.ka2_angstrom / em.ka1_angstrom) if em.is_doublet else None
    ys = _smooth(x, y)
    background = snip_background(x, ys)
    sigma_bg = np.maximum(_local_noise(x, y), NOISE_FLOOR * float(np.max(np.abs(y))))
    fitted, notes = _find_and_fit(x, y, ys - background, background, sigma_bg, em.ka2_ratio,
                                  ka2, min_snr)
    peaks, more = _select(fitted, x, sigma_bg, min_snr, min_relative_height, max_peaks, lam)
    notes = notes + more + ([(f"Kα2 modelled at λ2/λ1 = {ka2[1] / ka2[0]:.6f}, intensity ratio "
                             f"{em.ka2_ratio:g}; positions are Kα1")] if ka2 else [])
    if not peaks:
        notes.append("no peaks above the thresholds: the pattern looks flat or is pure noise")
    return PeakList(peaks=peaks, radiation=radiation, wavelength=lam,
                    background=f"SNIP, clipping half-width {SNIP_HALF_WIDTH_DEG:g}°, plus a "
                               "linear background per fitted group", notes=notes)


def _check_positive(value: float, name: str) -> float:
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ToolError(f"{name} must be a positive number (Å); got {value!r}")
    return float(value)


def _check_options(min_relative_height: float, min_snr: float, max_peaks: int) -> None:
    if not 0.0 <= min_relative_height < 1.0:
        raise ToolError(f"min_relative_height must be in [0, 1); got {min_relative_height!r}")
    if not min_snr > 0.0:
        raise ToolError(f"min_snr must be positive (3 is usual); got {min_snr!r}")
    if max_peaks < 1:
        raise ToolError(f"max_peaks must be at least 1; got {max_peaks!r}")


def _find_and_fit(x, y, net, background, sigma_bg, ratio, ka2, min_snr):
    """Candidates, groups and fits; returns an (n, 4) array of (centre, height, fwhm, eta)."""
    sigma = _sigma(net, background, sigma_bg)
    idx, heights, fwhms = _candidates(x, net, sigma, sigma_bg, min_snr)
    notes: list[str] = []
    if idx.size == 0:
        return np.empty((0, 4)), notes
    centers = x[idx]
    broad = fwhms > MAX_FWHM_DEG
    if broad.any():
        notes.append(f"{int(broad.sum())} humps wider than {MAX_FWHM_DEG:g}° FWHM (at "
                     f"{', '.join(f'{c:.1f}' for c in centers[broad])}°) treated as background")
        centers, heights, fwhms = centers[~broad], heights[~broad], fwhms[~broad]
        if centers.size == 0:
            return np.empty((0, 4)), notes
    if ka2 is not None:
        keep = _drop_ka2(centers, heights, fwhms, ka2)
        notes.append(f"{int((~keep).sum())} candidate maxima were Kα2 lines of stronger peaks")
        centers, heights, fwhms = centers[keep], heights[keep], fwhms[keep]
    right = ka2_two_theta(centers, *ka2) if ka2 else centers
    right = np.where(np.isfinite(right), right, centers)
    lo, hi = centers - WINDOW_FWHM * fwhms, right + WINDOW_FWHM * fwhms
    results = []
    for members in _groups(lo, hi):
        sel = (x >= lo[members].min()) & (x <= hi[members].max())
        group = _Group(x[sel], y[sel] - background[sel], sigma[sel], ratio, ka2)
        params, chi2 = group.fit(centers[members], heights[members], fwhms[members])
        params = _add_shoulder(group, params, chi2, min_snr)
        results.append(params[_plausible(params, x[sel])])
    return np.vstack(results), notes


def _add_shoulder(group: _Group, params: np.ndarray, chi2: float, min_snr: float) -> np.ndarray:
    """Refit with one more profile where the residual holds an unresolved neighbour.

    The residual is smoothed over the group's median FWHM; its highest point becomes a new
    profile when it is a significant peak (min_snr, matched-filter SNR) lying at least
    SHOULDER_MIN_SEPARATION FWHM from every fitted centre, and is kept when χ² falls
    below SHOULDER_CHI2_GAIN of its previous value and the profiles stay that far apart.
    """
    ok = _plausible(params, group.x)
    if not ok.any() or not math.isfinite(chi2):
        return params
    params = params[ok]
    if chi2 < SHOULDER_MIN_REDUCED_CHI2 * (group.x.size - 4 * len(params) - 2):
        return params
    p = np.concatenate([_pack(params), [0.0, 0.0]])
    step = float(group.x[-1] - group.x[0]) / (group.x.size - 1)
    width = float(np.median(params[:, 2]))
    window = max(SMOOTH_MIN_POINTS, round(width / step) | 1)
    if window >= group.x.size:
        return params
    resid = signal.savgol_filter(-group.residual(p) / group.inv_sigma, window, 2)
    snr = resid * group.inv_sigma  # the local noise, the peaks' own counting noise included
    i = int(np.argmax(snr))
    far = np.all(np.abs(group.x[i] - params[:, 0]) >= SHOULDER_MIN_SEPARATION * params[:, 2])
    if not (far and snr[i] >= min_snr
            and snr[i] * math.sqrt(PROFILE_SQUARE_INTEGRAL * width / step) >= MIN_MATCHED_SNR):
        return params
    trial, chi2_new = group.fit(np.r_[params[:, 0], group.x[i]], np.r_[params[:, 1], resid[i]],
                                np.r_[params[:, 2], width])
    gaps = np.abs(trial[:, None, 0] - trial[None, :, 0]) + np.eye(len(trial)) * 1e9
    wide = np.maximum(trial[:, None, 2], trial[None, :, 2])
    resolved = bool(np.all(gaps >= SHOULDER_MIN_SEPARATION * wide))
    if chi2_new < SHOULDER_CHI2_GAIN * chi2 and resolved and _plausible(trial, group.x).all():
        return trial
    return params


def _pack(params: np.ndarray) -> np.ndarray:
    """(n, 4) (centre, height, fwhm, eta) rows to the fit's parameter vector (no background)."""
    eta = np.clip(params[:, 3], 0.0, 1.0)
    return np.column_stack([params[:, 0], params[:, 1], np.log(params[:, 2]),
                            np.arcsin(2 * eta - 1)]).ravel()


def _plausible(params: np.ndarray, xw: np.ndarray) -> np.ndarray:
    """Mask of fitted profiles that are real peaks inside their window."""
    c, h, w = params[:, 0], params[:, 1], params[:, 2]
    span = xw[-1] - xw[0]
    min_w = MIN_FWHM_POINTS * span / (xw.size - 1)
    return (h > 0) & (c > xw[0]) & (c < xw[-1]) & (w < span) & (w > min_w)


def _select(fitted, x, sigma_bg, min_snr, min_relative_height, max_peaks, lam):
    """Apply the SNR, relative-height and count cuts; build sorted Peak records."""
    notes: list[str] = []
    if fitted.size == 0:
        return [], notes
    fitted = _merge_close(fitted)
    snr = fitted[:, 1] / np.interp(fitted[:, 0], x, sigma_bg)
    step = np.interp(fitted[:, 0], x[1:], np.diff(x))
    matched = snr * np.sqrt(PROFILE_SQUARE_INTEGRAL * fitted[:, 2] / step)
    keep = (snr >= min_snr) & (matched >= MIN_MATCHED_SNR)
    keep &= fitted[:, 1] >= min_relative_height * fitted[keep, 1].max(initial=0.0)
    if (~keep).any():
        notes.append(f"{int((~keep).sum())} fitted profiles below min_snr={min_snr:g} or "
                     f"min_relative_height={min_relative_height:g} were dropped")
    fitted = fitted[keep]
    if len(fitted) > max_peaks:
        notes.append(f"{len(fitted)} peaks found; kept the {max_peaks} strongest (max_peaks)")
        fitted = fitted[np.argsort(-fitted[:, 1])[:max_peaks]]
    fitted = fitted[np.argsort(fitted[:, 0])]
    return [_peak(row, lam) for row in fitted], notes


def _merge_close(fitted: np.ndarray) -> np.ndarray:
    """Drop the weaker of two profiles closer than MERGE_FWHM × FWHM (one peak fitted twice)."""
    order = np.argsort(-fitted[:, 1])
    kept: list[int] = []
    for i in order:
        c, w = fitted[i, 0], fitted[i, 2]
        if all(abs(c - fitted[j, 0]) >= MERGE_FWHM * max(w, fitted[j, 2]) for j in kept):
            kept.append(int(i))
    return fitted[np.sort(kept)]


def _peak(row: np.ndarray, lam: float) -> Peak:
    c, h, w, eta = (float(v) for v in row)
    eta = min(max(eta, 0.0), 1.0)
    area = h * w * (eta * PV_LORENTZ_AREA + (1.0 - eta) * PV_GAUSS_AREA)
    d = lam / (2.0 * math.sin(math.radians(c) / 2.0))
    return Peak(two_theta=c, d_spacing=d, height=h, fwhm=w, area=area, eta=eta)
