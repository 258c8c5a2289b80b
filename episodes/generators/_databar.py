"""Instrument data strips (databars) drawn below the specimen, in four vendors' layouts.

- Zeiss: black strip with a grey frame, three rows of "Name = value" fields, the bar with
  end ticks and its label above it, the institute name at the right behind a separator.
- FEI / Thermo: black table, one cell per field (header over value: HV, mag, WD, HFW, det),
  grey cell borders spanning the strip, the bar in the rightmost cell.
- Tescan: dark grey table of two rows of header/value cells, long horizontal separators
  spanning the strip, a logo cell, the bar with upward ticks and the label above it.
- JEOL: black strip, one line "SEI 15kV WD10mm SS30 x5,000", the bar with the label beside.

Separators and frames are long straight lines too, so the longest line is often not the bar.
"""

from __future__ import annotations

from PIL import Image, ImageDraw

from ._bar_design import ScaleBarDesign
from ._bar_draw import Box, draw_block, draw_text, fill_box, layout_block, text_width
from ._bar_fonts import cap_height_px
from ._databar_text import (
    fei_mag,
    field_width_nm,
    format_length,
    hv_text,
    jeol_mag,
    magnification,
    micro_spelling,
    tescan_mag,
    zeiss_mag,
)

Cell = tuple[str, str]
"""(header, value) of a table cell."""

WHITE, BLACK = 255, 0
ZEISS_FRAME_GREY, ZEISS_FRAME_PX = 190, 2
FEI_LINE_GREY = 150
TESCAN_BACKGROUND, TESCAN_LINE, TESCAN_HEADER, TESCAN_LOGO = 53, 99, 118, 120
ROW_HEIGHT_FRACTION = 1.45
"""Text row height as a multiple of the field font size."""


def _metrics(design: ScaleBarDesign) -> tuple[int, int, int]:
    """(text row height, padding, cap height) for the field font, px."""
    f = design.field_font_px
    return (
        round(ROW_HEIGHT_FRACTION * f),
        max(3, round(0.45 * f)),
        cap_height_px(design.font_file, f),
    )


def _hfw(design: ScaleBarDesign) -> str:
    return format_length(field_width_nm(design), micro_spelling(design))


def _baseline(top: int, height: int, cap: int) -> int:
    """Baseline that centres capitals vertically in a row."""
    return top + (height + cap) // 2


def _write(
    draw: ImageDraw.ImageDraw,
    design: ScaleBarDesign,
    xy: tuple[float, float],
    text: str,
    value: int = WHITE,
    anchor: str = "ls",
    scale: float = 1.0,
) -> None:
    draw_text(draw, xy, text, design.font_file, round(design.field_font_px * scale), value, anchor)


def _width(design: ScaleBarDesign, text: str, scale: float = 1.0) -> int:
    return text_width(text, design.font_file, round(design.field_font_px * scale))


def _zeiss_columns(design: ScaleBarDesign) -> tuple[list[str], list[list[str]]]:
    """(left column, columns right of the bar) of Zeiss fields."""
    f = design.fields
    left = [f"Mag = {zeiss_mag(magnification(design))}", f"{f.instrument}", f"Date :{f.date}"]
    right = [
        [f"Signal A = {f.detector}", f"Width = {_hfw(design)}", f"EHT = {hv_text(design)}"],
        [f"WD = {f.wd_mm:.1f} mm", f"Photo No. = {f.photo_no}"],
    ]
    return left, right


def _zeiss(design: ScaleBarDesign) -> tuple[Image.Image, Box]:
    width, frame = design.image_width_px, ZEISS_FRAME_PX
    row, pad, cap = _metrics(design)
    block = layout_block(design)
    height = max(3 * row, block.height + row) + 2 * pad + 2 * frame
    image = Image.new("L", (width, height), BLACK)
    draw = ImageDraw.Draw(image)
    for box in (
        (0, 0, width, frame),
        (0, height - frame, width, height),
        (0, 0, frame, height),
        (width - frame, 0, width, height),
    ):
        fill_box(draw, box, ZEISS_FRAME_GREY)
    top, gap, right_edge = frame + pad, 2 * design.field_font_px, width - frame - pad
    baselines = [_baseline(top + i * row, row, cap) for i in range(3)]
    left, columns = _zeiss_columns(design)
    x = frame + pad
    if x + max(_width(design, t) for t in left) + gap + block.width <= right_edge:
        x = _column(draw, design, x, baselines, left) + gap
    centre = top + row + row // 2
    y = min(
        max(centre - (block.bar[1] + block.bar[3]) // 2, frame + 1),
        height - frame - block.height - 1,
    )
    bar = draw_block(draw, design, block, (x, y), WHITE)
    x += block.width + gap
    institute = design.fields.institute.split(" ")
    lines = [
        " ".join(institute[: (len(institute) + 1) // 2]),
        " ".join(institute[(len(institute) + 1) // 2 :]),
    ]
    inst_w = max(_width(design, t, 1.2) for t in lines)
    inst_x = right_edge - inst_w
    if inst_x - gap >= x:
        fill_box(
            draw, (inst_x - pad - 1, frame, inst_x - pad + 1, height - frame), ZEISS_FRAME_GREY
        )
        for line, baseline in zip(lines, (baselines[0] + row // 3, baselines[1] + row // 2)):
            _write(draw, design, (inst_x, baseline), line, scale=1.2)
        right_edge = inst_x - gap
    for column in columns:
        if x + max(_width(design, t) for t in column) > right_edge:
            break
        x = _column(draw, design, x, baselines, column) + gap
    return image, bar


def _column(
    draw: ImageDraw.ImageDraw,
    design: ScaleBarDesign,
    x: int,
    baselines: list[int],
    lines: list[str],
) -> int:
    """Write lines left-aligned at x on the given baselines; return the column's right edge."""
    for line, baseline in zip(lines, baselines):
        _write(draw, design, (x, baseline), line)
    return x + max(_width(design, t) for t in lines)


def _fit_cells(
    design: ScaleBarDesign, cells: list[Cell], available: int, pad: int
) -> list[tuple[Cell, int]]:
    """Cells (dropping trailing ones) with widths that fill exactly `available` px."""
    natural = [max(_width(design, h), _width(design, v)) + 4 * pad for h, v in cells]
    while cells and sum(natural) > available:
        cells, natural = cells[:-1], natural[:-1]
    if not cells:
        return []
    extra = available - sum(natural)
    widths = [w + extra // len(cells) for w in natural]
    widths[-1] += available - sum(widths)
    return list(zip(cells, widths))


def _cell_row(
    draw: ImageDraw.ImageDraw,
    design: ScaleBarDesign,
    cells: list[tuple[Cell, int]],
    x0: int,
    y0: int,
    y1: int,
    colours: tuple[int, int, int],
) -> int:
    """Draw header/value cells from x0 with separators left of each; return the right edge."""
    row, _, cap = _metrics(design)
    line, header_grey, value_grey = colours
    header_top = y0 + (y1 - y0 - 2 * row) // 2
    for (header, value), width in cells:
        fill_box(draw, (x0, y0, x0 + 1, y1), line)
        centre = x0 + width // 2
        _write(draw, design, (centre, _baseline(header_top, row, cap)), header, header_grey, "ms")
        _write(
            draw, design, (centre, _baseline(header_top + row, row, cap)), value, value_grey, "ms"
        )
        x0 += width
    return x0


def _fei(design: ScaleBarDesign) -> tuple[Image.Image, Box]:
    width = design.image_width_px
    row, pad, _ = _metrics(design)
    block = layout_block(design)
    height = max(2 * row, block.height) + 2 * pad + 2
    bar_cell = block.width + 6 * pad
    image = Image.new("L", (width, height), BLACK)
    draw = ImageDraw.Draw(image)
    f = design.fields
    cells = [
        ("HV", hv_text(design)),
        ("mag", fei_mag(magnification(design))),
        ("HFW", _hfw(design)),
        ("WD", f"{f.wd_mm:.1f} mm"),
        ("det", f.detector),
        ("date", f.date.replace(" ", "/")),
    ]
    fitted = _fit_cells(design, cells, width - bar_cell, pad)
    _cell_row(draw, design, fitted, 0, 0, height, (FEI_LINE_GREY, WHITE, WHITE))
    for box in (
        (0, 0, width, 1),
        (0, height - 1, width, height),
        (width - bar_cell, 0, width - bar_cell + 1, height),
        (width - 1, 0, width, height),
    ):
        fill_box(draw, box, FEI_LINE_GREY)
    origin = (width - bar_cell + (bar_cell - block.width) // 2, (height - block.height) // 2)
    return image, draw_block(draw, design, block, origin, WHITE)


def _tescan_logo(draw: ImageDraw.ImageDraw, x0: int, y0: int, size: int) -> None:
    """The grey square logo with a white slash."""
    inset = size // 6
    fill_box(draw, (x0 + inset, y0 + inset, x0 + size - inset, y0 + size - inset), TESCAN_LOGO)
    a = x0 + size // 2
    draw.polygon(
        [
            (a + size // 8, y0 + inset + 2),
            (a + size // 5, y0 + inset + 2),
            (a - size // 8, y0 + size - inset - 3),
            (a - size // 5, y0 + size - inset - 3),
        ],
        fill=WHITE,
    )


def _tescan(design: ScaleBarDesign) -> tuple[Image.Image, Box]:
    width = design.image_width_px
    row, pad, _ = _metrics(design)
    block = layout_block(design)
    row1 = max(2 * row + 2 * pad, block.height + 4 * pad)
    row2 = 2 * row + 2 * pad
    height = row1 + row2 + 1
    image = Image.new("L", (width, height), TESCAN_BACKGROUND)
    draw = ImageDraw.Draw(image)
    f, colours = design.fields, (TESCAN_LINE, TESCAN_HEADER, WHITE)
    bar_cell = max(block.width + 6 * pad, width // 4)
    _tescan_logo(draw, 0, 0, row1)
    first = _fit_cells(
        design, [("WD", f"{f.wd_mm:.2f} mm"), ("Det", f.detector)], width - bar_cell - row1, pad
    )
    _cell_row(draw, design, first, row1, 0, row1, colours)
    fill_box(draw, (width - bar_cell, 0, width - bar_cell + 1, row1), TESCAN_LINE)
    second = [
        ("Energy", f"{f.hv_kv:g} keV"),
        ("View field", _hfw(design)),
        ("Mag", tescan_mag(magnification(design))),
        ("Date(d/m/y)", f.date),
        ("User", f.operator),
        ("", f.institute),
    ]
    _cell_row(draw, design, _fit_cells(design, second, width, pad)[:], 0, row1, height, colours)
    for y in (0, row1, height - 1):
        fill_box(draw, (0, y, width, y + 1), TESCAN_LINE)
    origin = (width - bar_cell + (bar_cell - block.width) // 2, (row1 - block.height) // 2 + 1)
    return image, draw_block(draw, design, block, origin, WHITE)


def _jeol(design: ScaleBarDesign) -> tuple[Image.Image, Box]:
    width, f = design.image_width_px, design.fields
    row, pad, cap = _metrics(design)
    block = layout_block(design)
    height = max(row, block.height) + 2 * pad
    image = Image.new("L", (width, height), BLACK)
    draw = ImageDraw.Draw(image)
    gap = design.field_font_px
    head = [
        f.detector,
        f"{f.hv_kv:g}kV",
        f"WD{f.wd_mm:.0f}mm",
        f"SS{10 * (f.photo_no % 6 + 1)}",
        jeol_mag(magnification(design)),
    ]
    tail = [f"{f.photo_no:04d}", f.date, f.institute]
    while head and sum(_width(design, t) + gap for t in head) + block.width + 2 * pad > width:
        head = head[:-1]
    x, baseline = 2 * pad, _baseline(pad, height - 2 * pad, cap)
    for text in head:
        _write(draw, design, (x, baseline), text)
        x += _width(design, text) + gap
    bar = draw_block(draw, design, block, (x, (height - block.height) // 2), WHITE)
    x += block.width + 2 * gap
    for text in tail:
        if x + _width(design, text) > width - 2 * pad:
            break
        _write(draw, design, (x, baseline), text)
        x += _width(design, text) + gap
    return image, bar


_STRIPS = {"zeiss": _zeiss, "fei": _fei, "tescan": _tescan, "jeol": _jeol}


def render_strip(design: ScaleBarDesign) -> tuple[Image.Image, Box]:
    """Draw the data strip of a databar style.

    Args:
        design: A design whose style is "zeiss", "fei", "tescan" or "jeol".

    Returns:
        (strip, bar bbox): an "L" image `design.image_width_px` wide, and the bar's
        (x0, y0, x1, y1) in strip coordinates (exclusive ends).
    """
    if design.style not in _STRIPS:
        raise ValueError(
            f"style {design.style!r} has no data strip; expected one of {sorted(_STRIPS)}"
        )
    return _STRIPS[design.style](design)
