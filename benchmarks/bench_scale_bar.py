"""Accuracy and speed of ``calibrate_scale_bar`` on generated micrographs and real SEM images.

Generated: N images (default 240) across every bar style, modality and file format, each
with exact truth; accuracy = share of images whose nm_per_pixel is within 1 % (and 3 %).
Real: the four SEM images of ../shared/realdata/sem_scale_bar, from the bar alone and from
the file's metadata. Writes ``benchmarks/results/scale_bar.md`` and prints it.

Run: ``.venv/bin/python benchmarks/bench_scale_bar.py [--n 240] [--seed 2026]``
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

from csmbench.episodes.generators import (
    BAR_STYLES,
    item_rng,
    save_micrograph,
    synthesize_micrograph,
)
from csmbench.errors import ToolError
from csmbench.tools import calibrate_scale_bar, load_image, to_gray

RESULTS = Path(__file__).parent / "results" / "scale_bar.md"
REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "sem_scale_bar"
REAL_TRUTH_NM_PER_PX = {"Zeiss_1.tif": 5.859541, "Zeiss_2.tif": 293.052, "Zeiss_3.tif": 2.929696,
                        "Tescan_2_8bit.png": 242.063904}
FORMATS = ("png", "jpeg", "tiff")


def generated_case(seed: int, index: int, folder: Path) -> dict:
    """Render image ``index`` (style and format cycled), calibrate it, and compare with truth."""
    rng = item_rng(seed, "bench.scale_bar", index)
    style = BAR_STYLES[index % len(BAR_STYLES)]
    fmt = FORMATS[(index // len(BAR_STYLES)) % len(FORMATS)]
    micrograph = synthesize_micrograph(rng, style=style)
    path = folder / f"{index}.{fmt}"
    save_micrograph(micrograph, path, fmt)
    start = time.perf_counter()
    try:
        reading = calibrate_scale_bar(path)
        error = abs(reading.nm_per_pixel / micrograph.nm_per_pixel - 1)
        failure = ""
    except ToolError as exc:
        error, failure = float("inf"), str(exc)[:80]
    seconds = time.perf_counter() - start
    return {"style": style, "format": fmt, "modality": micrograph.modality,
            "width": micrograph.pixels.shape[1], "unit_text": micrograph.design.unit_text,
            "error": error, "seconds": seconds, "failure": failure,
            "label": micrograph.label_text}


def real_cases() -> list[dict]:
    rows = []
    for name, truth in REAL_TRUTH_NM_PER_PX.items():
        path = REALDATA / name
        if not path.exists():
            continue
        pixels = to_gray(np.asarray(Image.open(path).convert("L")))
        start = time.perf_counter()
        bar = calibrate_scale_bar(pixels)
        seconds = time.perf_counter() - start
        meta = calibrate_scale_bar(load_image(path))
        rows.append({"name": name, "truth": truth, "bar": bar.nm_per_pixel, "label": bar.label_text,
                     "bar_error": bar.nm_per_pixel / truth - 1, "seconds": seconds,
                     "method": meta.method, "meta": meta.nm_per_pixel,
                     "meta_error": meta.nm_per_pixel / truth - 1})
    return rows


def _share(rows: list[dict], tolerance: float) -> str:
    hits = sum(row["error"] <= tolerance for row in rows)
    return f"{hits}/{len(rows)} ({hits / len(rows):.1%})"


def report(rows: list[dict], real: list[dict], seed: int) -> str:
    lines = ["# calibrate_scale_bar: accuracy and speed", "",
             (f"Generated with `benchmarks/bench_scale_bar.py --n {len(rows)} --seed {seed}` on "
             f"{platform.processor() or platform.machine()}, Python {platform.python_version()}."),
             "", "## Generated micrographs (exact truth)", "",
             f"- within 1 %: **{_share(rows, 0.01)}**; within 3 %: {_share(rows, 0.03)}",
             (f"- time per call: median {statistics.median(r['seconds'] for r in rows) * 1000:.0f} ms,"
             f" max {max(r['seconds'] for r in rows) * 1000:.0f} ms"), "",
             "| group | value | within 1 % | median time (ms) |", "|---|---|---:|---:|"]
    for key in ("style", "format", "modality", "unit_text"):
        groups: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            groups[str(row[key])].append(row)
        for value, members in sorted(groups.items()):
            median_ms = statistics.median(m["seconds"] for m in members) * 1000
            lines.append(f"| {key} | {value} | {_share(members, 0.01)} | {median_ms:.0f} |")
    misses = [r for r in rows if r["error"] > 0.01]
    if misses:
        lines += ["", "Misses (> 1 %):", ""]
        lines += [f"- {m['style']}/{m['format']}/{m['modality']} {m['label']!r}: "
                  + (m["failure"] or f"error {m['error']:.1%}") for m in misses]
    lines += ["", "## Real SEM images (../shared/realdata/sem_scale_bar)", "",
              ("| image | truth nm/px | from bar | label read | error | time (ms) | method (file) "
              "| from file | error |"), "|---|---:|---:|---|---:|---:|---|---:|---:|"]
    for r in real:
        lines.append(f"| {r['name']} | {r['truth']:.4g} | {r['bar']:.4g} | {r['label']} | "
                     f"{r['bar_error']:+.2%} | {r['seconds'] * 1000:.0f} | {r['method']} | "
                     f"{r['meta']:.4g} | {r['meta_error']:+.3%} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=240)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        rows = [generated_case(args.seed, i, Path(folder)) for i in range(args.n)]
    text = report(rows, real_cases(), args.seed)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
