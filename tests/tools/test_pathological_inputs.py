"""Pathological inputs to the measurement tools (issue 10, hardening).

Every bad image, pattern or spectrum must end in a ``ToolError`` that says what was wrong (or
an empty result with a reason), never in an internal error, and decompression bombs must be
refused from the header without allocating the image. Each case runs twice: as a Python call
and as a tool call inside a ``CSMBenchEnv`` episode, where it must come back as a tool-error
observation (``ok=False``, ``internal_error=False``) and the episode goes on.
"""

from __future__ import annotations

import io
import math
import struct
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from csmbench.env import CSMBenchEnv
from csmbench.episodes import DatasetWriter, Item, Numeric, ToolCall, ToolResult
from csmbench.errors import ToolError
from csmbench.tools import (
    REGISTRY,
    ToolContext,
    _lattice_spacing,
    calibrate_scale_bar,
    estimate_grain_size,
    find_peaks,
    identify_elements,
    identify_phase,
    load_image,
    measure_lattice_spacing,
    read_xy,
)
from csmbench.tools._eds import MAX_CHANNELS, MAX_COUNTS, read_spectrum
from csmbench.tools._image_io import (
    MAX_DECODED_BYTES,
    MAX_IMAGE_PIXELS,
    MIN_IMAGE_SIDE_PX,
)
from csmbench.tools._lattice_spacing import MAX_ANALYSED_SIDE_PX
from csmbench.tools._xrd_input import MAX_INTENSITY, MAX_PATTERN_FILE_BYTES, MAX_PATTERN_POINTS

BOMB_SIDE = 20_000
"""Side of the decompression bombs: 400 Mpx, 8x MAX_IMAGE_PIXELS (400 MB decoded as 8-bit)."""
BOMB_MEMORY_BUDGET = 64 * 2**20
"""Peak memory (Python heap and process RSS) a refused bomb may cost: far below its 400 MB."""
FRINGE_PERIOD_PX = 8
NM_PER_PIXEL = 0.02
FRINGE_D_ANGSTROM = FRINGE_PERIOD_PX * NM_PER_PIXEL * 10.0
IMAGE_TOOLS = {
    "calibrate_scale_bar": ({}, lambda path: calibrate_scale_bar(path)),
    "estimate_grain_size": ({"nm_per_pixel": 100.0}, lambda path: estimate_grain_size(path, 100.0)),
    "measure_lattice_spacing": ({"nm_per_pixel": NM_PER_PIXEL},
                                lambda path: measure_lattice_spacing(path, NM_PER_PIXEL)),
}


# --- file builders -------------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _zeros_zlib(total: int, block: int = 1 << 22) -> bytes:
    """A valid zlib stream of ``total`` zero bytes, built in a second: one compressed block,
    flushed so it stands alone, repeated (``total`` a multiple of ``block``)."""
    assert total % block == 0
    compressor = zlib.compressobj(9)
    head = compressor.compress(bytes(block)) + compressor.flush(zlib.Z_FULL_FLUSH)
    body = compressor.compress(bytes(block)) + compressor.flush(zlib.Z_FULL_FLUSH)
    adler, zeros = 1, bytes(block)
    for _ in range(total // block):
        adler = zlib.adler32(zeros, adler)
    return head + body * (total // block - 1) + b"\x03\x00" + struct.pack(">I", adler)


def _png(width: int, height: int, idat: bytes | None = None) -> bytes:
    """An 8-bit grayscale PNG whose header declares ``width`` x ``height``."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat_chunk = _chunk(b"IDAT", idat) if idat is not None else b""
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + idat_chunk + _chunk(b"IEND", b"")


def _tiff(width: int, height: int, *, bits: int = 8, sample_format: int = 1, samples: int = 1,
          compression: int = 1, strip: bytes = bytes(16)) -> bytes:
    """A one-strip little-endian TIFF written tag by tag, so headers can lie."""
    photometric = 2 if samples == 3 else 1
    entries = sorted([(256, 4, width), (257, 4, height), (258, 3, bits), (259, 3, compression),
                      (262, 3, photometric), (273, 4, -1), (277, 3, samples), (278, 4, height),
                      (279, 4, len(strip)), (339, 3, sample_format)])
    data_offset = 8 + 2 + 12 * len(entries) + 4
    ifd = bytearray(struct.pack("<2sHIH", b"II", 42, 8, len(entries)))
    for tag, kind, value in entries:
        value = data_offset if value == -1 else value
        ifd += (struct.pack("<HHIHH", tag, kind, 1, value, 0) if kind == 3
                else struct.pack("<HHII", tag, kind, 1, value))
    return bytes(ifd) + struct.pack("<I", 0) + strip


def _encoded(array: np.ndarray, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    if fmt == "tifffile":
        tifffile.imwrite(buffer, array, **options)
    else:
        Image.fromarray(array).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _noise(shape: tuple[int, ...] = (96, 96), seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random(shape) * 255).astype(np.uint8)


def _fringes(period_px: float = FRINGE_PERIOD_PX, side: int = 128) -> np.ndarray:
    """Vertical lattice fringes in [0.1, 0.9]: one FFT spot at d = period x pixel size."""
    x = np.arange(side)[None, :].repeat(side, axis=0)
    return 0.5 + 0.4 * np.cos(2.0 * np.pi * x / period_px)


def _bad_crc_png() -> bytes:
    data = bytearray(_encoded(_noise(), "PNG"))
    data[data.index(b"IDAT") + 20] ^= 0xFF
    return bytes(data)


def _truncated(data: bytes, keep: float) -> bytes:
    return data[:int(len(data) * keep)]


# id, file name, bytes, words the error must contain
BAD_IMAGE_FILES: list[tuple[str, str, Callable[[], bytes], str]] = [
    ("one_px", "one.png", lambda: _encoded(np.zeros((1, 1), np.uint8), "PNG"),
     f"at least {MIN_IMAGE_SIDE_PX} pixels"),
    ("three_px", "three.png", lambda: _encoded(np.zeros((3, 3), np.uint8), "PNG"),
     f"at least {MIN_IMAGE_SIDE_PX} pixels"),
    ("one_row", "row.png", lambda: _encoded(np.zeros((1, 5000), np.uint8), "PNG"), "5000x1 pixels"),
    ("one_column", "column.tif", lambda: _encoded(np.zeros((5000, 1), np.uint8), "tifffile"),
     "1x5000 pixels"),
    ("bomb_png", "bomb.png",
     lambda: _png(BOMB_SIDE, BOMB_SIDE, _zeros_zlib((BOMB_SIDE + 1) * BOMB_SIDE, 20_001 * 200)),
     f"{MAX_IMAGE_PIXELS:,}"),
    ("bomb_tiff", "bomb.tif",
     lambda: _tiff(BOMB_SIDE, BOMB_SIDE, compression=8,
                   strip=_zeros_zlib(BOMB_SIDE * BOMB_SIDE, 20_000 * 200)),
     f"{MAX_IMAGE_PIXELS:,}"),
    ("header_png_60mpx", "large.png", lambda: _png(12_000, 5_000), "60,000,000 pixels"),
    ("header_float_tiff", "large_float.tif", lambda: _tiff(BOMB_SIDE, BOMB_SIDE, bits=32,
                                                           sample_format=3),
     f"{MAX_IMAGE_PIXELS:,}"),
    ("float64_rgb_tiff", "deep.tif",
     lambda: _tiff(7000, 7000, bits=64, sample_format=3, samples=3),
     f"{MAX_DECODED_BYTES / 2**20:,.0f} MiB"),
    ("truncated_png", "cut.png", lambda: _truncated(_encoded(_noise(), "PNG"), 0.5), "truncated"),
    ("bad_crc_png", "crc.png", _bad_crc_png, "cannot decode"),
    ("random_png", "random.png", lambda: np.random.default_rng(1).bytes(5000), "cannot decode"),
    ("text_png", "text.png", lambda: b"2theta intensity\n10 20\n" * 20, "cannot decode"),
    ("empty_png", "empty.png", lambda: b"", "cannot decode"),
    ("truncated_ifd", "cut_ifd.tif", lambda: _encoded(_noise(), "tifffile")[:12], "cannot decode"),
    ("truncated_strip", "cut.tif", lambda: _truncated(_encoded(_noise(), "tifffile"), 0.6),
     "cannot decode"),
    ("truncated_zlib_tiff", "cut_zlib.tif",
     lambda: _truncated(_encoded(_noise(), "tifffile", compression="zlib"), 0.8), "cannot decode"),
    ("seven_bit_tiff", "bits7.tif", lambda: _tiff(96, 96, bits=7), "cannot decode"),
    ("unknown_compression", "comp.tif", lambda: _tiff(96, 96, compression=12345), "cannot decode"),
    ("unknown_sample_format", "fmt.tif", lambda: _tiff(96, 96, sample_format=9), "no pixels"),
    ("strip_past_end", "strip.tif", lambda: _tiff(96, 96, strip=bytes(10)), "cannot decode"),
    ("complex_tiff", "complex.tif",
     lambda: _encoded(np.ones((96, 96), np.complex64), "tifffile"), "complex64"),
    ("five_channels", "five.tif",
     lambda: _encoded(_noise((96, 96, 5)), "tifffile", photometric="minisblack",
                      planarconfig="contig"), "(96, 96, 5)"),
]

# id, file name, bytes, words the error must contain for each tool in IMAGE_TOOLS order
FLAT = ("no contrast", "blank", "flat")
DEGENERATE_IMAGES: list[tuple[str, str, Callable[[], bytes], tuple[str, str, str]]] = [
    ("black", "black.png", lambda: _encoded(np.zeros((96, 96), np.uint8), "PNG"), FLAT),
    ("white", "white.png", lambda: _encoded(np.full((96, 96), 255, np.uint8), "PNG"), FLAT),
    ("constant_gray", "gray.tif", lambda: _encoded(np.full((96, 96), 3000, np.uint16), "tifffile"),
     FLAT),
    ("constant_float", "float.tif",
     lambda: _encoded(np.full((96, 96), 7.5, np.float32), "tifffile"), FLAT),
    ("all_nan", "nan.tif", lambda: _encoded(np.full((96, 96), np.nan, np.float32), "tifffile"),
     ("no finite values",) * 3),
]

DEGENERATE_MESSAGES = {case: dict(zip(IMAGE_TOOLS, messages, strict=True))
                       for case, _, _, messages in DEGENERATE_IMAGES}
"""What each image tool says about each degenerate image: case -> tool -> words."""


def _cmyk_tiff() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.round(_fringes() * 255).astype(np.uint8)).convert("CMYK").save(
        buffer, format="TIFF")
    return buffer.getvalue()


def _palette_png() -> bytes:
    """Fringes as palette indices in shuffled order: only the colormap gives the gray levels."""
    order = np.random.default_rng(2).permutation(256).astype(np.uint8)
    image = Image.fromarray(order[np.round(_fringes() * 255).astype(np.uint8)], mode="P")
    palette = np.zeros((256, 3), np.uint8)
    palette[order] = np.arange(256, dtype=np.uint8)[:, None]
    image.putpalette(palette.ravel().tolist())
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _nan_fringes() -> np.ndarray:
    data = (_fringes() * 1000.0).astype(np.float32)
    data[5, 7], data[60, 61], data[90, 3] = np.nan, np.inf, -np.inf
    return data


# id, file name, bytes, expected gray levels (None: only the lattice spacing is checked)
GOOD_FORMATS: list[tuple[str, str, Callable[[], bytes], np.ndarray | None]] = [
    ("uint16_tiff", "u16.tif",
     lambda: _encoded(np.round(_fringes() * 65535).astype(np.uint16), "tifffile"), _fringes()),
    ("uint16_png", "u16.png",
     lambda: _encoded(np.round(_fringes() * 65535).astype(np.uint16), "PNG"), _fringes()),
    ("float32_tiff_0_1000", "f32.tif",
     lambda: _encoded((_fringes() * 1000).astype(np.float32), "tifffile"),
     (_fringes() - 0.1) / 0.8),
    ("float_tiff_nan_inf", "nan_inf.tif", lambda: _encoded(_nan_fringes(), "tifffile"), None),
    ("multipage_tiff", "pages.tif",
     lambda: _encoded(np.stack([np.round(_fringes() * 255), np.round(_fringes(16.0) * 255)])
                      .astype(np.uint8), "tifffile"), None),
    ("rgba_png", "rgba.png",
     lambda: _encoded(np.dstack([np.round(_fringes() * 255).astype(np.uint8)] * 3
                                + [np.full((128, 128), 100, np.uint8)]), "PNG"), _fringes()),
    ("palette_png", "palette.png", _palette_png, _fringes()),
    ("cmyk_tiff", "cmyk.tif", _cmyk_tiff, _fringes()),
    ("int32_tiff", "i32.tif",
     lambda: _encoded(np.round(_fringes() * 65535).astype(np.int32), "tifffile"), _fringes()),
]


# --- helpers -------------------------------------------------------------------------------------


def _peak_rss_reset() -> int | None:
    """Reset the kernel's peak-RSS mark and return it (bytes); None where /proc cannot."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _peak_rss()
    except OSError:
        return None


def _peak_rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM line in /proc/self/status")


def _refused_within_memory(call: Callable[[], object]) -> tuple[ToolError, int, int | None]:
    """Run ``call``, which must raise ToolError; return it with the peak Python-heap bytes
    (tracemalloc, which numpy reports to) and the peak RSS growth (None without /proc)."""
    rss_before = _peak_rss_reset()
    tracemalloc.start()
    try:
        with pytest.raises(ToolError) as caught:
            call()
        heap_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    rss_growth = None if rss_before is None else _peak_rss() - rss_before
    return caught.value, heap_peak, rss_growth


def _files(folder: Path, cases: list[tuple]) -> dict[str, Path]:
    paths = {}
    for case in cases:
        path = folder / case[1]
        path.write_bytes(case[2]())
        paths[case[0]] = path
    return paths


@pytest.fixture(scope="module")
def image_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _files(tmp_path_factory.mktemp("images"),
                  BAD_IMAGE_FILES + DEGENERATE_IMAGES + GOOD_FORMATS)


# --- images: Python calls --------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "message"), [(c[0], c[3]) for c in BAD_IMAGE_FILES],
                         ids=[c[0] for c in BAD_IMAGE_FILES])
def test_bad_image_file_is_a_tool_error_for_every_tool(image_files: dict[str, Path], case: str,
                                                       message: str) -> None:
    path = image_files[case]
    with pytest.raises(ToolError, match="image|TIFF") as caught:
        load_image(path)
    assert message in str(caught.value)
    for name, (_, call) in IMAGE_TOOLS.items():
        with pytest.raises(ToolError) as caught:
            call(path)
        assert message in str(caught.value), name


@pytest.mark.parametrize("case", ["bomb_png", "bomb_tiff", "header_float_tiff", "float64_rgb_tiff"])
def test_bomb_is_refused_from_the_header_without_allocating(image_files: dict[str, Path],
                                                            case: str) -> None:
    path = image_files[case]
    assert path.stat().st_size < 2**20  # the file is small; decoded it would be 0.4-1.2 GB
    error, heap_peak, rss_growth = _refused_within_memory(lambda: load_image(path))
    assert "at most" in str(error) and "Hint" in str(error)
    assert heap_peak < BOMB_MEMORY_BUDGET
    assert rss_growth is None or rss_growth < BOMB_MEMORY_BUDGET


@pytest.mark.parametrize(("case", "messages"), [(c[0], c[3]) for c in DEGENERATE_IMAGES],
                         ids=[c[0] for c in DEGENERATE_IMAGES])
def test_flat_or_empty_image_is_a_tool_error_naming_why(image_files: dict[str, Path], case: str,
                                                        messages: tuple[str, str, str]) -> None:
    for (name, (_, call)), message in zip(IMAGE_TOOLS.items(), messages, strict=True):
        with pytest.raises(ToolError, match=message):
            call(image_files[case])


@pytest.mark.parametrize(("case", "expected"), [(c[0], c[3]) for c in GOOD_FORMATS],
                         ids=[c[0] for c in GOOD_FORMATS])
def test_unusual_formats_decode_to_the_right_gray_levels(image_files: dict[str, Path], case: str,
                                                         expected: np.ndarray | None) -> None:
    pixels = load_image(image_files[case]).pixels
    assert pixels.shape == (128, 128) and np.isfinite(pixels).all()
    assert 0.0 <= pixels.min() and pixels.max() <= 1.0
    if expected is not None:  # 8-bit quantisation and the palette's colours: 1 % of full scale
        np.testing.assert_allclose(pixels, expected, atol=0.01)
    spots = measure_lattice_spacing(image_files[case], NM_PER_PIXEL, crop_bottom_px=0).spots
    assert spots[0].d_angstrom == pytest.approx(FRINGE_D_ANGSTROM, rel=0.01)  # first page only


def test_nan_and_inf_pixels_become_the_median(image_files: dict[str, Path]) -> None:
    pixels = load_image(image_files["float_tiff_nan_inf"]).pixels
    median = np.median(np.delete(pixels.ravel(), [5 * 128 + 7, 60 * 128 + 61, 90 * 128 + 3]))
    assert pixels[5, 7] == pixels[60, 61] == pixels[90, 3] == pytest.approx(median)


def test_corrupted_images_only_ever_raise_tool_error(tmp_path: Path) -> None:
    """Truncations and byte flips of valid files of every format (a fixed-seed fuzz)."""
    rng = np.random.default_rng(10)
    seeds = {".png": _encoded(_noise(), "PNG"), ".jpg": _encoded(_noise(), "JPEG"),
             ".bmp": _encoded(_noise(), "BMP"), ".gif": _encoded(_noise(), "GIF"),
             ".tif": _encoded(_noise(), "TIFF", compression="tiff_lzw"),
             "_zlib.tif": _encoded(_noise(), "tifffile", compression="zlib"),
             "_float.tif": _encoded(_noise().astype(np.float32), "tifffile")}
    outcomes = {"decoded": 0, "refused": 0}
    for suffix, data in seeds.items():
        for index in range(25):
            damaged = bytearray(data)
            if index % 2:
                damaged = damaged[:int(rng.integers(1, len(damaged)))]
            else:
                for position in rng.integers(0, len(damaged), size=6):
                    damaged[position] = int(rng.integers(256))
            path = tmp_path / f"f{index}{suffix}"
            path.write_bytes(bytes(damaged))
            try:
                load_image(path)
                outcomes["decoded"] += 1
            except ToolError:
                outcomes["refused"] += 1
    assert outcomes["refused"] > 50 and sum(outcomes.values()) == 25 * len(seeds)


def test_lattice_tool_analyses_the_centre_of_a_large_image(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    limit = 256  # MAX_ANALYSED_SIDE_PX (2048) scaled down to keep the test fast
    assert MAX_ANALYSED_SIDE_PX * _lattice_spacing.PAD_FACTOR <= _lattice_spacing.MAX_FFT_SIDE
    monkeypatch.setattr(_lattice_spacing, "MAX_ANALYSED_SIDE_PX", limit)
    image = np.full((limit + 200, limit + 300), 0.5)
    image[100:100 + limit, 150:150 + limit] = _fringes(side=limit)  # fringes only in the centre
    result = measure_lattice_spacing(image, NM_PER_PIXEL, crop_bottom_px=0)
    assert result.analysed_px == (limit, limit)
    assert any("central" in note for note in result.notes)
    assert result.spots[0].d_angstrom == pytest.approx(FRINGE_D_ANGSTROM, rel=0.001)


def test_scale_bar_in_a_very_elongated_image() -> None:
    image = np.zeros((16, 5000))
    image[7:9, 1250:3750] = 1.0  # a 2500 px bar without a label
    with pytest.raises(ToolError, match="no scale bar found"):
        calibrate_scale_bar(image)


@pytest.mark.parametrize("pixel_size_m", ["5", "1e-30"], ids=["5 m per px", "1e-21 nm per px"])
def test_impossible_metadata_pixel_size_is_ignored(tmp_path: Path, pixel_size_m: str) -> None:
    path = tmp_path / "tescan.tif"
    tifffile.imwrite(path, _noise(), extratags=[(50431, "s", 0, f"PixelSizeX={pixel_size_m}", True)])
    assert load_image(path).metadata_nm_per_pixel is not None  # the tag is read ...
    with pytest.raises(ToolError, match="ignored the pixel size in Tescan"):
        calibrate_scale_bar(path)  # ... but a corrupt value is never the answer


# --- patterns and spectra: Python calls -------------------------------------------------------------

TWO_THETA = np.round(np.linspace(20.0, 80.0, 3001), 4)
COUNTS = np.round(50 + 2000 * np.exp(-0.5 * ((TWO_THETA - 38.2) / 0.04) ** 2)
                  + 900 * np.exp(-0.5 * ((TWO_THETA - 44.4) / 0.045) ** 2), 2)
"""A two-peak pattern (Al (111) and (200) near 38.2° and 44.4°) without noise."""


def _xy(x=TWO_THETA, y=COUNTS, separator: str = " ", header: str = "# 2theta counts\n") -> str:
    return header + "".join(f"{float(a)!r}{separator}{float(b)!r}\n"
                            for a, b in zip(x, y, strict=True))


def _with_line(index: int, line: str) -> str:
    lines = _xy().splitlines(keepends=True)
    return "".join([*lines[:index], line + "\n", *lines[index + 1:]])


def _big_pattern(path: Path, points: int) -> None:
    block = "".join(f"{20 + i * 1e-5:.5f} {100 + i % 7}\n" for i in range(100_000)).encode()
    with path.open("wb") as handle:
        for _ in range(points // 100_000):
            handle.write(block)


order = np.random.default_rng(3).permutation(TWO_THETA.size)
# id, file content (None: written by _big_pattern), words the error must contain
BAD_PATTERNS: list[tuple[str, str | None, str]] = [
    ("empty", "", "no data rows"),
    ("header_only", "# 2theta counts\n# Cu Ka\n", "no data rows"),
    ("one_point", "# x y\n30.0 100\n", "at least 20 points; got 1"),
    ("nan_counts", _with_line(500, "30.0 nan"), "NaN or infinite"),
    ("inf_counts", _with_line(500, "30.0 inf"), "NaN or infinite"),
    ("nan_angle", _with_line(500, "nan 100"), "two_theta has 1 NaN"),
    ("unsorted", _xy(TWO_THETA[order], COUNTS[order]), "not sorted"),
    ("duplicated", _xy(np.repeat(TWO_THETA, 2), np.repeat(COUNTS, 2)), "duplicated"),
    ("negative", _xy(y=COUNTS - 3000), "no positive values"),
    ("mostly_negative", _xy(y=COUNTS - 500), "negative values"),
    ("non_numeric_row", _with_line(800, "30.0 n/a"), "line 801 is not two numbers"),
    ("huge_counts", _xy(y=COUNTS * 1e300), f"beyond ±{MAX_INTENSITY:g}"),
    ("radians", _xy(x=np.radians(TWO_THETA) * 100.0 + 100.0), "inside (0, 180)"),
    ("ten_million_points", None, f"at most {MAX_PATTERN_FILE_BYTES:,}"),
]
GOOD_SEPARATORS = {
    "spaces": _xy(), "tabs": _xy(separator="\t"), "commas": _xy(separator=","),
    "comma_space": _xy(separator=", "), "semicolons": _xy(separator=";"),
    "decimal_commas": _xy().replace(".", ","), "decimal_commas_semicolons":
        _xy(separator=";").replace(".", ","), "windows_lines_and_bom":
        "\ufeff" + _xy(header="").replace("\n", "\r\n"), "three_columns": _xy().replace("\n", " 1.5\n"),
}


@pytest.fixture(scope="module")
def pattern_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("patterns")
    paths = {}
    for case, text in [*[(c[0], c[1]) for c in BAD_PATTERNS], *GOOD_SEPARATORS.items(),
                       ("flat", _xy(y=np.full(TWO_THETA.size, 80.0)))]:
        paths[case] = folder / f"{case}.xy"
        if text is None:
            _big_pattern(paths[case], 10_000_000)
        else:
            paths[case].write_text(text, encoding="utf-8")
    return paths


@pytest.mark.parametrize(("case", "message"), [(c[0], c[2]) for c in BAD_PATTERNS],
                         ids=[c[0] for c in BAD_PATTERNS])
def test_bad_pattern_is_a_tool_error(pattern_files: dict[str, Path], case: str,
                                     message: str) -> None:
    with pytest.raises(ToolError) as caught:
        find_peaks(*read_xy(pattern_files[case]))
    assert message in str(caught.value)


def test_ten_million_point_file_is_refused_before_reading(pattern_files: dict[str, Path]) -> None:
    path = pattern_files["ten_million_points"]
    assert path.stat().st_size > MAX_PATTERN_FILE_BYTES
    error, heap_peak, _ = _refused_within_memory(lambda: read_xy(path))
    assert "rebin" in str(error) and heap_peak < 2**20


def test_pattern_arrays_beyond_the_point_limit_are_refused() -> None:
    x = np.linspace(5.0, 120.0, MAX_PATTERN_POINTS + 1)
    with pytest.raises(ToolError, match=f"at most {MAX_PATTERN_POINTS:,} points"):
        find_peaks(x, np.ones_like(x))


@pytest.mark.parametrize("case", list(GOOD_SEPARATORS))
def test_separators_and_decimal_commas_read_the_same_numbers(pattern_files: dict[str, Path],
                                                             case: str) -> None:
    x, y = read_xy(pattern_files[case])
    np.testing.assert_array_equal(x, TWO_THETA)
    np.testing.assert_array_equal(y, COUNTS)


def test_flat_pattern_gives_no_peaks_and_says_why(pattern_files: dict[str, Path]) -> None:
    result = find_peaks(*read_xy(pattern_files["flat"]))
    assert result.peaks == [] and any("flat" in note for note in result.notes)


def test_narrow_scan_of_one_reflection() -> None:
    x = np.linspace(43.7, 45.1, 400)
    y = 50 + 2000 * np.exp(-0.5 * ((x - 44.4) / 0.05) ** 2)
    assert [round(p.two_theta, 2) for p in find_peaks(x, y).peaks] == [44.4]


def _msa(energies: np.ndarray, counts: np.ndarray, header: str = "#BEAMKV: 20.0\n",
         separator: str = ", ") -> str:
    rows = "".join(f"{e:.4f}{separator}{c:.1f}\n" for e, c in zip(energies, counts, strict=True))
    return "#FORMAT: EMSA/MAS Spectral Data File\n" + header + rows


ENERGY = np.round(np.arange(2048) * 0.01, 4)
SPECTRUM = np.round(40 + 3000 * np.exp(-0.5 * ((ENERGY - 6.4) / 0.055) ** 2)
                    + 420 * np.exp(-0.5 * ((ENERGY - 7.06) / 0.058) ** 2), 1)
"""Fe Kα and Kβ on a flat continuum, 10 eV channels."""
BAD_SPECTRA: list[tuple[str, str, str]] = [
    ("empty", "", "no data rows"),
    ("header_only", "#FORMAT: EMSA/MAS\n#BEAMKV: 20\n", "no data rows"),
    ("one_channel", "#BEAMKV: 20\n1.0, 5\n", "at least 100 channels; got 1"),
    ("nan", _msa(ENERGY, np.where(ENERGY == 3.0, np.nan, SPECTRUM)), "NaN or infinite"),
    ("negative", _msa(ENERGY, SPECTRUM - 100), "counts must be >= 0"),
    ("unsorted", _msa(ENERGY[::-1], SPECTRUM[::-1]), "strictly increasing"),
    ("huge", _msa(ENERGY, SPECTRUM * 1e300, separator=" "), f"more than {MAX_COUNTS:g}"),
    ("text_beam_voltage", _msa(ENERGY, SPECTRUM, header="#BEAMKV: twenty kV\n"),
     "#BEAMKV header is 'twenty kV'"),
    ("too_many_channels", _msa(np.arange(MAX_CHANNELS + 1) * 0.001, np.ones(MAX_CHANNELS + 1)),
     f"at most {MAX_CHANNELS:,} channels"),
    ("electronvolts", _msa(ENERGY * 1000, SPECTRUM), "eV or channel numbers"),
]


@pytest.fixture(scope="module")
def spectrum_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("spectra")
    cases = [*[(c[0], c[1]) for c in BAD_SPECTRA], ("plain", _msa(ENERGY, SPECTRUM)),
             ("decimal_commas", _msa(ENERGY, SPECTRUM, separator=";").replace(".", ","))]
    for case, text in cases:
        (folder / f"{case}.msa").write_text(text, encoding="utf-8")
    return {case: folder / f"{case}.msa" for case, _ in cases}


@pytest.mark.parametrize(("case", "message"), [(c[0], c[2]) for c in BAD_SPECTRA],
                         ids=[c[0] for c in BAD_SPECTRA])
def test_bad_spectrum_is_a_tool_error(spectrum_files: dict[str, Path], case: str,
                                      message: str) -> None:
    with pytest.raises(ToolError) as caught:
        identify_elements(spectrum_files[case])
    assert message in str(caught.value)


def test_spectrum_with_decimal_commas_reads_like_the_plain_one(
        spectrum_files: dict[str, Path]) -> None:
    energies, counts, header = read_spectrum(spectrum_files["decimal_commas"])
    np.testing.assert_array_equal(energies, ENERGY)
    np.testing.assert_array_equal(counts, SPECTRUM)
    assert header["BEAMKV"] == "20,0"  # header text is kept as written


@pytest.mark.parametrize("value", [math.nan, math.inf, 1.0])
def test_spectrum_significance_must_be_a_finite_number_of_at_least_two(
        spectrum_files: dict[str, Path], value: float) -> None:
    with pytest.raises(ToolError, match="min_significance"):
        identify_elements(spectrum_files["plain"], min_significance=value)


# --- the same through the env: tool-error observations ----------------------------------------------

PEAK_LISTS = {
    "nan": ([28.4, math.nan], [100.0, 50.0], "finite"),
    "inf": ([28.4, 47.3], [100.0, math.inf], "finite"),
    "negative": ([28.4, 47.3], [100.0, -5.0], ">= 0"),
    "outside_range": ([28.4, 190.0], [100.0, 50.0], "(0, 180)"),
    "too_many": (list(np.linspace(10, 100, 501)), [1.0] * 501, "at most 500 peaks"),
    "lengths_differ": ([28.4, 47.3], [100.0], "same length"),
}


@pytest.fixture(scope="module")
def env(image_files: dict[str, Path], pattern_files: dict[str, Path],
        spectrum_files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> CSMBenchEnv:
    """One episode per kind, each attachment a pathological file (the id is the case)."""
    writer = DatasetWriter(tmp_path_factory.mktemp("data"), name="pathological", seed=0)
    for item_id, kind, files in (("images", "image", image_files),
                                 ("patterns", "pattern", pattern_files),
                                 ("spectra", "spectrum", spectrum_files)):
        assets = [writer.add_asset(item_id, case, kind, path.suffix,
                                   lambda target, source=path: target.write_bytes(source.read_bytes()))
                  for case, path in files.items()]
        writer.add_item(Item(id=item_id, source="generated", scale="Mesoscale", family="test.bad",
                             question="What does it show?", attachments=assets,
                             answer=Numeric(value=1.0, unit="nm", rel_tol=0.1)))
    return CSMBenchEnv(writer.close(generators={"test": "1"}), max_steps=100)


def _step(env: CSMBenchEnv, item_id: str, name: str, arguments: dict) -> ToolResult:
    env.reset(options={"item_id": item_id})
    _, reward, terminated, truncated, info = env.step(ToolCall(name=name, arguments=arguments))
    assert (reward, terminated, truncated) == (0.0, False, False)  # the episode goes on
    [result] = info["observation"].tool_results
    return result


def _assert_tool_error(result: ToolResult, message: str) -> None:
    assert not result.ok and not result.internal_error, result.error
    assert message in result.error


@pytest.mark.parametrize(("case", "message"),
                         [(c[0], c[3]) for c in BAD_IMAGE_FILES]
                         + [(c[0], c[3][0]) for c in DEGENERATE_IMAGES],
                         ids=[c[0] for c in BAD_IMAGE_FILES + DEGENERATE_IMAGES])
def test_env_bad_image_is_a_tool_error_observation(env: CSMBenchEnv, case: str,
                                                   message: str) -> None:
    for name, (arguments, _) in IMAGE_TOOLS.items():
        result = _step(env, "images", name, {"image": case, **arguments})
        _assert_tool_error(result, DEGENERATE_MESSAGES.get(case, {}).get(name, message))


@pytest.mark.parametrize("case", [c[0] for c in GOOD_FORMATS])
def test_env_unusual_format_is_measured(env: CSMBenchEnv, case: str) -> None:
    result = _step(env, "images", "measure_lattice_spacing",
                   {"image": case, "nm_per_pixel": NM_PER_PIXEL, "crop_bottom_px": 0})
    assert result.ok, result.error
    assert result.content["spots"][0]["d_angstrom"] == pytest.approx(FRINGE_D_ANGSTROM, rel=0.01)


@pytest.mark.parametrize(("case", "message"), [(c[0], c[2]) for c in BAD_PATTERNS],
                         ids=[c[0] for c in BAD_PATTERNS])
def test_env_bad_pattern_is_a_tool_error_observation(env: CSMBenchEnv, case: str,
                                                     message: str) -> None:
    _assert_tool_error(_step(env, "patterns", "find_peaks", {"pattern": case}), message)


def test_env_finds_the_peaks_of_a_decimal_comma_pattern(env: CSMBenchEnv) -> None:
    result = _step(env, "patterns", "find_peaks", {"pattern": "decimal_commas"})
    assert result.ok, result.error
    assert [round(p["two_theta"], 2) for p in result.content["peaks"]] == [38.2, 44.4]


@pytest.mark.parametrize(("case", "message"), [(c[0], c[2]) for c in BAD_SPECTRA],
                         ids=[c[0] for c in BAD_SPECTRA])
def test_env_bad_spectrum_is_a_tool_error_observation(env: CSMBenchEnv, case: str,
                                                      message: str) -> None:
    _assert_tool_error(_step(env, "spectra", "identify_elements", {"spectrum": case}), message)


def test_env_identifies_iron_in_a_decimal_comma_spectrum(env: CSMBenchEnv) -> None:
    result = _step(env, "spectra", "identify_elements", {"spectrum": "decimal_commas"})
    assert result.ok, result.error
    assert [e["element"] for e in result.content["elements"]][:1] == ["Fe"]


@pytest.mark.parametrize("case", list(PEAK_LISTS))
def test_bad_peak_list_is_a_tool_error(env: CSMBenchEnv, case: str) -> None:
    positions, heights, message = PEAK_LISTS[case]
    with pytest.raises(ToolError) as caught:
        identify_phase(positions, heights)
    assert message in str(caught.value)
    arguments = {"peaks_two_theta": positions, "peaks_intensity": heights}
    # the registry as the env runs it (the env itself refuses NaN and inf in any action)
    call = ToolCall(name="identify_phase", arguments=arguments)
    _assert_tool_error(REGISTRY.call(call, ToolContext.from_files({})), message)
    if all(map(math.isfinite, positions + heights)):
        _assert_tool_error(_step(env, "patterns", "identify_phase", arguments), message)


def test_empty_peak_list_gives_no_match_and_says_why(env: CSMBenchEnv) -> None:
    result = _step(env, "patterns", "identify_phase", {"peaks_two_theta": [],
                                                       "peaks_intensity": []})
    assert result.ok and result.content["matches"] == []
    assert "the peak list is empty" in result.content["notes"]
