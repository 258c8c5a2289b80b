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
    depth = ndi.distance_transform_cdt(_fill_specks(strength < threshold), "chessboard")
    cores = np.zeros(strength.shape, np.int32)
    first = np.zeros(1, np.int32)  # flat index of one pixel of each core (index = label)
    deeper = CORE_DEPTHS_PX[-1]
    for level in CORE_DEPTHS_PX[::-1]:
        components, n = ndi.label(depth > level)
        cores, first = _grow_cores(cores, first, components, n, deeper - level + SHARE_STEPS,
                                   create=level >= NEW_CORE_DEPTH_PX)
        deeper = level
    if first.size == 1:
        return np.ones_like(cores)
    return _flood(cores, strength) if ridges else _nearest(cores)


def _nearest(labels: np.ndarray) -> np.ndarray:
    """Every pixel labelled as its nearest labelled pixel (chessboard distance)."""
    iy, ix = ndi.distance_transform_cdt(labels == 0, "chessboard", return_distances=False,
                                        return_indices=True)
    return labels[iy, ix]


def _flood(cores: np.ndarray, strength: np.ndarray) -> np.ndarray:
    """Watershed by flooding: the strength map quantized on a log scale, the free pixels of
    each level taken in order, each grown into from the labelled pixels by breadth-first
    4-neighbour layers (ties to the larger label), leftovers carried to the next level.
    """
    level = np.log1p(np.maximum(strength, 0.0)).ravel()
    level *= FLOOD_LEVELS_PER_E
    level = level.astype(np.int32)
    labels = cores.ravel().copy()
    free = np.flatnonzero(labels == 0)
    free = free[np.argsort(level[free], kind="stable")]
    bounds = np.searchsorted(level[free], np.arange(int(level.max()) + 2))
    open_ = np.zeros(labels.size, bool)
    stamp = np.zeros(labels.size, np.int64)
    pending = np.zeros(0, np.int64)
    for k in range(bounds.size - 1):
        pool = np.concatenate([pending, free[bounds[k]:bounds[k + 1]]])
        open_[pool] = True
        front = pool
        while front.size:
            best = np.zeros(front.size, np.int32)
            for near in _neighbours(front, cores.shape):
                np.maximum(best, labels[near], out=best)
            got = front[best > 0]
            labels[got] = best[best > 0]
            open_[got] = False
            near = np.concatenate(_neighbours(got, cores.shape))
            near = near[open_[near]]
            stamp[near] = np.arange(near.size)
            front = near[stamp[near] == np.arange(near.size)]  # each pixel once
        pending = pool[open_[pool]]
    return labels.reshape(cores.shape)


def _fill_specks(inside: np.ndarray) -> np.ndarray:
    """``inside`` with strong islands smaller than ``MAX_SPECK_PX`` (pits, noise) set inside."""
    islands, n = ndi.label(~inside)
    sizes = np.bincount(islands.ravel(), minlength=n + 1)
    speck = sizes < MAX_SPECK_PX
    speck[0] = False
    return inside | speck[islands]


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
    new = (held == 0) & (np.bincount(flat, minlength=n + 1) >= MIN_CORE_PX) & create
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
