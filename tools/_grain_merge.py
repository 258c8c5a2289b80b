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

__all__ = ["Borders", "line_borders", "merge_regions", "neighbour_pairs", "relabel",
           "step_borders"]

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


def neighbour_pairs(labels: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, tuple, tuple]]:
    """The two neighbour relations (right, down): p labels, q labels, p index, q index."""
    return [(labels[:, 1:], labels[:, :-1], (slice(None), slice(1, None)),
             (slice(None), slice(None, -1))),
            (labels[1:], labels[:-1], (slice(1, None), slice(None)),
             (slice(None, -1), slice(None)))]


def _table(labels: np.ndarray, a: np.ndarray, b: np.ndarray, values: np.ndarray,
           counted: np.ndarray, signed: bool) -> Borders:
    """Sum per pair key; ``a``/``b`` unordered labels, values oriented a side minus b side."""
    low, high = np.minimum(a, b).astype(np.int64), np.maximum(a, b).astype(np.int64)
    if signed:
        values = np.where(a < b, values, -values)
    n = int(labels.max()) + 1
    keys, inverse = np.unique(low * n + high, return_inverse=True)
    return Borders(keys // n, keys % n, np.bincount(inverse).astype(np.float64),
                   np.bincount(inverse, weights=values * counted),
                   np.bincount(inverse, weights=counted.astype(np.float64)), signed)


def line_borders(labels: np.ndarray, z: np.ndarray) -> Borders:
    """Line evidence: per pixel pair across a border the larger strength z-score, minus
    ``BORDER_OFFSET_Z`` and clipped to ``EVIDENCE_CLIP``."""
    evidence = np.clip(z - BORDER_OFFSET_Z, *EVIDENCE_CLIP)
    parts = []
    for p, q, ip, iq in neighbour_pairs(labels):
        differ = p != q
        parts.append((p[differ], q[differ],
                      np.maximum(evidence[ip][differ], evidence[iq][differ])))
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
    relations = ((1, labels[:, 1:] != labels[:, :-1]), (stride, labels[1:] != labels[:-1]))
    for step, differ in relations:
        rows, cols = np.nonzero(differ)
        q = (rows + d_max) * stride + cols + d_max
        total, count = _offset_steps(flat_l, flat_v, q, step)
        parts.append((flat_l[q + step], flat_l[q], total / np.maximum(count, 1), count > 0))
        rows, cols = np.nonzero(~differ[::k, ::k])
        q = (rows * k + d_max) * stride + cols * k + d_max
        total, count = _offset_steps(flat_l, flat_v, q, step)
        inside.append(total[count == len(STEP_OFFSETS_PX)] / len(STEP_OFFSETS_PX))
    flat = np.concatenate(inside)
    noise = 1.4826 * float(np.median(np.abs(flat - np.median(flat)))) if flat.size else 1.0
    a, b, v, c = (np.concatenate(x) for x in zip(*parts, strict=True))
    noise = max(noise, 1e-6)
    table = _table(labels, a, b, v / noise, c, signed=True)
    n = int(labels.max()) + 1
    gray = (np.bincount(labels.ravel(), smooth.ravel() / noise, n),
            np.bincount(labels.ravel(), minlength=n).astype(np.float64))
    return dataclasses.replace(table, gray=gray)


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


def merge_regions(labels: np.ndarray, borders: Borders) -> tuple[np.ndarray, np.ndarray]:
    """Merge neighbouring regions, weakest border first, until every border is significant;
    then merge specks into the neighbour they share most border with.

    Returns:
        (labels renumbered 1..m, ``(k, 3)`` total, length and samples of the borders left).

    Merging two regions adds up their borders with each common neighbour, so a short weak
    contact next to a long strong boundary does not merge two grains. A speck is smaller
    than ``MIN_GRAIN_PX``, or than ``MIN_GRAIN_SHARE`` of the median region unless the frame
    cuts it.
    """
    table = {(int(i), int(j)): [float(t), float(n), float(s)] for i, j, n, t, s in zip(
        borders.a, borders.b, borders.length, borders.total, borders.samples, strict=True)}
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
    heap = [(score(*v), *k) for k, v in table.items()]
    heapq.heapify(heap)
    while heap and heap[0][0] < 0:
        value, i, j = heapq.heappop(heap)
        if (i, j) not in table or score(*table[(i, j)]) != value:
            continue
        if gray_sum is not None and abs(gray_sum[i] / gray_count[i] - gray_sum[j]
                                        / gray_count[j]) > MEAN_VETO_Z:
            continue
        for key in _absorb(i, j, table, neighbours, borders.signed):
            heapq.heappush(heap, (score(*table[key]), *key))
        parent[j], sizes[i], edge[i] = i, sizes[i] + sizes[j], edge[i] | edge[j]
        if gray_sum is not None:
            gray_sum[i] += gray_sum[j]
            gray_count[i] += gray_count[j]
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
