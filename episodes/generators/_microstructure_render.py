"""Renders of grain label images: etched optical, SEM channelling and EBSD band contrast.

`render_microstructure` gives uint8 images; `microstructure_specimen` the float [0, 1]
specimen that `render_micrograph` composes with a scale bar. Twin bands and a second phase
are drawn from the masks of a `Microstructure`; the labels themselves are never changed.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import ndimage

from ._micrograph import _finish, _illumination, smooth_noise

__all__ = ["RENDER_STYLES", "RenderStyle", "microstructure_specimen", "render_microstructure"]

RenderStyle = Literal["etched_optical", "sem", "ebsd_band_contrast"]
RENDER_STYLES: tuple[RenderStyle, ...] = ("etched_optical", "sem", "ebsd_band_contrast")
MIN_NEIGHBOUR_STEP = 0.1
"""Smallest grey step between touching grains of an SEM channelling image (of 0.15-0.85)."""
ETCHED_PHASE_TINT_SHARE = 0.25
"""Share of the etched tint range that the grains of one phase span (two-phase only)."""


def _boundaries(labels: np.ndarray, width_px: int) -> np.ndarray:
    """(H, W) bool grain-boundary lines `width_px` wide (1: the pixel after each change)."""
    mask = np.zeros(labels.shape, dtype=bool)
    mask[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    mask[1:, :] |= labels[1:, :] != labels[:-1, :]
    return ndimage.binary_dilation(mask, iterations=width_px - 1) if width_px > 1 else mask


def _twin_lines(labels: np.ndarray, twins: np.ndarray) -> np.ndarray:
    """(H, W) bool 1-px lines where a twin band meets its parent grain (twin boundaries)."""
    mask = np.zeros(labels.shape, dtype=bool)
    mask[:, 1:] |= (twins[:, 1:] != twins[:, :-1]) & (labels[:, 1:] == labels[:, :-1])
    mask[1:, :] |= (twins[1:, :] != twins[:-1, :]) & (labels[1:, :] == labels[:-1, :])
    return mask


def _scratches(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """(H, W) float in [0, 1]: a few faint, nearly parallel straight polishing scratches."""
    h, w = shape
    x, y = np.arange(w) + 0.5 - w / 2, np.arange(h) + 0.5 - h / 2
    out = np.zeros(shape)
    main = rng.uniform(0.0, np.pi)
    for _ in range(int(rng.integers(1, 6))):
        theta = main + rng.normal(0.0, 0.05)
        offset = rng.uniform(-0.5, 0.5) * np.hypot(h, w)
        depth, half_width = rng.uniform(0.3, 1.0), rng.uniform(0.4, 1.0)
        across = (x[None, :] * np.sin(theta) - offset) - y[:, None] * np.cos(theta)
        near = np.abs(across) < 4.0 * half_width
        out[near] = np.maximum(out[near], depth * np.exp(-((across[near] / half_width) ** 2)))
    return out


def _pits(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """(H, W) float in [0, 1]: small round etch pits, 1-3 px across, about 40 per Mpx."""
    spots = np.zeros(shape)
    count = int(rng.poisson(40e-6 * shape[0] * shape[1]))
    spots[rng.integers(0, shape[0], count), rng.integers(0, shape[1], count)] = 1.0
    blob = ndimage.gaussian_filter(spots, rng.uniform(0.7, 1.3))
    return np.clip(blob / (blob.max() + 1e-12) * 1.5, 0.0, 1.0)


def _tones(
    n: int, low: float, high: float, grain_phase: np.ndarray | None, rng: np.random.Generator,
    phase_tint_share: float = 1.0,
) -> np.ndarray:
    """(n,) grey per label in [low, high]; phase-2 grains darker or lighter (one coin).

    In a two-phase structure each phase keeps to ``phase_tint_share`` of the range (an etchant
    that tells the phases apart tints the grains of each alike).
    """
    tone = rng.uniform(low, high, n)
    shift = rng.uniform(0.15, 0.35) * (1.0 if rng.random() < 0.3 else -1.0)
    if grain_phase is not None:
        tone = low + phase_tint_share * (tone - low)
        tone = np.where(grain_phase == 2, tone + shift, tone)
    return np.clip(tone, 0.02, 0.98)


def _etched_optical(
    labels: np.ndarray, twins: np.ndarray, phase: np.ndarray | None, rng: np.random.Generator
) -> np.ndarray:
    """Bright field of an etched section: faint tints, dark grooves, pits and scratches."""
    n = int(labels.max()) + 1
    tone = _tones(n, *sorted(rng.uniform(0.62, 0.85, 2)), phase, rng, ETCHED_PHASE_TINT_SHARE)
    image = tone[labels] + 0.03 * smooth_noise(labels.shape, rng.uniform(5, 30), rng)
    image = np.where(twins, image + rng.uniform(-0.06, 0.06), image)
    image = np.where(_twin_lines(labels, twins), image - rng.uniform(0.08, 0.2), image)
    groove = _boundaries(labels, int(rng.integers(1, 4)))
    image = np.where(groove, rng.uniform(0.05, 0.22), image)
    image = image * (1.0 - 0.7 * _pits(labels.shape, rng)) - 0.05 * _scratches(labels.shape, rng)
    image = image * _illumination(labels.shape, 0.3, rng)
    return _finish(image, rng.uniform(0.5, 1.2), rng.uniform(0.01, 0.03), rng)


def _neighbour_pairs(labels: np.ndarray) -> np.ndarray:
    """(k, 2) distinct pairs of labels that touch horizontally or vertically."""
    pairs = np.concatenate([
        np.stack([labels[:, :-1].ravel(), labels[:, 1:].ravel()], axis=1),
        np.stack([labels[:-1, :].ravel(), labels[1:, :].ravel()], axis=1)])
    pairs = np.sort(pairs[pairs[:, 0] != pairs[:, 1]], axis=1)
    return np.unique(pairs, axis=0)


def _separated(tone: np.ndarray, labels: np.ndarray, low: float, high: float,
               rng: np.random.Generator) -> np.ndarray:
    """Tones redrawn where a grain would match a neighbour within `MIN_NEIGHBOUR_STEP`.

    Channelling contrast makes some neighbours look alike; a benchmark image must show every
    boundary the truth counts, so such grains get another tone (the best of a few draws).
    """
    tone = tone.copy()
    neighbours: dict[int, list[int]] = {}
    for a, b in _neighbour_pairs(labels):
        neighbours.setdefault(int(a), []).append(int(b))
        neighbours.setdefault(int(b), []).append(int(a))
    for grain, around in sorted(neighbours.items()):
        others = tone[around]
        if np.min(np.abs(others - tone[grain])) >= MIN_NEIGHBOUR_STEP:
            continue
        draws = rng.uniform(low, high, 12)
        gaps = np.min(np.abs(draws[:, None] - others[None, :]), axis=1)
        tone[grain] = draws[int(np.argmax(gaps))]
    return tone


def _sem(
    labels: np.ndarray, twins: np.ndarray, phase: np.ndarray | None, rng: np.random.Generator
) -> np.ndarray:
    """Channelling-contrast SEM/BSE: strong grain-to-grain greys, thin faint boundaries."""
    n = int(labels.max()) + 1
    tone = _separated(_tones(n, 0.15, 0.85, phase, rng), labels, 0.15, 0.85, rng)
    twin_tone = _tones(n, 0.15, 0.85, phase, rng)
    image = np.where(twins, twin_tone[labels], tone[labels])
    image = image + 0.02 * smooth_noise(labels.shape, rng.uniform(10, 40), rng)
    edge = _boundaries(labels, 1) | _twin_lines(labels, twins)
    image = np.where(edge, image + rng.uniform(-0.08, 0.05), image)
    image = image * _illumination(labels.shape, 0.15, rng)
    image = image + 0.02 * rng.standard_normal((labels.shape[0], 1))
    return _finish(image, rng.uniform(0.5, 1.0), rng.uniform(0.03, 0.07), rng)


def _ebsd_band_contrast(
    labels: np.ndarray, twins: np.ndarray, phase: np.ndarray | None, rng: np.random.Generator
) -> np.ndarray:
    """EBSD band-contrast map: bright grains, some darker, dark boundary and twin lines."""
    n = int(labels.max()) + 1
    tone = _tones(n, 0.6, 0.95, phase, rng)
    dull = rng.random(n) < rng.uniform(0.1, 0.3)
    tone = np.where(dull, tone * rng.uniform(0.45, 0.7), tone)
    image = tone[labels] * (1.0 + 0.04 * smooth_noise(labels.shape, rng.uniform(20, 60), rng))
    image = np.where(twins, image * rng.uniform(0.85, 1.0), image)
    lines = _boundaries(labels, int(rng.integers(1, 3))) | _twin_lines(labels, twins)
    image = np.where(lines, rng.uniform(0.03, 0.15), image)
    unindexed = rng.random(labels.shape) < rng.uniform(0.0005, 0.003)
    image = np.where(unindexed, 0.0, image) * _illumination(labels.shape, 0.1, rng)
    return _finish(image, rng.uniform(0.3, 0.6), rng.uniform(0.01, 0.03), rng)


_STYLES = {"etched_optical": _etched_optical, "sem": _sem,
           "ebsd_band_contrast": _ebsd_band_contrast}


def microstructure_specimen(
    labels: np.ndarray,
    style: RenderStyle,
    rng: np.random.Generator,
    *,
    twins: np.ndarray | None = None,
    grain_phase: np.ndarray | None = None,
) -> np.ndarray:
    """Render a label image as a float specimen image in [0, 1] (input of `render_micrograph`).

    Args:
        labels: (H, W) int grain labels >= 0.
        style: "etched_optical", "sem" or "ebsd_band_contrast".
        rng: Source of randomness; the same state gives the same image.
        twins: (H, W) bool twin-band mask; None for no twins.
        grain_phase: (labels.max() + 1,) phase per label (2 = second phase); None: one phase.

    Returns:
        (H, W) float64 image in [0, 1], after blur, noise and uneven illumination.
    """
    if style not in _STYLES:
        raise ValueError(f"style {style!r} is unknown; expected one of {list(RENDER_STYLES)}")
    labels = np.asarray(labels)
    twins = np.zeros(labels.shape, dtype=bool) if twins is None else np.asarray(twins, bool)
    if twins.shape != labels.shape:
        raise ValueError(f"twins has shape {twins.shape}; expected labels' {labels.shape}")
    return _STYLES[style](labels, twins, grain_phase, rng)


def render_microstructure(
    labels: np.ndarray,
    style: RenderStyle,
    rng: np.random.Generator,
    *,
    twins: np.ndarray | None = None,
    grain_phase: np.ndarray | None = None,
) -> np.ndarray:
    """Render a label image as an (H, W) uint8 grayscale micrograph (0-255).

    Same arguments as `microstructure_specimen`; deterministic given the generator state.

    Example:
        >>> from csmbench.episodes.generators._microstructure import (
        ...     MicrostructureSpec, generate_microstructure)
        >>> m = generate_microstructure(MicrostructureSpec(64, 64, 12.0), np.random.default_rng(0))
        >>> render_microstructure(m.labels, "sem", np.random.default_rng(1)).dtype.name
        'uint8'
    """
    specimen = microstructure_specimen(labels, style, rng, twins=twins, grain_phase=grain_phase)
    return np.round(255.0 * specimen).astype(np.uint8)
