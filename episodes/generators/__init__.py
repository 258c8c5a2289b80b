"""Generators of episodes with exact ground truth, and the presets that combine them."""

from . import _scale_bar_items  # noqa: F401  (registers the scale-bar families)
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

__all__ = ["BAR_STYLES", "FAMILIES", "NM_PER_PIXEL_RANGE", "PRESETS", "BarStyle", "Family",
           "ItemSink", "Modality", "ScaleBarDesign", "SyntheticMicrograph", "build_dataset",
           "family", "get_family", "item_rng", "random_design", "render_micrograph",
           "render_specimen", "save_micrograph", "synthesize_micrograph"]
