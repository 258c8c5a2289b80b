"""Grain size of a metallographic micrograph (ASTM E112 / E1382): the tool and its record.

The micrograph is segmented into grains (``_grain_segment``, ``_grain_merge``); the label
image is then measured the E112 way (``_grain_measure``): the mean lineal intercept from
test lines at 0°, 45°, 90° and 135°, the Jeffries planimetric count, G by either method,
grain shapes and the area share of a darker second phase. A databar strip at the bottom
and annotation boxes drawn over the image (``_grain_overlay``) are left out; grains they
cut count as edge grains.
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict
from skimage.segmentation import relabel_sequential

from csmbench.errors import ToolError

from ._context import ToolContext
from ._grain_measure import (
    astm_g_intercept,
    astm_g_planimetric,
    find_databar,
    intercept_counts,
    jeffries_count,
    mean_intercept_px,
    phase_fraction,
    shape_stats,
)
from ._grain_overlay import find_annotations
from ._grain_segment import BoundaryMode, Segmentation, segment_grains
from ._image_io import LoadedImage, checked_pixel_size, load_image, to_gray
from ._registry import AttachmentId, tool

__all__ = ["GrainSizeResult", "astm_g_intercept", "astm_g_planimetric", "estimate_grain_size",
           "find_databar", "intercept_counts", "jeffries_count"]

GrainSizeMethod = Literal["intercept", "planimetric"]

NM_PER_PIXEL_RANGE = (0.1, 100_000.0)
"""Physically possible pixel sizes of a micrograph, nm/px (0.1 nm .. 100 µm)."""
MIN_IMAGE_CONTRAST = 0.02
"""Gray-level span (of full scale 1) below which an image is blank."""
E112_MIN_COUNT = 50
"""E112 asks for at least 50 grains (or intercepts) per field for a sound estimate."""
MIN_MEAN_INTERCEPT_PX = 3.0
"""A mean intercept below this is pixel noise, not grains, px."""
OVERLAY_RED = (255, 0, 0)


class GrainSizeResult(BaseModel):
    """What ``estimate_grain_size`` measured.

    Attributes:
        method: "intercept" or "planimetric": which measure gives the G number.
        boundaries: The boundary contrast segmented: "dark", "bright" or "contrast".
        astm_grain_size_number: ASTM E112 G from the chosen method.
        mean_intercept_um: Mean lineal intercept ℓ = 1 / mean(P_L) of the four directions, µm.
        intercept_by_direction_um: ℓ along 0°, 45°, 90°, 135° (None: no crossing), µm.
        grains_per_mm2: Jeffries N_A (edge grains ½, corner grains ¼), grains per mm².
        n_grains: Grains in the analysed area, edge grains included.
        n_intercepts: Boundary crossings counted by all test lines.
        ecd_mean_um: Mean equivalent-circle diameter of the grains not touching the edge, µm.
        ecd_median_um: Median equivalent-circle diameter, µm.
        ecd_std_um: Standard deviation of the equivalent-circle diameters, µm.
        mean_aspect_ratio: Mean major/minor axis ratio (from second moments), >= 1.
        phase_fraction: Area share of the darker of two grain populations, or None for one.
        nm_per_pixel: The pixel size used, nm/px.
        analysed_px: (height, width) of the analysed area, px.
        excluded_bottom_px: Rows excluded at the bottom (databar), px.
        overlay: Path of the overlay PNG (boundaries in red), or None.
        notes: Decisions and caveats.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: GrainSizeMethod
    boundaries: Literal["dark", "bright", "contrast"]
    astm_grain_size_number: float
    mean_intercept_um: float
    intercept_by_direction_um: dict[str, float | None]
    grains_per_mm2: float
    n_grains: int
    n_intercepts: int
    ecd_mean_um: float
    ecd_median_um: float
    ecd_std_um: float
    mean_aspect_ratio: float
    phase_fraction: float | None
    nm_per_pixel: float
    analysed_px: tuple[int, int]
    excluded_bottom_px: int
    overlay: str | None = None
    notes: list[str] = []


# --- the measurement ---------------------------------------------------------------------------


def _boundary_pixels(labels: np.ndarray) -> np.ndarray:
    """Pixels whose right or lower neighbour has another label (a one-pixel boundary trace)."""
    boundary = np.zeros(labels.shape, bool)
    boundary[:, :-1] |= labels[:, 1:] != labels[:, :-1]
    boundary[:-1] |= labels[1:] != labels[:-1]
    return boundary


def estimate_grain_size(
    image: str | os.PathLike | np.ndarray | LoadedImage,
    nm_per_pixel: float,
    method: GrainSizeMethod = "intercept",
    *,
    boundaries: BoundaryMode = "auto",
    crop_bottom_px: int | None = None,
    overlay_path: str | os.PathLike | None = None,
    two_phase: bool | None = None,
) -> GrainSizeResult:
    """Mean grain size of a metallographic micrograph by ASTM E112 / E1382.

    Args:
        image: Image path, pixel array (``(H, W)`` or ``(H, W, 3|4)``) or ``LoadedImage``.
        nm_per_pixel: Pixel size, nm/px (0.1 .. 100 000).
        method: "intercept" (lineal intercept) or "planimetric" (Jeffries): which one gives G.
            Both ℓ and N_A are always reported.
        boundaries: "dark" (etched boundary lines), "bright" (bright boundary films),
            "contrast" (grains of different gray levels) or "auto".
        crop_bottom_px: Rows to exclude at the bottom (a databar); None finds a uniform
            strip automatically, 0 keeps every row.
        overlay_path: Where to write a PNG of the detected boundaries in red, or None.
        two_phase: None detects whether the grains form two grey populations; True (the
            alloy is known to have two phases) always splits them in two; False never.

    Returns:
        The measurement; ``mean_intercept_um`` in µm, ``grains_per_mm2`` per mm².

    Raises:
        ToolError: Bad pixel size or method, blank image, or no grain boundaries found.

    Example:
        >>> stripes = np.ones((200, 200)); stripes[:, 10::20] = 0.0  # dark lines 20 px apart
        >>> r = estimate_grain_size(stripes, 1000.0, boundaries="dark", crop_bottom_px=0)
        >>> r.intercept_by_direction_um["0"]  # 199 px of each row cross 10 lines
        19.9
    """
    scale_nm = _check_pixel_size(nm_per_pixel)
    _check_choice("method", method, ("intercept", "planimetric"))
    _check_choice("boundaries", boundaries, ("auto", "dark", "bright", "contrast"))
    gray = _as_gray(image)
    bottom, notes = _excluded_rows(gray, crop_bottom_px)
    segmentation = segment_grains(gray, boundaries, bottom)
    boxes = find_annotations(gray[:gray.shape[0] - bottom])
    if boxes:
        segmentation = _exclude_boxes(segmentation, boxes)
        notes.append(f"excluded {len(boxes)} annotation box(es) drawn over the image (flat "
                     "fill: a scale bar or label); grains they cut count as edge grains")
    result = _measure(segmentation, gray, scale_nm, method, bottom,
                      [*notes, *segmentation.notes], two_phase)
    if overlay_path is not None:
        written = write_overlay(gray, segmentation.labels, overlay_path)
        result = result.model_copy(update={"overlay": str(written)})
    return result


def _exclude_boxes(segmentation: Segmentation, boxes: list[tuple[int, int, int, int]]
                   ) -> Segmentation:
    """The segmentation with the boxes' pixels excluded (label 0), labels renumbered 1..n."""
    labels = segmentation.labels.copy()
    for top, bottom, left, right in boxes:
        labels[top:bottom, left:right] = 0
    return dataclasses.replace(segmentation, labels=relabel_sequential(labels)[0])


def _check_pixel_size(nm_per_pixel: object) -> float:
    return checked_pixel_size(nm_per_pixel, NM_PER_PIXEL_RANGE, "0.1 nm .. 100 µm per pixel; 0.5 µm/px is 500")


def _check_choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ToolError(f"{name} is {value!r}; expected one of {', '.join(map(repr, allowed))}.")


def _as_gray(image: str | os.PathLike | np.ndarray | LoadedImage) -> np.ndarray:
    """Grayscale ``(H, W)`` in [0, 1]; ToolError for a blank (contrast-free) image."""
    if isinstance(image, LoadedImage):
        gray = image.pixels
    elif isinstance(image, np.ndarray):
        gray = to_gray(image)
    elif isinstance(image, str | os.PathLike):
        gray = load_image(image).pixels
    else:
        raise ToolError(f"image has type {type(image).__name__}; expected a file path, a "
                        "numpy array or a LoadedImage.")
    low, high = np.percentile(gray[::2, ::2], (0.5, 99.5))
    span = float(high - low)
    if span < MIN_IMAGE_CONTRAST:
        raise ToolError(f"the image is blank: its gray levels span {span:.3g} of full scale "
                        f"(expected at least {MIN_IMAGE_CONTRAST}). Hint: check that the right "
                        "attachment was passed.")
    return gray


def _excluded_rows(gray: np.ndarray, crop_bottom_px: int | None) -> tuple[int, list[str]]:
    """Rows excluded at the bottom (given, or a detected databar) and a note saying so."""
    height = gray.shape[0]
    if crop_bottom_px is None:
        rows = find_databar(gray)
        return rows, ([f"excluded a {rows} px databar strip at the bottom"] if rows else [])
    if isinstance(crop_bottom_px, bool) or not isinstance(crop_bottom_px, int | np.integer) \
            or not 0 <= crop_bottom_px <= height - 16:
        raise ToolError(f"crop_bottom_px is {crop_bottom_px!r}; expected an integer from 0 to "
                        f"{height - 16} (the image is {height} px high) or None to detect a "
                        "databar.")
    return int(crop_bottom_px), ([f"excluded {crop_bottom_px} px at the bottom as asked"]
                                 if crop_bottom_px else [])


def _measure(segmentation: Segmentation, gray: np.ndarray, scale_nm: float,
             method: GrainSizeMethod, bottom: int, notes: list[str],
             two_phase: bool | None = None) -> GrainSizeResult:
    """Intercepts, N_A, G and the grain shape statistics of a segmentation."""
    height = gray.shape[0] - bottom
    labels = segmentation.labels[:height]
    um = scale_nm / 1000.0
    counts = intercept_counts(labels)
    length = sum(c[0] for c in counts.values())
    crossings = sum(c[1] for c in counts.values())
    intercept_px = mean_intercept_px(counts)
    if crossings == 0 or intercept_px < MIN_MEAN_INTERCEPT_PX:
        raise ToolError(
            f"no grain structure found: the test lines ({length:.0f} px) cross {crossings} "
            f"boundaries (a mean intercept below {MIN_MEAN_INTERCEPT_PX:g} px, or none); "
            "expected grains several pixels across. Hint: the image may be noise, blank or not "
            "a micrograph of grains; try another `boundaries` setting.")
    intercept_um = intercept_px * um
    analysed_px = np.count_nonzero(labels)
    grains_per_mm2 = jeffries_count(labels) / (analysed_px * (um / 1000.0) ** 2)
    area, aspect, edge = shape_stats(labels)
    clear = ~edge
    if clear.sum() < 3:
        clear = np.ones_like(edge)
        notes.append("fewer than 3 grains lie clear of the edges: the shape statistics include "
                     "cut edge grains")
    if area.size < E112_MIN_COUNT:
        notes.append(f"only {area.size} grains in the field; E112 asks for at least "
                     f"{E112_MIN_COUNT}: the estimate is rough")
    ecd = np.sqrt(4.0 * area[clear] / math.pi) * um
    g_number = (astm_g_intercept(intercept_um / 1000.0) if method == "intercept"
                else astm_g_planimetric(grains_per_mm2))
    return GrainSizeResult(
        method=method, boundaries=segmentation.mode,
        astm_grain_size_number=round(g_number, 2),
        mean_intercept_um=_sig(intercept_um),
        intercept_by_direction_um={k: (_sig(n * um / c) if c else None)
                                   for k, (n, c) in counts.items()},
        grains_per_mm2=_sig(grains_per_mm2), n_grains=int(area.size), n_intercepts=crossings,
        ecd_mean_um=_sig(float(ecd.mean())), ecd_median_um=_sig(float(np.median(ecd))),
        ecd_std_um=_sig(float(ecd.std(ddof=1)) if ecd.size > 1 else 0.0),
        mean_aspect_ratio=round(float(aspect[clear].mean()), 3),
        phase_fraction=(None if two_phase is False
                        else phase_fraction(gray[:height], labels, force=bool(two_phase))),
        nm_per_pixel=scale_nm, analysed_px=(int(height), int(gray.shape[1])),
        excluded_bottom_px=int(bottom), notes=notes)


def _sig(value: float, digits: int = 5) -> float:
    """``value`` rounded to ``digits`` significant digits."""
    return float(f"{value:.{digits}g}")


# --- overlay and tool --------------------------------------------------------------------------


def write_overlay(gray: np.ndarray, labels: np.ndarray, path: str | os.PathLike) -> Path:
    """Write the micrograph with the grain boundaries in red as a PNG; returns its path."""
    rgb = np.repeat(np.round(gray * 255).astype(np.uint8)[..., None], 3, axis=2)
    rgb[_boundary_pixels(labels)] = OVERLAY_RED
    target = Path(path)
    try:
        Image.fromarray(rgb).save(target, format="PNG")
    except OSError as error:
        raise ToolError(f"cannot write the overlay to {str(target)!r}: {error}") from error
    return target


@tool(name="estimate_grain_size")
def estimate_grain_size_tool(
    context: ToolContext,
    image: AttachmentId,
    nm_per_pixel: float,
    method: GrainSizeMethod = "intercept",
    boundaries: BoundaryMode = "auto",
    crop_bottom_px: int | None = None,
    overlay: bool = False,
    two_phase: bool | None = None,
) -> GrainSizeResult:
    """Measure the mean grain size of a metallographic micrograph (ASTM E112 / E1382).

    Segments the grains and returns the mean lineal intercept (test lines at 0°, 45°, 90°,
    135°) in µm, the grains per mm² (Jeffries planimetric count), the ASTM grain size number
    G of the chosen method, equivalent-circle diameters (µm), aspect ratio and, for two
    gray-level populations of grains, the darker one's area fraction. A databar strip at the
    bottom and scale-bar boxes drawn over the image are excluded; twin boundaries (faint
    traces, parallel-sided bands) are disregarded as E112 asks. Check the notes; with overlay=true the detected boundaries are drawn in red
    into a PNG whose path is returned in "overlay".

    Args:
        image: Attachment id of the micrograph, e.g. "img0".
        nm_per_pixel: Pixel size in nm per pixel (e.g. from calibrate_scale_bar).
        method: "intercept" or "planimetric": which measurement gives the G number.
        boundaries: "dark" (dark etched boundary lines), "bright" (bright boundary films),
            "contrast" (grains differ in gray level, e.g. SEM/EBSD) or "auto".
        crop_bottom_px: Rows to exclude at the bottom; omit to detect a databar, 0 for none.
        overlay: Also draw the detected boundaries into a PNG file.
        two_phase: true when the alloy is known to have two phases (always split the grains
            into a darker and a lighter group); omit to detect.
    """
    path = context.path(image)
    if not overlay:
        return estimate_grain_size(path, nm_per_pixel, method, boundaries=boundaries,
                                   crop_bottom_px=crop_bottom_px, two_phase=two_phase)
    target = context.output_path(f"grains_{image}", ".png")
    try:
        result = estimate_grain_size(path, nm_per_pixel, method, boundaries=boundaries,
                                     crop_bottom_px=crop_bottom_px, overlay_path=target,
                                     two_phase=two_phase)
    except ToolError:
        target.unlink(missing_ok=True)
        raise
    shown = target.relative_to(context.output_dir.parent).as_posix()
    return result.model_copy(update={"overlay": shown})
