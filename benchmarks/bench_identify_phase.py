"""Accuracy and speed of ``identify_phase`` on simulated powder patterns of database phases.

Each pattern k (seeded: ``np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(k,)))``)
is simulated by ``episodes.generators._xrd_pattern`` with ``random_spec``: every radiation
(Cu, Co, Mo; Kα1 or Kα1+Kα2), scan range and step, peak counts 500-100,000 with Poisson
noise, background level and curvature, amorphous humps, crystallite size 5-200 nm
(log-uniform), microstrain, zero shift, specimen displacement and March-Dollase preferred
orientation. Single-phase patterns draw one curated record uniformly; two-phase mixtures draw
two curated records of different phases (formula, space group) with weight fractions w and
1 - w, w uniform in 0.25-0.75. The pipeline is the agent's: ``find_peaks`` on the scan with
its radiation, then ``identify_phase`` over the whole database (every source) with the peak
heights, the radiation's Kα1 wavelength and ``two_theta_range`` = (first, last 2θ of the scan).

Scoring: a reported phase is a true one when it has the same formula and space group number
(up to enantiomorphs, ``ENANTIOMORPHS``): another source's copy of the phase counts, and so do
polytypes sharing formula and space group (2H/4H/6H-SiC). Single phase: top-1 is
``matches[0]``, top-3 any of ``matches[:3]``. Mixture: all phases found when both true phases
are in ``mixture``; extra phases are the other ``mixture`` entries.

Visible peaks (the truth a peak list could show): the Kα1 reflections of all phases, merged
when closer than half their FWHM, with the noise-free height (pseudo-Voigt height of the
reflections' areas); a peak is visible when its height is ≥ 1 % of the strongest and ≥ 3 σ of
the Poisson noise of the background under it, and it belongs to the phase giving most of its
height. The ideal-peak-list columns run ``identify_phase`` on these visible peaks instead of
``find_peaks`` output, separating the matcher from the peak finder. Time is that of one
``identify_phase`` call (wall clock and process CPU); the first call of a process builds the
reflection table of the database (cached beside it in an ``.npz``), timed separately on a
fresh copy of the database file.

Run: ``.venv/bin/python benchmarks/bench_identify_phase.py [--single 200] [--mixtures 100]
[--seed 2026 7]`` (one section per root seed).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from csmbench.episodes.generators._xrd_pattern import (
    SimulatedPattern,
    random_spec,
    simulate_pattern,
)
from csmbench.tools._crystal_db import CrystalRecord, load_records, open_database
from csmbench.tools._radiation import EMISSIONS
from csmbench.tools._xrd_peaks import find_peaks
from csmbench.tools._xrd_phase import ENANTIOMORPHS, PhaseIdentification, identify_phase

RESULTS = Path(__file__).resolve().parent / "results" / "identify_phase.md"
WEIGHT_RANGE = (0.25, 0.75)
"""Range of the first phase's weight fraction in a mixture."""
TARGET_TOP1 = 0.98
TARGET_MIXTURE = 0.90
SMALL_NM = 10.0
"""Crystallites below this size (nm) give peaks broader than about 1° 2θ."""
VISIBLE_RELATIVE = 0.01
VISIBLE_SNR = 3.0
MERGE_FWHM = 0.5
"""Reflections closer than this × FWHM are one visible peak."""

Phase = tuple[str, int]


@dataclass
class Case:
    """One simulated pattern, its peak lists and what identify_phase made of them."""

    k: int
    truth: tuple[str, ...]
    pattern: SimulatedPattern
    peaks_two_theta: np.ndarray
    peaks_height: np.ndarray
    visible: dict = field(default_factory=dict)
    """Visible peaks: ``two_theta``, ``height`` and ``phase`` (index into truth)."""
    result: PhaseIdentification | None = None
    ideal: PhaseIdentification | None = None
    wall_s: float = 0.0
    cpu_s: float = 0.0


def phase_of(record: CrystalRecord) -> Phase:
    """Formula and space group number up to enantiomorphism."""
    number = record.space_group_number
    return record.formula, ENANTIOMORPHS.get(number, number)


def make_case(seed: int, k: int, curated: list[CrystalRecord], mixture: bool) -> Case:
    """Simulate pattern k, find its peaks and list the visible ones."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(k,)))
    first = curated[int(rng.integers(len(curated)))]
    if mixture:
        others = [r for r in curated if phase_of(r) != phase_of(first)]
        second = others[int(rng.integers(len(others)))]
        w = float(rng.uniform(*WEIGHT_RANGE))
        spec = random_spec(rng, phases=(first.id, second.id), weight_fractions=(w, 1.0 - w))
    else:
        spec = random_spec(rng, phases=(first.id,))
    pattern = simulate_pattern(spec, rng)
    found = find_peaks(pattern.two_theta, pattern.intensity, radiation=spec.radiation).peaks
    return Case(k, spec.phases, pattern, np.array([p.two_theta for p in found]),
                np.array([p.height for p in found]), visible_peaks(pattern))


def _profile(at: np.ndarray, center: float, fwhm: float, eta: float) -> np.ndarray:
    """Area-normalised pseudo-Voigt at ``at`` (degrees)."""
    z2 = ((at - center) / fwhm) ** 2
    return (eta * (2.0 / math.pi) / (fwhm * (1 + 4 * z2)) + (1 - eta)
            * (2.0 * math.sqrt(math.log(2.0) / math.pi) / fwhm) * np.exp(-4 * math.log(2) * z2))


def phase_signals(pattern: SimulatedPattern, at: np.ndarray) -> np.ndarray:
    """Noise-free peak signal (counts) of each phase at the angles ``at``, shape (phases, N)."""
    line = EMISSIONS[pattern.spec.radiation]
    out = np.zeros((len(pattern.spec.phases), len(at)))
    for r in pattern.reflections:
        i = pattern.spec.phases.index(r["phase"])
        out[i] += r["intensity"] * _profile(at, r["two_theta"], r["fwhm_deg"], pattern.spec.eta)
        if line.is_doublet and r["two_theta_ka2"] is not None:
            out[i] += line.ka2_ratio * r["intensity"] * _profile(
                at, r["two_theta_ka2"], r["fwhm_deg"], pattern.spec.eta)
    return out


def visible_peaks(pattern: SimulatedPattern) -> dict:
    """Kα1 reflections merged within MERGE_FWHM × FWHM, kept when visible (see docstring)."""
    phases = pattern.spec.phases
    refl = sorted(pattern.reflections, key=lambda r: r["two_theta"])
    groups: list[list[dict]] = []
    for r in refl:
        if groups and r["two_theta"] - groups[-1][-1]["two_theta"] < MERGE_FWHM * r["fwhm_deg"]:
            groups[-1].append(r)
        else:
            groups.append([r])
    eta = pattern.spec.eta
    tt, height, owner = [], [], []
    for g in groups:
        h = np.array([r["intensity"] * _profile(np.array([r["two_theta"]]), r["two_theta"],
                                                r["fwhm_deg"], eta)[0] for r in g])
        tt.append(float(np.average([r["two_theta"] for r in g], weights=h + 1e-300)))
        height.append(float(h.sum()))
        share = np.zeros(len(phases))
        for r, v in zip(g, h, strict=True):
            share[phases.index(r["phase"])] += v
        owner.append(int(np.argmax(share)))
    tt, height, owner = np.array(tt), np.array(height), np.array(owner)
    if len(tt) == 0:
        return {"two_theta": tt, "height": height, "phase": owner}
    background = np.interp(tt, pattern.two_theta, pattern.expected) - phase_signals(
        pattern, tt).sum(axis=0)
    keep = ((height >= VISIBLE_RELATIVE * height.max())
            & (height >= VISIBLE_SNR * np.sqrt(np.maximum(background, 1.0))))
    return {"two_theta": tt[keep], "height": height[keep], "phase": owner[keep]}


def _call(case: Case, two_theta: np.ndarray, height: np.ndarray) -> PhaseIdentification:
    spec = case.pattern.spec
    return identify_phase(
        two_theta, height, wavelength=EMISSIONS[spec.radiation].ka1_angstrom,
        two_theta_range=(float(case.pattern.two_theta[0]), float(case.pattern.two_theta[-1])))


def identify(case: Case) -> None:
    """identify_phase on the found peak heights (timed) and on the visible peaks."""
    t0, c0 = time.perf_counter(), time.process_time()
    case.result = _call(case, case.peaks_two_theta, case.peaks_height)
    case.wall_s, case.cpu_s = time.perf_counter() - t0, time.process_time() - c0
    case.ideal = _call(case, case.visible["two_theta"], case.visible["height"])


def cold_first_call(case: Case) -> float:
    """Seconds of a first call on a fresh copy of the database (reflection table built)."""
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "crystals.sqlite"
        shutil.copyfile(open_database(), copy)
        t0 = time.perf_counter()
        identify_phase(case.peaks_two_theta, case.peaks_height, database=copy)
        return time.perf_counter() - t0


def found_peaks_of(case: Case, index: int) -> int:
    """Found peaks where phase ``index`` gives at least half of the expected peak signal."""
    if len(case.peaks_two_theta) == 0:
        return 0
    signals = phase_signals(case.pattern, case.peaks_two_theta)
    return int((signals[index] >= 0.5 * np.maximum(signals.sum(axis=0), 1e-300)).sum())


class Scorer:
    """Per-case verdicts against the truth."""

    def __init__(self, records: dict[str, CrystalRecord]):
        self.records = records

    def phases(self, matches) -> list[Phase]:
        return [phase_of(self.records[m.id]) for m in matches]

    def truth(self, case: Case) -> list[Phase]:
        return [phase_of(self.records[i]) for i in case.truth]

    def top(self, case: Case, n: int, ideal: bool = False) -> bool:
        result = case.ideal if ideal else case.result
        return self.truth(case)[0] in self.phases(result.matches)[:n]

    def all_found(self, case: Case, ideal: bool = False) -> bool:
        result = case.ideal if ideal else case.result
        return set(self.truth(case)) <= set(self.phases(result.mixture))

    def extra(self, case: Case, ideal: bool = False) -> int:
        result = case.ideal if ideal else case.result
        truth = set(self.truth(case))
        return sum(p not in truth for p in self.phases(result.mixture))


def _rate(hits: list[bool]) -> str:
    """Share, count and Wilson 95 % interval."""
    if not hits:
        return "n/a"
    n, p, z = len(hits), float(np.mean(hits)), 1.96
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return f"{p:.3f} ({sum(hits)}/{n}; {centre - half:.2f}-{centre + half:.2f})"


def _label(record: CrystalRecord) -> str:
    name = record.names[0] if record.names else record.id
    return f"{record.formula} {record.space_group} ({name}; `{record.id}`)"


def accuracy_rows(cases: list[Case], s: Scorer) -> list[tuple[str, str, str, str]]:
    """(metric, pipeline value, ideal-peak-list value, target) rows."""
    single = [c for c in cases if len(c.truth) == 1]
    mixed = [c for c in cases if len(c.truth) == 2]
    small = [c for c in single if c.pattern.spec.crystallite_nm[0] < SMALL_NM]
    large = [c for c in single if c.pattern.spec.crystallite_nm[0] >= SMALL_NM]
    three = [c for c in single if len(c.peaks_two_theta) >= 3]
    mix_large = [c for c in mixed if min(c.pattern.spec.crystallite_nm) >= SMALL_NM]
    both_visible = [c for c in mixed if all(
        (c.visible["phase"] == i).sum() >= 2 for i in range(2))]

    def both(sub: list[Case], metric) -> tuple[str, str]:
        return (_rate([metric(c, False) for c in sub]), _rate([metric(c, True) for c in sub]))

    def extras(sub: list[Case], ideal: bool) -> str:
        e = np.array([s.extra(c, ideal) for c in sub])
        return f"{e.mean():.2f} / {(e > 0).mean():.3f}"

    return [
        ("single phase: top-1 accuracy", *both(single, lambda c, i: s.top(c, 1, i)),
         f"≥ {TARGET_TOP1:.2f}"),
        ("single phase: top-3 accuracy", *both(single, lambda c, i: s.top(c, 3, i)), ""),
        (f"single phase: top-1, crystallites ≥ {SMALL_NM:g} nm",
         *both(large, lambda c, i: s.top(c, 1, i)), ""),
        (f"single phase: top-1, crystallites < {SMALL_NM:g} nm",
         *both(small, lambda c, i: s.top(c, 1, i)), ""),
        ("single phase: top-1, patterns with ≥ 3 peaks found",
         *both(three, lambda c, i: s.top(c, 1, i)), ""),
        ("single phase: extra phases in `mixture`, mean / share of patterns",
         extras(single, False), extras(single, True), ""),
        ("two phases: both in `mixture`", *both(mixed, s.all_found), f"≥ {TARGET_MIXTURE:.2f}"),
        (f"two phases: both in `mixture`, both crystallites ≥ {SMALL_NM:g} nm",
         *both(mix_large, s.all_found), ""),
        ("two phases: both in `mixture`, each phase with ≥ 2 visible peaks",
         *both(both_visible, s.all_found), ""),
        ("two phases: extra phases in `mixture`, mean / share of patterns",
         extras(mixed, False), extras(mixed, True), ""),
    ]


def failure_rows(cases: list[Case], s: Scorer) -> str:
    """Markdown tables of the single-phase and mixture failures of the pipeline."""
    r = s.records
    lines = ["#### Single phase (top-1 wrong)\n",
             ("| # | true phase | reported first (FOM) | true phase's rank (FOM) | radiation, "
              "crystallite size, peak counts | peaks found / visible | ideal list top-1 |"),
             "|---|---|---|---|---|---|---|"]
    fails = [c for c in cases if len(c.truth) == 1 and not s.top(c, 1)]
    for c in fails:
        truth = s.truth(c)[0]
        matches = c.result.matches
        first = (f"{_label(r[matches[0].id])} ({matches[0].figure_of_merit:.3f})"
                 if matches else "none")
        rank = next((f"{i + 1} ({m.figure_of_merit:.3f})" for i, m in enumerate(matches)
                     if phase_of(r[m.id]) == truth), f"> {len(matches)}")
        lines.append(f"| {c.k} | {_label(r[c.truth[0]])} | {first} | {rank} | "
                     f"{_spec_text(c, 0)} | {len(c.peaks_two_theta)} / "
                     f"{len(c.visible['two_theta'])} | {'right' if s.top(c, 1, True) else 'wrong'} |")
    if not fails:
        lines.append("| | none | | | | | |")
    lines += ["\n#### Two-phase mixtures (a true phase missing from `mixture`)\n",
              ("| # | missed phase (weight fraction) | peaks of the missed phase: visible / "
               "found | other phase (weight fraction) | reported mixture (FOM) | radiation, "
               "missed phase's crystallite size, peak counts | ideal list |"),
              "|---|---|---|---|---|---|---|"]
    fails = [c for c in cases if len(c.truth) == 2 and not s.all_found(c)]
    for c in fails:
        spec = c.pattern.spec
        got = set(s.phases(c.result.mixture))
        reported = ", ".join(f"{_label(r[m.id])} ({m.figure_of_merit:.3f})"
                             for m in c.result.mixture)
        for i, rid in enumerate(spec.phases):
            if phase_of(r[rid]) in got:
                continue
            j = 1 - i
            lines.append(
                f"| {c.k} | {_label(r[rid])} ({spec.weight_fractions[i]:.2f}) | "
                f"{int((c.visible['phase'] == i).sum())} / {found_peaks_of(c, i)} | "
                f"{r[spec.phases[j]].formula} {r[spec.phases[j]].space_group} "
                f"({spec.weight_fractions[j]:.2f}) | {reported} | {_spec_text(c, i)} | "
                f"{'both found' if s.all_found(c, True) else 'missed'} |")
    if not fails:
        lines.append("| | none | | | | | |")
    return "\n".join(lines) + "\n"


def _spec_text(case: Case, index: int) -> str:
    spec = case.pattern.spec
    return (f"{spec.radiation}, {spec.crystallite_nm[index]:.0f} nm, "
            f"{spec.max_counts:.0f} counts")


def seed_section(seed: int, cases: list[Case], records: dict[str, CrystalRecord]) -> str:
    """Markdown section of one root seed: accuracy, peaks and timing, failures."""
    s = Scorer(records)
    n1 = sum(len(c.truth) == 1 for c in cases)
    rows = accuracy_rows(cases, s)
    table = ("| metric | pipeline (find_peaks → identify_phase) | ideal peak list | target |\n"
             "|---|---|---|---|\n" + "\n".join(f"| {a} | {b} | {c} | {d} |"
                                               for a, b, c, d in rows))
    wall = np.array([c.wall_s for c in cases]) * 1e3
    cpu = np.array([c.cpu_s for c in cases]) * 1e3
    found = [len(c.peaks_two_theta) for c in cases]
    visible = [len(c.visible["two_theta"]) for c in cases]
    timing = (
        "| metric | value |\n|---|---|\n"
        f"| wall time per call, median / 90th pct / max | {np.median(wall):.0f} / "
        f"{np.percentile(wall, 90):.0f} / {wall.max():.0f} ms |\n"
        f"| CPU time per call, median / 90th pct | {np.median(cpu):.0f} / "
        f"{np.percentile(cpu, 90):.0f} ms |\n"
        f"| peaks per pattern, found / visible, median | {np.median(found):.0f} / "
        f"{np.median(visible):.0f} |\n"
        f"| patterns with fewer than 3 peaks found / visible | "
        f"{sum(f < 3 for f in found)} / {sum(v < 3 for v in visible)} |")
    radiations: dict[str, int] = {}
    for c in cases:
        radiations[c.pattern.spec.radiation] = radiations.get(c.pattern.spec.radiation, 0) + 1
    mix_text = ", ".join(f"{k} {v}" for k, v in sorted(radiations.items()))
    return (f"## Root seed {seed}\n\n{n1} single-phase patterns and {len(cases) - n1} two-phase "
            f"mixtures. Radiations drawn: {mix_text}.\n\n{table}\n\n{timing}\n\n"
            f"### Failures of the pipeline\n\n{failure_rows(cases, s)}")


def summary_rows(runs: list[tuple[int, list[Case]]], records: dict[str, CrystalRecord]) -> str:
    """One row per seed: the headline figures of the pipeline."""
    s = Scorer(records)
    lines = [("| root seed | single phase: top-1 | two phases: both in `mixture` | extra "
              "phases in `mixture`, share of patterns (single / two phases) | CPU time per "
              "call, median |"), "|---|---|---|---|---|"]
    for seed, cases in runs:
        single = [c for c in cases if len(c.truth) == 1]
        mixed = [c for c in cases if len(c.truth) == 2]
        extra = [np.mean([s.extra(c) > 0 for c in sub]) for sub in (single, mixed)]
        cpu = np.median([c.cpu_s for c in cases]) * 1e3
        lines.append(f"| {seed} | {_rate([s.top(c, 1) for c in single])} | "
                     f"{_rate([s.all_found(c) for c in mixed])} | {extra[0]:.3f} / "
                     f"{extra[1]:.3f} | {cpu:.0f} ms |")
    return "\n".join(lines)


def report(runs: list[tuple[int, list[Case]]], cold_s: float, total_s: float,
           records: dict[str, CrystalRecord]) -> str:
    seeds = " ".join(str(seed) for seed, _ in runs)
    sections = "\n".join(seed_section(seed, cases, records) for seed, cases in runs)
    return (f"# identify_phase benchmark\n\nRoot seeds {seeds.replace(' ', ', ')}, searched "
            f"against all {len(records)} database records; "
            f"{platform.processor() or platform.machine()}, Python "
            f"{platform.python_version()}. Shares are given with their counts and Wilson 95 % "
            f"intervals. Targets: single-phase top-1 ≥ {TARGET_TOP1:.2f}, two phases both "
            f"found ≥ {TARGET_MIXTURE:.2f}.\n\n{summary_rows(runs, records)}\n\nFirst call of "
            f"a process (builds the reflection table): {cold_s:.1f} s wall. Load average when "
            f"the run ended: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (the machine is "
            f"shared, so wall time is inflated). Whole benchmark (simulation, peak finding, "
            f"identification): {total_s / 60:.1f} min.\n\n{sections}\n## How measured\n\n"
            f"{__doc__.split('Run:')[0].strip()}\n\nRun: `.venv/bin/python "
            f"benchmarks/bench_identify_phase.py --seed {seeds}`\n")


def build_cases(n_single: int, n_mixtures: int, seed: int) -> list[Case]:
    """Simulate all patterns and find their peaks (no identification yet)."""
    records = load_records(open_database())
    curated = [r for r in records if r.source == "curated"]
    return [make_case(seed, k, curated, mixture=k >= n_single)
            for k in range(n_single + n_mixtures)]


def run(n_single: int, n_mixtures: int, seeds: list[int]) -> str:
    start = time.perf_counter()
    runs = [(seed, build_cases(n_single, n_mixtures, seed)) for seed in seeds]
    cold_s = cold_first_call(runs[0][1][0])
    identify_phase([28.44], [1.0])  # loads the default database's table: not timed
    for _, cases in runs:
        for case in cases:
            identify(case)
    records = {r.id: r for r in load_records(open_database())}
    return report(runs, cold_s, time.perf_counter() - start, records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=200)
    parser.add_argument("--mixtures", type=int, default=100)
    parser.add_argument("--seed", type=int, nargs="+", default=[2026, 7],
                        help="root seeds, one section each")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="Issues encountered while parsing CIF")
    text = run(args.single, args.mixtures, args.seed)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
