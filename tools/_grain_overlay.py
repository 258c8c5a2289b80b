"""Annotations drawn over a micrograph: a scale-bar box, a bare bar, a flat label panel.

Instruments and people draw scale bars, their boxes and text panels into the image itself.
Such a drawing is flat: its fill has one exact gray level, which a micrograph with its
detector noise never has over a whole region. A large flat region whose bounding box it
fills (text and a bar inside may break it up) is taken for an annotation, and its box is
excluded from the measurement, as a databar strip is. A flat grain (a saturated bright
grain, say) is no box: it fills little of its bounding box's rim.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

__all__ = ["find_annotations"]

MIN_FLAT_PX, MIN_SIDE_PX = 150, 3
"""An annotation's flat fill has at least 150 px, and its box is at least 3 px a side."""
MIN_BOX_FILL, MIN_RIM_FILL = 0.5, 0.9
"""The flat fill covers at least half its bounding box (the text and bar take the rest)
and 90 % of the box's one-pixel rim."""
MARGIN_PX = 2
"""The excluded box reaches this far beyond the flat fill (anti-aliased edges), px."""
MAX_FLAT_SHARE = 0.25
"""An image more than a quarter flat is drawn, not recorded (a noise-free rendering): its
flat regions are its content, and nothing is excluded."""


def find_annotations(gray: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Boxes (top, bottom, left, right; bottom and right exclusive) of the annotations
    drawn over an image: flat regions of one exact gray (2 x 2 blocks of equal pixels,
    connected) that fill their bounding box and its rim.

    The flat blocks are first looked for at even rows and columns only (a flat region
    3 px wide holds such a block), and the regions found there examined at full resolution.

    Example:
        >>> image = np.random.default_rng(0).uniform(0.2, 0.8, (120, 160))
        >>> image[80:100, 20:90] = 0.0; image[88:91, 30:80] = 1.0  # a black box with a bar
        >>> find_annotations(image)
        [(78, 102, 18, 92)]
    """
    coarse = _flat_blocks(gray, 2)
    count = np.count_nonzero(coarse)
    if 4 * count < MIN_FLAT_PX or count > MAX_FLAT_SHARE * coarse.size:
        return []
    regions, n = ndi.label(coarse)
    sizes = np.bincount(regions.ravel(), minlength=n + 1)
    candidates = np.flatnonzero(4 * sizes[1:] >= MIN_FLAT_PX // 2) + 1
    if candidates.size == 0:
        return []
    where = ndi.find_objects(regions)
    boxes = []
    for label in candidates:
        rows, cols = where[label - 1]
        top, left = max(2 * rows.start - 2, 0), max(2 * cols.start - 2, 0)
        window = gray[top:2 * rows.stop + 3, left:2 * cols.stop + 3]
        box = _window_box(window)
        if box is not None:
            boxes.append((box[0] + top, box[1] + top, box[2] + left, box[3] + left))
    height, width = gray.shape
    return sorted({(max(t - MARGIN_PX, 0), min(b + MARGIN_PX, height), max(lf - MARGIN_PX, 0),
                    min(r + MARGIN_PX, width)) for t, b, lf, r in boxes})


def _flat_blocks(gray: np.ndarray, stride: int) -> np.ndarray:
    """Whether the 2 x 2 block at every ``stride``-th row and column is of one exact gray."""
    corner = gray[:-1:stride, :-1:stride]
    return ((corner == gray[1::stride, :-1:stride]) & (corner == gray[:-1:stride, 1::stride])
            & (corner == gray[1::stride, 1::stride]))


def _window_box(window: np.ndarray) -> tuple[int, int, int, int] | None:
    """The box (top, bottom, left, right) of the largest flat region of ``window`` if it
    is an annotation, else None."""
    flat = np.zeros(window.shape, bool)  # every pixel of a flat 2 x 2 block
    block = _flat_blocks(window, 1)
    for rows, cols in ((slice(None, -1), slice(None, -1)), (slice(1, None), slice(None, -1)),
                       (slice(None, -1), slice(1, None)), (slice(1, None), slice(1, None))):
        flat[rows, cols] |= block
    regions, n = ndi.label(flat)
    if n == 0:
        return None
    label = int(np.argmax(np.bincount(regions.ravel())[1:])) + 1
    member = regions == label
    values, counts = np.unique(window[member], return_counts=True)
    value = values[np.argmax(counts)]  # flat regions of other grays may touch it
    ys, xs = np.nonzero(member & (window == value))
    top, left, bottom, right = int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1
    inside = window[top:bottom, left:right] == value
    if (counts.max() < MIN_FLAT_PX or min(inside.shape) < MIN_SIDE_PX
            or inside.mean() < MIN_BOX_FILL):
        return None
    rim = np.concatenate([inside[0], inside[-1], inside[1:-1, 0], inside[1:-1, -1]])
    return (top, bottom, left, right) if rim.mean() >= MIN_RIM_FILL else None
