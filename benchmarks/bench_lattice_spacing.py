"""Accuracy and speed of ``measure_lattice_spacing`` on generated HRTEM lattice images.

Draws lattice images of real crystals down low-index zone axes (the generator of the
``hrtem.*`` families, all three difficulties), runs the tool with the exact pixel size and
compares the largest measured spacing with the largest resolved one (d error), and the
two strongest spots' plane angle with the truth. Writes
``benchmarks/results/lattice_spacing.md`` and prints it.

Run: ``.venv/bin/python benchmarks/bench_lattice_spacing.py [count]``
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import numpy as np

from csmbench.episodes.generators._hrtem_items import draw_lattice_micrograph
from csmbench.episodes.generators._presets import difficulty_of, item_rng
from csmbench.tools._lattice_spacing import measure_lattice_spacing

RESULTS = Path(__file__).parent / "results" / "lattice_spacing.md"
COUNT = 120
SEED = 2024


def _angle(a: float, b: float) -> float:
    difference = abs(a - b) % 180.0
    return min(difference, 180.0 - difference)


def run(count: int) -> dict:
    d_errors, angle_errors, seconds, by_level = [], [], [], {}
    for index in range(count):
        level = difficulty_of(index)
        micrograph, _, _, resolved = draw_lattice_micrograph(
            item_rng(SEED, "bench.lattice", index), level)
        start = time.perf_counter()
        result = measure_lattice_spacing(micrograph.pixels, micrograph.nm_per_pixel)
        seconds.append(time.perf_counter() - start)
        truth = max(s.d_angstrom for s in resolved)
        error = abs((result.largest_d_angstrom or 0.0) / truth - 1.0)
        d_errors.append(error)
        by_level.setdefault(level, []).append(error)
        if len(result.spots) >= 2 and len(resolved) >= 2:
            first, second = result.spots[0], result.spots[1]
            measured = _angle(first.angle_deg, second.angle_deg)
            truths = [_angle(s.angle_deg, t.angle_deg) for s in resolved for t in resolved
                      if s is not t]
            angle_errors.append(min(abs(measured - t) for t in truths))
    return {"d": np.array(d_errors), "angle": np.array(angle_errors),
            "seconds": np.array(seconds), "by_level": by_level}


def report(stats: dict, count: int) -> str:
    d, angle, seconds = stats["d"], stats["angle"], stats["seconds"]
    lines = [
        "# measure_lattice_spacing: accuracy and speed", "",
        (f"{count} generated 512 x 512 px lattice images (46 cubic phases down [001], [011], "
        "[111], and rutile [001]; easy/medium/hard in turn; scale bar and databar in the frame), "
        "exact pixel size. `python benchmarks/bench_lattice_spacing.py`."), "",
        "| measure | median | p95 | max |", "|---|---|---|---|",
        (f"| largest d, relative error | {np.median(d):.2e} | {np.percentile(d, 95):.2e} | "
        f"{d.max():.2e} |"),
        (f"| plane angle of the two strongest spots, ° | {np.median(angle):.3f} | "
        f"{np.percentile(angle, 95):.3f} | {angle.max():.3f} |"),
        (f"| time per call, s | {np.median(seconds):.3f} | {np.percentile(seconds, 95):.3f} | "
        f"{seconds.max():.3f} |"), "",
        "| difficulty | images | d within 1 % | d within 3 % (answer tolerance) |",
        "|---|---|---|---|"]
    for level, errors in stats["by_level"].items():
        e = np.array(errors)
        lines.append(f"| {level} | {e.size} | {np.mean(e <= 0.01):.1%} | {np.mean(e <= 0.03):.1%} |")
    lines += ["", f"Machine: {platform.machine()}, Python {platform.python_version()}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else COUNT
    text = report(run(count), count)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
