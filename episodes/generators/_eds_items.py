"""EDS families (Microscale): which elements a spectrum shows, and which phase it comes from.

Each item attaches an SEM-EDS spectrum (``eds0``: EMSA/MAS-like text, energy in keV and
counts; beam energy, channel width and detector resolution in its metadata and header) and
a plot of it (``plot0``). Samples are curated phases of the crystal database (oxides,
carbides, nitrides, sulfides, intermetallics, metals) with only elements of Z ≥ 5; the truth
is their composition. Both families are multiple choice among five options, shuffled.

Difficulty:

* easy: 0.5-2 million counts; the options differ by elements with well-separated lines
  (distractor sets add, drop or swap an arbitrary element).
* medium: 0.1-0.5 million counts; the sample may carry a minor element (2-6 at%), and the
  distractors swap or add elements whose lines overlap the sample's (Ti Kβ / V Kα,
  S Kα / Mo Lα / Pb Mα, Ba Lα / Ti Kα, N Kα / Ti Ll ...).
* hard: 20-100 thousand counts, overlap distractors, samples with a heavy element (L and M
  lines) more often; in ``eds.phase`` the options are mineral or common names only, so each
  must be looked up (``lookup_crystal``) to know its elements.

Every element of the sample is clearly present (its main peak's expected net counts are at
least ``MIN_EXPECTED_SIGMA`` standard deviations of the counts under it), so an item is
decided by which lines are there, not by noise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import numpy as np
import xraydb
from pymatgen.core import Composition

from csmbench.episodes import Asset, Choice, Difficulty, Item, Milestone, ToolCall
from csmbench.tools._curated_phases import CURATED_PHASES, CuratedPhase
from csmbench.tools._eds_lines import emission_lines, fwhm_ev, noise_fwhm_ev

from ._eds_spectrum import (
    EdsSpec,
    SimulatedSpectrum,
    plot_spectrum,
    simulate_spectrum,
    spectrum_meta,
    write_msa,
)
from ._registry import ItemSink, family

__all__ = ["VERSION", "eds_phases", "overlap_partners"]

VERSION = "1"
SPECTRUM, PLOT = "eds0", "plot0"
LETTERS = "ABCDE"
MAX_DRAWS = 200
MIN_Z = 5
BEAMS_KV = (10.0, 15.0, 20.0)
MIN_OVERVOLTAGE_USED = 1.5
"""A beam is used only if it excites every hard (≥ 1 keV) line family of the sample with an
overvoltage of at least 1.5, as an analyst would choose it."""
MIN_EXPECTED_SIGMA = 15.0
"""Each sample element's main peak: expected net counts within ±½ FWHM over the square root
of all expected counts there. 15 σ keeps items decided by the lines present, not by noise."""
COUNTS = {"easy": (5e5, 2e6), "medium": (1e5, 5e5), "hard": (2e4, 1e5)}
"""Total expected counts per difficulty (log-uniform)."""
MINOR_ELEMENTS = ("Cr", "Mn", "Ni", "Co", "V", "Ti", "Al", "Si", "Mo", "Nb", "Cu", "Zn", "Mg", "W")
MINOR_FRACTION = (0.02, 0.06)
DISTRACTOR_ELEMENTS = ("B", "C", "N", "O", "F", "Na", "Mg", "Al", "Si", "P", "S", "Cl", "K", "Ca", "Sc", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge", "As", "Se", "Br", "Rb", "Sr", "Y", "Zr", "Nb", "Mo", "Ru", "Rh", "Pd", "Ag", "Cd", "In", "Sn", "Sb", "Te", "I", "Cs", "Ba", "La", "Ce", "Nd", "Sm", "Gd", "Hf", "Ta", "W", "Re", "Os", "Ir", "Pt", "Au", "Hg", "Tl", "Pb", "Bi", "Th", "U")
"""Elements distractor options may name (common in materials; no noble gases)."""
OVERLAP_FRACTION_OF_FWHM = 0.6
"""Two elements overlap when main lines of theirs lie within 0.6 FWHM (at 128 eV Mn Kα)."""
REFERENCE_NOISE_EV = noise_fwhm_ev(128.0)


@dataclass(frozen=True)
class EdsPhase:
    """A sample phase: its database key, name, formula and visible atomic composition."""

    key: str
    name: str
    formula: str
    composition: tuple[tuple[str, float], ...]

    @property
    def elements(self) -> frozenset[str]:
        return frozenset(el for el, _ in self.composition)


def _composition(formula: str) -> tuple[tuple[str, float], ...]:
    fractions = Composition(formula).fractional_composition
    return tuple((str(el), float(x)) for el, x in fractions.items())


@cache
def eds_phases() -> tuple[EdsPhase, ...]:
    """Curated phases with only Z ≥ 5 elements, one per element set (the most common)."""
    best: dict[frozenset[str], CuratedPhase] = {}
    for phase in CURATED_PHASES:
        composition = _composition(phase.formula)
        elements = frozenset(el for el, _ in composition)
        if min(xraydb.atomic_number(el) for el in elements) < MIN_Z:
            continue
        if elements not in best or phase.common_rank < best[elements].common_rank:
            best[elements] = phase
    return tuple(EdsPhase(p.key, p.names[0], p.formula, _composition(p.formula))
                 for p in best.values())


MAIN_LINE_SHARE = 0.1
"""A line counts as a main line when it carries ≥ 10 % of its family's strongest (Kβ does)."""


def _main_lines(element: str) -> list[float]:
    """Energies (keV) of the main lines of each family at 20 kV."""
    lines = emission_lines(element, 20.0, 20.47)
    out = []
    for fam in "KLM":
        own = [x for x in lines if x.family == fam]
        out += [x.energy_kev for x in own if x.yield_per_atom >= MAIN_LINE_SHARE * own[0].yield_per_atom]
    return out


@cache
def overlap_partners(element: str) -> tuple[str, ...]:
    """Distractor elements with a main line within 0.6 FWHM of one of ``element``'s."""
    mine = _main_lines(element)
    partners = []
    for other in DISTRACTOR_ELEMENTS:
        if other == element:
            continue
        if any(abs(a - b) <= OVERLAP_FRACTION_OF_FWHM * float(fwhm_ev(a, REFERENCE_NOISE_EV)) / 1000
               for a in mine for b in _main_lines(other)):
            partners.append(other)
    return tuple(partners)


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _beam(rng: np.random.Generator, elements: frozenset[str]) -> float | None:
    """A beam energy exciting each element's strongest hard line with overvoltage ≥ 1.5."""
    def fits(beam: float) -> bool:
        for element in elements:
            hard = [x for x in emission_lines(element, beam, 20.47) if x.energy_kev >= 1.0]
            if hard and not _edge_ok(element, hard[0].name, beam):
                return False
        return True
    usable = [b for b in BEAMS_KV if fits(b)]
    return None if not usable else float(usable[int(rng.integers(len(usable)))])


def _edge_ok(element: str, line: str, beam: float) -> bool:
    level = xraydb.xray_lines(element)[line].initial_level.split(",")[-1]
    return beam / (xraydb.xray_edges(element)[level].energy / 1000.0) >= MIN_OVERVOLTAGE_USED


def _clear(spectrum: SimulatedSpectrum) -> bool:
    """Every sample element's main peak stands ≥ ``MIN_EXPECTED_SIGMA`` above its noise."""
    energy = spectrum.energy_kev
    for element, _ in spectrum.spec.composition:
        own = [r for r in spectrum.lines if r["element"] == element]
        if not own:
            return False
        main = max(own, key=lambda r: r["counts"])
        near = np.abs(energy - main["energy_kev"]) <= main["fwhm_ev"] / 2000.0
        net = sum(r["counts"] for r in own if abs(r["energy_kev"] - main["energy_kev"])
                  <= main["fwhm_ev"] / 2000.0) * 0.76  # share of a Gaussian within ±½ FWHM
        if net < MIN_EXPECTED_SIGMA * np.sqrt(spectrum.expected[near].sum()):
            return False
    return True


def _spectrum(rng: np.random.Generator, composition: tuple[tuple[str, float], ...],
              difficulty: Difficulty) -> SimulatedSpectrum | None:
    beam = _beam(rng, frozenset(el for el, _ in composition))
    if beam is None:
        return None
    spec = EdsSpec(composition=composition, beam_kev=beam,
                   fwhm_mn_ka_ev=round(float(rng.uniform(122.0, 135.0)), 1),
                   total_counts=_log_uniform(rng, *COUNTS[difficulty]),
                   background_fraction=float(rng.uniform(0.15, 0.45)))
    spectrum = simulate_spectrum(spec, rng)
    return spectrum if _clear(spectrum) else None


def _attach(spectrum: SimulatedSpectrum, sink: ItemSink) -> list[Asset]:
    return [sink.asset(SPECTRUM, "spectrum", ".msa", lambda p: write_msa(spectrum, p),
                       spectrum_meta(spectrum)),
            sink.asset(PLOT, "image", ".png", lambda p: plot_spectrum(spectrum, p),
                       {"format": "png", "plot_of": SPECTRUM})]


def _intro(spectrum: SimulatedSpectrum) -> str:
    spec = spectrum.spec
    return (f"Attachment {SPECTRUM} is an SEM-EDS spectrum ({spec.beam_kev:.0f} kV beam, "
            f"{spec.channel_ev:.0f} eV channels, silicon drift detector with "
            f"{spec.fwhm_mn_ka_ev:.1f} eV resolution at Mn Kα; two columns: energy in keV and "
            f"counts) and {PLOT} is a plot of it. ")


def _draw(rng: np.random.Generator, make):
    for _ in range(MAX_DRAWS):
        result = make()
        if result is not None:
            return result
    raise RuntimeError(f"no usable draw in {MAX_DRAWS} tries; the family's constraints are too tight")


def _shuffle(rng: np.random.Generator, truth: str, distractors: list[str]
             ) -> tuple[dict[str, str], str]:
    options = [truth, *distractors]
    order = rng.permutation(len(options))
    texts = {LETTERS[i]: options[k] for i, k in enumerate(order)}
    return texts, LETTERS[int(np.flatnonzero(order == 0)[0])]


def _item(item_id: str, name: str, question: str, assets: list[Asset], answer: Choice,
          reference: list[ToolCall], spectrum: SimulatedSpectrum, truth: dict) -> Item:
    spec = spectrum.spec
    return Item(id=item_id, source="generated", scale="Microscale", family=name, question=question,
                attachments=assets, answer=answer, reference=reference,
                milestones=[Milestone(tool="identify_elements", arguments={"spectrum": SPECTRUM})],
                metadata={"generator": name, "generator_version": VERSION, "truth": truth,
                          "spec": {"composition": [list(c) for c in spec.composition],
                                   "beam_kev": spec.beam_kev, "fwhm_mn_ka_ev": spec.fwhm_mn_ka_ev,
                                   "total_counts": spec.total_counts,
                                   "background_fraction": spec.background_fraction},
                          "derivation": {"rule": "sample elements = composition with Z >= 5"}})


def _identify_call() -> ToolCall:
    return ToolCall(id="call_identify_elements", name="identify_elements",
                    arguments={"spectrum": SPECTRUM})


# -- eds.elements ---------------------------------------------------------------------------

def set_text(elements: frozenset[str] | set[str]) -> str:
    """An element set as text: symbols by increasing atomic number, comma separated."""
    return ", ".join(sorted(elements, key=xraydb.atomic_number))


def _variants(rng: np.random.Generator, truth: frozenset[str], minor: str | None,
              overlap: bool) -> list[frozenset[str]]:
    """Candidate distractor sets: swaps, additions and drops (overlap partners if asked)."""
    out = []
    members = sorted(truth)
    for element in members:
        pool = [p for p in overlap_partners(element) if p not in truth] if overlap else []
        if not pool:
            pool = [e for e in DISTRACTOR_ELEMENTS if e not in truth]
        other = pool[int(rng.integers(len(pool)))]
        out.append((truth - {element}) | {other})
        out.append(truth | {other})
    if len(truth) > 1:
        out += [truth - {e} for e in members]
    if minor is not None:
        out = [truth - {minor}, *out]
    return out


def _distractor_sets(rng: np.random.Generator, truth: frozenset[str], minor: str | None,
                     overlap: bool) -> list[frozenset[str]]:
    candidates = [s for s in _variants(rng, truth, minor, overlap) if s and s != truth]
    unique = list(dict.fromkeys(candidates))
    first = unique[:1] if minor is not None else []
    rest = [s for s in unique if s not in first]
    picked = first + [rest[k] for k in rng.permutation(len(rest))[:4 - len(first)]]
    return picked if len(picked) == 4 else []


@family("eds.elements", version=VERSION)
def make_elements(item_id: str, rng: np.random.Generator, sink: ItemSink,
                  difficulty: Difficulty) -> Item:
    """Q: which set of elements (Z ≥ 5) the spectrum shows, among five.

    Truth: the elements of the simulated phase (every one with an expected main peak of at
    least 15 σ above the continuum); distractor sets add, drop or swap elements, from hard
    items on with elements whose lines overlap the true ones.

    Tolerance: exact choice; every option differs from the truth by at least one element.
    """
    phases = eds_phases()

    def draw():
        phase = phases[int(rng.integers(len(phases)))]
        composition, minor = phase.composition, None
        if difficulty == "hard" and rng.random() < 0.6 and max(
                xraydb.atomic_number(el) for el in phase.elements) < 37:
            return None  # hard items favour heavy elements (L/M lines)
        if difficulty == "medium" and rng.random() < 0.5:
            choices = [e for e in MINOR_ELEMENTS if e not in phase.elements]
            minor = choices[int(rng.integers(len(choices)))]
            x = float(rng.uniform(*MINOR_FRACTION))
            composition = tuple((el, f * (1 - x)) for el, f in composition) + ((minor, x),)
        spectrum = _spectrum(rng, composition, difficulty)
        if spectrum is None:
            return None
        truth = frozenset(el for el, _ in composition)
        distractors = _distractor_sets(rng, truth, minor, overlap=difficulty != "easy")
        return (phase, spectrum, truth, minor, distractors) if distractors else None

    phase, spectrum, truth, minor, distractors = _draw(rng, draw)
    texts, correct = _shuffle(rng, set_text(truth), [set_text(s) for s in distractors])
    listing = "\n".join(f"{letter}. {text}" for letter, text in texts.items())
    question = (_intro(spectrum) + "Which set of elements (Z ≥ 5; lighter elements give no EDS "
                "line) does the spectrum show? Count every element present, minor ones "
                f"included. Answer with the letter.\n{listing}")
    return _item(item_id, "eds.elements", question, _attach(spectrum, sink),
                 Choice(options=texts, correct=correct), [_identify_call()], spectrum,
                 {"phase": phase.key, "elements": sorted(truth), "minor_element": minor})


# -- eds.phase ------------------------------------------------------------------------------

def _close(truth: EdsPhase, other: EdsPhase) -> bool:
    """Shares an element or has an element whose lines overlap one of the truth's."""
    partners = {p for el in truth.elements for p in overlap_partners(el)}
    return bool(other.elements & truth.elements or other.elements & partners)


def _phase_distractors(rng: np.random.Generator, truth: EdsPhase, difficulty: Difficulty
                       ) -> list[EdsPhase]:
    others = [p for p in eds_phases() if p.elements != truth.elements]
    close = [p for p in others if _close(truth, p)]
    pool = others if difficulty == "easy" else close
    if difficulty == "easy":
        pool = [p for p in pool if p.elements & truth.elements] or pool
    if len(pool) < 4:
        return []
    return [pool[k] for k in rng.permutation(len(pool))[:4]]


_FORMULA_ELEMENT = re.compile(r"[A-Z][a-z]?")


@family("eds.phase", version=VERSION)
def make_phase(item_id: str, rng: np.random.Generator, sink: ItemSink,
               difficulty: Difficulty) -> Item:
    """Q: which of five candidate phases (formulas, or names only when hard) the sample is.

    Truth: the simulated phase; every option has a different set of visible elements, so the
    elements found decide it.

    Tolerance: exact choice.
    """
    phases = eds_phases()

    def draw():
        phase = phases[int(rng.integers(len(phases)))]
        if difficulty == "hard" and rng.random() < 0.5 and max(
                xraydb.atomic_number(el) for el in phase.elements) < 37:
            return None
        spectrum = _spectrum(rng, phase.composition, difficulty)
        if spectrum is None:
            return None
        distractors = _phase_distractors(rng, phase, difficulty)
        return (phase, spectrum, distractors) if distractors else None

    phase, spectrum, distractors = _draw(rng, draw)
    by_name = difficulty == "hard"
    label = (lambda p: p.name) if by_name else (lambda p: p.formula)
    texts, correct = _shuffle(rng, label(phase), [label(p) for p in distractors])
    listing = "\n".join(f"{letter}. {text}" for letter, text in texts.items())
    kind = ("by name (look up their compositions)" if by_name else "by chemical formula")
    question = (_intro(spectrum) + "The sample is a single phase, one of the candidates below "
                f"(given {kind}). Which is it? Answer with the letter.\n{listing}")
    reference = [_identify_call()]
    if by_name:
        reference += [ToolCall(id=f"call_lookup_{k}", name="lookup_crystal",
                               arguments={"query": text, "limit": 1})
                      for k, text in enumerate(texts.values())]
    return _item(item_id, "eds.phase", question, _attach(spectrum, sink),
                 Choice(options=texts, correct=correct), reference, spectrum,
                 {"phase": phase.key, "formula": phase.formula, "elements": sorted(phase.elements),
                  "options": {letter: text for letter, text in texts.items()}})
