"""Grain-size families (Mesoscale): mean intercept, ASTM G, grains per mm², phase fraction, shape.

Each item attaches one micrograph (``img0``) with a scale bar. Difficulty: easy items state the
pixel size and show an etched optical micrograph; medium ones must be calibrated from the bar
first (etched optical or SEM); hard ones must be calibrated and show SEM or EBSD band-contrast
images, whose boundaries are faint (the phase-fraction family is always etched optical: easy
states the pixel size, medium and hard do not). Truths come from the
label image by the E112 / E1382 definitions (`_grain_truth`): twin bands are not grains, the
intercept is the mean over test lines at 0°, 45°, 90° and 135°, grains per mm² is the Jeffries
count with edge grains halved.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from csmbench.episodes import Asset, Choice, Difficulty, Item, Milestone, Numeric, ToolCall

from ._grain_specimen import (
    STYLE_TEXT,
    GrainMicrograph,
    attach_grain_micrograph,
    draw_grain_micrograph,
)
from ._microstructure_render import RenderStyle
from ._registry import ItemSink, family

__all__ = ["VERSION"]

VERSION = "2"
IMAGE = "img0"
INTERCEPT_REL_TOL = 0.10
"""Mean intercept: E112 quotes about 10 % relative accuracy for a single field."""
G_ABS_TOL = 0.3
"""ASTM G: a 10 % intercept error moves G by 0.28."""
GRAINS_PER_MM2_REL_TOL = 0.12
PHASE_ABS_TOL = 0.05
"""Phase area fraction, absolute (point counting of one field reaches a few percent)."""
ELONGATED_ASPECT = (2.0, 3.5)
EQUIAXED_ASPECT = (1.0, 1.15)
SECOND_PHASE_FRACTION = (0.15, 0.5)
_SHAPES = {"equiaxed": "equiaxed (aspect ratio near 1)",
           "horizontal": "elongated, long axes roughly horizontal",
           "vertical": "elongated, long axes roughly vertical",
           "diagonal": "elongated, long axes inclined about 45° to the image edges"}
_SHAPE_ANGLES_DEG = {"horizontal": (0.0,), "vertical": (90.0,), "diagonal": (45.0, 135.0)}
Shape = Literal["equiaxed", "horizontal", "vertical", "diagonal"]


def _intro(drawn: GrainMicrograph, given: bool) -> str:
    text = f"Attachment {IMAGE} is {STYLE_TEXT[drawn.style]} of a polycrystalline alloy"
    if given:
        nm = drawn.micrograph.nm_per_pixel
        return f"{text}; its pixel size is {nm:.5g} nm ({nm / 1000:.5g} µm per pixel). "
    return f"{text}, with a scale bar (calibrate it first). "


def _calls(drawn: GrainMicrograph, given: bool, method: str = "intercept") -> list[ToolCall]:
    calls = [] if given else [ToolCall(id="call_0", name="calibrate_scale_bar",
                                       arguments={"image": IMAGE})]
    arguments = {"image": IMAGE, "nm_per_pixel": drawn.micrograph.nm_per_pixel, "method": method}
    return [*calls, ToolCall(id=f"call_{len(calls)}", name="estimate_grain_size",
                             arguments=arguments)]


def _truth_record(drawn: GrainMicrograph) -> dict:
    t = drawn.truth
    return {"um_per_px": t.um_per_px, "mean_intercept_um": t.mean_intercept_um,
            "intercept_by_direction_um": list(t.intercept_by_direction_um),
            "grains_per_mm2": t.grains_per_mm2, "g_intercept": t.g_intercept,
            "g_planimetric": t.g_planimetric, "n_grains": t.n_grains,
            "ecd_mean_um": t.ecd_mean_um, "mean_aspect_ratio": t.mean_aspect_ratio,
            "second_phase_fraction": t.second_phase_fraction}


def _spec_record(drawn: GrainMicrograph) -> dict:
    spec = drawn.structure.spec
    return {**{k: getattr(spec, k) for k in spec.__dataclass_fields__}, "style": drawn.style,
            "bar_style": drawn.micrograph.design.style}


def _item(item_id: str, name: str, drawn: GrainMicrograph, given: bool, question: str,
          answer, asset: Asset, method: str = "intercept", **derivation) -> Item:
    calls = _calls(drawn, given, method)
    milestones = [Milestone(tool=c.name, arguments={k: v for k, v in c.arguments.items()
                                                     if k in ("image", "nm_per_pixel")})
                  for c in calls]
    return Item(id=item_id, source="generated", scale="Mesoscale", family=name,
                question=question, attachments=[asset], answer=answer, reference=calls,
                milestones=milestones,
                metadata={"generator": name, "generator_version": VERSION,
                          "pixel_size_given": given, "spec": _spec_record(drawn),
                          "truth": _truth_record(drawn), "derivation": derivation})


_STYLES: dict[Difficulty, tuple[RenderStyle, ...]] = {
    "easy": ("etched_optical",), "medium": ("etched_optical", "sem"),
    "hard": ("sem", "ebsd_band_contrast")}
"""Rendering styles of each difficulty: dark etched boundaries are the easiest to segment."""


def _style(rng: np.random.Generator, difficulty: Difficulty) -> RenderStyle:
    styles = _STYLES[difficulty]
    return styles[int(rng.integers(len(styles)))]


def _given(difficulty: Difficulty) -> bool:
    """Whether the question states the pixel size (easy items only)."""
    return difficulty == "easy"


def _single_phase(rng: np.random.Generator, difficulty: Difficulty) -> GrainMicrograph:
    """A one-phase micrograph, equiaxed or mildly elongated."""
    aspect = float(rng.uniform(1.0, 2.0)) if rng.random() < 0.3 else 1.0
    drawn, _ = draw_grain_micrograph(rng, style=_style(rng, difficulty), aspect_ratio=aspect,
                                     elongation_deg=float(rng.uniform(0.0, 180.0)))
    return drawn


@family("grains.mean_intercept", version=VERSION)
def make_mean_intercept(item_id: str, rng: np.random.Generator, sink: ItemSink,
                        difficulty: Difficulty) -> Item:
    """Q: the mean lineal intercept length, µm.

    Truth: 1 / mean P_L over test lines at 0°, 45°, 90° and 135° across the label image
    (twin bands are not grains), times the exact pixel size.

    Tolerance: 10 % relative, the relative accuracy ASTM E112 quotes for a single field.
    """
    drawn, given = _single_phase(rng, difficulty), _given(difficulty)
    question = (_intro(drawn, given) + "What is the mean lineal intercept length of its grains "
                "(ASTM E112 / E1382: test lines in several directions; annealing-twin boundaries "
                "are not grain boundaries), in µm?")
    answer = Numeric(value=drawn.truth.mean_intercept_um, unit="µm", rel_tol=INTERCEPT_REL_TOL)
    return _item(item_id, "grains.mean_intercept", drawn, given, question, answer,
                 attach_grain_micrograph(drawn, sink, rng), rule="1 / mean of P_L over 0°, 45°, 90°, 135°")


@family("grains.astm_g", version=VERSION)
def make_astm_g(item_id: str, rng: np.random.Generator, sink: ItemSink,
                difficulty: Difficulty) -> Item:
    """Q: the ASTM E112 grain size number G, from the intercept or the planimetric count.

    Truth: G = −6.643856 log10(ℓ/mm) − 3.288 from the true intercept, or G = 3.321928
    log10(N_A/mm⁻²) − 2.954 from the true Jeffries count, as the question asks.

    Tolerance: ±0.3 in G: a 10 % intercept error moves G by 0.28.
    """
    drawn, given = _single_phase(rng, difficulty), _given(difficulty)
    method = "intercept" if rng.random() < 0.5 else "planimetric"
    if method == "intercept":
        how = ("from the mean lineal intercept ℓ (intercept procedure: "
               "G = −6.643856 log10(ℓ / mm) − 3.288)")
        value = drawn.truth.g_intercept
    else:
        how = ("from the number of grains per mm², N_A (Jeffries planimetric procedure: "
               "G = 3.321928 log10(N_A / mm⁻²) − 2.954)")
        value = drawn.truth.g_planimetric
    question = (_intro(drawn, given) + f"What is its ASTM E112 grain size number G, {how}? "
                "Annealing-twin boundaries are not grain boundaries. Give G to one decimal.")
    answer = Numeric(value=value, unit="", abs_tol=G_ABS_TOL, rel_tol=0.0)
    return _item(item_id, "grains.astm_g", drawn, given, question, answer,
                 attach_grain_micrograph(drawn, sink, rng), method=method, method_asked=method)


@family("grains.per_mm2", version=VERSION)
def make_grains_per_mm2(item_id: str, rng: np.random.Generator, sink: ItemSink,
                        difficulty: Difficulty) -> Item:
    """Q: the number of grains per mm² (Jeffries planimetric count).

    Truth: (grains inside + grains cut by the frame / 2 + 1) / field area, from the label
    image (E112 Jeffries count).

    Tolerance: 12 % relative: the counting error of a few hundred grains in one field plus
    the edge-grain convention.
    """
    drawn, given = _single_phase(rng, difficulty), _given(difficulty)
    question = (_intro(drawn, given) + "How many grains per square millimetre does the section "
                "show (ASTM E112 planimetric procedure: grains cut by the field edge count "
                "half)? Answer in grains/mm².")
    answer = Numeric(value=drawn.truth.grains_per_mm2, unit="1/mm^2",
                     rel_tol=GRAINS_PER_MM2_REL_TOL)
    return _item(item_id, "grains.per_mm2", drawn, given, question, answer,
                 attach_grain_micrograph(drawn, sink, rng), method="planimetric",
                 rule="(N_inside + N_intercepted / 2 + 1) / area")


@family("grains.phase_fraction", version=VERSION)
def make_phase_fraction(item_id: str, rng: np.random.Generator, sink: ItemSink,
                        difficulty: Difficulty) -> Item:
    """Q: the area fraction of the darker or the lighter phase of a two-phase alloy.

    Truth: the pixel fraction of the second phase in the label image (the darker phase is
    read from the rendered tones).

    Tolerance: ±0.05 absolute: point counting of one field reaches a few percent.
    """
    fraction = float(rng.uniform(*SECOND_PHASE_FRACTION))
    drawn, specimen = draw_grain_micrograph(rng, style="etched_optical",
                                            second_phase_fraction=fraction)
    given = _given(difficulty)
    asked = "darker" if rng.random() < 0.5 else "lighter"
    darker = drawn.darker_phase(specimen)
    phase2 = drawn.structure.second_phase_fraction
    value = phase2 if (darker == 2) == (asked == "darker") else 1.0 - phase2
    question = (_intro(drawn, given) + "The alloy has two phases whose grains etch to "
                f"different grey levels. What area fraction of the section does the {asked} "
                "phase occupy? Answer as a fraction between 0 and 1.")
    answer = Numeric(value=value, unit="", abs_tol=PHASE_ABS_TOL, rel_tol=0.0)
    return _item(item_id, "grains.phase_fraction", drawn, given, question, answer,
                 attach_grain_micrograph(drawn, sink, rng), phase_asked=asked, darker_phase=darker)


def _draw_shape(rng: np.random.Generator) -> tuple[Shape, float, float]:
    shape: Shape = ("equiaxed", "horizontal", "vertical", "diagonal")[int(rng.integers(4))]
    if shape == "equiaxed":
        return shape, float(rng.uniform(*EQUIAXED_ASPECT)), float(rng.uniform(0.0, 180.0))
    base = float(rng.choice(_SHAPE_ANGLES_DEG[shape]))
    return shape, float(rng.uniform(*ELONGATED_ASPECT)), base + float(rng.uniform(-8.0, 8.0))


@family("grains.shape", version=VERSION)
def make_shape(item_id: str, rng: np.random.Generator, sink: ItemSink,
               difficulty: Difficulty) -> Item:
    """Q: equiaxed or elongated grains, and along which direction (multiple choice).

    Truth: the drawn shape: equiaxed (aspect 1.0-1.15) or elongated (aspect 2-3.5) within 8°
    of horizontal, vertical or a diagonal.

    Tolerance: exact choice; the classes are separated by a wide aspect-ratio gap.
    """
    shape, aspect, angle = _draw_shape(rng)
    drawn, _ = draw_grain_micrograph(rng, style=_style(rng, difficulty), aspect_ratio=aspect,
                                     elongation_deg=angle % 180.0)
    given = _given(difficulty)
    order = [list(_SHAPES)[k] for k in rng.permutation(len(_SHAPES))]
    options = {letter: _SHAPES[key] for letter, key in zip("ABCD", order, strict=True)}
    correct = "ABCD"[order.index(shape)]
    listing = "\n".join(f"{letter}. {text}" for letter, text in options.items())
    question = (_intro(drawn, given) + "Are its grains equiaxed or elongated, as after rolling? "
                f"Answer with the letter.\n{listing}")
    return _item(item_id, "grains.shape", drawn, given, question,
                 Choice(options=options, correct=correct), attach_grain_micrograph(drawn, sink, rng),
                 shape=shape, aspect_ratio=aspect, elongation_deg=angle % 180.0)
