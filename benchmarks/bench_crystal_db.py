"""Build time of the crystal database and time of a warm ``lookup_crystal`` call.

Builds the database twice into a temporary folder (the rows must be identical: the build is
deterministic), then times warm lookups of formulas, names, space groups and chemical
systems. Writes ``benchmarks/results/crystal_db.md`` and prints it.

Run: ``.venv/bin/python benchmarks/bench_crystal_db.py``
"""

from __future__ import annotations

import platform
import sqlite3
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from csmbench.tools import build_database, lookup_crystal
from csmbench.tools._crystal_db import load_records

RESULTS = Path(__file__).parent / "results" / "crystal_db.md"
QUERIES = ["Al2O3", "al2o3", "O3Al2", "corundum", "rutile", "TiO2", "austenite", "alpha-quartz",
           "Fm-3m", "225", "P6_3/mmc", "Ti-O", "Fe,C", "NaCl", "cementite", "unobtainium"]
REPEATS = 50


def rows(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT * FROM crystals ORDER BY id").fetchall()


def timed_build(path: Path) -> float:
    start = time.perf_counter()
    build_database(path)
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        first, second = Path(folder) / "a.sqlite", Path(folder) / "b.sqlite"
        seconds = [timed_build(first), timed_build(second)]
        identical = rows(first) == rows(second)
        records = load_records(first)
        lookup_crystal("NaCl", database=first)  # warm: load the records and the tables
        lines = ["# Crystal database: build time and lookup speed", "",
                 (f"Measured with `benchmarks/bench_crystal_db.py` on "
                 f"{platform.machine()}, Python {platform.python_version()}."), "",
                 (f"- records: {len(records)} "
                 f"({', '.join(f'{k} {v}' for k, v in Counter(r.source for r in records).items())})"),
                 (f"- build: {seconds[0]:.1f} s and {seconds[1]:.1f} s (target <= 60 s); "
                 f"two builds give identical rows: **{identical}**"), "",
                 "| query | matches | first match | median warm lookup (ms) | max (ms) |",
                 "|---|---:|---|---:|---:|"]
        medians = []
        for query in QUERIES:
            times = []
            for _ in range(REPEATS):
                start = time.perf_counter()
                result = lookup_crystal(query, database=first)
                times.append((time.perf_counter() - start) * 1000)
            medians.append(statistics.median(times))
            best = result.matches[0] if result.matches else None
            first_match = f"{best.formula} {best.space_group}" if best else "(none)"
            lines.append(f"| {query} | {len(result.matches)} | {first_match} | "
                         f"{medians[-1]:.2f} | {max(times):.2f} |")
        lines += ["", (f"Median over all queries: **{statistics.median(medians):.2f} ms**, "
                      f"slowest query median {max(medians):.2f} ms (target <= 5 ms).")]
    text = "\n".join(lines) + "\n"
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
