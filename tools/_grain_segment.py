"""Grain segmentation of micrographs: boundary strength -> cores -> regions -> merging.

Boundary contrasts (``mode``):

- ``dark``: etched optical images, thin dark boundary lines (black top-hat);
- ``bright``: thin bright boundary films, e.g. β between α laths in BSE images (white top-hat);
- ``contrast``: grains that differ in gray level, no lines (SEM channelling, EBSD maps):
  gradient magnitude.

Pixels below a noise-relative strength threshold form grain cores, split at narrow necks
(so a gap in a boundary does not join two grains) by a hierarchy of depths; cores grow
back and every boundary pixel joins its nearest core (a distance-transform watershed, much
faster than flooding). The regions are over-segmented on purpose: neighbours are then
merged, weakest border first, unless the border shows significant evidence of a boundary
(line strength, or for ``contrast`` a consistent gray step), and specks are absorbed.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import ndimage as ndi
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from skimage.filters import threshold_otsu

from csmbench.errors import ToolError

__all__ = ["BoundaryMode", "Segmentation", "choose_mode", "segment_grains"]

BoundaryMode = Literal["auto", "dark", "bright", "contrast"]

SMOOTH_SIGMA_PX = {"dark": 1.0, "bright": 1.0, "contrast": 2.0}
"""Gaussian pre-smoothing against detector noise, px, per mode."""
TOPHAT_SIZE_PX = 9
"""Side of the square top-hat window, px: boundary lines up to ~7 px wide are kept."""
MODE_TOPHAT_PX, MODE_PERCENTILE, MODE_RATIO = 3, 99.5, 1.6
"""Line boundaries: one top-hat sign's 99.5th percentile exceeds the other's 1.6 times
(3 px window on the 2 x 2 binned image)."""
MODE_HIGHPASS_PX, MODE_NETWORK_SHARE, MODE_NETWORK = 31, 25.0, (0.7, 0.35)
"""Line boundaries: the darkest (brightest) 25 % of the image minus its 31-binned-px box mean
has >= 70 % in one 8-connected component while the opposite 25 % has < 35 %."""
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
CORE_Z = {"dark": 4.5, "bright": 4.5, "contrast": 1.5}
"""Grain cores lie below this boundary strength, noise spreads above the interior."""
MAX_SPECK_PX, MIN_CORE_PX = 30, 6
"""Strong islands below 30 px (etch pits) count as grain; cores below 6 px as boundary."""
CORE_DEPTHS_PX = (0, 1, 2, 4, 6, 9)
"""Depths (chessboard px) of the core mask at which necks are cut."""
SHARE_STEPS = 3
"""Growth steps into a shared component beyond the depth step between levels, px."""
BORDER_OFFSET_Z, EVIDENCE_CLIP = 1.0, (-2.0, 4.0)
"""Line evidence per border pixel: z-score minus 1, clipped to [-2, 4] so that a few very
strong pixels (a border's ends at a junction) cannot carry a border."""
STEP_OFFSET_Z, STEP_CORRELATION_PX = 1.5, 4.0
"""Step evidence counts from a mean step of 1.5 pixel-to-pixel noise spreads; the smoothed
noise is correlated over 4 px along a border."""
BORDER_Z = 3.0
"""A border stays when its evidence z-score exceeds this."""
MIN_GRAIN_PX, MIN_GRAIN_SHARE = 12, 0.05
"""Regions below 12 px or 5 % of the median region are specks, merged into a neighbour."""


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
    return ndi.gaussian_filter(gray.astype(np.float32), SMOOTH_SIGMA_PX[mode], truncate=3.0)


def _strength_of(smooth: np.ndarray, mode: str) -> np.ndarray:
    """Top-hat (dark, bright) or central-difference gradient magnitude (contrast)."""
    size = (TOPHAT_SIZE_PX, TOPHAT_SIZE_PX)
    if mode == "dark":
        return ndi.grey_closing(smooth, size=size) - smooth
    if mode == "bright":
        return smooth - ndi.grey_opening(smooth, size=size)
    gy, gx = np.zeros_like(smooth), np.zeros_like(smooth)
    gy[1:-1] = smooth[2:] - smooth[:-2]
    gx[:, 1:-1] = smooth[:, 2:] - smooth[:, :-2]
    return np.hypot(gx, gy) / 2.0


def choose_mode(gray: np.ndarray) -> Literal["dark", "bright", "contrast"]:
    """The boundary contrast of an image: thin dark lines, thin bright lines or gray steps.

    Two tests on the image binned 2 x 2: thin lines give a top-hat response of one sign
    only, while a step between two gray levels gives both alike (``MODE_RATIO``); and the
    darkest (brightest) quarter of the high-passed image forms one connected network when it
    is the boundary lines, scattered blobs when it is grains (``MODE_NETWORK``), which
    settles fine-grained images whose small grains are themselves "thin" bright features.
    """
    h, w = (gray.shape[0] // 2) * 2, (gray.shape[1] // 2) * 2
    binned = ((gray[0:h:2, 0:w:2] + gray[1:h:2, 0:w:2] + gray[0:h:2, 1:w:2]
               + gray[1:h:2, 1:w:2]) / 4).astype(np.float32)
    size = (MODE_TOPHAT_PX, MODE_TOPHAT_PX)
    black = np.percentile((ndi.grey_closing(binned, size=size) - binned)[::2], MODE_PERCENTILE)
    white = np.percentile((binned - ndi.grey_opening(binned, size=size))[::2], MODE_PERCENTILE)
    ratio = float(black / max(white, 1e-9))
    detail = binned - ndi.uniform_filter(binned, MODE_HIGHPASS_PX)
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
    labels = _grain_regions(z, CORE_Z[used])
    if used == "contrast":
        labels = _merge_regions(labels, _step_evidence(smooth), signed=True)
    else:
        labels = _merge_regions(labels, np.clip(z - BORDER_OFFSET_Z, *EVIDENCE_CLIP))
    full = np.zeros(gray.shape, np.int32)
    full[:region.shape[0]] = labels
    return Segmentation(full, used, tuple(notes))


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


def _grain_regions(strength: np.ndarray, threshold: float) -> np.ndarray:
    """Label image of grain regions: cores split at necks, then every pixel to its nearest core.

    The weak-strength mask (isolated strong specks such as etch pits filled in) is labelled
    at several depths of its chessboard distance map, deepest first. A component that holds
    no core yet becomes a new core; one that holds one core is given to it; one that holds
    several is shared among them by nearness. So two grains joined through a gap in their
    boundary keep separate cores, and the cores grow back out level by level. Finally each
    boundary pixel joins its nearest core.
    """
    depth = ndi.distance_transform_cdt(_fill_specks(strength < threshold), "chessboard")
    cores = np.zeros(strength.shape, np.int32)
    first = np.zeros(1, np.int32)  # flat index of one pixel of each core (index = label)
    deeper = CORE_DEPTHS_PX[-1]
    for level in CORE_DEPTHS_PX[::-1]:
        components, n = ndi.label(depth > level)
        cores, first = _grow_cores(cores, first, components, n, deeper - level + SHARE_STEPS)
        deeper = level
    return _nearest(cores) if first.size > 1 else np.ones_like(cores)


def _nearest(labels: np.ndarray) -> np.ndarray:
    """Every pixel labelled as its nearest labelled pixel (chessboard distance)."""
    iy, ix = ndi.distance_transform_cdt(labels == 0, "chessboard", return_distances=False,
                                        return_indices=True)
    return labels[iy, ix]


def _fill_specks(inside: np.ndarray) -> np.ndarray:
    """``inside`` with strong islands smaller than ``MAX_SPECK_PX`` (pits, noise) set inside."""
    islands, n = ndi.label(~inside)
    sizes = np.bincount(islands.ravel(), minlength=n + 1)
    speck = sizes < MAX_SPECK_PX
    speck[0] = False
    return inside | speck[islands]


def _grow_cores(cores: np.ndarray, first: np.ndarray, components: np.ndarray, n: int,
                steps: int) -> tuple[np.ndarray, np.ndarray]:
    """One level: a component without a core becomes one, a component with one core is given
    to it, a component with several is grown into by them (``steps`` px). ``first`` holds a
    pixel (flat index) of each core; components nest, so it tells each core's component.
    Returns the new cores and ``first`` extended by the new ones.
    """
    flat = components.ravel()
    holder = flat[first[1:]]
    held = np.bincount(holder, minlength=n + 1)
    owner = np.zeros(n + 1, np.int32)
    owner[holder] = np.arange(1, first.size, dtype=np.int32)
    owner[held != 1] = 0
    new = (held == 0) & (np.bincount(flat, minlength=n + 1) >= MIN_CORE_PX)
    new[0] = False
    owner[new] = first.size + np.arange(int(new.sum()), dtype=np.int32)
    pixel = np.zeros(n + 1, np.int32)
    pixel[flat] = np.arange(flat.size, dtype=np.int32)
    grown = np.maximum(cores, owner[components])  # a filled component's core is its owner
    if (held > 1).any():
        _share(grown, components, held > 1, steps)
    return grown, np.concatenate([first, pixel[new]])


def _share(cores: np.ndarray, components: np.ndarray, shared: np.ndarray, steps: int) -> None:
    """Grow the cores of components held by several cores into their free pixels (in place).

    A geodesic growth inside each component, one 4-neighbour layer per step for ``steps``
    steps (ties to the larger label), worked on the growth front only; what is left stays
    free for the next level.
    """
    flat, comp = cores.ravel(), components.ravel()
    free = shared[comp] & (flat == 0)
    front = np.flatnonzero(free)
    for _ in range(steps):
        best = np.zeros(front.size, np.int32)
        for near in _neighbours(front, cores.shape):
            best = np.maximum(best, np.where(comp[near] == comp[front], flat[near], 0))
        front = front[best > 0]
        if front.size == 0:
            return
        flat[front] = best[best > 0]
        free[front] = False
        mark = np.zeros(flat.size, bool)
        for near in _neighbours(front, cores.shape):
            mark[near[free[near]]] = True
        front = np.flatnonzero(mark)


def _neighbours(index: np.ndarray, shape: tuple[int, int]) -> list[np.ndarray]:
    """Flat indices of the 4 neighbours of flat ``index`` (the pixel itself at the edges)."""
    width, size = shape[1], shape[0] * shape[1]
    column = index % width
    return [np.where(index >= width, index - width, index),
            np.where(index < size - width, index + width, index),
            np.where(column > 0, index - 1, index),
            np.where(column < width - 1, index + 1, index)]


def _edge_table(labels: np.ndarray, values: np.ndarray, signed: bool = False
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per adjacent label pair a < b: (a, b, border length px, summed pair values).

    A 4-neighbour pixel pair across the border adds the larger of its two values or, with
    ``signed``, the value on the a side minus the value on the b side.
    """
    parts = []
    for p, q, vp, vq in ((labels[:, 1:], labels[:, :-1], values[:, 1:], values[:, :-1]),
                         (labels[1:], labels[:-1], values[1:], values[:-1])):
        differ = p != q
        a, b, va, vb = p[differ], q[differ], vp[differ], vq[differ]
        v = np.where(a < b, va - vb, vb - va) if signed else np.maximum(va, vb)
        parts.append((np.minimum(a, b).astype(np.int64), np.maximum(a, b), v))
    a, b, v = (np.concatenate(x) for x in zip(*parts, strict=True))
    n = int(labels.max()) + 1
    keys, inverse = np.unique(a * n + b, return_inverse=True)
    length = np.bincount(inverse).astype(np.float64)
    return keys // n, keys % n, length, np.bincount(inverse, weights=v)


def _relabel(labels: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Merge the label pairs (a[i], b[i]) transitively; labels renumbered 1..n."""
    n = int(labels.max()) + 1
    graph = coo_matrix((np.ones(a.size), (a, b)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    _, dense = np.unique(component[1:], return_inverse=True)
    remap = np.zeros(n, np.int32)
    remap[1:] = dense + 1
    return remap[labels]


def _noise_units(strength: np.ndarray) -> np.ndarray:
    """A strength map turned (in place) into z-scores: (strength - interior level) / spread."""
    level, spread, _ = _levels(strength)
    strength -= level
    strength /= spread
    return strength


def _step_evidence(smooth: np.ndarray) -> np.ndarray:
    """The smoothed image in units of its pixel-to-pixel noise, for signed step tests.

    Summed across a border (one side minus the other) it measures the gray step there.
    """
    steps = np.diff(smooth[::2], axis=1).ravel()
    noise = 1.4826 * float(np.median(np.abs(steps - np.median(steps))))
    return smooth / max(noise, 1e-6)


def _merge_regions(labels: np.ndarray, evidence: np.ndarray, signed: bool = False
                   ) -> np.ndarray:
    """Merge neighbouring regions, weakest border first, until every border is significant;
    then merge specks into the neighbour they share most border with.

    A border's score is ``sum(evidence) / sqrt(length) - BORDER_Z``, a z-test of its mean
    evidence (``signed``: of the absolute mean step across it). Merging two regions adds up
    their borders with each common neighbour, so a short weak contact next to a long strong
    boundary does not merge two grains. A speck is smaller than ``MIN_GRAIN_PX`` or
    ``MIN_GRAIN_SHARE`` of the median region (etch pits ringed by a strong gray step).
    """
    a, b, length, total = _edge_table(labels, evidence, signed)
    borders = {(int(i), int(j)): (float(t), float(n))
               for i, j, n, t in zip(a, b, length, total, strict=True)}
    parent = np.arange(int(labels.max()) + 1)
    sizes = np.bincount(labels.ravel(), minlength=parent.size).astype(np.float64)
    neighbours: dict[int, set[int]] = {int(r): set() for r in np.flatnonzero(sizes[1:]) + 1}
    for i, j in borders:
        neighbours[i].add(j)
        neighbours[j].add(i)
    score = _abs_score if signed else _score
    heap = [(score(*v), k[0], k[1]) for k, v in borders.items()]
    heapq.heapify(heap)
    while heap and heap[0][0] < 0:
        value, i, j = heapq.heappop(heap)
        if (i, j) in borders and score(*borders[(i, j)]) == value:
            for key in _absorb(i, j, borders, neighbours, signed):
                heapq.heappush(heap, (score(*borders[key]), *key))
            parent[j], sizes[i] = i, sizes[i] + sizes[j]
    live = np.array(sorted(neighbours, key=lambda r: sizes[r]))
    min_px = max(MIN_GRAIN_PX, MIN_GRAIN_SHARE * float(np.median(sizes[live])))
    for r in live[sizes[live] < min_px]:
        if neighbours.get(r):
            k = max(neighbours[r], key=lambda n: borders[(min(r, n), max(r, n))][1])
            _absorb(k, r, borders, neighbours, signed)
            parent[r], sizes[k] = k, sizes[k] + sizes[r]
    moved = np.flatnonzero(parent != np.arange(parent.size))
    return _relabel(labels, moved, parent[moved])


def _score(total: float, length: float) -> float:
    """Border significance: negative for a border to merge, more so when long and weak."""
    return total / math.sqrt(length) - BORDER_Z


def _abs_score(total: float, length: float) -> float:
    """Significance of a step border: its mean size above ``STEP_OFFSET_Z``, as a z-score."""
    excess = abs(total) - STEP_OFFSET_Z * length
    return excess / math.sqrt(STEP_CORRELATION_PX * length) - BORDER_Z


def _absorb(i: int, j: int, borders: dict[tuple[int, int], tuple[float, float]],
            neighbours: dict[int, set[int]], signed: bool) -> list[tuple[int, int]]:
    """Merge region ``j`` into ``i``: its borders add to ``i``'s; returns the changed keys.

    Signed totals are kept oriented from the smaller label to the larger one.
    """
    del borders[(min(i, j), max(i, j))]
    neighbours[i].discard(j)
    changed = []
    for k in neighbours.pop(j):
        if k == i:
            continue
        total, length = borders.pop((min(j, k), max(j, k)))
        if signed and (j < k) != (i < k):
            total = -total
        neighbours[k].discard(j)
        key = (min(i, k), max(i, k))
        have = borders.get(key, (0.0, 0.0))
        borders[key] = (have[0] + total, have[1] + length)
        neighbours[i].add(k)
        neighbours[k].add(i)
        changed.append(key)
    return changed
