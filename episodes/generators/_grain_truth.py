"""Exact grain-size truth of a label image, by the definitions of ASTM E112-13 and E1382.

The label image *is* the specimen: pixel (i, j) is a unit square of grain labels[i, j].
Twin bands are not grains (E112 disregards twin boundaries), so only parent-grain labels
enter; the twin mask of `_microstructure` is never used here.

Mean lineal intercept (E112 section 14 "intercept procedure", E1382 section 10): every row
(0 deg), column (90 deg) and pixel diagonal (45 deg: lower left to upper right as displayed;
135 deg: lower right to upper left) of pixel centres is a test line; a row of W pixels is W px
long, a diagonal of n pixels n * sqrt(2) px. P counts grain-boundary intersections: a label
change between consecutive pixels of a line is one intersection; line ends inside a grain
count nothing (equivalently, E112's intercept count N with end segments scored 1/2 equals
P); a diagonal's end lies on a pixel corner of the frame edge and, when the two frame pixels
meeting there differ, exactly touches a boundary and scores 1/2 (E112). Tangent hits of the
pixel staircase are not counted. Per direction P_L = P / L; the mean intercept is
1 / mean(P_L) over the four directions (equal weights; pooling L and P would weigh the
diagonals sqrt(2) more).

Grains per area (E112-13 section 11, Jeffries planimetric procedure with a rectangle):
N_A = (N_inside + 0.5 N_intercepted + 1) / A, N_intercepted being the grains cut by the frame
edge except those at its four corners, each of which counts 1/4 (the "+ 1"); A = H W px^2.

Grain-size numbers (E112-13 Table 6 / eq. 3 and 5): G = 3.321928 log10(N_A / mm^-2) - 2.954
(planimetric) and G = -6.643856 log10(l / mm) - 3.288 (intercept). The two agree when
l^2 N_A = 0.7935; a 2-D Poisson-Voronoi tessellation (l = pi / (4 sqrt(N_A))) has
l^2 N_A = pi^2 / 16 = 0.617, so its G from the intercept is 0.363 above its planimetric G.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DIRECTIONS_DEG",
    "GrainTruth",
    "InterceptCount",
    "JeffriesCount",
    "g_from_grains_per_mm2",
    "g_from_intercept_mm",
    "grain_shapes",
    "grain_truth",
    "grains_per_mm2_for_g",
    "intercept_counts",
    "intercept_mm_for_g",
    "jeffries_count",
]

DIRECTIONS_DEG = (0, 45, 90, 135)
"""Directions of the test lines, degrees counterclockwise from +x as displayed."""
E112_PLANIMETRIC = (3.321928, -2.954)
"""G = slope * log10(N_A / mm^-2) + offset (E112-13)."""
E112_INTERCEPT = (-6.643856, -3.288)
"""G = slope * log10(mean intercept / mm) + offset (E112-13)."""
MIN_SHAPE_PX = 10
"""Smallest grain (px) whose aspect ratio is averaged: smaller ones are pixel noise."""
UM_PER_MM = 1e3


@dataclass(frozen=True)
class InterceptCount:
    """Intersections and test-line length of one direction.

    Attributes:
        direction_deg: 0, 45, 90 or 135.
        intersections: P, boundary intersections (halves from diagonal ends).
        length_px: Total test-line length L, px.
    """

    direction_deg: int
    intersections: float
    length_px: float

    @property
    def intercept_px(self) -> float:
        """Mean intercept L / P, px (inf when no boundary is crossed)."""
        return self.length_px / self.intersections if self.intersections else math.inf


@dataclass(frozen=True)
class JeffriesCount:
    """E112-13 rectangle count: N = N_inside + 0.5 N_intercepted + 0.25 * 4 corners.

    Attributes:
        inside: Grains not touching the frame edge.
        intercepted: Grains touching the edge but at none of the 4 corner pixels.
        corners: Distinct grains holding a corner pixel (1-4).
        equivalent: N, the equivalent number of whole grains.
    """

    inside: int
    intercepted: int
    corners: int
    equivalent: float


@dataclass(frozen=True)
class GrainTruth:
    """Grain-size truth of a label image (all lengths in µm, areas in mm^2 or µm^2).

    Attributes:
        um_per_px: Pixel size used, µm/px.
        area_mm2: Frame area, mm^2.
        n_grains: Grains with at least one pixel in the frame.
        n_interior: Grains not touching the frame edge (the shape statistics use these).
        jeffries: The E112 planimetric count.
        grains_per_mm2: N_A = jeffries.equivalent / area_mm2, mm^-2.
        mean_grain_area_um2: 1 / N_A, µm^2 (E112 mean grain area).
        intercepts: One `InterceptCount` per direction of `DIRECTIONS_DEG`.
        intercept_by_direction_um: L / P per direction, µm.
        mean_intercept_um: 1 / mean(P_L) over the four directions, µm.
        g_planimetric: E112 G from grains_per_mm2.
        g_intercept: E112 G from mean_intercept_um.
        ecd_mean_um: Mean equivalent-circle diameter sqrt(4 A / pi) of interior grains, µm.
        ecd_median_um: Median of the same, µm.
        ecd_std_um: Population standard deviation (ddof 0) of the same, µm.
        mean_aspect_ratio: Mean major / minor axis (skimage regionprops moments) of
            interior grains of >= `MIN_SHAPE_PX` px.
        second_phase_fraction: Area fraction of phase 2, or None for no phase map.
    """

    um_per_px: float
    area_mm2: float
    n_grains: int
    n_interior: int
    jeffries: JeffriesCount
    grains_per_mm2: float
    mean_grain_area_um2: float
    intercepts: tuple[InterceptCount, ...]
    intercept_by_direction_um: tuple[float, ...]
    mean_intercept_um: float
    g_planimetric: float
    g_intercept: float
    ecd_mean_um: float
    ecd_median_um: float
    ecd_std_um: float
    mean_aspect_ratio: float
    second_phase_fraction: float | None


def g_from_grains_per_mm2(grains_per_mm2: float) -> float:
    """ASTM E112 grain-size number from grains per mm^2 at 1x (planimetric)."""
    slope, offset = E112_PLANIMETRIC
    return slope * math.log10(grains_per_mm2) + offset


def g_from_intercept_mm(mean_intercept_mm: float) -> float:
    """ASTM E112 grain-size number from the mean lineal intercept in mm (-inf for inf)."""
    slope, offset = E112_INTERCEPT
    return -math.inf if math.isinf(mean_intercept_mm) else slope * math.log10(
        mean_intercept_mm) + offset


def grains_per_mm2_for_g(g: float) -> float:
    """Grains per mm^2 of ASTM grain-size number G (inverse of `g_from_grains_per_mm2`)."""
    slope, offset = E112_PLANIMETRIC
    return 10.0 ** ((g - offset) / slope)


def intercept_mm_for_g(g: float) -> float:
    """Mean lineal intercept in mm of ASTM grain-size number G (inverse of the E112 formula)."""
    slope, offset = E112_INTERCEPT
    return 10.0 ** ((g - offset) / slope)


def _changes(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.count_nonzero(a != b))


def intercept_counts(labels: np.ndarray) -> tuple[InterceptCount, ...]:
    """Intersections and line lengths along rows, columns and both diagonals.

    Args:
        labels: (H, W) integer grain labels.

    Returns:
        Counts for 0, 45, 90 and 135 degrees (see the module docstring for the rules).
    """
    h, w = labels.shape
    edge = (_changes(labels[0, 1:], labels[0, :-1]) + _changes(labels[-1, 1:], labels[-1, :-1])
            + _changes(labels[1:, 0], labels[:-1, 0]) + _changes(labels[1:, -1], labels[:-1, -1]))
    rows = _changes(labels[:, 1:], labels[:, :-1])
    cols = _changes(labels[1:, :], labels[:-1, :])
    up = _changes(labels[1:, :-1], labels[:-1, 1:]) + 0.5 * edge
    down = _changes(labels[1:, 1:], labels[:-1, :-1]) + 0.5 * edge
    diagonal = math.sqrt(2.0) * h * w
    return (InterceptCount(0, float(rows), float(h * w)), InterceptCount(45, up, diagonal),
            InterceptCount(90, float(cols), float(h * w)), InterceptCount(135, down, diagonal))


def jeffries_count(labels: np.ndarray) -> JeffriesCount:
    """E112-13 planimetric count in the frame rectangle (see `JeffriesCount`)."""
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    corners = np.unique(labels[[0, 0, -1, -1], [0, -1, 0, -1]])
    inside = int(np.unique(labels).size - border.size)
    intercepted = int(border.size - corners.size)
    return JeffriesCount(inside, intercepted, int(corners.size), inside + 0.5 * intercepted + 1.0)


def grain_shapes(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per label 0..max: area (px), major and minor axis (px) and whether it is interior.

    Axes are 4 sqrt(eigenvalues) of the central second moments of the pixel centres, as
    skimage.measure.regionprops' axis_major_length / axis_minor_length define them.
    """
    n = int(labels.max()) + 1
    flat = labels.ravel()
    y, x = np.divmod(np.arange(flat.size, dtype=np.float64), labels.shape[1])
    area = np.bincount(flat, minlength=n).astype(float)
    safe = np.maximum(area, 1.0)
    mx, my = np.bincount(flat, x, n) / safe, np.bincount(flat, y, n) / safe
    dx, dy = x - mx[flat], y - my[flat]
    cxx = np.bincount(flat, dx * dx, n) / safe
    cyy = np.bincount(flat, dy * dy, n) / safe
    cxy = np.bincount(flat, dx * dy, n) / safe
    half, root = (cxx + cyy) / 2.0, np.sqrt(((cxx - cyy) / 2.0) ** 2 + cxy**2)
    major, minor = 4.0 * np.sqrt(half + root), 4.0 * np.sqrt(np.maximum(half - root, 0.0))
    interior = area > 0
    interior[np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])] = False
    return area, major, minor, interior


def grain_truth(
    labels: np.ndarray, um_per_px: float, *, grain_phase: np.ndarray | None = None
) -> GrainTruth:
    """Compute the grain-size truth of a fully tiled label image.

    Args:
        labels: (H, W) integer labels >= 1, one per grain (twin bands not separate).
        um_per_px: Pixel size, µm/px.
        grain_phase: (labels.max() + 1,) phase per label (2 = second phase), or None.

    Returns:
        The truth; see `GrainTruth` and the module docstring for the definitions.

    Raises:
        ValueError: For label 0 (untiled pixels), a non-2-D image or a bad pixel size.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.size == 0 or labels.min() < 1:
        raise ValueError(f"labels must be a non-empty 2-D image of labels >= 1; got shape "
                         f"{labels.shape}, min {labels.min() if labels.size else None}")
    if not um_per_px > 0:
        raise ValueError(f"um_per_px must be > 0; got {um_per_px}")
    area_mm2 = labels.size * (um_per_px / UM_PER_MM) ** 2
    jeffries = jeffries_count(labels)
    counts = intercept_counts(labels)
    p_l = float(np.mean([c.intersections / c.length_px for c in counts]))
    mean_intercept_um = um_per_px / p_l if p_l > 0 else math.inf
    grains_per_mm2 = jeffries.equivalent / area_mm2
    area, major, minor, interior = grain_shapes(labels)
    ecd = np.sqrt(4.0 * area[interior] / np.pi) * um_per_px
    shaped = interior & (area >= MIN_SHAPE_PX) & (minor > 0)
    phase = None if grain_phase is None else float(np.mean(grain_phase[labels] == 2))
    return GrainTruth(
        um_per_px=um_per_px, area_mm2=area_mm2, n_grains=int(np.count_nonzero(area)),
        n_interior=int(interior.sum()), jeffries=jeffries, grains_per_mm2=grains_per_mm2,
        mean_grain_area_um2=1e6 / grains_per_mm2, intercepts=counts,
        intercept_by_direction_um=tuple(c.intercept_px * um_per_px for c in counts),
        mean_intercept_um=mean_intercept_um,
        g_planimetric=g_from_grains_per_mm2(grains_per_mm2),
        g_intercept=g_from_intercept_mm(mean_intercept_um / UM_PER_MM),
        ecd_mean_um=float(ecd.mean()) if ecd.size else math.nan,
        ecd_median_um=float(np.median(ecd)) if ecd.size else math.nan,
        ecd_std_um=float(ecd.std()) if ecd.size else math.nan,
        mean_aspect_ratio=float(np.mean(major[shaped] / minor[shaped])) if shaped.any()
        else math.nan,
        second_phase_fraction=phase,
    )
