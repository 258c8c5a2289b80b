"""Smoothing, noise and background of a powder pattern (the signal before peak fitting).

* Savitzky-Golay smoothing with polynomial edges (scipy's ``mode="interp"``), the filter
  coefficients and edge operators cached per window;
* the noise σ along 2θ: running median of the squared lag-L residuals, robust to peaks and
  to short-range correlation of rebinned detectors;
* SNIP background (statistics-sensitive non-linear iterative peak-clipping, Ryan et al.
  1988, decreasing clipping window), run on a decimated copy and interpolated back; the
  clipping window may vary along 2θ;
* the adaptive background of :func:`adaptive_background`: broad peaks (nano-crystallites,
  FWHM up to ~4.5°) are first located on a strongly clipped, median-filtered copy, and the
  SNIP window is widened around each to a few times its FWHM, so that the background does
  not eat them; around wider maxima (amorphous humps) the window stays narrow.

Widths that tell peaks, broad peaks and humps apart are set for Cu Kα1 and scale with the
wavelength (:func:`width_scale`): a Scherrer width Kλ/(D cos θ) and an amorphous hump (a fixed
width in q = 4π sin θ/λ) both widen in 2θ in proportion to λ. The widths tied to the sampling
and the noise statistics (smoothing, noise lag and blocks) do not scale.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage, signal

from ._radiation import CU_KA1

__all__ = ["BROAD_MIN_FWHM_DEG", "NOISE_BLOCK_DEG", "SMOOTH_MIN_POINTS", "SNIP_HALF_WIDTH_DEG",
           "SNIP_WIDTH_PER_FWHM", "Background", "adaptive_background", "block_median",
           "broad_maxima", "counts_gain", "local_noise", "sampling_step", "savgol", "smooth",
           "snip_background", "total_sigma", "width_scale"]

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
SNIP_HALF_WIDTH_DEG = 2.0
"""Clipping half-width away from broad peaks: ≥ 5 FWHM of ordinary peaks (FWHM ≤ 0.4°).
This and the other BROAD_* widths below are for Cu Kα1; × :func:`width_scale` at other λ."""
SNIP_MAX_ITERATIONS = 40
"""SNIP runs on a copy decimated so that the narrowest clipping window spans at most this
many points."""
SNIP_WIDTH_PER_FWHM = 3.0
"""Around a broad peak the clipping half-width is this × its FWHM."""
BROAD_SEARCH_HALF_WIDTH_DEG = 30.0
"""Clipping half-width of the search for broad peaks (≥ 2.5 × the widest amorphous hump, so
that humps are measured nearly at their full width)."""
BROAD_SEARCH_ITERATIONS = 15
"""... run on a copy decimated to this many clipping iterations (a coarse background will do)."""
BROAD_SEARCH_STEP_DEG = 0.1
"""The search runs on block means over this many degrees ..."""
BROAD_FILTER_DEG = 0.6
"""... median-filtered over this width, which removes noise and peaks narrower than ~0.3°."""
BROAD_MIN_FWHM_DEG = 1.0
"""Only maxima at least this wide widen the window (below, the 2° window clips less than
1 % of a peak's height)."""
BROAD_REACH_FWHM = 3.0
"""The widened window covers this many FWHM on each side of a broad peak."""


def width_scale(wavelength: float) -> float:
    """λ/λ(Cu Kα1): the factor on every Cu Kα1 width threshold (degrees 2θ) at ``wavelength`` (Å).

    Scherrer widths Kλ/(D cos θ) and amorphous humps (fixed widths in q = 4π sin θ/λ) both
    scale with λ in 2θ (to first order; exactly at small angles); 1.0 exactly for Cu Kα1.
    """
    return wavelength / CU_KA1


@functools.lru_cache(maxsize=64)
def _savgol_operators(window: int, order: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre coefficients (window,) and left/right edge operators (window//2, window).

    An edge operator evaluates, at the first (last) window//2 points, the polynomial of
    degree ``order`` fitted by least squares to the first (last) ``window`` points.
    """
    pos = np.arange(window) - (window - 1) / 2.0
    vander = np.vander(pos, order + 1)
    fit = np.linalg.pinv(vander)
    half = window // 2
    return signal.savgol_coeffs(window, order), vander[:half] @ fit, vander[-half:] @ fit


def savgol(y: np.ndarray, window: int, order: int) -> np.ndarray:
    """Savitzky-Golay smoothing of ``y`` (shape (n,), n >= window), polynomial-fitted edges.

    Same result as ``scipy.signal.savgol_filter(y, window, order, mode="interp")`` (to
    rounding), without refitting the edge polynomials at every call.
    """
    coeffs, left, right = _savgol_operators(window, order)
    out = ndimage.convolve1d(y, coeffs, mode="constant")
    half = window // 2
    if half:
        out[:half] = left @ y[:window]
        out[-half:] = right @ y[-window:]
    return out


def sampling_step(x: np.ndarray) -> float:
    """Median spacing of the 2θ axis x (shape (n,)), degrees."""
    return float(np.median(np.diff(x)))


def smooth(y: np.ndarray, step: float) -> np.ndarray:
    """Savitzky-Golay smoothing over ~0.04° (at least 5 points, cubic); step in degrees."""
    window = max(SMOOTH_MIN_POINTS, round(SMOOTH_WINDOW_DEG / step) | 1)
    window = min(window, (y.size - 1) | 1 if y.size % 2 == 0 else y.size)
    order = min(SMOOTH_POLYORDER, window - 2)
    return savgol(y, window, order)


def block_median(x: np.ndarray, v: np.ndarray, block_deg: float, step: float) -> np.ndarray:
    """Running median of ``v`` (shape (n,)) over ~``block_deg`` degrees: medians of blocks, a
    median of NOISE_BLOCKS_MEDIAN consecutive blocks, interpolated back to every point.
    ``step`` is the median spacing of ``x``, degrees."""
    block = min(max(8, round(block_deg / step)), v.size)
    n_blocks = v.size // block
    med = np.median(v[: n_blocks * block].reshape(n_blocks, block), axis=1)
    if n_blocks >= NOISE_BLOCKS_MEDIAN:
        med = ndimage.median_filter(med, size=NOISE_BLOCKS_MEDIAN, mode="nearest")
    centres = x[((np.arange(n_blocks) + 0.5) * block).astype(int)]
    return np.interp(x, centres, med)


def local_noise(x: np.ndarray, y: np.ndarray, step: float,
                gain: np.ndarray | None = None) -> np.ndarray:
    """Noise σ at the background level along 2θ (step: median spacing, deg), shape (n,).

    Uses the residual from the mean of the neighbours at lag L (≈0.02°, at least 2 points, so
    short-range correlation from rebinned detectors does not hide noise) and its running
    median over ~NOISE_BLOCK_DEG blocks; peaks occupy a minority of each region, so the
    median sees the background noise. Broad peaks fill whole regions: with ``gain`` (shape
    (n,), the peak's share of the variance from :func:`counts_gain`) the squared residuals
    are scaled back to the background level first.
    """
    lag = min(max(NOISE_MIN_LAG, round(NOISE_LAG_DEG / step)), (y.size - 1) // 2)
    r2 = np.zeros_like(y)
    r2[lag:-lag] = (y[lag:-lag] - 0.5 * (y[:-2 * lag] + y[2 * lag:])) ** 2
    r2[:lag], r2[-lag:] = r2[lag], r2[-lag - 1]
    if gain is not None:
        r2 /= 1.0 + gain
    return np.sqrt(block_median(x, r2, NOISE_BLOCK_DEG, step) / (1.5 * CHI2_1_MEDIAN))


def counts_gain(net: np.ndarray, background: np.ndarray, sigma_bg: np.ndarray) -> np.ndarray:
    """Variance of the signal over that of the background, net/background, where the
    background looks like counts (>= POISSON_MIN_BG_SIGMA σ); 0 elsewhere. Shapes (n,)."""
    counts_like = background >= POISSON_MIN_BG_SIGMA * sigma_bg
    return np.where(counts_like, np.maximum(net, 0.0) / np.maximum(background, 1e-300), 0.0)


def total_sigma(net: np.ndarray, background: np.ndarray, sigma_bg: np.ndarray) -> np.ndarray:
    """Noise σ including the peak's own counting noise where the background looks like counts.

    Where the background is clearly above its noise (>= 3σ) the variance grows as
    σ_bg²·(1 + net/bg) (Poisson-like); elsewhere it is taken as constant.
    """
    return sigma_bg * np.sqrt(1.0 + counts_gain(net, background, sigma_bg))


def snip_background(x: np.ndarray, y: np.ndarray,
                    half_width_deg: float | np.ndarray = SNIP_HALF_WIDTH_DEG,
                    *, step: float | None = None,
                    max_iterations: int = SNIP_MAX_ITERATIONS) -> np.ndarray:
    """SNIP background (decreasing clipping window) of a smooth-ish signal.

    Runs on a block-averaged copy whose narrowest clipping window spans at most
    ``max_iterations`` points, then interpolates back; the background is smooth, so
    nothing is lost. With a window that varies along 2θ, a point is clipped at window k only
    where its own half-width reaches k.

    Args:
        x: 2θ, degrees, shape (n,), increasing.
        y: Signal, shape (n,) (smoothed counts work best).
        half_width_deg: Largest clipping half-width, degrees, one value or one per point
            (shape (n,)); wider than the widest peak there.
        step: Median spacing of ``x``, degrees, when the caller has it already.
        max_iterations: Clipping iterations of the narrowest window (sets the decimation).

    Returns:
        Background, shape (n,), never above ``y``.
    """
    step = sampling_step(x) if step is None else step
    half_pts = np.maximum(1, np.round(np.asarray(half_width_deg, dtype=float) / step))
    factor = max(1, min(math.ceil(float(half_pts.min()) / max_iterations), y.size // 2))
    n_blocks = y.size // factor
    v = y[: n_blocks * factor].reshape(n_blocks, factor).mean(axis=1)
    centres = np.arange(n_blocks) * factor + (factor - 1) / 2.0
    if half_pts.ndim == 0:
        k_first, k_blocks = int(half_pts) // factor, None
    else:
        k_blocks = half_pts[: n_blocks * factor].reshape(n_blocks, factor).max(axis=1) // factor
        k_first = int(k_blocks.max())
    _clip(v, min(k_first, (v.size - 1) // 2), k_blocks)
    return np.minimum(np.interp(np.arange(y.size), centres, v), y)


def _clip(v: np.ndarray, k_first: int, k_blocks: np.ndarray | None) -> None:
    """SNIP iterations k = k_first..1 on v in place; only where k_blocks >= k (if given).

    The set of points still clipped changes only when k passes a value of ``k_blocks``, so
    its extent (a slice) and mask are recomputed only then.
    """
    k_common = k_first if k_blocks is None else int(k_blocks.min())
    levels = set() if k_blocks is None else set(np.unique(k_blocks).tolist())
    lo = hi = 0
    mask = np.empty(0, dtype=bool)
    for k in range(k_first, 0, -1):
        if k <= k_common:
            np.minimum(v[k:-k], 0.5 * (v[:-2 * k] + v[2 * k:]), out=v[k:-k])
            continue
        if k in levels or k == k_first:
            active = np.flatnonzero(k_blocks >= k)
            lo, hi = max(int(active[0]), k), min(int(active[-1]) + 1, v.size - k)
            mask = k_blocks[lo:hi] >= k
        if hi > lo:
            np.minimum(v[lo:hi], 0.5 * (v[lo - k:hi - k] + v[lo + k:hi + k]), out=v[lo:hi],
                       where=mask[: hi - lo])


@dataclass(frozen=True)
class Background:
    """Adaptive SNIP background of a pattern and the broad maxima that shaped it.

    Attributes:
        values: Background, shape (n,).
        broad: (centre deg, FWHM deg) rows of the broad peaks whose window was widened.
        humps: (centre deg, FWHM deg) rows of maxima wider than the widest peak (amorphous
            humps), around which the window stayed narrow.
        half_width_deg: Clipping half-width along 2θ, degrees, shape (n,).
        base_half_width_deg: Clipping half-width away from broad peaks, degrees
            (SNIP_HALF_WIDTH_DEG × the width scale).
    """

    values: np.ndarray
    broad: np.ndarray
    humps: np.ndarray
    half_width_deg: np.ndarray
    base_half_width_deg: float = SNIP_HALF_WIDTH_DEG

    @property
    def widened(self) -> np.ndarray:
        """Mask (n,) of the points whose clipping window was widened (broad peaks)."""
        return self.half_width_deg > self.base_half_width_deg


def adaptive_background(x: np.ndarray, ys: np.ndarray, sigma_bg: np.ndarray, step: float, *,
                        max_fwhm_deg: float, min_snr: float, scale: float = 1.0) -> Background:
    """SNIP background whose window widens to SNIP_WIDTH_PER_FWHM × FWHM around broad peaks.

    Broad maxima (:func:`broad_maxima`) up to ``max_fwhm_deg`` wide get the wider window
    over ±BROAD_REACH_FWHM FWHM; around wider ones (amorphous humps, ± one FWHM) the window
    stays SNIP_HALF_WIDTH_DEG × ``scale``, also where a broad peak on or beside the hump
    widened it.

    Args:
        x: 2θ, degrees, shape (n,), increasing; ``step`` its median spacing.
        ys: Smoothed counts, shape (n,).
        sigma_bg: Noise σ at the background level, shape (n,).
        max_fwhm_deg: Maxima wider than this are amorphous humps (degrees, already scaled).
        min_snr: Broad maxima need a prominence of this × their (block-averaged) noise.
        scale: :func:`width_scale` of the wavelength; multiplies the Cu Kα1 widths (the SNIP
            window and those of :func:`broad_maxima`).
    """
    base = SNIP_HALF_WIDTH_DEG * scale
    maxima = broad_maxima(x, ys, sigma_bg, step, min_snr, scale)
    humps = maxima[:, 1] > max_fwhm_deg
    half_width = np.full(x.size, base)
    for c, w in maxima[~humps]:
        lo, hi = np.searchsorted(x, [c - BROAD_REACH_FWHM * w, c + BROAD_REACH_FWHM * w])
        np.maximum(half_width[lo:hi], SNIP_WIDTH_PER_FWHM * w, out=half_width[lo:hi])
    for c, w in maxima[humps]:
        lo, hi = np.searchsorted(x, [c - w, c + w])
        half_width[lo:hi] = base
    wide = half_width > base
    values = snip_background(x, ys, half_width if wide.any() else base, step=step)
    broad = maxima[~humps]
    broad = broad[wide[np.searchsorted(x, broad[:, 0]).clip(0, x.size - 1)]]
    return Background(values, broad, maxima[humps], half_width, base)


def broad_maxima(x: np.ndarray, ys: np.ndarray, sigma_bg: np.ndarray, step: float,
                 min_snr: float, scale: float = 1.0) -> np.ndarray:
    """(centre deg, FWHM deg) rows of maxima at least BROAD_MIN_FWHM_DEG × ``scale`` wide,
    shape (m, 2).

    The signal is averaged over BROAD_SEARCH_STEP_DEG blocks, freed of a wide SNIP
    background (BROAD_SEARCH_HALF_WIDTH_DEG) and median-filtered over BROAD_FILTER_DEG, which
    removes the noise and narrow peaks; widths are measured at half prominence. Every one of
    these widths is × ``scale`` (:func:`width_scale` of the wavelength).
    """
    factor = max(1, round(BROAD_SEARCH_STEP_DEG * scale / step))
    n_blocks = ys.size // factor
    if n_blocks < 8:
        return np.empty((0, 2))
    v = ys[: n_blocks * factor].reshape(n_blocks, factor).mean(axis=1)
    xb = x[: n_blocks * factor].reshape(n_blocks, factor).mean(axis=1)
    block = factor * step
    v = v - snip_background(xb, v, BROAD_SEARCH_HALF_WIDTH_DEG * scale, step=block,
                            max_iterations=BROAD_SEARCH_ITERATIONS)
    v = ndimage.median_filter(v, size=max(3, round(BROAD_FILTER_DEG * scale / block) | 1),
                              mode="nearest")
    noise = sigma_bg[: n_blocks * factor: factor] / math.sqrt(factor)
    idx, props = signal.find_peaks(v, prominence=min_snr * noise,
                                   width=BROAD_MIN_FWHM_DEG * scale / block, rel_height=0.5)
    return np.column_stack([xb[idx], props["widths"] * block])
