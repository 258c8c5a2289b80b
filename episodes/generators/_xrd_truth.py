"""Ground truth read off a simulated powder pattern: resolvable peaks and phase pools.

A *peak* is what a careful analyst would call one: Kα1 reflections closer than one FWHM
merge into one peak (height-weighted position, summed height, largest FWHM). Heights are
Kα1 heights above the background, from the exact areas and widths of the simulation.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from csmbench.tools._crystal_db import CrystalRecord, load_records, open_database
from csmbench.tools._xrd_phase import ENANTIOMORPHS

from ._xrd_pattern import SimulatedPattern, background_counts, peak_height

__all__ = ["TruePeak", "curated_records", "inside", "isolated", "phase_key", "phases_per_formula",
           "true_peaks"]


@dataclass(frozen=True)
class TruePeak:
    """One resolvable Kα1 peak.

    Attributes:
        two_theta: Height-weighted position, degrees.
        height: Kα1 height above the background, counts.
        fwhm: Largest FWHM of the merged reflections, degrees.
        phases: Database ids of the phases contributing.
        snr: Height over the square root of the background counts.
        members: Reflections merged into it.
        span: Distance between its first and last reflection, degrees.
    """

    two_theta: float
    height: float
    fwhm: float
    phases: frozenset[str]
    snr: float
    members: int
    span: float

    @property
    def sharp(self) -> bool:
        """True when the merged reflections lie within half a FWHM (a well-defined peak)."""
        return self.span <= 0.5 * self.fwhm


def inside(peak: TruePeak, pattern: SimulatedPattern, widths: float = 2.0) -> bool:
    """The whole peak is in the scan: at least ``widths`` FWHM from both ends."""
    margin = widths * peak.fwhm
    return (pattern.spec.two_theta_min + margin <= peak.two_theta
            <= pattern.spec.two_theta_max - margin)


def isolated(peak: TruePeak, peaks: list[TruePeak], fraction: float = 0.1,
             widths: float = 2.0) -> bool:
    """No other peak of ≥ ``fraction`` of its height lies within ``widths`` FWHM of it."""
    return all(other is peak or other.height < fraction * peak.height
               or abs(other.two_theta - peak.two_theta) >= widths * max(peak.fwhm, other.fwhm)
               for other in peaks)


def true_peaks(pattern: SimulatedPattern, merge_fwhm: float = 1.0) -> list[TruePeak]:
    """The pattern's peaks, sorted by 2θ; reflections within ``merge_fwhm`` FWHM merge."""
    refl = sorted(pattern.reflections, key=lambda r: r["two_theta"])
    if not refl:
        return []
    x = np.array([r["two_theta"] for r in refl])
    w = np.array([r["fwhm_deg"] for r in refl])
    h = peak_height(np.array([r["intensity"] for r in refl]), w, pattern.spec.eta)
    groups, start = [], 0
    for k in range(1, len(refl) + 1):
        if k == len(refl) or x[k] - x[k - 1] >= merge_fwhm * 0.5 * (w[k] + w[k - 1]):
            groups.append(slice(start, k))
            start = k
    peaks = []
    for g in groups:
        height = float(h[g].sum())
        if height <= 0:
            continue
        center = float((x[g] * h[g]).sum() / height)
        level = float(background_counts(np.array([center]), pattern.spec)[0])
        peaks.append(TruePeak(center, height, float(w[g].max()),
                              frozenset(r["phase"] for r in refl[g]),
                              height / max(level, 1.0) ** 0.5, g.stop - g.start,
                              float(x[g].max() - x[g].min())))
    return peaks


def phase_key(record: CrystalRecord) -> tuple[str, int]:
    """Formula and space-group number up to enantiomorphs (what a powder pattern can tell)."""
    return record.formula, ENANTIOMORPHS.get(record.space_group_number, record.space_group_number)


@lru_cache(maxsize=1)
def curated_records() -> tuple[CrystalRecord, ...]:
    """The named, curated phases of the crystal database, sorted by id (the items' pool)."""
    return tuple(sorted((r for r in load_records(open_database()) if r.source == "curated"),
                        key=lambda r: r.id))


@lru_cache(maxsize=1)
def phases_per_formula() -> dict[str, int]:
    """How many different phases (formula, space group) of each formula the database holds."""
    keys = {phase_key(r) for r in load_records(open_database())}
    counts: dict[str, int] = {}
    for formula, _ in keys:
        counts[formula] = counts.get(formula, 0) + 1
    return counts
