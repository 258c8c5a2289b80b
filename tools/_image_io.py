"""Image loading for the measurement tools: any raster file or array -> grayscale float64 in [0, 1].

Everything downstream (scale bars, grain sizes, FFTs) works on one representation, a
``(H, W)`` float64 array in ``[0, 1]``. Palette images go through their colormap, RGB(A)
through ITU-R BT.601 luma, 16-bit data is scaled by its full range (65535), not by its
maximum, so the absolute gray levels stay comparable between files.
"""

from __future__ import annotations

import math
import os
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image, UnidentifiedImageError

from csmbench.errors import ToolError

from ._metadata import pixel_size_from_tiff

__all__ = ["MAX_IMAGE_PIXELS", "MIN_IMAGE_SIDE_PX", "LoadedImage", "checked_pixel_size",
           "load_image", "to_gray"]

MAX_IMAGE_PIXELS = 50_000_000
"""Largest image (width x height) the tools decode, read from the file's header: bigger files
(and decompression bombs, small files that declare huge images) are refused before any pixel
is decoded. 50 Mpx holds an 8192 x 6144 SEM frame or a 24 Mpx camera image. At this size
(measured on an 8192 x 6100 RGB PNG) decoding takes 0.9 GB, calibrate_scale_bar 1.2 GB and
15 s of CPU, estimate_grain_size 2.9 GB and 50 s."""

MIN_IMAGE_SIDE_PX = 8
"""Smallest accepted image side in pixels (also checked from the header, before decoding):
narrower images hold no scale bar, grain or lattice fringe to measure."""

MAX_DECODED_BYTES = 8 * MAX_IMAGE_PIXELS
"""Largest decoded TIFF page in bytes (checked from the header): a float64 grayscale image at
``MAX_IMAGE_PIXELS``. Many-sample or 64-bit pages (tifffile decodes any sample format) could
otherwise take several times the memory of their pixel count."""

LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])
"""ITU-R BT.601 weights for R, G, B."""

INTEGER_FULL_SCALES = (255.0, 65535.0)
"""Full-scale values tried, in order, for wide integer arrays (int32/int64 holding 8- or 16-bit data)."""

TIFF_SUFFIXES = frozenset({".tif", ".tiff"})

_DECODE_ERRORS = (
    UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, IndexError, KeyError,
    NotImplementedError, struct.error, zlib.error, tifffile.TiffFileError,
)
"""What Pillow and tifffile raise on corrupt or unsupported files (found by fuzzing truncated
and byte-flipped PNG, TIFF, JPEG, BMP and GIF files, and TIFFs with bogus tags)."""

# Pillow modes that hold 16- or 32-bit integer samples, and the full-scale value to divide by.
_INTEGER_MODE_FULL_SCALE = {"I;16": 65535.0, "I;16B": 65535.0, "I;16L": 65535.0, "I;16N": 65535.0}


@dataclass(frozen=True)
class LoadedImage:
    """A decoded image with the instrument calibration its file carries, if any.

    Attributes:
        pixels: ``(H, W)`` float64 grayscale in ``[0, 1]``.
        path: The file it came from, or None for in-memory arrays.
        metadata_nm_per_pixel: Pixel size from the file's instrument tags (nm/px), or None.
        metadata_source: Where that pixel size came from, e.g. ``"Zeiss CZ_SEM ap_image_pixel_size"``.
    """

    pixels: np.ndarray
    path: str | None
    metadata_nm_per_pixel: float | None = None
    metadata_source: str | None = None


def load_image(path: str | os.PathLike) -> LoadedImage:
    """Read an image file (PNG, TIFF, JPEG, BMP, ...) as grayscale with its instrument calibration.

    Args:
        path: Image file path.

    Returns:
        The grayscale pixels (``(H, W)`` float64 in ``[0, 1]``) and, for SEM TIFFs, the
        instrument pixel size in nm/px.

    Raises:
        ToolError: The file is missing, not an image, corrupt, larger than ``MAX_IMAGE_PIXELS``
            (or ``MAX_DECODED_BYTES``), or narrower than ``MIN_IMAGE_SIDE_PX``.
    """
    file = Path(path)
    if not file.is_file():
        raise ToolError(
            f"image file {str(file)!r} does not exist or is not a file; "
            "expected a path to a PNG, TIFF or JPEG image. Hint: check the attachment id or path."
        )
    array = _decode(file)
    pixels = to_gray(array)
    calibration = pixel_size_from_tiff(file) if file.suffix.lower() in TIFF_SUFFIXES else None
    nm_per_pixel, source = calibration if calibration is not None else (None, None)
    return LoadedImage(pixels, str(file), nm_per_pixel, source)


def _decode(file: Path) -> np.ndarray:
    """Decode with Pillow (palette/16-bit aware); fall back to tifffile for TIFFs Pillow rejects."""
    try:
        return _decode_pillow(file)
    except Image.DecompressionBombError as error:  # Pillow's own header check, above 2x its limit
        raise ToolError(
            f"image {str(file)!r} is too large to decode ({error}); expected at most "
            f"{MAX_IMAGE_PIXELS:,} pixels. Hint: crop or downsample the image first."
        ) from error
    except _DECODE_ERRORS as error:
        if file.suffix.lower() in TIFF_SUFFIXES:
            return _decode_tifffile(file, error)
        raise ToolError(
            f"cannot decode image file {str(file)!r} ({type(error).__name__}: {error}); "
            "expected a readable PNG, TIFF, JPEG or BMP image. Hint: the file may be truncated "
            "or not an image at all; re-export it from the instrument software."
        ) from error


def _decode_pillow(file: Path) -> np.ndarray:
    """Open with Pillow, refuse oversized images before decoding, convert to an array."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(file) as image:
            _check_size(file, image.width, image.height)
            image.seek(0)
            return _pillow_to_array(image)


def _pillow_to_array(image: Image.Image) -> np.ndarray:
    """Array of a Pillow image: palette via its colormap, 16-bit kept as uint16, LA/PA/CMYK to RGB(A)."""
    if image.mode in _INTEGER_MODE_FULL_SCALE:
        return np.asarray(image).astype(np.uint16)
    if image.mode == "I":
        data = np.asarray(image)
        return data.astype(np.uint16) if data.min() >= 0 and data.max() <= 65535 else data
    if image.mode in {"P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "RGBX"}:
        return np.asarray(image.convert("RGBA" if "A" in image.mode else "RGB"))
    if image.mode == "LA":
        return np.asarray(image)[..., 0]
    if image.mode == "1":
        return np.asarray(image.convert("L"))
    return np.asarray(image)


def _decode_tifffile(file: Path, pillow_error: Exception) -> np.ndarray:
    """Decode a TIFF with tifffile (for sample formats Pillow does not read)."""
    try:
        with tifffile.TiffFile(file) as tif:
            page = tif.pages[0]
            _check_size(file, int(page.imagewidth), int(page.imagelength))
            _check_bytes(file, int(page.nbytes))
            data = page.asarray()
            if data.size == 0:
                raise ValueError("the first page holds no pixels (an unknown sample format?)")
            if page.photometric == tifffile.PHOTOMETRIC.PALETTE and page.colormap is not None:
                data = np.moveaxis(page.colormap[:, data], 0, -1)
            return data
    except _DECODE_ERRORS as error:
        raise ToolError(
            f"cannot decode TIFF file {str(file)!r} (Pillow: {pillow_error}; tifffile: {error}); "
            "expected a readable TIFF image. Hint: the file may be truncated or corrupt."
        ) from error


def _check_size(file: Path, width: int, height: int) -> None:
    """Refuse, from the header, images with more than ``MAX_IMAGE_PIXELS`` pixels or a side
    shorter than ``MIN_IMAGE_SIDE_PX``."""
    if width * height > MAX_IMAGE_PIXELS:
        raise ToolError(
            f"image {str(file)!r} is {width}x{height} = {width * height:,} pixels; expected at most "
            f"{MAX_IMAGE_PIXELS:,}. Hint: crop or downsample the image first."
        )
    if min(width, height) < MIN_IMAGE_SIDE_PX:
        raise ToolError(
            f"image {str(file)!r} is {width}x{height} pixels; expected at least "
            f"{MIN_IMAGE_SIDE_PX} pixels on each side. Hint: the image is far too small to measure."
        )


def _check_bytes(file: Path, nbytes: int) -> None:
    """Refuse a TIFF page whose decoded samples would take more than ``MAX_DECODED_BYTES``."""
    if nbytes > MAX_DECODED_BYTES:
        raise ToolError(
            f"image {str(file)!r} decodes to {nbytes / 2**20:,.0f} MiB of samples; expected at "
            f"most {MAX_DECODED_BYTES / 2**20:,.0f} MiB. Hint: save it as 8- or 16-bit "
            "grayscale, or crop it."
        )


def to_gray(array: np.ndarray) -> np.ndarray:
    """Convert an image array to grayscale float64 in ``[0, 1]``.

    uint8 is divided by 255 and uint16 by 65535; other non-negative integer arrays by 255
    or 65535, whichever first holds their maximum (else min-max); bool maps to {0, 1}; float arrays already within ``[0, 1]`` are kept, other floats are
    min-max normalised. NaNs are replaced by the median of the finite pixels.

    Args:
        array: ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` (RGB) or ``(H, W, 4)`` (RGBA) array.

    Returns:
        ``(H, W)`` float64 array in ``[0, 1]``.

    Raises:
        ToolError: Empty, all-NaN, wrong shape, or smaller than ``MIN_IMAGE_SIDE_PX`` a side.

    Example:
        >>> to_gray(np.full((8, 8), 255, dtype=np.uint8)).max()
        np.float64(1.0)
    """
    data = np.asarray(array)
    _check_shape(data)
    if data.ndim == 3 and data.dtype in (np.uint8, np.uint16):
        return np.clip(_integer_luma(data), 0.0, 1.0)
    gray = _scale_to_unit(data)
    if gray.ndim == 3:
        gray = gray[..., 0] if gray.shape[2] == 1 else gray[..., :3] @ LUMA_WEIGHTS
    return np.clip(gray, 0.0, 1.0)


def _integer_luma(data: np.ndarray) -> np.ndarray:
    """Luma in ``[0, 1]`` of a uint8/uint16 ``(H, W, 1|3|4)`` array, built channel by channel
    so that no float copy of all channels is made (a 50 Mpx RGB image would need 1.2 GB)."""
    scale = float(np.iinfo(data.dtype).max)
    if data.shape[2] == 1:
        return data[..., 0] / scale
    gray = data[..., 0] * (LUMA_WEIGHTS[0] / scale)
    for channel in (1, 2):
        gray += data[..., channel] * (LUMA_WEIGHTS[channel] / scale)
    return gray


def _check_shape(data: np.ndarray) -> None:
    """Raise ToolError unless ``data`` is a non-empty 2-D or (H, W, 1|3|4) image of usable size."""
    shape_ok = data.ndim == 2 or (data.ndim == 3 and data.shape[2] in (1, 3, 4))
    if not shape_ok:
        raise ToolError(
            f"image array has shape {data.shape}; expected (H, W), (H, W, 3) or (H, W, 4). "
            "Hint: pass a single grayscale or RGB(A) frame."
        )
    if data.size == 0 or min(data.shape[:2]) < MIN_IMAGE_SIDE_PX:
        raise ToolError(
            f"image array has shape {data.shape}; expected at least {MIN_IMAGE_SIDE_PX} pixels "
            "on each side. Hint: the image is empty or far too small to measure."
        )
    if not (np.issubdtype(data.dtype, np.integer) or np.issubdtype(data.dtype, np.floating)
            or data.dtype == bool):
        raise ToolError(f"image array has dtype {data.dtype}; expected real numbers (integer, "
                        "float) or bool. Hint: pass the magnitude of complex data.")


def _scale_to_unit(data: np.ndarray) -> np.ndarray:
    """Scale samples to ``[0, 1]`` as float64 (see ``to_gray``)."""
    if data.dtype == bool:
        return data.astype(np.float64)
    if data.dtype in (np.uint8, np.uint16):
        return data.astype(np.float64) / np.iinfo(data.dtype).max
    values = data.astype(np.float64)
    if np.issubdtype(data.dtype, np.integer) and values.min() >= 0:
        full_scale = next((scale for scale in INTEGER_FULL_SCALES if values.max() <= scale), None)
        if full_scale is not None:
            return values / full_scale
    finite = np.isfinite(values)
    if not finite.any():
        raise ToolError(
            "image array has no finite values (all NaN or inf); expected pixel intensities. "
            "Hint: check how the array was produced."
        )
    if not finite.all():
        values = np.where(finite, values, np.median(values[finite]))
    low, high = values.min(), values.max()
    if low >= 0.0 and high <= 1.0:
        return values
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


def checked_pixel_size(nm_per_pixel: object, bounds: tuple[float, float], hint: str) -> float:
    """The pixel size (nm/px) as a float, or ToolError when it is not a finite number within
    ``bounds``; ``hint`` says what is typical and how to convert."""
    low, high = bounds
    ok = (isinstance(nm_per_pixel, int | float | np.floating | np.integer)
          and not isinstance(nm_per_pixel, bool) and math.isfinite(float(nm_per_pixel))
          and low <= float(nm_per_pixel) <= high)
    if not ok:
        raise ToolError(f"nm_per_pixel is {nm_per_pixel!r}; expected the pixel size in nm per "
                        f"pixel, a number from {low:g} to {high:g} ({hint}). Hint: get it from "
                        "calibrate_scale_bar or the instrument metadata.")
    return float(nm_per_pixel)
