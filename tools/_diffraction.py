"""Registry tools for powder diffraction (thin wrappers over ``_xrd_peaks``, ``_xrd_lattice``
and ``_xrd_broadening``).

Inside an episode ``find_peaks`` reads the pattern attachment by id, with the radiation from
the attachment's metadata unless one is given; the other tools take numbers an agent has
(peak positions and widths).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from csmbench.errors import ToolError

from ._context import ToolContext
from ._radiation import CU_KA1, Radiation
from ._registry import AttachmentId, tool
from ._xrd_broadening import WHForm, WilliamsonHall, scherrer_size
from ._xrd_broadening import williamson_hall as williamson_hall_fit
from ._xrd_lattice import Centring, CrystalSystem, LatticeFit, fit_lattice
from ._xrd_peaks import PeakList, find_peaks, read_xy

__all__ = ["CrystalliteSize", "find_peaks_tool", "fit_lattice_tool", "scherrer_size_tool",
           "williamson_hall_tool"]


@tool(name="find_peaks")
def find_peaks_tool(context: ToolContext, pattern: AttachmentId,
                    radiation: Radiation | None = None,
                    min_relative_height: float = 0.01) -> PeakList:
    """Find the peaks of a powder diffraction pattern: background removed, pseudo-Voigt fits.

    With a doublet radiation (CuKa12, CoKa12, MoKa12) each reflection is fitted as a
    Kα1+Kα2 pair and reported once, at its Kα1 position. Each peak gives two_theta (deg),
    d_spacing (Å), height (counts above background), fwhm (deg) and area.

    Args:
        pattern: Attachment id of the pattern (two-column 2θ / intensity file), e.g. "xrd0".
        radiation: CuKa1, CuKa12, CoKa1, CoKa12, MoKa1 or MoKa12; default: the attachment's.
        min_relative_height: Smallest peak reported, as a fraction of the strongest (0-1).
    """
    two_theta, intensity = read_xy(context.path(pattern))
    chosen = radiation or context.asset(pattern).meta.get("radiation", "CuKa1")
    return find_peaks(two_theta, intensity, radiation=chosen,
                      min_relative_height=min_relative_height)


@tool(name="fit_lattice")
def fit_lattice_tool(peaks_two_theta: list[float], crystal_system: CrystalSystem,
                     wavelength: float = CU_KA1,
                     hkl: list[tuple[int, int, int]] | None = None,
                     centring: Centring | None = None) -> LatticeFit:
    """Refine lattice parameters (with uncertainties) from peak positions by least squares.

    Indexes the peaks when hkl is not given (cubic, tetragonal, hexagonal) and refines a
    zero shift. Lengths in Å.

    Args:
        peaks_two_theta: Peak positions in degrees 2θ (Kα1), e.g. from find_peaks.
        crystal_system: cubic, tetragonal, hexagonal or orthorhombic (needs hkl).
        wavelength: Kα1 wavelength in Å (Cu 1.5405929, Co 1.788996, Mo 0.7093).
        hkl: Miller indices of the peaks, in the same order, if known.
        centring: Lattice centring if known: P, I or F (the first letter of the space
            group, e.g. F for Fm-3m); indexing then uses only the reflections it allows.
    """
    return fit_lattice(peaks_two_theta, crystal_system, wavelength=wavelength, hkl=hkl,
                       centring=centring)


class CrystalliteSize(BaseModel):
    """A Scherrer crystallite size in nm and what it was computed from."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    size_nm: float
    two_theta_deg: float
    fwhm_deg: float
    instrument_fwhm_deg: float
    K: float
    wavelength: float


@tool(name="scherrer_size")
def scherrer_size_tool(two_theta_deg: float, fwhm_deg: float, instrument_fwhm_deg: float = 0.0,
                       K: float = 0.9, wavelength: float = CU_KA1,
                       correction: Literal["quadratic", "linear"] = "quadratic"
                       ) -> CrystalliteSize:
    """Crystallite size from one peak by the Scherrer equation, D = Kλ / (β cos θ), in nm.

    β is the peak's FWHM less the instrument's: sqrt(fwhm² - instrument²) ("quadratic",
    Gaussian-like profiles) or fwhm - instrument ("linear", Lorentzian-like).

    Args:
        two_theta_deg: Peak position, degrees 2θ.
        fwhm_deg: Peak full width at half maximum, degrees 2θ.
        instrument_fwhm_deg: Instrumental FWHM at that angle, degrees (e.g. from a standard).
        K: Scherrer constant (0.9 for spherical crystallites and FWHM).
        wavelength: Wavelength in Å.
        correction: How the instrumental width is removed: quadratic or linear.
    """
    size = scherrer_size(two_theta_deg, fwhm_deg, instrument_fwhm_deg=instrument_fwhm_deg, K=K,
                         wavelength=wavelength, correction=correction)
    return CrystalliteSize(size_nm=size, two_theta_deg=two_theta_deg, fwhm_deg=fwhm_deg,
                           instrument_fwhm_deg=instrument_fwhm_deg, K=K, wavelength=wavelength)


@tool(name="williamson_hall")
def williamson_hall_tool(two_theta_deg: list[float], fwhm_deg: list[float],
                         instrument_fwhm_deg: float | list[float] = 0.0, K: float = 0.9,
                         wavelength: float = CU_KA1, form: WHForm = "linear",
                         reject_outliers: bool = False) -> WilliamsonHall:
    """Crystallite size (nm) and microstrain from several peaks by a Williamson-Hall fit.

    "linear" fits β cosθ = Kλ/D + 4ε sinθ (Lorentzian broadening, widths add);
    "quadratic" fits (β cosθ)² = (Kλ/D)² + (4ε sinθ)² (Gaussian broadening, widths add in
    quadrature). β² = FWHM² − instrument², in radians.

    Args:
        two_theta_deg: Peak positions, degrees 2θ.
        fwhm_deg: Their FWHM, degrees 2θ, same order.
        instrument_fwhm_deg: Instrumental FWHM, degrees: one value, or one per peak.
        K: Scherrer constant.
        wavelength: Wavelength in Å.
        form: "linear" or "quadratic" (see above).
        reject_outliers: Leave out peaks far off the line (3 robust σ; at least 4 kept), such
            as unresolved overlaps; the notes name them.
    """
    if len(two_theta_deg) != len(fwhm_deg):
        raise ToolError(f"two_theta_deg has {len(two_theta_deg)} values but fwhm_deg has "
                        f"{len(fwhm_deg)}; give one FWHM per peak, in the same order")
    return williamson_hall_fit(list(zip(two_theta_deg, fwhm_deg, strict=True)),
                               instrument_fwhm_deg=instrument_fwhm_deg, K=K,
                               wavelength=wavelength, form=form,
                               reject_outliers=reject_outliers)
