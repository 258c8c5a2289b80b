"""HRTEM lattice-fringe families (AtomScale): the largest resolved d-spacing, and the phase.

Each item attaches one 512 x 512 px lattice image (``img0``, `_hrtem_image`) of a real crystal
from the curated table viewed down a low-index zone axis, with a TEM scale bar of 1, 2 or 5 nm
(0.01-0.05 nm/px). The phase and zone are never named in the question.

Difficulty:
- easy: the pixel size is stated in the question; clean, high-contrast image;
- medium: the pixel size must be read off the scale bar first (``calibrate_scale_bar``);
- hard: scale bar, and a low-dose, low-contrast image on a thicker amorphous film; for
  ``hrtem.phase`` the candidates are named only, so their lattices need ``lookup_crystal``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from csmbench.episodes import Asset, Choice, Difficulty, Item, Milestone, Numeric, ToolCall
from csmbench.tools._curated_phases import PHASES_BY_KEY

from ._bar_design import BarStyle, random_design
from ._hrtem_image import (
    HRTEM_PHASES,
    LatticeImageSpec,
    RenderedLattice,
    Spot,
    render_lattice,
    zolz_reflections,
)
from ._registry import ItemSink, family
from ._scale_bar_render import (
    SyntheticMicrograph,
    legible_design,
    render_micrograph,
    save_micrograph,
)

__all__ = ["VERSION", "draw_lattice_micrograph", "resolved_spots"]

VERSION = "1"
IMAGE = "img0"
SIDE_PX = 512
"""Image side, px (a 512² FFT locates a spot to ~0.1 % of its frequency)."""
BAR_VALUES_NM = (1, 2, 5)
BAR_LENGTH_PX = (52, 179)
"""Bar length: 10-35 % of the image width, as the shared bar designs draw it."""
NM_PER_PIXEL_RANGE = (0.01, 0.05)
"""Pixel sizes of HRTEM images, nm/px."""
MIN_PERIOD_PX = 7.0
"""The largest spacing spans at least this many pixels (a well-sampled fringe)."""
MIN_TRANSFER_PX = 3.2
"""No reflection finer than this many pixels is transferred (well above the 2 px Nyquist)."""
RESOLVED_FRACTION = 0.12
"""A reflection is resolved when its image amplitude is at least this share of the strongest;
with the doses used, that is a spot at least ~15x above the FFT noise floor."""
AMBIGUOUS_FRACTION = (0.01, RESOLVED_FRACTION)
"""Items with a larger-d reflection between these shares are redrawn (neither clearly seen
nor clearly absent)."""
D_REL_TOL = 0.03
"""Largest d: the FFT locates a spot to ~0.5 %; the scale bar, read to ±1 px over 52-179 px,
adds up to 2 %."""
INDEX_D_TOL = 0.03
"""Phase check: a measured d matches a reflection within 3 % (calibration plus FFT)."""
INDEX_RATIO_TOL = 0.012
"""Phase check: the ratio of two measured d (free of the calibration) matches within 1.2 %."""
INDEX_ANGLE_TOL_DEG = 1.5
"""Phase check: a measured plane angle matches within 1.5° (FFT spots locate to ~0.3°)."""
DISTRACTOR_MARGIN = 1.5
"""Distractors must fail the check even at 1.5 x the tolerances."""
MAX_INDEX_SUM = 24
"""Reflections h²+k²+l² up to this are considered for indexing (d down to a/4.9)."""
MAX_DRAWS = 40
BAR_STYLES: tuple[BarStyle, ...] = ("fei", "overlay")
BAR_STYLE_WEIGHTS = (0.7, 0.3)
"""TEM bar styles: an FEI databar or a boxed overlay. JEOL-style strips are left out: at 512 px
their small monospaced "2 nm" labels are misread by calibrate_scale_bar (~15 % of them);
boxed overlays over fringes still fail ~4 %, so they are the minority."""
OVERLAY_FONT_SCALE = 1.25
"""Overlay labels are drawn this much larger than the shared designs on a 512 px frame (HRTEM
bars carry short labels such as "2 nm"; small ones over fringes defeat OCR)."""
_STRUCTURE_TYPE = {"si": "diamond", "ge": "diamond", "nacl": "rock salt", "caf2": "fluorite",
                   "cu": "fcc", "fe-alpha": "bcc", "srtio3": "cubic perovskite",
                   "cscl": "CsCl type", "gaas": "zinc blende", "mgal2o4": "spinel"}
_PROTOTYPE_OF = {**dict.fromkeys(("ge",), "si"),
                 **dict.fromkeys(("gap", "inp", "inas", "cdte", "znse", "zns-sphalerite",
                                  "sic-3c"), "gaas"),
                 **dict.fromkeys(("lif", "mgo", "cao", "nio", "pbs", "tin", "tic", "zrc", "agcl"),
                                 "nacl"),
                 **dict.fromkeys(("ceo2", "uo2", "zro2-cubic", "baf2"), "caf2"),
                 **dict.fromkeys(("al", "ag", "au", "pt", "pd", "ni", "pb", "fe-gamma"), "cu"),
                 **dict.fromkeys(("cr", "w", "mo", "nb", "ta"), "fe-alpha"),
                 **dict.fromkeys(("batio3-cubic",), "srtio3"), "nial": "cscl",
                 "fe3o4": "mgal2o4"}
CUBIC_KEYS = tuple(k for k in HRTEM_PHASES if PHASES_BY_KEY[k].lattice[0] ==
                   PHASES_BY_KEY[k].lattice[2])


def structure_type(key: str) -> str:
    """Prototype name of a cubic phase, e.g. "rock salt"."""
    return _STRUCTURE_TYPE[_PROTOTYPE_OF.get(key, key)]


# --- drawing ---------------------------------------------------------------------------------


def _pixel_size(rng: np.random.Generator, largest_d_a: float) -> tuple[int, int, float]:
    """(bar value nm, bar length px, nm/px) with the largest spacing >= MIN_PERIOD_PX px."""
    top = min(NM_PER_PIXEL_RANGE[1], largest_d_a / 10.0 / MIN_PERIOD_PX)
    choices = [(v, n) for v in BAR_VALUES_NM for n in range(BAR_LENGTH_PX[0], BAR_LENGTH_PX[1] + 1)
               if NM_PER_PIXEL_RANGE[0] <= v / n <= top]
    values = sorted({v for v, _ in choices})
    value = values[int(rng.integers(len(values)))]
    lengths = [n for v, n in choices if v == value]
    length = lengths[int(rng.integers(len(lengths)))]
    return value, length, value / length


def _spec(rng: np.random.Generator, key: str, zone: tuple[int, int, int],
          difficulty: Difficulty, nm_per_pixel: float) -> LatticeImageSpec:
    hard = difficulty == "hard"
    haadf = bool(rng.random() < 0.4)
    return LatticeImageSpec(
        key=key, zone=zone, nm_per_pixel=nm_per_pixel,
        rotation_deg=float(rng.uniform(0.0, 180.0)),
        sigma_angstrom=float(rng.uniform(0.35, 0.6)),
        info_limit_angstrom=max(float(rng.uniform(1.0, 1.5)), MIN_TRANSFER_PX * nm_per_pixel * 10),
        z_exponent=1.7 if haadf else 1.0, bright_atoms=haadf,
        contrast=float(rng.uniform(0.2, 0.35) if hard else rng.uniform(0.35, 0.6)),
        dose=float(rng.uniform(100.0, 250.0) if hard else rng.uniform(300.0, 1000.0)),
        film=float(rng.uniform(0.04, 0.08) if hard else rng.uniform(0.02, 0.04)),
        background=float(rng.uniform(0.05, 0.2)))


def resolved_spots(spots: tuple[Spot, ...]) -> list[Spot] | None:
    """The resolved reflections, or None when a larger-d one is ambiguous (redraw)."""
    resolved = [s for s in spots if s.amplitude >= RESOLVED_FRACTION]
    if not resolved:
        return None
    largest = max(s.d_angstrom for s in resolved)
    low, high = AMBIGUOUS_FRACTION
    if any(low <= s.amplitude < high and s.d_angstrom > largest * (1 + D_REL_TOL)
           for s in spots):
        return None
    return resolved


def _largest_possible_d(key: str, zone: tuple[int, int, int]) -> float:
    """Largest strongly transferred spacing of a zone at a 1 Å information limit, Å."""
    probe = LatticeImageSpec(key, zone, 0.02, 0.0, 0.4, 1.0, 1.0, True, 0.5, 100, 0, 0)
    zolz = zolz_reflections(probe)
    strong = np.abs(zolz.coefficient) >= RESOLVED_FRACTION * np.abs(zolz.coefficient).max()
    return float(1.0 / np.linalg.norm(zolz.g[strong], axis=1).min())


def draw_lattice_micrograph(
    rng: np.random.Generator, difficulty: Difficulty, keys: tuple[str, ...] | None = None,
) -> tuple[SyntheticMicrograph, RenderedLattice, LatticeImageSpec, list[Spot]]:
    """A lattice image with a scale bar, its spec and its resolved reflections.

    Args:
        rng: Source of randomness.
        difficulty: Sets contrast, dose and film (hard: noisier).
        keys: Phases to draw from (default: every phase of ``HRTEM_PHASES``).
    """
    pool = keys or tuple(HRTEM_PHASES)
    for _ in range(MAX_DRAWS):
        key = pool[int(rng.integers(len(pool)))]
        zones = HRTEM_PHASES[key]
        zone = zones[int(rng.integers(len(zones)))]
        value, length, nm_per_pixel = _pixel_size(rng, _largest_possible_d(key, zone))
        spec = _spec(rng, key, zone, difficulty, nm_per_pixel)
        lattice = render_lattice(spec, (SIDE_PX, SIDE_PX), rng)
        resolved = resolved_spots(lattice.spots)
        if resolved is not None:
            break
    else:
        raise RuntimeError("no unambiguous lattice image in MAX_DRAWS draws")
    style = BAR_STYLES[int(rng.choice(len(BAR_STYLES), p=BAR_STYLE_WEIGHTS))]
    design = replace(random_design(rng, width_px=SIDE_PX, modality="tem", style=style),
                     value=float(value), unit="nm", unit_text="nm", length_px=length)
    if design.style == "overlay":  # a bare label over lattice fringes is hard to read
        design = replace(design, backing_box=True,
                         font_px=round(design.font_px * OVERLAY_FONT_SCALE))
    micrograph = render_micrograph(lattice.pixels, legible_design(design, lattice.pixels), "tem")
    return micrograph, lattice, spec, resolved


# --- phase candidates ------------------------------------------------------------------------


def _centering_allows(letter: str, hkl: tuple[int, int, int]) -> bool:
    h, k, l = hkl
    if letter == "F":
        return len({h % 2, k % 2, l % 2}) == 1
    if letter == "I":
        return (h + k + l) % 2 == 0
    return True


def cubic_reflections(a: float, letter: str) -> list[tuple[tuple[int, int, int], float]]:
    """(hkl, d Å) of a cubic lattice allowed by its centering, one per ±hkl, N <= MAX_INDEX_SUM."""
    r = range(-5, 6)
    out = []
    for hkl in itertools.product(r, r, r):
        n = sum(v * v for v in hkl)
        if 0 < n <= MAX_INDEX_SUM and hkl > tuple(-v for v in hkl) and _centering_allows(letter,
                                                                                         hkl):
            out.append((hkl, a / math.sqrt(n)))
    return out


def _plane_angle(p: tuple[int, int, int], q: tuple[int, int, int]) -> float:
    cos = abs(np.dot(p, q)) / (np.linalg.norm(p) * np.linalg.norm(q))
    return math.degrees(math.acos(min(cos, 1.0)))


def indexes_pair(a: float, letter: str, d1: float, d2: float, angle_deg: float,
                 scale: float = 1.0) -> bool:
    """Whether a cubic lattice has two reflections with these d's and plane angle."""
    table = cubic_reflections(a, letter)
    first = [h for h, d in table if abs(d / d1 - 1) <= scale * INDEX_D_TOL]
    second = [(h, d) for h, d in table if abs(d / d2 - 1) <= scale * INDEX_D_TOL]
    ratio = d1 / d2
    for p in first:
        d_p = a / math.sqrt(sum(v * v for v in p))
        for q, d_q in second:
            if (abs((d_p / d_q) / ratio - 1) <= scale * INDEX_RATIO_TOL
                    and abs(_plane_angle(p, q) - angle_deg) <= scale * INDEX_ANGLE_TOL_DEG):
                return True
    return False


def _pairs(spots: list[Spot]) -> list[tuple[float, float, float]]:
    """(d1, d2, acute plane angle) of every non-parallel pair of spots."""
    out = []
    for s, t in itertools.combinations(spots, 2):
        diff = abs(s.angle_deg - t.angle_deg) % 180.0
        acute = min(diff, 180.0 - diff)
        if acute > 2.0:
            out.append((s.d_angstrom, t.d_angstrom, acute))
    return out


def _lattice_letter(key: str) -> str:
    return PHASES_BY_KEY[key].setting[0]


def _distractors(rng: np.random.Generator, key: str, spots: list[Spot]) -> list[str]:
    """Three cubic phases that cannot index any pair of the resolved spots."""
    pairs = _pairs(spots)
    pool = [k for k in CUBIC_KEYS if k != key
            and PHASES_BY_KEY[k].formula != PHASES_BY_KEY[key].formula]
    chosen: list[str] = []
    for index in rng.permutation(len(pool)):
        other = pool[int(index)]
        phase = PHASES_BY_KEY[other]
        if any(indexes_pair(phase.lattice[0], _lattice_letter(other), *p, DISTRACTOR_MARGIN)
               for p in pairs):
            continue
        chosen.append(other)
        if len(chosen) == 3:
            return chosen
    raise RuntimeError(f"fewer than 3 distractors for {key}")


def _option_text(key: str, difficulty: Difficulty) -> str:
    phase = PHASES_BY_KEY[key]
    if difficulty == "hard":
        return f"{phase.formula} ({phase.names[0]})"
    return (f"{phase.formula} ({phase.names[0]}; {structure_type(key)}, {phase.setting}, "
            f"a = {phase.lattice[0]:.4f} Å)")


# --- items -----------------------------------------------------------------------------------


def _attach(micrograph: SyntheticMicrograph, sink: ItemSink, rng: np.random.Generator) -> Asset:
    fmt, suffix = ("tiff", ".tif") if rng.random() < 0.2 else ("png", ".png")
    height, width = micrograph.pixels.shape
    return sink.asset(IMAGE, "image", suffix,
                      lambda path: save_micrograph(micrograph, Path(path), fmt),
                      meta={"format": fmt, "width_px": width, "height_px": height,
                            "modality": "tem"})


def _intro(micrograph: SyntheticMicrograph, difficulty: Difficulty) -> str:
    text = ("Attachment img0 is a high-resolution TEM lattice image of a crystal viewed down a "
            "low-index zone axis")
    if difficulty == "easy":
        return f"{text}; its pixel size is {micrograph.nm_per_pixel:.6g} nm per pixel. "
    return f"{text}, with a scale bar (calibrate it first). "


def _calls(micrograph: SyntheticMicrograph, difficulty: Difficulty,
           candidates: list[str]) -> list[ToolCall]:
    calls = [] if difficulty == "easy" else [
        ToolCall(id="call_0", name="calibrate_scale_bar", arguments={"image": IMAGE})]
    calls.append(ToolCall(id=f"call_{len(calls)}", name="measure_lattice_spacing",
                          arguments={"image": IMAGE, "nm_per_pixel": micrograph.nm_per_pixel}))
    for name in candidates:
        calls.append(ToolCall(id=f"call_{len(calls)}", name="lookup_crystal",
                              arguments={"query": name}))
    return calls


def _milestones(calls: list[ToolCall]) -> list[Milestone]:
    out: list[Milestone] = []
    for call in calls:
        if call.name == "lookup_crystal":
            continue
        after = [0] if call.name == "measure_lattice_spacing" and out else []
        out.append(Milestone(tool=call.name, arguments=dict(call.arguments), after=after))
    return out


def _item(item_id: str, name: str, question: str, answer, asset: Asset, calls: list[ToolCall],
          micrograph: SyntheticMicrograph, spec: LatticeImageSpec, resolved: list[Spot],
          **derivation) -> Item:
    truth = {"phase": spec.key, "zone": list(spec.zone), "nm_per_pixel": micrograph.nm_per_pixel,
             "resolved": [{"hkl": list(s.hkl), "d_angstrom": s.d_angstrom,
                           "angle_deg": s.angle_deg, "amplitude": round(s.amplitude, 4)}
                          for s in resolved]}
    spec_record = {k: getattr(spec, k) for k in spec.__dataclass_fields__}
    spec_record["zone"] = list(spec.zone)
    return Item(id=item_id, source="generated", scale="AtomScale", family=name,
                question=question, attachments=[asset], answer=answer, reference=calls,
                milestones=_milestones(calls),
                metadata={"generator": name, "generator_version": VERSION,
                          "spec": {**spec_record, "bar_style": micrograph.design.style},
                          "truth": truth, "derivation": derivation})


@family("hrtem.d_spacing", version=VERSION)
def make_d_spacing(item_id: str, rng: np.random.Generator, sink: ItemSink,
                   difficulty: Difficulty) -> Item:
    """Q: the largest lattice-plane spacing resolved in the image, Å.

    Truth: d = a/√(h² + k² + l²) of the largest-d reflection of the zone (hkl·uvw = 0,
    allowed by the lattice centring) whose amplitude is at least 12 % of the strongest;
    images with a reflection between 1 % and 12 % are redrawn, so none is borderline.

    Tolerance: 3 % relative: the FFT locates a spot to about 0.5 % and reading the bar to
    ±1 px over 52-179 px adds up to 2 %.
    """
    micrograph, _, spec, resolved = draw_lattice_micrograph(rng, difficulty)
    largest = max(resolved, key=lambda s: s.d_angstrom)
    question = (_intro(micrograph, difficulty) + "What is the largest lattice-plane spacing "
                "resolved in the image (the spacing of the widest-spaced set of lattice "
                "fringes), in Å?")
    answer = Numeric(value=largest.d_angstrom, unit="Å", rel_tol=D_REL_TOL)
    return _item(item_id, "hrtem.d_spacing", question, answer, _attach(micrograph, sink, rng),
                 _calls(micrograph, difficulty, []), micrograph, spec, resolved,
                 hkl=list(largest.hkl), rule="d = 1 / |g| of the resolved reflection nearest "
                 "the origin of the FFT")


@family("hrtem.phase", version=VERSION)
def make_phase(item_id: str, rng: np.random.Generator, sink: ItemSink,
               difficulty: Difficulty) -> Item:
    """Q: which of four cubic phases the lattice image shows (multiple choice).

    Truth: the simulated phase; distractors are cubic phases that cannot index any pair of
    the resolved spots (both d-spacings and their angle) even at 1.5 times the matching
    tolerances.

    Tolerance: exact choice.
    """
    micrograph, _, spec, resolved = draw_lattice_micrograph(rng, difficulty, CUBIC_KEYS)
    keys = [spec.key, *_distractors(rng, spec.key, resolved)]
    order = [keys[int(i)] for i in rng.permutation(4)]
    options = {letter: _option_text(key, difficulty)
               for letter, key in zip("ABCD", order, strict=True)}
    listing = "\n".join(f"{letter}. {text}" for letter, text in options.items())
    hint = (" Look up the candidates' lattices." if difficulty == "hard" else "")
    question = (_intro(micrograph, difficulty) + "Measure its lattice-plane spacings and the "
                "angles between the planes: which of these cubic phases is it?" + hint +
                f" Answer with the letter.\n{listing}")
    lookups = [PHASES_BY_KEY[k].names[0] for k in order] if difficulty == "hard" else []
    return _item(item_id, "hrtem.phase", question,
                 Choice(options=options, correct="ABCD"[order.index(spec.key)]),
                 _attach(micrograph, sink, rng), _calls(micrograph, difficulty, lookups),
                 micrograph, spec, resolved, candidates=order,
                 rule="the candidate whose allowed reflections index the measured d's and angles")
