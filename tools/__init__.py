"""Measurement tools: plain typed functions, and the registry that offers them to agents.

Each tool is a Python function for scripts (``calibrate_scale_bar(path_or_array)``,
``lookup_crystal("rutile")``), a registry tool for agents (attachments by id) and a CLI
command (``csmbench tool NAME``).
"""

from . import _calibration  # noqa: F401  (registers calibrate_scale_bar)
from ._context import ToolContext
from ._crystal_db import build_database, default_database_path
from ._crystal_lookup import CrystalLookup, CrystalMatch, lookup_crystal
from ._image_io import LoadedImage, load_image, to_gray
from ._metadata import pixel_size_from_tiff
from ._registry import REGISTRY, AttachmentId, ToolRegistry, ToolSpec, spec_from_function, tool
from ._scale_bar import ScaleBarReading, calibrate_scale_bar, parse_scale_label

__all__ = ["REGISTRY", "AttachmentId", "CrystalLookup", "CrystalMatch", "LoadedImage",
           "ScaleBarReading", "ToolContext", "ToolRegistry", "ToolSpec", "build_database",
           "calibrate_scale_bar", "default_database_path", "load_image", "lookup_crystal",
           "parse_scale_label", "pixel_size_from_tiff", "spec_from_function", "to_gray", "tool"]
