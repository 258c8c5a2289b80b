"""Tests for scale-bar calibration: real SEM images, drawn bars, label parsing, errors."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from csmbench.errors import ToolError
from csmbench.tools._image_io import load_image, to_gray
from csmbench.tools._scale_bar import calibrate_scale_bar, parse_scale_label

FONT = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
MICRO = "\u00b5"

# Instrument pixel sizes (nm/px) and printed labels, from MANIFEST.md section 1a.
REAL_CASES = [
    ("Zeiss_1.tif", 5.86, 1.0, "µm"),
    ("Zeiss_2.tif", 293.1, 20.0, "µm"),
    ("Zeiss_3.tif", 2.93, 200.0, "nm"),
    ("Tescan_2_8bit.png", 242.063904, 100.0, "µm"),
]
BAR_TOLERANCE = 0.03
METADATA_TOLERANCE = 0.005


@pytest.mark.parametrize(
    ("name", "nm_per_px", "value", "unit"), REAL_CASES, ids=[c[0] for c in REAL_CASES]
)
def test_real_bar_from_pixels(realdata: Path, name: str, nm_per_px: float, value: float, unit: str) -> None:
    pixels = to_gray(np.asarray(Image.open(realdata / "sem_scale_bar" / name)))
    reading = calibrate_scale_bar(pixels)
    assert reading.method == "scale_bar"
    assert (reading.value, reading.unit) == (value, unit)
    assert reading.nm_per_pixel == pytest.approx(nm_per_px, rel=BAR_TOLERANCE)
    assert reading.agrees_with_metadata is None


@pytest.mark.parametrize(
    ("name", "nm_per_px", "value", "unit"), REAL_CASES[:3], ids=[c[0] for c in REAL_CASES[:3]]
)
def test_real_zeiss_metadata(realdata: Path, name: str, nm_per_px: float, value: float, unit: str) -> None:
    reading = calibrate_scale_bar(realdata / "sem_scale_bar" / name)
    assert reading.method == "metadata"
    assert reading.nm_per_pixel == pytest.approx(nm_per_px, rel=METADATA_TOLERANCE)
    assert reading.bar_nm_per_pixel == pytest.approx(nm_per_px, rel=BAR_TOLERANCE)
    assert reading.agrees_with_metadata is True
    assert (reading.value, reading.unit) == (value, unit)


def test_real_metadata_ignored_when_asked(realdata: Path) -> None:
    zeiss = load_image(realdata / "sem_scale_bar" / "Zeiss_1.tif")
    reading = calibrate_scale_bar(zeiss, use_metadata=False)
    assert reading.method == "scale_bar"
    assert reading.agrees_with_metadata is None


@pytest.mark.parametrize("misread", ["1 m", "1 jm"], ids=["m", "jm"])
def test_real_databar_micro_recovered_from_context(realdata: Path, misread: str) -> None:
    """Zeiss_1 with its "1 µm" label repainted as a typical µ misread; the databar also
    prints "Aperture Size = 30.00 µm", so µm is recovered from context, with a note."""
    image = Image.open(realdata / "sem_scale_bar" / "Zeiss_1.tif").convert("L")
    draw = ImageDraw.Draw(image)
    draw.rectangle((131, 700, 180, 724), fill=0)  # the printed label, above the bar
    draw.text((134, 704), misread, fill=255, font=ImageFont.truetype(str(FONT), 14))
    reading = calibrate_scale_bar(to_gray(np.asarray(image)))
    assert (reading.value, reading.unit) == (1.0, "µm")
    assert reading.nm_per_pixel == pytest.approx(5.86, rel=BAR_TOLERANCE)
    assert reading.confidence <= 0.7
    assert any("context" in note for note in reading.notes)


# --- drawn bars --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Drawn:
    """A synthetic micrograph and the truth it was drawn with."""

    pixels: np.ndarray
    length_px: float
    value: float
    unit: str


def _texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Smooth random 'micrograph' in 0.2..0.8 (uint8-like float)."""
    coarse = rng.uniform(0.2, 0.8, size=(height // 16 + 2, width // 16 + 2))
    return np.asarray(Image.fromarray(coarse).resize((width, height), Image.BILINEAR))[
        :height, :width
    ]


def _draw(
    *,
    width: int = 1024,
    length: int = 300,
    thickness: int = 4,
    ticks: bool = False,
    light: bool = True,
    databar: bool = True,
    label: str = "500 nm",
    distractor: bool = True,
    seed: int = 0,
) -> tuple[Image.Image, int]:
    """Draw an image with a bar; returns it and the true length (ticks: centre to centre)."""
    height = int(width * 0.75)
    rng = np.random.default_rng(seed)
    image = Image.fromarray(np.round(_texture(rng, height, width) * 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    ink, paper = (255, 20) if light else (0, 235)
    strip_top = height - height // 8
    x0, bar_y = width // 5, height - height // 16
    if databar:
        draw.rectangle((0, strip_top, width - 1, height - 1), fill=paper)
        if distractor:  # a separator line spanning the full width, longer than the bar
            draw.rectangle((0, strip_top + 3, width - 1, strip_top + 4), fill=ink)
    else:
        x0, bar_y = width // 2, height // 3  # straight on the micrograph, no backing box
    font = ImageFont.truetype(str(FONT), max(12, height // 40))
    if ticks:  # 2-px ticks centred at x0 + 0.5 and x0 + length + 0.5
        tick = 3 * thickness + 4
        for x in (x0, x0 + length):
            draw.rectangle((x, bar_y - tick, x + 1, bar_y + thickness - 1 + tick), fill=ink)
        draw.rectangle((x0, bar_y, x0 + length + 1, bar_y + thickness - 1), fill=ink)
    else:
        draw.rectangle((x0, bar_y, x0 + length - 1, bar_y + thickness - 1), fill=ink)
    text_y = bar_y - font.size - 3 * thickness - 12
    draw.text((x0 + length // 3, text_y), label, fill=ink, font=font)
    if distractor and not databar:
        draw.rectangle((0, height // 5, width - 1, height // 5 + 2), fill=ink)
    return image, length


def _drawn(image: Image.Image, length: int, label: str, jpeg_quality: int | None = None) -> Drawn:
    if jpeg_quality is not None:
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=jpeg_quality)
        image = Image.open(io.BytesIO(buffer.getvalue()))
    value, unit = parse_scale_label(label) or (0.0, "")
    return Drawn(to_gray(np.asarray(image)), float(length), value, unit)


DRAWN_CASES = {
    "light-databar-no-ticks": {"length": 300, "label": "500 nm"},
    "dark-databar-ticks": {
        "length": 251,
        "ticks": True,
        "light": False,
        "label": "2 µm",
        "width": 2048,
    },
    "thin-2px-on-image": {
        "length": 120,
        "thickness": 2,
        "databar": False,
        "label": "50 µm",
        "width": 512,
    },
    "thick-dark-on-image-ticks": {
        "length": 410,
        "thickness": 10,
        "ticks": True,
        "light": False,
        "databar": False,
        "label": "1 mm",
    },
}


@pytest.mark.parametrize("case", list(DRAWN_CASES), ids=list(DRAWN_CASES))
def test_drawn_bar_length_exact(case: str) -> None:
    options = DRAWN_CASES[case]
    drawn = _drawn(*_draw(**options), options["label"])
    reading = calibrate_scale_bar(drawn.pixels)
    assert (reading.value, reading.unit) == (drawn.value, drawn.unit)
    assert reading.bar_length_px == pytest.approx(drawn.length_px, abs=1.0)
    nm = {"nm": 1.0, "µm": 1e3, "mm": 1e6}[drawn.unit]
    assert reading.nm_per_pixel == pytest.approx(drawn.value * nm / drawn.length_px, rel=0.01)


@pytest.mark.parametrize("quality", [60, 85], ids=["q60", "q85"])
def test_drawn_bar_survives_jpeg(quality: int) -> None:
    image, length = _draw(length=333, ticks=True, label="10 µm", seed=3)
    drawn = _drawn(image, length, "10 µm", jpeg_quality=quality)
    reading = calibrate_scale_bar(drawn.pixels)
    assert reading.bar_length_px == pytest.approx(length, abs=1.0)
    assert (reading.value, reading.unit) == (10.0, "µm")


def test_drawn_bar_ignores_full_width_line() -> None:
    image, length = _draw(length=200, label="100 nm", seed=5)
    reading = calibrate_scale_bar(_drawn(image, length, "100 nm").pixels)
    assert reading.bbox[2] - reading.bbox[0] == 200  # not the 1024-px separator


def test_misread_micro_is_flagged_not_silent() -> None:
    image, length = _draw(length=250, label="1 jm", seed=7)
    reading = calibrate_scale_bar(_drawn(image, length, "1 jm").pixels)
    assert reading.unit == "µm"
    assert reading.confidence <= 0.7
    assert any(MICRO in note and "recovered" in note for note in reading.notes)


# --- label parsing -----------------------------------------------------------------------------

LABELS = [
    ("1 µm", (1.0, "µm")),
    ("1μm", (1.0, "µm")),
    ("1 um", (1.0, "µm")),
    ("500nm", (500.0, "nm")),
    ("0.5 mm", (0.5, "mm")),
    ("2,5 µm", (2.5, "µm")),
    ("100 µm", (100.0, "µm")),
    ("Mag = 50.00 K X 1 μm", (1.0, "µm")),
    ("1,000 nm", (1000.0, "nm")),
    ("5 Å", (5.0, "Å")),
    ("Photo No. = 122", None),
    ("µm", None),
    ("garbage ###", None),
    ("30 keV", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "expected"), LABELS, ids=[repr(text) for text, _ in LABELS])
def test_parse_scale_label(text: str, expected: tuple[float, str] | None) -> None:
    assert parse_scale_label(text) == expected


# --- errors ------------------------------------------------------------------------------------


def test_error_corrupt_png(tmp_path: Path) -> None:
    path = tmp_path / "broken.png"
    buffer = io.BytesIO()
    Image.new("L", (64, 64)).save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue()[:60])
    with pytest.raises(ToolError, match="cannot decode"):
        calibrate_scale_bar(path)


def test_error_text_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("this is not an image\n")
    with pytest.raises(ToolError, match="expected a readable"):
        calibrate_scale_bar(path)


def test_error_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="does not exist"):
        calibrate_scale_bar(tmp_path / "nope.tif")


def test_error_all_black() -> None:
    with pytest.raises(ToolError, match="no contrast"):
        calibrate_scale_bar(np.zeros((256, 256), dtype=np.uint8))


def test_error_tiny_array() -> None:
    with pytest.raises(ToolError, match="at least 8 pixels"):
        calibrate_scale_bar(np.ones((1, 1)))


def test_error_no_bar() -> None:
    rng = np.random.default_rng(1)
    with pytest.raises(ToolError, match="no scale bar found"):
        calibrate_scale_bar(_texture(rng, 384, 512))


def test_error_bar_without_label() -> None:
    image, _ = _draw(length=200, label="", distractor=False)
    with pytest.raises(ToolError, match="readable length label"):
        calibrate_scale_bar(np.asarray(image))


def test_bare_m_is_not_guessed_as_micro() -> None:
    """'200 m' may be '200 µm' or '200 nm' with a letter lost: with no µm elsewhere in the
    image both are possible pixel sizes, so the tool must not pick one."""
    image, length = _draw(length=250, label="200 m", seed=9)
    with pytest.raises(ToolError, match="OCR misread"):
        calibrate_scale_bar(_drawn(image, length, "200 m").pixels)


def test_label_glued_to_a_neighbouring_field_is_split() -> None:
    """A JEOL-like line 'x565 50 µm' next to the bar: OCR may join '565' and '50'; the label
    is the word pair nearest the bar, not '56550 µm'."""
    from csmbench.episodes.generators import BAR_STYLES, item_rng, synthesize_micrograph

    rng = item_rng(2026, "bench.scale_bar", 153)  # a JEOL strip with 'x565' before '50 μm'
    micrograph = synthesize_micrograph(rng, style=BAR_STYLES[153 % len(BAR_STYLES)])
    reading = calibrate_scale_bar(to_gray(micrograph.pixels))
    assert (reading.value, reading.unit) == (micrograph.value, micrograph.unit)
    assert reading.nm_per_pixel == pytest.approx(micrograph.nm_per_pixel, rel=0.01)


@pytest.mark.parametrize("value,round_", [(50, True), (550, False), (2.5, True), (0.25, True),
                                          (300, True), (150, False), (0, False)],
                         ids=lambda v: str(v))
def test_round_bar_values_guard_the_dropped_digit_reread(value: float, round_: bool) -> None:
    """A re-read that turns "50 µm" into "550 µm" (a neighbour's digit) is refused."""
    from csmbench.tools._scale_bar_label import _round_bar_value

    assert _round_bar_value(value) is round_
