"""Phase area fraction from segmented grains: two grey-level populations under uneven light.

Each grain's level is the mean grey of its interior (pixels at least ``INTERIOR_MARGIN_PX``
from a boundary, so dark boundary grooves do not darken small grains). The levels are split
in two by Otsu's criterion; then a quadratic illumination surface plus a phase offset is fitted
to the levels by least squares, the surface is removed and the split redone, a few times. The
grains form two phases when Ashman's D of the flattened levels exceeds ``PHASE_SEPARATION``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

__all__ = ["MIN_PHASE_FRACTION", "PHASE_SEPARATION", "darker_phase_fraction"]

INTERIOR_MARGIN_PX = 3
MIN_INTERIOR_PX = 12
"""Grains with fewer interior pixels are too small to give a level."""
PHASE_SEPARATION = 4.0
"""Ashman's D above which two grey populations count as two phases."""
MIN_PHASE_CONTRAST = 0.1
"""The phases' flattened mean levels differ by at least this (grey in [0, 1])."""
MIN_PHASE_FRACTION = 0.05
FLATTEN_ROUNDS = 3


def _grain_levels(gray: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per grain with enough interior: mean grey, area (px) and centroid (fractions of H, W)."""
    boundary = np.zeros(labels.shape, bool)
    boundary[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    boundary[1:, :] |= labels[1:, :] != labels[:-1, :]
    near = ndimage.binary_dilation(boundary, iterations=INTERIOR_MARGIN_PX)
    inner = np.where(near, 0, labels).ravel()
    n = int(labels.max()) + 1
    count = np.bincount(inner, minlength=n)[1:]
    rows, cols = np.indices(labels.shape)
    sums = [np.bincount(inner, weights=w.ravel(), minlength=n)[1:] for w in (gray, rows, cols)]
    area = np.bincount(labels.ravel(), minlength=n)[1:].astype(np.float64)
    keep = count >= MIN_INTERIOR_PX
    level, row, col = (s[keep] / count[keep] for s in sums)
    return level, area[keep], row / labels.shape[0] - 0.5, col / labels.shape[1] - 0.5


def _otsu_split(level: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Boolean mask of the darker group by area-weighted Otsu."""
    order = np.argsort(level)
    w, x = weight[order], level[order]
    w0, s0 = np.cumsum(w)[:-1], np.cumsum(w * x)[:-1]
    w1, s1 = w.sum() - w0, (w * x).sum() - s0
    split = int(np.argmax(w0 * w1 * (s0 / w0 - s1 / w1) ** 2)) + 1
    dark = np.zeros(level.size, bool)
    dark[order[:split]] = True
    return dark


def _flatten(level: np.ndarray, dark: np.ndarray, row: np.ndarray, col: np.ndarray) -> np.ndarray:
    """Levels with a fitted quadratic illumination surface removed (the phase offset kept)."""
    surface = np.stack([row, col, row * row, col * col, row * col], axis=1)
    design = np.column_stack([np.ones_like(level), dark.astype(float), surface])
    coef, *_ = np.linalg.lstsq(design, level, rcond=None)
    return level - surface @ coef[2:]


def darker_phase_fraction(gray: np.ndarray, labels: np.ndarray) -> float | None:
    """Area fraction of the darker of two grain populations, or None for a single phase.

    Args:
        gray: (H, W) image in [0, 1].
        labels: (H, W) grain labels >= 1 (0 = unassigned, ignored).

    Returns:
        The darker phase's share of the labelled area, or None when the grain levels do not
        split into two clearly separated populations of at least 5 % each.
    """
    level, area, row, col = _grain_levels(gray, labels)
    if level.size < 8:
        return None
    dark = _otsu_split(level, area)
    for _ in range(FLATTEN_ROUNDS):
        if dark.all() or not dark.any():
            return None
        dark = _otsu_split(_flatten(level, dark, row, col), area)
    flat = _flatten(level, dark, row, col)
    groups = [flat[dark], flat[~dark]]
    weights = [area[dark], area[~dark]]
    if min(g.size for g in groups) < 2:
        return None
    means = [np.average(g, weights=w) for g, w in zip(groups, weights, strict=True)]
    spread = sum(np.average((g - m) ** 2, weights=w)
                 for g, m, w in zip(groups, means, weights, strict=True))
    separation = math.sqrt(2.0) * abs(means[1] - means[0]) / max(math.sqrt(spread), 1e-6)
    fraction = float(area[dark].sum() / area.sum())
    if (separation < PHASE_SEPARATION or abs(means[1] - means[0]) < MIN_PHASE_CONTRAST
            or min(fraction, 1.0 - fraction) < MIN_PHASE_FRACTION):
        return None
    return round(fraction, 4)
