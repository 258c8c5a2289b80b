"""Accuracy and speed of ``estimate_grain_size`` on synthetic micrographs with exact truth.

Each case (seeded, independent of the others): a microstructure from
``generate_microstructure`` in one of three render styles (etched optical, SEM channelling,
EBSD band contrast, cycled) and one of four kinds (cycled): equiaxed (Voronoi or hard-core
Laguerre), elongated (aspect ratio 1.5-3 at a random angle), size spread (Laguerre,
size_sigma 0-0.4) and two-phase (second-phase area fraction 0.1-0.5); half of the etched
optical cases carry annealing twins (twin_fraction 0.3-0.8, which E112 and the truth
disregard; SEM channelling and EBSD band contrast draw twin boundaries exactly like grain
boundaries, so only orientation data could tell them apart and they get none); mean
grain size d = sqrt(mean area) 15-60 px (log-uniform); 512-1024 px wide, 0.7-1.0 as high.
Half of the cases are framed like an instrument image: the specimen above a Zeiss, FEI,
Tescan or JEOL data strip with a scale bar (``render_micrograph``), which the tool must
find and ignore; the others are the bare render. The truth is ``grain_truth`` of the very
labels that were rendered, at the pixel size of the case. Each image is measured twice,
with method "intercept" and "planimetric", with automatic boundary and databar detection.
Errors: relative errors of the mean lineal intercept and of the grains per mm² (signed
median = bias, and percentiles of the absolute error), ASTM G differences of both methods,
the mean aspect ratio difference, and the phase fraction: the tool reports the area share
of the darker grain population, so the truth is the second phase's fraction if it renders
darker, else one minus it. Timing is a separate phase: 1024 x 1024 bare renders, one per
style (and the etched style at two more grain sizes), measured in turn, several calls each.
Writes ``benchmarks/results/grain_size.md`` and prints it.

Run: ``.venv/bin/python benchmarks/bench_grain_size.py [--n 240] [--seed 2026]``
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from csmbench.episodes.generators import item_rng, random_design
from csmbench.episodes.generators._grain_specimen import darker_phase
from csmbench.episodes.generators._grain_truth import GrainTruth, grain_truth
from csmbench.episodes.generators._microstructure import (
    MicrostructureSpec,
    generate_microstructure,
)
from csmbench.episodes.generators._microstructure_render import (
    RENDER_STYLES,
    microstructure_specimen,
)
from csmbench.episodes.generators._scale_bar_render import legible_design, render_micrograph
from csmbench.errors import ToolError
from csmbench.tools import estimate_grain_size

RESULTS = Path(__file__).resolve().parent / "results" / "grain_size.md"
KINDS = ("equiaxed", "elongated", "spread", "two-phase")
GRAIN_PX = (15.0, 60.0)
WIDTH_PX = (512, 1024)
HEIGHT_RATIO = (0.7, 1.0)
ASPECT = (1.5, 3.0)
SIZE_SIGMA = (0.0, 0.4)
PHASE_FRACTION = (0.1, 0.5)
TWIN_FRACTION = (0.3, 0.8)
DATABAR_STYLES = ("zeiss", "fei", "tescan", "jeol")
NM_PER_PIXEL = (50.0, 2000.0)
"""Pixel sizes of the bare renders, nm/px (log-uniform); framed ones take the bar's."""
MODALITY = {"etched_optical": "optical", "sem": "sem", "ebsd_band_contrast": "sem"}
TIMING_PX, TIMING_GRAIN_PX, TIMING_OTHER_GRAIN_PX, TIMING_CALLS = 1024, 30.0, (15.0, 60.0), 7
TARGETS = {"intercept_median": 0.03, "intercept_p95": 0.08, "na_median": 0.05, "seconds": 0.5}


@dataclass(frozen=True)
class Case:
    """One generated micrograph and its truth."""

    pixels: np.ndarray
    nm_per_pixel: float
    truth: GrainTruth
    darker_fraction: float | None
    style: str
    kind: str
    twinned: bool
    framed: bool
    grain_px: float


def make_spec(rng: np.random.Generator, kind: str, twinned: bool) -> MicrostructureSpec:
    """A random microstructure spec of one kind."""
    width = int(rng.integers(WIDTH_PX[0], WIDTH_PX[1] + 1))
    height = round(width * rng.uniform(*HEIGHT_RATIO))
    grain = float(np.exp(rng.uniform(*np.log(GRAIN_PX))))
    tessellation = "voronoi" if rng.random() < 0.5 else "laguerre"
    extra: dict = {}
    if kind == "elongated":
        extra = {"aspect_ratio": rng.uniform(*ASPECT), "elongation_deg": rng.uniform(0, 180)}
    elif kind == "spread":
        tessellation, extra = "laguerre", {"size_sigma": rng.uniform(*SIZE_SIGMA)}
    elif kind == "two-phase":
        extra = {"second_phase_fraction": rng.uniform(*PHASE_FRACTION)}
    twins = rng.uniform(*TWIN_FRACTION) if twinned else 0.0
    return MicrostructureSpec(height, width, grain, tessellation=tessellation,
                              twin_fraction=twins, **extra)


def make_case(seed: int, index: int) -> Case:
    """Case ``index``: style, kind, twins and frame cycled; everything else drawn."""
    rng = item_rng(seed, "bench.grain_size", index)
    style = RENDER_STYLES[index % 3]
    kind = KINDS[index // 3 % 4]
    # twins only where an image can tell them from grains: SEM channelling and EBSD band
    # contrast draw twin boundaries exactly like grain boundaries (only orientations could)
    twinned = index // 12 % 2 == 1 and style == "etched_optical"
    framed = index // 24 % 2 == 1
    spec = make_spec(rng, kind, twinned)
    structure = generate_microstructure(spec, rng)
    phase = structure.grain_phase if kind == "two-phase" else None
    specimen = microstructure_specimen(structure.labels, style, rng, twins=structure.twins,
                                       grain_phase=phase)
    if framed:
        modality = MODALITY[style]
        design = random_design(rng, width_px=spec.width_px, modality=modality,
                               style=DATABAR_STYLES[int(rng.integers(4))])
        micrograph = render_micrograph(specimen, legible_design(design, specimen), modality)
        pixels, nm_per_pixel = micrograph.pixels, micrograph.nm_per_pixel
    else:
        pixels = np.round(255.0 * specimen).astype(np.uint8)
        nm_per_pixel = float(np.exp(rng.uniform(*np.log(NM_PER_PIXEL))))
    truth = grain_truth(structure.labels, nm_per_pixel / 1000.0, grain_phase=phase)
    darker = None
    if phase is not None:
        share = structure.second_phase_fraction
        darker = share if darker_phase(specimen, structure.phase_map) == 2 else 1 - share
    return Case(pixels, nm_per_pixel, truth, darker, style, kind, twinned, framed,
                spec.grain_size_px)


def measure(case: Case) -> dict:
    """Both methods on one case; errors against the truth (None on a ToolError)."""
    row = {"style": case.style, "kind": case.kind, "twinned": case.twinned,
           "framed": case.framed, "grain_px": case.grain_px, "failure": None}
    try:
        lineal = estimate_grain_size(case.pixels, case.nm_per_pixel, "intercept")
        planar = estimate_grain_size(case.pixels, case.nm_per_pixel, "planimetric")
    except ToolError as error:
        return {**row, "failure": str(error)[:100]}
    t = case.truth
    phase_error = None
    if case.darker_fraction is not None:
        found = lineal.phase_fraction
        phase_error = math.inf if found is None else abs(found - case.darker_fraction)
    return {**row, "mode": lineal.boundaries,
            "intercept": lineal.mean_intercept_um / t.mean_intercept_um - 1,
            "na": planar.grains_per_mm2 / t.grains_per_mm2 - 1,
            "g_intercept": lineal.astm_grain_size_number - t.g_intercept,
            "g_planimetric": planar.astm_grain_size_number - t.g_planimetric,
            "aspect": lineal.mean_aspect_ratio - t.mean_aspect_ratio,
            "phase_error": phase_error, "false_phase": (case.darker_fraction is None
                                                        and lineal.phase_fraction is not None),
            "databar_ok": (lineal.excluded_bottom_px > 0) == case.framed}


def timing(seed: int) -> list[tuple[str, float, float, float]]:
    """(style, grain size px, median wall s, median CPU s) per call on 1024 x 1024 bare
    renders: each style at ``TIMING_GRAIN_PX``, and the etched style at the other sizes.

    The images are measured in turn, one call each per round (``TIMING_CALLS`` rounds, after
    a warm-up call each), so that a busy spell of a shared machine slows them all alike.
    """
    runs = [(style, TIMING_GRAIN_PX) for style in RENDER_STYLES]
    runs += [("etched_optical", g) for g in TIMING_OTHER_GRAIN_PX]
    images = []
    for k, (style, grain) in enumerate(runs):
        rng = item_rng(seed, "bench.grain_size.timing", k)
        structure = generate_microstructure(MicrostructureSpec(TIMING_PX, TIMING_PX, grain), rng)
        images.append(np.round(255 * microstructure_specimen(structure.labels, style, rng))
                      .astype(np.uint8))
        estimate_grain_size(images[-1], 500.0)
    wall: list[list[float]] = [[] for _ in runs]
    cpu: list[list[float]] = [[] for _ in runs]
    for _ in range(TIMING_CALLS):
        for k, pixels in enumerate(images):
            t0, c0 = time.perf_counter(), time.process_time()
            estimate_grain_size(pixels, 500.0)
            wall[k].append(time.perf_counter() - t0)
            cpu[k].append(time.process_time() - c0)
    return [(style, grain, float(np.median(w)), float(np.median(c)))
            for (style, grain), w, c in zip(runs, wall, cpu, strict=True)]


def stats(rows: list[dict]) -> dict:
    """Summary figures of measured rows (failures excluded from the error statistics)."""
    ok = [r for r in rows if r["failure"] is None]
    def col(k: str) -> np.ndarray:
        return np.array([r[k] for r in ok], float)
    if not ok:
        return {"n": len(rows), "failed": len(rows)}
    li, na = col("intercept"), col("na")
    return {"n": len(rows), "failed": len(rows) - len(ok),
            "li_med": np.median(np.abs(li)), "li_p95": np.percentile(np.abs(li), 95),
            "li_bias": np.median(li), "na_med": np.median(np.abs(na)),
            "na_p95": np.percentile(np.abs(na), 95), "na_bias": np.median(na),
            "gi": np.median(np.abs(col("g_intercept"))),
            "gp": np.median(np.abs(col("g_planimetric"))),
            "gi95": np.percentile(np.abs(col("g_intercept")), 95),
            "ar": np.median(col("aspect")), "ar_abs": np.median(np.abs(col("aspect")))}


def group_table(rows: list[dict], key: str, values: tuple) -> str:
    """Markdown table of the main figures by ``key``."""
    head = (f"| {key} | n | failed | ℓ error median / p95 | ℓ bias | N_A error median / p95 | "
            "N_A bias | abs ΔG (ℓ) median | aspect Δ median |\n|---|---|---|---|---|---|---|"
            "---|---|\n")
    lines = []
    for value in values:
        s = stats([r for r in rows if r[key] == value])
        if "li_med" not in s:
            lines.append(f"| {value} | {s['n']} | {s['failed']} | - | - | - | - | - | - |")
            continue
        lines.append(f"| {value} | {s['n']} | {s['failed']} | {s['li_med']:.1%} / "
                     f"{s['li_p95']:.1%} | {s['li_bias']:+.1%} | {s['na_med']:.1%} / "
                     f"{s['na_p95']:.1%} | {s['na_bias']:+.1%} | {s['gi']:.3f} | "
                     f"{s['ar']:+.2f} |")
    return head + "\n".join(lines)


def verdict(value: float, target: float) -> str:
    return f"{value:.1%} ({'met' if value <= target else 'missed'}; target ≤ {target:.0%})"


def report(n: int, seed: int, rows: list[dict], times: list[tuple[str, float, float]]) -> str:
    """The Markdown results file."""
    s = stats(rows)
    ok = [r for r in rows if r["failure"] is None]
    phase = [r["phase_error"] for r in ok if r["phase_error"] is not None]
    found = [e for e in phase if math.isfinite(e)]
    single = [r for r in ok if r["phase_error"] is None]
    wall = max(t[2] for t in times if t[1] == TIMING_GRAIN_PX)
    cpu = max(t[3] for t in times if t[1] == TIMING_GRAIN_PX)
    whole = [
        ("cases (failed: ToolError)", f"{s['n']} ({s['failed']})", "0 failed"),
        ("mean intercept ℓ, median abs relative error", verdict(s["li_med"],
                                                               TARGETS["intercept_median"]), ""),
        ("mean intercept ℓ, 95th percentile", verdict(s["li_p95"], TARGETS["intercept_p95"]),
         ""),
        ("mean intercept ℓ, median signed error (bias)", f"{s['li_bias']:+.1%}", ""),
        ("grains per mm² N_A, median abs relative error",
         verdict(s["na_med"], TARGETS["na_median"]), ""),
        ("grains per mm² N_A, 95th percentile / bias",
         f"{s['na_p95']:.1%} / {s['na_bias']:+.1%}", ""),
        ("ASTM G (intercept), median / 95th pct abs error", f"{s['gi']:.3f} / {s['gi95']:.3f}",
         ""),
        ("ASTM G (planimetric), median abs error", f"{s['gp']:.3f}", ""),
        ("mean aspect ratio, median signed / abs error", f"{s['ar']:+.3f} / {s['ar_abs']:.3f}",
         ""),
        ("two-phase: phase found / median abs fraction error",
         f"{len(found)}/{len(phase)} / "
         + (f"{np.median(found):.3f}" if found else "-"), ""),
        ("one phase: a phase fraction reported (false)",
         f"{sum(r['false_phase'] for r in single)}/{len(single)}", "0"),
        ("databar found exactly when present", f"{sum(r['databar_ok'] for r in ok)}/{len(ok)}",
         f"{len(ok)}/{len(ok)}"),
        ("time per 1024² image (30 px grains), slowest style median wall / CPU",
         f"{wall:.2f} / {cpu:.2f} s (" + ("met" if wall <= TARGETS["seconds"] else "missed")
         + "; target ≤ 0.5 s)", ""),
    ]
    table = "| metric | value | target |\n|---|---|---|\n" + "\n".join(
        f"| {a} | {b} | {c} |" for a, b, c in whole)
    timing_table = ("| style | grain size d | wall s (median) | CPU s (median) |\n"
                    "|---|---|---|---|\n" + "\n".join(f"| {style} | {g:.0f} px | {w:.3f} | "
                                                    f"{c:.3f} |" for style, g, w, c in times))
    failures = "\n".join(f"- {r['style']}, {r['kind']}: {r['failure']}" for r in rows
                         if r["failure"]) or "none"
    modes = {st: {m: sum(1 for r in ok if r["style"] == st and r["mode"] == m)
                  for m in ("dark", "bright", "contrast")} for st in RENDER_STYLES}
    mode_lines = "\n".join(f"- {st}: " + ", ".join(f"{m} {c}" for m, c in v.items())
                           for st, v in modes.items())
    sizes = (("15-25 px", 15, 25), ("25-40 px", 25, 40), ("40-60 px", 40, 61))
    for row in rows:
        row["size"] = next(name for name, lo, hi in sizes if lo <= row["grain_px"] < hi)
    return (
        f"# estimate_grain_size benchmark\n\n{n} synthetic micrographs, seed {seed}; "
        f"{datetime.date.today().isoformat()}; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}.\n\n"
        f"## Whole set\n\n{table}\n\n"
        f"## By render style\n\n{group_table(rows, 'style', RENDER_STYLES)}\n\n"
        f"Boundary contrast chosen automatically:\n{mode_lines}\n\n"
        f"## By kind\n\n{group_table(rows, 'kind', KINDS)}\n\n"
        f"## Twins, frame, grain size\n\n{group_table(rows, 'twinned', (False, True))}\n\n"
        f"{group_table(rows, 'framed', (False, True))}\n\n"
        f"{group_table(rows, 'size', tuple(s[0] for s in sizes))}\n\n"
        f"## Time per call, 1024 x 1024\n\n{timing_table}\n\n"
        f"Median of {TIMING_CALLS} calls each (the images in turn, after a warm-up call "
        "each), measured after the accuracy phase. The "
        "machine is shared with other work: load average when the run ended "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores, so wall times are inflated; "
        "the CPU time is the better guide.\n\n"
        f"## Failures\n\n{failures}\n\n"
        f"## How measured\n\n{__doc__.split('Run:')[0].strip()}\n\n"
        "Run: `.venv/bin/python benchmarks/bench_grain_size.py`\n")


def run(n: int, seed: int) -> str:
    rows = [measure(make_case(seed, i)) for i in range(n)]
    return report(n, seed, rows, timing(seed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=240)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    text = run(args.n, args.seed)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
