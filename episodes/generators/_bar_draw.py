"""Drawing a scale bar and its label: crisp opaque bar and ticks, anti-aliased text.

Geometry convention (the measuring tools use exactly this):

- without ticks the bar covers `length_px` columns, so length = x1 - x0 of its bbox;
- with ticks, each tick is `tick_width_px` (odd) columns wide and centred on a nominal end
  of the bar; the bar runs from the outer edge of one tick to the outer edge of the other,
  so length = distance between tick centres = x1 - x0 - tick_width_px.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import ImageDraw

from ._bar_design import ScaleBarDesign
from ._bar_fonts import load_font

Box = tuple[int, int, int, int]
"""(x0, y0, x1, y1) in px, x1 and y1 exclusive."""

LABEL_GAP_FRACTION = 0.3
"""Gap between the label ink and the bar, as a fraction of the label font size."""
MIN_LABEL_GAP_PX = 3
"""Smallest gap between the label ink and the bar, px."""


@dataclass(frozen=True)
class BlockLayout:
    """Bar and label laid out in a block's own coordinates (origin at the block's top left).

    Attributes:
        width: Block width, px.
        height: Block height, px.
        bar: Bar bbox including ticks.
        label_xy: Where the label's anchor goes, px.
        label_anchor: Pillow text anchor of `label_xy` ("ls": left, baseline).
        label_ink: Label ink bbox.
    """

    width: int
    height: int
    bar: Box
    label_xy: tuple[int, int]
    label_anchor: str
    label_ink: Box


def bar_size(design: ScaleBarDesign) -> tuple[int, int]:
    """(width, height) of the bar's bbox including ticks, px."""
    if design.ticks:
        return design.length_px + design.tick_width_px, design.tick_height_px
    return design.length_px, design.thickness_px


def label_gap_px(design: ScaleBarDesign) -> int:
    """Gap between the label ink and the bar, px."""
    return max(MIN_LABEL_GAP_PX, round(LABEL_GAP_FRACTION * design.font_px))


def _label_origin(design: ScaleBarDesign, bar_w: int, bar_h: int, ink: Box) -> tuple[int, int]:
    """Anchor point of the label (left, baseline) relative to the bar's top left corner."""
    left, top, right, bottom = ink
    gap = label_gap_px(design)
    if design.label_position in ("above", "below"):
        x = 0 - left if design.label_align == "left" else (bar_w - (right - left)) // 2 - left
        y = -gap - bottom if design.label_position == "above" else bar_h + gap - top
        return x, y
    y = bar_h // 2 - (top + bottom) // 2
    x = -gap - right if design.label_position == "left" else bar_w + gap - left
    return x, y


def layout_block(design: ScaleBarDesign) -> BlockLayout:
    """Lay out the bar and its label; the block is the union of both bboxes."""
    font = load_font(design.font_file, design.font_px)
    ink = font.getbbox(design.label_text, anchor="ls")
    bar_w, bar_h = bar_size(design)
    lx, ly = _label_origin(design, bar_w, bar_h, ink)
    label = (lx + ink[0], ly + ink[1], lx + ink[2], ly + ink[3])
    x0, y0 = min(0, label[0]), min(0, label[1])
    x1, y1 = max(bar_w, label[2]), max(bar_h, label[3])
    return BlockLayout(
        width=x1 - x0,
        height=y1 - y0,
        bar=(-x0, -y0, bar_w - x0, bar_h - y0),
        label_xy=(lx - x0, ly - y0),
        label_anchor="ls",
        label_ink=(label[0] - x0, label[1] - y0, label[2] - x0, label[3] - y0),
    )


def fill_box(draw: ImageDraw.ImageDraw, box: Box, value: int) -> None:
    """Fill a box (x1, y1 exclusive) with an opaque grey value, no anti-aliasing."""
    x0, y0, x1, y1 = box
    if x1 > x0 and y1 > y0:
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=value)


def draw_bar(draw: ImageDraw.ImageDraw, design: ScaleBarDesign, box: Box, value: int) -> None:
    """Draw the bar and its ticks into `box` (from `bar_size`) with a grey value."""
    x0, y0, x1, y1 = box
    if not design.ticks:
        fill_box(draw, box, value)
        return
    thick = design.thickness_px
    bar_top = y1 - thick if design.tick_direction == "up" else y0 + (y1 - y0 - thick) // 2
    fill_box(draw, (x0, bar_top, x1, bar_top + thick), value)
    fill_box(draw, (x0, y0, x0 + design.tick_width_px, y1), value)
    fill_box(draw, (x1 - design.tick_width_px, y0, x1, y1), value)


def draw_block(
    draw: ImageDraw.ImageDraw,
    design: ScaleBarDesign,
    layout: BlockLayout,
    origin: tuple[int, int],
    value: int,
) -> Box:
    """Draw bar and label with their block's top left at `origin`; return the bar bbox."""
    ox, oy = origin
    font = load_font(design.font_file, design.font_px)
    lx, ly = layout.label_xy
    draw.text(
        (ox + lx, oy + ly), design.label_text, fill=value, font=font, anchor=layout.label_anchor
    )
    bx0, by0, bx1, by1 = layout.bar
    bar = (ox + bx0, oy + by0, ox + bx1, oy + by1)
    draw_bar(draw, design, bar, value)
    return bar


def draw_text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    font_file: str,
    font_px: int,
    value: int,
    anchor: str = "ls",
) -> None:
    """Draw anti-aliased text at `xy` with a Pillow anchor (default left, baseline)."""
    draw.text(xy, text, fill=value, font=load_font(font_file, font_px), anchor=anchor)


def text_width(text: str, font_file: str, font_px: int) -> int:
    """Advance width of a text line, px."""
    return round(load_font(font_file, font_px).getlength(text))
