"""Synthetic micrographs: reproducibility, exact bar geometry, coverage, fonts and file formats."""

from __future__ import annotations

import dataclasses
import io
import math

import numpy as np
import pint
import pytest
import tifffile
from PIL import Image, ImageDraw

from csmbench.episodes.generators._bar_design import (
    BAR_STYLES,
    DATABAR_STYLES,
    NM_PER_PIXEL_RANGE,
    random_design,
)
from csmbench.episodes.generators._bar_draw import layout_block
from csmbench.episodes.generators._bar_fonts import (
    GREEK_MU,
    MICRO_SIGN,
    cap_height_px,
    load_font,
    usable_fonts,
)
from csmbench.episodes.generators._databar_text import field_width_nm, format_length, magnification
from csmbench.episodes.generators._micrograph import render_specimen
from csmbench.episodes.generators._scale_bar_render import (
    SyntheticMicrograph,
    encode_micrograph,
    random_modality,
    render_micrograph,
    save_micrograph,
    synthesize_micrograph,
)

FORMATS = ("png", "jpeg", "tiff")
UREG = pint.UnitRegistry()


def _micrograph(seed: int, **kwargs) -> SyntheticMicrograph:
    return synthesize_micrograph(np.random.default_rng(seed), **kwargs)


def _ink(m: SyntheticMicrograph) -> int:
    return 255 if m.design.light_on_dark else 0


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of the runs of True in a 1-D mask."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def measure_bar(m: SyntheticMicrograph) -> tuple[int, tuple[int, int, int, int]]:
    """Length and bbox of the bar measured from the pixels alone, near the claimed bbox.

    The bar rows are the rows whose longest run of ink is the widest; the bar's extent is
    that run. The ticks are the rows joined to the bar with ink at both ends of the run;
    the length is then the distance between the centres of the two tick column groups.
    """
    ink = m.pixels == _ink(m)
    _, y0, _, y1 = m.bar_bbox
    pad = 12
    rows = range(max(y0 - pad, 0), min(y1 + pad, ink.shape[0]))
    longest = {r: max((b - a for a, b in _runs(ink[r])), default=0) for r in rows}
    widest = max(longest.values())
    bar_rows = [r for r in rows if longest[r] == widest]
    start, stop = max(_runs(ink[bar_rows[0]]), key=lambda run: run[1] - run[0])
    window = ink[:, start:stop]
    top, bottom = bar_rows[0], bar_rows[-1] + 1
    while top > 0 and window[top - 1, 0] and window[top - 1, -1]:
        top -= 1
    while bottom < ink.shape[0] and window[bottom, 0] and window[bottom, -1]:
        bottom += 1
    tick_rows = [r for r in range(top, bottom) if r not in bar_rows]
    if not m.design.ticks:
        return stop - start, (start, top, stop, bottom)
    columns = np.flatnonzero(window[tick_rows].all(axis=0)) + start
    groups = _runs(np.isin(np.arange(start, stop), columns))
    (a0, a1), (b0, b1) = groups[0], groups[-1]
    centre_left, centre_right = start + (a0 + a1 - 1) / 2, start + (b0 + b1 - 1) / 2
    return round(centre_right - centre_left), (start, top, stop, bottom)


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_seed_gives_identical_micrograph_and_bytes(fmt: str, tmp_path) -> None:
    first, second = _micrograph(3, width_px=512), _micrograph(3, width_px=512)
    assert first == second
    save_micrograph(first, tmp_path / "a", fmt)
    save_micrograph(second, tmp_path / "b", fmt)
    save_micrograph(first, tmp_path / "c", fmt)
    data = (tmp_path / "a").read_bytes()
    assert data == (tmp_path / "b").read_bytes() == (tmp_path / "c").read_bytes()


def test_different_seeds_give_different_micrographs() -> None:
    first, second = _micrograph(1, width_px=512), _micrograph(2, width_px=512)
    assert first != second
    assert first.pixels.shape != second.pixels.shape or not np.array_equal(
        first.pixels, second.pixels
    )


CASES = [(style, seed) for style in BAR_STYLES for seed in range(4)]


@pytest.mark.parametrize(("style", "seed"), CASES, ids=[f"{s}-{n}" for s, n in CASES])
def test_bar_is_drawn_where_and_as_long_as_claimed(style: str, seed: int) -> None:
    width = (512, 700, 1024, 900)[seed]
    m = _micrograph(seed, width_px=width, style=style)
    length, bbox = measure_bar(m)
    assert bbox == m.bar_bbox
    assert length == m.bar_length_px
    x0, _, x1, _ = m.bar_bbox
    expected = m.bar_length_px + (m.design.tick_width_px if m.design.ticks else 0)
    assert x1 - x0 == expected


@pytest.mark.parametrize("seed", range(6))
def test_pixel_size_is_exact_and_plausible(seed: int) -> None:
    m = _micrograph(seed + 20, width_px=512)
    value_nm = UREG.Quantity(m.value, m.unit.replace(MICRO_SIGN, "u")).to("nm").magnitude
    assert math.isclose(m.nm_per_pixel * m.bar_length_px, value_nm, rel_tol=1e-12)
    lo, hi = NM_PER_PIXEL_RANGE[m.modality]
    assert lo <= m.nm_per_pixel <= hi
    assert m.label_text.startswith(f"{m.value:g}")
    assert m.label_text.endswith(m.design.unit_text)


def test_designs_cover_every_style_unit_spelling_and_modality() -> None:
    rng = np.random.default_rng(0)
    styles, spellings, spaces, positions, ticks, thick = set(), set(), set(), set(), set(), set()
    for index in range(300):
        modality = ("sem", "tem", "optical")[index % 3]
        width = int(rng.integers(512, 2049))
        d = random_design(rng, width_px=width, modality=modality)
        styles.add(d.style)
        spellings.add(d.unit_text)
        spaces.add(d.label_space)
        positions.add(d.label_position)
        ticks.add(d.ticks)
        thick.add(d.thickness_px > 2)
        assert max(40, 0.10 * width) <= d.length_px <= 0.35 * width
        assert d.tick_width_px % 2 == 1 and d.tick_height_px > d.thickness_px
        assert cap_height_px(d.font_file, d.font_px) >= 12 * width / 512
    assert styles == set(BAR_STYLES)
    assert spellings == {"nm", MICRO_SIGN + "m", GREEK_MU + "m", "um", "mm"}
    assert spaces == ticks == thick == {True, False}
    assert positions == {"above", "below", "left", "right"}
    modalities = {random_modality(rng) for _ in range(60)}
    assert modalities == {"sem", "tem", "optical"}


def _flat_overlay(unit_text: str, unit: str) -> SyntheticMicrograph:
    design = random_design(np.random.default_rng(5), width_px=640, modality="sem", style="overlay")
    design = dataclasses.replace(
        design,
        unit_text=unit_text,
        unit=unit,
        backing_box=False,
        light_on_dark=True,
        label_position="above",
    )
    return render_micrograph(np.full((480, 640), 0.5), design, "sem")


def _label_crop(m: SyntheticMicrograph) -> tuple[np.ndarray, np.ndarray]:
    """(label ink region as drawn, the same region with label_text drawn independently)."""
    layout = layout_block(m.design)
    ox, oy = m.bar_bbox[0] - layout.bar[0], m.bar_bbox[1] - layout.bar[1]
    x0, y0, x1, y1 = (
        ox + layout.label_ink[0],
        oy + layout.label_ink[1],
        ox + layout.label_ink[2],
        oy + layout.label_ink[3],
    )
    expected = Image.new("L", (m.pixels.shape[1], m.pixels.shape[0]), int(m.pixels[0, 0]))
    font = load_font(m.design.font_file, m.design.font_px)
    ImageDraw.Draw(expected).text(
        (ox + layout.label_xy[0], oy + layout.label_xy[1]),
        m.label_text,
        fill=255,
        font=font,
        anchor="ls",
    )
    return m.pixels[y0:y1, x0:x1], np.asarray(expected)[y0:y1, x0:x1]


def test_label_region_shows_the_label_text() -> None:
    micro, nano = _flat_overlay(MICRO_SIGN + "m", MICRO_SIGN + "m"), _flat_overlay("nm", "nm")
    assert micro.label_text.endswith(MICRO_SIGN + "m") and nano.label_text.endswith("nm")
    micro_crop, micro_expected = _label_crop(micro)
    nano_crop, nano_expected = _label_crop(nano)
    assert (micro_crop > 200).sum() > 20, "the label region holds ink"
    assert np.array_equal(micro_crop, micro_expected)
    assert np.array_equal(nano_crop, nano_expected)
    assert micro_crop.shape != nano_crop.shape or not np.array_equal(micro_crop, nano_crop)
    assert measure_bar(micro)[0] == measure_bar(nano)[0] == micro.bar_length_px


def _glyph(font_file: str, char: str) -> np.ndarray:
    image = Image.new("L", (80, 80), 0)
    ImageDraw.Draw(image).text((10, 60), char, fill=255, font=load_font(font_file, 40), anchor="ls")
    return np.asarray(image)


@pytest.mark.parametrize("font_file", usable_fonts())
def test_fonts_draw_both_micro_glyphs_not_tofu(font_file: str) -> None:
    notdef = _glyph(font_file, "\U0010fffd")
    for char in (MICRO_SIGN, GREEK_MU):
        glyph = _glyph(font_file, char)
        assert glyph.sum() > 0
        assert not np.array_equal(glyph, notdef), f"{font_file} draws {char!r} as .notdef"


def test_usable_fonts_offer_variety() -> None:
    assert len(usable_fonts()) >= 4


@pytest.mark.parametrize("fmt", FORMATS)
def test_saved_files_reload_to_the_pixels(fmt: str, tmp_path) -> None:
    m = _micrograph(7, width_px=600)
    path = tmp_path / f"m.{fmt}"
    save_micrograph(m, path, fmt)
    if fmt == "tiff":
        loaded = tifffile.imread(path)
    else:
        loaded = np.asarray(Image.open(path).convert("L"))
    assert loaded.shape == m.pixels.shape
    if fmt == "jpeg":
        error = np.abs(loaded.astype(int) - m.pixels.astype(int))
        assert error.mean() < 2.0
    else:
        assert np.array_equal(loaded, m.pixels)


def test_tiff_has_no_volatile_tags() -> None:
    data = encode_micrograph(np.zeros((8, 8), dtype=np.uint8), "tiff")
    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        tags = {tag.code for tag in tif.pages[0].tags.values()}
    assert not tags & {270, 305, 306}, "no description, software or date-time"


def test_databar_styles_append_a_strip_below_the_specimen() -> None:
    for style in DATABAR_STYLES:
        m = _micrograph(11, width_px=512, style=style, modality="sem")
        x0, y0, x1, y1 = m.specimen_bbox
        assert (x0, y0, x1) == (0, 0, m.pixels.shape[1]) and y1 < m.pixels.shape[0]
        assert m.bar_bbox[1] >= y1


@pytest.mark.parametrize("style", ["zeiss", "fei", "tescan"])
def test_databar_has_lines_longer_than_the_bar(style: str) -> None:
    m = _micrograph(12, width_px=800, style=style, modality="sem")
    strip = m.pixels[m.specimen_bbox[3] :]
    longest = max(
        max((b - a for a, b in _runs(row == value)), default=0)
        for row in strip
        for value in np.unique(row)
    )
    assert longest > m.bar_bbox[2] - m.bar_bbox[0]


def test_field_width_and_magnification_follow_the_pixel_size() -> None:
    d = random_design(np.random.default_rng(2), width_px=1000, modality="sem", style="zeiss")
    assert math.isclose(field_width_nm(d), 1000 * d.value_nm / d.length_px)
    assert math.isclose(magnification(d) * field_width_nm(d), 127e6)
    assert format_length(12_345.0) == f"12.3 {MICRO_SIGN}m"
    assert format_length(999_600.0) == "1 mm"
    assert format_length(254.0, "u") == "254 nm"


@pytest.mark.parametrize("modality", ["sem", "tem", "optical"])
def test_specimen_is_textured_and_in_range(modality: str) -> None:
    image = render_specimen(modality, 192, 256, np.random.default_rng(0))
    assert image.shape == (192, 256) and image.dtype == np.float64
    assert 0.0 <= image.min() and image.max() <= 1.0
    assert image.std() > 0.05
    again = render_specimen(modality, 192, 256, np.random.default_rng(0))
    assert np.array_equal(image, again)


def test_bad_arguments_are_rejected() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="modality"):
        render_specimen("xray", 64, 64, rng)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="width_px"):
        random_design(rng, width_px=100, modality="sem")
    with pytest.raises(ValueError, match="style"):
        synthesize_micrograph(rng, width_px=512, style="hitachi")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="format"):
        encode_micrograph(np.zeros((4, 4), dtype=np.uint8), "gif")  # type: ignore[arg-type]
