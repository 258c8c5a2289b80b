"""Annealing twins: parallel-sided bands across a grain, merged back into their parent.

ASTM E112 disregards twin boundaries. An annealing twin cuts its parent grain with a band
between two straight, parallel traces; the parent on both sides has one orientation, so
one gray level. A region is taken for a twin band when

- two of its borders are straight (rms deviation from their fitted line below
  ``TWIN_STRAIGHT_PX``) and parallel (within ``TWIN_ANGLE_DEG``), lie on opposite sides of
  it and are each at least ``TWIN_MIN_ASPECT`` times longer than their separation;
- it fills the strip between them (area / (separation x length) in ``TWIN_FILL``) and is
  narrow beside its grain (``TWIN_MAX_WIDTH_SHARE``);
- the two regions across them differ in gray level by no more than a fraction
  ``TWIN_TONE_SHARE`` of the typical step between neighbouring regions;
- the three together form a convex grain (solidity >= ``TWIN_SOLIDITY``);
- none of the three belongs to a run of ``LAMELLAR_MIN_PLATES`` such strips side by side:
  that is a stack of plates (a lamellar colony: pearlite, Widmanstätten laths), whose
  plates are the units to count.

Band and parent pieces are then merged (a grain with several bands collapses in a chain).

In the line modes, ``merge_faint`` first removes boundary lines much shallower than the
others when they form a population of their own: twin boundaries etch far less than grain
boundaries. A shallow line as dark (bright) as the deep ones is no twin trace: it runs
beside a dark grain (a dark-etching grain; in an EBSD band-contrast map a grain of poor
pattern quality, where every boundary is a line of about one gray) and cannot be deeper.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import ConvexHull, QhullError

from ._grain_filters import maximum_filter, minimum_filter
from ._grain_merge import relabel
from ._grain_tables import border_pairs, bounding_boxes, unique_inverse

__all__ = ["merge_faint", "merge_twins"]

TWIN_STRAIGHT_PX = 0.9
"""Largest rms distance of a twin trace's pixels from its fitted line, px."""
TWIN_ANGLE_DEG = 6.0
"""Largest angle between the two traces of a band, degrees."""
TWIN_MIN_ASPECT, TWIN_MIN_TRACE_PX = 1.5, 8.0
"""Each trace is at least 1.5 band widths and 8 px long."""
TWIN_MAX_WIDTH_SHARE = 0.3
"""A twin band is at most 0.3 times as wide as the square root of its grain's area (band
and both parent pieces): annealing twins are lamellae, not a third of the grain."""
TWIN_FILL = (0.6, 1.6)
"""Band area over (trace separation x mean trace length)."""
TWIN_TONE_SHARE = 0.5
"""The two parent pieces differ in gray by at most half the median step between
neighbouring regions: one orientation, one gray."""
TWIN_SOLIDITY = 0.88
"""Parent pieces and band together fill this share of their convex hull's pixels (grains
are convex; the segmented outline is not quite)."""
FAINT_SEPARATION = 3.0
"""The faint lines are removed only when they form a population of their own: Ashman's D of
their mean depths against the other borders' at least 3 (etched grain boundaries of a real
steel vary in depth continuously; twin traces are a class apart)."""
FAINT_SHARE, FAINT_MIN_BORDERS, FAINT_REACH_PX = 0.5, 20, 3
"""Line modes: a boundary line less than half as deep as the median border's is a twin
boundary (or a scratch); judged among at least 20 borders, from the extreme gray within
3 px of the border."""
LAMELLAR_MIN_PLATES = 4
"""Four or more parallel-sided regions side by side are a stack of plates (a lamellar
colony), not a grain with one or two twin bands (band, middle piece, band: three)."""
INTERIOR_MARGIN_PX, LEVEL_SAMPLE_STRIDE = 2, 2
"""A region's gray level is the mean of its pixels this far from any other region, px."""


def merge_twins(labels: np.ndarray, gray: np.ndarray) -> tuple[np.ndarray, int]:
    """Merge twin bands into their parent grains.

    Args:
        labels: ``(H, W)`` int region labels 1..n (0: excluded pixels, left alone).
        gray: ``(H, W)`` image in [0, 1].

    Returns:
        (labels renumbered 1..m, number of bands merged).
    """
    traces = _traces(labels)
    if traces is None:
        return labels, 0
    a, b, centre, direction, rms, length = traces
    level = _levels(labels, gray)
    steps = np.abs(level[a] - level[b])
    steps = steps[np.isfinite(steps)]
    tone = TWIN_TONE_SHARE * float(np.median(steps)) if steps.size else 0.0
    area = np.bincount(labels.ravel(), minlength=int(labels.max()) + 1)
    band, k1, k2 = _trace_pairs(a, b, (rms <= TWIN_STRAIGHT_PX) & (length >= TWIN_MIN_TRACE_PX))
    p1, p2 = a[k1] + b[k1] - band, a[k2] + b[k2] - band
    keep = _is_band(band, k1, k2, centre, direction, length, area)
    stack = _lamellar(a, b, np.unique(band[keep]), area.size)
    keep &= _width(k1, k2, centre, direction) <= TWIN_MAX_WIDTH_SHARE * np.sqrt(
        area[band] + area[p1] + area[p2])
    keep &= ~(stack[band] | stack[p1] | stack[p2])
    keep &= np.abs(level[p1] - level[p2]) <= tone  # NaN (no interior) fails
    if not keep.any():
        return labels, 0
    boxes = bounding_boxes(labels)
    pairs = [(int(t), int(u), int(v)) for t, u, v in zip(band[keep], p1[keep], p2[keep],
                                                         strict=True)
             if _solidity(labels, boxes, (int(t), int(u), int(v))) >= TWIN_SOLIDITY]
    if not pairs:
        return labels, 0
    t, u, v = np.array(pairs).T
    return relabel(labels, np.concatenate([t, t]), np.concatenate([u, v])), int(t.size)


def _lamellar(a: np.ndarray, b: np.ndarray, strips: np.ndarray, n: int) -> np.ndarray:
    """Per label: whether it belongs to a run of at least ``LAMELLAR_MIN_PLATES`` adjacent
    strips (parallel-sided regions)."""
    is_strip = np.zeros(n, bool)
    is_strip[strips] = True
    both = is_strip[a] & is_strip[b]
    graph = coo_matrix((np.ones(int(both.sum())), (a[both], b[both])), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    size = np.bincount(component[is_strip], minlength=n)
    return is_strip & (size[component] >= LAMELLAR_MIN_PLATES)


def _trace_pairs(a: np.ndarray, b: np.ndarray, usable: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(region, trace k1, trace k2) for every two usable traces of one region, k1 < k2."""
    ks = np.flatnonzero(usable)
    region = np.concatenate([a[ks], b[ks]])
    trace = np.concatenate([ks, ks])
    order = np.lexsort((trace, region))
    region, trace = region[order], trace[order]
    starts = np.flatnonzero(np.r_[True, region[1:] != region[:-1]])
    counts = np.diff(np.r_[starts, region.size])
    out = [[], [], []]
    for m in range(2, int(counts.max(initial=0)) + 1):
        first = starts[counts == m]
        if first.size == 0:
            continue
        i, j = np.triu_indices(m, 1)
        out[0].append(np.repeat(region[first], i.size))
        out[1].append(trace[(first[:, None] + i).ravel()])
        out[2].append(trace[(first[:, None] + j).ravel()])
    if not out[0]:
        return (np.zeros(0, np.int64),) * 3
    return tuple(np.concatenate(v) for v in out)


def merge_faint(labels: np.ndarray, smooth: np.ndarray, dark: bool) -> tuple[np.ndarray, int]:
    """Merge across boundary lines much shallower than the others: twin boundaries etch far
    less than grain boundaries.

    A line's depth at a border pixel is how far the extreme gray within ``FAINT_REACH_PX``
    lies below (dark lines) or above (bright lines) the nearer gray level of the two
    regions, as a share of that level; a border is faint when fewer than half of its pixels
    reach ``FAINT_SHARE`` of the median depth of all border pixels (the ends of a twin trace
    touch the deep grain boundaries it runs between), and its mean line gray is less
    extreme than the median line gray of the other borders' pixels (a line shallow only
    because the grain beside it is dark is as dark as any grain boundary). Faint borders
    are removed when they stand apart from the others (``FAINT_SEPARATION``).

    Returns:
        (labels renumbered 1..m, number of borders removed).
    """
    size = 2 * FAINT_REACH_PX + 1
    extreme = (minimum_filter if dark else maximum_filter)(smooth, size)
    parts = []
    pick = np.minimum if dark else np.maximum
    flat, flat_extreme = labels.ravel(), extreme.ravel()
    for q, step in border_pairs(labels):
        pv, qv = flat[q + step], flat[q]
        keep = (pv > 0) & (qv > 0)
        q = q[keep]
        parts.append((pv[keep], qv[keep], pick(flat_extreme[q + step], flat_extreme[q])))
    a, b, line = (np.concatenate(v) for v in zip(*parts, strict=True))
    if a.size == 0:
        return labels, 0
    level = _levels(labels, smooth)
    near = np.fmin(level[a], level[b]) if dark else np.fmax(level[a], level[b])
    depth = (near - line) / np.maximum(near, 1e-3) if dark else (line - near) / np.maximum(
        line, 1e-3)
    depth = np.nan_to_num(depth, nan=1.0)
    reference = float(np.median(depth))
    n = int(labels.max()) + 1
    low, high = np.minimum(a, b).astype(np.int64), np.maximum(a, b)
    keys, inverse = unique_inverse(low * n + high)
    if keys.size < FAINT_MIN_BORDERS:
        return labels, 0
    length = np.bincount(inverse).astype(np.float64)
    deep = np.bincount(inverse, weights=depth >= FAINT_SHARE * reference) / length
    faint = deep < 0.5
    if faint.any() and not faint.all():
        # A line shallow beside a dark grain (bright-field: a dark-etching grain; EBSD band
        # contrast: a grain of poor pattern quality) can be no deeper: only a line whose own
        # gray is less extreme than that of the typical deep line is a twin trace.
        typical = float(np.median(line[~faint[inverse]]))
        mean_line = np.bincount(inverse, weights=line) / length
        faint &= mean_line > typical if dark else mean_line < typical
    if not faint.any() or _separation(np.bincount(inverse, weights=depth) / length, length,
                                      faint) < FAINT_SEPARATION:
        return labels, 0
    return relabel(labels, keys[faint] // n, keys[faint] % n), int(faint.sum())


def _separation(value: np.ndarray, weight: np.ndarray, low: np.ndarray) -> float:
    """Ashman's D between the weighted values in ``low`` and the others."""
    if low.all():
        return 0.0
    groups = [(value[low], weight[low]), (value[~low], weight[~low])]
    means = [np.average(v, weights=w) for v, w in groups]
    spread = sum(np.average((v - m) ** 2, weights=w) for (v, w), m in zip(groups, means,
                                                                          strict=True))
    return math.sqrt(2.0) * abs(means[1] - means[0]) / max(math.sqrt(spread), 1e-9)


def _traces(labels: np.ndarray) -> tuple[np.ndarray, ...] | None:
    """Per adjacent label pair a < b: a, b, centre (k, 2) of the border, unit direction
    (k, 2) of its fitted line, rms distance from the line (px) and length (px, that of a
    uniform segment with the same second moment)."""
    parts = []
    flat = labels.ravel()
    for down, (q, step) in enumerate(border_pairs(labels)):
        pv, qv = flat[q + step], flat[q]
        keep = (pv > 0) & (qv > 0)
        rows, cols = np.divmod(q[keep], labels.shape[1])
        pv, qv = pv[keep], qv[keep]  # the trace point lies between the two pixels
        parts.append((np.minimum(pv, qv), np.maximum(pv, qv), cols + 0.5 * (1 - down),
                      rows + 0.5 * down))
    a, b, x, y = (np.concatenate(v) for v in zip(*parts, strict=True))
    if a.size == 0:
        return None
    n = int(labels.max()) + 1
    keys, inverse = unique_inverse(a.astype(np.int64) * n + b)
    count = np.bincount(inverse).astype(np.float64)
    x0, y0 = x - x.mean(), y - y.mean()

    def mean(v: np.ndarray) -> np.ndarray:
        return np.bincount(inverse, weights=v) / count

    mx, my = mean(x0), mean(y0)
    cxx, cyy = mean(x0 * x0) - mx**2, mean(y0 * y0) - my**2
    cxy = mean(x0 * y0) - mx * my
    half, root = (cxx + cyy) / 2, np.sqrt(((cxx - cyy) / 2) ** 2 + cxy**2)
    angle = 0.5 * np.arctan2(2 * cxy, cxx - cyy)
    direction = np.column_stack([np.cos(angle), np.sin(angle)])
    rms = np.sqrt(np.maximum(half - root, 0.0))
    length = np.sqrt(12.0 * (half + root))
    return (keys // n, keys % n, np.column_stack([mx, my]), direction, rms, length)


def _width(k1: np.ndarray, k2: np.ndarray, centre: np.ndarray, direction: np.ndarray
           ) -> np.ndarray:
    """Distance between the lines of traces k1 and k2 (along k1's normal), px."""
    offset = centre[k2] - centre[k1]
    return np.abs(offset[:, 1] * direction[k1][:, 0] - offset[:, 0] * direction[k1][:, 1])


def _is_band(band: np.ndarray, k1: np.ndarray, k2: np.ndarray, centre: np.ndarray,
             direction: np.ndarray, length: np.ndarray, area: np.ndarray) -> np.ndarray:
    """Whether traces k1 and k2 bound ``band`` as the two sides of a parallel strip."""
    d1, d2 = direction[k1], direction[k2]
    parallel = np.abs(np.sum(d1 * d2, axis=1)) >= math.cos(math.radians(TWIN_ANGLE_DEG))
    width = _width(k1, k2, centre, direction)
    long = np.minimum(length[k1], length[k2])
    fill = area[band] / np.maximum(width * (length[k1] + length[k2]) / 2, 1e-9)
    return (parallel & (width >= 1.0) & (long >= TWIN_MIN_ASPECT * width)
            & (fill >= TWIN_FILL[0]) & (fill <= TWIN_FILL[1]))


def _levels(labels: np.ndarray, gray: np.ndarray) -> np.ndarray:
    """Mean gray per label over its interior, sampled every ``LEVEL_SAMPLE_STRIDE`` rows and
    columns: pixels whose neighbours ``INTERIOR_MARGIN_PX`` away along x and y carry the
    same label (NaN for a label without interior)."""
    m, k = INTERIOR_MARGIN_PX, LEVEL_SAMPLE_STRIDE
    core = labels[m:-m:k, m:-m:k]
    same = ((core == labels[:-2 * m:k, m:-m:k]) & (core == labels[2 * m::k, m:-m:k])
            & (core == labels[m:-m:k, :-2 * m:k]) & (core == labels[m:-m:k, 2 * m::k]))
    n = int(labels.max()) + 1
    where = np.flatnonzero(same)
    inner = core.ravel()[where]
    count = np.bincount(inner, minlength=n).astype(np.float64)
    total = np.bincount(inner, weights=gray[m:-m:k, m:-m:k].ravel()[where], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


def _solidity(labels: np.ndarray, boxes: np.ndarray, group: tuple[int, int, int]) -> float:
    """Pixels of the union of ``group``'s regions over the pixels its convex hull holds;
    ``boxes`` from ``bounding_boxes``."""
    box = boxes[list(group)]
    y0, x0 = int(box[:, 0].min()), int(box[:, 2].min())
    crop = labels[y0:int(box[:, 1].max()), x0:int(box[:, 3].max())]
    member = np.isin(crop, group)
    ys, xs = np.nonzero(member)
    if ys.size < 3:
        return 0.0
    try:
        hull = ConvexHull(np.column_stack([xs, ys]).astype(np.float64))
    except QhullError:
        return 0.0
    gy, gx = np.indices(crop.shape, dtype=np.float64)
    inside = np.ones(crop.shape, bool)
    for nx, ny, offset in hull.equations:
        inside &= nx * gx + ny * gy + offset <= 1e-9
    return float(ys.size / max(np.count_nonzero(inside), 1))
