"""Presets and the dataset builder: which families, how many items, one seed for all."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from csmbench.episodes import DIFFICULTIES, DatasetWriter, Difficulty
from csmbench.errors import RegistryError

from ._registry import ItemSink, get_family

__all__ = ["PRESETS", "build_dataset", "difficulty_of", "item_rng"]

_DIFFRACTION = ("xrd.peak_positions", "xrd.strongest_d", "xrd.cubic_lattice", "xrd.phase_id",
                "xrd.phase_candidates", "xrd.phase_count", "xrd.scherrer_size",
                "xrd.williamson_hall")
_SCALE_BAR = ("scale_bar.pixel_size", "scale_bar.field_width", "scale_bar.feature_length")
_GRAINS = ("grains.mean_intercept", "grains.astm_g", "grains.per_mm2", "grains.phase_fraction",
           "grains.shape")
PRESETS: dict[str, dict[str, int]] = {
    "smoke": {**dict.fromkeys(_SCALE_BAR, 5), **dict.fromkeys(_DIFFRACTION, 3),
              **dict.fromkeys(_GRAINS, 2)},
    "scale_bar": dict.fromkeys(_SCALE_BAR, 100),
    "diffraction": dict.fromkeys(_DIFFRACTION, 40),
    "grains": dict.fromkeys(_GRAINS, 40),
}
"""Items per family of each preset (smoke: every family, built in seconds)."""


def item_rng(seed: int, family: str, index: int) -> np.random.Generator:
    """The generator of item ``index`` of ``family``: independent of every other item."""
    key = (zlib.crc32(family.encode("utf-8")), index)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def difficulty_of(index: int) -> Difficulty:
    """The level of item ``index`` of a family: easy, medium, hard in turn."""
    return DIFFICULTIES[index % len(DIFFICULTIES)]


def build_dataset(out: str | Path, *, preset: str | None = "smoke", seed: int = 0,
                  counts: Mapping[str, int] | None = None,
                  progress: Callable[[int, int], None] | None = None) -> Path:
    """Generate a dataset folder; the same arguments give byte-identical output.

    Args:
        out: Empty (or new) folder to write into.
        preset: Name in :data:`PRESETS`; ignored when ``counts`` is given.
        seed: Root seed; item ``i`` of family ``f`` uses :func:`item_rng` (seed, f, i) and
            level :func:`difficulty_of` (i).
        counts: Items per family, instead of a preset.
        progress: Called with (done, total) after each item.
    """
    plan = dict(counts) if counts is not None else _preset(preset)
    families = {name: get_family(name) for name in plan}
    writer = DatasetWriter(Path(out), name=preset if counts is None else "custom", seed=seed)
    total, done = sum(plan.values()), 0
    for name, count in plan.items():
        for index in range(count):
            item_id = f"{name}-{index:04d}"
            level = difficulty_of(index)
            item = families[name].make(item_id, item_rng(seed, name, index),
                                       ItemSink(writer, item_id), level)
            writer.add_item(item.model_copy(update={"metadata": {
                **item.metadata, "seed": seed, "index": index, "difficulty": level}}))
            done += 1
            if progress:
                progress(done, total)
    versions = {name: fam.version for name, fam in families.items()}
    return writer.close(generators=versions, extra={"preset": preset if counts is None else None})


def _preset(name: str | None) -> dict[str, int]:
    if name not in PRESETS:
        raise RegistryError(f"preset {name!r} not found; available: {', '.join(PRESETS)}")
    return PRESETS[name]
