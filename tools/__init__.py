"""Measurement tools: plain typed functions, and the registry that offers them to agents.

Each tool is a Python function for scripts (``calibrate_scale_bar(path_or_array)``), a
registry tool for agents (attachments by id) and a CLI command (``csmbench tool NAME``).
"""

from ._context import ToolContext
from ._image_io import LoadedImage, load_image, to_gray
from ._registry import REGISTRY, AttachmentId, ToolRegistry, ToolSpec, spec_from_function, tool
from ._scale_bar import ScaleBarReading, calibrate_scale_bar, parse_scale_label
from . import _calibration  # noqa: E402,F401  (registers the calibration tools)

__all__ = ["REGISTRY", "AttachmentId", "LoadedImage", "ScaleBarReading", "ToolContext",
           "ToolRegistry", "ToolSpec", "calibrate_scale_bar", "load_image", "parse_scale_label",
           "spec_from_function",
           "to_gray", "tool"]
