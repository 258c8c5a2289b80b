"""lookup_crystal and its database: the right phase for formulas, names and space groups;
symmetry from spglib; densities from the structures; clear answers for bad queries."""

from __future__ import annotations

import pytest
from pymatgen.core import Composition, Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from csmbench.episodes import ToolCall
from csmbench.errors import ToolError
from csmbench.tools import REGISTRY, ToolContext, lookup_crystal
from csmbench.tools._crystal_db import SYMPREC, load_records, open_database

# (query, formula of the first match, space-group number): families the issue names.
EXPECTED = [
    ("NaCl", "NaCl", 225), ("KCl", "KCl", 225), ("LiF", "LiF", 225), ("MgO", "MgO", 225),
    ("CaO", "CaO", 225), ("MnO", "MnO", 225), ("NiO", "NiO", 225), ("CeO2", "CeO2", 225),
    ("CaF2", "CaF2", 225), ("baddeleyite", "ZrO2", 14), ("corundum", "Al2O3", 167),
    ("rutile", "TiO2", 136), ("anatase", "TiO2", 141), ("brookite", "TiO2", 61),
    ("alpha-quartz", "SiO2", 154), ("cristobalite", "SiO2", 92), ("ZnO", "ZnO", 186),
    ("sphalerite", "ZnS", 216), ("GaAs", "GaAs", 216), ("GaN", "GaN", 186), ("InP", "InP", 216),
    ("AlN", "AlN", 186), ("Si3N4", "Si3N4", 176), ("TiN", "TiN", 225), ("TiC", "TiC", 225),
    ("WC", "WC", 187), ("magnetite", "Fe3O4", 227), ("hematite", "Fe2O3", 167),
    ("Cu2O", "Cu2O", 224), ("CuO", "CuO", 15), ("SrTiO3", "SrTiO3", 221),
    ("LaB6", "LaB6", 221), ("graphite", "C", 194), ("diamond", "C", 227), ("MoS2", "MoS2", 194),
    ("ferrite", "Fe", 229), ("austenite", "Fe", 225), ("alpha-titanium", "Ti", 194),
    ("beta-titanium", "Ti", 229), ("Zr", "Zr", 194), ("Mg", "Mg", 194), ("Zn", "Zn", 194),
    ("Ni", "Ni", 225), ("Co", "Co", 194), ("Cr", "Cr", 229), ("W", "W", 229), ("Mo", "Mo", 229),
    ("Ni3Al", "AlNi3", 221), ("NiAl", "AlNi", 221), ("cementite", "Fe3C", 62),
    ("TiAl", "TiAl", 123), ("Ti3Al", "Ti3Al", 194), ("Al3Sc", "ScAl3", 221),
    ("MgZn2", "MgZn2", 194), ("Al2Cu", "Al2Cu", 140), ("Si", "Si", 227),
]


@pytest.mark.parametrize(("query", "formula", "number"), EXPECTED, ids=[e[0] for e in EXPECTED])
def test_finds_the_phase(query: str, formula: str, number: int) -> None:
    best = lookup_crystal(query, limit=1).matches[0]
    assert (best.formula, best.space_group_number) == (formula, number)


@pytest.mark.parametrize(("key", "number"), [
    ("zro2-monoclinic", 14), ("zro2-tetragonal", 137), ("zro2-cubic", 225),
    ("sic-3c", 216), ("sic-4h", 186), ("sic-6h", 186), ("batio3-tetragonal", 99)])
def test_polymorphs_are_all_there(key: str, number: int) -> None:
    records = {r.id: r for r in load_records(open_database())}
    assert records[f"curated:{key}"].space_group_number == number


@pytest.mark.parametrize("query", ["Al2O3", "O3Al2", "al2o3", "AL2O3", " Al2 O3 "])
def test_formula_in_any_order_or_case(query: str) -> None:
    best = lookup_crystal(query).matches[0]
    assert best.formula == "Al2O3" and "corundum" in best.names


@pytest.mark.parametrize(("query", "order"), [
    ("TiO2", ["rutile", "anatase", "brookite"]), ("SiO2", ["alpha-quartz"]),
    ("ZrO2", ["baddeleyite"]), ("Fe", ["ferrite"]), ("BaTiO3", ["barium titanate"])],
    ids=["TiO2", "SiO2", "ZrO2", "Fe", "BaTiO3"])
def test_common_polymorph_first(query: str, order: list[str]) -> None:
    matches = lookup_crystal(query, limit=len(order)).matches
    assert [order_name in m.names for m, order_name in zip(matches, order, strict=True)] == \
        [True] * len(order), [m.names for m in matches]


@pytest.mark.parametrize(("query", "number"), [("Fm-3m", 225), ("225", 225), ("fm-3m", 225),
                                               ("P6_3/mmc", 194), ("P63/mmc", 194),
                                               ("R-3c", 167), ("Pnma", 62)])
def test_space_group_queries(query: str, number: int) -> None:
    result = lookup_crystal(query, limit=10)
    assert len(result.matches) >= 5
    assert all(m.space_group_number == number for m in result.matches)
    assert result.interpreted_as == [f"space group {number} ({result.matches[0].space_group})"]


@pytest.mark.parametrize(("query", "elements", "first"),
                         [("Ti-O", {"Ti", "O"}, "TiO2"), ("Fe,C", {"Fe", "C"}, "Fe3C"),
                          ("o ti", {"Ti", "O"}, "TiO2")], ids=["dash", "comma", "space-lower"])
def test_chemical_system_queries(query: str, elements: set[str], first: str) -> None:
    matches = lookup_crystal(query, limit=5).matches
    assert matches[0].formula == first
    assert all({el.symbol for el in Composition(m.formula)} == elements for m in matches)


def test_lattice_and_density_are_the_structures() -> None:
    best = lookup_crystal("rutile", limit=1).matches[0]
    assert best.lattice.a == pytest.approx(4.594, abs=0.01)
    assert best.lattice.c / best.lattice.a == pytest.approx(0.644, abs=0.003)
    assert best.z == 2 and best.density_g_cm3 == pytest.approx(4.25, rel=0.01)  # CRC: 4.25
    assert best.citation and best.source == "curated"


def test_reflections_golden_si_111() -> None:
    si = lookup_crystal("Si", limit=1, with_reflections=True).matches[0]
    strongest = max(si.reflections, key=lambda r: r.relative_intensity)
    assert strongest.hkl == [1, 1, 1]
    assert strongest.d_angstrom == pytest.approx(3.1355, abs=2e-4)
    assert strongest.two_theta_deg == pytest.approx(28.44, abs=0.01)


def test_no_match_suggests() -> None:
    result = lookup_crystal("rutlie")
    assert result.matches == [] and "rutile" in result.suggestions


@pytest.mark.parametrize("query", ["", "   ", "x" * 500, "Al2O3\x00"],
                         ids=["empty", "blank", "huge", "control"])
def test_malformed_query_is_a_tool_error(query: str) -> None:
    with pytest.raises(ToolError):
        lookup_crystal(query)


def test_inside_an_episode_nothing_raises(tmp_path) -> None:
    context = ToolContext(tmp_path, {})
    bad = REGISTRY.call(ToolCall(name="lookup_crystal", arguments={"query": ""}), context)
    none = REGISTRY.call(ToolCall(name="lookup_crystal", arguments={"query": "zzzz"}), context)
    good = REGISTRY.call(ToolCall(name="lookup_crystal", arguments={"query": "rutile"}), context)
    assert not bad.ok and "query is empty" in bad.error
    assert none.ok and none.content["matches"] == []
    assert good.ok and good.content["matches"][0]["formula"] == "TiO2"
    schema = REGISTRY.get("lookup_crystal").openai_schema()["function"]["parameters"]
    assert set(schema["properties"]) == {"query", "limit", "with_reflections"}


def test_every_element_has_a_reference_structure() -> None:
    from ase.collections import dcdft
    from ase.data import chemical_symbols, reference_states

    records = load_records(open_database())
    sources = {r.id.split(":")[0] for r in records}
    assert {"curated", "ase-reference", "ase-dcdft", "aflow-prototype"} <= sources
    elements = {r.elements[0] for r in records if len(r.elements) == 1}
    crystalline = {chemical_symbols[z] for z, s in enumerate(reference_states)
                   if s and s.get("symmetry") not in ("atom", "diatom")}
    # ase can build every crystalline reference state but those needing an atomic basis
    # (B, P, S, Cl, Mn, Ga, Se, Br, Te, I, Pa, Pu); dcdft has those but Pa and Pu.
    missing = (crystalline | set(dcdft.names)) - elements
    assert len(elements) >= 85 and not missing, sorted(missing)


def test_every_stored_space_group_is_spglibs() -> None:
    wrong = []
    for record in load_records(open_database()):
        structure = Structure.from_str(record.cif, fmt="cif")
        analyzer = SpacegroupAnalyzer(structure, symprec=SYMPREC)
        if analyzer.get_space_group_number() != record.space_group_number:
            wrong.append(record.id)
        elif abs(structure.density - record.density) > 1e-3 * record.density:
            wrong.append(f"{record.id} density")
    assert not wrong
