"""Powder-diffraction peak finding: pattern in, fitted pseudo-Voigt peaks out.

Pipeline of :func:`find_peaks`:

1. smooth (Savitzky-Golay) and estimate the noise σ along 2θ (running median of the
   lag-L residuals, robust to peaks and to short-range correlation);
2. remove the background with SNIP (statistics-sensitive non-linear iterative
   peak-clipping, Ryan et al. 1988, decreasing clipping window), run on a decimated copy and
   interpolated back. The clipping window is 2° (angles here for Cu Kα1, see below) except
   around broad peaks (nano-crystallites, FWHM 1-4.5°), found first on a strongly clipped,
   median-filtered copy, where it widens to 3 FWHM; around maxima wider than MAX_FWHM_DEG
   (amorphous humps) it stays 2°. With broad peaks, the noise is estimated again with their
   counting noise scaled out;
3. candidates from ``scipy.signal.find_peaks`` on the smoothed, background-free signal with a
   noise-based prominence threshold (on broad peaks, on a signal smoothed over a fraction of
   their FWHM); with a Kα1+Kα2 beam, candidates sitting at the Kα2 position of a stronger one
   are dropped (the Kα2 line is part of the model, not a peak);
4. overlapping candidates are grouped, and each group is fitted with pseudo-Voigt profiles
   plus a local linear background (``scipy.optimize.leastsq``, MINPACK Levenberg-Marquardt,
   analytic Jacobian; broad groups on block means of the data); with a doublet beam every
   reflection is a Kα1+Kα2 pair with the Kα2 position fixed by 2θ2 = 2·asin(λ2/λ1·sin θ1)
   and the intensity ratio fixed by the radiation;
5. a group whose fit leaves χ²/dof > 1.5 and a significant bump in its residual away from
   every profile (an unresolved shoulder) gets one more profile, kept when it lowers χ² by
   40 % and the peaks end up resolved (one FWHM apart: the wider one, the narrower one for
   FWHMs differing twofold, a broad reflection beside a sharp one of another phase);
5b. hidden peaks: the pattern less all fitted profiles is searched for maxima again, as it
   is and smoothed over 0.3 × the broad-peak FWHM (a weak broad peak on the flank of a
   strong one is no maximum of the pattern, and its noisy top misleads a width estimate);
   each one a FWHM away from every fitted line (Kα2 lines included) is fitted alone on that
   rest and kept on the shoulder criteria (40 % lower χ² in its window, resolved);
6. what SNIP leaves of a hump is fitted as a profile with the peaks on it (a background
   component): profiles wider than MAX_FWHM_DEG, or on a hump's top and at least half as
   wide as the hump, are never reported;
7. peaks below ``min_snr`` × noise (at the background level), with a matched-filter SNR below
   7 (single-point noise spikes), or below ``min_relative_height`` × the strongest are dropped.

The widths that tell peaks, broad peaks and humps apart (MAX_FWHM_DEG, BROAD_MIN_FWHM_DEG, the
SNIP windows and the broad-peak search) are for Cu Kα1 and are multiplied by λ/λ(Cu Kα1)
(:func:`width_scale`; Scherrer widths and amorphous humps, fixed in q, both scale with λ):
with Mo Kα a maximum wider than ~2.1° is a hump, with Co Kα one wider than ~5.2°.

Reported positions, heights, widths and areas are those of the Kα1 component. Steps 1-2 live in
``_xrd_background``, the profiles and the group fits of steps 4-5 in ``_xrd_profile``, reading
and checking patterns in ``_xrd_input``; this module finds candidates, selects and reports.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import ndimage, signal

from csmbench.errors import ToolError

from ._radiation import Radiation, emission, ka2_two_theta
from ._xrd_background import (
    BROAD_MIN_FWHM_DEG,
    NOISE_BLOCK_DEG,
    SMOOTH_MIN_POINTS,
    SNIP_WIDTH_PER_FWHM,
    Background,
    adaptive_background,
    block_median,
    counts_gain,
    local_noise,
    sampling_step,
    savgol,
    smooth,
    snip_background,
    total_sigma,
    width_scale,
)
from ._xrd_hidden import add_hidden, fitted_model, hidden_candidates
from ._xrd_input import read_xy, validate_pattern
from ._xrd_profile import (
    FOUR_LN2,
    MAX_FWHM_DEG,
    MIN_FWHM_POINTS,
    MIN_MATCHED_SNR,
    PROFILE_SQUARE_INTEGRAL,
    SHOULDER_WIDTH_RATIO,
    Candidates,
    candidate_groups,
    fit_group,
    pseudo_voigt,
)

__all__ = ["Peak", "PeakList", "find_peaks", "pseudo_voigt", "read_xy", "snip_background",
           "validate_pattern"]

NOISE_FLOOR = 1e-9
"""σ never falls below this × max|I| (noise-free synthetic data)."""
CANDIDATE_SNR_FRACTION = 1.0
"""Candidates need a smoothed prominence of this × min_snr × σ (final cut is on the fit)."""
CANDIDATE_HEIGHT_FRACTION = 0.8
"""... and a smoothed height above the local background level of this × min_snr × σ ..."""
CANDIDATE_MATCHED_FRACTION = 0.6
"""... and a matched-filter SNR estimate of this × MIN_MATCHED_SNR (noise spikes skip fitting)."""
KA2_MATCH_FWHM = 0.5
"""A candidate within this × FWHM of a stronger candidate's Kα2 position is that Kα2 line
(this × the Kα1-Kα2 separation when that is smaller: a blend's FWHM can be inflated, and a
maximum nearer to the Kα1 line than to the Kα2 position is not the Kα2 line)."""
KA2_MATCH_MAX_RATIO = 0.85
WINDOW_FWHM = 2.5
"""Each profile is fitted over ±2.5 FWHM around its Kα1 (and Kα2) position ..."""
HUMP_WINDOW_FWHM = 1.5
"""... a hump (candidate wider than the scaled MAX_FWHM_DEG, fitted as background) over
±1.5 FWHM."""
HUMP_REMNANT_FWHM = 0.5
"""A profile on a hump's top half at least this × the hump's FWHM wide is the hump's remnant
(peaks on humps must be clearly narrower than the hump to be told from it)."""
BROAD_SMOOTH_FWHM = 0.15
"""Where the SNIP window was widened, candidates are looked for on the signal smoothed over
this × the narrowest broad FWHM (cubic Savitzky-Golay)."""
MERGE_FWHM = 0.3
"""Two fitted profiles closer than this × FWHM describe one peak; the weaker is dropped."""
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


# --- candidates and groups -------------------------------------------------------------------
def _level(x, net, bg: Background, step: float) -> np.ndarray:
    """The true background level of ``net`` (shape (n,)): SNIP leaves the background at the
    lower envelope of the noise, so the level is the running median of ``net``. A broad peak
    fills that median's window; where the SNIP window was widened, the level is the lowest
    within the widened window."""
    level = block_median(x, net, NOISE_BLOCK_DEG, step)
    if bg.widened.any():
        size = 2 * round(float(bg.half_width_deg.max()) / step) + 1
        low = ndimage.minimum_filter1d(level, min(size, level.size), mode="nearest")
        level = np.where(bg.widened, low, level)
    return level


def _candidate_signal(net: np.ndarray, bg: Background, step: float) -> np.ndarray:
    """``net`` (shape (n,)) where candidates are looked for: on broad peaks, smoothed over
    BROAD_SMOOTH_FWHM × the narrowest broad FWHM (noise wiggles on their tops are no peaks)."""
    if not bg.widened.any():
        return net
    fwhm = float(bg.half_width_deg[bg.widened].min()) / SNIP_WIDTH_PER_FWHM
    window = round(BROAD_SMOOTH_FWHM * fwhm / step) | 1
    if not SMOOTH_MIN_POINTS < window < net.size:
        return net
    return np.where(bg.widened, savgol(net, window, 3), net)


def _candidates(x, net, level, sigma, sigma_bg, wide, min_snr: float, doublet: bool,
                broad_min_fwhm: float = BROAD_MIN_FWHM_DEG):
    """Indices, heights and FWHM (deg) of local maxima of ``net`` prominent above the noise.

    Heights are counted from ``level`` (the background level of ``net``, see :func:`_level`)
    before the SNR cut. The height cut comes first: prominences (the costly part on noisy
    data, with thousands of noise maxima) are computed only for maxima that pass it. A narrow
    maximum on a broad peak (``wide``: mask of the widened SNIP regions) stands on that peak:
    its height is its prominence, and it must pass the final SNR cuts already (noise on a
    broad peak would otherwise join, and slow down, the broad peak's fit); narrow means
    narrower than ``broad_min_fwhm`` (degrees, BROAD_MIN_FWHM_DEG scaled to the wavelength).
    """
    idx = signal.find_peaks(net)[0]
    snr = (net[idx] - level[idx]) / sigma_bg[idx]
    high = snr >= CANDIDATE_HEIGHT_FRACTION * min_snr
    idx, snr = idx[high], snr[high]
    prominence = signal.peak_prominences(net, idx)[0] if idx.size else np.empty(0)
    prominent = prominence >= CANDIDATE_SNR_FRACTION * min_snr * sigma[idx]
    idx, snr, prominence = idx[prominent], snr[prominent], prominence[prominent]
    if idx.size == 0:
        return idx, np.empty(0), np.empty(0)
    _, _, left, right = signal.peak_widths(net, idx, rel_height=0.5)
    grid = np.arange(x.size)
    fwhm = np.interp(right, grid, x) - np.interp(left, grid, x)
    if doublet:  # the Kα2 line widens the high-angle side
        fwhm = np.minimum(fwhm, 2.0 * (x[idx] - np.interp(left, grid, x)))
    on_broad = wide[idx] & (fwhm < broad_min_fwhm)
    snr = np.where(on_broad, prominence / sigma[idx], snr)
    matched = snr * np.sqrt(PROFILE_SQUARE_INTEGRAL * np.maximum(right - left, MIN_FWHM_POINTS))
    keep = np.where(on_broad, (snr >= min_snr) & (matched >= MIN_MATCHED_SNR),
                    matched >= CANDIDATE_MATCHED_FRACTION * MIN_MATCHED_SNR)
    heights = np.where(on_broad, prominence, net[idx])[keep]
    idx, fwhm = idx[keep], fwhm[keep]
    return idx, heights, np.maximum(fwhm, MIN_FWHM_POINTS * np.gradient(x)[idx])


def _drop_ka2(centers, heights, fwhms, ka2: tuple[float, float]) -> np.ndarray:
    """Mask of candidates that are not the Kα2 line of a stronger candidate."""
    keep = np.ones(centers.size, dtype=bool)
    ka2_pos = ka2_two_theta(centers, *ka2)
    tolerance = KA2_MATCH_FWHM * np.minimum(fwhms, np.abs(ka2_pos - centers))
    for i in np.argsort(-heights):
        if not keep[i]:
            continue
        near = np.abs(centers - ka2_pos[i]) < tolerance[i]
        keep &= ~(near & (heights < KA2_MATCH_MAX_RATIO * heights[i]))
    return keep


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
    step = sampling_step(x)
    ys = smooth(y, step)
    scale = width_scale(lam)
    fitted, bg, sigma_bg, notes = _find_and_fit(x, y, ys, em.ka2_ratio, ka2, min_snr, step,
                                                scale)
    peaks, more = _select(fitted, x, sigma_bg, min_snr, min_relative_height, max_peaks, lam)
    notes = notes + more + ([(f"Kα2 modelled at λ2/λ1 = {ka2[1] / ka2[0]:.6f}, intensity ratio "
                             f"{em.ka2_ratio:g}; positions are Kα1")] if ka2 else [])
    if not peaks:
        notes.append("no peaks above the thresholds: the pattern looks flat or is pure noise")
    return PeakList(peaks=peaks, radiation=radiation, wavelength=lam,
                    background=_describe_background(bg, MAX_FWHM_DEG * scale), notes=notes)


def _background_and_noise(x, y, ys, step: float, min_snr: float,
                          scale: float = 1.0) -> tuple[Background, np.ndarray]:
    """Adaptive background and noise σ at the background level (shape (n,)) of a pattern.

    ``scale`` (:func:`width_scale`) multiplies the Cu Kα1 width thresholds. With broad peaks
    the noise is estimated again with the peaks' own counting noise scaled out (broad peaks
    fill the noise estimate's running median).
    """
    floor = NOISE_FLOOR * float(np.max(np.abs(y)))
    sigma_bg = np.maximum(local_noise(x, y, step), floor)
    bg = adaptive_background(x, ys, sigma_bg, step, max_fwhm_deg=MAX_FWHM_DEG * scale,
                             min_snr=min_snr, scale=scale)
    if bg.widened.any():
        gain = counts_gain(ys - bg.values, bg.values, sigma_bg)
        sigma_bg = np.maximum(local_noise(x, y, step, gain), floor)
    return bg, sigma_bg


def _describe_background(bg: Background, max_fwhm: float = MAX_FWHM_DEG) -> str:
    """One line for PeakList.background: the SNIP windows used and the humps (wider than
    ``max_fwhm``, degrees) left in."""
    text = f"SNIP, clipping half-width {bg.base_half_width_deg:.3g}°"
    if bg.widened.any():
        text += (f", widened to {SNIP_WIDTH_PER_FWHM:g} FWHM around broad peaks (up to "
                 f"{bg.half_width_deg.max():.1f}° at {_degrees(bg.broad[:, 0])})")
    if bg.humps.size:
        text += (f"; amorphous humps (FWHM > {max_fwhm:.3g}°) at {_degrees(bg.humps[:, 0])} "
                 "kept in the background")
    return text + "; plus a linear background per fitted group"


def _degrees(values: np.ndarray) -> str:
    return ", ".join(f"{v:.1f}" for v in values) + "°"


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


def _find_and_fit(x, y, ys, ratio, ka2, min_snr, step, scale: float = 1.0):
    """Background, noise, candidates, groups and fits; humps and their remnants removed.

    ``scale`` (:func:`width_scale` of the wavelength) multiplies the Cu Kα1 width thresholds.

    Returns:
        (centre, height, fwhm, eta) rows (n, 4), the Background, the noise σ at the
        background level (shape (n,)) and notes.
    """
    max_fwhm = MAX_FWHM_DEG * scale
    bg, sigma_bg = _background_and_noise(x, y, ys, step, min_snr, scale)
    fitted, humps, notes = _fit_pattern(x, y, ys - bg.values, bg, sigma_bg, ratio, ka2,
                                        min_snr, step, scale)
    remnant = _hump_remnants(fitted, np.vstack([bg.humps, humps]), max_fwhm)
    at = np.unique(np.round(np.r_[humps[:, 0], fitted[remnant, 0]], 1))
    if at.size:
        notes.append(f"amorphous humps (maxima wider than {max_fwhm:.3g}° FWHM, or what the "
                     f"background leaves of one) at {_degrees(at)} treated as background")
    return fitted[~remnant], bg, sigma_bg, notes


def _hump_remnants(fitted: np.ndarray, humps: np.ndarray,
                   max_fwhm: float = MAX_FWHM_DEG) -> np.ndarray:
    """Mask of fitted (c, h, w, eta) rows that are humps, not peaks: wider than ``max_fwhm``
    (degrees), or within half a hump's FWHM of its centre and at least HUMP_REMNANT_FWHM × as
    wide (what the narrow SNIP window leaves of a hump is narrower than the hump)."""
    remnant = fitted[:, 2] > max_fwhm
    for c, w in humps:
        remnant |= (np.abs(fitted[:, 0] - c) < 0.5 * w) & (fitted[:, 2] >= HUMP_REMNANT_FWHM * w)
    return remnant


def _fit_pattern(x, y, net, bg: Background, sigma_bg, ratio, ka2, min_snr, step,
                 scale: float = 1.0):
    """Candidates, groups and fits; candidates wider than MAX_FWHM_DEG × ``scale`` (humps) with
    broad peaks on them are fitted too, over ±HUMP_WINDOW_FWHM, as the background of those
    peaks.

    Returns:
        (centre, height, fwhm, eta) rows (n, 4) of the fitted profiles, (centre, fwhm)
        rows (m, 2) of the hump candidates, notes.
    """
    background = bg.values
    max_fwhm, broad_min = MAX_FWHM_DEG * scale, BROAD_MIN_FWHM_DEG * scale
    sigma = total_sigma(net, background, sigma_bg)
    level = _level(x, net, bg, step)
    idx, heights, fwhms = _candidates(x, _candidate_signal(net, bg, step), level, sigma,
                                      sigma_bg, bg.widened, min_snr, ka2 is not None, broad_min)
    notes: list[str] = []
    centers = x[idx]
    wide = fwhms > max_fwhm
    humps = np.column_stack([centers[wide], fwhms[wide]])
    keep = ~wide | _under_broad_peaks(centers, fwhms, wide, broad_min)
    centers, heights, fwhms = centers[keep], heights[keep], fwhms[keep]
    if centers.size == 0:
        return np.empty((0, 4)), humps, notes
    if ka2 is not None:
        keep = _drop_ka2(centers, heights, fwhms, ka2)
        notes.append(f"{int((~keep).sum())} candidate maxima were Kα2 lines of stronger peaks")
        centers, heights, fwhms = centers[keep], heights[keep], fwhms[keep]
    data = (x, y - background, sigma)
    guess = _guess(centers, heights, fwhms, ka2, max_fwhm)
    fitted = np.vstack([fit_group(data, guess, members, ratio, ka2, min_snr, step, max_fwhm)
                        for members in candidate_groups(guess.lo, guess.hi)])
    return _with_hidden(data, net, fitted, bg, sigma_bg, ratio, ka2, min_snr, step,
                        scale), humps, notes


def _with_hidden(data, net, fitted: np.ndarray, bg: Background, sigma_bg, ratio, ka2, min_snr,
                 step, scale: float) -> np.ndarray:
    """The fitted profiles plus those of the peaks hidden on the flanks of others
    (``_xrd_hidden``): ``data`` is 2θ (deg), background-free counts and their σ, ``net`` the
    smoothed background-free counts, each shape (n,)."""
    x, counts, sigma = data
    model = fitted_model(x, fitted, ratio, ka2)
    rest = net - model
    level = _level(x, rest, bg, step)
    broad_min = BROAD_MIN_FWHM_DEG * scale

    def maxima(signal: np.ndarray):
        return _candidates(x, signal, level, sigma, sigma_bg, bg.widened, min_snr,
                           ka2 is not None, broad_min)

    hidden = hidden_candidates(x, rest, _candidate_signal(rest, bg, step), maxima,
                               (sigma_bg, min_snr), step, broad_min, fitted, ka2)
    if hidden[0].size == 0:
        return fitted
    return add_hidden((x, counts - model, sigma), fitted, hidden, ratio, ka2, min_snr, step,
                      MAX_FWHM_DEG * scale, WINDOW_FWHM)


def _guess(centers, heights, fwhms, ka2, max_fwhm: float) -> Candidates:
    """Candidates (centres deg, heights, FWHM deg; shape (m,) each) with their fit windows:
    ±WINDOW_FWHM (humps ±HUMP_WINDOW_FWHM) around the Kα1 and, with a doublet beam, the Kα2
    position."""
    right = ka2_two_theta(centers, *ka2) if ka2 else centers
    right = np.where(np.isfinite(right), right, centers)
    reach = np.where(fwhms > max_fwhm, HUMP_WINDOW_FWHM, WINDOW_FWHM) * fwhms
    return Candidates(centers, heights, fwhms, centers - reach, right + reach)


def _under_broad_peaks(centers, fwhms, wide,
                       broad_min: float = BROAD_MIN_FWHM_DEG) -> np.ndarray:
    """Mask of the humps (``wide``) whose fit window holds a broad candidate (FWHM at least
    ``broad_min``, degrees): they are fitted as the background of those peaks. Under narrow
    peaks alone, each group's linear background follows the hump well enough."""
    broad = centers[~wide & (fwhms >= broad_min)]
    return wide & np.array([np.any(np.abs(broad - c) < HUMP_WINDOW_FWHM * w)
                            for c, w in zip(centers, fwhms)], dtype=bool)


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
    """Drop the weaker of two profiles closer than MERGE_FWHM × FWHM (one peak fitted twice):
    the wider FWHM, the narrower one for FWHMs differing by SHOULDER_WIDTH_RATIO (a broad
    reflection under a sharp one, see ``_xrd_profile``)."""
    rows = fitted.tolist()
    kept: list[int] = []
    for i in np.argsort(-fitted[:, 1]).tolist():
        c, w = rows[i][0], rows[i][2]
        if all(abs(c - rows[j][0]) >= MERGE_FWHM * _merge_width(w, rows[j][2]) for j in kept):
            kept.append(i)
    return fitted[np.sort(kept)]


def _merge_width(a: float, b: float) -> float:
    """The FWHM (degrees) that sets how close two profiles of FWHM a and b may be."""
    wide, narrow = max(a, b), min(a, b)
    return narrow if wide >= SHOULDER_WIDTH_RATIO * narrow else wide


def _peak(row: np.ndarray, lam: float) -> Peak:
    c, h, w, eta = (float(v) for v in row)
    eta = min(max(eta, 0.0), 1.0)
    area = h * w * (eta * PV_LORENTZ_AREA + (1.0 - eta) * PV_GAUSS_AREA)
    d = lam / (2.0 * math.sin(math.radians(c) / 2.0))
    return Peak(two_theta=c, d_spacing=d, height=h, fwhm=w, area=area, eta=eta)
