"""The search-match reference table: every database record's reflections, once per file.

Reflections are stored as d-spacings (Å) and 2|F|² (electrons², the multiplicity summed in,
no Lorentz-polarisation factor), so one table serves every wavelength; it is kept in an
``.npz`` beside the database and converted to 2θ and LP-weighted intensities per wavelength.
The structure factors are those of pymatgen's ``XRDCalculator`` (same scattering
parameters), computed for all hkl at once.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from filelock import FileLock
from pymatgen.analysis.diffraction.xrd import ATOMIC_SCATTERING_PARAMS
from pymatgen.core import Element, Structure

from ._crystal_db import CrystalRecord, load_records

__all__ = ["D_MIN_ANGSTROM", "ReflectionTable", "Sticks", "reflection_table", "sticks_at",
           "structure_reflections"]

D_MIN_ANGSTROM = 0.9
"""Smallest d-spacing in the reflection table, Å (Cu Kα1 up to 117.7° 2θ)."""
TABLE_VERSION = 1
"""Bumped when the table's content changes (the cached file name carries it)."""


def structure_reflections(structure: Structure, d_min: float) -> tuple[np.ndarray, np.ndarray]:
    """d-spacings (Å) and 2|F|² (electrons², Friedel pairs merged; no LP) of one structure.

    Same structure factors as pymatgen's ``XRDCalculator`` (its scattering parameters);
    reflections at equal d are summed (that is the multiplicity).
    """
    recip = structure.lattice.reciprocal_lattice_crystallographic.matrix
    g_max = 1.0 / d_min
    bounds = [math.floor(g_max * n) for n in structure.lattice.abc]
    grids = np.meshgrid(*[np.arange(-b, b + 1) for b in bounds], indexing="ij")
    hkl = np.stack([g.ravel() for g in grids], axis=1)
    h, k, ell = hkl.T
    hkl = hkl[(h > 0) | ((h == 0) & (k > 0)) | ((h == 0) & (k == 0) & (ell > 0))]
    g = np.linalg.norm(hkl @ recip, axis=1)
    hkl, g = hkl[g <= g_max], g[g <= g_max]
    s2 = (g / 2.0) ** 2
    f = np.zeros(len(g), dtype=complex)
    for symbol, coords, occus in _sites_by_element(structure):
        a, b = np.asarray(ATOMIC_SCATTERING_PARAMS[symbol]).T
        fs = Element(symbol).Z - 41.78214 * s2 * (a[None, :] * np.exp(-b[None, :] * s2[:, None])
                                                  ).sum(axis=1)
        f += fs * (np.exp(2j * math.pi * (hkl @ coords.T)) @ occus)
    intensity = 2.0 * np.abs(f) ** 2
    key = np.round(g * 1e5).astype(np.int64)
    unique, inverse = np.unique(key, return_inverse=True)
    summed = np.bincount(inverse, weights=intensity)
    keep = summed > 1e-6 * max(summed.max(), 1e-300)
    return 1e5 / unique[keep].astype(float), summed[keep]


def _sites_by_element(structure: Structure):
    groups: dict[str, tuple[list, list]] = {}
    for site in structure:
        for species, occu in site.species.items():
            coords, occus = groups.setdefault(species.symbol, ([], []))
            coords.append(site.frac_coords)
            occus.append(occu)
    return [(s, np.asarray(c), np.asarray(o)) for s, (c, o) in groups.items()]


@dataclass(frozen=True)
class ReflectionTable:
    """All records' reflections: d (Å) and 2|F|² concatenated; record r owns
    ``offsets[r]:offsets[r + 1]``."""

    ids: tuple[str, ...]
    d: np.ndarray
    f2: np.ndarray
    offsets: np.ndarray


def _build_table(records: Sequence[CrystalRecord]) -> ReflectionTable:
    ds, f2s, offsets = [], [], [0]
    for record in records:
        d, f2 = structure_reflections(Structure.from_str(record.cif, fmt="cif"), D_MIN_ANGSTROM)
        ds.append(d)
        f2s.append(f2)
        offsets.append(offsets[-1] + len(d))
    return ReflectionTable(tuple(r.id for r in records), np.concatenate(ds), np.concatenate(f2s),
                  np.asarray(offsets))


@lru_cache(maxsize=4)
def reflection_table(database: Path) -> ReflectionTable:
    """The reflection table of a database file, read from (or built into) a cached ``.npz``."""
    records = load_records(database)
    path = database.with_name(f"{database.stem}.reflections-v{TABLE_VERSION}.npz")
    with FileLock(str(path) + ".lock", timeout=600):
        if not path.is_file():
            table = _build_table(records)
            handle, name = tempfile.mkstemp(dir=path.parent, suffix=".npz")
            os.close(handle)
            np.savez(name, ids=np.asarray(table.ids), d=table.d, f2=table.f2,
                     offsets=table.offsets)
            os.replace(name, path)
    with np.load(path) as data:
        table = ReflectionTable(tuple(str(i) for i in data["ids"]), data["d"], data["f2"],
                       data["offsets"])
    if table.ids != tuple(r.id for r in records):
        path.unlink(missing_ok=True)
        reflection_table.cache_clear()
        return reflection_table(database)
    return table


@dataclass(frozen=True)
class Sticks:
    """The table at one wavelength: 2θ (degrees), intensity with LP, record index."""

    two_theta: np.ndarray
    intensity: np.ndarray
    record: np.ndarray


@lru_cache(maxsize=8)
def sticks_at(database: Path, wavelength: float) -> Sticks:
    table = reflection_table(database)
    record = np.repeat(np.arange(len(table.ids)), np.diff(table.offsets))
    ok = table.d > wavelength / 2.0
    theta = np.arcsin(wavelength / (2.0 * table.d[ok]))
    lp = (1 + np.cos(2 * theta) ** 2) / (np.sin(theta) ** 2 * np.cos(theta))
    return Sticks(np.degrees(2 * theta), table.f2[ok] * lp, record[ok])
