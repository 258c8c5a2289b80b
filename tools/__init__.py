"""Measurement tools: plain typed functions, and the registry that offers them to agents.

Each tool is a Python function for scripts (``calibrate_scale_bar(path_or_array)``,
``lookup_crystal("rutile")``), a registry tool for agents (attachments by id) and a CLI
command (``csmbench tool NAME``).
"""

from . import _calibration, _eds, _hall_petch, _lattice_spacing  # noqa: F401  (register tools)
from ._context import ToolContext
from ._crystal_db import build_database, default_database_path
from ._crystal_lookup import CrystalLookup, CrystalMatch, lookup_crystal
from ._diffraction import CrystalliteSize
from ._eds import ElementIdentification, identify_elements
from ._grain_size import GrainSizeResult, estimate_grain_size
from ._hall_petch import HallPetchConstants, lookup_hall_petch
from ._image_io import LoadedImage, load_image, to_gray
from ._lattice_spacing import LatticeSpacingResult, measure_lattice_spacing
from ._metadata import pixel_size_from_tiff
from ._radiation import EMISSIONS, Radiation, bragg_two_theta, d_spacing, emission
from ._registry import REGISTRY, AttachmentId, ToolRegistry, ToolSpec, spec_from_function, tool
from ._scale_bar import ScaleBarReading, calibrate_scale_bar, parse_scale_label
from ._xrd_broadening import WilliamsonHall, scherrer_size, williamson_hall
from ._xrd_lattice import LatticeFit, fit_lattice
from ._xrd_peaks import Peak, PeakList, find_peaks, read_xy
from ._xrd_phase import PhaseIdentification, PhaseMatch, identify_phase

__all__ = [
           "EMISSIONS",
           "REGISTRY",
           "AttachmentId",
           "CrystalLookup",
           "CrystalMatch",
           "CrystalliteSize",
           "ElementIdentification",
           "GrainSizeResult",
           "HallPetchConstants",
           "LatticeFit",
           "LatticeSpacingResult",
           "LoadedImage",
           "Peak",
           "PeakList",
           "PhaseIdentification",
           "PhaseMatch",
           "Radiation",
           "ScaleBarReading",
           "ToolContext",
           "ToolRegistry",
           "ToolSpec",
           "WilliamsonHall",
           "bragg_two_theta",
           "build_database",
           "calibrate_scale_bar",
           "d_spacing",
           "default_database_path",
           "emission",
           "estimate_grain_size",
           "find_peaks",
           "fit_lattice",
           "identify_elements",
           "identify_phase",
           "load_image",
           "lookup_crystal",
           "lookup_hall_petch",
           "measure_lattice_spacing",
           "parse_scale_label",
           "pixel_size_from_tiff",
           "read_xy",
           "scherrer_size",
           "spec_from_function",
           "to_gray",
           "tool",
           "williamson_hall",
]
