"""Fonts for scale-bar labels and instrument data strips: the TTFs bundled with matplotlib.

Every font offered here has real glyphs for both spellings of "micro" (U+00B5 MICRO SIGN and
U+03BC GREEK SMALL LETTER MU), so no label is drawn with a tofu box.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import matplotlib
from fontTools.ttLib import TTFont
from PIL import ImageFont

MICRO_SIGN = "\u00b5"
"""U+00B5 MICRO SIGN, the canonical spelling of the micro prefix ("µm")."""
GREEK_MU = "\u03bc"
"""U+03BC GREEK SMALL LETTER MU, the other common spelling ("μm")."""
REQUIRED_GLYPHS = MICRO_SIGN + GREEK_MU + "0123456789 .,=:xXnmu"
"""Characters every label font must have a glyph for."""
LABEL_FONTS = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "STIXGeneral.ttf",
    "STIXGeneralBol.ttf",
)
"""Candidate label fonts, file names in matplotlib's `fonts/ttf` directory."""
SANS_FONTS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")
"""Fonts for the Zeiss, FEI and Tescan data strips (their software draws Arial-like sans)."""
MONO_FONTS = ("DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSans.ttf")
"""Fonts for the JEOL data strip (fixed-pitch look of its console font)."""


def font_dir() -> Path:
    """Directory of the TTF fonts bundled with matplotlib."""
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def font_path(font_file: str) -> Path:
    """Absolute path of a bundled font given its file name (e.g. "DejaVuSans.ttf")."""
    return font_dir() / font_file


@lru_cache(maxsize=64)
def has_glyphs(font_file: str, chars: str = REQUIRED_GLYPHS) -> bool:
    """Whether the font's character map covers every character of `chars`.

    Args:
        font_file: File name in matplotlib's font directory.
        chars: Characters that must be mapped to a glyph.

    Returns:
        True if every code point is in the font's best Unicode cmap.
    """
    path = font_path(font_file)
    if not path.is_file():
        return False
    with TTFont(path, lazy=True) as font:
        cmap = font.getBestCmap() or {}
    return all(ord(char) in cmap for char in chars)


def usable_fonts(candidates: tuple[str, ...] = LABEL_FONTS) -> tuple[str, ...]:
    """The candidates that exist and have all of `REQUIRED_GLYPHS`, in the given order."""
    return tuple(name for name in candidates if has_glyphs(name))


@lru_cache(maxsize=256)
def load_font(font_file: str, font_px: int) -> ImageFont.FreeTypeFont:
    """A Pillow FreeType font of the bundled file at a size in px (the em size)."""
    return ImageFont.truetype(str(font_path(font_file)), font_px)


@lru_cache(maxsize=256)
def cap_height_px(font_file: str, font_px: int) -> int:
    """Ink height of "H" in px: the cap height of the font at that size."""
    _left, top, _right, bottom = load_font(font_file, font_px).getbbox("H", anchor="ls")
    return bottom - top


def font_px_for_cap_height(font_file: str, cap_px: float) -> int:
    """Smallest font size (px) whose cap height is at least `cap_px` pixels."""
    size = max(int(cap_px / 0.8), 6)
    while cap_height_px(font_file, size) < cap_px:
        size += 1
    return size
