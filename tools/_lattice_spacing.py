"""Lattice-plane spacings of an HRTEM / STEM lattice image from the spots of its FFT.

A periodic lattice image is a sum of plane waves, one per reflection g; its Fourier transform
(the "diffractogram") has a sharp spot at each g, at distance 1/d from the origin along the
plane normal. The tool windows the image (Hann), zero-pads it, finds the local maxima of the
amplitude that stand out from the noise floor at their own spatial frequency, refines each to
a fraction of a bin (parabola through the log-amplitude) and converts the frequency to a
d-spacing with the pixel size. The databar strip and burned-in scale-bar pixels (pure black or
white) are left out first.
"""

from __future__ import annotations

import itertools
import math
import os

import numpy as np
from pydantic import BaseModel, ConfigDict
from skimage.feature import peak_local_max

from csmbench.errors import ToolError

from ._context import ToolContext
from ._grain_measure import find_databar
from ._image_io import LoadedImage, checked_pixel_size, load_image, to_gray
from ._registry import AttachmentId, tool

__all__ = ["LatticeSpacingResult", "LatticeSpot", "PlaneAngle", "measure_lattice_spacing"]

NM_PER_PIXEL_RANGE = (0.001, 2.0)
"""Pixel sizes at which lattice planes (d ~ 0.1-2 nm) can be imaged, nm/px."""
MIN_SIDE_PX = 64
"""Smallest analysed side, px: fewer pixels hold too few fringes for a sharp FFT spot."""
MIN_STD = 1e-3
"""Gray-level standard deviation (of full scale 1) below which an image is flat."""
MIN_SNR = 8.0
"""A spot must exceed the median FFT amplitude at its own |f| this many times. White-noise
amplitude is Rayleigh distributed, P(A > t·median) = 2^(-t²) (1e-19 at 8); the margin covers
the lumpier spectrum of a slow background."""
MIN_RELATIVE_STRENGTH = 0.03
"""Spots weaker than this share of the strongest are window leakage or noise, not planes."""
MIN_PERIODS = 8.0
"""Frequencies below this many cycles across the image are left out (background, not lattice)."""
MIN_PERIOD_PX = 2.2
"""Frequencies above 1/2.2 px⁻¹ sit at the Nyquist limit, where aliasing and pixel noise rule."""
PAD_FACTOR = 2
"""Zero-padding factor of the FFT (halves the bin; the parabola refines further)."""
MAX_FFT_SIDE = 4096
"""Largest padded FFT side (memory and time bound)."""
MAX_ANALYSED_SIDE_PX = MAX_FFT_SIDE // PAD_FACTOR
"""Largest analysed side, px: a bigger image is cut to its central part (a note says so), so
that the padded FFT holds the whole region (a larger one would be cut off at MAX_FFT_SIDE) and
time and memory stay bounded (at this size 1.2-1.5 GB and 60-100 s of CPU, measured)."""
SATURATED_SHARE_MAX = 0.2
"""Pure black/white pixels (burned-in bar, label, box) are masked while they are rarer than this."""
MAX_SPOTS = 16
"""Spots returned at most (the strongest; one of each ±g pair)."""
ANGLE_SPOTS = 6
"""Plane angles are listed between the strongest this-many spots."""
PARALLEL_DEG = 2.0
"""Spots whose directions differ by less than this are the same planes (harmonics)."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LatticeSpot(_Model):
    """One FFT spot (one of its ±g pair): a set of lattice planes.

    Attributes:
        d_angstrom: Plane spacing d = 1/|g|, Å.
        d_nm: The same in nm.
        angle_deg: Direction of g (the plane normal) in the image, degrees counterclockwise
            from +x with y up, in [0, 180). The fringes run at angle_deg + 90.
        period_px: Fringe period in the image, px.
        relative_strength: FFT amplitude relative to the strongest spot.
        snr: Amplitude over the median FFT amplitude at the same spatial frequency.
    """

    d_angstrom: float
    d_nm: float
    angle_deg: float
    period_px: float
    relative_strength: float
    snr: float


class PlaneAngle(_Model):
    """The angle between two sets of planes (two spots), acute, in degrees."""

    first: int
    second: int
    angle_deg: float


class LatticeSpacingResult(_Model):
    """What ``measure_lattice_spacing`` found.

    Attributes:
        spots: FFT spots, strongest first (indices used by ``plane_angles``).
        plane_angles: Acute angles between the non-parallel ones of the strongest spots.
        largest_d_angstrom: The largest spacing among the spots, Å.
        nm_per_pixel: The pixel size used, nm/px.
        analysed_px: (height, width) of the analysed region, px.
        excluded_bottom_px: Rows excluded at the bottom (databar), px.
        notes: Decisions and caveats.
    """

    spots: list[LatticeSpot]
    plane_angles: list[PlaneAngle]
    largest_d_angstrom: float | None
    nm_per_pixel: float
    analysed_px: tuple[int, int]
    excluded_bottom_px: int
    notes: list[str] = []


# --- input checks ------------------------------------------------------------------------------


def _check_pixel_size(nm_per_pixel: object) -> float:
    return checked_pixel_size(nm_per_pixel, NM_PER_PIXEL_RANGE, "lattice images are typically 0.005-0.1 nm/px; 0.25 Å/px is 0.025")


def _gray(image: str | os.PathLike | np.ndarray | LoadedImage) -> np.ndarray:
    if isinstance(image, LoadedImage):
        return image.pixels
    if isinstance(image, np.ndarray):
        return to_gray(image)
    if isinstance(image, str | os.PathLike):
        return load_image(image).pixels
    raise ToolError(f"image has type {type(image).__name__}; expected a file path, a numpy "
                    "array or a LoadedImage.")


def _region(gray: np.ndarray, crop_bottom_px: int | None) -> tuple[np.ndarray, int, list[str]]:
    """The analysed rows (databar excluded), their count excluded and notes."""
    height = gray.shape[0]
    if crop_bottom_px is None:
        bottom = find_databar(gray)
        notes = [f"excluded a {bottom} px databar strip at the bottom"] if bottom else []
    elif (isinstance(crop_bottom_px, bool) or not isinstance(crop_bottom_px, int | np.integer)
          or not 0 <= crop_bottom_px <= height - MIN_SIDE_PX):
        raise ToolError(f"crop_bottom_px is {crop_bottom_px!r}; expected an integer from 0 to "
                        f"{max(height - MIN_SIDE_PX, 0)} (the image is {height} px high) or None "
                        "to detect a databar.")
    else:
        bottom = int(crop_bottom_px)
        notes = [f"excluded {bottom} px at the bottom as asked"] if bottom else []
    region = gray[:height - bottom]
    if min(region.shape) < MIN_SIDE_PX:
        raise ToolError(f"the analysed image is {region.shape[0]}x{region.shape[1]} px; expected "
                        f"at least {MIN_SIDE_PX} px on each side to hold enough lattice fringes.")
    return _central(region, notes), bottom, notes


def _central(region: np.ndarray, notes: list[str]) -> np.ndarray:
    """The central part of ``region``, at most MAX_ANALYSED_SIDE_PX on each side."""
    height, width = region.shape
    if max(height, width) <= MAX_ANALYSED_SIDE_PX:
        return region
    top = max(0, (height - MAX_ANALYSED_SIDE_PX) // 2)
    left = max(0, (width - MAX_ANALYSED_SIDE_PX) // 2)
    kept = region[top:top + MAX_ANALYSED_SIDE_PX, left:left + MAX_ANALYSED_SIDE_PX]
    notes.append(f"analysed the central {kept.shape[0]}x{kept.shape[1]} px of the "
                 f"{height}x{width} px image (at most {MAX_ANALYSED_SIDE_PX} px a side)")
    return kept


def _masked(region: np.ndarray, notes: list[str]) -> np.ndarray:
    """Pure black / white pixels (burned-in scale bar and label) set to the median gray."""
    codes = np.round(region * 255.0)
    saturated = (codes <= 0) | (codes >= 255)
    share = float(saturated.mean())
    if 0 < share < SATURATED_SHARE_MAX:
        notes.append(f"masked {share:.1%} pure black/white pixels (scale bar, label)")
        region = np.where(saturated, np.median(region[~saturated]), region)
    if float(region.std()) < MIN_STD:
        raise ToolError(f"the image is flat: its gray levels vary by {float(region.std()):.2g} "
                        f"(standard deviation; expected at least {MIN_STD:g}). Hint: check that "
                        "the right attachment was passed.")
    return region


# --- the spectrum ------------------------------------------------------------------------------


def _spectrum(region: np.ndarray) -> tuple[np.ndarray, int]:
    """Centred FFT amplitude of the windowed, zero-padded region, and the padded side."""
    height, width = region.shape
    side = min(1 << math.ceil(math.log2(PAD_FACTOR * max(height, width))), MAX_FFT_SIDE)
    window = np.outer(np.hanning(height), np.hanning(width))
    data = (region - region.mean()) * window
    amplitude = np.abs(np.fft.fftshift(np.fft.fft2(data, s=(side, side))))
    return amplitude, side


def _noise_floor(amplitude: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Median amplitude in one-bin rings of |f|, as a map."""
    rings = np.round(radius).astype(np.int64)
    order = np.argsort(rings, axis=None)
    sorted_rings = rings.ravel()[order]
    sorted_amplitude = amplitude.ravel()[order]
    edges = np.searchsorted(sorted_rings, np.arange(rings.max() + 2))
    medians = np.array([np.median(sorted_amplitude[a:b]) if b > a else np.inf
                        for a, b in itertools.pairwise(edges)])
    return medians[rings]


def _refine(log_amp: np.ndarray, row: int, col: int) -> tuple[float, float]:
    """Sub-bin peak position: a parabola through the log amplitude along each axis."""

    def offset(minus: float, centre: float, plus: float) -> float:
        curvature = minus - 2.0 * centre + plus
        return 0.0 if curvature >= 0 else float(np.clip(0.5 * (minus - plus) / curvature,
                                                        -0.5, 0.5))

    return (row + offset(log_amp[row - 1, col], log_amp[row, col], log_amp[row + 1, col]),
            col + offset(log_amp[row, col - 1], log_amp[row, col], log_amp[row, col + 1]))


def _spots(region: np.ndarray, nm_per_pixel: float) -> list[LatticeSpot]:
    amplitude, side = _spectrum(region)
    centre = side // 2
    fy, fx = np.mgrid[-centre:side - centre, -centre:side - centre]
    radius = np.hypot(fy, fx)
    snr = amplitude / np.maximum(_noise_floor(amplitude, radius), 1e-300)
    low = MIN_PERIODS * side / max(region.shape)
    high = side / MIN_PERIOD_PX
    allowed = (radius >= low) & (radius <= high) & (snr >= MIN_SNR)  # noise maxima cost time
    lobe = max(PAD_FACTOR * 2, 2)
    peaks = peak_local_max(np.where(allowed, amplitude, 0.0), min_distance=lobe,
                           exclude_border=2)
    upper = (fy < 0) | ((fy == 0) & (fx > 0))  # one of each ±g pair (rows grow downward)
    peaks = [(row, col) for row, col in peaks if snr[row, col] >= MIN_SNR and upper[row, col]]
    log_amp = np.log(amplitude + 1e-300)
    found = []
    for row, col in peaks:
        r, c = _refine(log_amp, int(row), int(col))
        f_row, f_col = (r - centre) / side, (c - centre) / side  # cycles per px
        period = 1.0 / math.hypot(f_row, f_col)
        found.append((float(amplitude[row, col]), float(snr[row, col]), period,
                      math.degrees(math.atan2(-f_row, f_col)) % 180.0))
    found.sort(key=lambda s: -s[0])
    top = found[0][0] if found else 1.0
    found = [s for s in found if s[0] >= MIN_RELATIVE_STRENGTH * top]
    return [LatticeSpot(d_angstrom=round(p * nm_per_pixel * 10.0, 5),
                        d_nm=round(p * nm_per_pixel, 6), angle_deg=round(angle, 2),
                        period_px=round(p, 4), relative_strength=round(a / top, 4),
                        snr=round(s, 1))
            for a, s, p, angle in found[:MAX_SPOTS]]


def _plane_angles(spots: list[LatticeSpot]) -> list[PlaneAngle]:
    """Acute angles between the non-parallel pairs among the strongest spots."""
    angles = []
    for i, j in itertools.combinations(range(min(len(spots), ANGLE_SPOTS)), 2):
        difference = abs(spots[i].angle_deg - spots[j].angle_deg) % 180.0
        acute = min(difference, 180.0 - difference)
        if acute >= PARALLEL_DEG:
            angles.append(PlaneAngle(first=i, second=j, angle_deg=round(acute, 2)))
    return angles


def measure_lattice_spacing(
    image: str | os.PathLike | np.ndarray | LoadedImage,
    nm_per_pixel: float,
    *,
    crop_bottom_px: int | None = None,
) -> LatticeSpacingResult:
    """Lattice-plane spacings and plane angles of a lattice image, from its FFT spots.

    Args:
        image: Image path, pixel array (``(H, W)`` or ``(H, W, 3|4)``) or ``LoadedImage``.
        nm_per_pixel: Pixel size, nm/px (0.001 .. 2).
        crop_bottom_px: Rows to exclude at the bottom (a databar); None detects one, 0 keeps
            every row.

    Returns:
        The spots (d in Å and nm, direction, strength), strongest first, and the angles
        between planes.

    Raises:
        ToolError: Bad pixel size or crop, an image too small or flat.

    Example:
        >>> y, x = np.mgrid[0:256, 0:256]
        >>> fringes = 0.5 + 0.4 * np.cos(2 * np.pi * x / 16.0)  # 16 px period
        >>> spot = measure_lattice_spacing(fringes, 0.02, crop_bottom_px=0).spots[0]
        >>> spot.d_angstrom, spot.angle_deg  # 16 px x 0.2 Å/px
        (3.2, 0.0)
    """
    scale_nm = _check_pixel_size(nm_per_pixel)
    region, bottom, notes = _region(_gray(image), crop_bottom_px)
    region = _masked(region, notes)
    spots = _spots(region, scale_nm)
    if not spots:
        notes.append(f"no FFT spot stands {MIN_SNR:g}x above the noise: no lattice fringes "
                     "resolved (amorphous region, too noisy, or wrong image)")
    return LatticeSpacingResult(
        spots=spots, plane_angles=_plane_angles(spots),
        largest_d_angstrom=max((s.d_angstrom for s in spots), default=None),
        nm_per_pixel=scale_nm, analysed_px=(int(region.shape[0]), int(region.shape[1])),
        excluded_bottom_px=bottom, notes=notes)


@tool(name="measure_lattice_spacing")
def measure_lattice_spacing_tool(
    context: ToolContext,
    image: AttachmentId,
    nm_per_pixel: float,
    crop_bottom_px: int | None = None,
) -> LatticeSpacingResult:
    """Measure lattice-plane spacings (d, Å) and plane angles of an HRTEM/STEM lattice image.

    Takes the FFT (diffractogram) of the image and returns its spots, strongest first: each
    spot is a set of lattice planes with its spacing d in Å and nm, the direction of the plane
    normal in degrees, its strength and signal-to-noise ratio. Also returns the acute angles
    between the planes of the strongest spots, for indexing (e.g. 70.5° between {111} planes
    seen down a cubic [110] axis). A databar at the bottom and the burned-in scale bar are
    left out.

    Args:
        image: Attachment id of the lattice image, e.g. "img0".
        nm_per_pixel: Pixel size in nm per pixel (e.g. from calibrate_scale_bar).
        crop_bottom_px: Rows to exclude at the bottom; omit to detect a databar, 0 for none.
    """
    return measure_lattice_spacing(context.path(image), nm_per_pixel,
                                   crop_bottom_px=crop_bottom_px)
