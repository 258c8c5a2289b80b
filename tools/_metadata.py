"""Instrument pixel size from SEM TIFF tags (Zeiss, FEI/Thermo Fisher, Tescan).

SEM software writes the calibration of the whole frame into private TIFF tags. When it is
there it is the best answer, better than any reading of the burned-in scale bar.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

import pint
import tifffile

from csmbench.units import UREG

__all__ = ["FEI_TAGS", "TESCAN_TAG", "ZEISS_TAG", "pixel_size_from_tiff"]

ZEISS_TAG = 34118
"""CZ_SEM: Zeiss SmartSEM metadata; ``ap_image_pixel_size`` holds (label, value, unit)."""

FEI_TAGS = (34680, 34682)
"""FEI_SFEG and FEI_HELIOS: INI-style text; ``[Scan] PixelWidth`` is in metres."""

TESCAN_TAG = 50431
"""Tescan metadata: INI-style text with ``PixelSizeX=...`` in metres."""

_TESCAN_PIXEL_SIZE = re.compile(r"PixelSizeX\s*=\s*([0-9.eE+-]+)")
_TIFF_READ_ERRORS = (tifffile.TiffFileError, OSError, ValueError, IndexError, KeyError)


def pixel_size_from_tiff(path: str | os.PathLike) -> tuple[float, str] | None:
    """Read the instrument pixel size from a TIFF's vendor tags.

    Args:
        path: TIFF file path.

    Returns:
        ``(nm_per_pixel, source)``, e.g. ``(5.86, "Zeiss CZ_SEM ap_image_pixel_size")``, or
        None when the file is not a TIFF, is unreadable, or carries no usable calibration.
    """
    try:
        with tifffile.TiffFile(path) as tif:
            tags = tif.pages.first.tags
            readers = (
                lambda: _zeiss(tif.sem_metadata),
                lambda: _fei(tif.fei_metadata),
                lambda: _tescan(tags.valueof(TESCAN_TAG)),
            )
            return next((found for read in readers if (found := read()) is not None), None)
    except _TIFF_READ_ERRORS:
        return None


def _zeiss(metadata: Mapping[str, Any] | None) -> tuple[float, str] | None:
    """Zeiss CZ_SEM ``ap_image_pixel_size`` = (label, value, unit) -> nm/px."""
    entry = (metadata or {}).get("ap_image_pixel_size")
    if not isinstance(entry, tuple) or len(entry) < 3:
        return None
    nm = _to_nm(entry[1], str(entry[2]))
    return None if nm is None else (nm, "Zeiss CZ_SEM ap_image_pixel_size")


def _fei(metadata: Mapping[str, Any] | None) -> tuple[float, str] | None:
    """FEI/Thermo ``[Scan] PixelWidth`` (m) -> nm/px."""
    scan = (metadata or {}).get("Scan")
    if not isinstance(scan, Mapping) or "PixelWidth" not in scan:
        return None
    nm = _to_nm(scan["PixelWidth"], "m")
    return None if nm is None else (nm, "FEI/Thermo [Scan] PixelWidth")


def _tescan(text: Any) -> tuple[float, str] | None:
    """Tescan tag 50431 ``PixelSizeX=...`` (m) -> nm/px."""
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    match = _TESCAN_PIXEL_SIZE.search(text) if isinstance(text, str) else None
    nm = _to_nm(match.group(1), "m") if match else None
    return None if nm is None else (nm, "Tescan tag 50431 PixelSizeX")


def _to_nm(value: Any, unit: str) -> float | None:
    """Convert ``value unit`` to nanometres with pint; None unless a positive finite length."""
    try:
        quantity = UREG.Quantity(float(value), unit.strip())
        nm = float(quantity.to(UREG.nanometer).magnitude)
    except (ValueError, TypeError, pint.errors.PintError):
        return None
    return nm if 0.0 < nm < float("inf") else None
