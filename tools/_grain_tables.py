"""Table helpers for label images: grouping keys, bounding boxes, runs along rows, pixel
pairs across borders (the last two flat indices, so that callers index whole images once)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

__all__ = ["border_pairs", "bounding_boxes", "row_runs", "unique_inverse"]


def unique_inverse(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, return_inverse=True)`` of a 1-D integer array, as int64, the inverse
    flat.

    Example:
        >>> unique_inverse(np.array([7, 3, 7, 0]))
        (array([0, 3, 7]), array([2, 1, 2, 0]))
    """
    values, inverse = np.unique(np.asarray(keys).astype(np.int64, copy=False),
                                return_inverse=True)
    return values, inverse.ravel()


def row_runs(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of one label along the rows of a 2-D label image: flat index of each run's
    first pixel, its label and its length (px)."""
    width = labels.shape[1]
    flat = labels.ravel()
    change = np.empty(flat.size, bool)
    change[0] = True
    np.not_equal(flat[1:], flat[:-1], out=change[1:])
    change[::width] = True  # every row starts a run
    start = np.flatnonzero(change)
    return start, flat[start], np.diff(start, append=flat.size)


def bounding_boxes(labels: np.ndarray) -> np.ndarray:
    """``(n + 1, 4)`` top, bottom (exclusive), left, right (exclusive) of each label 0..n,
    px (``scipy.ndimage.find_objects`` as an array); a label absent from the image gets an
    empty box (top > bottom).

    Example:
        >>> bounding_boxes(np.array([[1, 1, 2], [0, 2, 2]]))[1:].tolist()
        [[0, 1, 0, 2], [0, 2, 1, 3]]
    """
    boxes = np.tile(np.array([labels.size, -1, labels.size, -1], np.int64),
                    (int(labels.max()) + 1, 1))
    for label, found in enumerate(ndi.find_objects(labels), start=1):
        if found is not None:
            rows, cols = found
            boxes[label] = rows.start, rows.stop, cols.start, cols.stop
    return boxes


def border_pairs(labels: np.ndarray) -> list[tuple[np.ndarray, int]]:
    """The 4-neighbour pixel pairs of a 2-D label image whose labels differ: for the right
    neighbours, then the lower ones, the flat indices ``q`` of the first pixel of each pair
    (row-major order) and the flat step to the second, ``q + step`` (1, then the width).

    Example:
        >>> [(q.tolist(), step) for q, step in border_pairs(np.array([[1, 2], [1, 1]]))]
        [([0], 1), ([1], 2)]
    """
    width = labels.shape[1]
    flat = labels.ravel()
    right = flat[1:] != flat[:-1]
    right[width - 1::width] = False  # a row's last pixel and the next row's first
    return [(np.flatnonzero(right), 1), (np.flatnonzero(flat[width:] != flat[:-width]), width)]
