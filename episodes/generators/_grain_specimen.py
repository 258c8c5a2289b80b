"""Grain micrographs for the grain-size families: a microstructure, its rendering and its truth.

A draw picks the micrograph's width, a scale-bar design (which fixes the pixel size), a
microstructure in pixels and a rendering style; the truth is computed from the label image
(`_grain_truth`), never from the rendering. The scale bar is drawn by the foundation's
renderer, as an overlay in a corner or in a databar strip below the specimen.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from csmbench.episodes import Asset

from ._bar_design import ScaleBarDesign, random_design
from ._grain_truth import GrainTruth, grain_truth
from ._microstructure import Microstructure, MicrostructureSpec, generate_microstructure
from ._microstructure_render import RenderStyle, microstructure_specimen
from ._registry import ItemSink
from ._scale_bar_render import (
    SyntheticMicrograph,
    legible_design,
    render_micrograph,
    save_micrograph,
)

__all__ = ["GRAIN_SIZE_PX", "STYLE_MODALITY", "GrainMicrograph", "attach_grain_micrograph",
           "darker_phase", "draw_grain_micrograph"]

STYLE_MODALITY = {"etched_optical": "optical", "sem": "sem", "ebsd_band_contrast": "sem"}
"""The microscope each rendering style stands for (it sets the plausible pixel sizes)."""
STYLE_TEXT = {"etched_optical": "an etched optical (bright-field) micrograph",
              "sem": "an SEM channelling-contrast (backscattered-electron) micrograph",
              "ebsd_band_contrast": "an EBSD band-contrast map"}
WIDTH_PX = (768, 1024)
HEIGHT_FRACTION = (0.7, 0.8)
GRAIN_SIZE_PX = (20.0, 48.0)
"""E112 average grain diameter sqrt(mean area), px: large enough to segment, small enough
for a few hundred grains per field."""
MIN_ACROSS_PX = 16.0
"""Elongated grains stay at least this wide across their long axis, px."""
MIN_SEM_NM_PER_PX = 50.0
"""SEM grain images of metals: pixel sizes below this would mean nanocrystals."""
TWIN_PROBABILITY = 0.4
"""Share of etched optical structures with annealing twins (visible as straight lines)."""


@dataclass(frozen=True)
class GrainMicrograph:
    """A drawn grain micrograph with its exact truth.

    Attributes:
        micrograph: The image (uint8) with its scale bar and exact pixel size.
        structure: The microstructure (labels, twins, phases).
        truth: E112 truth of ``structure.labels`` at the micrograph's pixel size.
        style: Rendering style.
    """

    micrograph: SyntheticMicrograph
    structure: Microstructure
    truth: GrainTruth
    style: RenderStyle

    @property
    def um_per_px(self) -> float:
        return self.micrograph.nm_per_pixel / 1000.0

    def darker_phase(self, specimen: np.ndarray) -> int:
        """Which phase (1 or 2) renders darker in ``specimen``."""
        return darker_phase(specimen, self.structure.phase_map)


def darker_phase(specimen: np.ndarray, phase_map: np.ndarray) -> int:
    """Which phase (1 or 2) of ``phase_map`` has the lower mean grey in ``specimen``."""
    second = phase_map == 2
    return 2 if specimen[second].mean() < specimen[~second].mean() else 1


def _design(rng: np.random.Generator, width: int, style: RenderStyle,
            nm_per_pixel_range: tuple[float, float] | None = None) -> ScaleBarDesign:
    """A bar design of the style's modality; its pixel size within ``nm_per_pixel_range``
    (nm/px) when given, else not below ``MIN_SEM_NM_PER_PX`` for SEM styles."""
    modality = STYLE_MODALITY[style]
    while True:
        design = random_design(rng, width_px=width, modality=modality)
        if nm_per_pixel_range is not None:
            if nm_per_pixel_range[0] <= design.nm_per_pixel <= nm_per_pixel_range[1]:
                return design
        elif modality != "sem" or design.nm_per_pixel >= MIN_SEM_NM_PER_PX:
            return design


def _spec(rng: np.random.Generator, shape: tuple[int, int], style: RenderStyle, *,
          aspect_ratio: float, elongation_deg: float, second_phase_fraction: float
          ) -> MicrostructureSpec:
    low = max(GRAIN_SIZE_PX[0], MIN_ACROSS_PX * np.sqrt(aspect_ratio))
    grain_px = float(np.exp(rng.uniform(np.log(low), np.log(GRAIN_SIZE_PX[1]))))
    laguerre = rng.random() < 0.5
    twins = style == "etched_optical" and rng.random() < TWIN_PROBABILITY
    return MicrostructureSpec(
        height_px=shape[0], width_px=shape[1], grain_size_px=grain_px,
        tessellation="laguerre" if laguerre else "voronoi",
        size_sigma=float(rng.uniform(0.1, 0.4)) if laguerre else 0.0,
        aspect_ratio=aspect_ratio, elongation_deg=elongation_deg,
        twin_fraction=float(rng.uniform(0.1, 0.3)) if twins else 0.0,
        second_phase_fraction=second_phase_fraction)


def draw_grain_micrograph(
    rng: np.random.Generator,
    *,
    style: RenderStyle | None = None,
    aspect_ratio: float = 1.0,
    elongation_deg: float = 0.0,
    second_phase_fraction: float = 0.0,
    nm_per_pixel_range: tuple[float, float] | None = None,
) -> tuple[GrainMicrograph, np.ndarray]:
    """Draw a grain micrograph; the same generator state gives the same one.

    Args:
        rng: Source of randomness.
        style: Rendering style; None draws one of the three.
        aspect_ratio: Grain stretch (1 = equiaxed).
        elongation_deg: Stretch direction, degrees counterclockwise from +x.
        second_phase_fraction: Target area fraction of phase 2 (0 = one phase).
        nm_per_pixel_range: Pixel sizes (nm/px) the scale bar may have, e.g. (1, 5) for
            nanocrystalline grains; it must overlap the style's modality range. None keeps
            the modality's range (SEM styles not below ``MIN_SEM_NM_PER_PX``).

    Returns:
        The micrograph with its truth, and the float specimen image in [0, 1] (before the
        scale bar) from which phase tones can be read.
    """
    if style is None:
        style = ("etched_optical", "sem", "ebsd_band_contrast")[int(rng.integers(3))]
    width = int(rng.integers(WIDTH_PX[0], WIDTH_PX[1] + 1))
    height = round(width * rng.uniform(*HEIGHT_FRACTION))
    design = _design(rng, width, style, nm_per_pixel_range)
    spec = _spec(rng, (height, width), style, aspect_ratio=aspect_ratio,
                 elongation_deg=elongation_deg, second_phase_fraction=second_phase_fraction)
    structure = generate_microstructure(spec, rng)
    phases = structure.grain_phase if second_phase_fraction > 0 else None
    specimen = microstructure_specimen(structure.labels, style, rng, twins=structure.twins,
                                       grain_phase=phases)
    micrograph = render_micrograph(specimen, legible_design(design, specimen),
                                   STYLE_MODALITY[style])
    truth = grain_truth(structure.labels, design.nm_per_pixel / 1000.0, grain_phase=phases)
    return GrainMicrograph(micrograph, structure, truth, style), specimen


TIFF_SHARE = 0.2
"""Share of grain micrographs saved as TIFF (the rest PNG)."""


def attach_grain_micrograph(drawn: GrainMicrograph, sink: ItemSink, rng: np.random.Generator,
                            asset_id: str = "img0") -> Asset:
    """Save the micrograph as PNG or (one in five) TIFF and attach it as ``asset_id``."""
    fmt, suffix = ("tiff", ".tif") if rng.random() < TIFF_SHARE else ("png", ".png")
    height, width = drawn.micrograph.pixels.shape
    return sink.asset(asset_id, "image", suffix,
                      lambda path: save_micrograph(drawn.micrograph, Path(path), fmt),
                      meta={"format": fmt, "width_px": width, "height_px": height,
                            "modality": drawn.micrograph.modality})
