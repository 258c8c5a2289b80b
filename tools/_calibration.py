"""Registry tools for image calibration (thin wrappers over ``_scale_bar``)."""

from __future__ import annotations

from ._context import ToolContext
from ._image_io import load_image
from ._registry import AttachmentId, tool
from ._scale_bar import ScaleBarReading, calibrate_scale_bar

__all__ = ["calibrate_scale_bar_tool"]


@tool(name="calibrate_scale_bar")
def calibrate_scale_bar_tool(context: ToolContext, image: AttachmentId) -> ScaleBarReading:
    """Find a micrograph's scale bar, read its label, and return the pixel size in nm per pixel.

    Uses the instrument's own calibration when the file carries it (method "metadata") and
    says whether the bar agrees. The bar length is in pixels; bbox is (x0, y0, x1, y1).

    Args:
        image: Attachment id of the micrograph, e.g. "img0".
    """
    return calibrate_scale_bar(load_image(context.path(image)))
