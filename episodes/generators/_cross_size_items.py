"""Cross-scale families: composition from the lattice parameter (Vegard), crystallite vs grain size.

``cross.vegard`` (Microscale, AtomScale → Microscale): a powder scan of a cubic solid
solution A(1−x)B(x) of two isostructural end members; the answer is x by Vegard's law,
a(x) = (1 − x)·a_A + x·a_B. Vegard's law is the *definition* of the truth here: real alloys
deviate from it (Cu-Ni and Si-Ge by up to ~0.01-0.02 Å, with a bowing term), but the items
state it as the rule. The scan is simulated from the structure of the end member nearer in
composition, with its cell scaled to a(x) (``PatternSpec.lattice_scale``); the intensities stay
that end member's, which changes nothing for the lattice parameter.

``cross.size_ratio`` (Microscale ↔ Mesoscale): a micrograph of the grains (``img0``) and a
powder scan of the same specimen (``xrd0``); the answer is ℓ / D, the E112 mean lineal
intercept over the Scherrer crystallite size.

``cross.single_crystallite`` (Mesoscale): the same two measurements, judged: is each grain a
single coherent domain (ℓ / D ≈ 1) or does it hold a few, tens or hundreds of them? The
ratios are drawn inside bands (``RATIO_BANDS``) with a gap of ≥ 1.5× to every decision
boundary, so that the answer follows from measurements within their tolerances.

Difficulty:

* ``cross.vegard``: easy = the end members' lattice parameters are stated, Cu Kα1 with strong
  counts; medium = they must be looked up (``lookup_crystal``), any anode; hard = looked up,
  Kα1+Kα2 doublet and few counts.
* size families: easy = pixel size and instrument function (Caglioti U, V, W) stated,
  Cu Kα1; medium = one calibration: the scale bar or a LaB6 standard scan; hard = both,
  with a Kα1+Kα2 doublet and few counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from csmbench.episodes import Asset, Choice, Difficulty, Item, Milestone, Numeric, ToolCall
from csmbench.tools._crystal_db import CrystalRecord

from ._grain_items import INTERCEPT_REL_TOL
from ._grain_specimen import STYLE_TEXT, GrainMicrograph, draw_grain_micrograph
from ._microstructure_render import RenderStyle
from ._registry import ItemSink, family
from ._scale_bar_render import save_micrograph
from ._xrd_items import (
    PATTERN,
    PLOT,
    SCHERRER_REL_TOL,
    STANDARD,
    STANDARD_ID,
    STANDARD_SIZE_NM,
    _attach,
    _broadened,
    _caglioti_text,
    _draw,
    _radiation_text,
    _spec,
    _spec_record,
)
from ._xrd_pattern import SimulatedPattern, simulate_pattern
from ._xrd_truth import curated_records, true_peaks

__all__ = ["RATIO_BANDS", "SOLID_SOLUTIONS", "VERSION"]

VERSION = "1"
IMAGE = "img0"
X_RANGE = (0.1, 0.9)
"""Compositions drawn (mole fraction of B)."""
A_PRECISION_ANGSTROM = 0.003
"""Lattice parameter a laboratory scan pins down (zero shift refined, specimen displacement
not): ±0.003 Å, about 0.06 %. The reference's cubic fits on these scans err by ≤ 0.001 Å."""
X_ABS_TOL_RANGE = (0.02, 0.05)
"""The tolerance on x, A_PRECISION_ANGSTROM / |a_B − a_A|, is kept within this range."""
MIN_LATTICE_PEAKS = 5
ANNEALED_CRYSTALLITE_NM = (30.0, 200.0)
"""Crystallite sizes of the alloy, nm (no microstrain): a solid solution is homogenised by
annealing before its composition is read off the lattice; nanometre crystallites would broaden
the lines beyond the A_PRECISION_ANGSTROM a Vegard analysis needs."""
"""A Vegard scan shows at least this many clear peaks (indexing needs them)."""
MIN_SNR = 10.0
RATIO_REL_TOL = math.hypot(SCHERRER_REL_TOL, INTERCEPT_REL_TOL)
"""ℓ / D: the Scherrer size (15 %) and the mean intercept (10 %) err independently, so their
relative errors add in quadrature: sqrt(0.15² + 0.10²) = 0.18."""
CRYSTALLITE_NM = (8.0, 80.0)
"""Scherrer sizes drawn, nm: broad enough to beat the instrument, narrow enough to measure."""
MAX_MICROGRAPH_DRAWS = 20
STANDARD_MIN_COUNTS = 20_000.0
"""Peak height (counts) of the LaB6 standard scan at least: a calibration scan is counted long
enough for clean widths, even when the specimen's scan has few counts."""


@dataclass(frozen=True)
class SolidSolution:
    """Two isostructural cubic end members with a continuous solid solution.

    Attributes:
        a_id, b_id: Crystal database ids of the end members A (x = 0) and B (x = 1).
        label: The solid solution's formula with x, e.g. "Cu(1−x)Ni(x)".
    """

    a_id: str
    b_id: str
    label: str


SOLID_SOLUTIONS: tuple[SolidSolution, ...] = (
    SolidSolution("curated:cu", "curated:ni", "Cu(1−x)Ni(x)"),
    SolidSolution("curated:si", "curated:ge", "Si(1−x)Ge(x)"),
    SolidSolution("curated:srtio3", "curated:batio3-cubic", "Sr(1−x)Ba(x)TiO3"),
    SolidSolution("curated:kcl", "curated:kbr", "KCl(1−x)Br(x)"),
    SolidSolution("curated:gaas", "curated:inas", "Ga(1−x)In(x)As"),
    SolidSolution("curated:gap", "curated:inp", "Ga(1−x)In(x)P"),
    SolidSolution("curated:gaas", "curated:gap", "GaAs(1−x)P(x)"),
    SolidSolution("curated:inp", "curated:inas", "InP(1−x)As(x)"),
    SolidSolution("curated:zns-sphalerite", "curated:znse", "ZnS(1−x)Se(x)"),
    SolidSolution("curated:mgo", "curated:mno", "Mg(1−x)Mn(x)O"),
    SolidSolution("curated:tic", "curated:tin", "TiC(1−x)N(x)"),
    SolidSolution("curated:v", "curated:cr", "V(1−x)Cr(x)"),
    SolidSolution("curated:mo", "curated:nb", "Mo(1−x)Nb(x)"),
    SolidSolution("curated:tho2", "curated:uo2", "Th(1−x)U(x)O2"),
)
"""Pairs with |Δa| / a ≥ 1.5 % (Au-Ag and Pd-Pt are left out: their Δa is too small)."""

RATIO_BANDS: dict[str, tuple[float, float]] = {
    "single": (0.8, 1.6), "few": (4.0, 10.0), "tens": (25.0, 80.0), "hundreds": (200.0, 800.0),
}
"""ℓ / D drawn for each answer class; every band lies ≥ 1.5× inside its decision range."""
DECISION_BOUNDS = (0.5, 2.5, 16.0, 125.0)
"""ℓ / D boundaries of the options (impossible < 0.5 < single < 2.5 < few < 16 < tens < 125)."""
PIXEL_NM = {"single": (1.0, 3.5), "few": (2.0, 20.0), "tens": (10.0, 150.0),
            "hundreds": (100.0, 1000.0)}
"""Pixel sizes (nm/px) of each class's micrograph: ℓ spans 16-40 px, so these put ℓ / D in the
band for some D in ``CRYSTALLITE_NM``; they overlap, so the magnification alone cannot tell."""
BAND_STYLES: dict[str, tuple[RenderStyle, ...]] = {
    "single": ("sem",), "few": ("sem",), "tens": ("sem",), "hundreds": ("sem", "etched_optical"),
}
"""Micrograph styles per class: SEM channelling contrast at every magnification, etched optical
where the pixels are ≥ 100 nm. No EBSD band-contrast maps: they show the low-angle (subgrain)
boundaries that the question is about, and the grain tool reads their grains less reliably."""
OPTIONS = {
    "impossible": "The coherent domains are larger than the grains (ℓ/D below 0.5).",
    "single": "Each grain is a single crystallite (ℓ/D between 0.5 and 2.5).",
    "few": "Each grain holds a few coherent domains across it (ℓ/D between 2.5 and 16).",
    "tens": "Each grain holds tens of coherent domains across it (ℓ/D between 16 and 125).",
    "hundreds": "Each grain holds hundreds or more coherent domains across it (ℓ/D above 125).",
}
"""Answer options; "impossible" is never right (a coherent domain cannot cross a boundary)."""


def _record(record_id: str) -> CrystalRecord:
    return next(r for r in curated_records() if r.id == record_id)


def _find(name: str, **arguments) -> ToolCall:
    return ToolCall(id=f"call_{name}", name=name, arguments=arguments)


def _milestones(calls: list[ToolCall], keys: tuple[str, ...],
                needs: dict[str, tuple[str, ...]]) -> list[Milestone]:
    """Milestones of ``calls`` with the arguments in ``keys``; a tool in ``needs`` comes after
    every earlier call of the tools it names (fit_lattice after find_peaks, ...)."""
    return [Milestone(tool=c.name, arguments={k: v for k, v in c.arguments.items() if k in keys},
                      after=[j for j, e in enumerate(calls[:i]) if e.name in needs.get(c.name, ())])
            for i, c in enumerate(calls)]


# -- Vegard's law --------------------------------------------------------------------------

def vegard_a(x: float, a_a: float, a_b: float) -> float:
    """Lattice parameter (Å) of A(1−x)B(x) by Vegard's law."""
    return (1.0 - x) * a_a + x * a_b


def _alloy_pattern(rng: np.random.Generator, difficulty: Difficulty
                   ) -> tuple[SimulatedPattern, SolidSolution, float]:
    def draw():
        pair = SOLID_SOLUTIONS[int(rng.integers(len(SOLID_SOLUTIONS)))]
        x = float(rng.uniform(*X_RANGE))
        host = _record(pair.a_id if x <= 0.5 else pair.b_id)
        a = vegard_a(x, _record(pair.a_id).a, _record(pair.b_id).a)
        size = math.exp(rng.uniform(*np.log(ANNEALED_CRYSTALLITE_NM)))
        spec = replace(_spec(rng, difficulty, (host.id,)), lattice_scale=(a / host.a,),
                       crystallite_nm=(size,), microstrain=(0.0,))
        pattern = simulate_pattern(spec, rng)
        peaks = true_peaks(pattern)
        top = max(p.height for p in peaks)
        clear = [p for p in peaks if p.snr >= MIN_SNR and p.height >= 0.02 * top and p.sharp]
        return (pattern, pair, x) if len(clear) >= MIN_LATTICE_PEAKS else None

    return _draw(rng, draw)


def _end_member_text(name: str, record: CrystalRecord, given: bool) -> str:
    lattice = f", a = {record.a:g} Å" if given else ""
    return f"{name} = {record.formula} (space group {record.space_group}{lattice})"


@family("cross.vegard", version=VERSION)
def make_vegard(item_id: str, rng: np.random.Generator, sink: ItemSink,
                difficulty: Difficulty) -> Item:
    """Q: x of a cubic solid solution A(1−x)B(x) from its lattice parameter (Vegard's law).

    Truth: the drawn x; the scan is the nearer end member's structure with its cell scaled to
    a(x) = (1 − x)·a_A + x·a_B (Vegard's law is the rule the question defines; real alloys
    deviate from it).

    Tolerance: ±0.003 Å in a divided by |a_B − a_A|, clamped to 0.02-0.05 in x: a
    least-squares cubic fit over several peaks reaches about 0.001 Å.
    """
    pattern, pair, x = _alloy_pattern(rng, difficulty)
    a_rec, b_rec = _record(pair.a_id), _record(pair.b_id)
    a = vegard_a(x, a_rec.a, b_rec.a)
    given = difficulty == "easy"
    ending = "." if given else "; look up their lattice parameters."
    members = (f"The end members are {_end_member_text('A', a_rec, given)} and "
               f"{_end_member_text('B', b_rec, given)}{ending}")
    question = (f"Attachment {PATTERN} is a powder X-ray diffraction scan "
                f"({_radiation_text(pattern)}; two columns: 2θ in degrees and intensity in counts) "
                f"and {PLOT} is a plot of it. The sample is a single-phase cubic solid solution "
                f"{pair.label}, isostructural with both end members. {members} Assume Vegard's "
                "law: the lattice parameter varies linearly with x from A to B. What is x, the "
                "mole fraction of B? Answer as a number between 0 and 1.")
    tol = min(max(A_PRECISION_ANGSTROM / abs(b_rec.a - a_rec.a), X_ABS_TOL_RANGE[0]),
              X_ABS_TOL_RANGE[1])
    calls = [] if given else [_find("lookup_crystal", query=r.formula) for r in (a_rec, b_rec)]
    calls += [_find("find_peaks", pattern=PATTERN), _find("fit_lattice", crystal_system="cubic")]
    return Item(id=item_id, source="generated", scale="Microscale", family="cross.vegard",
                question=question, attachments=_attach(pattern, sink),
                answer=Numeric(value=x, unit="", rel_tol=0.0, abs_tol=tol), reference=calls,
                milestones=_milestones(calls, ("pattern", "crystal_system"),
                                       {"fit_lattice": ("find_peaks",)}),
                metadata={"generator": "cross.vegard", "generator_version": VERSION,
                          "spec": _spec_record(pattern.spec),
                          "truth": {"x": x, "a_angstrom": a, "a_A_angstrom": a_rec.a,
                                    "a_B_angstrom": b_rec.a, "host": pattern.spec.phases[0]},
                          "derivation": {"end_members": [a_rec.id, b_rec.id],
                                         "rule": "x = (a − a_A) / (a_B − a_A)",
                                         "lattice_given": given, "x_abs_tol": tol}})


# -- crystallite size against grain size ----------------------------------------------------

@dataclass(frozen=True)
class SizePair:
    """A micrograph and a broadened scan of one specimen, with ℓ / D in a class band."""

    drawn: GrainMicrograph
    pattern: SimulatedPattern
    band: str

    @property
    def intercept_nm(self) -> float:
        return self.drawn.truth.mean_intercept_um * 1000.0

    @property
    def crystallite_nm(self) -> float:
        return self.pattern.spec.crystallite_nm[0]

    @property
    def ratio(self) -> float:
        return self.intercept_nm / self.crystallite_nm


def _micrograph(rng: np.random.Generator, band: str) -> tuple[GrainMicrograph, float]:
    """A one-phase micrograph of the band's magnification and a D (nm) giving ℓ/D in the band."""
    styles = BAND_STYLES[band]
    style = styles[int(rng.integers(len(styles)))]
    for _ in range(MAX_MICROGRAPH_DRAWS):
        drawn, _ = draw_grain_micrograph(rng, style=style, nm_per_pixel_range=PIXEL_NM[band])
        intercept = drawn.truth.mean_intercept_um * 1000.0
        low = max(RATIO_BANDS[band][0], intercept / CRYSTALLITE_NM[1])
        high = min(RATIO_BANDS[band][1], intercept / CRYSTALLITE_NM[0])
        if low < 0.95 * high:
            return drawn, intercept / math.exp(rng.uniform(math.log(low), math.log(high)))
    raise RuntimeError(f"no micrograph fits the {band!r} band in {MAX_MICROGRAPH_DRAWS} draws")


def _size_pair(rng: np.random.Generator, band: str, difficulty: Difficulty) -> SizePair:
    drawn, size_nm = _micrograph(rng, band)
    pattern = _broadened(rng, (size_nm, size_nm), None, difficulty)
    return SizePair(drawn, pattern, band)


def _standard(pattern: SimulatedPattern, rng: np.random.Generator) -> SimulatedPattern:
    """A LaB6 line-profile standard measured with the scan's instrument, counted to at least
    ``STANDARD_MIN_COUNTS`` (background scaled alike)."""
    spec = pattern.spec
    gain = max(1.0, STANDARD_MIN_COUNTS / spec.max_counts)
    return simulate_pattern(replace(spec, phases=(STANDARD_ID,), weight_fractions=(1.0,),
                                    crystallite_nm=(STANDARD_SIZE_NM,), microstrain=(0.0,),
                                    amorphous_hump=None, lattice_scale=None,
                                    max_counts=spec.max_counts * gain,
                                    background=tuple(b * gain for b in spec.background)), rng)


def _levels(rng: np.random.Generator, difficulty: Difficulty) -> tuple[bool, bool]:
    """(pixel size given, instrument function given) for a difficulty."""
    if difficulty == "easy":
        return True, True
    if difficulty == "hard":
        return False, False
    bar = bool(rng.random() < 0.5)
    return not bar, bar


def _size_assets(pair: SizePair, sink: ItemSink, rng: np.random.Generator,
                 caglioti: bool) -> list[Asset]:
    """Micrograph first, then the scans (as data only: a plot would double the build time)."""
    height, width = pair.drawn.micrograph.pixels.shape
    micrograph = sink.asset(IMAGE, "image", ".png",
                            lambda path: save_micrograph(pair.drawn.micrograph, Path(path), "png"),
                            meta={"format": "png", "width_px": width, "height_px": height,
                                  "modality": pair.drawn.micrograph.modality})
    assets = [micrograph, *_attach(pair.pattern, sink, plot_id=None)]
    if not caglioti:
        assets += _attach(_standard(pair.pattern, rng), sink, STANDARD, None)
    return assets


def _size_intro(pair: SizePair, pixel_given: bool, caglioti: bool) -> str:
    nm = pair.drawn.micrograph.nm_per_pixel
    scale = (f"its pixel size is {nm:.5g} nm ({nm / 1000:.5g} µm per pixel)" if pixel_given
             else "it carries a scale bar (calibrate it first)")
    instrument = (_caglioti_text(pair.pattern.spec) if caglioti else
                  f"Attachment {STANDARD} is a LaB6 line-profile standard (crystallites of "
                  "several µm, no strain) measured on the same instrument: take the "
                  "instrumental FWHM from it.")
    return (f"Attachment {IMAGE} is {STYLE_TEXT[pair.drawn.style]} of a polycrystalline "
            f"specimen; {scale}. Attachment {PATTERN} is a powder X-ray diffraction scan of the "
            f"same specimen ({_radiation_text(pair.pattern)}; two columns: 2θ in degrees and "
            f"intensity in counts). {instrument} Measure the grain "
            "size as the mean lineal intercept ℓ (ASTM E112: test lines in several directions; "
            "annealing-twin boundaries are not grain boundaries) and the crystallite size D by "
            "the Scherrer equation on the strongest peak with K = 0.9, removing the "
            "instrumental broadening in quadrature (β² = FWHM² − FWHM_instrument²). ")


def _size_calls(pair: SizePair, pixel_given: bool, caglioti: bool) -> list[ToolCall]:
    calls = [] if pixel_given else [_find("calibrate_scale_bar", image=IMAGE)]
    calls.append(_find("estimate_grain_size", image=IMAGE,
                       nm_per_pixel=pair.drawn.micrograph.nm_per_pixel, method="intercept"))
    calls.append(_find("find_peaks", pattern=PATTERN))
    if not caglioti:
        calls.append(_find("find_peaks", pattern=STANDARD))
    return [*calls, _find("scherrer_size")]


def _size_item(item_id: str, name: str, scale: str, pair: SizePair, pixel_given: bool,
               caglioti: bool, question: str, answer, assets: list[Asset], **derivation) -> Item:
    calls = _size_calls(pair, pixel_given, caglioti)
    truth = {"mean_intercept_nm": pair.intercept_nm, "crystallite_nm": pair.crystallite_nm,
             "ratio": pair.ratio, "band": pair.band, "style": pair.drawn.style,
             "nm_per_pixel": pair.drawn.micrograph.nm_per_pixel}
    return Item(id=item_id, source="generated", scale=scale, family=name, question=question,
                attachments=assets, answer=answer, reference=calls,
                milestones=_milestones(calls, ("image", "pattern", "nm_per_pixel"),
                                       {"estimate_grain_size": ("calibrate_scale_bar",),
                                        "scherrer_size": ("find_peaks",)}),
                metadata={"generator": name, "generator_version": VERSION,
                          "spec": _spec_record(pair.pattern.spec), "truth": truth,
                          "derivation": {"pixel_size_given": pixel_given,
                                         "instrument": "caglioti" if caglioti else "standard",
                                         **derivation}})


def _band(rng: np.random.Generator) -> str:
    return list(RATIO_BANDS)[int(rng.integers(len(RATIO_BANDS)))]


@family("cross.size_ratio", version=VERSION)
def make_size_ratio(item_id: str, rng: np.random.Generator, sink: ItemSink,
                    difficulty: Difficulty) -> Item:
    """Q: the ratio ℓ / D of the grain size (mean intercept) to the Scherrer crystallite size.

    Truth: the label image's exact mean intercept over the simulated crystallite size.

    Tolerance: 18 % relative, the Scherrer (15 %) and intercept (10 %) tolerances combined in
    quadrature, as the two measurements err independently.
    """
    pair = _size_pair(rng, _band(rng), difficulty)
    pixel_given, caglioti = _levels(rng, difficulty)
    question = (_size_intro(pair, pixel_given, caglioti) + "What is the ratio ℓ / D (both in "
                "the same unit; a dimensionless number)?")
    return _size_item(item_id, "cross.size_ratio", "Microscale", pair, pixel_given, caglioti,
                      question, Numeric(value=pair.ratio, unit="", rel_tol=RATIO_REL_TOL),
                      _size_assets(pair, sink, rng, caglioti), rule="ℓ / D")


@family("cross.single_crystallite", version=VERSION)
def make_single_crystallite(item_id: str, rng: np.random.Generator, sink: ItemSink,
                            difficulty: Difficulty) -> Item:
    """Q: are the grains single crystallites, or how many coherent domains does each hold?

    Truth: the option whose ℓ/D range holds the true ratio, drawn from bands that sit at least
    1.5 times inside the option's range, so measurements within the size tolerances decide it.

    Tolerance: exact choice.
    """
    pair = _size_pair(rng, _band(rng), difficulty)
    pixel_given, caglioti = _levels(rng, difficulty)
    order = [list(OPTIONS)[k] for k in rng.permutation(len(OPTIONS))]
    letters = "ABCDE"
    options = {letter: OPTIONS[key] for letter, key in zip(letters, order, strict=True)}
    listing = "\n".join(f"{letter}. {text}" for letter, text in options.items())
    question = (_size_intro(pair, pixel_given, caglioti) + "Compare the two sizes: which "
                f"statement describes the grains? Answer with the letter.\n{listing}")
    return _size_item(item_id, "cross.single_crystallite", "Mesoscale", pair, pixel_given,
                      caglioti, question,
                      Choice(options=options, correct=letters[order.index(pair.band)]),
                      _size_assets(pair, sink, rng, caglioti), rule="class of ℓ / D",
                      decision_bounds=list(DECISION_BOUNDS))
