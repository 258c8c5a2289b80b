"""Crystallite size and microstrain from diffraction line widths.

* :func:`scherrer_size`: D = Kλ / (β cos θ) from one peak.
* :func:`williamson_hall`: D and ε from several peaks, in one of two forms:

  - ``"linear"``: β cos θ = Kλ/D + 4ε sin θ (size and strain breadths add, as for
    Lorentzian profiles);
  - ``"quadratic"``: (β cos θ)² = (Kλ/D)² + (4ε sin θ)² (they add in quadrature, as for
    Gaussian profiles; this is how the pattern generator combines them).

β is the sample breadth in radians of 2θ: the measured FWHM less the instrumental FWHM
(``correction="quadratic"``: β² = FWHM² - instrument², or ``"linear"``: β = FWHM - instrument).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from csmbench.errors import ToolError

from ._radiation import CU_KA1
from ._xrd_peaks import Peak, PeakList

__all__ = ["Correction", "WHForm", "WilliamsonHall", "scherrer_size", "williamson_hall"]

Correction = Literal["quadratic", "linear"]
"""How the instrumental FWHM is removed from a measured FWHM."""
WHForm = Literal["linear", "quadratic"]
"""How size and strain breadths combine in a Williamson-Hall fit."""
CORRECTIONS: tuple[str, ...] = ("quadratic", "linear")
WH_FORMS: tuple[str, ...] = ("linear", "quadratic")
ANGSTROM_PER_NM = 10.0
SCHERRER_K = 0.9
"""Scherrer constant for the FWHM of spherical crystallites."""

WidthsLike = PeakList | Sequence[Peak] | Sequence[tuple[float, float]]


class WilliamsonHall(BaseModel):
    """Crystallite size and microstrain from a Williamson-Hall fit over several peaks.

    Attributes:
        size_nm: Crystallite size D, nm (from the intercept).
        strain: Microstrain ε, dimensionless (from the slope).
        size_err: Standard error of D from the fit covariance, nm (NaN with 2 peaks).
        strain_err: Standard error of ε, dimensionless (NaN with 2 peaks).
        r_squared: Coefficient of determination of the straight line in the fitted axes
            (β cos θ against 4 sin θ, or their squares for the quadratic form).
        n_peaks: Number of peaks in the fit.
        form: "linear" or "quadratic" (see :func:`williamson_hall`).
        notes: Caveats about the result.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    size_nm: float
    strain: float
    size_err: float
    strain_err: float
    r_squared: float
    n_peaks: int
    form: WHForm = "linear"
    notes: list[str] = Field(default_factory=list)


# --- input checks ----------------------------------------------------------------------------
def _check_choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ToolError(f"unknown {name} {value!r}; expected one of "
                        f"{', '.join(repr(a) for a in allowed)}")


def _check_constants(K: float, wavelength: float) -> None:
    """K and the wavelength (Å) must be positive and finite."""
    if not (math.isfinite(K) and K > 0):
        raise ToolError(f"K must be a positive Scherrer constant; got {K!r} (use 0.9 for the "
                        "FWHM of spherical crystallites)")
    if not (math.isfinite(wavelength) and wavelength > 0):
        raise ToolError(f"wavelength must be a positive number of Å; got {wavelength!r} "
                        f"(Cu Kα1 is {CU_KA1} Å)")


def _check_two_theta(two_theta_deg: np.ndarray) -> None:
    """Peak positions must be finite and inside (0, 180) degrees 2θ."""
    bad = ~(np.isfinite(two_theta_deg) & (two_theta_deg > 0) & (two_theta_deg < 180))
    if bad.any():
        raise ToolError(f"peak positions must be finite 2θ values in (0, 180) degrees; got "
                        f"{two_theta_deg[bad].tolist()}; give positions in degrees 2θ (not "
                        "radians or d-spacings) and leave out undefined peaks")


def _peak_labels(two_theta_deg: np.ndarray, fwhm_deg: np.ndarray, mask: np.ndarray) -> str:
    return ", ".join(f"{w:g}° at 2θ = {t:g}°" for t, w in zip(two_theta_deg[mask],
                                                               fwhm_deg[mask], strict=True))


def _sample_breadth_rad(two_theta_deg: np.ndarray, fwhm_deg: np.ndarray,
                        instrument_fwhm_deg: float | Sequence[float],
                        correction: Correction) -> np.ndarray:
    """Sample breadth β of each peak, radians of 2θ, after removing the instrumental FWHM.

    Args:
        two_theta_deg: Peak positions, degrees 2θ, shape (n,) (only named in errors).
        fwhm_deg: Measured FWHM, degrees 2θ, shape (n,).
        instrument_fwhm_deg: Instrumental FWHM, degrees 2θ (0: nothing removed): one
            value for all peaks or one per peak.
        correction: "quadratic" (β² = FWHM² - instr²) or "linear" (β = FWHM - instr).
    """
    _check_choice("correction", correction, CORRECTIONS)
    try:
        instrument = np.asarray(instrument_fwhm_deg, dtype=float)
    except (TypeError, ValueError):
        instrument = np.asarray(np.nan)
    if instrument.ndim > 1 or (instrument.ndim == 1 and instrument.shape != fwhm_deg.shape):
        raise ToolError(f"instrument_fwhm_deg must be one width or one per peak ({fwhm_deg.size}); "
                        f"got {instrument_fwhm_deg!r:.80}")
    if not (np.isfinite(instrument).all() and (instrument >= 0).all()):
        raise ToolError(f"instrument_fwhm_deg must be a finite width >= 0 degrees 2θ; got "
                        f"{instrument_fwhm_deg!r:.80} (use 0 to remove no instrumental width)")
    instrument_fwhm_deg = np.broadcast_to(instrument, fwhm_deg.shape)
    bad = ~(np.isfinite(fwhm_deg) & (fwhm_deg > 0))
    if bad.any():
        raise ToolError(f"FWHM must be a positive, finite width in degrees 2θ; got "
                        f"{_peak_labels(two_theta_deg, fwhm_deg, bad)}; give each peak's full "
                        "width at half maximum (e.g. the fwhm from find_peaks)")
    narrow = fwhm_deg <= instrument_fwhm_deg
    if narrow.any():
        widths = ", ".join(f"{w:g}°" for w in np.unique(instrument_fwhm_deg[narrow]))
        raise ToolError(f"FWHM {_peak_labels(two_theta_deg, fwhm_deg, narrow)} is not wider "
                        f"than the instrumental FWHM {widths}: no size "
                        "broadening to measure (the crystallites are too large for Scherrer, "
                        "or the instrumental width is wrong); leave such peaks out or check "
                        "instrument_fwhm_deg")
    if correction == "quadratic":
        return np.radians(np.sqrt(fwhm_deg**2 - instrument_fwhm_deg**2))
    return np.radians(fwhm_deg - instrument_fwhm_deg)


# --- Scherrer --------------------------------------------------------------------------------
def scherrer_size(two_theta_deg: float, fwhm_deg: float, *, instrument_fwhm_deg: float = 0.0,
                  K: float = SCHERRER_K, wavelength: float = CU_KA1,
                  correction: Correction = "quadratic") -> float:
    """Crystallite size from one peak, D = Kλ / (β cos θ), in nm.

    Args:
        two_theta_deg: Peak position, degrees 2θ.
        fwhm_deg: Measured FWHM, degrees 2θ.
        instrument_fwhm_deg: Instrumental FWHM at that angle, degrees 2θ (0: none removed).
        K: Scherrer constant (0.9 for FWHM of spherical crystallites; 0.94 cubes).
        wavelength: Wavelength, Å.
        correction: "quadratic", β² = FWHM² - instr² (Gaussian-like profiles), or
            "linear", β = FWHM - instr (Lorentzian).

    Returns:
        Volume-weighted column length D, nm.

    Raises:
        ToolError: 2θ outside (0, 180)°, a FWHM that is not positive or not wider than the
            instrument's, or a non-positive K or wavelength.

    >>> round(scherrer_size(28.44, 0.2, instrument_fwhm_deg=0.05), 2)
    42.32
    """
    _check_constants(K, wavelength)
    position, width = np.array([two_theta_deg], float), np.array([fwhm_deg], float)
    _check_two_theta(position)
    beta = float(_sample_breadth_rad(position, width, instrument_fwhm_deg, correction)[0])
    theta = math.radians(two_theta_deg) / 2.0
    return K * wavelength / (beta * math.cos(theta)) / ANGSTROM_PER_NM


# --- Williamson-Hall -------------------------------------------------------------------------
def _positions_and_widths(peaks: WidthsLike) -> tuple[np.ndarray, np.ndarray]:
    """2θ and FWHM (degrees), shape (n,) each, from peaks or (2θ, FWHM) pairs."""
    hint = "peaks must be a PeakList, a list of Peak, or (2θ, FWHM) pairs in degrees"
    if isinstance(peaks, PeakList):
        peaks = peaks.peaks
    try:
        pairs = [(p.two_theta, p.fwhm) if isinstance(p, Peak) else tuple(p) for p in peaks]
        arr = np.asarray(pairs, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ToolError(f"{hint}; got {peaks!r}") from exc
    if not pairs:
        return np.empty(0), np.empty(0)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ToolError(f"{hint}; got {peaks!r}")
    return arr[:, 0], arr[:, 1]


def _check_wh_angles(two_theta_deg: np.ndarray) -> None:
    """At least two peaks, at valid and different angles."""
    n = two_theta_deg.size
    if n < 2:
        raise ToolError(f"Williamson-Hall needs at least 2 peaks at different angles; got {n}; "
                        "give the (2θ, FWHM) of two or more reflections, or use scherrer_size "
                        "for a single peak")
    _check_two_theta(two_theta_deg)
    if np.unique(two_theta_deg).size < 2:
        raise ToolError(f"Williamson-Hall needs at least 2 peaks at different angles; all {n} "
                        f"are at 2θ = {two_theta_deg[0]:g}°, so size (intercept) and strain "
                        "(slope) cannot be separated; give peaks of different reflections, or "
                        "use scherrer_size")


def _fit_line(xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares line ys = c0·xs + c1: (c0, c1) and their covariance (NaN with 2 points)."""
    design = np.column_stack([xs, np.ones_like(xs)])
    coef, *_ = np.linalg.lstsq(design, ys, rcond=None)
    dof = xs.size - 2
    if dof <= 0:
        return coef, np.full((2, 2), math.nan)
    s2 = float(np.sum((ys - design @ coef) ** 2)) / dof
    return coef, s2 * np.linalg.inv(design.T @ design)


def _r_squared(xs: np.ndarray, ys: np.ndarray, slope: float, intercept: float) -> float:
    ss_tot = float(np.sum((ys - ys.mean()) ** 2))
    fitted = intercept + slope * xs
    return 1.0 - float(np.sum((ys - fitted) ** 2)) / ss_tot if ss_tot > 0 else 1.0


def _size_and_strain(form: WHForm, slope: float, intercept: float, cov: np.ndarray,
                     K: float, wavelength: float) -> tuple[dict[str, float], list[str]]:
    """D (nm), ε and their standard errors from the line's slope and intercept."""
    if form == "linear":  # intercept Kλ/D, slope ε
        size = K * wavelength / intercept / ANGSTROM_PER_NM
        return {"size_nm": size, "size_err": size * math.sqrt(cov[1, 1]) / intercept,
                "strain": slope, "strain_err": math.sqrt(cov[0, 0])}, []
    # quadratic: intercept (Kλ/D)², slope ε²
    size = K * wavelength / math.sqrt(intercept) / ANGSTROM_PER_NM
    values = {"size_nm": size, "size_err": size * math.sqrt(cov[1, 1]) / (2.0 * intercept)}
    if slope > 0:
        strain = math.sqrt(slope)
        return values | {"strain": strain, "strain_err": math.sqrt(cov[0, 0]) / (2 * strain)}, []
    note = (f"fitted ε² = {slope:.3g} <= 0: no strain broadening resolved; strain set to 0 "
            "and strain_err is the one-sigma bound sqrt(σ(ε²))")
    return values | {"strain": 0.0, "strain_err": math.sqrt(math.sqrt(cov[0, 0]))}, [note]


def williamson_hall(peaks: WidthsLike, *, instrument_fwhm_deg: float | Sequence[float] = 0.0,
                    K: float = SCHERRER_K, wavelength: float = CU_KA1,
                    correction: Correction = "quadratic",
                    form: WHForm = "linear", reject_outliers: bool = False) -> WilliamsonHall:
    """Williamson-Hall analysis: crystallite size and microstrain from several peaks.

    With β the sample breadth (radians of 2θ) and θ half the peak position:

    * ``form="linear"`` fits β cos θ = Kλ/D + ε · (4 sin θ): size and strain breadths add
      (Lorentzian profiles); slope ε, intercept Kλ/D.
    * ``form="quadratic"`` fits (β cos θ)² = (Kλ/D)² + ε² · (4 sin θ)²: they add in
      quadrature (Gaussian profiles, and the pattern generator's
      FWHM² = instr² + (Kλ/(D cos θ))² + (4ε tan θ)²); slope ε², intercept (Kλ/D)².

    Args:
        peaks: PeakList, list of Peak, or (2θ, FWHM) pairs in degrees; at least 2, at
            different angles.
        instrument_fwhm_deg: Instrumental FWHM removed from each peak, degrees 2θ: one value
            or one per peak (the instrument's width grows with angle).
        K: Scherrer constant.
        wavelength: Wavelength, Å.
        correction: Instrument correction, as in :func:`scherrer_size`.
        form: "linear" or "quadratic", as above.
        reject_outliers: Drop peaks whose point lies more than 3 robust σ off the line (one
            at a time, keeping at least 4), e.g. unresolved overlaps; they are named in notes.

    Returns:
        WilliamsonHall with D (nm), ε and their standard errors.

    Raises:
        ToolError: Fewer than two peaks or all at one angle, a bad 2θ or FWHM, a peak no
            wider than the instrument, or a non-positive intercept (no size broadening
            resolved).
    """
    _check_choice("form", form, WH_FORMS)
    _check_constants(K, wavelength)
    two_theta, fwhm = _positions_and_widths(peaks)
    _check_wh_angles(two_theta)
    beta = _sample_breadth_rad(two_theta, fwhm, instrument_fwhm_deg, correction)
    theta = np.radians(two_theta) / 2.0
    xs, ys = 4.0 * np.sin(theta), beta * np.cos(theta)
    if form == "quadratic":
        xs, ys = xs**2, ys**2
    keep = _inliers(xs, ys) if reject_outliers else np.ones(xs.size, dtype=bool)
    (slope, intercept), cov = _fit_line(xs[keep], ys[keep])
    if intercept <= 0:
        raise ToolError(f"Williamson-Hall intercept is {intercept:.3g} <= 0 ({form} form): the "
                        "broadening is all strain (or the widths are too noisy) and no size can "
                        "be given; use more peaks, or Scherrer on a low-angle peak")
    values, notes = _size_and_strain(form, float(slope), float(intercept), cov, K, wavelength)
    if not keep.all():
        notes.append("left out as outliers (overlapped or misfitted peaks?): 2θ = "
                     + ", ".join(f"{t:.3f}°" for t in two_theta[~keep]))
    return WilliamsonHall(**values, r_squared=_r_squared(xs[keep], ys[keep], slope, intercept),
                          n_peaks=int(keep.sum()), form=form, notes=notes)


OUTLIER_SIGMAS = 3.0
"""A point whose residual exceeds this many robust standard deviations is an outlier."""
MIN_INLIERS = 4
SIGMA_FLOOR = 0.02
"""The robust σ is at least this fraction of the median ordinate (widths are not exact)."""


def _inliers(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Mask of the points kept after dropping, one at a time, the worst residual beyond
    ``OUTLIER_SIGMAS`` robust σ (1.4826 × median absolute deviation, at least ``SIGMA_FLOOR``
    of the median ordinate), down to ``MIN_INLIERS``."""
    keep = np.ones(xs.size, dtype=bool)
    while keep.sum() > MIN_INLIERS:
        (slope, intercept), _ = _fit_line(xs[keep], ys[keep])
        residual = np.where(keep, ys - (slope * xs + intercept), 0.0)
        mad = float(np.median(np.abs(residual[keep] - np.median(residual[keep]))))
        sigma = max(1.4826 * mad, SIGMA_FLOOR * float(np.median(np.abs(ys[keep]))))
        worst = int(np.argmax(np.abs(residual)))
        if abs(residual[worst]) <= OUTLIER_SIGMAS * sigma:
            break
        keep[worst] = False
    return keep
