"""Generators of episodes with exact ground truth, and the presets that combine them."""

from . import (  # noqa: F401  (register the families)
    _cross_items,
    _cross_size_items,
    _eds_items,
    _grain_items,
    _hrtem_items,
    _scale_bar_items,
    _xrd_items,
)
from ._bar_design import BAR_STYLES, NM_PER_PIXEL_RANGE, BarStyle, ScaleBarDesign, random_design
from ._micrograph import Modality, render_specimen
from ._presets import PRESETS, build_dataset, item_rng
from ._registry import FAMILIES, Family, ItemSink, family, get_family
from ._scale_bar_render import (
    SyntheticMicrograph,
    render_micrograph,
    save_micrograph,
    synthesize_micrograph,
)
from ._xrd_pattern import (
    PatternSpec,
    SimulatedPattern,
    plot_pattern,
    random_spec,
    simulate_pattern,
    write_xy,
)

__all__ = ["BAR_STYLES", "FAMILIES", "NM_PER_PIXEL_RANGE", "PRESETS", "BarStyle", "Family",
           "ItemSink", "Modality", "PatternSpec", "ScaleBarDesign", "SimulatedPattern",
           "SyntheticMicrograph", "build_dataset", "family", "get_family", "item_rng",
           "plot_pattern", "random_design", "random_spec", "render_micrograph", "render_specimen",
           "save_micrograph", "simulate_pattern", "synthesize_micrograph", "write_xy"]
