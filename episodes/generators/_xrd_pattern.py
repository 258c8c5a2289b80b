"""Powder X-ray diffraction patterns of real crystal structures, with exact ground truth.

The model (every choice is a field of :class:`PatternSpec`):

* Stick patterns come from pymatgen's ``XRDCalculator`` at the Kα1 wavelength on each
  phase's conventional cell (from the crystal database's CIF), with absolute intensities
  (``scaled=False``: |F|² × multiplicity × Lorentz-polarisation, in electrons² per cell).
* Phase weighting (RIR-free): the integrated intensity of a reflection of phase i in a
  mixture is ``I ∝ (w_i / ρ_i) / V_i² × |F|² m LP`` (volume fraction over cell volume
  squared; the mixture's absorption coefficient is common to all phases and cancels).
* Kα2 (doublet radiations): every reflection again at its Kα2 angle with intensity ratio
  ``KA2_TO_KA1_RATIO`` (0.5).
* Profiles: area-normalised pseudo-Voigt with one Lorentzian fraction ``eta``; FWHM per
  reflection ``sqrt(H_inst² + H_size² + H_strain²)`` with Caglioti ``H_inst² = U tan²θ +
  V tanθ + W`` (deg²), Scherrer ``H_size = K λ / (D cos θ)`` (K = 0.9) and Stokes-Wilson
  ``H_strain = 4 ε tan θ`` (radians, converted to degrees).
* Preferred orientation: March-Dollase ``P = <(r² cos²α + sin²α / r)^(-3/2)>`` averaged
  over the symmetry-equivalent planes, α the angle to the preferred axis.
* Peak shifts: ``Δ2θ = zero_shift - 2 s cos θ / R`` (specimen displacement s, radius R).
* Background: polynomial in ``t = (2θ - 2θ_min) / (2θ_max - 2θ_min)`` in counts, plus an
  optional Gaussian amorphous hump; the strongest point of the peak signal equals
  ``max_counts``; counts are Poisson draws from the seeded generator.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal, get_args

import numpy as np
from pymatgen.analysis.diffraction.xrd import XRDCalculator
from pymatgen.core import Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from csmbench.errors import ToolError
from csmbench.tools._crystal_db import CrystalRecord, load_records, open_database
from csmbench.tools._radiation import EMISSIONS

__all__ = ["PatternSpec", "Radiation", "SimulatedPattern", "background_counts", "bragg_two_theta",
           "peak_height", "plot_pattern", "random_spec", "simulate_pattern", "stick_pattern",
           "write_xy"]

Radiation = Literal["CuKa1", "CuKa12", "CoKa1", "CoKa12", "MoKa1", "MoKa12"]
SCHERRER_K = 0.9
"""Scherrer shape constant for the FWHM of spherical crystallites."""
MIN_FWHM_DEG = 0.005
"""Floor of the instrumental FWHM, degrees (guards against a negative Caglioti sum)."""
STICK_MARGIN_DEG = 3.0
"""Reflections this far outside the scan still contribute their tails, degrees 2θ."""
MIN_STICK_FRACTION = 1e-4
"""Reflections weaker than this fraction of a phase's strongest one are left out."""
CHUNK_REFLECTIONS = 256
"""Reflections evaluated per block of the dense profile sum (bounds the memory)."""
RADIATIONS: tuple[str, ...] = get_args(Radiation)


@dataclass(frozen=True)
class PatternSpec:
    """Every choice behind one simulated powder pattern.

    Attributes:
        phases: Crystal database record ids.
        weight_fractions: Mass fraction of each phase (sums to 1).
        radiation: Tube line(s); "Ka12" adds Kα2 at half the Kα1 intensity.
        two_theta_min: First point of the scan, degrees 2θ.
        two_theta_max: Last point of the scan, degrees 2θ.
        step_deg: Step of the scan, degrees.
        crystallite_nm: Volume-weighted crystallite size of each phase, nm.
        microstrain: Microstrain ε of each phase (dimensionless).
        caglioti_uvw: Instrument FWHM² = U tan²θ + V tanθ + W, deg².
        eta: Pseudo-Voigt Lorentzian fraction, 0..1.
        zero_shift_deg: Goniometer zero error added to every 2θ, degrees.
        displacement_um: Specimen displacement s (positive: above the focusing circle), µm.
        goniometer_radius_mm: Goniometer radius R, mm.
        background: Polynomial coefficients (counts) in t = (2θ - min) / (max - min).
        amorphous_hump: (center_deg, fwhm_deg, height_counts) of a Gaussian, or None.
        max_counts: Height of the strongest point of the peak signal, counts.
        march_dollase: ((h, k, l) preferred axis, r) or None; r < 1 enhances the axis.
        lattice_scale: Factor on every lattice length of each phase (strain, solid
            solution, thermal expansion), or None for the database cells. Only the peak
            positions move; the intensities stay those of the database cell.
    """

    phases: tuple[str, ...]
    weight_fractions: tuple[float, ...]
    radiation: Radiation
    two_theta_min: float
    two_theta_max: float
    step_deg: float
    crystallite_nm: tuple[float, ...]
    microstrain: tuple[float, ...]
    caglioti_uvw: tuple[float, float, float]
    eta: float
    zero_shift_deg: float
    displacement_um: float
    goniometer_radius_mm: float
    background: tuple[float, ...]
    amorphous_hump: tuple[float, float, float] | None
    max_counts: float
    march_dollase: tuple[tuple[int, int, int], float] | None = None
    lattice_scale: tuple[float, ...] | None = None


@dataclass(frozen=True)
class SimulatedPattern:
    """A simulated scan and its truth.

    Attributes:
        two_theta: Scan angles, degrees, shape (N,).
        intensity: Counts (Poisson draws, as floats), shape (N,).
        spec: The choices that made it.
        reflections: One dict per Kα1 reflection in the scan: ``phase``, ``hkl``, ``d``
            (Å), ``two_theta_ideal`` and ``two_theta`` (shifted), ``two_theta_ka2`` (or
            None), ``intensity`` (integrated, counts·degree, Kα1 only), ``fwhm_deg``.
        expected: Noise-free mean counts, shape (N,).
    """

    two_theta: np.ndarray
    intensity: np.ndarray
    spec: PatternSpec
    reflections: list[dict]
    expected: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class Sticks:
    """Ideal reflections of one phase: 2θ (degrees), d (Å), absolute intensity, hkl."""

    two_theta: np.ndarray
    d: np.ndarray
    intensity: np.ndarray
    hkl: tuple[tuple[int, int, int], ...]


@lru_cache(maxsize=8)
def _records_by_id(path: Path) -> dict[str, CrystalRecord]:
    return {record.id: record for record in load_records(path)}


def _record(record_id: str, database: Path | None) -> CrystalRecord:
    records = _records_by_id(open_database(database))
    if record_id not in records:
        raise ToolError(f"no crystal record with id {record_id!r}; ids look like "
                        f"'curated:si' (see lookup_crystal)")
    return records[record_id]


@lru_cache(maxsize=256)
def structure_from_cif(cif: str) -> Structure:
    """The structure of a database CIF (cached; pymatgen's rounding notices silenced)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Issues encountered while parsing CIF")
        return Structure.from_str(cif, fmt="cif")


@lru_cache(maxsize=512)
def _sticks(cif: str, wavelength: float, two_theta_max: float) -> Sticks:
    calc = XRDCalculator(wavelength=wavelength)
    pattern = calc.get_pattern(structure_from_cif(cif), scaled=False, two_theta_range=(0, two_theta_max))
    y = np.asarray(pattern.y, dtype=float)
    keep = y >= MIN_STICK_FRACTION * y.max()
    hkl = tuple(tuple(int(v) for v in (h[0]["hkl"][:2] + h[0]["hkl"][-1:]))
                for h, k in zip(pattern.hkls, keep, strict=True) if k)
    return Sticks(np.asarray(pattern.x, dtype=float)[keep],
                  np.asarray(pattern.d_hkls, dtype=float)[keep], y[keep], hkl)


def stick_pattern(record_id: str, wavelength: float, two_theta_max: float = 150.0,
                  database: Path | None = None) -> Sticks:
    """Ideal stick pattern of a database record up to ``two_theta_max`` (cached).

    Args:
        record_id: Crystal database id, e.g. "curated:si".
        wavelength: Wavelength, Å.
        two_theta_max: Largest 2θ, degrees (rounded up to a whole degree for the cache).
        database: Database file (default: the user cache).
    """
    record = _record(record_id, database)
    return _sticks(record.cif, float(wavelength), float(min(179.0, math.ceil(two_theta_max))))


@lru_cache(maxsize=256)
def _equivalent_normals(cif: str, hkl: tuple[int, int, int]) -> np.ndarray:
    """Unit Cartesian normals of the planes equivalent to hkl, shape (M, 3)."""
    structure = structure_from_cif(cif)
    ops = SpacegroupAnalyzer(structure).get_symmetry_operations(cartesian=False)
    family = {tuple(np.rint(np.asarray(hkl) @ op.rotation_matrix).astype(int)) for op in ops}
    vectors = np.array(sorted(family), dtype=float) @ structure.lattice.reciprocal_lattice.matrix
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def march_dollase(cif: str, hkls: tuple[tuple[int, int, int], ...],
                  axis: tuple[int, int, int], r: float) -> np.ndarray:
    """March-Dollase factors of reflections, averaged over equivalent planes, shape (K,)."""
    lattice = structure_from_cif(cif).lattice.reciprocal_lattice.matrix
    direction = np.asarray(axis, dtype=float) @ lattice
    direction /= np.linalg.norm(direction)
    factors = []
    for hkl in hkls:
        cos2 = (_equivalent_normals(cif, hkl) @ direction) ** 2
        factors.append(np.mean((r * r * cos2 + (1.0 - cos2) / r) ** -1.5))
    return np.asarray(factors)


def _validate(spec: PatternSpec) -> None:
    n = len(spec.phases)
    if n == 0:
        raise ToolError("a pattern needs at least one phase")
    for name in ("weight_fractions", "crystallite_nm", "microstrain"):
        if len(getattr(spec, name)) != n:
            raise ToolError(f"{name} must have one value per phase ({n}); got "
                            f"{len(getattr(spec, name))}")
    if spec.radiation not in EMISSIONS:
        raise ToolError(f"radiation must be one of {', '.join(RADIATIONS)}; got "
                        f"{spec.radiation!r}")
    if not 0 < spec.two_theta_min < spec.two_theta_max < 180 or spec.step_deg <= 0:
        raise ToolError(f"scan must satisfy 0 < min < max < 180 and step > 0; got "
                        f"{spec.two_theta_min}, {spec.two_theta_max}, {spec.step_deg}")
    if spec.lattice_scale is not None and (len(spec.lattice_scale) != n
                                           or not all(0.5 < s < 2 for s in spec.lattice_scale)):
        raise ToolError(f"lattice_scale must have one factor in (0.5, 2) per phase; got "
                        f"{spec.lattice_scale}")
    if min(spec.crystallite_nm) <= 0 or min(spec.weight_fractions) < 0:
        raise ToolError("crystallite sizes must be positive and weight fractions >= 0")


def fwhm_deg(two_theta_deg: np.ndarray, wavelength: float, crystallite_nm: float,
             microstrain: float, caglioti_uvw: tuple[float, float, float]) -> np.ndarray:
    """FWHM (degrees) of reflections at ideal 2θ (degrees): instrument, size and strain.

    >>> round(float(fwhm_deg(np.array([28.44]), 1.5405929, 50.0, 0.0, (0, 0, 0))[0]), 4)
    0.164
    """
    theta = np.radians(two_theta_deg) / 2.0
    u, v, w = caglioti_uvw
    instrument2 = np.maximum(u * np.tan(theta) ** 2 + v * np.tan(theta) + w, MIN_FWHM_DEG ** 2)
    size = np.degrees(SCHERRER_K * wavelength / (crystallite_nm * 10.0 * np.cos(theta)))
    strain = np.degrees(4.0 * microstrain * np.tan(theta))
    return np.sqrt(instrument2 + size ** 2 + strain ** 2)


def bragg_two_theta(d_angstrom: np.ndarray, wavelength: float) -> np.ndarray:
    """Bragg angle 2θ (degrees) of spacings d (Å); NaN where λ > 2d."""
    with np.errstate(invalid="ignore"):
        return np.degrees(2.0 * np.arcsin(wavelength / (2.0 * np.asarray(d_angstrom, dtype=float))))


def peak_height(area: np.ndarray, fwhm: np.ndarray, eta: float) -> np.ndarray:
    """Height of area-normalised pseudo-Voigt peaks of ``area`` (counts·deg), FWHM in degrees."""
    g_norm = 2.0 * math.sqrt(math.log(2.0) / math.pi)
    return np.asarray(area) * (eta * 2.0 / math.pi + (1.0 - eta) * g_norm) / np.asarray(fwhm)


def _shift(two_theta_deg: np.ndarray, spec: PatternSpec) -> np.ndarray:
    cos_theta = np.cos(np.radians(two_theta_deg) / 2.0)
    ratio = spec.displacement_um * 1e-3 / spec.goniometer_radius_mm
    return two_theta_deg + spec.zero_shift_deg - np.degrees(2.0 * ratio * cos_theta)


def _phase_reflections(spec: PatternSpec, index: int, database: Path | None) -> list[dict]:
    """Kα1 reflections of one phase with weighted integrated intensities (arbitrary units)."""
    record = _record(spec.phases[index], database)
    line = EMISSIONS[spec.radiation]
    sticks = _sticks(record.cif, line.ka1_angstrom,
                     float(min(179.0, math.ceil(spec.two_theta_max + STICK_MARGIN_DEG))))
    weight = spec.weight_fractions[index] / (record.density * record.volume ** 2)
    intensity = sticks.intensity * weight
    if spec.march_dollase is not None:
        axis, r = spec.march_dollase
        intensity = intensity * march_dollase(record.cif, sticks.hkl, tuple(axis), float(r))
    d = sticks.d * (1.0 if spec.lattice_scale is None else spec.lattice_scale[index])
    ideal = bragg_two_theta(d, line.ka1_angstrom)
    widths = fwhm_deg(ideal, line.ka1_angstrom, spec.crystallite_nm[index],
                      spec.microstrain[index], spec.caglioti_uvw)
    shifted = _shift(ideal, spec)
    ka2 = None if not line.is_doublet else _shift(bragg_two_theta(d, line.ka2_angstrom), spec)
    return [{"phase": record.id, "hkl": sticks.hkl[k], "d": float(d[k]),
             "two_theta_ideal": float(ideal[k]), "two_theta": float(shifted[k]),
             "two_theta_ka2": None if ka2 is None else float(ka2[k]),
             "intensity": float(intensity[k]), "fwhm_deg": float(widths[k])}
            for k in range(len(intensity))]


def _profile_sum(x: np.ndarray, centers: np.ndarray, areas: np.ndarray, widths: np.ndarray,
                 eta: float) -> np.ndarray:
    """Sum of area-normalised pseudo-Voigt peaks on x; all angles in degrees."""
    total = np.zeros_like(x)
    g_norm = 2.0 * math.sqrt(math.log(2.0) / math.pi)
    for start in range(0, len(centers), CHUNK_REFLECTIONS):
        c = centers[start:start + CHUNK_REFLECTIONS, None]
        h = widths[start:start + CHUNK_REFLECTIONS, None]
        a = areas[start:start + CHUNK_REFLECTIONS, None]
        z2 = ((x[None, :] - c) / h) ** 2
        lorentz = (2.0 / math.pi) / (h * (1.0 + 4.0 * z2))
        gauss = (g_norm / h) * np.exp(-4.0 * math.log(2.0) * z2)
        total += (a * (eta * lorentz + (1.0 - eta) * gauss)).sum(axis=0)
    return total


def background_counts(x: np.ndarray, spec: PatternSpec) -> np.ndarray:
    """Mean background counts of ``spec`` at 2θ ``x`` (degrees): polynomial plus hump."""
    t = (x - spec.two_theta_min) / (spec.two_theta_max - spec.two_theta_min)
    level = np.polynomial.polynomial.polyval(t, np.asarray(spec.background, dtype=float))
    if spec.amorphous_hump is not None:
        center, width, height = spec.amorphous_hump
        level = level + height * np.exp(-4.0 * math.log(2.0) * ((x - center) / width) ** 2)
    return np.maximum(level, 0.0)


def simulate_pattern(spec: PatternSpec, rng: np.random.Generator, *,
                     database: Path | None = None) -> SimulatedPattern:
    """Simulate a powder scan of ``spec`` with Poisson counts drawn from ``rng``.

    Args:
        spec: Every choice of the pattern (see :class:`PatternSpec`).
        rng: Generator for the counting noise.
        database: Crystal database file (default: the user cache).

    Returns:
        The scan (N = round((max - min) / step) + 1 points) and its reflections.

    Raises:
        ToolError: The spec is inconsistent or names an unknown record.
    """
    _validate(spec)
    count = round((spec.two_theta_max - spec.two_theta_min) / spec.step_deg) + 1
    x = spec.two_theta_min + spec.step_deg * np.arange(count)
    reflections = [r for i in range(len(spec.phases))
                   for r in _phase_reflections(spec, i, database)]
    line = EMISSIONS[spec.radiation]
    centers = np.array([r["two_theta"] for r in reflections])
    areas = np.array([r["intensity"] for r in reflections])
    widths = np.array([r["fwhm_deg"] for r in reflections])
    if line.is_doublet:
        ka2 = np.array([r["two_theta_ka2"] for r in reflections])
        ok = np.isfinite(ka2)
        centers = np.concatenate([centers, ka2[ok]])
        areas = np.concatenate([areas, line.ka2_ratio * areas[ok]])
        widths = np.concatenate([widths, widths[ok]])
    inside = ((centers > spec.two_theta_min - STICK_MARGIN_DEG)
              & (centers < spec.two_theta_max + STICK_MARGIN_DEG))
    signal = _profile_sum(x, centers[inside], areas[inside], widths[inside], spec.eta)
    scale = spec.max_counts / signal.max() if signal.max() > 0 else 0.0
    expected = signal * scale + background_counts(x, spec)
    in_scan = [r for r in reflections if spec.two_theta_min <= r["two_theta"] <= spec.two_theta_max]
    for r in in_scan:
        r["intensity"] = float(r["intensity"] * scale)
    counts = rng.poisson(expected).astype(float)
    return SimulatedPattern(x, counts, spec, in_scan, expected)


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


_SCANS = {"Cu": ((5.0, 20.0), (80.0, 120.0), (0.01, 0.02)),
          "Co": ((8.0, 20.0), (100.0, 130.0), (0.01, 0.02)),
          "Mo": ((2.0, 5.0), (35.0, 50.0), (0.005, 0.01))}
"""Per anode: ranges of scan start, scan end and step, degrees."""
_PO_AXES = ((0, 0, 1), (1, 0, 0), (1, 1, 0), (1, 1, 1))


def random_spec(rng: np.random.Generator, *, phases: tuple[str, ...],
                radiation: Radiation | None = None,
                weight_fractions: tuple[float, ...] | None = None,
                max_counts_range: tuple[float, float] = (500.0, 100_000.0)) -> PatternSpec:
    """Realistic random choices for a laboratory scan of ``phases``.

    Args:
        rng: Source of every choice.
        phases: Crystal database record ids.
        radiation: Fixed radiation, or None to draw one (Cu most often).
        weight_fractions: Fixed mass fractions, or None for a Dirichlet draw.
        max_counts_range: Range of the strongest peak's height, counts (log-uniform draw).
    """
    n = len(phases)
    if radiation is None:
        radiation = str(rng.choice(RADIATIONS, p=[0.3, 0.35, 0.1, 0.1, 0.05, 0.1]))
    start, end, step = _SCANS[radiation[:2]]
    lo, hi = float(rng.uniform(*start)), float(rng.uniform(*end))
    fractions = weight_fractions or tuple(float(f) for f in rng.dirichlet(np.full(n, 2.0)))
    max_counts = _log_uniform(rng, *max_counts_range)
    level = float(rng.uniform(0.01, 0.1)) * max_counts
    hump = None
    if rng.random() < 0.25:
        center = math.degrees(2 * math.asin(EMISSIONS[radiation].ka1_angstrom / 2 / 4.0))
        # FWHM 5-12° for Cu Kα1: a fixed width in q, so ∝ λ in 2θ
        hump = (center, float(rng.uniform(5.0, 12.0)) * EMISSIONS[radiation].ka1_angstrom
                / EMISSIONS["CuKa1"].ka1_angstrom,
                float(rng.uniform(0.02, 0.15)) * max_counts)
    orientation = None
    if rng.random() < 0.2:
        orientation = (_PO_AXES[int(rng.integers(len(_PO_AXES)))], float(rng.uniform(0.6, 1.4)))
    return PatternSpec(
        phases=tuple(phases), weight_fractions=tuple(fractions), radiation=radiation,
        two_theta_min=round(lo, 1), two_theta_max=round(hi, 1),
        step_deg=float(rng.choice([step[0], (step[0] + step[1]) / 2, step[1]])),
        crystallite_nm=tuple(_log_uniform(rng, 5.0, 200.0) for _ in range(n)),
        microstrain=tuple(0.0 if rng.random() < 0.5 else _log_uniform(rng, 1e-4, 3e-3)
                          for _ in range(n)),
        caglioti_uvw=(float(rng.uniform(0.001, 0.01)), float(rng.uniform(-0.005, 0.0)),
                      float(rng.uniform(0.001, 0.005))),
        eta=float(rng.uniform(0.2, 0.8)), zero_shift_deg=float(rng.uniform(-0.1, 0.1)),
        displacement_um=float(rng.uniform(-100.0, 100.0)),
        goniometer_radius_mm=float(rng.choice([185.0, 217.5, 240.0, 250.0, 300.0])),
        background=(level, -level * float(rng.uniform(0, 0.6)), level * float(rng.uniform(0, 0.4))),
        amorphous_hump=hump, max_counts=max_counts, march_dollase=orientation)


def write_xy(pattern: SimulatedPattern, path: str | Path) -> None:
    """Write the scan as two columns "2θ counts" ("%.4f %.1f") under ``#`` header lines.

    The header names the radiation and wavelength(s) only, never the phases.
    """
    line = EMISSIONS[pattern.spec.radiation]
    header = [f"# radiation: {pattern.spec.radiation}",
              f"# wavelength_ka1_angstrom: {line.ka1_angstrom}"]
    if line.is_doublet:
        header += [f"# wavelength_ka2_angstrom: {line.ka2_angstrom}",
                   f"# ka2_ka1_ratio: {line.ka2_ratio}"]
    header.append("# columns: two_theta_deg intensity_counts")
    rows = [f"{x:.4f} {y:.1f}" for x, y in zip(pattern.two_theta, pattern.intensity, strict=True)]
    Path(path).write_text("\n".join(header + rows) + "\n", encoding="ascii", newline="\n")


PLOT_SIZE_IN = (8.0, 4.5)
PLOT_DPI = 100


def plot_pattern(pattern: SimulatedPattern, path: str | Path) -> None:
    """Save the scan as a PNG (800 × 450 px) with deterministic bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=PLOT_SIZE_IN, dpi=PLOT_DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.plot(pattern.two_theta, pattern.intensity, color="black", linewidth=0.7)
    axes.set_xlabel("2θ (degrees)")
    axes.set_ylabel("Intensity (counts)")
    axes.set_xlim(pattern.two_theta[0], pattern.two_theta[-1])
    line = EMISSIONS[pattern.spec.radiation]
    axes.set_title(f"Powder XRD, {pattern.spec.radiation} (λ1 = {line.ka1_angstrom} Å)")
    figure.subplots_adjust(left=0.1, right=0.98, bottom=0.12, top=0.92)
    figure.savefig(path, format="png", dpi=PLOT_DPI, metadata={"Software": None})
