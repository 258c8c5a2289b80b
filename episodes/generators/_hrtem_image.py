"""HRTEM-like lattice-fringe images of real crystals viewed down a zone axis.

The crystal (literature lattice and Wyckoff positions of the curated phase table, built with
``ase.spacegroup.crystal``) is projected along the zone axis [uvw]: the projected density of
Gaussian atoms (weight Z^γ, width σ) is a 2D-periodic function whose Fourier coefficients are
the structure factors of the zero-order Laue zone (hkl · uvw = 0),

    P(r) = Σ_g F(g) exp(-2π² σ² g²) exp(2πi g·r),   F(g) = Σ_j Z_j^γ exp(2πi hkl·x_j).

Reflections beyond the information limit are cut off. P is tabulated once on its 2D unit cell
(an inverse FFT) and sampled at the image pixels, so an image costs the same whatever the
number of reflections. Shot noise, an amorphous-film speckle and a slow background follow.
Kinematically forbidden reflections (Si 002, fcc 100, rutile 100) are absent, as in the
projected potential; the truth is what the image holds: each reflection's amplitude in it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
from ase import Atoms
from ase.spacegroup import crystal
from scipy import ndimage

from csmbench.tools._curated_phases import PHASES_BY_KEY

from ._micrograph import smooth_noise

__all__ = ["CUBIC_ZONES", "HRTEM_PHASES", "LatticeImageSpec", "RenderedLattice", "Spot",
           "crystal_of", "render_lattice", "zolz_reflections"]

CUBIC_ZONES: tuple[tuple[int, int, int], ...] = ((0, 0, 1), (0, 1, 1), (1, 1, 1))
"""Low-index zone axes of cubic crystals: the ones HRTEM work uses."""
HRTEM_PHASES: dict[str, tuple[tuple[int, int, int], ...]] = {
    **dict.fromkeys(("si", "ge", "gaas", "gap", "inp", "inas", "cdte", "znse", "zns-sphalerite",
                     "sic-3c", "nacl", "lif", "mgo", "cao", "nio", "pbs", "tin", "tic", "zrc",
                     "agcl", "caf2", "ceo2", "uo2", "zro2-cubic", "baf2", "cu", "al", "ag", "au",
                     "pt", "pd", "ni", "pb", "fe-gamma", "fe-alpha", "cr", "w", "mo", "nb", "ta",
                     "srtio3", "batio3-cubic", "cscl", "nial", "mgal2o4", "fe3o4"), CUBIC_ZONES),
    "tio2-rutile": ((0, 0, 1),),
}
"""Curated phases (keys of ``PHASES_BY_KEY``) that the images show, with their zone axes."""
TABLE_SIDE = 128
"""Samples per side of the tabulated 2D unit cell (>= 6 per period of the finest fringe)."""
EXTINCT_SHARE = 1e-9
"""Structure factors below this share of F(000) are systematic absences (rounding residue)."""
ZONE_SEARCH = 6
"""Largest |h|, |k|, |l| searched for the two shortest vectors of the zone's 2D lattice."""


@cache
def crystal_of(key: str) -> Atoms:
    """The conventional cell of a curated phase as ase ``Atoms`` (origin choice 1)."""
    phase = PHASES_BY_KEY[key]
    return crystal([s.species for s in phase.sites], [s.xyz for s in phase.sites],
                   spacegroup=phase.space_group, setting=1, cellpar=list(phase.lattice))


def _zone_basis(atoms: Atoms, uvw: tuple[int, int, int]) -> np.ndarray:
    """(2, 3) integer hkl of a basis of the zone's reciprocal plane (hkl · uvw = 0)."""
    r = range(-ZONE_SEARCH, ZONE_SEARCH + 1)
    hkl = np.array([(h, k, l) for h in r for k in r for l in r
                    if (h, k, l) != (0, 0, 0) and h * uvw[0] + k * uvw[1] + l * uvw[2] == 0])
    length = np.linalg.norm(hkl @ atoms.cell.reciprocal(), axis=1)
    order = np.lexsort((-hkl[:, 2], -hkl[:, 1], -hkl[:, 0], np.round(length, 9)))
    first = hkl[order[0]]
    primitive = np.array(uvw) // math.gcd(*uvw)
    for index in order[1:]:
        if np.abs(np.cross(first, hkl[index])).tolist() == np.abs(primitive).tolist():
            return np.array([first, hkl[index]])
    raise ValueError(f"no basis found for zone {uvw}")


@dataclass(frozen=True)
class Spot:
    """One reflection of the zero-order Laue zone as the image shows it.

    Attributes:
        hkl: Miller indices (conventional cell).
        d_angstrom: Plane spacing, Å.
        angle_deg: Direction of g in the image, degrees counterclockwise from +x (y up), [0, 180).
        amplitude: Fourier amplitude in the image relative to the strongest reflection.
    """

    hkl: tuple[int, int, int]
    d_angstrom: float
    angle_deg: float
    amplitude: float


@dataclass(frozen=True)
class LatticeImageSpec:
    """Every choice of one lattice image.

    Attributes:
        key: Curated phase key.
        zone: Zone axis [uvw].
        nm_per_pixel: Pixel size, nm/px.
        rotation_deg: In-plane rotation of the crystal, degrees.
        sigma_angstrom: Width of the atom columns in the image (atom size and blur), Å.
        info_limit_angstrom: Smallest spacing transferred, Å.
        z_exponent: Column weight Z^γ (≈1 phase contrast, ≈1.7 Z-contrast).
        bright_atoms: Columns bright (HAADF-like) or dark (bright-field-like).
        contrast: Peak-to-peak lattice contrast relative to the mean intensity.
        dose: Electrons per pixel (shot noise).
        film: Standard deviation of the amorphous-film speckle, relative to the mean.
        background: Amplitude of a slow thickness / illumination variation, relative.
    """

    key: str
    zone: tuple[int, int, int]
    nm_per_pixel: float
    rotation_deg: float
    sigma_angstrom: float
    info_limit_angstrom: float
    z_exponent: float
    bright_atoms: bool
    contrast: float
    dose: float
    film: float
    background: float


@dataclass(frozen=True)
class _Zolz:
    basis: np.ndarray  # (2, 3) integer hkl
    orders: np.ndarray  # (n, 2) integer coefficients of the basis
    hkl: np.ndarray  # (n, 3)
    g: np.ndarray  # (n, 3) Cartesian, 1/Å
    coefficient: np.ndarray  # (n,) complex image coefficients


def zolz_reflections(spec: LatticeImageSpec) -> _Zolz:
    """The zone's reflections within the information limit and their image coefficients."""
    atoms = crystal_of(spec.key)
    basis = _zone_basis(atoms, spec.zone)
    reciprocal = atoms.cell.reciprocal()
    g_max = 1.0 / spec.info_limit_angstrom
    reach = int(np.ceil(g_max / min(np.linalg.norm(basis @ reciprocal, axis=1)) * 2)) + 1
    m = np.arange(-reach, reach + 1)
    orders = np.array([(i, j) for i in m for j in m if (i, j) != (0, 0)])
    hkl = orders @ basis
    g = hkl @ reciprocal
    g_len = np.linalg.norm(g, axis=1)
    keep = g_len <= g_max
    orders, hkl, g, g_len = orders[keep], hkl[keep], g[keep], g_len[keep]
    weights = atoms.numbers.astype(float) ** spec.z_exponent
    factor = np.exp(2j * np.pi * hkl @ atoms.get_scaled_positions().T) @ weights
    factor[np.abs(factor) < EXTINCT_SHARE * weights.sum()] = 0.0  # rounding, not a reflection
    coefficient = factor * np.exp(-2.0 * np.pi**2 * spec.sigma_angstrom**2 * g_len**2)
    return _Zolz(basis, orders, hkl, g, coefficient)


def _image_axes(atoms: Atoms, spec: LatticeImageSpec) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal Cartesian vectors along the image's +x (columns) and +y (rows, down)."""
    beam = np.array(spec.zone, float) @ atoms.cell.array
    beam /= np.linalg.norm(beam)
    helper = np.eye(3)[int(np.argmin(np.abs(beam)))]
    first = np.cross(beam, helper)
    first /= np.linalg.norm(first)
    second = np.cross(beam, first)
    turn = math.radians(spec.rotation_deg)
    return (math.cos(turn) * first + math.sin(turn) * second,
            -math.sin(turn) * first + math.cos(turn) * second)


def _projected(zolz: _Zolz, spec: LatticeImageSpec, shape: tuple[int, int]) -> np.ndarray:
    """The projected lattice P sampled at the pixels (real, zero mean)."""
    table = np.zeros((TABLE_SIDE, TABLE_SIDE), complex)
    np.add.at(table, (zolz.orders[:, 0] % TABLE_SIDE, zolz.orders[:, 1] % TABLE_SIDE),
              zolz.coefficient)
    cell = np.real(np.fft.ifft2(table)) * TABLE_SIDE**2
    atoms = crystal_of(spec.key)
    x_axis, y_axis = _image_axes(atoms, spec)
    b = zolz.basis @ atoms.cell.reciprocal()  # (2, 3): s_i = b_i · r
    step = spec.nm_per_pixel * 10.0
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]].astype(float)
    coords = [TABLE_SIDE * step * (cols * (b[i] @ x_axis) + rows * (b[i] @ y_axis))
              for i in range(2)]
    coords = [np.mod(c, TABLE_SIDE) for c in coords]
    return ndimage.map_coordinates(cell, coords, order=3, mode="grid-wrap")


@dataclass(frozen=True)
class RenderedLattice:
    """A lattice image and what it holds.

    Attributes:
        pixels: (H, W) float image in [0, 1].
        spots: Reflections (one of each ±g pair), strongest first.
    """

    pixels: np.ndarray
    spots: tuple[Spot, ...]


def _spots(zolz: _Zolz, spec: LatticeImageSpec) -> tuple[Spot, ...]:
    atoms = crystal_of(spec.key)
    x_axis, y_axis = _image_axes(atoms, spec)
    amplitude = np.abs(zolz.coefficient)
    top = amplitude.max() if amplitude.size and amplitude.max() > 0 else 1.0
    found: dict[tuple, Spot] = {}
    for hkl, g, a in zip(zolz.hkl, zolz.g, amplitude, strict=True):
        angle = math.degrees(math.atan2(-(g @ y_axis), g @ x_axis)) % 180.0
        key = tuple(int(v) for v in (hkl if tuple(hkl) > tuple(-hkl) else -hkl))
        found[key] = Spot(key, float(1.0 / np.linalg.norm(g)), round(angle, 6) % 180.0,
                          float(a / top))
    return tuple(sorted(found.values(), key=lambda s: (-round(s.amplitude, 9), -s.d_angstrom,
                                                       s.hkl)))


def render_lattice(spec: LatticeImageSpec, shape: tuple[int, int],
                   rng: np.random.Generator) -> RenderedLattice:
    """Render a noisy lattice image.

    Args:
        spec: What to show.
        shape: (H, W) of the image, px.
        rng: Source of the noise.

    Returns:
        The image in [0, 1] and the reflections it holds.
    """
    zolz = zolz_reflections(spec)
    lattice = _projected(zolz, spec, shape)
    span = float(lattice.max() - lattice.min()) or 1.0
    lattice = (lattice - lattice.mean()) / span * (1 if spec.bright_atoms else -1)
    intensity = 1.0 + spec.contrast * lattice
    intensity += spec.film * smooth_noise(shape, float(rng.uniform(0.8, 1.6)), rng)
    intensity += spec.background * smooth_noise(shape, float(rng.uniform(120.0, 300.0)), rng)
    counts = rng.poisson(np.clip(intensity, 0.05, None) * spec.dose) / spec.dose
    low, high = np.percentile(counts, (0.2, 99.8))
    pixels = np.clip((counts - low) / (high - low + 1e-12), 0.0, 1.0)
    return RenderedLattice(pixels, _spots(zolz, spec))
