"""Tests for image loading, grayscale conversion and instrument metadata."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from csmbench.errors import ToolError
from csmbench.tools import _image_io
from csmbench.tools._image_io import load_image, to_gray
from csmbench.tools._metadata import pixel_size_from_tiff

# Instrument pixel sizes (nm/px) from the CZ_SEM tag, MANIFEST.md section 1a.
ZEISS = [("Zeiss_1.tif", 5.86), ("Zeiss_2.tif", 293.1), ("Zeiss_3.tif", 2.93)]


@pytest.mark.parametrize(("name", "nm_per_px"), ZEISS, ids=[name for name, _ in ZEISS])
def test_zeiss_palette_tiff_metadata(realdata: Path, name: str, nm_per_px: float) -> None:
    path = realdata / "sem_scale_bar" / name
    loaded = load_image(path)
    assert loaded.pixels.shape == (768, 1024)
    assert loaded.metadata_nm_per_pixel == pytest.approx(nm_per_px, rel=1e-9)
    assert loaded.metadata_source is not None and "CZ_SEM" in loaded.metadata_source
    assert loaded.pixels.min() >= 0.0 and loaded.pixels.max() == pytest.approx(1.0)


def test_tescan_tag_in_metres(tmp_path: Path) -> None:
    path = tmp_path / "tescan.tif"
    text = "[MAIN]\r\nDevice=TESCAN AMBER\r\nPixelSizeX=2.42063904e-007\r\nPixelSizeY=2.42063904e-007\r\n"
    tifffile.imwrite(path, np.zeros((16, 16), np.uint8), extratags=[(50431, "s", 0, text, True)])
    assert pixel_size_from_tiff(path) == (pytest.approx(242.063904), "Tescan tag 50431 PixelSizeX")


def test_fei_tag_in_metres(tmp_path: Path) -> None:
    path = tmp_path / "fei.tif"
    text = "[User]\r\nUser=x\r\n[Scan]\r\nPixelWidth=4.5e-09\r\nPixelHeight=4.5e-09\r\n"
    tifffile.imwrite(path, np.zeros((16, 16), np.uint8), extratags=[(34682, "s", 0, text, True)])
    found = pixel_size_from_tiff(path)
    assert found is not None and found[0] == pytest.approx(4.5)


def test_plain_tiff_has_no_metadata(tmp_path: Path) -> None:
    path = tmp_path / "plain.tif"
    tifffile.imwrite(path, np.zeros((16, 16), np.uint8))
    assert pixel_size_from_tiff(path) is None
    assert load_image(path).metadata_nm_per_pixel is None


def test_palette_png_goes_through_colormap(tmp_path: Path) -> None:
    indices = np.zeros((16, 16), np.uint8)
    indices[:, 8:] = 1
    image = Image.fromarray(indices, mode="P")
    image.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)  # index 0 white, index 1 black
    image.save(tmp_path / "pal.png")
    pixels = load_image(tmp_path / "pal.png").pixels
    assert pixels[0, 0] == pytest.approx(1.0) and pixels[0, 15] == pytest.approx(0.0)


def test_16_bit_png_scaled_by_full_range(tmp_path: Path) -> None:
    data = np.zeros((16, 16), np.uint16)
    data[0, 0], data[0, 1] = 65535, 32768
    Image.fromarray(data).save(tmp_path / "deep.png")
    pixels = load_image(tmp_path / "deep.png").pixels
    assert pixels[0, 0] == pytest.approx(1.0)
    assert pixels[0, 1] == pytest.approx(32768 / 65535)
    assert pixels[1, 1] == 0.0


def test_rgba_uses_luma(tmp_path: Path) -> None:
    data = np.zeros((16, 16, 4), np.uint8)
    data[..., 1], data[..., 3] = 255, 255  # pure green, opaque
    Image.fromarray(data, mode="RGBA").save(tmp_path / "green.png")
    assert load_image(tmp_path / "green.png").pixels[0, 0] == pytest.approx(0.587)


def test_oversized_image_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Image.new("L", (40, 40)).save(tmp_path / "big.png")
    monkeypatch.setattr(_image_io, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ToolError, match="1,600 pixels"):
        load_image(tmp_path / "big.png")


GRAY_CASES = [
    ("uint8", np.full((8, 8), 51, np.uint8), 0.2),
    ("uint16", np.full((8, 8), 65535, np.uint16), 1.0),
    ("bool", np.ones((8, 8), bool), 1.0),
    ("int64-8bit", np.full((8, 8), 255, np.int64), 1.0),
    ("float-unit", np.full((8, 8), 0.25), 0.25),
    ("rgb-red", np.dstack([np.full((8, 8), 255, np.uint8), np.zeros((8, 8, 2), np.uint8)]), 0.299),
    ("single-channel", np.full((8, 8, 1), 255, np.uint8), 1.0),
]


@pytest.mark.parametrize(
    ("array", "expected"), [c[1:] for c in GRAY_CASES], ids=[c[0] for c in GRAY_CASES]
)
def test_to_gray_values(array: np.ndarray, expected: float) -> None:
    gray = to_gray(array)
    assert gray.shape == (8, 8) and gray.dtype == np.float64
    assert gray[0, 0] == pytest.approx(expected)


def test_to_gray_float_out_of_range_is_normalised() -> None:
    gray = to_gray(np.linspace(-5.0, 5.0, 100).reshape(10, 10))
    assert gray.min() == 0.0 and gray.max() == 1.0


def test_to_gray_partial_nan_filled() -> None:
    data = np.full((8, 8), 0.5)
    data[0, 0] = np.nan
    assert to_gray(data)[0, 0] == pytest.approx(0.5)


BAD_ARRAYS = [
    ("empty", np.zeros((0, 0)), "at least 8 pixels"),
    ("nan-only", np.full((8, 8), np.nan), "no finite values"),
    ("1-d", np.zeros(64), "expected \\(H, W\\)"),
    ("4-d", np.zeros((8, 8, 3, 2)), "expected \\(H, W\\)"),
    ("5-channels", np.zeros((8, 8, 5)), "expected \\(H, W\\)"),
    ("too-small", np.zeros((7, 100)), "at least 8 pixels"),
    ("strings", np.full((8, 8), "a"), "dtype"),
]


@pytest.mark.parametrize(
    ("array", "message"), [c[1:] for c in BAD_ARRAYS], ids=[c[0] for c in BAD_ARRAYS]
)
def test_to_gray_rejects(array: np.ndarray, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        to_gray(array)


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="does not exist"):
        load_image(tmp_path / "missing.png")


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_load_corrupt_tiff(tmp_path: Path) -> None:
    path = tmp_path / "cut.tif"
    tifffile.imwrite(path, np.zeros((64, 64), np.uint8))
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(ToolError, match="cannot decode"):
        load_image(path)
