"""Grain regions from a boundary-strength map: cores split at necks, then grown back out.

Pixels below a strength threshold form grain cores, split at narrow necks (so a gap in a
boundary does not join two grains) by a hierarchy of depths; every other pixel then joins
a core, either the nearest one (a distance-transform watershed, fast) or the one that
reaches it first when the strength map is flooded level by level (borders on the ridges).
The regions are over-segmented on purpose; ``_grain_merge`` merges them.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from ._grain_filters import maximum_filter, minimum_filter

__all__ = ["grain_regions"]

MAX_SPECK_PX, MIN_CORE_PX = 30, 6
"""Strong islands below 30 px (etch pits) count as grain; cores below 6 px as boundary."""
CORE_DEPTHS_PX = (0, 1, 2, 4, 6, 9)
"""Depths (chessboard px) of the core mask at which necks are cut."""
NEW_CORE_DEPTH_PX = 0
"""A core must reach deeper than this into the core mask: a sliver of it along a boundary
is no grain."""
SHARE_STEPS = 3
"""Growth steps into a shared component beyond the depth step between levels, px."""
FLOOD_LEVELS_PER_E = 6.0
"""Flooding levels per unit of log(1 + z): z = 1 at level 4, 10 at 14, 100 at 27."""


def grain_regions(strength: np.ndarray, threshold: float, ridges: bool = False) -> np.ndarray:
    """Label image of grain regions (1..n): cores split at necks, every pixel to a core.

    The weak-strength mask (isolated strong specks such as etch pits filled in) is labelled
    at several depths of its chessboard distance map, deepest first. A component that holds
    no core yet becomes a new core; one that holds one core is given to it; one that holds
    several is shared among them by nearness. So two grains joined through a gap in their
    boundary keep separate cores, and the cores grow back out level by level. Finally each
    boundary pixel joins its nearest core, or with ``ridges`` the core that reaches it first
    when flooding the strength map (a watershed: borders run along the strength ridges).

    Args:
        strength: ``(H, W)`` boundary strength in noise units (z-scores).
        threshold: Cores lie below this strength.
        ridges: Flood instead of joining the nearest core.
    """
    masks = _depth_masks(_fill_specks(strength < threshold))
    # Everything below works on arrays framed by one pixel of background, so that the flat
    # indices of a pixel's neighbours are plain offsets (no edge tests).
    cores = np.zeros((strength.shape[0] + 2, strength.shape[1] + 2), np.int32)
    first = np.zeros(1, np.int64)  # flat index of one pixel of each core (index = label)
    deeper = CORE_DEPTHS_PX[-1]
    for level in CORE_DEPTHS_PX[::-1]:
        components, n = ndi.label(np.pad(masks[level], 1))
        cores, first = _grow_cores(cores, first, components, n, deeper - level + SHARE_STEPS,
                                   create=level >= NEW_CORE_DEPTH_PX)
        deeper = level
    if first.size == 1:
        return np.ones(strength.shape, np.int32)
    cores[[0, -1]] = FRAME
    cores[:, [0, -1]] = FRAME
    grown = _flood(cores, np.pad(strength, 1)) if ridges else _nearest(cores)
    return np.ascontiguousarray(grown[1:-1, 1:-1])


FRAME = -1
"""Label of the one-pixel frame around the working arrays: never free, never the largest."""
NEAREST_FRONT_SHARE = 0.01
"""Nearest-core growth goes from whole-image layers to a front once fewer than 1 % of the
pixels are free."""


def _depth_masks(inside: np.ndarray) -> dict[int, np.ndarray]:
    """Per level of ``CORE_DEPTHS_PX``: the pixels of ``inside`` farther than that from
    its outside (chessboard distance; the image's frame is no outside), by successive
    erosions with squares."""
    masks, mask, reached = {}, inside, 0
    for level in CORE_DEPTHS_PX:
        if level > reached:
            mask = minimum_filter(mask, 2 * (level - reached) + 1)
            reached = level
        masks[level] = mask
    return masks


def _offsets(width: int, diagonal: bool) -> tuple[int, ...]:
    """Flat index offsets of the 4 (or with ``diagonal`` 8) neighbours in rows of ``width``."""
    sides = (-width, width, -1, 1)
    return sides + (-width - 1, -width + 1, width - 1, width + 1) if diagonal else sides


def _unique(index: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """``index`` without repeats (one of each kept); ``seen`` is scratch space of the
    image's size."""
    seen[index] = np.arange(index.size)
    return index[seen[index] == np.arange(index.size)]


def _nearest(labels: np.ndarray) -> np.ndarray:
    """Every free (0) pixel of a framed label image labelled as a nearest labelled pixel
    (chessboard distance), ties to the larger label.

    Breadth-first growth by 8-neighbour layers: while many pixels are free, a layer is a
    3 x 3 maximum filter of the whole image; the last few pixels are grown into from a
    front of flat indices.
    """
    grown = labels.copy()
    free = grown == 0
    while np.count_nonzero(free) > NEAREST_FRONT_SHARE * grown.size:
        layer = maximum_filter(grown, 3)
        np.copyto(grown, layer, where=free)
        np.equal(grown, 0, out=free)
    flat, free = grown.ravel(), free.ravel()
    offsets = _offsets(grown.shape[1], diagonal=True)
    seen = np.zeros(flat.size, np.int64)
    front = np.flatnonzero(free)
    while front.size:
        best = np.zeros(front.size, np.int32)
        for offset in offsets:
            np.maximum(best, flat[front + offset], out=best)
        front, best = front[best > 0], best[best > 0]
        flat[front] = best
        free[front] = False
        near = np.concatenate([front + offset for offset in offsets])
        front = _unique(near[free[near]], seen)
    return grown


def _flood(cores: np.ndarray, strength: np.ndarray) -> np.ndarray:
    """Watershed by flooding: the strength map quantized on a log scale, the free pixels of
    each level taken in order, each grown into from the labelled pixels by breadth-first
    4-neighbour layers (ties to the larger label), leftovers carried to the next level.

    The growth of a level starts from that level's pixels only: a leftover of an earlier
    level has no labelled neighbour (its growth ran to the end), so it can only be reached
    through the new pixels, and stays open (``open_``) until it is.
    """
    labels = cores.ravel().copy()
    offsets = _offsets(cores.shape[1], diagonal=False)
    free = np.flatnonzero(labels == 0)
    level = np.log1p(np.maximum(strength.ravel()[free], 0.0))
    level *= FLOOD_LEVELS_PER_E
    level = level.astype(np.int16)  # a few dozen levels: a stable sort is a radix sort
    order = np.argsort(level, kind="stable")
    free, level = free[order], level[order]
    bounds = np.searchsorted(level, np.arange(int(level.max(initial=0)) + 2))
    open_ = np.zeros(labels.size, bool)
    seen = np.zeros(labels.size, np.int64)
    for k in range(bounds.size - 1):
        front = free[bounds[k]:bounds[k + 1]]
        open_[front] = True
        while front.size:
            best = np.zeros(front.size, np.int32)
            for offset in offsets:
                np.maximum(best, labels[front + offset], out=best)
            got = front[best > 0]
            labels[got] = best[best > 0]
            open_[got] = False
            near = np.concatenate([got + offset for offset in offsets])
            front = _unique(near[open_[near]], seen)
    return labels.reshape(cores.shape)


def _fill_specks(inside: np.ndarray) -> np.ndarray:
    """``inside`` with strong islands smaller than ``MAX_SPECK_PX`` (pits, noise) set inside."""
    islands, n = ndi.label(~inside)
    sizes, _ = _runs(islands.ravel(), n)
    speck = sizes < MAX_SPECK_PX
    speck[0] = False
    return inside | speck[islands]


def _runs(flat: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel count of each label 0..n of a flat label image, and the flat index of one of
    its pixels (from the runs of equal labels, far fewer than pixels)."""
    change = np.empty(flat.size, bool)
    change[0] = True
    np.not_equal(flat[1:], flat[:-1], out=change[1:])
    starts = np.flatnonzero(change)
    label = flat[starts]
    count = np.bincount(label, weights=np.diff(starts, append=flat.size), minlength=n + 1)
    pixel = np.zeros(n + 1, np.int64)
    pixel[label] = starts
    return count, pixel


def _grow_cores(cores: np.ndarray, first: np.ndarray, components: np.ndarray, n: int,
                steps: int, create: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """One level: a component without a core becomes one (if ``create``), a component with
    one core is given to it, a component with several is grown into by them (``steps`` px).
    ``first`` holds a pixel (flat index) of each core; components nest, so it tells each
    core's component. Returns the new cores and ``first`` extended by the new ones.
    """
    flat = components.ravel()
    holder = flat[first[1:]]
    held = np.bincount(holder, minlength=n + 1)
    owner = np.zeros(n + 1, np.int32)
    owner[holder] = np.arange(1, first.size, dtype=np.int32)
    owner[held != 1] = 0
    size, pixel = _runs(flat, n)
    new = (held == 0) & (size >= MIN_CORE_PX) & create
    new[0] = False
    owner[new] = first.size + np.arange(int(new.sum()), dtype=np.int32)
    grown = np.maximum(cores, owner[components])  # a filled component's core is its owner
    if (held > 1).any():
        _share(grown, components, held > 1, steps)
    return grown, np.concatenate([first, pixel[new]])


def _share(cores: np.ndarray, components: np.ndarray, shared: np.ndarray, steps: int) -> None:
    """Grow the cores of components held by several cores into their free pixels (in place).

    A geodesic growth inside each component, one 4-neighbour layer per step for ``steps``
    steps (ties to the larger label), worked on the growth front only; what is left stays
    free for the next level. The arrays are framed (background border).
    """
    flat, comp = cores.ravel(), components.ravel()
    offsets = _offsets(cores.shape[1], diagonal=False)
    free = shared[comp] & (flat == 0)
    front = np.flatnonzero(free)
    seen = np.zeros(flat.size, np.int64)
    for _ in range(steps):
        best = np.zeros(front.size, np.int32)
        here = comp[front]
        for offset in offsets:
            near = front + offset
            np.maximum(best, np.where(comp[near] == here, flat[near], 0), out=best)
        front = front[best > 0]
        if front.size == 0:
            return
        flat[front] = best[best > 0]
        free[front] = False
        near = np.concatenate([front + offset for offset in offsets])
        front = _unique(near[free[near]], seen)
