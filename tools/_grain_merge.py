"""Merging over-segmented grain regions: border evidence tables and a weakest-first merge.

A border between two neighbouring regions carries evidence of being a grain boundary:

- line evidence (``dark``/``bright`` boundaries): the boundary-strength z-score of the
  pixel pairs across it (``line_borders``);
- step evidence (``contrast``): the gray step across it, one side minus the other, each
  side read ``STEP_OFFSETS_PX`` px away from the border (past the blur of the edge) where
  that pixel still lies in the same region, in units of the same statistic's noise inside
  regions (``step_borders``).

``merge_regions`` merges the weakest border first, adding up the borders of the merged
regions with each common neighbour, until every border is significant; then specks are
absorbed by the neighbour they share most border with. With step evidence, two regions whose
mean grays differ clearly are never merged: small grains meet at borders too short to show a
significant step, yet their whole areas show it.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ._grain_tables import border_pairs, unique_inverse

__all__ = ["Borders", "line_borders", "merge_regions", "relabel", "step_borders",
           "typical_step"]

BORDER_OFFSET_Z, EVIDENCE_CLIP = 1.0, (-2.0, 4.0)
"""Line evidence per border pixel: z-score minus 1, clipped to [-2, 4] so that a few very
strong pixels (a border's ends at a junction) cannot carry a border."""
STEP_OFFSETS_PX = (1, 2, 3)
"""A gray step is read between pixels this far beyond each side of the border, px."""
NOISE_SAMPLE_STRIDE = 3
"""The step noise is sampled every 3rd row and column, px."""
STEP_CORRELATION_PX = 4.0
"""Step samples along a border are correlated over about this length (smoothing), px."""
STEP_NULL_Z = 0.25
"""Mean step (noise units) of a border inside one grain: borders are drawn along the noise's
own gradient ridges, and shading varies across a grain; steps count from there."""
BORDER_Z = 3.0
"""A border stays when its evidence z-score exceeds this."""
MEAN_VETO_Z = 3.0
"""Step evidence: two regions whose mean grays differ by more than this (noise units) are
two grains, however short or blurred their border (small grains meet at short borders)."""
VETO_MARGIN_PX, VETO_SAMPLE_STRIDE = 2, 2
"""The mean grays compared are those of a region's pixels at least 2 px inside it (every
2nd row and column): a sliver along a border (no interior) takes its gray from the blur of
the border, and is no grain by that alone."""
MIN_GRAIN_PX, MIN_GRAIN_SHARE = 12, 0.05
"""Regions below 12 px or 5 % of the median region are specks, merged into a neighbour."""


@dataclass(frozen=True)
class Borders:
    """Per adjacent label pair a < b: border length, evidence total and evidence samples.

    Attributes:
        a: Smaller label of each pair.
        b: Larger label.
        length: 4-neighbour pixel pairs across the border.
        total: Summed evidence (signed ones oriented a side minus b side).
        samples: Evidence samples behind ``total`` (<= ``length``).
        signed: Whether the evidence is a signed step (tested by its absolute mean).
        gray: Per label, summed gray in noise units and pixel count (step evidence only).
    """

    a: np.ndarray
    b: np.ndarray
    length: np.ndarray
    total: np.ndarray
    samples: np.ndarray
    signed: bool
    gray: tuple[np.ndarray, np.ndarray] | None = None


def _table(labels: np.ndarray, a: np.ndarray, b: np.ndarray, values: np.ndarray,
           counted: np.ndarray, signed: bool) -> Borders:
    """Sum per pair key; ``a``/``b`` unordered labels, values oriented a side minus b side."""
    low, high = np.minimum(a, b).astype(np.int64), np.maximum(a, b).astype(np.int64)
    if signed:
        values = np.where(a < b, values, -values)
    n = int(labels.max()) + 1
    keys, inverse = unique_inverse(low * n + high)
    return Borders(keys // n, keys % n, np.bincount(inverse).astype(np.float64),
                   np.bincount(inverse, weights=values * counted),
                   np.bincount(inverse, weights=counted.astype(np.float64)), signed)


def line_borders(labels: np.ndarray, z: np.ndarray) -> Borders:
    """Line evidence: per pixel pair across a border the larger strength z-score, minus
    ``BORDER_OFFSET_Z`` and clipped to ``EVIDENCE_CLIP``."""
    evidence = np.clip(z - BORDER_OFFSET_Z, *EVIDENCE_CLIP).ravel()
    flat = labels.ravel()
    parts = [(flat[q + step], flat[q], np.maximum(evidence[q + step], evidence[q]))
             for q, step in border_pairs(labels)]
    a, b, v = (np.concatenate(x) for x in zip(*parts, strict=True))
    return _table(labels, a, b, v, np.ones(v.size, bool), signed=False)


def step_borders(labels: np.ndarray, smooth: np.ndarray) -> Borders:
    """Step evidence in noise units: mean over ``STEP_OFFSETS_PX`` of smooth(p side, d px
    out) - smooth(q side, d px out), from the offsets whose far pixels lie in the regions.

    The noise unit is the robust spread of the same statistic inside single regions
    (sampled every ``NOISE_SAMPLE_STRIDE`` rows and columns).
    """
    d_max = max(STEP_OFFSETS_PX)
    stride = labels.shape[1] + 2 * d_max
    flat_l = np.pad(labels, d_max, mode="edge").ravel()
    flat_v = np.pad(smooth, d_max, mode="edge").ravel()
    k = NOISE_SAMPLE_STRIDE
    parts, inside = [], []
    # per relation (right, down): the pairs across borders, and every k-th pair inside
    samples = ((labels[::k, 1::k], labels[::k, :-1:k]), (labels[1::k, ::k], labels[:-1:k, ::k]))
    for (border, _), step, (p_sample, q_sample) in zip(border_pairs(labels), (1, stride),
                                                       samples, strict=True):
        rows, cols = np.divmod(border, labels.shape[1])
        q = (rows + d_max) * stride + cols + d_max
        total, count = _offset_steps(flat_l, flat_v, q, step)
        parts.append((flat_l[q + step], flat_l[q], total / np.maximum(count, 1), count > 0))
        rows, cols = np.divmod(np.flatnonzero(p_sample == q_sample), p_sample.shape[1])
        q = (rows * k + d_max) * stride + cols * k + d_max
        total, count = _offset_steps(flat_l, flat_v, q, step)
        inside.append(total[count == len(STEP_OFFSETS_PX)] / len(STEP_OFFSETS_PX))
    flat = np.concatenate(inside)
    noise = 1.4826 * float(np.median(np.abs(flat - np.median(flat)))) if flat.size else 1.0
    a, b, v, c = (np.concatenate(x) for x in zip(*parts, strict=True))
    noise = max(noise, 1e-6)
    table = _table(labels, a, b, v / noise, c, signed=True)
    return dataclasses.replace(table, gray=_interior_grays(labels, smooth / noise))


def _interior_grays(labels: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per label: summed ``values`` and count of its interior pixels (neighbours
    ``VETO_MARGIN_PX`` away along x and y carry its label: away from the blur of its
    borders), sampled every ``VETO_SAMPLE_STRIDE`` rows and columns."""
    m, k = VETO_MARGIN_PX, VETO_SAMPLE_STRIDE
    core = labels[m:-m:k, m:-m:k]
    inside = ((core == labels[:-2 * m:k, m:-m:k]) & (core == labels[2 * m::k, m:-m:k])
              & (core == labels[m:-m:k, :-2 * m:k]) & (core == labels[m:-m:k, 2 * m::k]))
    where = np.flatnonzero(inside)
    inner = core.ravel()[where]
    n = int(labels.max()) + 1
    return (np.bincount(inner, weights=values[m:-m:k, m:-m:k].ravel()[where], minlength=n),
            np.bincount(inner, minlength=n).astype(np.float64))


def _offset_steps(flat_l: np.ndarray, flat_v: np.ndarray, q: np.ndarray, step: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Summed far-side steps and their count for pixel pairs (q + step, q) of padded flat
    images, over the offsets whose far pixels keep the pair's labels."""
    total = np.zeros(q.size, np.float32)
    count = np.zeros(q.size, np.int8)
    p_label, q_label = flat_l[q + step], flat_l[q]
    for d in STEP_OFFSETS_PX:
        far_p, far_q = q + step * (1 + d), q - step * d
        valid = (flat_l[far_p] == p_label) & (flat_l[far_q] == q_label)
        total += np.where(valid, flat_v[far_p] - flat_v[far_q], 0.0)
        count += valid
    return total, count


def relabel(labels: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Merge the label pairs (a[i], b[i]) transitively; labels renumbered 1..n (0 kept)."""
    n = int(labels.max()) + 1
    graph = coo_matrix((np.ones(a.size), (a, b)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    _, dense = np.unique(component[1:], return_inverse=True)
    remap = np.zeros(n, np.int32)
    remap[1:] = dense + 1
    return remap[labels]


def _line_score(total: float, length: float, samples: float) -> float:
    """Border significance: negative for a border to merge, more so when long and weak."""
    return total / math.sqrt(length) - BORDER_Z


def _step_score(total: float, length: float, samples: float) -> float:
    """Significance of a step border: its absolute mean step as a z-score (correlated
    samples); a border without samples (a corner contact) is left alone (0)."""
    if samples < 1:
        return 0.0
    excess = abs(total) - STEP_NULL_Z * samples
    return excess / math.sqrt(STEP_CORRELATION_PX * samples) - BORDER_Z


def _scores(borders: Borders) -> np.ndarray:
    """``_step_score`` or ``_line_score`` of every border at once (the same float
    operations, so the same values)."""
    total, length, samples = borders.total, borders.length, borders.samples
    if not borders.signed:
        return total / np.sqrt(length) - BORDER_Z
    with np.errstate(divide="ignore", invalid="ignore"):
        excess = np.abs(total) - STEP_NULL_Z * samples
        value = excess / np.sqrt(STEP_CORRELATION_PX * samples) - BORDER_Z
    return np.where(samples < 1, 0.0, value)


def typical_step(borders: np.ndarray) -> float:
    """Length-weighted median absolute mean step of ``(k, 3)`` step borders (total, length,
    samples), noise units; 0 without samples."""
    total, length, samples = borders[borders[:, 2] > 0].T
    if total.size == 0:
        return 0.0
    step = np.abs(total) / samples
    order = np.argsort(step)
    weight = np.cumsum(length[order])
    return float(step[order][np.searchsorted(weight, weight[-1] / 2)])


def _shading_score(floor: float) -> Callable[..., float]:
    """Step score that also merges a border whose mean step is below ``floor``: however
    significant, such a step is shading within a grain, not the step to another grain."""
    def score(total: float, length: float, samples: float) -> float:
        value = _step_score(total, length, samples)
        if samples < 1:
            return value
        return min(value, abs(total) / samples / floor - 1.0)
    return score


def _shading_scores(borders: np.ndarray, floor: float) -> np.ndarray:
    """``_shading_score(floor)`` of ``(k, 3)`` borders at once (the same float operations,
    so the same values)."""
    total, length, samples = borders.T
    step = _scores(Borders(np.zeros(0), np.zeros(0), length, total, samples, signed=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        shading = np.abs(total) / samples / floor - 1.0
    return np.where(samples < 1, step, np.minimum(step, shading))


def merge_regions(labels: np.ndarray, borders: Borders, shading_share: float | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Merge neighbouring regions, weakest border first, until every border is significant;
    then merge specks into the neighbour they share most border with.

    Args:
        labels: Region labels 1..n.
        borders: Their border evidence.
        shading_share: Step evidence only: after the merge, merge on across the borders
            whose mean step is below this share of the typical step of the borders left
            (``typical_step``); None: no such second pass.

    Returns:
        (labels renumbered 1..m, ``(k, 3)`` total, length and samples of the borders left).

    Merging two regions adds up their borders with each common neighbour, so a short weak
    contact next to a long strong boundary does not merge two grains. A speck is smaller
    than ``MIN_GRAIN_PX``, or than ``MIN_GRAIN_SHARE`` of the median region unless the frame
    cuts it.
    """
    table = {(i, j): [t, n, s] for i, j, n, t, s in zip(
        borders.a.tolist(), borders.b.tolist(), borders.length.tolist(),
        borders.total.tolist(), borders.samples.tolist(), strict=True)}
    parent = np.arange(int(labels.max()) + 1)
    sizes = np.bincount(labels.ravel(), minlength=parent.size).astype(np.float64)
    edge = np.zeros(parent.size, bool)  # cut by the frame: a small piece is still a grain
    edge[np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])] = True
    neighbours: dict[int, set[int]] = {int(r): set() for r in np.flatnonzero(sizes[1:]) + 1}
    for i, j in table:
        neighbours[i].add(j)
        neighbours[j].add(i)
    score: Callable[..., float] = _step_score if borders.signed else _line_score
    gray_sum, gray_count = (None, None) if borders.gray is None else (
        borders.gray[0].copy(), borders.gray[1].copy())

    def merge_weakest(heap: list, score: Callable[..., float]) -> None:
        """Merge across the border of lowest negative ``score`` until none is left."""
        heapq.heapify(heap)
        while heap and heap[0][0] < 0:
            value, i, j = heapq.heappop(heap)
            if (i, j) not in table or score(*table[(i, j)]) != value:
                continue
            if gray_sum is not None and gray_count[i] > 0 and gray_count[j] > 0 and abs(
                    gray_sum[i] / gray_count[i] - gray_sum[j] / gray_count[j]) > MEAN_VETO_Z:
                continue
            for key in _absorb(i, j, table, neighbours, borders.signed):
                heapq.heappush(heap, (score(*table[key]), *key))
            parent[j], sizes[i], edge[i] = i, sizes[i] + sizes[j], edge[i] | edge[j]
            if gray_sum is not None:
                gray_sum[i] += gray_sum[j]
                gray_count[i] += gray_count[j]

    merge_weakest(list(zip(_scores(borders).tolist(), borders.a.tolist(), borders.b.tolist(),
                           strict=True)), score)
    if borders.signed and shading_share is not None:
        left = np.array(list(table.values()), np.float64).reshape(-1, 3)
        typical = typical_step(left)
        if typical > 0:
            floor = shading_share * typical
            values = _shading_scores(left, floor).tolist()
            merge_weakest([(v, *k) for v, k in zip(values, table, strict=True)],
                          _shading_score(floor))
    live = np.array(sorted(neighbours, key=lambda r: sizes[r]))
    share = MIN_GRAIN_SHARE * float(np.median(sizes[live]))
    speck = (sizes[live] < MIN_GRAIN_PX) | ((sizes[live] < share) & ~edge[live])
    for r in live[speck]:
        if neighbours.get(r):
            k = max(neighbours[r], key=lambda n: table[(min(r, n), max(r, n))][1])
            _absorb(k, r, table, neighbours, borders.signed)
            parent[r], sizes[k] = k, sizes[k] + sizes[r]
    moved = np.flatnonzero(parent != np.arange(parent.size))
    left = np.array(list(table.values()), np.float64).reshape(-1, 3)
    return relabel(labels, moved, parent[moved]), left


def _absorb(i: int, j: int, table: dict[tuple[int, int], list[float]],
            neighbours: dict[int, set[int]], signed: bool) -> list[tuple[int, int]]:
    """Merge region ``j`` into ``i``: its borders add to ``i``'s; returns the changed keys.

    Signed totals are kept oriented from the smaller label to the larger one.
    """
    del table[(min(i, j), max(i, j))]
    neighbours[i].discard(j)
    changed = []
    for k in neighbours.pop(j):
        if k == i:
            continue
        total, length, samples = table.pop((min(j, k), max(j, k)))
        if signed and (j < k) != (i < k):
            total = -total
        neighbours[k].discard(j)
        key = (min(i, k), max(i, k))
        have = table.setdefault(key, [0.0, 0.0, 0.0])
        have[0] += total
        have[1] += length
        have[2] += samples
        neighbours[i].add(k)
        neighbours[k].add(i)
        changed.append(key)
    return changed
