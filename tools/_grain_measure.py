"""ASTM E112 / E1382 measurement of a grain label image: intercepts, Jeffries count, shapes.

- intercept: test lines along every row, column and both diagonals (0°, 90°, 45°, 135°);
  a line with k boundary crossings intercepts k - 1 whole grains plus its two end segments
  (counted ½ each), N = k. Per direction P_L = N / L; the mean lineal intercept is
  ℓ = 1 / mean(P_L) over the four directions, equal weights (E112 averages N_L over the
  test directions of non-equiaxed structures);
- planimetric (Jeffries, rectangle): N = N_inside + ½ N_intercepted + 1 (the four corner
  grains count ¼ each), N_A = N / A;
- G from E112: intercept G = -6.643856 log10(ℓ / mm) - 3.288, planimetric
  G = 3.321928 log10(N_A · mm²) - 2.954.

Also the grains' shapes (area, aspect ratio), the area share of a darker grain population
(two phases) and the height of an instrument databar to exclude.
"""

from __future__ import annotations

import math

import numpy as np

from ._grain_tables import border_pairs, row_runs, unique_inverse

__all__ = ["astm_g_intercept", "astm_g_planimetric", "cut_labels", "find_databar",
           "intercept_counts",
           "jeffries_count", "mean_intercept_px", "phase_fraction", "shape_stats"]

DIRECTIONS = ((0, 1, 1.0, "0"), (1, 1, math.sqrt(2.0), "45"), (1, 0, 1.0, "90"),
              (1, -1, math.sqrt(2.0), "135"))
"""Test-line directions: (row step, column step, step length px, angle in degrees)."""
PHASE_SEPARATION, MIN_PHASE_CONTRAST, MIN_PHASE_FRACTION = 4.0, 0.1, 0.05
"""Two phases: grain gray levels split with Ashman's D >= 4, means >= 0.1 apart (of full
scale 1), each phase >= 5 % of the area."""
PHASE_ROUNDS, MIN_PHASE_GRAINS = 3, 8
"""Rounds of shading removal and re-splitting; fewest grains with an interior to split."""
PHASE_SAMPLE_STRIDE = 2
"""Grain levels are averaged over every 2nd row and column of the interiors."""
MIN_PHASE_LEVEL = 1e-3
"""Grain levels are floored at this (of full scale 1) before taking logs."""
PHASE_MARGIN_PX = 2
"""Pixels whose neighbours this far away (in x or y) lie in another grain are left out of a
grain's mean gray level, px."""
DATABAR_ROW_FRACTION, DATABAR_LINE_FRACTION = 0.5, 0.9
"""A databar row has >= 50 % of its pixels exactly at the strip's 8-bit background gray (a
specimen row, with its noise, a few per cent); a frame line >= 90 % at one gray."""
DATABAR_MAX_GAP_ROWS, DATABAR_MAX_SHARE = 6, 0.35
"""Rows of other content tolerated inside a databar; its largest share of the height."""


def astm_g_intercept(mean_intercept_mm: float) -> float:
    """ASTM E112 grain size number from the mean lineal intercept ℓ in mm.

    Example:
        >>> round(astm_g_intercept(0.0400), 2)  # E112: G = 6 at ℓ = 40.0 µm
        6.0
    """
    return -6.643856 * math.log10(mean_intercept_mm) - 3.288


def astm_g_planimetric(grains_per_mm2: float) -> float:
    """ASTM E112 grain size number from the grains per mm² N_A.

    Example:
        >>> round(astm_g_planimetric(496.0), 2)  # E112: G = 6 at 496 grains/mm²
        6.0
    """
    return 3.321928 * math.log10(grains_per_mm2) - 2.954


def intercept_counts(labels: np.ndarray) -> dict[str, tuple[float, int]]:
    """``{"0": (length_px, crossings), "45": ..., "90": ..., "135": ...}`` of a label image.

    Every row, column and diagonal is a test line; label 0 (excluded pixels) interrupts it.
    """
    counts = {}
    h, w = labels.shape
    excluded = bool((labels <= 0).any())
    for dy, dx, step, name in DIRECTIONS:
        p = labels[dy:, max(dx, 0):w + min(dx, 0)]
        q = labels[:h - dy, max(-dx, 0):w - max(dx, 0)]
        if not excluded:  # every pixel pair lies on a test line
            counts[name] = (float(p.size) * step, int(np.count_nonzero(p != q)))
            continue
        valid = (p > 0) & (q > 0)
        counts[name] = (float(np.count_nonzero(valid)) * step,
                        int(np.count_nonzero(valid & (p != q))))
    return counts


def mean_intercept_px(counts: dict[str, tuple[float, int]]) -> float:
    """ℓ = 1 / mean(P_L) over the directions with test lines, px (inf: no crossing).

    Example:
        >>> round(mean_intercept_px({"0": (100.0, 10), "90": (100.0, 5)}), 3)  # P_L 0.1, 0.05
        13.333
    """
    p_l = [n / length for length, n in counts.values() if length > 0]
    mean = sum(p_l) / len(p_l) if p_l else 0.0
    return 1.0 / mean if mean > 0 else math.inf


def cut_labels(labels: np.ndarray) -> np.ndarray:
    """The labels (> 0) cut by the edge of the analysed area: on the frame, or beside an
    excluded pixel (label 0: an annotation box inside the image)."""
    cut = [labels[0], labels[-1], labels[:, 0], labels[:, -1]]
    if not labels.all():
        flat = labels.ravel()
        for q, step in border_pairs(labels):
            first, second = flat[q], flat[q + step]
            cut += [first[second == 0], second[first == 0]]
    cut = np.unique(np.concatenate(cut))
    return cut[cut > 0]


def jeffries_count(labels: np.ndarray) -> float:
    """E112 planimetric count N of a rectangle of labels: inside + ½ edge + ¼ per corner grain.

    Grains beside excluded pixels (label 0) are cut by the edge of the analysed area too;
    divide N by the number of labelled pixels for N_A.

    Example:
        >>> yy, xx = np.indices((8, 8))
        >>> squares = (yy + 2) // 4 * 3 + (xx + 2) // 4 + 1  # 4 px squares cut by the frame
        >>> float(jeffries_count(squares) / squares.size)  # N_A = 1 / 16 per px²
        0.0625
    """
    edge = cut_labels(labels)
    corners = np.unique([labels[0, 0], labels[0, -1], labels[-1, 0], labels[-1, -1]])
    inside = np.count_nonzero(np.bincount(labels.ravel())[1:]) - edge.size
    intercepted = np.setdiff1d(edge, corners).size
    return inside + 0.5 * intercepted + 0.25 * 4


def shape_stats(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per label 1..n: area (px), aspect ratio (>= 1, from second moments), touches the edge.

    The moments are summed over the runs of one label along each row (closed forms of the
    sums over a run's columns), far fewer than pixels.
    """
    n = int(labels.max())
    start, label, length = row_runs(labels)
    length = length.astype(np.float64)
    y, x0 = (v.astype(np.float64) for v in np.divmod(start, labels.shape[1]))
    tail = length * (length - 1)  # sum over k < length of 2k
    sum_x = length * x0 + tail / 2
    sum_xx = length * x0 * x0 + x0 * tail + tail * (2 * length - 1) / 6

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(label, weights=values, minlength=n + 1)

    area = total(length)
    safe = np.maximum(area, 1.0)
    my, mx = total(length * y) / safe, total(sum_x) / safe
    cyy = total(length * y * y) / safe - my**2 + 1 / 12
    cxx = total(sum_xx) / safe - mx**2 + 1 / 12
    cxy = total(y * sum_x) / safe - my * mx
    half_trace, root = (cyy + cxx) / 2, np.sqrt(((cyy - cxx) / 2) ** 2 + cxy**2)
    aspect = np.sqrt((half_trace + root) / np.maximum(half_trace - root, 1e-12))
    edge = np.zeros(n + 1, bool)
    edge[cut_labels(labels)] = True
    return area[1:], aspect[1:], edge[1:]


def phase_fraction(gray: np.ndarray, labels: np.ndarray, *, force: bool = False
                   ) -> float | None:
    """Area share of the darker grain population when the grains' gray levels split in two.

    With ``force`` (two phases known to be there) the split is reported whatever its
    separation, as long as both groups hold grains.

    Each grain's level is the mean of its interior. The area-weighted levels are split by
    Otsu's criterion, then a quadratic shading surface is fitted to them together with the
    offset between the two groups, removed, and the split redone (``PHASE_ROUNDS`` times).
    That split counts as two phases when Ashman's D of the flattened groups exceeds
    ``PHASE_SEPARATION``, their means differ by ``MIN_PHASE_CONTRAST`` and each holds at
    least ``MIN_PHASE_FRACTION`` of the area. The fraction itself is measured the same way
    on a log scale (uneven illumination multiplies the grays, and so the step between the
    phases), each grain then checked against the grains it touches (``_local_check``).
    """
    level, area, where, ids = _grain_levels(gray, labels)
    if level.size < MIN_PHASE_GRAINS:
        return None
    if not force:
        split = _shading_split(level, area, where)
        if split is None or not _two_phases(*split, area):
            return None
    log_level = np.log(np.maximum(level, MIN_PHASE_LEVEL))
    split = _shading_split(log_level, area, where)
    if split is None:
        return None
    dark = _local_check(split[0], split[1], _surroundings(labels, ids))
    return round(float(area[dark].sum() / area.sum()), 4)


def _shading_split(level: np.ndarray, area: np.ndarray, where: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray] | None:
    """(flattened levels, darker-group mask) after ``PHASE_ROUNDS`` rounds of splitting and
    shading removal, or None when a round leaves one group, or a group of one grain."""
    dark = _otsu_split(level, area)
    for _ in range(PHASE_ROUNDS):
        if dark.all() or not dark.any():
            return None
        level = _flatten(level, dark, where)
        dark = _otsu_split(level, area)
    return None if min(dark.sum(), (~dark).sum()) < 2 else (level, dark)


def _two_phases(level: np.ndarray, dark: np.ndarray, area: np.ndarray) -> bool:
    """Whether a split is one of two phases: Ashman's D, contrast and shares (see
    ``phase_fraction``)."""
    groups, weights = (level[dark], level[~dark]), (area[dark], area[~dark])
    means = [np.average(g, weights=w) for g, w in zip(groups, weights, strict=True)]
    spread = sum(np.average((g - m) ** 2, weights=w)
                 for g, m, w in zip(groups, means, weights, strict=True))
    separation = math.sqrt(2.0) * abs(means[1] - means[0]) / max(math.sqrt(spread), 1e-6)
    fraction = float(area[dark].sum() / area.sum())
    return (separation >= PHASE_SEPARATION and abs(means[1] - means[0]) >= MIN_PHASE_CONTRAST
            and min(fraction, 1 - fraction) >= MIN_PHASE_FRACTION)


def _surroundings(labels: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j) of indices into ``ids`` (labels) of touching grains, both ways."""
    flat = labels.ravel()
    first, second = zip(*[(flat[q], flat[q + step]) for q, step in border_pairs(labels)],
                        strict=True)
    n = int(labels.max()) + 1
    a, b = np.concatenate(first).astype(np.int64), np.concatenate(second)
    keys, _ = unique_inverse(np.minimum(a, b) * n + np.maximum(a, b))
    index = np.full(n, -1, np.int64)
    index[ids] = np.arange(ids.size)
    a, b = index[keys // n], index[keys % n]
    keep = (a >= 0) & (b >= 0) & (a != b)
    a, b = a[keep], b[keep]
    return np.concatenate([a, b]), np.concatenate([b, a])


def _local_check(level: np.ndarray, dark: np.ndarray, pairs: tuple[np.ndarray, np.ndarray]
                 ) -> np.ndarray:
    """The split redone grain by grain against the grains it touches (``pairs``): darker when
    below the midpoint of the mean dark and mean light level around it; with grains of
    one group only around it, below that group's mean shifted by half the global step
    between the groups. Shading that the smooth surface misses varies little from one
    grain to the next, the step between phases does not."""
    source, target = pairs
    step = float(level[~dark].mean() - level[dark].mean())
    means = []
    for group in (~dark[target], dark[target]):
        count = np.bincount(source[group], minlength=level.size)
        total = np.bincount(source[group], weights=level[target[group]], minlength=level.size)
        means.append((total / np.maximum(count, 1), count > 0))
    (light, has_light), (darker, has_dark) = means
    midpoint = np.where(has_light & has_dark, (light + darker) / 2,
                        np.where(has_light, light - step / 2, darker + step / 2))
    return np.where(has_light | has_dark, level < midpoint, dark)


def _grain_levels(gray: np.ndarray, labels: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per grain with an interior: mean interior gray, area (px), the (k, 5) quadratic
    terms (y, x, y², x², xy) of its centroid in frame fractions (-0.5 .. 0.5) and its
    label."""
    m, k = PHASE_MARGIN_PX, PHASE_SAMPLE_STRIDE
    core = labels[m:-m:k, m:-m:k]
    same = ((core == labels[:-2 * m:k, m:-m:k]) & (core == labels[2 * m::k, m:-m:k])
            & (core == labels[m:-m:k, :-2 * m:k]) & (core == labels[m:-m:k, 2 * m::k])
            & (core > 0))
    where = np.flatnonzero(same)
    inner = core.ravel()[where]
    rows, cols = np.divmod(where, same.shape[1])
    n = int(labels.max()) + 1
    count = np.bincount(inner, minlength=n)
    present = count > 0
    present[0] = False
    sums = [np.bincount(inner, weights=w, minlength=n)[present] / count[present]
            for w in (gray[m:-m:k, m:-m:k].ravel()[where], rows * k + m, cols * k + m)]
    y, x = sums[1] / labels.shape[0] - 0.5, sums[2] / labels.shape[1] - 0.5
    area = np.bincount(labels.ravel(), minlength=n)[present].astype(np.float64)
    return sums[0], area, np.column_stack([y, x, y * y, x * x, x * y]), np.flatnonzero(present)


def _otsu_split(level: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Mask of the darker group of an area-weighted Otsu split of the levels."""
    order = np.argsort(level)
    w, x = weight[order], level[order]
    w0, s0 = np.cumsum(w)[:-1], np.cumsum(w * x)[:-1]
    w1, s1 = w.sum() - w0, (w * x).sum() - s0
    split = int(np.argmax(w0 * w1 * (s0 / w0 - s1 / w1) ** 2)) + 1
    dark = np.zeros(level.size, bool)
    dark[order[:split]] = True
    return dark


def _flatten(level: np.ndarray, dark: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Levels less a quadratic shading surface fitted jointly with a dark-group offset."""
    design = np.column_stack([np.ones_like(level), dark.astype(np.float64), where])
    # the normal equations (7 x 7): as exact here as the SVD of the tall design, far cheaper
    coef, *_ = np.linalg.lstsq(design.T @ design, design.T @ level, rcond=None)
    return level - where @ coef[2:]


def find_databar(gray: np.ndarray) -> int:
    """Height of an instrument strip (databar) at the bottom of an image, px (0 if none).

    The strip's background is the commonest 8-bit gray of the bottom rows; strip rows have at
    least ``DATABAR_ROW_FRACTION`` of their pixels exactly at it (text, a scale bar, frame
    and separator lines allowed); the strip ends where, going up, that stops for good, plus
    any flat frame line above it.

    Example:
        >>> image = np.random.default_rng(0).uniform(0.3, 0.9, (100, 80))
        >>> image[80:] = 0.0; image[85:90, 10:50] = 1.0  # a black strip with a white bar
        >>> find_databar(image)
        20
    """
    height = gray.shape[0]
    start = max(int(height * (1 - DATABAR_MAX_SHARE)) - 2, 0)  # rows above cannot be a strip
    levels = np.round(gray[start:] * 255).astype(np.int64)
    background = np.bincount(levels[-max(4, height // 20):].ravel(), minlength=256).argmax()
    fraction = (levels == background).mean(axis=1)
    top, gap = levels.shape[0], 0
    for row in range(levels.shape[0] - 1, -1, -1):
        top, gap = (row, 0) if fraction[row] >= DATABAR_ROW_FRACTION else (top, gap + 1)
        if gap > DATABAR_MAX_GAP_ROWS:
            break
    while 0 < top < levels.shape[0] and (np.bincount(levels[top - 1]).max()
                                         >= DATABAR_LINE_FRACTION * levels.shape[1]):
        top -= 1  # the strip's flat frame line
    rows = levels.shape[0] - top
    return rows if 2 <= rows <= DATABAR_MAX_SHARE * height else 0
