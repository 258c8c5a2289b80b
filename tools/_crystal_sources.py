"""Where the crystal database's structures come from, each as a ``SourceStructure``.

Four sources, in order of priority when the same phase appears twice:

1. the curated table of common phases (literature lattices, with citations);
2. every element's reference structure: ase's reference states (experimental lattice
   constants, built with ``ase.build.bulk``) and ase's ``dcdft`` collection (PBE-relaxed
   elemental crystals of the Delta benchmark);
3. pymatgen's bundled AFLOW prototype library (288 structures with mineral names, Pearson
   symbols and Strukturbericht designations);
4. pymatgen's bundled example structures.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from ase.build import bulk
from ase.collections import dcdft
from ase.data import atomic_names, chemical_symbols, reference_states
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor
from pymatgen.util.provenance import StructureNL

from ._curated_phases import curated_structures

__all__ = ["SOURCE_PRIORITY", "SourceStructure", "all_sources"]

SOURCE_PRIORITY = {"curated": 0, "ase-reference": 1, "ase-dcdft": 2, "aflow-prototype": 3,
                   "pymatgen-example": 4}
ASE_CITATION = ("ase.data.reference_states (experimental lattice constants, after C. Kittel, "
                "Introduction to Solid State Physics); structure from ase.build.bulk")
DCDFT_CITATION = ("ase.collections.dcdft: K. Lejaeghere et al., Science 351, aad3000 (2016), "
                  "Delta test elemental crystals relaxed with WIEN2k/PBE (DFT, not experiment)")
AFLOW_CITATION = ("M. J. Mehl et al., Comput. Mater. Sci. 136, S1 (2017), The AFLOW Library of "
                  "Crystallographic Prototypes, as bundled with pymatgen")
EXAMPLE_CITATION = "pymatgen bundled example structure (pymatgen/util/structures)"


@dataclass(frozen=True)
class SourceStructure:
    """A structure from one source with its names, provenance and rank among polymorphs."""

    key: str
    structure: Structure
    names: tuple[str, ...]
    source: str
    citation: str
    common_rank: int = 0
    tags: dict[str, str] = field(default_factory=dict)


def curated() -> Iterator[SourceStructure]:
    for phase, structure in curated_structures():
        yield SourceStructure(f"curated:{phase.key}", structure, phase.names, "curated",
                              phase.citation, phase.common_rank)


def ase_reference_states() -> Iterator[SourceStructure]:
    adaptor = AseAtomsAdaptor()
    for number, state in enumerate(reference_states):
        symmetry = (state or {}).get("symmetry")
        if symmetry in (None, "atom", "diatom"):
            continue
        symbol = chemical_symbols[number]
        try:
            atoms = bulk(symbol, cubic=symmetry in ("fcc", "bcc", "diamond", "sc"))
        except (ValueError, RuntimeError, KeyError, NotImplementedError):
            continue  # structures that need an atomic basis ase does not have
        names = (atomic_names[number].lower(), f"{symmetry} {atomic_names[number].lower()}")
        yield SourceStructure(f"ase-reference:{symbol}", adaptor.get_structure(atoms), names,
                              "ase-reference", ASE_CITATION, 1, {"ase_symmetry": symmetry})


def ase_dcdft() -> Iterator[SourceStructure]:
    adaptor = AseAtomsAdaptor()
    for name in dcdft.names:
        atoms = dcdft[name]
        number = chemical_symbols.index(name)
        yield SourceStructure(f"ase-dcdft:{name}", adaptor.get_structure(atoms),
                              (atomic_names[number].lower(),), "ase-dcdft", DCDFT_CITATION, 2)


def aflow_prototypes() -> Iterator[SourceStructure]:
    path = resources.files("pymatgen.analysis.prototypes") / "aflow_prototypes.json.gz"
    with gzip.open(Path(str(path)), "rt", encoding="utf-8") as handle:
        entries = json.load(handle)
    for entry in entries:
        tags = {k: str(v) for k, v in entry["tags"].items() if v and str(v) != "None"}
        snl = StructureNL.from_dict(entry["snl"])
        names = tuple(dict.fromkeys(
            v.lower() for k, v in tags.items() if k in ("mineral", "strukturbericht")))
        yield SourceStructure(f"aflow-prototype:{tags['aflow']}", snl.structure, names,
                              "aflow-prototype", f"{AFLOW_CITATION}; prototype {tags['aflow']}",
                              3, tags)


def pymatgen_examples() -> Iterator[SourceStructure]:
    folder = Path(str(resources.files("pymatgen.util") / "structures"))
    for path in sorted(folder.glob("*.json")):
        structure = Structure.from_file(path)
        if not structure.is_ordered or len(structure) > 200:
            continue  # partial occupancies and large interface cells are not phases to look up
        yield SourceStructure(f"pymatgen-example:{path.stem}", structure, (path.stem.lower(),),
                              "pymatgen-example", EXAMPLE_CITATION, 4)


def all_sources() -> Iterator[SourceStructure]:
    """Every source structure, in priority order and, within a source, in a fixed order.

    Keys are unique: a repeated key (AFLOW lists a few labels twice) gets a "#2" suffix.
    """
    seen: dict[str, int] = {}
    for source in (curated, ase_reference_states, ase_dcdft, aflow_prototypes,
                   pymatgen_examples):
        for entry in source():
            seen[entry.key] = seen.get(entry.key, 0) + 1
            if seen[entry.key] > 1:
                entry = replace(entry, key=f"{entry.key}#{seen[entry.key]}")
            yield entry
