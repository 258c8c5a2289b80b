"""Grain segmentation of micrographs: boundary strength -> regions -> merging -> twins.

Boundary contrasts (``mode``):

- ``dark``: etched optical images, thin dark boundary lines (black top-hat);
- ``bright``: thin bright boundary films, e.g. β between α laths in BSE images (white top-hat);
- ``contrast``: grains that differ in gray level, no lines (SEM channelling, EBSD maps):
  gradient magnitude.

Scan-line offsets are removed first. Grain regions come from a noise-relative strength map
(``_grain_regions``: cores split at necks, boundary pixels to the nearest core, or for
``contrast`` by flooding, so that borders follow the gradient ridges); they are
over-segmented on purpose and merged, weakest border first, unless the border shows
significant evidence of a boundary (line strength, or for ``contrast`` a consistent gray
step read a few pixels to either side, and one not much smaller than the typical step
between grains: slow shading inside a grain is no boundary), specks absorbed
(``_grain_merge``). Finally twin boundaries are removed (``_grain_twins``): much fainter
lines than the rest, and parallel-sided bands across a grain of one gray.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import ndimage as ndi
from skimage.filters import threshold_otsu

from csmbench.errors import ToolError

from ._grain_filters import gaussian, grey_closing, grey_opening
from ._grain_merge import line_borders, merge_regions, step_borders, typical_step
from ._grain_regions import grain_regions
from ._grain_twins import merge_faint, merge_twins

__all__ = ["BoundaryMode", "Segmentation", "choose_mode", "segment_grains"]

BoundaryMode = Literal["auto", "dark", "bright", "contrast"]

SMOOTH_SIGMA_PX = {"dark": 1.0, "bright": 1.0, "contrast": 1.5}
"""Gaussian pre-smoothing against detector noise, px, per mode."""
TOPHAT_SIZE_PX = 9
"""Side of the square top-hat window, px: boundary lines up to ~7 px wide are kept."""
MODE_CROP_PX, MODE_SIGMA_PX = 512, 0.7
"""The boundary contrast is judged on the central 512 px square smoothed by 0.7 px."""
MODE_TOPHAT_PX, MODE_PERCENTILE, MODE_RATIO = 3, 99.5, 1.6
"""Line boundaries: one top-hat sign's 99.5th percentile exceeds the other's 1.6 times
(3 px window)."""
MODE_HIGHPASS_PX, MODE_NETWORK_SHARE, MODE_NETWORK = 61, 25.0, (0.7, 0.35)
"""Line boundaries: the darkest (brightest) 25 % of the image minus its 61 px box mean has
>= 70 % in one 8-connected component while the opposite 25 % has < 35 %."""
MIN_BOUNDARY_CONTRAST, MIN_BOUNDARY_Z = 0.02, 2.0
"""Line modes: the 99.5th-percentile strength must exceed the interior by 0.02 gray levels
and 2 noise spreads, or there are no boundaries."""
TYPICAL_PERCENTILE = 99.5
"""Percentile of the strength map taken as a typical boundary strength."""
MIN_SPREAD_FRACTION, SPREAD_FLOOR_PERCENTILE = 0.03, 97.0
"""Noise spread floor (noise-free images): 3 % of the 97th percentile over the interior."""
STEP_WEIGHT = 0.7
"""Line modes also take gray steps (gradient z-scores times this) as boundary strength: a
dark line next to a dark grain stands out little, the step to the light grain a lot."""
CORE_Z = {"dark": 4.5, "bright": 4.5, "contrast": 1.0}
"""Grain cores lie below this boundary strength, noise spreads above the interior."""
DESTRIPE_ROWS, DESTRIPE_COLUMN_STRIDE = 9, 3
"""Scan-line offsets are measured against the mean of 9 rows around each row, on every 3rd
column."""
TWIN_ROUNDS = 3
"""Twin bands are looked for again after merges, at most this many times (multiple bands)."""
MIN_STEP_Z = 2.5
"""Contrast mode: the typical gray step across the borders found must reach 2.5 noise units
(noise regions grouped by chance show 1-1.5; SEM grains 4 and more)."""
SHADING_STEP_SHARE = 0.25
"""Contrast mode: a border whose mean gray step is below a quarter of the typical step
between the regions found is shading within a grain (SEM channelling grains vary slowly in
gray; the step to a neighbour grain is a jump), however long and significant."""
STEP_SIGMA_PX = 1.0
"""Gaussian smoothing of the image whose gray steps are read across borders, px."""


@dataclass(frozen=True)
class Segmentation:
    """A grain label image.

    Attributes:
        labels: ``(H, W)`` int32, grains 1..n; 0 marks excluded pixels (a databar).
        mode: The boundary contrast used: "dark", "bright" or "contrast".
        notes: What was decided on the way.
    """

    labels: np.ndarray
    mode: str
    notes: tuple[str, ...]


# --- boundary strength -------------------------------------------------------------------------


def _smooth(gray: np.ndarray, mode: str) -> np.ndarray:
    """The image smoothed for ``mode`` (float32)."""
    return gaussian(gray, SMOOTH_SIGMA_PX[mode], truncate=3.0)


def _strength_of(smooth: np.ndarray, mode: str) -> np.ndarray:
    """Top-hat (dark, bright) or central-difference gradient magnitude (contrast)."""
    if mode == "dark":
        return grey_closing(smooth, TOPHAT_SIZE_PX) - smooth
    if mode == "bright":
        return smooth - grey_opening(smooth, TOPHAT_SIZE_PX)
    gy, gx = np.zeros_like(smooth), np.zeros_like(smooth)
    np.subtract(smooth[2:], smooth[:-2], out=gy[1:-1])
    np.subtract(smooth[:, 2:], smooth[:, :-2], out=gx[:, 1:-1])
    gx *= gx
    gy *= gy
    gx += gy
    np.sqrt(gx, out=gx)
    gx *= 0.5
    return gx


def choose_mode(gray: np.ndarray) -> Literal["dark", "bright", "contrast"]:
    """The boundary contrast of an image: thin dark lines, thin bright lines or gray steps.

    Two tests on the central ``MODE_CROP_PX`` square, lightly smoothed: thin lines give a
    top-hat response of one sign only, while a step between two gray levels gives both
    alike (``MODE_RATIO``); and the darkest (brightest) quarter of the high-passed image
    forms one connected network when it is the boundary lines, scattered blobs when it is
    grains (``MODE_NETWORK``), which settles fine-grained images whose small grains are
    themselves "thin" bright features.
    """
    top, left = (max((side - MODE_CROP_PX) // 2, 0) for side in gray.shape)
    crop = gray[top:top + MODE_CROP_PX, left:left + MODE_CROP_PX].astype(np.float32)
    image = gaussian(crop, MODE_SIGMA_PX, truncate=3.0)
    black = np.percentile((grey_closing(image, MODE_TOPHAT_PX) - image)[::2], MODE_PERCENTILE)
    white = np.percentile((image - grey_opening(image, MODE_TOPHAT_PX))[::2], MODE_PERCENTILE)
    ratio = float(black / max(white, 1e-9))
    detail = image - ndi.uniform_filter(image, MODE_HIGHPASS_PX)
    low, high = np.percentile(detail[::2], (MODE_NETWORK_SHARE, 100 - MODE_NETWORK_SHARE))
    dark_net, bright_net = _network(detail <= low), _network(detail >= high)
    lines, blobs = MODE_NETWORK
    dark = ratio >= MODE_RATIO or (dark_net >= lines and bright_net < blobs)
    bright = ratio <= 1 / MODE_RATIO or (bright_net >= lines and dark_net < blobs)
    if dark and bright:
        return "dark" if ratio >= 1 else "bright"
    return "dark" if dark else "bright" if bright else "contrast"


def _network(mask: np.ndarray) -> float:
    """Share of ``mask`` in its largest 8-connected component."""
    labels, n = ndi.label(mask, structure=np.ones((3, 3), bool))
    return float(np.bincount(labels.ravel())[1:].max() / max(mask.sum(), 1)) if n else 0.0


# --- segmentation ------------------------------------------------------------------------------


def segment_grains(gray: np.ndarray, mode: BoundaryMode = "auto", databar_rows: int = 0
                   ) -> Segmentation:
    """Segment a micrograph into grains.

    Args:
        gray: ``(H, W)`` float image in [0, 1].
        mode: Boundary contrast, or "auto" to choose it.
        databar_rows: Rows at the bottom to exclude (label 0), px.

    Returns:
        The segmentation.

    Raises:
        ToolError: No boundaries stand out of the noise.
    """
    notes = []
    region = gray[:gray.shape[0] - databar_rows] if databar_rows else gray
    used = choose_mode(region) if mode == "auto" else mode
    if mode == "auto":
        notes.append(f"boundary contrast chosen automatically: {used}")
    labels, twins = _segment_at(_destripe(region.astype(np.float32)), used)
    if twins:
        notes.append(f"removed {twins} faint or twin-band boundaries (E112 disregards twin "
                     "boundaries)")
    full = np.zeros(gray.shape, np.int32)
    full[:region.shape[0]] = labels
    return Segmentation(full, used, tuple(notes))


def _segment_at(region: np.ndarray, used: str) -> tuple[np.ndarray, int]:
    """Labels of ``region`` in one boundary mode, and the twin or faint borders removed."""
    smooth = _smooth(region, used)
    strength = _strength_of(smooth, used)
    level, spread, typical = _levels(strength)
    if used != "contrast" and typical - level < max(MIN_BOUNDARY_CONTRAST,
                                                    MIN_BOUNDARY_Z * spread):
        raise ToolError(
            f"no grain boundaries found: the strongest {used} boundary features stand only "
            f"{typical - level:.3g} gray levels above the grain interiors (noise {spread:.3g});"
            " expected thin boundary lines or gray steps between grains. Hint: the image may "
            "be blank, noise or no grain structure; try another `boundaries` setting.")
    z = strength  # from here on in noise units (z-scores)
    z -= level
    z /= spread
    if used != "contrast" and STEP_WEIGHT > 0:
        np.maximum(z, STEP_WEIGHT * _noise_units(_strength_of(smooth, "contrast")), out=z)
    labels = grain_regions(z, CORE_Z[used], ridges=used == "contrast")
    if used == "contrast":
        steps = gaussian(region, STEP_SIGMA_PX, truncate=3.0)
        labels, left = merge_regions(labels, step_borders(labels, steps),
                                     shading_share=SHADING_STEP_SHARE)
        _check_steps(left)
    else:
        labels, _ = merge_regions(labels, line_borders(labels, z))
    return _remove_twins(labels, smooth, region, used)


def _remove_twins(labels: np.ndarray, smooth: np.ndarray, region: np.ndarray, used: str
                  ) -> tuple[np.ndarray, int]:
    """Labels without twin boundaries (faint lines in line modes, twin bands), and how many
    borders were removed."""
    removed = 0
    if used != "contrast":
        labels, removed = merge_faint(labels, smooth, dark=used == "dark")
    for _ in range(TWIN_ROUNDS):
        labels, merged = merge_twins(labels, region)
        removed += merged
        if not merged:
            break
    return labels, removed


def _check_steps(borders: np.ndarray) -> None:
    """ToolError unless the typical (length-weighted median) gray step across the borders
    left, ``(k, 3)`` step total, length and samples, stands ``MIN_STEP_Z`` noise units out:
    borders drawn in noise, grouped by chance, show about one unit."""
    typical = typical_step(borders)
    if typical < MIN_STEP_Z:
        raise ToolError(
            f"no grain boundaries found: the gray steps between the regions found are "
            f"{typical:.2g} noise units (expected at least {MIN_STEP_Z:g}, as between grains "
            "of different gray); the image may be noise or no grain structure. Hint: try "
            "another `boundaries` setting.")


def _destripe(gray: np.ndarray) -> np.ndarray:
    """The image less its scan-line offsets: each row's median step from the rows around
    it, clipped to a few times the typical offset (a boundary along a row is no offset)."""
    sample = np.ascontiguousarray(gray[:, ::DESTRIPE_COLUMN_STRIDE])
    offset = _row_medians(sample - ndi.uniform_filter1d(sample, DESTRIPE_ROWS, axis=0))
    spread = 1.4826 * float(np.median(np.abs(offset - np.median(offset))))
    offset = np.clip(offset, -3 * spread, 3 * spread)
    return gray - offset[:, None]


def _row_medians(values: np.ndarray) -> np.ndarray:
    """``np.median(values, axis=1)`` of a 2-D array (one partition, no copy checks)."""
    half = values.shape[1] // 2
    kth = [half - 1, half] if values.shape[1] % 2 == 0 else [half]
    middle = np.partition(values, kth, axis=1)[:, kth]
    return middle.mean(axis=1)


def _levels(strength: np.ndarray) -> tuple[float, float, float]:
    """(interior level, robust noise spread, typical boundary strength) of a strength map.

    The interior statistics (median, MAD) come from the pixels below the map's Otsu
    threshold, so that boundaries covering a large share of a fine-grained image do not
    inflate them.
    """
    sample = strength[::3, ::3].ravel()
    common, typical = np.percentile(sample, (SPREAD_FLOOR_PERCENTILE, TYPICAL_PERCENTILE))
    inside = sample[sample < threshold_otsu(sample)] if np.ptp(sample) > 0 else sample
    level = float(np.median(inside))
    spread = 1.4826 * float(np.median(np.abs(inside - level)))
    return level, max(spread, MIN_SPREAD_FRACTION * (common - level), 1e-4), float(typical)


def _noise_units(strength: np.ndarray) -> np.ndarray:
    """A strength map turned (in place) into z-scores: (strength - interior level) / spread."""
    level, spread, _ = _levels(strength)
    strength -= level
    strength /= spread
    return strength
