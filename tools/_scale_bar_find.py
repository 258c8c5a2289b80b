"""Finding and measuring the scale bar: candidates, ticks, sub-pixel length.

A bar is a solid thin horizontal rectangle, optionally with end ticks, that does not touch
the image edges and is not part of a box or grid. Candidates come from connected components
of the image thresholded at a few levels in both polarities (isolated bars), then from
stacks of equal horizontal runs (bars touched by grain boundaries or particle edges).

Length convention: a bar without end ticks measures its full extent in pixel columns
(``x1 - x0``); a bar with end ticks measures the distance between the two tick centres.
Ends are located where the profile crosses mid-contrast between bar and background, to
sub-pixel precision, so blur and JPEG ringing do not move them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

# --- bar detection -------------------------------------------------------------------------
THRESHOLD_FRACTIONS = (0.5, 0.75, 0.95)
"""Binarisation levels, as fractions of the way from the median gray level to the maximum."""
MIN_BAR_LENGTH_PX = 12
MIN_BAR_ASPECT = 4.0
"""A bar is at least this many times longer than thick."""
CORE_ROW_FILL = 0.9
"""Rows of the bar body are filled over at least this fraction of the bar's width."""
END_ZONE_FRACTION = 0.08
END_ZONE_MIN_PX = 3
"""Pixels above/below the body (ticks) may only lie this close to the ends."""
EDGE_MARGIN_PX = 1
"""A candidate closer than this to the left/right image edge is a border, not a bar."""
TICK_RANK_BONUS = 1.5
TICK_MIN_EXTRA_PX = 2
"""Ticks stand at least this many pixels above or below the bar body."""
MAX_OCR_CANDIDATES = 4
"""Candidates of each kind (isolated, touched) checked for a label, best first."""
RUN_CLEAR_FILL = 0.5
"""A bar found from runs has rows above and below it filled less than this over its width."""
RUN_MIN_LENGTH_FRACTION = 0.03
"""Bars touched by other structures are searched only this long (fraction of image width)."""
MIN_IMAGE_CONTRAST = 0.05
PROFILE_MARGIN_PX = 6
"""Columns beyond the bar's ends used for the mid-contrast profile."""


@dataclass(frozen=True)
class Bar:
    """A bar candidate; rows ``core_y0:core_y1`` are the body, the rest of the bbox ticks."""

    x0: int
    y0: int
    x1: int
    y1: int
    core_y0: int
    core_y1: int
    light: bool
    has_ticks: bool

    @property
    def rank(self) -> float:
        """Search order: long bars first, ticked bars favoured."""
        return (self.x1 - self.x0) * (TICK_RANK_BONUS if self.has_ticks else 1.0)



# --- bar detection ---------------------------------------------------------------------------


def find_bars(gray: np.ndarray) -> list[Bar]:
    """The best bar candidates of both polarities, deduplicated, best first.

    Isolated bars (connected components) come first; bars touched by other structures
    (grain boundaries, particle edges), found from horizontal runs, after them.
    """
    isolated: list[Bar] = []
    touched: list[Bar] = []
    for light in (True, False):
        values = gray if light else 1.0 - gray
        base, top = float(np.median(values)), float(values.max())
        for fraction in THRESHOLD_FRACTIONS:
            mask = values > base + fraction * (top - base)
            isolated += _bars_in_mask(mask, light)
            touched += _bars_from_runs(mask, light)
    best = _unique_best(isolated, [], MAX_OCR_CANDIDATES)
    return best + _unique_best(touched, best, MAX_OCR_CANDIDATES)


def _unique_best(bars: list[Bar], known: list[Bar], limit: int) -> list[Bar]:
    """Up to ``limit`` best-ranked bars, skipping duplicates of each other and of ``known``."""
    kept: list[Bar] = []
    for bar in sorted(bars, key=lambda bar: -bar.rank):
        if len(kept) == limit:
            break
        if not any(_same_bar(bar, other) for other in (*kept, *known)):
            kept.append(bar)
    return kept


def _bars_in_mask(mask: np.ndarray, light: bool) -> list[Bar]:
    """Connected components (4-connectivity) of ``mask`` that are bar-shaped."""
    labels, _ = ndimage.label(mask)
    bars = []
    for index, window in enumerate(ndimage.find_objects(labels), start=1):
        height, width = window[0].stop - window[0].start, window[1].stop - window[1].start
        if width >= MIN_BAR_LENGTH_PX and width >= 2 * height:
            bar = _as_bar(labels[window] == index, window, mask.shape, light)
            if bar is not None:
                bars.append(bar)
    return bars


def _as_bar(
    component: np.ndarray, window: tuple[slice, ...], image_shape: tuple[int, ...], light: bool
) -> Bar | None:
    """A ``Bar`` if the component is a solid thin rectangle plus, at most, ticks at both ends."""
    height, width = component.shape
    core = np.flatnonzero(component.sum(axis=1) >= CORE_ROW_FILL * width)
    if core.size == 0 or core[-1] - core[0] + 1 != core.size or width < MIN_BAR_ASPECT * core.size:
        return None
    x0, y0 = window[1].start, window[0].start
    if not _inside(x0, y0, width, height, image_shape):
        return None
    outside = component.copy()
    outside[core[0] : core[-1] + 1] = False
    columns = np.flatnonzero(outside.any(axis=0))
    zone = max(END_ZONE_MIN_PX, math.ceil(END_ZONE_FRACTION * width))
    at_left, at_right = columns < zone, columns >= width - zone
    if not np.all(at_left | at_right) or (columns.size and not (at_left.any() and at_right.any())):
        return None
    return Bar(
        x0,
        y0,
        x0 + width,
        y0 + height,
        int(y0 + core[0]),
        int(y0 + core[-1]) + 1,
        light,
        bool(columns.size),
    )


def _bars_from_runs(mask: np.ndarray, light: bool) -> list[Bar]:
    """Bars as stacks of equal horizontal runs with clear rows above and below."""
    bars = []
    for row0, row1, x0, x1 in _run_stacks(mask):
        thickness, width = row1 - row0, x1 - x0
        clear = all(
            0 <= row < mask.shape[0] and mask[row, x0:x1].mean() < RUN_CLEAR_FILL
            for row in (row0 - 1, row1)
        )
        if (
            clear
            and width >= MIN_BAR_ASPECT * thickness
            and _inside(x0, row0, width, thickness, mask.shape)
        ):
            bar = _with_ticks(mask, Bar(x0, row0, x1, row1, row0, row1, light, False))
            if bar is not None:
                bars.append(bar)
    return bars


def _run_stacks(mask: np.ndarray) -> list[tuple[int, int, int, int]]:
    """``(row0, row1, x0, x1)`` of long runs repeated (ends +-1 px) in consecutive rows."""
    edges = np.diff(np.pad(mask, ((0, 0), (1, 1))).astype(np.int8), axis=1)
    starts, stops = np.nonzero(edges == 1), np.nonzero(edges == -1)
    keep = stops[1] - starts[1] >= max(MIN_BAR_LENGTH_PX, RUN_MIN_LENGTH_FRACTION * mask.shape[1])
    runs = zip(
        starts[0][keep].tolist(), starts[1][keep].tolist(), stops[1][keep].tolist(), strict=True
    )
    stacks: list[list[int]] = []
    open_stacks: list[list[int]] = []  # stacks that reached the previous row
    row_now, grown = -1, []
    for row, x0, x1 in runs:
        if row != row_now:
            open_stacks = grown if row == row_now + 1 else []
            row_now, grown = row, []
        match = next((s for s in open_stacks if abs(s[2] - x0) <= 1 and abs(s[3] - x1) <= 1), None)
        if match is None:
            match = [row, row, x0, x1]
            stacks.append(match)
        match[1] = row + 1
        grown.append(match)
    return [(r0, r1, x0, x1) for r0, r1, x0, x1 in stacks]


def _with_ticks(mask: np.ndarray, bar: Bar) -> Bar | None:
    """The bar extended by end ticks found in ``mask``; None if it is the edge of a box."""
    zone = max(END_ZONE_MIN_PX, math.ceil(END_ZONE_FRACTION * (bar.x1 - bar.x0)))
    left, right = mask[:, bar.x0 : bar.x0 + zone], mask[:, bar.x1 - zone : bar.x1]
    reach = [_vertical_reach(end, bar.core_y0, bar.core_y1) for end in (left, right)]
    up, down = min(r[0] for r in reach), min(r[1] for r in reach)
    if max(up, down) < TICK_MIN_EXTRA_PX:
        return bar
    y0, y1 = bar.core_y0 - up, bar.core_y1 + down
    outer = np.r_[y0 : bar.core_y0, bar.core_y1 : y1]
    if outer.size and (mask[outer, bar.x0 : bar.x1].mean(axis=1) >= CORE_ROW_FILL).any():
        return None
    return replace(bar, y0=y0, y1=y1, has_ticks=True)


def _vertical_reach(columns: np.ndarray, row0: int, row1: int) -> tuple[int, int]:
    """How many rows the longest column of ``columns`` stays set above ``row0`` and below ``row1``."""
    set_rows = columns.any(axis=1)
    up = 0
    while row0 - up - 1 >= 0 and set_rows[row0 - up - 1]:
        up += 1
    down = 0
    while row1 + down < set_rows.size and set_rows[row1 + down]:
        down += 1
    return up, down


def _inside(x0: int, y0: int, width: int, height: int, image_shape: tuple[int, ...]) -> bool:
    """True when the box keeps ``EDGE_MARGIN_PX`` from every image edge (borders touch them)."""
    rows, columns = image_shape[:2]
    return (
        min(x0, y0) >= EDGE_MARGIN_PX
        and x0 + width <= columns - EDGE_MARGIN_PX
        and y0 + height <= rows - EDGE_MARGIN_PX
    )


def _same_bar(a: Bar, b: Bar) -> bool:
    """True when two candidates overlap in rows and in most of their columns."""
    rows = min(a.core_y1, b.core_y1) - max(a.core_y0, b.core_y0)
    columns = min(a.x1, b.x1) - max(a.x0, b.x0)
    return rows > 0 and columns > 0.8 * max(a.x1 - a.x0, b.x1 - b.x0)


# --- length measurement ----------------------------------------------------------------------


def bar_length(gray: np.ndarray, bar: Bar) -> float:
    """Bar length in pixels: tick centre to tick centre, or the body's full extent."""
    values = gray if bar.light else 1.0 - gray
    if bar.has_ticks:
        return _tick_centre(values, bar, right=True) - _tick_centre(values, bar, right=False)
    start, stop = _columns(values, bar, PROFILE_MARGIN_PX)
    profile = values[bar.core_y0 : bar.core_y1, start:stop].mean(axis=0)
    level = 0.5 * (np.median(profile[bar.x0 - start : bar.x1 - start]) + background_level(values, bar))
    middle = (bar.x0 + bar.x1) // 2 - start
    left = _crossing(profile, middle, level, step=-1)
    right = _crossing(profile, middle, level, step=1)
    if left is None or right is None:
        return float(bar.x1 - bar.x0)
    return right - left


def _tick_centre(values: np.ndarray, bar: Bar, *, right: bool) -> float:
    """Column (sub-pixel) of the centre of the left or right end tick."""
    zone = max(END_ZONE_MIN_PX, math.ceil(END_ZONE_FRACTION * (bar.x1 - bar.x0)))
    start, stop = (bar.x1 - zone, bar.x1) if right else (bar.x0, bar.x0 + zone)
    start, stop = max(start - PROFILE_MARGIN_PX, 0), min(stop + PROFILE_MARGIN_PX, values.shape[1])
    rows = _tick_rows(bar)
    profile = values[rows, start:stop].mean(axis=0)
    peak = int(np.argmax(profile))
    level = 0.5 * (profile[peak] + float(np.median(profile)))
    left = _crossing(profile, peak, level, step=-1)
    right_edge = _crossing(profile, peak, level, step=1)
    if left is None or right_edge is None:
        return float(start + peak)
    return start + 0.5 * (left + right_edge)


def _tick_rows(bar: Bar) -> np.ndarray:
    """Rows of the ticks above and below the body, skipping the row next to it (blur)."""
    above = np.arange(bar.y0, bar.core_y0 - 1)
    below = np.arange(bar.core_y1 + 1, bar.y1)
    rows = np.concatenate([above, below])
    return (
        rows
        if rows.size
        else np.concatenate([np.arange(bar.y0, bar.core_y0), np.arange(bar.core_y1, bar.y1)])
    )


def _columns(values: np.ndarray, bar: Bar, margin: int) -> tuple[int, int]:
    """Column range of the bar widened by ``margin`` on both sides, clipped to the image."""
    return max(bar.x0 - margin, 0), min(bar.x1 + margin, values.shape[1])


def background_level(values: np.ndarray, bar: Bar) -> float:
    """Median level of the rows just above and below the body (over the bar's middle half)."""
    thickness = bar.core_y1 - bar.core_y0
    gap = max(2, thickness)
    quarter = (bar.x1 - bar.x0) // 4
    columns = slice(bar.x0 + quarter, bar.x1 - quarter)
    above = values[max(bar.core_y0 - gap - 2, 0) : max(bar.core_y0 - gap, 0), columns]
    below = values[bar.core_y1 + gap : bar.core_y1 + gap + 2, columns]
    samples = np.concatenate([above.ravel(), below.ravel()])
    return float(np.median(samples)) if samples.size else 0.0


def _crossing(profile: np.ndarray, start: int, level: float, *, step: int) -> float | None:
    """Sub-pixel index where ``profile`` first drops below ``level`` walking from ``start``."""
    if profile[start] < level:
        return None
    index = start
    while 0 <= index + step < profile.size:
        nxt = index + step
        if profile[nxt] < level:
            fraction = (profile[index] - level) / (profile[index] - profile[nxt])
            return index + step * float(fraction)
        index = nxt
    return None


