"""Cross-scale families ending at the Macroscale: yield strength and part mass.

``cross.hall_petch`` (Mesoscale → Macroscale): a single-phase, equiaxed grain micrograph
(``img0``); the agent measures the mean lineal intercept d and computes the yield strength
σy = σ0 + k·d^(-1/2) (d in metres for k in MPa·m^½). The truth uses the exact mean intercept
of the label image (the grain families' truth) and the constants of the Hall-Petch table
(`tools/_hall_petch.py`).

- easy: pixel size and σ0, k given in the question;
- medium: pixel size from the scale bar, σ0 and k given;
- hard: pixel size from the scale bar, σ0 and k looked up for the named material.

``cross.part_mass`` (AtomScale → Macroscale): a powder pattern of the part's material
(``xrd0`` and its plot ``plot0``); the agent finds the phase, its density from the crystal
database, and the mass m = ρ·V (times 1 − porosity) of a part of given dimensions. The
truth density is the database record's, checked against pymatgen's density of its CIF.

- easy: the phase is named in the question (one density lookup);
- medium: the phase (one phase of its formula in the database) must be identified from the
  pattern, then its density looked up;
- hard: the formula is given but it has polymorphs of clearly different density (TiO2, SiO2,
  ZrO2, Fe, C, BN, Sn): the right polymorph must be identified from the pattern, and the part
  has a stated porosity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from csmbench.episodes import Difficulty, Item, Milestone, Numeric, ToolCall
from csmbench.tools._crystal_db import CrystalRecord, load_records, open_database
from csmbench.tools._hall_petch import HALL_PETCH, HallPetchEntry, hall_petch_yield_mpa

from ._grain_specimen import (
    STYLE_TEXT,
    GrainMicrograph,
    attach_grain_micrograph,
    draw_grain_micrograph,
)
from ._registry import ItemSink, family
from ._xrd_items import _all_visible, _attach, _draw, _pick, _radiation_text
from ._xrd_pattern import SimulatedPattern, random_spec, simulate_pattern, structure_from_cif
from ._xrd_truth import curated_records, phase_key, phases_per_formula

__all__ = ["HP_TERM_REL_TOL", "PART_MASS_REL_TOL", "POLYMORPH_MIN_GAP", "VERSION", "Part",
           "part_volume_mm3", "polymorph_pool", "structure_density"]

VERSION = "1"
IMAGE, PATTERN, PLOT = "img0", "xrd0", "plot0"
GRAIN_INTERCEPT_REL_TOL = 0.10
"""Mean intercept accuracy of one field (ASTM E112: about 10 %), as in grains.mean_intercept."""
HP_TERM_REL_TOL = 1.0 / math.sqrt(1.0 - GRAIN_INTERCEPT_REL_TOL) - 1.0
"""Relative tolerance on the Hall-Petch term k·d^(-1/2) (≈ 0.0541). A d within ±10 % moves
k·d^(-1/2) by the factor (1 ± 0.1)^(-1/2): −4.65 % for d 10 % too large, +5.41 % for d 10 %
too small; the larger side is taken so that every intercept the grain families accept gives an
accepted strength. σ0 is exact (given or tabulated), so the answer's absolute tolerance is
this fraction of the Hall-Petch term, in MPa."""
MAX_MICROGRAPH_DRAWS = 20
PART_MASS_REL_TOL = 0.02
"""Part mass: the density of a database phase is exact and the dimensions are stated, so the
only errors are rounding (density to 3 significant figures: ≤ 0.5 %; π and volume arithmetic)
and an agent's porosity arithmetic; 2 % covers these and no more."""
POLYMORPH_MIN_GAP = 0.025
"""Hard part-mass phases differ in density by at least 2.5 % from every other phase of their
formula in the database, so that taking the wrong polymorph misses the 2 % tolerance."""
POROSITY_PCT = (2.0, 15.0)
"""Porosity of sintered parts in the hard items, volume %."""
DENSITY_CHECK_REL = 1e-4
"""The database density and pymatgen's density of the record's CIF must agree this well."""


# -- cross.hall_petch -----------------------------------------------------------------

def _material_for(rng: np.random.Generator, d_um: float) -> HallPetchEntry | None:
    """A material whose constants apply at a mean intercept of ``d_um``, or None."""
    fitting = [e for e in HALL_PETCH.values()
               if e.valid_grain_size_um[0] <= d_um <= e.valid_grain_size_um[1]]
    return fitting[int(rng.integers(len(fitting)))] if fitting else None


def _grain_micrograph(rng: np.random.Generator) -> tuple[GrainMicrograph, HallPetchEntry]:
    """A single-phase, equiaxed micrograph whose grain size suits some tabulated material."""
    for _ in range(MAX_MICROGRAPH_DRAWS):
        drawn, _ = draw_grain_micrograph(rng)
        entry = _material_for(rng, drawn.truth.mean_intercept_um)
        if entry is not None:
            return drawn, entry
    raise RuntimeError("no micrograph with a grain size inside any Hall-Petch table range")


def _hall_petch_question(drawn: GrainMicrograph, entry: HallPetchEntry,
                         difficulty: Difficulty) -> str:
    nm = drawn.micrograph.nm_per_pixel
    scale = (f"its pixel size is {nm:.5g} nm ({nm / 1000:.5g} µm per pixel)"
             if difficulty == "easy" else "it has a scale bar (calibrate it first)")
    constants = (f"with σ0 = {entry.sigma0_mpa:g} MPa and k = {entry.k_mpa_sqrt_m:g} MPa·m^½"
                 if difficulty != "hard" else
                 "with the Hall-Petch constants σ0 and k of this material (look them up)")
    return (f"Attachment {IMAGE} is {STYLE_TEXT[drawn.style]} of a single-phase specimen with "
            f"equiaxed grains; {scale}. The specimen is {entry.name}. Estimate its yield "
            "strength from the Hall-Petch relation σy = σ0 + k·d^(-1/2), taking d as the mean "
            "lineal intercept length of the grains (ASTM E112 / E1382: test lines in several "
            "directions; annealing-twin boundaries are not grain boundaries), in metres, "
            f"{constants}. Answer in MPa.")


def _hall_petch_calls(drawn: GrainMicrograph, entry: HallPetchEntry,
                      difficulty: Difficulty) -> list[ToolCall]:
    calls = []
    if difficulty != "easy":
        calls.append(ToolCall(id="call_calibrate", name="calibrate_scale_bar",
                              arguments={"image": IMAGE}))
    calls.append(ToolCall(id="call_grains", name="estimate_grain_size",
                          arguments={"image": IMAGE, "nm_per_pixel": drawn.micrograph.nm_per_pixel,
                                     "method": "intercept"}))
    if difficulty == "hard":
        calls.append(ToolCall(id="call_constants", name="lookup_hall_petch",
                              arguments={"material": entry.key}))
    return calls


def _hall_petch_milestones(calls: list[ToolCall]) -> list[Milestone]:
    milestones = []
    for call in calls:
        if call.name == "estimate_grain_size":
            after = [0] if calls[0].name == "calibrate_scale_bar" else []
            milestones.append(Milestone(tool=call.name, after=after, arguments={
                k: v for k, v in call.arguments.items() if k in ("image", "nm_per_pixel")}))
        else:
            milestones.append(Milestone(tool=call.name, arguments={
                k: v for k, v in call.arguments.items() if k == "image"}))
    return milestones


@family("cross.hall_petch", version=VERSION)
def make_hall_petch(item_id: str, rng: np.random.Generator, sink: ItemSink,
                    difficulty: Difficulty) -> Item:
    """Q: the Hall-Petch yield strength (MPa) from the micrograph's mean lineal intercept.

    Truth: σy = σ0 + k·d^(-1/2) with d the exact mean lineal intercept of the label image (in
    m) and σ0, k of the named material from the Hall-Petch table (`lookup_hall_petch`); the
    material is one whose constants apply at that grain size.

    Tolerance: σ0 exact; ±5.4 % of the Hall-Petch term k·d^(-1/2), in MPa, which is what a
    mean intercept within the grain families' 10 % moves it by.
    """
    drawn, entry = _grain_micrograph(rng)
    d_um = drawn.truth.mean_intercept_um
    sigma_y = hall_petch_yield_mpa(entry.sigma0_mpa, entry.k_mpa_sqrt_m, d_um)
    hp_term = sigma_y - entry.sigma0_mpa
    answer = Numeric(value=sigma_y, unit="MPa", rel_tol=0.0, abs_tol=HP_TERM_REL_TOL * hp_term)
    calls = _hall_petch_calls(drawn, entry, difficulty)
    return Item(id=item_id, source="generated", scale="Macroscale", family="cross.hall_petch",
                question=_hall_petch_question(drawn, entry, difficulty),
                attachments=[attach_grain_micrograph(drawn, sink, rng)], answer=answer,
                reference=calls, milestones=_hall_petch_milestones(calls),
                metadata={"generator": "cross.hall_petch", "generator_version": VERSION,
                          "truth": {"mean_intercept_um": d_um, "um_per_px": drawn.um_per_px,
                                    "sigma_y_mpa": sigma_y, "hall_petch_term_mpa": hp_term},
                          "derivation": {"material": entry.key, "sigma0_mpa": entry.sigma0_mpa,
                                         "k_mpa_sqrt_m": entry.k_mpa_sqrt_m,
                                         "rule": "sigma0 + k / sqrt(d_um * 1e-6)",
                                         "style": drawn.style,
                                         "constants_given": difficulty != "hard",
                                         "pixel_size_given": difficulty == "easy"}})


# -- cross.part_mass ------------------------------------------------------------------

@dataclass(frozen=True)
class Part:
    """A part's shape and dimensions (mm)."""

    shape: str  # "cylinder" | "plate" | "tube"
    dims_mm: tuple[float, ...]

    @property
    def text(self) -> str:
        d = self.dims_mm
        if self.shape == "cylinder":
            return f"a solid cylinder of diameter {d[0]:g} mm and height {d[1]:g} mm"
        if self.shape == "plate":
            return f"a rectangular plate of {d[0]:g} mm × {d[1]:g} mm × {d[2]:g} mm"
        return (f"a tube of outer diameter {d[0]:g} mm, inner diameter {d[1]:g} mm and length "
                f"{d[2]:g} mm")


def part_volume_mm3(part: Part) -> float:
    """Volume of the part, mm³."""
    d = part.dims_mm
    if part.shape == "cylinder":
        return math.pi / 4.0 * d[0] ** 2 * d[1]
    if part.shape == "plate":
        return d[0] * d[1] * d[2]
    return math.pi / 4.0 * (d[0] ** 2 - d[1] ** 2) * d[2]


def _mm(rng: np.random.Generator, low: float, high: float) -> float:
    """A dimension drawn log-uniformly in [low, high] mm, to 0.1 mm."""
    return round(float(np.exp(rng.uniform(math.log(low), math.log(high)))), 1)


def _random_part(rng: np.random.Generator) -> Part:
    shape = ("cylinder", "plate", "tube")[int(rng.integers(3))]
    if shape == "cylinder":
        return Part(shape, (_mm(rng, 5.0, 60.0), _mm(rng, 2.0, 80.0)))
    if shape == "plate":
        return Part(shape, (_mm(rng, 10.0, 100.0), _mm(rng, 10.0, 100.0), _mm(rng, 1.0, 20.0)))
    outer = _mm(rng, 10.0, 60.0)
    inner = round(outer * float(rng.uniform(0.3, 0.8)), 1)
    return Part(shape, (outer, inner, _mm(rng, 10.0, 100.0)))


def structure_density(record: CrystalRecord) -> float:
    """Density (g/cm³) of the record's CIF by pymatgen, checked against the stored value."""
    density = structure_from_cif(record.cif).density
    if abs(density / record.density - 1.0) > DENSITY_CHECK_REL:
        raise RuntimeError(f"{record.id}: CIF density {density:.5f} g/cm³ differs from the "
                           f"database's {record.density:.5f} g/cm³")
    return float(density)


@lru_cache(maxsize=1)
def polymorph_pool() -> tuple[CrystalRecord, ...]:
    """Curated phases with a curated polymorph, at least ``POLYMORPH_MIN_GAP`` denser or
    lighter than every other phase of their formula in the database."""
    by_formula: dict[str, dict[tuple[str, int], CrystalRecord]] = {}
    for record in load_records(open_database()):
        by_formula.setdefault(record.formula, {}).setdefault(phase_key(record), record)
    curated = curated_records()
    pool = []
    for record in curated:
        others = [o for key, o in by_formula[record.formula].items() if key != phase_key(record)]
        has_curated = any(c.formula == record.formula and phase_key(c) != phase_key(record)
                          for c in curated)
        if has_curated and all(abs(o.density / record.density - 1.0) >= POLYMORPH_MIN_GAP
                               for o in others):
            pool.append(record)
    return tuple(pool)


def _phase_pool(difficulty: Difficulty) -> tuple[CrystalRecord, ...]:
    if difficulty == "hard":
        return polymorph_pool()
    if difficulty == "medium":
        return tuple(r for r in curated_records() if phases_per_formula()[r.formula] == 1)
    return curated_records()


def _phase_pattern(rng: np.random.Generator, pool: tuple[CrystalRecord, ...]
                   ) -> tuple[SimulatedPattern, CrystalRecord]:
    def draw():
        record = _pick(rng, pool)
        pattern = simulate_pattern(random_spec(rng, phases=(record.id,)), rng)
        return (pattern, record) if _all_visible(pattern, [record.id]) else None

    return _draw(rng, draw)


def _part_question(pattern: SimulatedPattern, record: CrystalRecord, part: Part,
                   porosity_pct: float, difficulty: Difficulty) -> str:
    scan = (f"Attachment {PATTERN} is a powder X-ray diffraction scan ({_radiation_text(pattern)}; "
            f"two columns: 2θ in degrees and intensity in counts) of the material of a part, and "
            f"{PLOT} is a plot of it. ")
    if difficulty == "easy":
        phase = (f"The material is {record.names[0]} ({record.formula}, space group "
                 f"{record.space_group}), a single phase. ")
    elif difficulty == "medium":
        phase = "The material is a single crystalline phase: identify it from the scan. "
    else:
        phase = (f"The material is {record.formula}, a single crystalline phase; which polymorph "
                 "it is must be read from the scan. ")
    dense = ("it is fully dense" if difficulty != "hard" else
             f"it is sintered, with a porosity of {porosity_pct:g} % (volume fraction of pores)")
    return (scan + phase + f"The part is {part.text}; {dense}. Using the phase's "
            "crystallographic (X-ray) density, what is the part's mass, in g?")


def _part_calls(record: CrystalRecord, difficulty: Difficulty) -> list[ToolCall]:
    calls = []
    if difficulty != "easy":
        calls += [ToolCall(id="call_peaks", name="find_peaks", arguments={"pattern": PATTERN}),
                  ToolCall(id="call_identify", name="identify_phase", arguments={})]
    return [*calls, ToolCall(id="call_lookup", name="lookup_crystal",
                             arguments={"query": record.formula, "limit": 20})]


def _part_milestones(calls: list[ToolCall]) -> list[Milestone]:
    if len(calls) == 1:
        return [Milestone(tool="lookup_crystal")]
    return [Milestone(tool="find_peaks", arguments={"pattern": PATTERN}),
            Milestone(tool="identify_phase", after=[0]),
            Milestone(tool="lookup_crystal")]


@family("cross.part_mass", version=VERSION)
def make_part_mass(item_id: str, rng: np.random.Generator, sink: ItemSink,
                   difficulty: Difficulty) -> Item:
    """Q: the mass (g) of a part of given shape made of the phase of the pattern.

    Truth: m = ρ·V·(1 − porosity) with ρ the database phase's density (checked against
    pymatgen's density of its structure) and V from the stated dimensions.

    Tolerance: 2 % relative: the density and dimensions are exact, so only rounding remains;
    a wrong polymorph (hard items: ≥ 2.5 % denser or lighter) fails.
    """
    pattern, record = _phase_pattern(rng, _phase_pool(difficulty))
    part = _random_part(rng)
    porosity_pct = round(float(rng.uniform(*POROSITY_PCT)), 1) if difficulty == "hard" else 0.0
    density = structure_density(record)
    volume_cm3 = part_volume_mm3(part) / 1000.0
    mass_g = density * volume_cm3 * (1.0 - porosity_pct / 100.0)
    calls = _part_calls(record, difficulty)
    return Item(id=item_id, source="generated", scale="Macroscale", family="cross.part_mass",
                question=_part_question(pattern, record, part, porosity_pct, difficulty),
                attachments=_attach(pattern, sink), answer=Numeric(
                    value=mass_g, unit="g", rel_tol=PART_MASS_REL_TOL),
                reference=calls, milestones=_part_milestones(calls),
                metadata={"generator": "cross.part_mass", "generator_version": VERSION,
                          "truth": {"phase": record.id, "density_g_cm3": density,
                                    "volume_cm3": volume_cm3, "mass_g": mass_g},
                          "derivation": {"shape": part.shape, "dims_mm": list(part.dims_mm),
                                         "porosity_pct": porosity_pct,
                                         "rule": "density * volume * (1 - porosity)",
                                         "radiation": pattern.spec.radiation}})
