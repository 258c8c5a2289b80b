"""Dataset build time: each preset's wall time, and the time per item of every family.

Builds every preset (``smoke``, ``standard``, ``scale_bar``, ``diffraction``, ``grains``,
``cross_scale``; seed 2026) with the default workers (one per core) into a temporary folder,
then 6 items of every family in one process to time each family. Writes
``benchmarks/results/build.md`` and prints it.

Run: ``.venv/bin/python benchmarks/bench_build.py [--presets smoke standard]``
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from csmbench.episodes.generators import FAMILIES, PRESETS, build_dataset
from csmbench.episodes.generators._presets import make_item

RESULTS = Path(__file__).parent / "results"
TARGET_STANDARD_S = 180.0
PER_FAMILY_ITEMS = 6


def _preset_rows(presets: list[str], seed: int, root: Path) -> list[str]:
    rows = []
    for name in presets:
        start = time.perf_counter()
        built = build_dataset(root / name, preset=name, seed=seed)
        seconds = time.perf_counter() - start
        n = sum(PRESETS[name].values())
        size_mb = sum(p.stat().st_size for p in built.rglob("*") if p.is_file()) / 1e6
        rows.append(f"| `{name}` | {n} | {seconds:.0f} | {seconds / n * 1000:.0f} | {size_mb:.0f} |")
        print(rows[-1], flush=True)
    return rows


def _family_rows(seed: int, root: Path) -> list[str]:
    rows = []
    for name in sorted(FAMILIES):
        start = time.perf_counter()
        for index in range(PER_FAMILY_ITEMS):
            make_item(root, seed, name, index)
        ms = (time.perf_counter() - start) / PER_FAMILY_ITEMS * 1000
        rows.append(f"| `{name}` | {ms:.0f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), choices=list(PRESETS))
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        presets = _preset_rows(args.presets, args.seed, root)
        families = _family_rows(args.seed, root / "families")
    lines = ["# Dataset build time", "",
             (f"Seed {args.seed}; {platform.machine()}, Python {platform.python_version()}, "
              f"{os.cpu_count()} cores (one worker process per core), {time.strftime('%Y-%m-%d')}, "
              f"load average {load_start:.1f} at the start and {os.getloadavg()[0]:.1f} at the "
              f"end. Target: `standard` in ≤ {TARGET_STANDARD_S:.0f} s."),
             "", "| preset | items | wall s | ms per item | MB |", "|---|---:|---:|---:|---:|",
             *presets, "",
             (f"One process, {PER_FAMILY_ITEMS} items of each family (the first includes "
             "warm-up: crystal database, fonts):"), "",
             "| family | ms per item |", "|---|---:|", *families, ""]
    text = "\n".join(lines)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "build.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
