"""Powder-diffraction families: peaks, d-spacing, lattice parameter, phases, crystallite size.

Every item attaches the scan as a two-column ``.xy`` file (``xrd0``, radiation in its
metadata) and a plot of it (``plot0``). Truths are exact: positions and heights come from
the simulation (``_xrd_truth``), lattice parameters and sizes from the spec. Draws that
would make an item ambiguous (a threshold next to a peak height, two near-equal strongest
peaks, a phase with no clean peak) are redrawn from the same generator. Difficulty (see
``_LEVELS``): easy scans are monochromatic Cu Kα1 with strong counts and Scherrer items give the
instrument function; medium ones use any anode and moderate counts; hard ones carry a Kα1+Kα2
doublet and few counts, and Scherrer items need the LaB6 standard.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from csmbench.episodes import (
    Asset,
    Choice,
    Difficulty,
    Formula,
    Item,
    Milestone,
    NumberSet,
    Numeric,
    ToolCall,
)
from csmbench.tools._crystal_db import CrystalRecord
from csmbench.tools._radiation import EMISSIONS, Radiation

from ._registry import ItemSink, family
from ._xrd_pattern import (
    PatternSpec,
    SimulatedPattern,
    fwhm_deg,
    plot_pattern,
    random_spec,
    simulate_pattern,
    write_xy,
)
from ._xrd_truth import (
    TruePeak,
    curated_records,
    inside,
    isolated,
    phase_key,
    phases_per_formula,
    true_peaks,
)

__all__ = ["VERSION"]

VERSION = "2"
PATTERN, PLOT, STANDARD = "xrd0", "plot0", "xrd1"
MAX_DRAWS = 200
THRESHOLDS_PCT = (5, 10, 15, 20, 30, 40, 50)
THRESHOLD_GAP = 1.4
"""No peak's relative height lies within this factor of the asked threshold."""
MIN_SNR = 10.0
"""Peaks an item asks about have height / sqrt(background) at least this."""
STANDARD_ID = "curated:lab6"
STANDARD_SIZE_NM = 5000.0
"""Crystallite size of the line-profile standard (NIST SRM 660-like LaB6), nm."""
MIN_LATTICE_PEAKS = 5
"""A lattice-parameter item shows at least this many clear peaks (indexing needs them)."""
MIN_SIZE_SHARE = 1.0
"""Size items need size broadening at least as wide as the instrument's at the peak asked."""
MIN_STRAIN_SHARE = 0.7
"""Williamson-Hall items need strain broadening ≥ 0.7 × the size broadening at the highest
usable peak, so that the slope is measurable."""
SCHERRER_REL_TOL = 0.15
CENTRING_TEXT = {"P": "primitive (P)", "I": "body-centred (I)", "F": "face-centred (F)"}
"""The lattice-parameter question names the centring: without it a few peaks of a centred
cell index equally well as a smaller cell (bcc 110, 200, 211 as primitive 100, 110, 111)."""
_LEVELS: dict[Difficulty, tuple[tuple[Radiation, ...], tuple[float, float]]] = {
    "easy": (("CuKa1",), (10_000.0, 100_000.0)),
    "medium": (("CuKa1", "CoKa1", "MoKa1", "CuKa12"), (2_000.0, 100_000.0)),
    "hard": (("CuKa12", "CoKa12", "MoKa12"), (500.0, 5_000.0)),
}
"""Radiations and peak heights (counts) of each difficulty: easy scans are monochromatic Cu
Kα1 with strong counts; hard ones carry a Kα2 doublet and few counts."""
WH_REL_TOL = 0.2


def _radiation_text(pattern: SimulatedPattern) -> str:
    line = EMISSIONS[pattern.spec.radiation]
    if line.is_doublet:
        return (f"{pattern.spec.radiation[:2]} Kα1+Kα2 radiation (λ1 = {line.ka1_angstrom} Å, "
                f"λ2 = {line.ka2_angstrom} Å)")
    return f"monochromatic {pattern.spec.radiation[:2]} Kα1 radiation (λ = {line.ka1_angstrom} Å)"


def _attach(pattern: SimulatedPattern, sink: ItemSink, asset_id: str = PATTERN,
            plot_id: str | None = PLOT) -> list[Asset]:
    spec = pattern.spec
    line = EMISSIONS[spec.radiation]
    meta = {"radiation": spec.radiation, "wavelength_ka1_angstrom": line.ka1_angstrom,
            "two_theta_min_deg": spec.two_theta_min, "two_theta_max_deg": spec.two_theta_max,
            "step_deg": spec.step_deg, "columns": ["two_theta_deg", "intensity_counts"]}
    if line.is_doublet:
        meta |= {"wavelength_ka2_angstrom": line.ka2_angstrom, "ka2_ka1_ratio": line.ka2_ratio}
    assets = [sink.asset(asset_id, "pattern", ".xy", lambda p: write_xy(pattern, p), meta)]
    if plot_id:
        assets.append(sink.asset(plot_id, "image", ".png", lambda p: plot_pattern(pattern, p),
                                 {"format": "png", "plot_of": asset_id}))
    return assets


def _intro(pattern: SimulatedPattern) -> str:
    return (f"Attachment {PATTERN} is a powder X-ray diffraction scan ({_radiation_text(pattern)}; "
            f"two columns: 2θ in degrees and intensity in counts) and {PLOT} is a plot of it. ")


def _item(item_id: str, name: str, scale: str, question: str, assets: list[Asset], answer,
          pattern: SimulatedPattern, reference: list[ToolCall], derivation: dict) -> Item:
    milestones = [Milestone(tool=c.name, arguments={k: v for k, v in c.arguments.items()
                                                     if k in ("pattern",)}) for c in reference]
    spec = pattern.spec
    return Item(id=item_id, source="generated", scale=scale, family=name, question=question,
                attachments=assets, answer=answer, reference=reference, milestones=milestones,
                metadata={"generator": name, "generator_version": VERSION,
                          "spec": _spec_record(spec), "derivation": derivation})


def _spec_record(spec: PatternSpec) -> dict:
    record = {k: getattr(spec, k) for k in spec.__dataclass_fields__}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in record.items()}


def _spec(rng: np.random.Generator, difficulty: Difficulty, phases: tuple[str, ...],
          **options) -> PatternSpec:
    """A random scan of ``phases`` with the radiation and counts of ``difficulty``."""
    radiations, counts = _LEVELS[difficulty]
    radiation = radiations[int(rng.integers(len(radiations)))]
    return random_spec(rng, phases=phases, radiation=radiation, max_counts_range=counts,
                       **options)


def _find(name: str, **arguments) -> ToolCall:
    return ToolCall(id=f"call_{name}", name=name, arguments=arguments)


def _draw(rng: np.random.Generator, make: Callable[[], tuple | None]) -> tuple:
    """Call ``make`` until it returns a usable draw (all randomness from ``rng``)."""
    for _ in range(MAX_DRAWS):
        result = make()
        if result is not None:
            return result
    raise RuntimeError(f"no usable draw in {MAX_DRAWS} tries; the family's constraints are too tight")


def _pick(rng: np.random.Generator, records: tuple[CrystalRecord, ...] | list) -> CrystalRecord:
    return records[int(rng.integers(len(records)))]


def _visible(peaks: list[TruePeak]) -> list[TruePeak]:
    """Peaks an item may ask about: SNR ≥ ``MIN_SNR``."""
    return [p for p in peaks if p.snr >= MIN_SNR]


# -- AtomScale: peaks and d-spacings ------------------------------------------------------

def _threshold(rng: np.random.Generator, pattern: SimulatedPattern
               ) -> tuple[int, list[TruePeak]] | None:
    """A threshold (% of the strongest) with 3-15 peaks above and a clear gap around it."""
    peaks = true_peaks(pattern)
    top = max(p.height for p in peaks)
    relative = np.array([p.height / top for p in peaks])
    for pct in rng.permutation(THRESHOLDS_PCT):
        t = pct / 100.0
        above = [p for p, r in zip(peaks, relative, strict=True) if r >= t]
        near = ((relative > t / THRESHOLD_GAP) & (relative < t * THRESHOLD_GAP)).any()
        cut = any(not inside(p, pattern) for p, r in zip(peaks, relative, strict=True)
                  if r >= t / THRESHOLD_GAP)
        if near or cut or not 3 <= len(above) <= 15:
            continue
        if all(p.snr >= MIN_SNR and p.sharp and isolated(p, peaks) for p in above):
            return int(pct), above
    return None


@family("xrd.peak_positions", version=VERSION)
def make_peak_positions(item_id: str, rng: np.random.Generator, sink: ItemSink,
                        difficulty: Difficulty) -> Item:
    """Q: the Kα1 2θ positions of every peak at least T % as high as the strongest.

    Truth: the simulated Kα1 reflections (shifted by the zero error and the specimen
    displacement), merged where they overlap, with their heights above the background; items
    whose threshold lies within a factor 1.4 of any peak height are redrawn.

    Tolerance: each position within max(0.05°, a quarter of the widest FWHM), one to one;
    extra or missing peaks are wrong.
    """
    def draw():
        record = _pick(rng, curated_records())
        pattern = simulate_pattern(_spec(rng, difficulty, (record.id,)), rng)
        chosen = _threshold(rng, pattern)
        return None if chosen is None else (pattern, *chosen)

    pattern, pct, above = _draw(rng, draw)
    tol = max(0.05, 0.25 * max(p.fwhm for p in above))
    question = (_intro(pattern) + f"List the 2θ positions (Kα1, degrees) of all peaks whose "
                f"height above the background is at least {pct}% of the strongest peak's height.")
    answer = NumberSet(values=[round(p.two_theta, 4) for p in above], unit="deg", abs_tol=tol)
    reference = [_find("find_peaks", pattern=PATTERN, min_relative_height=pct / 100 / 2)]
    return _item(item_id, "xrd.peak_positions", "AtomScale", question, _attach(pattern, sink),
                 answer, pattern, reference,
                 {"threshold_pct": pct, "rule": "merged Kα1 peaks with height >= threshold"})


@family("xrd.strongest_d", version=VERSION)
def make_strongest_d(item_id: str, rng: np.random.Generator, sink: ItemSink,
                     difficulty: Difficulty) -> Item:
    """Q: the d-spacing (Å) of the strongest peak, from its observed position.

    Truth: d = λ1 / (2 sin θ) at the strongest peak's observed (shifted) Kα1 position; the
    strongest peak is at least 1.25 times the next.

    Tolerance: 0.3 % relative: a 2θ reading error of about 0.05° at 30-60° 2θ.
    """
    def draw():
        record = _pick(rng, curated_records())
        pattern = simulate_pattern(_spec(rng, difficulty, (record.id,)), rng)
        peaks = sorted(true_peaks(pattern), key=lambda p: -p.height)
        if (len(peaks) < 2 or peaks[0].height < 1.25 * peaks[1].height or peaks[0].snr < MIN_SNR
                or not peaks[0].sharp or not isolated(peaks[0], peaks)
                or not inside(peaks[0], pattern)):
            return None
        return pattern, peaks[0]

    pattern, peak = _draw(rng, draw)
    wavelength = EMISSIONS[pattern.spec.radiation].ka1_angstrom
    d = wavelength / (2.0 * math.sin(math.radians(peak.two_theta) / 2.0))
    question = (_intro(pattern) + "What is the d-spacing, in Å, of the strongest peak (from its "
                "observed Kα1 position by Bragg's law)?")
    return _item(item_id, "xrd.strongest_d", "AtomScale", question, _attach(pattern, sink),
                 Numeric(value=d, unit="Å", rel_tol=0.003), pattern,
                 [_find("find_peaks", pattern=PATTERN)],
                 {"two_theta_deg": peak.two_theta, "rule": "d = λ1 / (2 sin θ_observed)"})


@family("xrd.cubic_lattice", version=VERSION)
def make_cubic_lattice(item_id: str, rng: np.random.Generator, sink: ItemSink,
                       difficulty: Difficulty) -> Item:
    """Q: the lattice parameter a (Å) of a cubic phase, strained by up to ±1.5 %.

    Truth: the database cell's a times the drawn lattice scale (0.985-1.015).

    Tolerance: 0.2 % relative: a least-squares fit over at least five clear peaks reaches a
    few 10⁻⁴ Å despite zero shift and displacement.
    """
    cubic = [r for r in curated_records() if r.crystal_system == "cubic"]

    def draw():
        record = _pick(rng, cubic)
        scale = float(rng.uniform(0.985, 1.015))
        pattern = simulate_pattern(replace(_spec(rng, difficulty, (record.id,)),
                                           lattice_scale=(scale,)), rng)
        peaks = true_peaks(pattern)
        top = max(p.height for p in peaks)
        clear = [p for p in peaks if p.snr >= MIN_SNR and p.height >= 0.02 * top and p.sharp]
        return (pattern, record, scale) if len(clear) >= MIN_LATTICE_PEAKS else None

    pattern, record, scale = _draw(rng, draw)
    centring = record.space_group[0]
    question = (_intro(pattern) + f"The sample is a single cubic phase with a "
                f"{CENTRING_TEXT[centring]} lattice (its cell may be expanded or contracted by "
                "alloying). Refine its lattice parameter a, in Å.")
    reference = [_find("find_peaks", pattern=PATTERN),
                 _find("fit_lattice", crystal_system="cubic", centring=centring)]
    return _item(item_id, "xrd.cubic_lattice", "AtomScale", question, _attach(pattern, sink),
                 Numeric(value=record.a * scale, unit="Å", rel_tol=0.002), pattern, reference,
                 {"phase": record.id, "database_a": record.a, "lattice_scale": scale})


# -- AtomScale: phases --------------------------------------------------------------------

def _all_visible(pattern: SimulatedPattern, phases: list[str]) -> bool:
    """Every phase has ≥ 3 clean peaks: SNR ≥ ``MIN_SNR``, ≥ 3 % of the strongest, and no
    other phase's reflection overlapping."""
    peaks = true_peaks(pattern)
    top = max(p.height for p in peaks)
    clean = [p for p in peaks if len(p.phases) == 1 and p.snr >= MIN_SNR and p.height >= 0.03 * top]
    return all(sum(1 for p in clean if phase in p.phases) >= 3 for phase in phases)


def _single_phase(rng: np.random.Generator, pool: list[CrystalRecord],
                  difficulty: Difficulty) -> tuple[SimulatedPattern, CrystalRecord]:
    def draw():
        record = _pick(rng, pool)
        pattern = simulate_pattern(_spec(rng, difficulty, (record.id,)), rng)
        return (pattern, record) if _all_visible(pattern, [record.id]) else None

    return _draw(rng, draw)


@family("xrd.phase_id", version=VERSION)
def make_phase_id(item_id: str, rng: np.random.Generator, sink: ItemSink,
                  difficulty: Difficulty) -> Item:
    """Q: the chemical formula of the single phase (formulas with one phase in the database).

    Truth: the formula of the simulated phase (only formulas with one polymorph in the
    database, so the formula names it).

    Tolerance: the answer's composition must reduce to the same formula; a mineral or common
    name of the phase counts too.
    """
    pool = [r for r in curated_records() if phases_per_formula()[r.formula] == 1]
    pattern, record = _single_phase(rng, pool, difficulty)
    question = (_intro(pattern) + "The sample is a single crystalline phase. Identify it: give "
                "its chemical formula.")
    reference = [_find("find_peaks", pattern=PATTERN), _find("identify_phase")]
    return _item(item_id, "xrd.phase_id", "AtomScale", question, _attach(pattern, sink),
                 Formula(formula=record.formula, names=list(record.names)), pattern, reference,
                 {"phase": record.id, "space_group": record.space_group})


def _option_text(record: CrystalRecord) -> str:
    return f"{record.names[0]} ({record.formula}, {record.space_group})"


def _distractors(rng: np.random.Generator, truth: CrystalRecord, count: int) -> list[CrystalRecord]:
    """Polymorphs first, then phases sharing an element, then any; one record per phase."""
    others = [r for r in curated_records() if phase_key(r) != phase_key(truth)]
    unique = {phase_key(r): r for r in others}
    ranked = sorted(unique.values(), key=lambda r: (r.formula != truth.formula,
                                                      not set(r.elements) & set(truth.elements),
                                                      float(rng.random())))
    return ranked[:count]


@family("xrd.phase_candidates", version=VERSION)
def make_phase_candidates(item_id: str, rng: np.random.Generator, sink: ItemSink,
                          difficulty: Difficulty) -> Item:
    """Q: which of four named phases (polymorphs and look-alikes) the sample is.

    Truth: the simulated phase; distractors are its polymorphs and the phases whose
    strongest lines lie closest.

    Tolerance: exact choice.
    """
    pattern, record = _single_phase(rng, list(curated_records()), difficulty)
    options = [record, *_distractors(rng, record, 3)]
    order = rng.permutation(len(options))
    letters = "ABCD"
    texts = {letters[i]: _option_text(options[k]) for i, k in enumerate(order)}
    correct = letters[int(np.flatnonzero(order == 0)[0])]
    listing = "\n".join(f"{letter}. {text}" for letter, text in texts.items())
    question = (_intro(pattern) + "The sample is a single crystalline phase. Which of these is "
                f"it? Answer with the letter.\n{listing}")
    reference = [_find("find_peaks", pattern=PATTERN),
                 _find("identify_phase", candidates=[o.names[0] for o in options])]
    return _item(item_id, "xrd.phase_candidates", "AtomScale", question, _attach(pattern, sink),
                 Choice(options=texts, correct=correct), pattern, reference,
                 {"phase": record.id, "options": [o.id for o in options]})


@family("xrd.phase_count", version=VERSION)
def make_phase_count(item_id: str, rng: np.random.Generator, sink: ItemSink,
                     difficulty: Difficulty) -> Item:
    """Q: how many crystalline phases a pattern holds (1-3, each ≥ 20 wt% and visible).

    Truth: the number of simulated phases, each at least 20 wt% and showing at least three
    clean peaks of its own.

    Tolerance: exact.
    """
    count = int(rng.integers(1, 4))

    def draw():
        chosen: dict[tuple[str, int], CrystalRecord] = {}
        while len(chosen) < count:
            record = _pick(rng, curated_records())
            chosen.setdefault(phase_key(record), record)
        records = list(chosen.values())
        fractions = 0.2 + (1.0 - 0.2 * count) * rng.dirichlet(np.full(count, 2.0))
        spec = _spec(rng, difficulty, tuple(r.id for r in records),
                     weight_fractions=tuple(float(f) for f in fractions))
        pattern = simulate_pattern(spec, rng)
        return (pattern, records) if _all_visible(pattern, [r.id for r in records]) else None

    pattern, records = _draw(rng, draw)
    question = (_intro(pattern) + "How many crystalline phases does the sample contain? Answer "
                "with a whole number.")
    reference = [_find("find_peaks", pattern=PATTERN), _find("identify_phase", max_phases=3)]
    return _item(item_id, "xrd.phase_count", "AtomScale", question, _attach(pattern, sink),
                 Numeric(value=count, unit="", rel_tol=0.0, abs_tol=0.0), pattern, reference,
                 {"phases": [r.id for r in records],
                  "weight_fractions": list(pattern.spec.weight_fractions)})


# -- Microscale: crystallite size and strain ----------------------------------------------

def _broadened(rng: np.random.Generator, size_range: tuple[float, float],
               strain_range: tuple[float, float] | None,
               difficulty: Difficulty) -> SimulatedPattern:
    """A single-phase scan with a chosen size (and strain) whose strongest peak is isolated."""
    def draw():
        record = _pick(rng, curated_records())
        size = math.exp(rng.uniform(*np.log(size_range)))
        strain = 0.0 if strain_range is None else math.exp(rng.uniform(*np.log(strain_range)))
        spec = replace(_spec(rng, difficulty, (record.id,)), crystallite_nm=(size,),
                       microstrain=(strain,), march_dollase=None)
        pattern = simulate_pattern(spec, rng)
        peaks = sorted(true_peaks(pattern, merge_fwhm=3.0), key=lambda p: -p.height)
        usable = [p for p in peaks if p.members == 1 and p.snr >= 2 * MIN_SNR and inside(p, pattern)]
        if len(peaks) < 2 or peaks[0] not in usable or (strain_range and len(usable) < 4):
            return None
        if _size_share(spec, peaks[0].two_theta) < MIN_SIZE_SHARE:
            return None
        if strain_range and _strain_share(spec, max(p.two_theta for p in usable)) < MIN_STRAIN_SHARE:
            return None
        return (pattern,)

    return _draw(rng, draw)[0]


def _size_share(spec: PatternSpec, two_theta: float) -> float:
    """Size broadening over instrumental broadening (FWHM ratio) at 2θ (degrees)."""
    wavelength = EMISSIONS[spec.radiation].ka1_angstrom
    size = fwhm_deg(np.array([two_theta]), wavelength, spec.crystallite_nm[0], 0.0, (0, 0, 0))
    instrument = fwhm_deg(np.array([two_theta]), wavelength, 1e9, 0.0, spec.caglioti_uvw)
    return float(size[0] / instrument[0])


def _strain_share(spec: PatternSpec, two_theta: float) -> float:
    """Strain broadening over size broadening (FWHM ratio) at 2θ (degrees)."""
    wavelength = EMISSIONS[spec.radiation].ka1_angstrom
    x = np.array([two_theta])
    strain = fwhm_deg(x, wavelength, 1e9, spec.microstrain[0], (0, 0, 0))
    size = fwhm_deg(x, wavelength, spec.crystallite_nm[0], 0.0, (0, 0, 0))
    return float(strain[0] / size[0])


def _caglioti_text(spec: PatternSpec) -> str:
    u, v, w = spec.caglioti_uvw
    return (f"The instrument's own FWHM follows the Caglioti function FWHM² = U tan²θ + V tanθ + W "
            f"with U = {u:.6g}, V = {v:.6g}, W = {w:.6g} deg².")


@family("xrd.scherrer_size", version=VERSION)
def make_scherrer_size(item_id: str, rng: np.random.Generator, sink: ItemSink,
                       difficulty: Difficulty) -> Item:
    """Q: the Scherrer crystallite size (nm), instrument width given or from a LaB6 standard.

    Truth: the simulated volume-weighted crystallite size; the generator's FWHM² is the
    instrument's plus the Scherrer width's squared, as the question's rule says.

    Tolerance: 15 % relative: FWHM read from a fitted profile on noisy counts, with the
    instrument removed in quadrature.
    """
    pattern = _broadened(rng, (5.0, 80.0), None, difficulty)
    spec = pattern.spec
    with_standard = difficulty == "hard" or (difficulty == "medium" and bool(rng.random() < 0.5))
    assets = _attach(pattern, sink)
    rule = ("Use the strongest peak, the Scherrer equation with K = 0.9, and remove the "
            "instrumental broadening in quadrature (β² = FWHM² − FWHM_instrument²).")
    if with_standard:
        standard = simulate_pattern(replace(spec, phases=(STANDARD_ID,), weight_fractions=(1.0,),
                                            crystallite_nm=(STANDARD_SIZE_NM,), microstrain=(0.0,),
                                            amorphous_hump=None, lattice_scale=None), rng)
        assets += _attach(standard, sink, STANDARD, None)
        source = (f"Attachment {STANDARD} is a LaB6 line-profile standard (crystallites of "
                  "several µm, no strain) measured on the same instrument: take the "
                  "instrumental FWHM from it.")
    else:
        source = _caglioti_text(spec)
    question = (_intro(pattern) + f"{source} {rule} What is the crystallite size, in nm?")
    reference = [_find("find_peaks", pattern=PATTERN), _find("scherrer_size")]
    if with_standard:
        reference.insert(1, _find("find_peaks", pattern=STANDARD))
    return _item(item_id, "xrd.scherrer_size", "Microscale", question, assets,
                 Numeric(value=spec.crystallite_nm[0], unit="nm", rel_tol=SCHERRER_REL_TOL),
                 pattern, reference, {"instrument": "standard" if with_standard else "caglioti",
                                      "rule": "generator FWHM² = instrument² + Scherrer²"})


@family("xrd.williamson_hall", version=VERSION)
def make_williamson_hall(item_id: str, rng: np.random.Generator, sink: ItemSink,
                         difficulty: Difficulty) -> Item:
    """Q: Williamson-Hall crystallite size (nm) or microstrain (%), instrument width given.

    Truth: the simulated crystallite size or microstrain; strain broadening is at least 0.7
    times the size broadening at the highest usable peak, so the slope is measurable.

    Tolerance: 20 % relative: a straight-line fit over four or more peaks of a noisy scan.
    """
    pattern = _broadened(rng, (10.0, 60.0), (5e-4, 5e-3), difficulty)
    spec = pattern.spec
    ask_size = bool(rng.random() < 0.5)
    rule = ("Treat all broadening as Gaussian: remove the instrument width in quadrature and fit "
            "(β cosθ)² = (Kλ/D)² + (4ε sinθ)² with K = 0.9 over the well-resolved peaks.")
    target = "the crystallite size D, in nm" if ask_size else "the microstrain ε, in percent"
    question = _intro(pattern) + f"{_caglioti_text(spec)} {rule} What is {target}?"
    answer = (Numeric(value=spec.crystallite_nm[0], unit="nm", rel_tol=WH_REL_TOL) if ask_size
              else Numeric(value=spec.microstrain[0] * 100.0, unit="%", rel_tol=WH_REL_TOL))
    reference = [_find("find_peaks", pattern=PATTERN), _find("williamson_hall")]
    return _item(item_id, "xrd.williamson_hall", "Microscale", question, _attach(pattern, sink),
                 answer, pattern, reference,
                 {"asked": "size" if ask_size else "strain", "crystallite_nm": spec.crystallite_nm[0],
                  "microstrain": spec.microstrain[0]})

