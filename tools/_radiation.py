"""X-ray tube emission lines and Bragg's law.

Wavelengths (Å) of the Kα lines of the usual laboratory anodes:

* Cu Kα1 1.5405929, Kα2 1.544390 Å: G. Hölzer, M. Fritsch, M. Deutsch, J. Härtwig,
  E. Förster, "Kα1,2 and Kβ1,3 x-ray emission lines of the 3d transition metals",
  Phys. Rev. A 56, 4554 (1997) (peak positions of the fitted line profiles). The same values
  are the defaults of xrayutilities and of pymatgen's ``WAVELENGTHS``.
* Co Kα1 1.788996, Kα2 1.792850 Å: Hölzer et al. (1997), as above.
* Mo Kα1 0.709300, Kα2 0.713590 Å: International Tables for Crystallography Vol. C,
  Table 4.2.2.1 (Kα1 0.709300, Kα2 0.713590 Å), also pymatgen's ``WAVELENGTHS``.

The Kα2/Kα1 intensity ratio is 0.5 to first order (the 2p3/2 : 2p1/2 occupancy ratio 2 : 1);
measured tube spectra give 0.46-0.52, so 0.5 is the conventional value used by Rietveld
programs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from csmbench.errors import ToolError

__all__ = ["EMISSIONS", "Emission", "Radiation", "bragg_two_theta", "d_spacing", "emission",
           "ka2_two_theta"]

Radiation = Literal["CuKa1", "CuKa12", "CoKa1", "CoKa12", "MoKa1", "MoKa12"]

KA2_TO_KA1_RATIO = 0.5
"""Conventional I(Kα2)/I(Kα1) intensity ratio (2p3/2 : 2p1/2 = 2 : 1)."""

CU_KA1, CU_KA2 = 1.5405929, 1.544390
CO_KA1, CO_KA2 = 1.788996, 1.792850
MO_KA1, MO_KA2 = 0.709300, 0.713590


@dataclass(frozen=True)
class Emission:
    """One tube emission as seen by a diffractometer.

    Attributes:
        ka1_angstrom: Kα1 wavelength, Å.
        ka2_angstrom: Kα2 wavelength, Å, or None for monochromatic (Kα1-only) radiation.
        ka2_ratio: Intensity ratio I(Kα2)/I(Kα1); 0 when there is no Kα2.
    """

    ka1_angstrom: float
    ka2_angstrom: float | None
    ka2_ratio: float

    @property
    def is_doublet(self) -> bool:
        """True when the beam carries both Kα1 and Kα2."""
        return self.ka2_angstrom is not None and self.ka2_ratio > 0.0


EMISSIONS: dict[Radiation, Emission] = {
    "CuKa1": Emission(CU_KA1, None, 0.0),
    "CuKa12": Emission(CU_KA1, CU_KA2, KA2_TO_KA1_RATIO),
    "CoKa1": Emission(CO_KA1, None, 0.0),
    "CoKa12": Emission(CO_KA1, CO_KA2, KA2_TO_KA1_RATIO),
    "MoKa1": Emission(MO_KA1, None, 0.0),
    "MoKa12": Emission(MO_KA1, MO_KA2, KA2_TO_KA1_RATIO),
}
RADIATIONS: tuple[str, ...] = get_args(Radiation)


def emission(radiation: str) -> Emission:
    """The emission lines of a named radiation.

    Args:
        radiation: One of ``RADIATIONS`` ("CuKa1", "CuKa12", ...); case-sensitive.

    Raises:
        ToolError: The name is not a known radiation.

    >>> emission("CuKa12").ka2_angstrom
    1.54439
    """
    if radiation not in EMISSIONS:
        hint = next((r for r in RADIATIONS if r.lower() == str(radiation).lower()), None)
        did_you_mean = f" Did you mean '{hint}'?" if hint else ""
        raise ToolError(f"unknown radiation '{radiation}'; expected one of "
                        f"{', '.join(RADIATIONS)} (Ka12 = Kα1+Kα2 doublet).{did_you_mean}")
    return EMISSIONS[radiation]  # type: ignore[index]


def _check_wavelength(wavelength_angstrom: float) -> float:
    value = float(wavelength_angstrom)
    if not math.isfinite(value) or value <= 0.0:
        raise ToolError(f"wavelength must be a positive number of ångström (Cu Kα1 is "
                        f"1.5405929); got {wavelength_angstrom!r}")
    return value


def bragg_two_theta(d_angstrom: float, wavelength_angstrom: float) -> float:
    """Diffraction angle 2θ (degrees) of a lattice spacing, from λ = 2 d sin θ.

    Args:
        d_angstrom: Interplanar spacing, Å (> 0).
        wavelength_angstrom: Wavelength, Å (> 0).

    Returns:
        2θ in degrees, or NaN when λ/2d > 1 (the reflection is beyond 180°).

    Raises:
        ToolError: d or λ is not a positive finite number.

    >>> round(bragg_two_theta(3.1356, 1.5405929), 2)   # Si 111 with Cu Kα1
    28.44
    """
    wavelength = _check_wavelength(wavelength_angstrom)
    d = float(d_angstrom)
    if not math.isfinite(d) or d <= 0.0:
        raise ToolError(f"d-spacing must be a positive number of ångström; got {d_angstrom!r}")
    ratio = wavelength / (2.0 * d)
    return math.degrees(2.0 * math.asin(ratio)) if ratio <= 1.0 else math.nan


def d_spacing(two_theta_deg: float, wavelength_angstrom: float) -> float:
    """Interplanar spacing (Å) of a reflection at 2θ (degrees), from λ = 2 d sin θ.

    Raises:
        ToolError: 2θ is outside (0, 180) degrees or λ is not positive.

    >>> round(d_spacing(28.4419, 1.5405929), 4)   # Si 111
    3.1356
    """
    wavelength = _check_wavelength(wavelength_angstrom)
    two_theta = float(two_theta_deg)
    if not 0.0 < two_theta < 180.0:
        raise ToolError(f"2θ must lie in (0, 180) degrees; got {two_theta_deg!r}")
    return wavelength / (2.0 * math.sin(math.radians(two_theta) / 2.0))


def ka2_two_theta(two_theta_ka1_deg, ka1_angstrom: float, ka2_angstrom: float):
    """Kα2 position(s) of reflections at Kα1 position(s) 2θ1: 2θ2 = 2 asin(λ2/λ1 · sin θ1).

    Args:
        two_theta_ka1_deg: Kα1 2θ in degrees, a float or an array of any shape.
        ka1_angstrom: Kα1 wavelength, Å.
        ka2_angstrom: Kα2 wavelength, Å.

    Returns:
        Kα2 2θ in degrees, same shape; NaN where the Kα2 line would be beyond 180°.
    """
    sin_theta = (ka2_angstrom / ka1_angstrom) * np.sin(np.radians(two_theta_ka1_deg) / 2.0)
    with np.errstate(invalid="ignore"):
        return np.degrees(2.0 * np.arcsin(np.where(sin_theta <= 1.0, sin_theta, np.nan)))
