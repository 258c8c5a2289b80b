"""The embedded crystal database: one SQLite file built from the sources, in the user cache.

Each structure is analysed with spglib (through pymatgen's ``SpacegroupAnalyzer``) and stored
as its conventional standard cell: symmetry, lattice, volume, Z, density and CIF all come
from the structure itself. The file is built on first use (or by ``csmbench db build``)
into ``$CSMBENCH_CACHE_DIR`` or the platform's user cache folder, written to a temporary
file and renamed, so concurrent builders never see half a database.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import ase
import platformdirs
import spglib
from filelock import FileLock
from pymatgen.core import __version__ as pymatgen_version
from pymatgen.io.cif import CifWriter
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from ._crystal_sources import SOURCE_PRIORITY, SourceStructure, all_sources

__all__ = [
    "SCHEMA_VERSION",
    "SYMPREC",
    "CrystalRecord",
    "analyse",
    "build_database",
    "database_fingerprint",
    "default_database_path",
    "load_records",
    "open_database",
]

SCHEMA_VERSION = 1
SYMPREC = 0.01
"""Symmetry tolerance in Å for spglib (pymatgen's default)."""
ANGLE_TOLERANCE_DEG = 5.0

_COLUMNS = ("id", "formula", "names", "elements", "space_group", "space_group_number",
            "crystal_system", "a", "b", "c", "alpha", "beta", "gamma", "volume", "z",
            "density", "source", "citation", "common_rank", "priority", "tags", "cif")


@dataclass(frozen=True)
class CrystalRecord:
    """One phase as stored: lengths in Å, angles in degrees, volume in Å³, density in g/cm³."""

    id: str
    formula: str
    names: tuple[str, ...]
    elements: tuple[str, ...]
    space_group: str
    space_group_number: int
    crystal_system: str
    a: float
    b: float
    c: float
    alpha: float
    beta: float
    gamma: float
    volume: float
    z: int
    density: float
    source: str
    citation: str
    common_rank: int
    priority: int
    tags: dict[str, str]
    cif: str


def analyse(source: SourceStructure) -> CrystalRecord:
    """Symmetry, conventional cell and derived quantities of one source structure."""
    analyzer = SpacegroupAnalyzer(source.structure, symprec=SYMPREC,
                                  angle_tolerance=ANGLE_TOLERANCE_DEG)
    cell = analyzer.get_conventional_standard_structure()
    a, b, c = cell.lattice.abc
    alpha, beta, gamma = cell.lattice.angles
    composition = cell.composition
    z = composition.get_reduced_composition_and_factor()[1]
    return CrystalRecord(
        id=source.key, formula=composition.reduced_formula, names=source.names,
        elements=tuple(sorted(el.symbol for el in composition.elements)),
        space_group=analyzer.get_space_group_symbol(),
        space_group_number=analyzer.get_space_group_number(),
        crystal_system=analyzer.get_crystal_system(), a=round(a, 6), b=round(b, 6),
        c=round(c, 6), alpha=round(alpha, 4), beta=round(beta, 4), gamma=round(gamma, 4),
        volume=round(cell.volume, 5), z=round(z), density=round(float(cell.density), 5),
        source=source.source, citation=source.citation, common_rank=source.common_rank,
        priority=SOURCE_PRIORITY[source.source], tags=dict(source.tags),
        cif=str(CifWriter(cell)))


@lru_cache(maxsize=1)
def database_fingerprint() -> str:
    """12 hex digits that change whenever the database's content could: the schema, the
    source and builder code, and the versions of pymatgen, ase and spglib."""
    digest = hashlib.sha256(f"{SCHEMA_VERSION}|{pymatgen_version}|{ase.__version__}|"
                            f"{spglib.__version__}".encode())
    for module in ("_curated_phases.py", "_crystal_sources.py", "_crystal_db.py"):
        digest.update((Path(__file__).with_name(module)).read_bytes())
    return digest.hexdigest()[:12]


def default_database_path() -> Path:
    """``$CSMBENCH_CACHE_DIR/crystals-<fingerprint>.sqlite``, else under the user cache folder.

    The fingerprint in the name makes an upgrade of csmbench or of its science libraries
    build a fresh database instead of reading a stale one.
    """
    folder = os.environ.get("CSMBENCH_CACHE_DIR") or platformdirs.user_cache_dir("csmbench")
    return Path(folder) / f"crystals-{database_fingerprint()}.sqlite"


def _row(record: CrystalRecord) -> tuple:
    data = asdict(record)
    data["names"] = json.dumps(list(record.names), ensure_ascii=False)
    data["elements"] = ",".join(record.elements)
    data["tags"] = json.dumps(record.tags, sort_keys=True, ensure_ascii=False)
    return tuple(data[column] for column in _COLUMNS)


def _write(path: Path, records: Iterable[CrystalRecord]) -> None:
    with sqlite3.connect(path) as db:
        db.execute(f"CREATE TABLE crystals ({', '.join(_COLUMNS)}, PRIMARY KEY (id))")
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        db.executemany(f"INSERT INTO crystals VALUES ({', '.join('?' * len(_COLUMNS))})",
                       (_row(r) for r in records))
        db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        db.execute("CREATE INDEX by_formula ON crystals (formula)")
    db.close()


def build_database(path: Path | None = None,
                   progress: Callable[[int, str], None] | None = None) -> Path:
    """Build the database at ``path`` (default :func:`default_database_path`); returns the path.

    Deterministic: the same package versions give the same rows in the same order.
    """
    path = Path(path or default_database_path())
    path.parent.mkdir(parents=True, exist_ok=True)
    records = []
    for index, source in enumerate(all_sources(), start=1):
        records.append(analyse(source))
        if progress:
            progress(index, source.key)
    handle, name = tempfile.mkstemp(dir=path.parent, suffix=".building")
    os.close(handle)
    temporary = Path(name)
    try:
        temporary.unlink()
        _write(temporary, records)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def open_database(path: Path | None = None) -> Path:
    """The database file, built first when it does not exist yet.

    A file lock beside it makes concurrent processes (parallel tests, several runs) wait
    for one build instead of each building their own.
    """
    path = Path(path or default_database_path())
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=600):
        if not path.is_file():
            build_database(path)
    return path


@lru_cache(maxsize=4)
def load_records(path: Path) -> tuple[CrystalRecord, ...]:
    """Every record of the database file, in priority order (cached per path)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute(f"SELECT {', '.join(_COLUMNS)} FROM crystals "
                          "ORDER BY priority, common_rank, id").fetchall()
    records = []
    for row in rows:
        data = dict(zip(_COLUMNS, row, strict=True))
        data["names"] = tuple(json.loads(data["names"]))
        data["elements"] = tuple(data["elements"].split(","))
        data["tags"] = json.loads(data["tags"])
        records.append(CrystalRecord(**data))
    return tuple(records)
