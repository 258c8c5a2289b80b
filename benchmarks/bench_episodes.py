"""Episode families end to end: reference and no-tools accuracy per family, and time.

Builds a preset (``diffraction``: 8 families × 40 items; ``grains``: 5 × 40; ``cross_scale``:
9 × 30; ``standard``: 1,046 items over 25 families; seed 2026) into
a temporary folder, evaluates the ``reference`` agent with all tools and the ``no-tools``
baseline, and lists every item the reference gets wrong with the grader's explanation.
Writes ``benchmarks/results/<preset>_episodes.md`` and prints it.

Run: ``.venv/bin/python benchmarks/bench_episodes.py --preset grains [--seed N]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import tempfile
import time
from pathlib import Path

from csmbench import RunConfig, build_dataset, evaluate, read_records

RESULTS = Path(__file__).parent / "results"


def _row(family: str, ref: dict, none: dict, seconds: float) -> str:
    r, n = ref["by_family"][family], none["by_family"][family]
    return (f"| `{family}` | {r['n']} | {r['accuracy']:.1%} | {n['accuracy']:.1%} | "
            f"{seconds:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="diffraction",
                        choices=["diffraction", "grains", "cross_scale", "standard"])
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    seed, preset = args.seed, args.preset
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        start = time.perf_counter()
        data = build_dataset(root / "data", preset=preset, seed=seed)
        build_s = time.perf_counter() - start
        start = time.perf_counter()
        ref = asyncio.run(evaluate(data, root / "ref", RunConfig(agent="reference", tools="all")))
        ref_s = time.perf_counter() - start
        none = asyncio.run(evaluate(data, root / "none", RunConfig(agent="no-tools", tools="none")))
        records = read_records(root / "ref")
    per_family: dict[str, list[float]] = {}
    for record in records:
        per_family.setdefault(record.family, []).append(record.seconds)
    lines = [f"# {preset.capitalize()} episodes: reference and no-tools", "",
             (f"`{preset}` preset, seed {seed}, {ref['overall']['n']} items; "
              f"{platform.machine()}, Python {platform.python_version()}, load average at the "
              f"end {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores."), "",
             f"- build: {build_s:.0f} s ({build_s / ref['overall']['n'] * 1000:.0f} ms per item)",
             f"- reference run: {ref_s:.0f} s with concurrency 16", "",
             "| family | items | reference | no-tools | reference s/episode (median) |",
             "|---|---:|---:|---:|---:|"]
    for family in sorted(ref["by_family"]):
        times = sorted(per_family[family])
        lines.append(_row(family, ref, none, times[len(times) // 2]))
    lines.append(f"| **overall** | {ref['overall']['n']} | {ref['overall']['accuracy']:.1%} | "
                 f"{none['overall']['accuracy']:.1%} | |")
    lines += ["", "| group | items | reference | no-tools |", "|---|---:|---:|---:|"]
    for group in ("by_scale", "by_difficulty", "by_answer_type"):
        for name, r in ref.get(group, {}).items():
            lines.append(f"| {group[3:]}: {name} | {r['n']} | {r['accuracy']:.1%} | "
                         f"{none[group][name]['accuracy']:.1%} |")
    wrong = [r for r in records if not r.correct]
    lines += ["", f"## Items the reference gets wrong ({len(wrong)})", ""]
    for record in wrong:
        why = record.score.answer.explanation if record.score else record.error
        lines.append(f"- `{record.item_id}`: {why}")
    out = RESULTS / f"{preset}_episodes.md"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(out.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
