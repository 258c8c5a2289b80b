"""Synthetic specimen textures for SEM, TEM and optical micrographs.

Each renderer returns a float64 image in [0, 1] of shape (H, W) that looks like the raw
detector frame of its modality: SEM particles with bright edges (secondary-electron yield
grows with the local surface tilt) and scan-line noise, TEM particles that absorb on a
granular amorphous-carbon support film, and etched polycrystals under a reflected-light
microscope. All the randomness comes from the `np.random.Generator` passed in.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from PIL import Image
from scipy import ndimage

Modality = Literal["sem", "tem", "optical"]

MIN_SIDE_PX = 16
"""Smallest height or width a specimen can have, px."""
SEM_PARTICLES_PER_MPX = (150.0, 900.0)
"""Range of particle counts per megapixel of an SEM frame."""
SEM_RADIUS_FRACTION = (0.008, 0.06)
"""Range of SEM particle semi-axes as a fraction of the frame width."""
AGGLOMERATE_PROBABILITY = 0.35
"""Share of SEM frames showing irregular agglomerates instead of ellipsoidal particles."""
AGGLOMERATE_SCALE_FRACTION = (0.02, 0.06)
"""Feature size of SEM agglomerates as a fraction of the frame width."""
TEM_PARTICLES_PER_MPX = (60.0, 350.0)
"""Range of particle counts per megapixel of a TEM frame."""
TEM_RADIUS_FRACTION = (0.006, 0.04)
"""Range of TEM particle radii as a fraction of the frame width."""
GRAINS_PER_MPX = (60.0, 600.0)
"""Range of grain counts per megapixel of an optical frame."""


def smooth_noise(shape: tuple[int, int], scale_px: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth random field with features of about `scale_px` pixels.

    Args:
        shape: (H, W) of the output, px.
        scale_px: Correlation length, px (>= 1).
        rng: Source of randomness.

    Returns:
        (H, W) float64 field with zero mean and unit standard deviation.
    """
    h, w = shape
    step = max(scale_px, 1.0)
    coarse_h, coarse_w = int(np.ceil(h / step)) + 3, int(np.ceil(w / step)) + 3
    coarse = rng.standard_normal((coarse_h, coarse_w)).astype(np.float32)
    box = (1.0, 1.0, 1.0 + w / step, 1.0 + h / step)
    resized = Image.fromarray(coarse, mode="F").resize((w, h), Image.Resampling.BICUBIC, box=box)
    field = np.asarray(resized, dtype=np.float64)
    field = field - field.mean()
    return field / (field.std() + 1e-12)


def _illumination(shape: tuple[int, int], strength: float, rng: np.random.Generator) -> np.ndarray:
    """Multiplicative uneven illumination: a tilt plus a vignette, about 1 at the centre."""
    h, w = shape
    u = (np.arange(w) - w / 2)[None, :] / w
    v = (np.arange(h) - h / 2)[:, None] / h
    angle = rng.uniform(0, 2 * np.pi)
    tilt = np.cos(angle) * u + np.sin(angle) * v
    vignette = u**2 + v**2
    return 1.0 + strength * (tilt - 1.5 * vignette * rng.uniform(0.3, 1.0))


def _ellipses(
    shape: tuple[int, int],
    count: int,
    radius_px: tuple[float, float],
    rng: np.random.Generator,
    max_aspect: float = 1.6,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Height, label and summed-thickness maps of randomly placed, oriented ellipsoids.

    Args:
        shape: (H, W) of the maps, px.
        count: Number of particles.
        radius_px: (min, max) of the major semi-axis, px; drawn log-uniformly.
        rng: Source of randomness.
        max_aspect: Largest ratio of major to minor semi-axis.
        weights: (count,) factor per particle for `depth` (e.g. an absorption
            coefficient, 1/px); None weighs all particles 1.

    Returns:
        (height, labels, depth): (H, W) float64 height in px (0 off the particles), (H, W)
        int32 particle index + 1 (0 on the background; larger particles lie below), and
        (H, W) float64 sum over overlapping particles of weight * projected thickness.
    """
    h, w = shape
    height = np.zeros(shape)
    labels = np.zeros(shape, dtype=np.int32)
    depth = np.zeros(shape)
    weights = np.ones(count) if weights is None else weights
    radii = np.exp(rng.uniform(np.log(radius_px[0]), np.log(radius_px[1]), count))
    aspects = rng.uniform(1.0, max_aspect, count)
    angles = rng.uniform(0, np.pi, count)
    centres = rng.uniform((0, 0), (h, w), (count, 2))
    for index in np.argsort(radii)[::-1]:
        a, b, th = radii[index], radii[index] / aspects[index], angles[index]
        cy, cx = centres[index]
        y0, y1 = max(int(cy - a) - 1, 0), min(int(cy + a) + 2, h)
        x0, x1 = max(int(cx - a) - 1, 0), min(int(cx + a) + 2, w)
        yy, xx = np.mgrid[y0:y1, x0:x1]
        dx, dy = xx - cx, yy - cy
        u = (dx * np.cos(th) + dy * np.sin(th)) / a
        v = (-dx * np.sin(th) + dy * np.cos(th)) / b
        cap = b * np.sqrt(np.clip(1.0 - u**2 - v**2, 0.0, None))
        on_top = cap > 0
        height[y0:y1, x0:x1] = np.where(on_top, cap, height[y0:y1, x0:x1])
        labels[y0:y1, x0:x1] = np.where(on_top, index + 1, labels[y0:y1, x0:x1])
        depth[y0:y1, x0:x1] += 2.0 * weights[index] * cap
    return height, labels, depth


def _count(shape: tuple[int, int], per_mpx: tuple[float, float], rng: np.random.Generator) -> int:
    """Number of objects for a frame, drawn log-uniformly from a density range per megapixel."""
    density = np.exp(rng.uniform(np.log(per_mpx[0]), np.log(per_mpx[1])))
    return max(int(density * shape[0] * shape[1] / 1e6), 3)


def _finish(
    image: np.ndarray, blur_px: float, noise_sigma: float, rng: np.random.Generator
) -> np.ndarray:
    """Blur, add Gaussian detector noise and rescale robustly into [0, 1]."""
    image = ndimage.gaussian_filter(image, blur_px) if blur_px > 0 else image
    image = image + noise_sigma * rng.standard_normal(image.shape)
    lo, hi = np.percentile(image, (0.2, 99.8))
    return np.clip((image - lo) / (hi - lo + 1e-12), 0.0, 1.0)


def _agglomerates(
    shape: tuple[int, int], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Irregular lumpy particles: the caps of a thresholded smooth random field.

    Returns:
        (height, labels): (H, W) float64 height in px and (H, W) int32 connected-particle labels.
    """
    scale = rng.uniform(*AGGLOMERATE_SCALE_FRACTION) * shape[1]
    field = smooth_noise(shape, scale, rng) + 0.4 * smooth_noise(shape, scale / 3, rng)
    cap = np.clip(field - rng.uniform(0.3, 1.0), 0.0, None)
    labels, _ = ndimage.label(cap > 0)
    return scale * np.sqrt(cap), labels.astype(np.int32)


def render_sem(height_px: int, width_px: int, rng: np.random.Generator) -> np.ndarray:
    """SEM secondary-electron image of particles on a rough substrate.

    Brightness follows the SE yield 1 / cos(tilt) of the local surface plus a directional
    shading term (the side-mounted detector), with scan-line noise along rows.

    Args:
        height_px: Frame height H, px.
        width_px: Frame width W, px.
        rng: Source of randomness.

    Returns:
        (H, W) float64 image in [0, 1].
    """
    shape = (height_px, width_px)
    radius = (
        SEM_RADIUS_FRACTION[0] * width_px,
        rng.uniform(0.3, 1.0) * SEM_RADIUS_FRACTION[1] * width_px,
    )
    if rng.random() < AGGLOMERATE_PROBABILITY:
        surface, labels = _agglomerates(shape, rng)
    else:
        surface, labels, _ = _ellipses(
            shape, _count(shape, SEM_PARTICLES_PER_MPX, rng), radius, rng
        )
    surface = surface + rng.uniform(0.5, 1.5) * smooth_noise(shape, rng.uniform(6, 20), rng)
    surface = surface + rng.uniform(0.1, 0.25) * smooth_noise(shape, 1.5, rng)
    gy, gx = np.gradient(ndimage.gaussian_filter(surface, 0.8 * max(width_px / 1024, 1.0)))
    cos_tilt = 1.0 / np.sqrt(1.0 + gx**2 + gy**2)
    angle = rng.uniform(0, 2 * np.pi)
    directional = -(np.cos(angle) * gx + np.sin(angle) * gy) * cos_tilt
    particle_tone = np.where(labels > 0, rng.uniform(0.9, 1.3), 1.0)
    yield_ = particle_tone * (0.35 + 0.25 * np.clip(1.0 / cos_tilt, 1.0, 4.0))
    image = (yield_ + 0.15 * directional) * _illumination(shape, 0.25, rng)
    image = image + 0.03 * rng.standard_normal((height_px, 1))
    return _finish(image, rng.uniform(0.4, 1.2), rng.uniform(0.03, 0.09), rng)


def render_tem(height_px: int, width_px: int, rng: np.random.Generator) -> np.ndarray:
    """Bright-field TEM image of nanoparticles on an amorphous-carbon support film.

    Transmission is exp(-mu * t) with t the projected particle thickness; each particle gets
    its own mu (diffraction contrast), and a faint bright Fresnel fringe rings each edge.

    Args:
        height_px: Frame height H, px.
        width_px: Frame width W, px.
        rng: Source of randomness.

    Returns:
        (H, W) float64 image in [0, 1].
    """
    shape = (height_px, width_px)
    count = _count(shape, TEM_PARTICLES_PER_MPX, rng)
    radius = (
        TEM_RADIUS_FRACTION[0] * width_px,
        rng.uniform(0.4, 1.0) * TEM_RADIUS_FRACTION[1] * width_px,
    )
    mu = rng.uniform(0.01, 0.06, count) * 30.0 / radius[1]
    _, labels, optical_depth = _ellipses(shape, count, radius, rng, max_aspect=1.3, weights=mu)
    film = 0.75 + 0.05 * smooth_noise(shape, rng.uniform(1.0, 2.0), rng)
    film = film + 0.04 * smooth_noise(shape, rng.uniform(40, 150), rng)
    image = film * np.exp(-optical_depth)
    edges = ndimage.gaussian_filter((labels > 0).astype(float), 1.5)
    image = image + 0.08 * (edges * (1.0 - edges) * 4.0) * (labels == 0)
    image = image * _illumination(shape, 0.2, rng)
    shot = rng.poisson(np.clip(image, 0, None) * 400.0) / 400.0
    return _finish(shot, rng.uniform(0.5, 1.0), 0.01, rng)


def _voronoi_labels(shape: tuple[int, int], count: int, rng: np.random.Generator) -> np.ndarray:
    """(H, W) int32 grain labels of a Voronoi tessellation with wavy, non-straight boundaries."""
    h, w = shape
    seed_y, seed_x = rng.integers(0, h, count), rng.integers(0, w, count)
    seeds = np.ones(shape, dtype=bool)
    seeds[seed_y, seed_x] = False
    grain_of = np.zeros(shape, dtype=np.int32)
    grain_of[seed_y, seed_x] = np.arange(count, dtype=np.int32)
    _, (iy, ix) = ndimage.distance_transform_edt(seeds, return_indices=True)
    labels = grain_of[iy, ix]
    wobble = np.sqrt(h * w / count) * rng.uniform(0.02, 0.08)
    scale = np.sqrt(h * w / count) * 0.7
    yy, xx = np.mgrid[0:h, 0:w].astype(float)
    yy += wobble * smooth_noise(shape, scale, rng)
    xx += wobble * smooth_noise(shape, scale, rng)
    return ndimage.map_coordinates(labels, [yy, xx], order=0, mode="nearest").astype(np.int32)


def render_optical(height_px: int, width_px: int, rng: np.random.Generator) -> np.ndarray:
    """Reflected-light image of an etched polycrystal: tinted grains, dark boundaries, pits.

    Args:
        height_px: Frame height H, px.
        width_px: Frame width W, px.
        rng: Source of randomness.

    Returns:
        (H, W) float64 image in [0, 1].
    """
    shape = (height_px, width_px)
    labels = _voronoi_labels(shape, _count(shape, GRAINS_PER_MPX, rng), rng)
    tints = rng.uniform(0.45, 0.9, labels.max() + 1) ** rng.uniform(0.7, 1.5)
    image = tints[labels] + 0.02 * smooth_noise(shape, rng.uniform(5, 30), rng)
    boundary = ndimage.morphological_gradient(labels, size=3) > 0
    width = int(rng.integers(0, 3) * width_px / 1024)
    boundary = ndimage.binary_dilation(boundary, iterations=width) if width else boundary
    image = np.where(boundary, rng.uniform(0.05, 0.25), image)
    pits = smooth_noise(shape, rng.uniform(1.5, 3.0), rng) > rng.uniform(3.2, 4.0)
    image = np.where(pits, 0.1, image)
    scratch_angle = rng.uniform(0, np.pi)
    yy, xx = np.mgrid[0:height_px, 0:width_px]
    across = xx * np.sin(scratch_angle) - yy * np.cos(scratch_angle)
    image = image - 0.03 * (np.sin(across * rng.uniform(0.05, 0.3)) > 0.995)
    image = image * _illumination(shape, 0.35, rng)
    return _finish(image, rng.uniform(0.6, 1.5), rng.uniform(0.01, 0.03), rng)


_RENDERERS = {"sem": render_sem, "tem": render_tem, "optical": render_optical}


def render_specimen(
    modality: Modality, height_px: int, width_px: int, rng: np.random.Generator
) -> np.ndarray:
    """Render a specimen image of the given modality.

    Args:
        modality: "sem", "tem" or "optical".
        height_px: Frame height H, px (>= 16).
        width_px: Frame width W, px (>= 16).
        rng: Source of randomness; the same generator state gives the same image.

    Returns:
        (H, W) float64 image in [0, 1].

    Raises:
        ValueError: If the modality is unknown or the frame is too small.

    Example:
        >>> img = render_specimen("sem", 96, 128, np.random.default_rng(0))
        >>> img.shape, bool(0.0 <= img.min() and img.max() <= 1.0)
        ((96, 128), True)
    """
    if modality not in _RENDERERS:
        raise ValueError(f"modality {modality!r} is unknown; expected one of {sorted(_RENDERERS)}")
    if min(height_px, width_px) < MIN_SIDE_PX:
        raise ValueError(
            f"frame {height_px}x{width_px} px is too small; both sides must be >= {MIN_SIDE_PX} px"
        )
    return _RENDERERS[modality](height_px, width_px, rng)
