"""Powder patterns in: reading two-column text files and checking 2θ/intensity arrays."""

from __future__ import annotations

import re
from os import PathLike
from pathlib import Path

import numpy as np

from csmbench.errors import ToolError

__all__ = ["MAX_INTENSITY", "MAX_PATTERN_FILE_BYTES", "MAX_PATTERN_POINTS", "MIN_POINTS",
           "number_fields", "read_xy", "validate_pattern"]

MIN_POINTS = 20
"""Fewest points of a pattern: below this there is no background to estimate under a peak."""
MAX_PATTERN_POINTS = 1_000_000
"""Most points of a pattern; more are refused (not decimated). Laboratory scans hold 1,000-20,000
points and high-resolution synchrotron scans about 100,000. At this size ``read_xy`` takes
about 4 s and ``find_peaks`` 2-3 s of CPU, 180 MB together."""
MAX_PATTERN_FILE_BYTES = 100 * MAX_PATTERN_POINTS
"""Largest pattern file read, bytes (100 per line of the longest pattern, with room for a third
column and a header); checked before reading, so a huge file costs nothing."""
MAX_INTENSITY = 1e12
"""Largest intensity magnitude accepted: no detector counts this much in one step, so larger
values are a unit or parsing error, and near 1e150 the profile fits would overflow float64."""
NEGATIVE_TOLERANCE = 0.05
"""Negative intensities are accepted down to -this × max(intensity): background-subtracted
data scatter around zero. Anything more negative is not a diffraction pattern."""


def validate_pattern(two_theta, intensity) -> tuple[np.ndarray, np.ndarray]:
    """Check a powder pattern and return it as float arrays.

    Args:
        two_theta: 2θ values in degrees, shape (n,), strictly increasing, inside (0, 180).
        intensity: Intensities (counts or scaled counts), shape (n,). Small negative values
            (down to -5 % of the maximum, from background subtraction) are accepted.

    Returns:
        ``(two_theta, intensity)`` as 1-D float64 arrays.

    Raises:
        ToolError: Lengths differ, fewer than 20 or more than ``MAX_PATTERN_POINTS`` points, NaN
            or infinite values, negative or huge intensities, 2θ not strictly increasing, or 2θ
            outside (0, 180).
    """
    x = _as_1d(two_theta, "two_theta")
    y = _as_1d(intensity, "intensity")
    if x.size != y.size:
        raise ToolError(f"two_theta has {x.size} points but intensity has {y.size}; "
                        "pass one intensity per 2θ value")
    if x.size < MIN_POINTS:
        raise ToolError(f"a pattern needs at least {MIN_POINTS} points; got {x.size}")
    if x.size > MAX_PATTERN_POINTS:
        raise ToolError(f"a pattern may have at most {MAX_PATTERN_POINTS:,} points; got "
                        f"{x.size:,}. Hint: rebin it (average neighbouring points) or cut the "
                        "2θ range")
    for name, arr in (("two_theta", x), ("intensity", y)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise ToolError(f"{name} has {bad.size} NaN or infinite values (first at index "
                            f"{bad[0]}); remove those points before calling")
    _check_axis(x)
    _check_counts(y)
    return x, y


def _as_1d(values, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ToolError(f"{name} must be a list of numbers; got {type(values).__name__}") from exc
    if arr.ndim != 1:
        raise ToolError(f"{name} must be one-dimensional; got shape {arr.shape}")
    return arr


def _check_axis(x: np.ndarray) -> None:
    step = np.diff(x)
    if np.any(step == 0.0):
        i = int(np.flatnonzero(step == 0.0)[0])
        raise ToolError(f"two_theta has duplicated values ({x[i]:g}° at indices {i} and {i + 1});"
                        " average or drop the duplicates so 2θ is strictly increasing")
    if np.any(step < 0.0):
        i = int(np.flatnonzero(step < 0.0)[0])
        raise ToolError(f"two_theta is not sorted ({x[i]:g}° is followed by {x[i + 1]:g}° at index "
                        f"{i + 1}); sort both arrays by 2θ (e.g. order = np.argsort(two_theta))")
    if x[0] <= 0.0 or x[-1] >= 180.0:
        raise ToolError(f"two_theta must lie inside (0, 180) degrees; got {x[0]:g}-{x[-1]:g}. "
                        "Is the axis in radians, θ, or d-spacing instead of 2θ in degrees?")


def _check_counts(y: np.ndarray) -> None:
    top = float(y.max())
    if top <= 0.0:
        raise ToolError("intensity has no positive values; expected counts above zero")
    if max(top, -float(y.min())) > MAX_INTENSITY:
        i = int(np.argmax(np.abs(y)))
        raise ToolError(f"intensity has a value of {y[i]:g} at index {i}, beyond ±{MAX_INTENSITY:g};"
                        " expected counts. Check the columns and units, or divide the intensities"
                        " by a constant")
    if float(y.min()) < -NEGATIVE_TOLERANCE * top:
        i = int(np.argmin(y))
        raise ToolError(f"intensity has negative values (min {y[i]:g} at index {i}, below "
                        f"-{NEGATIVE_TOLERANCE:.0%} of the maximum {top:g}); expected counts >= 0."
                        " Add back the subtracted background or clip the data")


_SPLIT = re.compile(r"[\s,;]+")
_SPLIT_NO_COMMA = re.compile(r"[\s;]+")
_COMMA_DECIMAL_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?(?:[eE][+-]?\d+)?")
_COMMENT_PREFIXES = ("#", "!", "%", "//")


def number_fields(text: str, count: int = 2) -> list[str]:
    """The first ``count`` fields of a data line, as strings ready for ``float``.

    Fields are separated by spaces, tabs, commas or semicolons, except in lines separated by
    spaces, tabs or semicolons whose numbers use decimal commas ("12,5 340" or "12,5;340,0"),
    which are read as decimals ("12.5", "340").
    Only the first ``count`` fields are split off, so an absurdly long line costs no more.
    """
    fields = [f for f in _SPLIT_NO_COMMA.split(text, maxsplit=count + 1) if f][:count]
    if (len(fields) == count and any("," in f for f in fields)
            and all(_COMMA_DECIMAL_NUMBER.fullmatch(f) for f in fields)):
        return [f.replace(",", ".") for f in fields]
    return [f for f in _SPLIT.split(text, maxsplit=count + 1) if f][:count]


def read_xy(path: str | PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read a two- or three-column text pattern (.xy, .xye, .dat, .csv).

    Columns are separated by spaces, tabs, commas or semicolons; only the first two
    (2θ, intensity) are kept; decimal commas ("12,5 340") are read as decimal points. Blank
    lines, comment lines (``#``, ``!``, ``%``, ``//``) and text header lines before the first
    data row are skipped.

    Returns:
        ``(two_theta, intensity)``, float arrays of shape (n,), in file order (not validated).

    Raises:
        ToolError: The file is missing, larger than ``MAX_PATTERN_FILE_BYTES``, has no data rows
            or more than ``MAX_PATTERN_POINTS``, or a row after the header is not two numbers
            (the message gives the line number).
    """
    file = Path(path)
    if not file.is_file():
        raise ToolError(f"pattern file '{path}' does not exist; pass an existing .xy file")
    size = file.stat().st_size
    if size > MAX_PATTERN_FILE_BYTES:
        raise ToolError(f"pattern file '{path}' is {size:,} bytes; expected at most "
                        f"{MAX_PATTERN_FILE_BYTES:,} (a pattern has at most "
                        f"{MAX_PATTERN_POINTS:,} points). Hint: rebin it or cut the 2θ range")
    rows: list[tuple[float, float]] = []
    with file.open(encoding="utf-8-sig", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            row = _parse_row(line, number, data_started=bool(rows))
            if row is not None:
                rows.append(row)
            if len(rows) > MAX_PATTERN_POINTS:
                raise ToolError(f"pattern file '{path}' has more than {MAX_PATTERN_POINTS:,} data "
                                "rows; rebin it (average neighbouring points) or cut the 2θ range")
    if not rows:
        raise ToolError(f"pattern file '{path}' has no data rows (two numbers per line)")
    data = np.asarray(rows, dtype=float)
    return data[:, 0], data[:, 1]


def _parse_row(line: str, number: int, *, data_started: bool) -> tuple[float, float] | None:
    text = line.strip()
    if not text or text.startswith(_COMMENT_PREFIXES):
        return None
    try:
        values = [float(f) for f in number_fields(text)]
    except ValueError:
        values = []
    if len(values) == 2:
        return values[0], values[1]
    if data_started:
        raise ToolError(f"line {number} is not two numbers (2θ, intensity): {text[:60]!r}; "
                        "fix or remove that line")
    return None  # header line before the data
