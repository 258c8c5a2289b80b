"""Accuracy and speed of ``find_peaks`` (and Scherrer sizes) on synthetic powder patterns.

Each pattern (seeded): a random primitive cubic, tetragonal or hexagonal cell; every
reflection in 10-100° 2θ with a random (log-uniform) intensity; pseudo-Voigt profiles with
random eta; FWHM, in equal shares, from Scherrer size broadening of nano-crystallites
(D = 5-10 nm: broad peaks, FWHM 0.8-2.5°), from D = 10-100 nm, each on top of a 0.05°
instrument, or random 0.05-0.4°; Cu Kα1 or Kα1+Kα2 (ratio 0.5); a quadratic background,
sometimes (30 %) with an amorphous hump (Gaussian, FWHM 5-12°, centre 15-35°); Poisson
noise at several count levels; 9,000 points. Truth peaks counted for recall: relative
height >= 2 %, SNR = height / sqrt(background) >= 5, and no other reflection within one
FWHM (unresolvable pairs are not a peak finder's miss). A found peak is false when no
reflection of any intensity lies within max(0.5 FWHM, 0.03°). The Scherrer size comes from
the strongest found peak that is such an isolated reflection (a blend is wider than either
of its reflections). The broad subset (D = 5-10 nm) is also reported on its own, with the
position error relative to the FWHM. Also the LaB6 measured pattern (../shared/realdata).
Writes ``benchmarks/results/find_peaks.md`` and prints it.

Run: ``.venv/bin/python benchmarks/bench_find_peaks.py [--n 300] [--seed 2026]``
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import platform
import time
from pathlib import Path

import numpy as np

from csmbench.tools._radiation import CU_KA1, CU_KA2, ka2_two_theta
from csmbench.tools._xrd_broadening import scherrer_size
from csmbench.tools._xrd_lattice import fit_lattice
from csmbench.tools._xrd_peaks import find_peaks, pseudo_voigt, read_xy

N_POINTS, LO, HI = 9000, 10.0, 100.0
INSTRUMENT_FWHM = 0.05
COUNT_LEVELS = (300.0, 1000.0, 5000.0, 30000.0)
"""Peak height of the strongest reflection, counts."""
SIZE_RANGES_NM = {"broad": (5.0, 10.0), "sized": (10.0, 100.0)}
"""Crystallite sizes of the Scherrer-broadened kinds; the third kind ("narrow") has one
random FWHM of 0.05-0.4°."""
HUMP_FWHM_DEG = (5.0, 12.0)
RESULTS = Path(__file__).resolve().parent / "results" / "find_peaks.md"
LAB6 = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "xrayutilities" / \
    "LaB6_d500_si_psd.xye"
LAB6_A = 4.15692


def reflections(system: str, a: float, c: float) -> np.ndarray:
    """Distinct Kα1 2θ (deg) of a primitive cell inside [LO, HI]."""
    qs = set()
    for h, k, l in itertools.product(range(-8, 9), range(9), range(9)):
        if (h, k, l) == (0, 0, 0):
            continue
        if system == "cubic":
            q = (h * h + k * k + l * l) / a**2
        elif system == "tetragonal":
            q = (h * h + k * k) / a**2 + l * l / c**2
        else:
            q = 4 / 3 * (h * h + h * k + k * k) / a**2 + l * l / c**2
        qs.add(round(q, 9))
    s = CU_KA1 * np.sqrt(np.array(sorted(qs))) / 2
    tt = np.degrees(2 * np.arcsin(s[s < 1]))
    return tt[(tt > LO + 0.5) & (tt < HI - 0.5)]


def widths(rng: np.random.Generator, kind: str, centres: np.ndarray):
    """FWHM (deg) of each reflection and the crystallite size (nm, None for "narrow")."""
    if kind == "narrow":
        return np.full(centres.size, rng.uniform(0.05, 0.4)), None
    size_nm = float(rng.uniform(*SIZE_RANGES_NM[kind]))
    beta = np.degrees(0.9 * CU_KA1 / (size_nm * 10 * np.cos(np.radians(centres / 2))))
    return np.sqrt(beta**2 + INSTRUMENT_FWHM**2), size_nm


def make_pattern(rng: np.random.Generator, kind: str) -> dict:
    system = str(rng.choice(["cubic", "tetragonal", "hexagonal"]))
    a = rng.uniform(3.0, 6.0) if system == "cubic" else rng.uniform(2.8, 5.5)
    centres = reflections(system, a, rng.uniform(2.5, 6.0))
    rel = 10 ** rng.uniform(-2.5, 0, centres.size)
    rel /= rel.max()
    fwhm, size_nm = widths(rng, kind, centres)
    doublet = bool(rng.random() < 0.5)
    top = float(rng.choice(COUNT_LEVELS))
    x = np.linspace(LO, HI, N_POINTS)
    bg = top * rng.uniform(0.02, 0.3) * (1 + rng.uniform(-0.5, 0.5) * (x - LO) / 90
                                         + rng.uniform(0, 1) * ((x - 55) / 45) ** 2)
    hump = None
    if rng.random() < 0.3:
        hump = (rng.uniform(15, 35), rng.uniform(*HUMP_FWHM_DEG))
        bg = bg + top * 0.1 * np.exp(-4 * math.log(2) * ((x - hump[0]) / hump[1]) ** 2)
    eta = rng.uniform(0.1, 0.9)
    y = bg.copy()
    for c, h, w in zip(centres, rel * top, fwhm):
        y += pseudo_voigt(x, c, h, w, eta)
        if doublet:
            y += pseudo_voigt(x, ka2_two_theta(c, CU_KA1, CU_KA2), 0.5 * h, w, eta)
    return {"x": x, "y": rng.poisson(y).astype(float), "centres": centres, "heights": rel * top,
            "fwhm": fwhm, "bg": np.interp(centres, x, bg), "size_nm": size_nm, "kind": kind,
            "hump": hump,
            "radiation": "CuKa12" if doublet else "CuKa1"}


def isolated(p: dict) -> np.ndarray:
    """Mask of the reflections with no other reflection within one FWHM."""
    c = p["centres"]
    gaps = np.abs(c[:, None] - c[None, :]) + np.eye(c.size) * 1e9
    return gaps.min(axis=1) > p["fwhm"]


def score(p: dict, found) -> dict:
    c, w = p["centres"], p["fwhm"]
    snr = p["heights"] / np.sqrt(p["bg"])
    eligible = (p["heights"] >= 0.02 * p["heights"].max()) & (snr >= 5) & isolated(p)
    pos = np.array([f.two_theta for f in found])
    errors, relative, hits = [], [], 0
    for i in np.flatnonzero(eligible):
        if pos.size and np.min(np.abs(pos - c[i])) < 0.5 * w[i]:
            hits += 1
            errors.append(float(np.min(np.abs(pos - c[i]))))
            relative.append(errors[-1] / w[i])
    false = sum(1 for f in pos if np.min(np.abs(c - f)) > max(0.5 * np.max(w), 0.03))
    return {"eligible": int(eligible.sum()), "hits": hits, "errors": errors,
            "relative": relative, "false": false, "n_found": pos.size}


def scherrer_error(p: dict, found) -> float | None:
    """Relative error of the Scherrer size from the strongest found peak that is an isolated
    reflection (no other reflection within one FWHM: a blend is wider than either)."""
    if p["size_nm"] is None or not found:
        return None
    alone = p["centres"][isolated(p)]
    clean = [f for f in found
             if alone.size and np.min(np.abs(alone - f.two_theta)) < 0.5 * f.fwhm]
    if not clean:
        return None
    best = max(clean, key=lambda f: f.height)
    size = scherrer_size(best.two_theta, best.fwhm, instrument_fwhm_deg=INSTRUMENT_FWHM)
    return abs(size - p["size_nm"]) / p["size_nm"]


def first_call_seconds() -> float:
    """Wall time of a process's first ``find_peaks`` call, which loads (or, on a new
    installation, compiles) the numba fit kernel; the timed calls come after it."""
    p = make_pattern(np.random.default_rng(0), "sized")
    t0 = time.perf_counter()
    find_peaks(p["x"], p["y"], radiation=p["radiation"])
    return time.perf_counter() - t0


def run(n: int, seed: int) -> str:
    first = first_call_seconds()
    rng = np.random.default_rng(seed)
    kinds = ("broad", "sized", "narrow")
    rows = []
    for i in range(n):
        p = make_pattern(rng, kinds[i % 3])
        t0, c0 = time.perf_counter(), time.process_time()
        result = find_peaks(p["x"], p["y"], radiation=p["radiation"])
        s = score(p, result.peaks)
        s.update(kind=p["kind"], wall=time.perf_counter() - t0, cpu=time.process_time() - c0,
                 n_peaks=len(result.peaks), size_error=scherrer_error(p, result.peaks))
        rows.append(s)
    whole = summary(rows, "all", "D 5-100 nm")
    broad = summary([r for r in rows if r["kind"] == "broad"], "broad", "D 5-10 nm")
    return report(n, seed, whole, broad, lab6_figures(), first)


def summary(rows: list[dict], name: str, sizes_label: str) -> list[tuple[str, str, str]]:
    """Metric rows (name, value, target) of a set of scored patterns."""
    tot = {k: sum(r[k] for r in rows) for k in ("eligible", "hits", "false", "n_found")}
    errors = np.concatenate([r["errors"] for r in rows])
    relative = np.concatenate([r["relative"] for r in rows])
    sizes = np.array([r["size_error"] for r in rows if r["size_error"] is not None])
    t, c = (np.array([r[k] for r in rows]) * 1e3 for k in ("wall", "cpu"))
    pct = (lambda v, q: f"{np.percentile(v, q):.4f}") if errors.size else (lambda v, q: "-")
    out = [(f"patterns ({name})", f"{len(rows)}", ""),
           ("median position error (matched eligible peaks)", pct(errors, 50) + "°", "≤ 0.01°"),
           ("90th percentile position error", pct(errors, 90) + "°", ""),
           ("median position error / FWHM", pct(relative, 50), "≤ 0.02 (broad)"),
           ("90th percentile position error / FWHM", pct(relative, 90), ""),
           ("recall (rel. height ≥ 2 %, SNR ≥ 5, isolated)",
            f"{tot['hits'] / max(tot['eligible'], 1):.4f} ({tot['hits']}/{tot['eligible']})",
            "≥ 0.98"),
           ("false peaks / peaks reported",
            f"{tot['false'] / max(tot['n_found'], 1):.4f} ({tot['false']}/{tot['n_found']})",
            "≤ 0.02")]
    if sizes.size:
        out += [(f"Scherrer size, median relative error ({sizes_label})",
                 f"{np.median(sizes):.3f} (n = {sizes.size})", "≤ 0.10"),
                ("Scherrer size, 90th percentile relative error",
                 f"{np.percentile(sizes, 90):.3f}", "")]
    out += [("wall time per call, median / 90th pct / max",
             f"{np.median(t):.1f} / {np.percentile(t, 90):.1f} / {t.max():.1f} ms", "≤ 20 ms"),
            ("CPU time per call, median / 90th pct",
             f"{np.median(c):.1f} / {np.percentile(c, 90):.1f} ms", ""),
            ("peaks reported per pattern, median",
             f"{np.median([r['n_peaks'] for r in rows]):.0f}", "")]
    return out


def lab6_figures() -> str:
    if not LAB6.is_file():
        return "LaB6 file not available.\n"
    x, y = read_xy(LAB6)
    t0 = time.perf_counter()
    peaks = find_peaks(x, y, radiation="CuKa12")
    ms = (time.perf_counter() - t0) * 1e3
    fit = fit_lattice(peaks, "cubic")
    lines = []
    for h, k, l in [(1, 0, 0), (1, 1, 0), (1, 1, 1), (2, 0, 0), (2, 1, 0), (2, 1, 1), (2, 2, 0),
                    (3, 0, 0), (3, 1, 0), (4, 3, 1)]:
        tt = math.degrees(2 * math.asin(CU_KA1 * math.sqrt(h * h + k * k + l * l) / (2 * LAB6_A)))
        obs = min(peaks.two_thetas, key=lambda v: abs(v - tt))
        lines.append(f"| {h}{k}{l} | {tt:.3f} | {obs:.3f} | {obs - tt:+.4f} |")
    return ("| hkl | Bragg 2θ (a = 4.15692 Å) | found Kα1 | diff |\n|---|---|---|---|\n"
            + "\n".join(lines)
            + f"\n\n{len(peaks.peaks)} peaks in {x.size} points, {ms:.0f} ms. `fit_lattice(..., "
              f"'cubic')`: centring {fit.centring}, a = {fit.a:.5f} ± {fit.a_err:.5f} Å "
              f"(truth 4.15692, error {fit.a - LAB6_A:+.5f} Å), zero shift "
              f"{fit.zero_shift_deg:+.4f}°, rms residual {fit.residual_deg:.4f}°, "
              f"{fit.n_peaks} peaks.\n")


def table(rows: list[tuple[str, str, str]]) -> str:
    return "| metric | value | target |\n|---|---|---|\n" + "\n".join(
        f"| {a} | {b} | {c} |" for a, b, c in rows)


def report(n, seed, whole, broad, lab6, first: float) -> str:
    return (f"# find_peaks benchmark\n\n{n} synthetic patterns, seed {seed}, {N_POINTS} points "
            f"over {LO:g}-{HI:g}° each; {platform.processor() or platform.machine()}, Python "
            f"{platform.python_version()}, single thread.\n\n## Whole set\n\n{table(whole)}\n\n"
            f"## Broad peaks (nano-crystallites, D = 5-10 nm)\n\n{table(broad)}\n\n"
            f"## How measured\n\n{__doc__.split('Run:')[0].strip()}\n\nTime is that of one "
            "`find_peaks` call (validation, background, noise, candidates, fits), wall clock "
            "and process CPU time; load average when the run ended: "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (the machine is shared, so "
            f"wall time is inflated). The first call of a process, not timed above, took "
            f"{first:.2f} s: it loads the compiled (numba) fit kernel from its cache, or "
            "compiles it once after installation.\n\n## LaB6 (measured, D500, "
            f"Cu Kα1+Kα2)\n\n{lab6}\nRun: `.venv/bin/python benchmarks/bench_find_peaks.py`\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    text = run(args.n, args.seed)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
