"""The report's plots as PNG bytes (matplotlib's Agg canvas, no pyplot state, no screen).

Each function returns the PNG of one figure, or None when its runs have nothing to plot.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from csmbench.episodes import Scale

if TYPE_CHECKING:
    from csmbench.env import EpisodeRecord

    from ._report import RunResults

__all__ = ["accuracy_by_scale_png", "numeric_error_png", "pattern_png", "uplift_by_family_png"]

DPI = 100
MIN_RELATIVE_ERROR = 1e-6
"""Relative errors below this (exact answers) are drawn at it, on the log axis."""


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _error_bars(entries: Sequence[dict[str, Any] | None], key: str) -> np.ndarray:
    """2 x n distances below and above each value to its interval (0 without one)."""
    bars = np.zeros((2, len(entries)))
    for index, entry in enumerate(entries):
        if entry and entry.get("ci95"):
            low, high = entry["ci95"]
            bars[:, index] = [max(entry[key] - low, 0.0), max(high - entry[key], 0.0)]
    return bars


def accuracy_by_scale_png(runs: Sequence[RunResults]) -> bytes | None:
    """Grouped bars: accuracy per scale, one bar per run, with 95% bootstrap intervals."""
    present = {name for run in runs for name in run.summary.get("by_scale", {})}
    scales = [s for s in get_args(Scale) if s in present] + sorted(present - set(get_args(Scale)))
    if not scales:
        return None
    figure = Figure(figsize=(6.2, 3.4))
    axes = figure.add_subplot()
    width = 0.8 / len(runs)
    for index, run in enumerate(runs):
        entries = [run.summary.get("by_scale", {}).get(scale) for scale in scales]
        x = np.arange(len(scales)) + (index - (len(runs) - 1) / 2) * width
        axes.bar(x, [e["accuracy"] if e else 0.0 for e in entries], width, label=run.name,
                 yerr=_error_bars(entries, "accuracy"), capsize=3)
    axes.set_xticks(np.arange(len(scales)), scales)
    axes.set_ylim(0, 1.05)
    axes.set_ylabel("accuracy")
    axes.set_title("Accuracy by scale (95% bootstrap CI)")
    axes.legend(fontsize=8)
    return _png(figure)


def uplift_by_family_png(pairs: Sequence[tuple[str, dict[str, Any]]]) -> bytes | None:
    """Horizontal bars: tool uplift per family with its interval, one bar per run pair.

    Args:
        pairs: (label, ``uplift(...)`` result) for each pair of runs.
    """
    families = sorted({name for _, result in pairs for name in result["by_family"]})
    if not families:
        return None
    figure = Figure(figsize=(6.2, 1.4 + 0.3 * len(families) * len(pairs)))
    axes = figure.add_subplot()
    height = 0.8 / len(pairs)
    for index, (label, result) in enumerate(pairs):
        entries = [result["by_family"].get(family) for family in families]
        y = np.arange(len(families)) + (index - (len(pairs) - 1) / 2) * height
        axes.barh(y, [e["uplift"] if e else 0.0 for e in entries], height, label=label,
                  xerr=_error_bars(entries, "uplift"), capsize=3)
    axes.axvline(0.0, color="black", linewidth=0.8)
    axes.set_yticks(np.arange(len(families)), families, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlim(-1.05, 1.05)
    axes.set_xlabel("mean score with tools - without (paired by item)")
    axes.set_title("Tool uplift by family (95% bootstrap CI)")
    axes.legend(fontsize=8)
    return _png(figure)


def relative_errors(records: Sequence[EpisodeRecord]) -> list[float]:
    """Relative errors of the graded numeric answers, as the numeric grader computed them
    (|answer - truth| / |truth|, after converting the answer to the truth's unit)."""
    errors = []
    for record in records:
        error = record.score.answer.metadata.get("relative_error") if record.score else None
        if record.answer_type == "numeric" and error is not None and math.isfinite(error):
            errors.append(float(error))
    return errors


def numeric_error_png(runs: Sequence[RunResults]) -> bytes | None:
    """Histogram of log10 relative error of numeric answers, one outline per run."""
    errors = {run.name: relative_errors(run.records) for run in runs}
    if not any(errors.values()):
        return None
    figure = Figure(figsize=(6.2, 3.4))
    axes = figure.add_subplot()
    bins = np.linspace(math.log10(MIN_RELATIVE_ERROR), 2.0, 33)
    for name, values in errors.items():
        if values:
            logs = np.log10(np.clip(values, MIN_RELATIVE_ERROR, 100.0))
            axes.hist(logs, bins=bins, histtype="step", linewidth=1.8,
                      label=f"{name} ({len(values)} answers)")
    axes.set_xlabel("log10 relative error of numeric answers (exact at the left edge)")
    axes.set_ylabel("answers")
    axes.set_title("Distribution of numeric errors")
    axes.legend(fontsize=8)
    return _png(figure)


def pattern_png(path: Path, title: str) -> bytes | None:
    """A small line plot of a two-column pattern or spectrum file (x y, '#' comments)."""
    try:
        data = np.loadtxt(path, comments="#", ndmin=2)
    except (OSError, ValueError):
        return None
    if data.shape[1] < 2:
        return None
    figure = Figure(figsize=(4.8, 2.2))
    axes = figure.add_subplot()
    axes.plot(data[:, 0], data[:, 1], linewidth=0.8)
    axes.set_title(title, fontsize=9)
    axes.tick_params(labelsize=7)
    return _png(figure)
