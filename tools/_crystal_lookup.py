"""``lookup_crystal``: find phases by formula, name, space group or chemical system.

A query is read every way it can be: as a formula in any order or case ("Al2O3", "O3Al2",
"al2o3"), a name ("corundum", "alpha-quartz", "α-Fe"), a space group (symbol or number), or
a set of elements ("Ti-O", "Fe,C"). Matches are ranked: exact formula or name first, then the
curated source, then the common polymorph; the same phase from two sources is listed once.
"""

from __future__ import annotations

import bisect
import difflib
import itertools
import re
import unicodedata
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from pymatgen.analysis.diffraction.xrd import XRDCalculator
from pymatgen.core import Composition, Element, Structure
from pymatgen.symmetry.groups import SYMM_DATA

from csmbench.errors import ToolError

from ._crystal_db import CrystalRecord, load_records, open_database
from ._radiation import CU_KA1
from ._registry import tool

__all__ = ["CrystalLattice", "CrystalLookup", "CrystalMatch", "Reflection", "lookup_crystal",
           "strongest_reflections"]

MAX_QUERY_CHARS = 120
MAX_LIMIT = 50
REFLECTIONS_SHOWN = 10
_GREEK = {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "θ": "theta", "ε": "epsilon",
          "κ": "kappa", "η": "eta", "ω": "omega"}
_ELEMENT_SPLIT = re.compile(r"[-,\s/]+")
_FORMULA_TOKEN = re.compile(r"[A-Za-z]{1,2}|\d+(?:\.\d+)?|[()\[\]]")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CrystalLattice(_Model):
    """Conventional-cell lattice: lengths in Å, angles in degrees."""

    a: float
    b: float
    c: float
    alpha: float
    beta: float
    gamma: float


class Reflection(_Model):
    """One powder reflection for Cu Kα1: Miller indices, d in Å, 2θ in degrees, I in % of max."""

    hkl: list[int]
    d_angstrom: float
    two_theta_deg: float
    relative_intensity: float


class CrystalMatch(_Model):
    """One phase of the database."""

    id: str
    formula: str
    names: list[str]
    space_group: str
    space_group_number: int
    crystal_system: str
    lattice: CrystalLattice
    volume_A3: float = Field(description="conventional-cell volume, Å³")
    z: int = Field(description="formula units per conventional cell")
    density_g_cm3: float
    source: str
    citation: str
    matched_by: str
    reflections: list[Reflection] | None = None


class CrystalLookup(_Model):
    """The result of a lookup: the matches, best first, and suggestions when there are none."""

    query: str
    interpreted_as: list[str]
    matches: list[CrystalMatch]
    suggestions: list[str] = Field(default_factory=list)


_STRENGTH = {"formula": 0, "name": 1, "formula (case ignored)": 2, "space group": 3,
             "elements": 3, "partial name": 4}
"""How well a record matches: formula as typed, exact name, formula read in another case,
space group or chemical system, then part of a name ("TiN" is titanium nitride, "tin" is Sn)."""


@dataclass(frozen=True)
class _Hit:
    record: CrystalRecord
    strength: int  # see _STRENGTH
    how: str

    @property
    def rank(self) -> tuple:
        r = self.record
        return (self.strength, r.priority, r.common_rank, r.id)


def _normalise_name(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    for greek, latin in _GREEK.items():
        text = text.replace(greek, f" {latin} ")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def _formula_readings(query: str, case_variants: bool = True) -> list[str]:
    """Reduced formulas the query can mean: as typed, then (optionally) read in any case."""
    readings = []
    for candidate in [query, *(_case_variants(query) if case_variants else [])]:
        with warnings.catch_warnings():  # elements without a Pauling X ("MtLv" from "mtlv")
            warnings.filterwarnings("ignore", message="No Pauling electronegativity")
            try:
                composition = Composition(candidate)
                if composition.num_atoms > 0 and all(el.symbol in _SYMBOLS for el in composition):
                    readings.append(composition.reduced_formula)
            except (ValueError, KeyError, TypeError, IndexError, AttributeError):
                continue
    return list(dict.fromkeys(readings))


_SYMBOLS = {el.symbol for el in Element}


def _case_variants(query: str, limit: int = 32) -> list[str]:
    """Readings of a formula typed in the wrong case ("nacl" -> "NaCl", "N", ...)."""
    compact = query.replace(" ", "")
    if not re.fullmatch(r"[A-Za-z0-9().\[\]]{1,40}", compact):
        return []
    return list(itertools.islice(_spell(compact.lower()), limit))


def _spell(text: str):
    if not text:
        yield ""
        return
    number = re.match(r"\d+(?:\.\d+)?|[()\[\]]", text)
    if number:
        for rest in _spell(text[number.end():]):
            yield number.group() + rest
        return
    for size in (2, 1):
        symbol = text[:size].capitalize()
        if len(text) >= size and symbol in _SYMBOLS:
            for rest in _spell(text[size:]):
                yield symbol + rest


def _symbol_key(symbol: str) -> str:
    return re.sub(r"[\s_]", "", symbol).lower()


@lru_cache(maxsize=1)
def _space_group_table() -> dict[str, int]:
    """Hermann-Mauguin symbols (short, full, abbreviated; any case, with or without "_") -> number."""
    table: dict[str, int] = {}
    encoding = SYMM_DATA["space_group_encoding"]
    for symbol, data in encoding.items():
        for name in (symbol, data["full_symbol"]):
            table.setdefault(_symbol_key(name), data["int_number"])
    for short, full in SYMM_DATA["abbreviated_spacegroup_symbols"].items():
        if full in encoding:
            table.setdefault(_symbol_key(short), encoding[full]["int_number"])
    return table


def _space_group_number(query: str) -> int | None:
    text = query.strip()
    if text.isdigit():
        number = int(text)
        return number if 1 <= number <= 230 else None
    return _space_group_table().get(_symbol_key(text))


def _element_set(query: str) -> tuple[str, ...] | None:
    parts = [p for p in _ELEMENT_SPLIT.split(query.strip()) if p]
    if len(parts) < 2:
        return None
    symbols = tuple(sorted({p.capitalize() for p in parts}))
    return symbols if all(s in _SYMBOLS for s in symbols) else None


@dataclass(frozen=True)
class _Index:
    """Records with their names normalised once, the formulas present, the sorted words of
    all names (for prefix search) with the (record, name) pairs each word occurs in, and the
    vocabulary for suggestions."""

    records: tuple[CrystalRecord, ...]
    names: tuple[tuple[str, ...], ...]
    formulas: frozenset[str]
    words: tuple[str, ...]
    word_places: tuple[frozenset[tuple[int, int]], ...]
    vocabulary: dict[str, tuple[str, ...]]

    def records_named_like(self, query: str) -> set[int]:
        """Records with a name in which every query word starts a word ("alpha qua")."""
        places: set[tuple[int, int]] | None = None
        for word in query.split():
            start = bisect.bisect_left(self.words, word)
            found: set[tuple[int, int]] = set()
            for position in range(start, len(self.words)):
                if not self.words[position].startswith(word):
                    break
                found |= self.word_places[position]
            places = found if places is None else places & found
        return {record for record, _ in places or ()}


@lru_cache(maxsize=4)
def _index(path: Path) -> _Index:
    records = load_records(path)
    names = tuple(tuple(_normalise_name(n) for n in r.names) for r in records)
    places: dict[str, set[tuple[int, int]]] = {}
    for record, record_names in enumerate(names):
        for position, name in enumerate(record_names):
            for word in name.split():
                places.setdefault(word, set()).add((record, position))
    words = tuple(sorted(places))
    vocabulary: dict[str, list[str]] = {}
    for term in sorted({n for r in records for n in r.names} | {r.formula for r in records}):
        vocabulary.setdefault(term[:1].lower(), []).append(term)
    return _Index(records, names, frozenset(r.formula for r in records), words,
                  tuple(frozenset(places[w]) for w in words),
                  {k: tuple(v) for k, v in vocabulary.items()})


def _hits(query: str, index: _Index, limit: int) -> tuple[list[_Hit], list[str]]:
    typed = _formula_readings(query, case_variants=False)
    formulas = [f for f in _formula_readings(query) if f in typed or f in index.formulas]
    name = _normalise_name(query)
    group = _space_group_number(query)
    elements = _element_set(query)
    hits = []
    for record, names in zip(index.records, index.names, strict=True):
        how = ("formula" if record.formula in typed else
               "name" if name and name in names else
               "formula (case ignored)" if record.formula in formulas else
               "space group" if group and record.space_group_number == group else
               "elements" if elements and record.elements == elements else None)
        if how:
            hits.append(_Hit(record, _STRENGTH[how], how))
    if len(hits) < limit and len(name) >= 3:  # partial names only fill up a short list
        found = {hit.record.id for hit in hits}
        hits += [_Hit(index.records[i], _STRENGTH["partial name"], "partial name")
                 for i in sorted(index.records_named_like(name))
                 if index.records[i].id not in found]
    how = {hit.how for hit in hits}
    read_as = [f"formula {', '.join(formulas)}" if how & {"formula", "formula (case ignored)"}
               else "",
               f"name {name!r}" if how & {"name", "partial name"} else "",
               f"space group {group} ({_group_symbol(hits)})" if "space group" in how else "",
               f"chemical system {'-'.join(elements)}" if "elements" in how else ""]
    return hits, [r for r in read_as if r]


def _group_symbol(hits: list[_Hit]) -> str:
    return next(h.record.space_group for h in hits if h.how == "space group")


def _suggestions(query: str, index: _Index) -> list[str]:
    """Close names and formulas, among those with the query's first letter (typos rarely
    change it), else among all."""
    pool = index.vocabulary.get(query[:1].lower()) or tuple(
        term for terms in index.vocabulary.values() for term in terms)
    lowered = {term.lower(): term for term in pool}
    close = difflib.get_close_matches(query.lower(), list(lowered), n=5, cutoff=0.6)
    return [lowered[c] for c in close]


def _match(hit: _Hit, with_reflections: bool) -> CrystalMatch:
    r = hit.record
    return CrystalMatch(
        id=r.id, formula=r.formula, names=list(r.names), space_group=r.space_group,
        space_group_number=r.space_group_number, crystal_system=r.crystal_system,
        lattice=CrystalLattice(a=r.a, b=r.b, c=r.c, alpha=r.alpha, beta=r.beta, gamma=r.gamma),
        volume_A3=r.volume, z=r.z, density_g_cm3=r.density, source=r.source,
        citation=r.citation, matched_by=hit.how,
        reflections=strongest_reflections(r.cif) if with_reflections else None)


@lru_cache(maxsize=256)
def strongest_reflections(cif: str, count: int = REFLECTIONS_SHOWN) -> list[Reflection]:
    """The ``count`` strongest powder reflections (Cu Kα1, 2θ up to 90°) of a CIF structure."""
    structure = Structure.from_str(cif, fmt="cif")
    pattern = XRDCalculator(wavelength=CU_KA1).get_pattern(structure, scaled=True)
    peaks = sorted(zip(pattern.x, pattern.y, pattern.hkls, pattern.d_hkls, strict=True),
                   key=lambda p: -p[1])[:count]
    return [Reflection(hkl=list(hkls[0]["hkl"]), d_angstrom=round(d, 5),
                       two_theta_deg=round(float(x), 4), relative_intensity=round(float(y), 2))
            for x, y, hkls, d in sorted(peaks, key=lambda p: p[0])]


def _validate(query: str, limit: int) -> str:
    text = query.strip() if isinstance(query, str) else ""
    if not text:
        raise ToolError("query is empty; give a formula ('Al2O3'), a name ('rutile'), a space "
                        "group ('Fm-3m' or 225) or elements ('Ti-O')")
    if len(text) > MAX_QUERY_CHARS or any(unicodedata.category(ch) == "Cc" for ch in text):
        raise ToolError(f"query must be at most {MAX_QUERY_CHARS} printable characters; got "
                        f"{len(text)} characters")
    if not 1 <= limit <= MAX_LIMIT:
        raise ToolError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    return text


@tool(hidden=("database",))
def lookup_crystal(query: str, limit: int = 5, with_reflections: bool = False,
                   database: Path | None = None) -> CrystalLookup:
    """Look up crystal phases by formula, name, space group or elements.

    Formulas may be written in any order or case ("Al2O3", "O3Al2", "al2o3"); names are
    mineral, common or polymorph names ("corundum", "austenite", "alpha-quartz"); space
    groups are symbols or numbers ("Fm-3m", "225"); elements are a chemical system
    ("Ti-O", "Fe,C"). Each match gives the formula, names, space group, conventional
    lattice (Å, degrees), Z, density (g/cm³) and source.

    Args:
        query: What to look for.
        limit: Most matches to return (1-50).
        with_reflections: Also return the 10 strongest powder reflections (hkl, d in Å, 2θ
            for Cu Kα1 in degrees, relative intensity).
        database: Path of the database file (default: the user cache; built on first use);
            for Python callers only, not offered to agents.
    """
    text = _validate(query, limit)
    index = _index(open_database(database))
    hits, read_as = _hits(text, index, limit)
    seen, best = set(), []
    for hit in sorted(hits, key=lambda h: h.rank):
        phase = (hit.record.formula, hit.record.space_group_number)
        if phase not in seen:
            seen.add(phase)
            best.append(hit)
    matches = [_match(hit, with_reflections) for hit in best[:limit]]
    suggestions = [] if matches else _suggestions(text, index)
    return CrystalLookup(query=text, interpreted_as=read_as, matches=matches,
                         suggestions=suggestions)

