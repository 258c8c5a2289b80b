"""Tests of the curated phase table: symmetry, density, golden values, coverage."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
from pymatgen.analysis.diffraction.xrd import XRDCalculator
from pymatgen.core import Composition, Lattice, Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from csmbench.tools._curated_phases import (
    CURATED_PHASES,
    PHASES_BY_KEY,
    CuratedPhase,
    build_structure,
    curated_structures,
)

DENSITY_REL_TOL = 0.015
"""Allowed relative difference between built-cell density and the literature density."""
MIN_BOND_A = 1.2
"""No two atoms of any curated phase (no hydrogen in the table) are closer than this, in Å."""
CU_KA1_A = 1.5405929

_STRUCTURES = {phase.key: structure for phase, structure in curated_structures()}
_WITH_DENSITY = [p for p in CURATED_PHASES if p.density_g_cm3_lit is not None]

REQUIRED = [
    ("NaCl", 225), ("KCl", 225), ("LiF", 225), ("MgO", 225), ("CaO", 225), ("MnO", 225),
    ("NiO", 225), ("CeO2", 225), ("CaF2", 225), ("ZrO2", 14), ("ZrO2", 137), ("ZrO2", 225),
    ("Al2O3", 167), ("TiO2", 136), ("TiO2", 141), ("TiO2", 61), ("SiO2", 154), ("SiO2", 92),
    ("ZnO", 186), ("ZnS", 216), ("GaAs", 216), ("GaN", 186), ("InP", 216), ("AlN", 186),
    ("SiC", 216), ("SiC", 186), ("Si3N4", 176), ("TiN", 225), ("TiC", 225), ("WC", 187),
    ("Fe3O4", 227), ("Fe2O3", 167), ("Cu2O", 224), ("CuO", 15), ("BaTiO3", 99),
    ("BaTiO3", 221), ("SrTiO3", 221), ("LaB6", 221), ("C", 194), ("C", 227), ("MoS2", 194),
    ("Si", 227), ("Ge", 227), ("Fe", 229), ("Fe", 225), ("Ti", 194), ("Ti", 229), ("Zr", 194),
    ("Mg", 194), ("Zn", 194), ("Ni", 225), ("Co", 194), ("Cr", 229), ("W", 229), ("Mo", 229),
    ("Al", 225), ("Cu", 225), ("Ag", 225), ("Au", 225), ("Pt", 225), ("Pb", 225),
    ("Ni3Al", 221), ("NiAl", 221), ("Fe3C", 62), ("TiAl", 123), ("Ti3Al", 194),
    ("Al3Sc", 221), ("MgZn2", 194), ("Al2Cu", 140),
]


def _ids(phases: list[CuratedPhase]) -> list[str]:
    return [p.key for p in phases]


@pytest.mark.parametrize("phase", CURATED_PHASES, ids=_ids(list(CURATED_PHASES)))
def test_builds_with_declared_space_group_and_formula(phase: CuratedPhase) -> None:
    structure = _STRUCTURES[phase.key]
    sga = SpacegroupAnalyzer(structure, symprec=1e-3)
    assert sga.get_space_group_number() == phase.space_group
    assert structure.composition.reduced_formula == phase.formula
    assert structure.is_ordered


@pytest.mark.parametrize("phase", CURATED_PHASES, ids=_ids(list(CURATED_PHASES)))
def test_no_atoms_closer_than_a_bond(phase: CuratedPhase) -> None:
    structure = _STRUCTURES[phase.key]
    too_close = [n for nbrs in structure.get_all_neighbors(MIN_BOND_A) for n in nbrs]
    assert not too_close, f"{phase.key}: atoms closer than {MIN_BOND_A} Å"


@pytest.mark.parametrize("phase", _WITH_DENSITY, ids=_ids(_WITH_DENSITY))
def test_density_matches_literature(phase: CuratedPhase) -> None:
    computed = _STRUCTURES[phase.key].density
    assert phase.density_source
    assert computed == pytest.approx(phase.density_g_cm3_lit, rel=DENSITY_REL_TOL)


def test_enough_entries_and_literature_densities() -> None:
    assert len(CURATED_PHASES) >= 80
    assert len(_WITH_DENSITY) >= 40


def test_keys_unique_names_and_citations_present() -> None:
    keys = [p.key for p in CURATED_PHASES]
    assert len(keys) == len(set(keys))
    assert set(PHASES_BY_KEY) == set(keys)
    for phase in CURATED_PHASES:
        assert phase.names and all(name.strip() for name in phase.names), phase.key
        assert all(name == name.lower() for name in phase.names), phase.key
        assert phase.citation.strip(), phase.key
        assert Composition(phase.formula).reduced_formula == phase.formula, phase.key


@pytest.mark.parametrize(("formula", "space_group"), REQUIRED, ids=[f"{f}-{g}" for f, g in REQUIRED])
def test_required_phase_present(formula: str, space_group: int) -> None:
    wanted = Composition(formula).reduced_formula
    assert any(
        p.formula == wanted and p.space_group == space_group for p in CURATED_PHASES
    ), f"{formula} (space group {space_group}) missing"


def test_sic_hexagonal_polytypes_4h_and_6h() -> None:
    hexagonal = [_STRUCTURES[p.key] for p in CURATED_PHASES if p.formula == "SiC"]
    layers = sorted(len(s) // 2 for s in hexagonal if s.lattice.gamma > 100)
    assert layers == [4, 6]


def test_common_rank_unique_per_formula_and_ordered() -> None:
    ranks: dict[str, list[int]] = defaultdict(list)
    for phase in CURATED_PHASES:
        ranks[phase.formula].append(phase.common_rank)
    for formula, values in ranks.items():
        assert sorted(values) == list(range(len(values))), formula
    order = ["tio2-rutile", "tio2-anatase", "tio2-brookite"]
    assert [PHASES_BY_KEY[k].common_rank for k in order] == [0, 1, 2]
    assert PHASES_BY_KEY["sio2-alpha-quartz"].common_rank == 0
    assert PHASES_BY_KEY["zro2-monoclinic"].common_rank == 0


def test_si_111_golden_peak_with_cu_ka1() -> None:
    structure = _STRUCTURES["si"]
    assert structure.lattice.a == pytest.approx(5.43102, abs=1e-5)
    pattern = XRDCalculator(wavelength=CU_KA1_A).get_pattern(structure, two_theta_range=(20, 40))
    i111 = next(i for i, hkls in enumerate(pattern.hkls) if hkls[0]["hkl"] == (1, 1, 1))
    assert pattern.d_hkls[i111] == pytest.approx(3.1355, abs=2e-4)
    assert pattern.x[i111] == pytest.approx(28.44, abs=0.01)
    bragg = np.degrees(2 * np.arcsin(CU_KA1_A / (2 * pattern.d_hkls[i111])))
    assert pattern.x[i111] == pytest.approx(bragg, abs=1e-6)


def test_nacl_lattice_and_rutile_axial_ratio() -> None:
    assert _STRUCTURES["nacl"].lattice.a == pytest.approx(5.640, abs=1e-3)
    rutile = _STRUCTURES["tio2-rutile"].lattice
    assert rutile.c / rutile.a == pytest.approx(0.644, abs=1e-3)


@pytest.mark.parametrize(
    ("key", "n_atoms"),
    [("nacl", 8), ("tio2-rutile", 6), ("al2o3-corundum", 30), ("sio2-alpha-quartz", 9),
     ("fe3c-cementite", 16), ("al2cu-theta", 12), ("mgzn2", 12), ("c-diamond", 8),
     ("fe3o4", 56), ("fe-alpha", 2), ("ti-alpha", 2), ("tio2-anatase", 12)],
)
def test_atoms_in_conventional_cell(key: str, n_atoms: int) -> None:
    assert len(_STRUCTURES[key]) == n_atoms


def test_build_is_deterministic() -> None:
    phase = PHASES_BY_KEY["tio2-brookite"]
    first, second = build_structure(phase), build_structure(phase)
    assert [s.species_string for s in first] == [s.species_string for s in second]
    np.testing.assert_array_equal(first.frac_coords, second.frac_coords)


@pytest.mark.parametrize("key", ["nacl", "tio2-brookite", "sio2-alpha-quartz", "fe3c-cementite"])
def test_build_matches_pymatgen_from_spacegroup(key: str) -> None:
    phase = PHASES_BY_KEY[key]
    reference = Structure.from_spacegroup(
        phase.setting,
        Lattice.from_parameters(*phase.lattice),
        [site.species for site in phase.sites],
        [list(site.xyz) for site in phase.sites],
    )
    built = _STRUCTURES[key]
    assert [s.species_string for s in built] == [s.species_string for s in reference]
    np.testing.assert_allclose(built.frac_coords, reference.frac_coords, atol=1e-12)
