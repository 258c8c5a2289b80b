"""Presets and the dataset builder: which families, how many items, one seed for all."""

from __future__ import annotations

import multiprocessing
import os
import zlib
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from csmbench.episodes import (
    DIFFICULTIES,
    AssetFiles,
    DatasetWriter,
    Difficulty,
    Item,
    write_datasheet,
)
from csmbench.errors import RegistryError

from ._registry import ItemSink, get_family

__all__ = ["ALL_FAMILIES", "PRESETS", "build_dataset", "difficulty_of", "item_rng", "make_item"]

_DIFFRACTION = ("xrd.peak_positions", "xrd.strongest_d", "xrd.cubic_lattice", "xrd.phase_id",
                "xrd.phase_candidates", "xrd.phase_count", "xrd.scherrer_size",
                "xrd.williamson_hall")
_SCALE_BAR = ("scale_bar.pixel_size", "scale_bar.field_width", "scale_bar.feature_length")
_GRAINS = ("grains.mean_intercept", "grains.astm_g", "grains.per_mm2", "grains.phase_fraction",
           "grains.shape")
_LATTICE_IMAGES = ("hrtem.d_spacing", "hrtem.phase")
_SPECTRA = ("eds.elements", "eds.phase")
_CROSS = ("cross.hall_petch", "cross.part_mass", "cross.vegard", "cross.size_ratio",
          "cross.single_crystallite")
ALL_FAMILIES = (*_SCALE_BAR, *_DIFFRACTION, *_GRAINS, *_LATTICE_IMAGES, *_SPECTRA, *_CROSS)
_STANDARD = {
    # AtomScale (8 families, 264 items)
    **dict.fromkeys(_DIFFRACTION[:6], 33), **dict.fromkeys(_LATTICE_IMAGES, 33),
    # Microscale (6 families plus about half the scale-bar items, 261)
    **dict.fromkeys(_DIFFRACTION[6:], 36), **dict.fromkeys(_SPECTRA, 36),
    "cross.vegard": 36, "cross.size_ratio": 36,
    # Mesoscale (6 families plus about half the scale-bar items, 261)
    **dict.fromkeys(_GRAINS, 36), "cross.single_crystallite": 36,
    # Microscale or Mesoscale by field of view
    **dict.fromkeys(_SCALE_BAR, 30),
    # Macroscale (2 families, 260)
    "cross.hall_petch": 130, "cross.part_mass": 130,
}
PRESETS: dict[str, dict[str, int]] = {
    "smoke": dict.fromkeys(ALL_FAMILIES, 2),
    "standard": _STANDARD,
    "scale_bar": dict.fromkeys(_SCALE_BAR, 100),
    "diffraction": dict.fromkeys(_DIFFRACTION, 40),
    "grains": dict.fromkeys(_GRAINS, 40),
    "cross_scale": dict.fromkeys((*_LATTICE_IMAGES, *_SPECTRA, *_CROSS), 30),
}
"""Items per family of each preset. smoke: every family, easy and medium, built in seconds;
standard: 1,046 items, about 260 per scale, each family in three difficulty levels."""


def item_rng(seed: int, family: str, index: int) -> np.random.Generator:
    """The generator of item ``index`` of ``family``: independent of every other item."""
    key = (zlib.crc32(family.encode("utf-8")), index)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def difficulty_of(index: int) -> Difficulty:
    """The level of item ``index`` of a family: easy, medium, hard in turn."""
    return DIFFICULTIES[index % len(DIFFICULTIES)]


def make_item(root: Path, seed: int, name: str, index: int) -> tuple[Item, dict[str, str]]:
    """Generate item ``index`` of family ``name`` into ``root``; returns it and its files."""
    item_id = f"{name}-{index:04d}"
    level = difficulty_of(index)
    files = AssetFiles(root)
    item = get_family(name).make(item_id, item_rng(seed, name, index), ItemSink(files, item_id),
                                 level)
    metadata = {**item.metadata, "seed": seed, "index": index, "difficulty": level}
    return item.model_copy(update={"metadata": metadata}), files.files


def _make_task(task: tuple[Path, int, str, int]) -> tuple[Item, dict[str, str]]:
    return make_item(*task)


def build_dataset(out: str | Path, *, preset: str | None = "smoke", seed: int = 0,
                  counts: Mapping[str, int] | None = None,
                  progress: Callable[[int, int], None] | None = None,
                  workers: int | None = None) -> Path:
    """Generate a dataset folder and its DATASHEET.md; the same arguments give identical bytes.

    Args:
        out: Empty (or new) folder to write into.
        preset: Name in :data:`PRESETS`; ignored when ``counts`` is given.
        seed: Root seed; item ``i`` of family ``f`` uses :func:`item_rng` (seed, f, i) and
            level :func:`difficulty_of` (i).
        counts: Items per family, instead of a preset.
        progress: Called with (done, total) after each item.
        workers: Processes that generate items (default: one per CPU core, at most
            :data:`MAX_WORKERS`); every item has its own generator, so the output does not
            depend on it.
    """
    plan = dict(counts) if counts is not None else _preset(preset)
    families = {name: get_family(name) for name in plan}
    root = Path(out)
    writer = DatasetWriter(root, name=preset if counts is None else "custom", seed=seed)
    tasks = [(root, seed, name, index) for name, count in plan.items() for index in range(count)]
    workers = min(workers or os.cpu_count() or 1, MAX_WORKERS, max(len(tasks), 1))
    with _pool(workers) as pool:
        for done, (item, files) in enumerate(pool.map(_make_task, tasks, chunksize=2), start=1):
            writer.adopt(item, files)
            if progress:
                progress(done, len(tasks))
    versions = {name: fam.version for name, fam in families.items()}
    writer.close(generators=versions, extra={"preset": preset if counts is None else None})
    write_datasheet(root)
    return root


MAX_WORKERS = 8


@contextmanager
def _pool(workers: int) -> Iterator[Executor]:
    """Worker processes (forked, so the registry's families are there), or this process."""
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        with _InProcess() as pool:
            yield pool
        return
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        yield pool


class _InProcess(Executor):
    """An executor that runs each task in this process, in order."""

    def map(self, fn, *iterables, timeout=None, chunksize=1):
        return map(fn, *iterables)


def _preset(name: str | None) -> dict[str, int]:
    if name not in PRESETS:
        raise RegistryError(f"preset {name!r} not found; available: {', '.join(PRESETS)}")
    return PRESETS[name]
