"""Curated table of common phases of materials science, with a structure builder.

Each entry holds literature lattice parameters (Å, degrees), the Wyckoff positions of the
asymmetric unit and the source they come from, so that `build_structure` can make the
conventional cell exactly as pymatgen's ``Structure.from_spacegroup`` does (with the parsed
space group cached, since pymatgen needs about a second per cubic group). Entries are data, one call
each; prototype helpers (`_rocksalt`, `_fluorite`, `_wurtzite`, ...) only fill in the
Wyckoff positions that the prototype fixes.

Setting conventions (those of pymatgen's space-group tables, which the builder uses):

- groups with two origin choices are given in **origin choice 1** (ITA): Fd-3m with the
  8a site at (0, 0, 0) and 16d at (5/8, 5/8, 5/8), I4_1/amd with 4a at (0, 0, 0),
  P4_2/nmc with 2a at (0, 0, 0), Pn-3m with 2a at (0, 0, 0); literature coordinates given
  for origin choice 2 were shifted by (1/8, 1/8, 1/8) or the ITA shift of that group;
- rhombohedral groups (R-3c, R-3m) use hexagonal axes;
- alpha-quartz is the right-handed enantiomorph drawn in P3_221 (No. 154).

Literature densities (``density_g_cm3_lit``) are independent values (handbook X-ray or
measured densities), compared with the density of the built cell in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from pymatgen.core import Composition, Lattice, Structure
from pymatgen.symmetry.groups import SpaceGroup

__all__ = ["CURATED_PHASES", "PHASES_BY_KEY", "CuratedPhase", "Site", "build_structure", "curated_structures"]


@dataclass(frozen=True)
class Site:
    """One Wyckoff site of the asymmetric unit.

    Attributes:
        species: Element symbol (or a mixed occupancy such as ``"Ti0.5Al0.5"``).
        xyz: Fractional coordinates of the representative position.
        wyckoff: Wyckoff multiplicity and letter, e.g. ``"4a"`` (documentation only).
    """

    species: str
    xyz: tuple[float, float, float]
    wyckoff: str = ""


@dataclass(frozen=True)
class CuratedPhase:
    """A crystal phase with literature lattice, positions and citation.

    Attributes:
        key: Unique slug, e.g. ``"tio2-rutile"``.
        formula: Reduced formula as pymatgen writes it (``"TiO2"``).
        names: Mineral, common and polymorph names (search terms, any case).
        space_group: ITA space-group number.
        setting: Space-group symbol passed to pymatgen (see module notes on origins).
        lattice: a, b, c in Å and alpha, beta, gamma in degrees.
        sites: Asymmetric unit.
        citation: Source of the lattice parameters and positions.
        density_g_cm3_lit: Independent literature density in g/cm³, if known.
        density_source: Where ``density_g_cm3_lit`` comes from.
        common_rank: 0 for the most common polymorph of its formula, higher for rarer ones.
    """

    key: str
    formula: str
    names: tuple[str, ...]
    space_group: int
    setting: str
    lattice: tuple[float, float, float, float, float, float]
    sites: tuple[Site, ...]
    citation: str
    density_g_cm3_lit: float | None = None
    density_source: str = ""
    common_rank: int = 0


ORBIT_TOL = 1e-5
"""Fractional tolerance for merging symmetry-equivalent positions (pymatgen's default)."""


@cache
def _space_group(setting: str) -> SpaceGroup:
    """Parse a space group once: pymatgen takes about a second to build a cubic group."""
    return SpaceGroup(setting)


def _species(symbol: str) -> str | Composition:
    return symbol if symbol.isalpha() else Composition(symbol)


def build_structure(phase: CuratedPhase) -> Structure:
    """Build the conventional cell of a curated phase.

    Same result as ``Structure.from_spacegroup(phase.setting, lattice, species, coords)``
    (orbits generated with tolerance `ORBIT_TOL`), with the parsed space group cached.

    Args:
        phase: The table entry.

    Returns:
        The conventional-cell `Structure` (deterministic: same input, same site order).

    Raises:
        ValueError: If the lattice does not fit the space group's crystal system.

    Example:
        >>> s = build_structure(PHASES_BY_KEY["nacl"])
        >>> len(s), s.composition.reduced_formula
        (8, 'NaCl')
    """
    group = _space_group(phase.setting)
    lattice = Lattice.from_parameters(*phase.lattice)
    if not group.is_compatible(lattice):
        raise ValueError(f"{phase.key}: lattice {phase.lattice} does not fit {phase.setting}")
    species: list[str | Composition] = []
    coords: list[np.ndarray] = []
    for site in phase.sites:
        orbit = group.get_orbit(np.asarray(site.xyz, dtype=float), tol=ORBIT_TOL)
        species.extend([_species(site.species)] * len(orbit))
        coords.extend(orbit)
    return Structure(lattice, species, coords)


def curated_structures() -> list[tuple[CuratedPhase, Structure]]:
    """Return every curated phase with its built conventional cell, in table order."""
    return [(phase, build_structure(phase)) for phase in CURATED_PHASES]


# --- helpers that keep the table readable ---------------------------------------------------
_Lat = tuple[float, float, float, float, float, float]
_SiteSpec = tuple[str, tuple[float, float, float], str]
_Density = tuple[float, str] | None


def _cubic(a: float) -> _Lat:
    return (a, a, a, 90.0, 90.0, 90.0)


def _tet(a: float, c: float) -> _Lat:
    return (a, a, c, 90.0, 90.0, 90.0)


def _hex(a: float, c: float) -> _Lat:
    return (a, a, c, 90.0, 90.0, 120.0)


def _ortho(a: float, b: float, c: float) -> _Lat:
    return (a, b, c, 90.0, 90.0, 90.0)


def _mono(a: float, b: float, c: float, beta: float) -> _Lat:
    return (a, b, c, 90.0, beta, 90.0)


def _phase(
    key: str,
    formula: str,
    names: tuple[str, ...],
    sg: int,
    setting: str,
    lattice: _Lat,
    sites: tuple[_SiteSpec, ...],
    citation: str,
    density: _Density = None,
    rank: int = 0,
) -> CuratedPhase:
    """One table entry; ``sites`` are (species, xyz, wyckoff), ``density`` (g/cm³, source)."""
    lit, source = density if density is not None else (None, "")
    return CuratedPhase(
        key=key,
        formula=formula,
        names=names,
        space_group=sg,
        setting=setting,
        lattice=lattice,
        sites=tuple(Site(sp, xyz, w) for sp, xyz, w in sites),
        citation=citation,
        density_g_cm3_lit=lit,
        density_source=source,
        common_rank=rank,
    )


def _rocksalt(
    key: str,
    formula: str,
    names: tuple[str, ...],
    a: float,
    cation: str,
    anion: str,
    citation: str,
    density: _Density = None,
    rank: int = 0,
) -> CuratedPhase:
    """NaCl type (B1), Fm-3m: cation 4a (0,0,0), anion 4b (1/2,1/2,1/2)."""
    sites = ((cation, (0.0, 0.0, 0.0), "4a"), (anion, (0.5, 0.5, 0.5), "4b"))
    return _phase(key, formula, names, 225, "Fm-3m", _cubic(a), sites, citation, density, rank)


def _fluorite(
    key: str,
    formula: str,
    names: tuple[str, ...],
    a: float,
    cation: str,
    anion: str,
    citation: str,
    density: _Density = None,
    rank: int = 0,
) -> CuratedPhase:
    """CaF2 type (C1), Fm-3m: cation 4a (0,0,0), anion 8c (1/4,1/4,1/4); antifluorite swaps."""
    sites = ((cation, (0.0, 0.0, 0.0), "4a"), (anion, (0.25, 0.25, 0.25), "8c"))
    return _phase(key, formula, names, 225, "Fm-3m", _cubic(a), sites, citation, density, rank)


def _zincblende(
    key: str,
    formula: str,
    names: tuple[str, ...],
    a: float,
    cation: str,
    anion: str,
    citation: str,
    density: _Density = None,
    rank: int = 0,
) -> CuratedPhase:
    """Sphalerite type (B3), F-43m: cation 4a (0,0,0), anion 4c (1/4,1/4,1/4)."""
    sites = ((cation, (0.0, 0.0, 0.0), "4a"), (anion, (0.25, 0.25, 0.25), "4c"))
    return _phase(key, formula, names, 216, "F-43m", _cubic(a), sites, citation, density, rank)


def _wurtzite(
    key: str,
    formula: str,
    names: tuple[str, ...],
    a: float,
    c: float,
    u: float,
    cation: str,
    anion: str,
    citation: str,
    density: _Density = None,
    rank: int = 0,
) -> CuratedPhase:
    """Wurtzite type (B4), P6_3mc: cation 2b (1/3,2/3,0), anion 2b (1/3,2/3,u)."""
    sites = ((cation, (1 / 3, 2 / 3, 0.0), "2b"), (anion, (1 / 3, 2 / 3, u), "2b"))
    return _phase(key, formula, names, 186, "P6_3mc", _hex(a, c), sites, citation, density, rank)


def _rutile(
    key: str,
    formula: str,
    names: tuple[str, ...],
    a: float,
    c: float,
    x: float,
    metal: str,
    citation: str,
    density: _Density = None,
    rank: int = 0,
) -> CuratedPhase:
    """Rutile type (C4), P4_2/mnm: metal 2a (0,0,0), O 4f (x,x,0)."""
    sites = ((metal, (0.0, 0.0, 0.0), "2a"), ("O", (x, x, 0.0), "4f"))
    return _phase(key, formula, names, 136, "P4_2/mnm", _tet(a, c), sites, citation, density, rank)


def _corundum(
    key: str,
    formula: str,
    names: tuple[str, ...],
    a: float,
    c: float,
    z: float,
    x: float,
    metal: str,
    citation: str,
    density: _Density = None,
    rank: int = 0,
) -> CuratedPhase:
    """Corundum type (D5_1), R-3c hexagonal axes: metal 12c (0,0,z), O 18e (x,0,1/4)."""
    sites = ((metal, (0.0, 0.0, z), "12c"), ("O", (x, 0.0, 0.25), "18e"))
    return _phase(key, formula, names, 167, "R-3c", _hex(a, c), sites, citation, density, rank)


def _fcc(
    key: str,
    el: str,
    names: tuple[str, ...],
    a: float,
    citation: str,
    density: _Density = None,
    rank: int = 0,
) -> CuratedPhase:
    """Cu type (A1), Fm-3m: 4a (0,0,0)."""
    sites = ((el, (0.0, 0.0, 0.0), "4a"),)
    return _phase(key, el, names, 225, "Fm-3m", _cubic(a), sites, citation, density, rank)


def _bcc(
    key: str,
    el: str,
    names: tuple[str, ...],
    a: float,
    citation: str,
    density: _Density = None,
    rank: int = 0,
) -> CuratedPhase:
    """W type (A2), Im-3m: 2a (0,0,0)."""
    sites = ((el, (0.0, 0.0, 0.0), "2a"),)
    return _phase(key, el, names, 229, "Im-3m", _cubic(a), sites, citation, density, rank)


def _hcp(
    key: str,
    el: str,
    names: tuple[str, ...],
    a: float,
    c: float,
    citation: str,
    density: _Density = None,
    rank: int = 0,
) -> CuratedPhase:
    """Mg type (A3), P6_3/mmc: 2c (1/3,2/3,1/4)."""
    sites = ((el, (1 / 3, 2 / 3, 0.25), "2c"),)
    return _phase(key, el, names, 194, "P6_3/mmc", _hex(a, c), sites, citation, density, rank)


def _diamond(
    key: str,
    el: str,
    names: tuple[str, ...],
    a: float,
    citation: str,
    density: _Density = None,
    rank: int = 0,
) -> CuratedPhase:
    """Diamond type (A4), Fd-3m origin choice 1: 8a (0,0,0)."""
    sites = ((el, (0.0, 0.0, 0.0), "8a"),)
    return _phase(key, el, names, 227, "Fd-3m", _cubic(a), sites, citation, density, rank)


def _spinel(
    key: str,
    formula: str,
    names: tuple[str, ...],
    a: float,
    x: float,
    a_site: str,
    b_site: str,
    citation: str,
    density: _Density = None,
    rank: int = 0,
) -> CuratedPhase:
    """Spinel type (H1_1), Fd-3m origin 1: A 8a (0,0,0), B 16d (5/8,5/8,5/8), O 32e (x,x,x)."""
    sites = (
        (a_site, (0.0, 0.0, 0.0), "8a"),
        (b_site, (0.625, 0.625, 0.625), "16d"),
        ("O", (x, x, x), "32e"),
    )
    return _phase(key, formula, names, 227, "Fd-3m", _cubic(a), sites, citation, density, rank)


def _cubic_perovskite(
    key: str,
    formula: str,
    names: tuple[str, ...],
    a: float,
    a_site: str,
    b_site: str,
    citation: str,
    density: _Density = None,
    rank: int = 0,
) -> CuratedPhase:
    """Cubic perovskite (E2_1), Pm-3m: A 1a (0,0,0), B 1b (1/2,1/2,1/2), O 3c (0,1/2,1/2)."""
    sites = (
        (a_site, (0.0, 0.0, 0.0), "1a"),
        (b_site, (0.5, 0.5, 0.5), "1b"),
        ("O", (0.0, 0.5, 0.5), "3c"),
    )
    return _phase(key, formula, names, 221, "Pm-3m", _cubic(a), sites, citation, density, rank)


def _cscl(
    key: str,
    formula: str,
    names: tuple[str, ...],
    a: float,
    first: str,
    second: str,
    citation: str,
    density: _Density = None,
    rank: int = 0,
) -> CuratedPhase:
    """CsCl type (B2), Pm-3m: 1a (0,0,0), 1b (1/2,1/2,1/2)."""
    sites = ((first, (0.0, 0.0, 0.0), "1a"), (second, (0.5, 0.5, 0.5), "1b"))
    return _phase(key, formula, names, 221, "Pm-3m", _cubic(a), sites, citation, density, rank)


def _l12(
    key: str,
    formula: str,
    names: tuple[str, ...],
    a: float,
    majority: str,
    minority: str,
    citation: str,
    density: _Density = None,
    rank: int = 0,
) -> CuratedPhase:
    """Cu3Au type (L1_2), Pm-3m: minority 1a (0,0,0), majority 3c (0,1/2,1/2)."""
    sites = ((minority, (0.0, 0.0, 0.0), "1a"), (majority, (0.0, 0.5, 0.5), "3c"))
    return _phase(key, formula, names, 221, "Pm-3m", _cubic(a), sites, citation, density, rank)


# --- sources used by many entries -----------------------------------------------------------
NBS = "Swanson et al., NBS Circular 539 / NBS Monograph 25, Standard X-ray Diffraction Powder Patterns"
ICDD = "ICDD Powder Diffraction File"
CRC_EL = (
    "CRC Handbook of Chemistry and Physics, 'Crystal Structures and Lattice Parameters of "
    "Allotropes of the Elements' (room temperature); Donohue, The Structures of the Elements "
    "(Wiley, 1974)"
)
CRC_D = "CRC Handbook of Chemistry and Physics, 'Physical Constants of Inorganic Compounds'"
CRC_DEL = "CRC Handbook of Chemistry and Physics, density of the elements near 20 °C"
HOM = "Handbook of Mineralogy (Anthony, Bideaux, Bladh, Nichols; Mineralogical Society of America)"
PIERSON = "Pierson, Handbook of Refractory Carbides and Nitrides (Noyes, 1996)"
IOFFE = "Ioffe Institute NSM semiconductor database; Madelung, Semiconductors: Data Handbook (2004)"
HARRIS = "Harris (ed.), Properties of Silicon Carbide, EMIS Datareviews 13 (INSPEC, 1995)"
MIRACLE = "Miracle, Acta Metall. Mater. 41, 649 (1993)"
WYCKOFF = "Wyckoff, Crystal Structures, 2nd ed. (Interscience, 1963-1971)"
PEARSON = "Villars & Calvert, Pearson's Handbook of Crystallographic Data for Intermetallic Phases"

_rock_salts = (
    _rocksalt("nacl", "NaCl", ("halite", "rock salt", "sodium chloride"), 5.6402, "Na", "Cl",
              f"{NBS}, NaCl (PDF 5-628)", (2.165, CRC_D)),
    _rocksalt("kcl", "KCl", ("sylvite", "potassium chloride"), 6.2917, "K", "Cl",
              f"{ICDD} 41-1476 (sylvite)", (1.988, CRC_D)),
    _rocksalt("lif", "LiF", ("griceite", "lithium fluoride"), 4.0263, "Li", "F",
              f"{NBS}, LiF (PDF 4-857)", (2.640, CRC_D)),
    _rocksalt("naf", "NaF", ("villiaumite", "sodium fluoride"), 4.6342, "Na", "F",
              f"{ICDD} 36-1455 (villiaumite)", (2.78, CRC_D)),
    _rocksalt("kbr", "KBr", ("potassium bromide",), 6.6000, "K", "Br",
              f"{ICDD} 36-1471", (2.74, CRC_D)),
    _rocksalt("agcl", "AgCl", ("chlorargyrite", "cerargyrite", "silver chloride"), 5.5491, "Ag",
              "Cl", f"{ICDD} 31-1238 (chlorargyrite)", (5.56, CRC_D)),
    _rocksalt("mgo", "MgO", ("periclase", "magnesia", "magnesium oxide"), 4.2112, "Mg", "O",
              f"{ICDD} 45-946 (periclase)", (3.6, CRC_D)),
    _rocksalt("cao", "CaO", ("lime", "quicklime", "calcium oxide"), 4.8105, "Ca", "O",
              f"{NBS}, CaO (PDF 37-1497)", (3.34, CRC_D)),
    _rocksalt("mno", "MnO", ("manganosite", "manganese(ii) oxide"), 4.4448, "Mn", "O",
              f"{ICDD} 7-230 (manganosite); paramagnetic cubic cell", (5.37, CRC_D)),
    _rocksalt("nio", "NiO", ("bunsenite", "nickel oxide", "nickel(ii) oxide"), 4.1771, "Ni", "O",
              f"{NBS}, NiO (PDF 47-1049, bunsenite); rhombohedral distortion below T_N ignored",
              (6.72, CRC_D)),
    _rocksalt("coo", "CoO", ("cobalt oxide", "cobalt(ii) oxide"), 4.2615, "Co", "O",
              f"{ICDD} 48-1719 (CoO)", (6.44, CRC_D)),
    _rocksalt("pbs", "PbS", ("galena", "lead sulfide"), 5.9362, "Pb", "S",
              f"{NBS}, PbS (PDF 5-592, galena)", (7.60, CRC_D)),
    _rocksalt("pbte", "TePb", ("altaite", "lead telluride", "pbte"), 6.4620, "Pb", "Te",
              f"{NBS}, PbTe (PDF 38-1435, altaite)", (8.16, CRC_D)),
    _rocksalt("tin", "TiN", ("osbornite", "titanium nitride"), 4.2417, "Ti", "N",
              f"{ICDD} 38-1420 (osbornite)", (5.40, PIERSON)),
    _rocksalt("tic", "TiC", ("khamrabaevite", "titanium carbide"), 4.3274, "Ti", "C",
              f"{ICDD} 32-1383", (4.91, PIERSON)),
    _rocksalt("zrc", "ZrC", ("zirconium carbide",), 4.6983, "Zr", "C",
              f"{ICDD} 35-784", (6.59, PIERSON)),
    _rocksalt("hfc", "HfC", ("hafnium carbide",), 4.6376, "Hf", "C",
              f"{ICDD} 39-1491", (12.67, PIERSON)),
    _rocksalt("tac", "TaC", ("tantalum carbide",), 4.4547, "Ta", "C",
              f"{ICDD} 35-801", (14.50, PIERSON)),
    _rocksalt("nbc", "NbC", ("niobium carbide",), 4.4698, "Nb", "C",
              f"{ICDD} 38-1364", (7.79, PIERSON)),
    _rocksalt("zrn", "ZrN", ("zirconium nitride",), 4.5776, "Zr", "N",
              f"{ICDD} 35-753", (7.32, PIERSON)),
    _rocksalt("crn", "CrN", ("chromium nitride", "carlsbergite"), 4.148, "Cr", "N",
              f"{ICDD} 11-65 (CrN)"),
    _cscl("cscl", "CsCl", ("caesium chloride", "cesium chloride"), 4.123, "Cs", "Cl",
          f"{NBS}, CsCl (PDF 5-607)", (3.988, CRC_D)),
)

_fluorites = (
    _fluorite("caf2", "CaF2", ("fluorite", "fluorspar", "calcium fluoride"), 5.4626, "Ca", "F",
              f"{NBS}, CaF2 (PDF 35-816, fluorite)", (3.18, CRC_D)),
    _fluorite("baf2", "BaF2", ("frankdicksonite", "barium fluoride"), 6.2001, "Ba", "F",
              f"{NBS}, BaF2 (PDF 4-452)", (4.893, CRC_D)),
    _fluorite("ceo2", "CeO2", ("cerianite", "ceria", "cerium dioxide"), 5.4113, "Ce", "O",
              f"{ICDD} 34-394 (cerianite); NIST SRM 674b gives a = 5.41165 Å"),
    _fluorite("tho2", "ThO2", ("thorianite", "thoria"), 5.5997, "Th", "O",
              f"{ICDD} 42-1462 (thorianite)", (10.0, CRC_D)),
    _fluorite("uo2", "UO2", ("uraninite", "urania", "uranium dioxide"), 5.4704, "U", "O",
              f"{ICDD} 41-1422 (uraninite, synthetic UO2)", (10.97, CRC_D)),
    _fluorite("zro2-cubic", "ZrO2", ("cubic zirconia", "c-zro2", "gamma-zirconia"), 5.269, "Zr",
              "O", "Aldebert & Traverse, J. Am. Ceram. Soc. 68, 34 (1985): a = 5.269 Å at 2683 K "
              "(pure ZrO2; stabilised c-ZrO2 at room temperature is ~5.13 Å)", rank=2),
    _fluorite("li2o", "Li2O", ("lithia", "lithium oxide"), 4.6114, "O", "Li",
              f"{ICDD} 12-254 (antifluorite)", (2.013, CRC_D)),
    _fluorite("mg2si", "Mg2Si", ("magnesium silicide",), 6.351, "Si", "Mg",
              f"{ICDD} 35-773 (antifluorite)", (1.99, CRC_D)),
)

_zirconia_hafnia = (
    _phase("zro2-monoclinic", "ZrO2", ("baddeleyite", "monoclinic zirconia", "m-zro2",
                                       "zirconia", "zirconium dioxide"),
           14, "P2_1/c", _mono(5.1507, 5.2028, 5.3156, 99.196),
           (("Zr", (0.2754, 0.0395, 0.2083), "4e"), ("O", (0.0700, 0.3317, 0.3447), "4e"),
            ("O", (0.4496, 0.7569, 0.4792), "4e")),
           "Howard, Hill & Reichert, Acta Cryst. B44, 116 (1988); cf. Smith & Newkirk, "
           "Acta Cryst. 18, 983 (1965)", (5.83, f"{HOM}, baddeleyite, D(calc.)")),
    _phase("zro2-tetragonal", "ZrO2", ("tetragonal zirconia", "t-zro2", "beta-zirconia"),
           137, "P4_2/nmc", _tet(3.64, 5.27),
           (("Zr", (0.0, 0.0, 0.0), "2a"), ("O", (0.0, 0.5, 0.185), "4d")),
           "Teufer, Acta Cryst. 15, 1187 (1962), 1250 °C; origin choice 1", rank=1),
    _phase("hfo2-monoclinic", "HfO2", ("hafnia", "hafnium dioxide", "monoclinic hafnia"),
           14, "P2_1/c", _mono(5.1170, 5.1754, 5.2915, 99.216),
           (("Hf", (0.2766, 0.0399, 0.2089), "4e"), ("O", (0.0718, 0.3422, 0.3332), "4e"),
            ("O", (0.4483, 0.7584, 0.4799), "4e")),
           "Hann, Suitch & Pentecost, J. Am. Ceram. Soc. 68, C285 (1985)"),
)

_corundums = (
    _corundum("al2o3-corundum", "Al2O3", ("corundum", "alumina", "alpha-alumina", "sapphire",
                                          "α-al2o3"),
              4.7602, 12.9933, 0.35216, 0.30624, "Al",
              "Lewis, Schwarzenbach & Flack, Acta Cryst. A38, 733 (1982)", (3.99, CRC_D)),
    _corundum("cr2o3", "Cr2O3", ("eskolaite", "chromia", "chromium(iii) oxide"),
              4.9607, 13.599, 0.3475, 0.3058, "Cr",
              "Finger & Hazen, J. Appl. Phys. 51, 5362 (1980)", (5.22, CRC_D)),
    _corundum("fe2o3-hematite", "Fe2O3", ("hematite", "haematite", "alpha-fe2o3", "iron(iii) oxide"),
              5.0356, 13.7489, 0.35530, 0.3059, "Fe",
              "Blake, Hessevick, Zoltai & Finger, Am. Mineral. 51, 123 (1966)", (5.25, CRC_D)),
)

_titania_silica = (
    _rutile("tio2-rutile", "TiO2", ("rutile", "titania", "titanium dioxide"),
            4.59373, 2.95812, 0.30476, "Ti",
            "Abrahams & Bernstein, J. Chem. Phys. 55, 3206 (1971)", (4.25, f"{HOM}, rutile")),
    _phase("tio2-anatase", "TiO2", ("anatase", "octahedrite", "titania"),
           141, "I4_1/amd", _tet(3.7842, 9.5146),
           (("Ti", (0.0, 0.0, 0.0), "4a"), ("O", (0.0, 0.0, 0.20806), "8e")),
           "Horn, Schwerdtfeger & Meagher, Z. Kristallogr. 136, 273 (1972); origin choice 1",
           (3.89, f"{HOM}, anatase, D(calc.)"), rank=1),
    _phase("tio2-brookite", "TiO2", ("brookite", "titania"),
           61, "Pbca", _ortho(9.174, 5.449, 5.138),
           (("Ti", (0.1289, 0.0972, 0.8628), "8c"), ("O", (0.0095, 0.1491, 0.1835), "8c"),
            ("O", (0.2314, 0.1110, 0.5366), "8c")),
           "Meagher & Lager, Can. Mineral. 17, 77 (1979)", (4.12, f"{HOM}, brookite, D(calc.)"),
           rank=2),
    _rutile("sno2-cassiterite", "SnO2", ("cassiterite", "tin dioxide", "stannic oxide"),
            4.7374, 3.1864, 0.3056, "Sn",
            "Bolzan, Fong, Kennedy & Howard, Acta Cryst. B53, 373 (1997)",
            (6.99, f"{HOM}, cassiterite")),
    _rutile("mno2-pyrolusite", "MnO2", ("pyrolusite", "beta-mno2", "manganese dioxide"),
            4.3983, 2.8730, 0.3046, "Mn", "Bolzan, Fong, Kennedy & Howard, Aust. J. Chem. 46, "
            "939 (1993)"),
    _phase("sio2-alpha-quartz", "SiO2", ("alpha-quartz", "quartz", "low quartz", "silica",
                                         "α-quartz"),
           154, "P3_221", _hex(4.9134, 5.4052),
           (("Si", (0.4697, 0.0, 2 / 3), "3a"), ("O", (0.4135, 0.2669, 0.1191 + 2 / 3), "6c")),
           "Levien, Prewitt & Weidner, Am. Mineral. 65, 920 (1980); P3_221 (right-handed "
           "enantiomorph), coordinates shifted by z + 2/3 to the ITA origin",
           (2.648, CRC_D)),
    _phase("sio2-alpha-cristobalite", "SiO2", ("alpha-cristobalite", "cristobalite",
                                               "low cristobalite", "silica"),
           92, "P4_12_12", _tet(4.9717, 6.9223),
           (("Si", (0.3004, 0.3004, 0.0), "4a"), ("O", (0.2392, 0.1037, 0.1789), "8b")),
           "Downs & Palmer, Am. Mineral. 79, 9 (1994)", (2.32, CRC_D), rank=1),
    _rutile("sio2-stishovite", "SiO2", ("stishovite", "silica"),
            4.1772, 2.6651, 0.30613, "Si",
            "Hill, Newton & Gibbs, J. Solid State Chem. 47, 185 (1983)", rank=2),
)

_tetrahedral_semiconductors = (
    _wurtzite("zno", "ZnO", ("zincite", "zinc oxide", "wurtzite zno"),
              3.2496, 5.2042, 0.3819, "Zn", "O",
              "Kisi & Elcombe, Acta Cryst. C45, 1867 (1989)",
              (5.606, "Özgür et al., J. Appl. Phys. 98, 041301 (2005), Table I")),
    _zincblende("zns-sphalerite", "ZnS", ("sphalerite", "zinc blende", "zincblende"),
                5.4093, "Zn", "S", "Skinner, Am. Mineral. 46, 1399 (1961)", (4.1, CRC_D)),
    _wurtzite("zns-wurtzite", "ZnS", ("wurtzite", "alpha-zns"),
              3.8227, 6.2607, 0.3748, "Zn", "S",
              "Kisi & Elcombe, Acta Cryst. C45, 1867 (1989)", (4.09, CRC_D), rank=1),
    _zincblende("gaas", "GaAs", ("gallium arsenide",), 5.65325, "Ga", "As",
                IOFFE, (5.3176, CRC_D)),
    _zincblende("gap", "GaP", ("gallium phosphide",), 5.4505, "Ga", "P", IOFFE, (4.138, CRC_D)),
    _zincblende("inp", "InP", ("indium phosphide",), 5.8687, "In", "P", IOFFE, (4.81, CRC_D)),
    _zincblende("inas", "InAs", ("indium arsenide",), 6.0583, "In", "As", IOFFE, (5.67, CRC_D)),
    _zincblende("cdte", "CdTe", ("cadmium telluride",), 6.481, "Cd", "Te", IOFFE, (5.85, CRC_D)),
    _zincblende("znse", "ZnSe", ("stilleite", "zinc selenide"), 5.6676, "Zn", "Se", IOFFE,
                (5.27, CRC_D)),
    _wurtzite("gan", "GaN", ("gallium nitride",), 3.189, 5.185, 0.377, "Ga", "N",
              "Schulz & Thiemann, Solid State Commun. 23, 815 (1977)", (6.1, CRC_D)),
    _wurtzite("aln", "AlN", ("aluminium nitride", "aluminum nitride"), 3.110, 4.980, 0.3821,
              "Al", "N", "Schulz & Thiemann, Solid State Commun. 23, 815 (1977)", (3.255, CRC_D)),
    _wurtzite("cds", "CdS", ("greenockite", "cadmium sulfide"), 4.1367, 6.7161, 0.3770, "Cd", "S",
              f"{ICDD} 41-1049 (greenockite); u from Wyckoff (1963)", (4.82, CRC_D)),
    _wurtzite("beo", "BeO", ("bromellite", "beryllia", "beryllium oxide"), 2.6979, 4.3772, 0.378,
              "Be", "O", f"{ICDD} 35-818 (bromellite)", (3.01, CRC_D)),
    _zincblende("bn-cubic", "BN", ("cubic boron nitride", "c-bn", "borazon"), 3.6157, "B", "N",
                f"{ICDD} 25-1033 (c-BN); Wentorf, J. Chem. Phys. 26, 956 (1957)", rank=1),
    _zincblende("sic-3c", "SiC", ("3c-sic", "beta-sic", "beta silicon carbide", "moissanite-3c"),
                4.3596, "Si", "C", IOFFE, (3.21, HARRIS), rank=2),
    _phase("sic-4h", "SiC", ("4h-sic", "alpha-sic", "moissanite-4h", "silicon carbide"),
           186, "P6_3mc", _hex(3.0730, 10.053),
           (("Si", (0.0, 0.0, 0.0), "2a"), ("Si", (1 / 3, 2 / 3, 0.25), "2b"),
            ("C", (0.0, 0.0, 0.1875), "2a"), ("C", (1 / 3, 2 / 3, 0.4375), "2b")),
           f"{IOFFE} (lattice); ideal ABAC stacking positions", (3.21, HARRIS), rank=1),
    _phase("sic-6h", "SiC", ("6h-sic", "alpha-sic", "moissanite", "silicon carbide",
                             "carborundum"),
           186, "P6_3mc", _hex(3.0810, 15.1248),
           (("Si", (0.0, 0.0, 0.0), "2a"), ("Si", (1 / 3, 2 / 3, 1 / 6), "2b"),
            ("Si", (1 / 3, 2 / 3, 5 / 6), "2b"), ("C", (0.0, 0.0, 0.125), "2a"),
            ("C", (1 / 3, 2 / 3, 7 / 24), "2b"), ("C", (1 / 3, 2 / 3, 23 / 24), "2b")),
           "Gomes de Mesquita, Acta Cryst. 23, 610 (1967); ideal ABCACB stacking positions",
           (3.21, HARRIS)),
)

_elements_covalent = (
    _diamond("c-diamond", "C", ("diamond",), 3.56679, CRC_EL, (3.515, CRC_DEL), rank=1),
    _phase("c-graphite", "C", ("graphite", "graphite-2h", "hexagonal graphite"),
           194, "P6_3/mmc", _hex(2.464, 6.711),
           (("C", (0.0, 0.0, 0.25), "2b"), ("C", (1 / 3, 2 / 3, 0.25), "2c")),
           "Trucano & Chen, Nature 258, 136 (1975); Bernal AB stacking",
           (2.265, "Kelly, Physics of Graphite (Applied Science, 1981), X-ray density")),
    _diamond("si", "Si", ("silicon",), 5.43102,
             "CODATA 2018: a(Si) = 5.431020511 Å at 22.5 °C; NIST SRM 640 series",
             (2.3290, CRC_DEL)),
    _diamond("ge", "Ge", ("germanium",), 5.6579, CRC_EL, (5.3234, CRC_DEL)),
    _diamond("sn-alpha", "Sn", ("grey tin", "gray tin", "alpha-tin", "α-sn"), 6.4892, CRC_EL,
             (5.769, CRC_DEL), rank=1),
    _phase("sn-beta", "Sn", ("white tin", "beta-tin", "β-sn", "tin"),
           141, "I4_1/amd", _tet(5.8318, 3.1818), (("Sn", (0.0, 0.0, 0.0), "4a"),),
           f"{CRC_EL}; origin choice 1", (7.287, CRC_DEL)),
    _phase("mos2-2h", "MoS2", ("molybdenite", "molybdenum disulfide", "2h-mos2"),
           194, "P6_3/mmc", _hex(3.1604, 12.295),
           (("Mo", (1 / 3, 2 / 3, 0.25), "2c"), ("S", (1 / 3, 2 / 3, 0.621), "4f")),
           "Schönfeld, Huang & Moss, Acta Cryst. B39, 404 (1983)"),
    _phase("bn-hexagonal", "BN", ("hexagonal boron nitride", "h-bn", "white graphite"),
           194, "P6_3/mmc", _hex(2.504, 6.661),
           (("B", (1 / 3, 2 / 3, 0.25), "2c"), ("N", (1 / 3, 2 / 3, 0.75), "2d")),
           "Pease, Acta Cryst. 5, 356 (1952)"),
    _phase("wc", "WC", ("tungsten carbide", "tungsten monocarbide", "qusongite"),
           187, "P-6m2", _hex(2.9063, 2.8377),
           (("W", (0.0, 0.0, 0.0), "1a"), ("C", (1 / 3, 2 / 3, 0.5), "1d")),
           f"{ICDD} 51-939 (WC)", (15.6, CRC_D)),
    _phase("tib2", "TiB2", ("titanium diboride",), 191, "P6/mmm", _hex(3.0303, 3.2295),
           (("Ti", (0.0, 0.0, 0.0), "1a"), ("B", (1 / 3, 2 / 3, 0.5), "2d")),
           f"{ICDD} 35-741 (TiB2)", (4.52, CRC_D)),
    _phase("mgb2", "MgB2", ("magnesium diboride",), 191, "P6/mmm", _hex(3.0864, 3.5215),
           (("Mg", (0.0, 0.0, 0.0), "1a"), ("B", (1 / 3, 2 / 3, 0.5), "2d")),
           "Jones & Marsh, J. Am. Chem. Soc. 76, 1434 (1954)"),
    _phase("lab6", "LaB6", ("lanthanum hexaboride",), 221, "Pm-3m", _cubic(4.15692),
           (("La", (0.0, 0.0, 0.0), "1a"), ("B", (0.1996, 0.5, 0.5), "6f")),
           "NIST SRM 660 certificate (a = 4.15692 Å); B x from Eliseev et al., Acta Cryst. "
           "B42, 441 (1986)", (4.72, CRC_D)),
    _phase("si3n4-beta", "Si3N4", ("beta-silicon nitride", "β-si3n4", "silicon nitride"),
           176, "P6_3/m", _hex(7.6018, 2.9066),
           (("Si", (0.2323, 0.4096, 0.25), "6h"), ("N", (0.3337, 0.0323, 0.25), "6h"),
            ("N", (1 / 3, 2 / 3, 0.25), "2c")),
           "Billy, Labbe, Selvaraj & Roult, Mater. Res. Bull. 18, 921 (1983), via "
           "Landolt-Börnstein III/43A4", (3.19, "Riley, J. Am. Ceram. Soc. 83, 245 (2000)")),
)

_complex_oxides = (
    _spinel("fe3o4", "Fe3O4", ("magnetite", "iron(ii,iii) oxide"), 8.3941, 0.3799, "Fe", "Fe",
            "Wechsler, Lindsley & Prewitt, Am. Mineral. 69, 754 (1984); u = 0.2549 in origin "
            "choice 2", (5.17, CRC_D)),
    _spinel("mgal2o4", "MgAl2O4", ("spinel", "magnesium aluminate"), 8.0832, 0.3874, "Mg", "Al",
            f"{ICDD} 21-1152 (spinel, a); {WYCKOFF} (u = 0.2624 in origin "
            "choice 2)", (3.6, CRC_D)),
    _phase("cu2o", "Cu2O", ("cuprite", "copper(i) oxide", "cuprous oxide"),
           224, "Pn-3m", _cubic(4.2696),
           (("O", (0.0, 0.0, 0.0), "2a"), ("Cu", (0.25, 0.25, 0.25), "4b")),
           f"{NBS}, Cu2O (PDF 5-667, cuprite); origin choice 1", (6.14, f"{HOM}, cuprite")),
    _phase("cuo", "CuO", ("tenorite", "copper(ii) oxide", "cupric oxide"),
           15, "C2/c", _mono(4.6837, 3.4226, 5.1288, 99.54),
           (("Cu", (0.25, 0.25, 0.0), "4c"), ("O", (0.0, 0.4184, 0.25), "4e")),
           "Åsbrink & Norrby, Acta Cryst. B26, 8 (1970)", (6.5, f"{HOM}, tenorite")),
    _phase("batio3-tetragonal", "BaTiO3", ("barium titanate", "tetragonal barium titanate"),
           99, "P4mm", _tet(3.994, 4.038),
           (("Ba", (0.0, 0.0, 0.0), "1a"), ("Ti", (0.5, 0.5, 0.5135), "1b"),
            ("O", (0.5, 0.5, -0.0250), "1b"), ("O", (0.5, 0.0, 0.4850), "2c")),
           f"{ICDD} 5-626 (lattice); displacements from Harada, Pedersen & Barnea, Acta Cryst. "
           "A26, 336 (1970)", (6.02, CRC_D)),
    _cubic_perovskite("batio3-cubic", "BaTiO3", ("cubic barium titanate", "paraelectric batio3"),
                      4.031, "Ba", "Ti", f"{ICDD} 31-174 (cubic BaTiO3, room-temperature "
                      "metastable powder; the paraelectric phase above ~130 °C)",
                      rank=1),
    _cubic_perovskite("srtio3", "SrTiO3", ("strontium titanate", "tausonite"), 3.9050, "Sr", "Ti",
                      f"{ICDD} 35-734 (SrTiO3)", (5.12, CRC_D)),
    _phase("pbtio3", "TiPbO3", ("lead titanate", "macedonite", "pbtio3"), 99, "P4mm", _tet(3.904, 4.152),
           (("Pb", (0.0, 0.0, 0.0), "1a"), ("Ti", (0.5, 0.5, 0.540), "1b"),
            ("O", (0.5, 0.5, 0.112), "1b"), ("O", (0.5, 0.0, 0.612), "2c")),
           "Shirane, Pepinsky & Frazer, Acta Cryst. 9, 131 (1956)"),
    _phase("y2o3", "Y2O3", ("yttria", "yttrium oxide", "bixbyite-type yttria"),
           206, "Ia-3", _cubic(10.604),
           (("Y", (0.25, 0.25, 0.25), "8b"), ("Y", (-0.0327, 0.0, 0.25), "24d"),
            ("O", (0.3907, 0.1520, 0.3804), "48e")),
           "Paton & Maslen, Acta Cryst. 19, 307 (1965)", (5.01, CRC_D)),
    _phase("caco3-calcite", "CaCO3", ("calcite", "calcium carbonate", "limestone"),
           167, "R-3c", _hex(4.9896, 17.0610),
           (("Ca", (0.0, 0.0, 0.0), "6b"), ("C", (0.0, 0.0, 0.25), "6a"),
            ("O", (0.2578, 0.0, 0.25), "18e")),
           "Effenberger, Mereiter & Zemann, Z. Kristallogr. 156, 233 (1981)", (2.71, CRC_D)),
    _phase("licoo2", "LiCoO2", ("lithium cobalt oxide", "lithium cobaltate", "lco"),
           166, "R-3m", _hex(2.8156, 14.0542),
           (("Li", (0.0, 0.0, 0.0), "3a"), ("Co", (0.0, 0.0, 0.5), "3b"),
            ("O", (0.0, 0.0, 0.2396), "6c")),
           "Akimoto, Gotoh & Oosawa, J. Solid State Chem. 141, 298 (1998)"),
    _phase("lifepo4", "LiFePO4", ("lithium iron phosphate", "triphylite", "lfp"),
           62, "Pnma", _ortho(10.3377, 6.0112, 4.6950),
           (("Li", (0.0, 0.0, 0.0), "4a"), ("Fe", (0.28222, 0.25, 0.97472), "4c"),
            ("P", (0.09486, 0.25, 0.41820), "4c"), ("O", (0.09678, 0.25, 0.74279), "4c"),
            ("O", (0.45710, 0.25, 0.20602), "4c"), ("O", (0.16558, 0.04686, 0.28493), "8d")),
           "Streltsov, Belokoneva, Tsirelson & Hansen, Acta Cryst. B49, 147 (1993)"),
    _phase("bi2te3", "Bi2Te3", ("bismuth telluride", "tellurobismuthite"),
           166, "R-3m", _hex(4.3835, 30.487),
           (("Te", (0.0, 0.0, 0.0), "3a"), ("Bi", (0.0, 0.0, 0.4001), "6c"),
            ("Te", (0.0, 0.0, 0.7906), "6c")),
           "Nakajima, J. Phys. Chem. Solids 24, 479 (1963)"),
)

_metals = (
    _bcc("fe-alpha", "Fe", ("ferrite", "alpha-iron", "α-fe", "bcc iron", "iron"), 2.8665, CRC_EL,
         (7.874, CRC_DEL)),
    _fcc("fe-gamma", "Fe", ("austenite", "gamma-iron", "γ-fe", "fcc iron"), 3.6467,
         "Basinski, Hume-Rothery & Sutton, Proc. R. Soc. A 229, 459 (1955): a = 3.6467 Å at "
         "1189 K", rank=1),
    _hcp("ti-alpha", "Ti", ("alpha-titanium", "α-ti", "titanium", "hcp titanium"),
         2.9508, 4.6855, CRC_EL, (4.506, CRC_DEL)),
    _bcc("ti-beta", "Ti", ("beta-titanium", "β-ti", "bcc titanium"), 3.3065,
         f"{CRC_EL}: a = 3.3065 Å at 900 °C", rank=1),
    _hcp("zr-alpha", "Zr", ("zirconium", "alpha-zirconium", "α-zr"), 3.2316, 5.1475, CRC_EL,
         (6.52, CRC_DEL)),
    _hcp("mg", "Mg", ("magnesium",), 3.2094, 5.2108, CRC_EL, (1.738, CRC_DEL)),
    _hcp("zn", "Zn", ("zinc",), 2.6649, 4.9468, CRC_EL, (7.134, CRC_DEL)),
    _hcp("cd", "Cd", ("cadmium",), 2.9794, 5.6186, CRC_EL, (8.69, CRC_DEL)),
    _hcp("co-alpha", "Co", ("cobalt", "alpha-cobalt", "hcp cobalt", "ε-co"), 2.5071, 4.0695,
         CRC_EL, (8.86, CRC_DEL)),
    _hcp("be", "Be", ("beryllium",), 2.2858, 3.5843, CRC_EL, (1.85, CRC_DEL)),
    _hcp("hf", "Hf", ("hafnium",), 3.1964, 5.0511, CRC_EL, (13.31, CRC_DEL)),
    _fcc("ni", "Ni", ("nickel",), 3.5240, CRC_EL, (8.90, CRC_DEL)),
    _fcc("cu", "Cu", ("copper",), 3.6149, CRC_EL, (8.96, CRC_DEL)),
    _fcc("al", "Al", ("aluminium", "aluminum"), 4.0495, CRC_EL, (2.70, CRC_DEL)),
    _fcc("ag", "Ag", ("silver",), 4.0853, CRC_EL, (10.5, CRC_DEL)),
    _fcc("au", "Au", ("gold",), 4.0782, CRC_EL, (19.3, CRC_DEL)),
    _fcc("pt", "Pt", ("platinum",), 3.9242, CRC_EL, (21.45, CRC_DEL)),
    _fcc("pd", "Pd", ("palladium",), 3.8907, CRC_EL, (12.0, CRC_DEL)),
    _fcc("pb", "Pb", ("lead",), 4.9502, CRC_EL, (11.34, CRC_DEL)),
    _bcc("cr", "Cr", ("chromium",), 2.8846, CRC_EL, (7.15, CRC_DEL)),
    _bcc("w", "W", ("tungsten", "wolfram"), 3.1652, CRC_EL, (19.3, CRC_DEL)),
    _bcc("mo", "Mo", ("molybdenum",), 3.1470, CRC_EL, (10.2, CRC_DEL)),
    _bcc("v", "V", ("vanadium",), 3.0240, CRC_EL),
    _bcc("nb", "Nb", ("niobium", "columbium"), 3.3004, CRC_EL, (8.57, CRC_DEL)),
    _bcc("ta", "Ta", ("tantalum",), 3.3013, CRC_EL),
)

_intermetallics = (
    _l12("ni3al", "AlNi3", ("ni3al", "gamma-prime", "γ'", "gamma prime", "nickel aluminide"), 3.572,
         "Ni", "Al", f"{PEARSON}, Ni3Al (cP4, Cu3Au type)"),
    _cscl("nial", "AlNi", ("nial", "nickel aluminide", "beta-nial", "b2 nial"), 2.887, "Ni", "Al",
          MIRACLE, (5.90, MIRACLE)),
    _phase("fe3c-cementite", "Fe3C", ("cementite", "cohenite", "iron carbide"),
           62, "Pnma", _ortho(5.081, 6.755, 4.515),
           (("Fe", (0.1845, 0.0584, 0.3330), "8d"), ("Fe", (0.0347, 0.25, 0.8373), "4c"),
            ("C", (0.8974, 0.25, 0.4502), "4c")),
           "Wood et al., J. Appl. Cryst. 37, 82 (2004), 320 K (AMCSD 0019114)",
           (7.696, "AMCSD 0019114 (Wood et al. 2004), X-ray density")),
    _phase("tial-gamma", "TiAl", ("gamma-tial", "γ-tial", "titanium aluminide", "l1_0 tial"),
           123, "P4/mmm", _tet(4.005 / 2**0.5, 4.070),
           (("Ti", (0.0, 0.0, 0.0), "1a"), ("Al", (0.5, 0.5, 0.5), "1d")),
           f"{PEARSON}: face-centred cell a = 4.005 Å, c = 4.070 Å (CuAu type), given here in "
           "the primitive P4/mmm cell a/√2"),
    _phase("ti3al-alpha2", "Ti3Al", ("alpha-2", "α2", "alpha2 titanium aluminide"),
           194, "P6_3/mmc", _hex(5.782, 4.629),
           (("Ti", (5 / 6, 2 / 3, 0.25), "6h"), ("Al", (1 / 3, 2 / 3, 0.25), "2c")),
           f"{PEARSON}, Ti3Al (hP8, Ni3Sn type); structure: Goldak & Parr, Trans. AIME "
           "(1962); ideal D0_19 positions"),
    _l12("al3sc", "ScAl3", ("al3sc", "scandium trialuminide", "al3sc precipitate"), 4.103, "Al", "Sc",
         "Røyset & Ryum, Int. Mater. Rev. 50, 19 (2005)"),
    _phase("mgzn2", "MgZn2", ("c14 laves phase", "eta phase", "η-mgzn2", "magnesium zinc laves"),
           194, "P6_3/mmc", _hex(5.221, 8.567),
           (("Mg", (1 / 3, 2 / 3, 0.0629), "4f"), ("Zn", (0.0, 0.0, 0.0), "2a"),
            ("Zn", (0.8305, 0.6610, 0.25), "6h")),
           "Komura & Tokunaga, Acta Cryst. B36, 1548 (1980)"),
    _phase("al2cu-theta", "Al2Cu", ("theta phase", "θ-al2cu", "khatyrkite"),
           140, "I4/mcm", _tet(6.067, 4.877),
           (("Cu", (0.0, 0.0, 0.25), "4a"), ("Al", (0.1581, 0.6581, 0.0), "8h")),
           "Meetsma, de Boer & van Smaalen, J. Solid State Chem. 83, 370 (1989)"),
    _l12("cu3au", "Cu3Au", ("auricupride", "ordered cu3au"), 3.7493, "Cu", "Au",
         f"{PEARSON}, Cu3Au (ordered L1_2)"),
    _cscl("cuzn-beta", "ZnCu", ("cuzn", "beta-brass", "β'-brass", "ordered brass"), 2.9539, "Cu", "Zn",
          f"{PEARSON}, CuZn (B2)"),
    _cscl("niti-austenite", "TiNi", ("niti", "nitinol", "b2 niti", "niti austenite"), 3.015, "Ni", "Ti",
          "Otsuka & Ren, Prog. Mater. Sci. 50, 511 (2005)"),
    _phase("fe3al", "AlFe3", ("fe3al", "iron aluminide", "d0_3 fe3al"), 225, "Fm-3m", _cubic(5.792),
           (("Al", (0.0, 0.0, 0.0), "4a"), ("Fe", (0.5, 0.5, 0.5), "4b"),
            ("Fe", (0.25, 0.25, 0.25), "8c")),
           f"{PEARSON}, Fe3Al (D0_3, BiF3 type)"),
)

CURATED_PHASES: tuple[CuratedPhase, ...] = (
    *_rock_salts,
    *_fluorites,
    *_zirconia_hafnia,
    *_corundums,
    *_titania_silica,
    *_tetrahedral_semiconductors,
    *_elements_covalent,
    *_complex_oxides,
    *_metals,
    *_intermetallics,
)
"""Every curated phase, grouped by structure family."""

PHASES_BY_KEY: dict[str, CuratedPhase] = {phase.key: phase for phase in CURATED_PHASES}
"""The same phases indexed by `CuratedPhase.key`."""
