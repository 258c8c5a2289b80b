"""Macroscale cross-scale families: Hall-Petch yield strength and part mass.

Truths are recomputed here from the question text and first principles (hand formulas for
volumes, the Hall-Petch relation written out, the density of α-Fe from its cell), never
from the generator's own helpers.
"""

from __future__ import annotations

import asyncio
import math
import re
from pathlib import Path

import pytest

from csmbench import RunConfig, evaluate
from csmbench.episodes import FinalAnswer, Item, load_dataset
from csmbench.episodes.generators import build_dataset
from csmbench.episodes.generators._cross_items import (
    Part,
    part_volume_mm3,
    polymorph_pool,
    structure_density,
)
from csmbench.graders._answer import grade_answer
from csmbench.tools import lookup_crystal
from csmbench.tools._hall_petch import HALL_PETCH
from csmbench.tools._xrd_phase import ENANTIOMORPHS

AVOGADRO = 6.02214076e23
FAMILIES = ("cross.hall_petch", "cross.part_mass")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Item]]:
    root = build_dataset(tmp_path_factory.mktemp("cross") / "data",
                         counts=dict.fromkeys(FAMILIES, 3), seed=5)
    return root, load_dataset(root).items


def _of(items: list[Item], family: str) -> dict[str, Item]:
    return {i.metadata["difficulty"]: i for i in items if i.family == family}


def _numbers(pattern: str, text: str) -> list[float]:
    found = re.search(pattern, text)
    assert found, pattern
    return [float(v) for v in found.groups()]


def test_both_families_are_macroscale_with_one_item_per_difficulty(built) -> None:
    _, items = built
    for family in FAMILIES:
        chosen = _of(items, family)
        assert sorted(chosen) == ["easy", "hard", "medium"]
        assert all(item.scale == "Macroscale" for item in chosen.values())


# -- cross.hall_petch -----------------------------------------------------------------

def test_hall_petch_truth_is_the_relation_with_the_exact_intercept(built) -> None:
    _, items = built
    for level, item in _of(items, "cross.hall_petch").items():
        d_um = item.metadata["truth"]["mean_intercept_um"]
        entry = HALL_PETCH[item.metadata["derivation"]["material"]]
        assert entry.name in item.question
        low, high = entry.valid_grain_size_um
        assert low <= d_um <= high
        if level != "hard":
            sigma0, k = _numbers(r"σ0 = ([0-9.]+) MPa and k = ([0-9.]+) MPa·m\^½", item.question)
            assert (sigma0, k) == (entry.sigma0_mpa, entry.k_mpa_sqrt_m)
        else:
            assert "σ0 =" not in item.question and item.reference[-1].name == "lookup_hall_petch"
        term = entry.k_mpa_sqrt_m / math.sqrt(d_um / 1e6)
        assert item.answer.value == pytest.approx(entry.sigma0_mpa + term, rel=1e-12)
        assert item.answer.unit == "MPa"
        assert item.answer.abs_tol == pytest.approx((1 / math.sqrt(0.9) - 1) * term)


def test_hall_petch_pixel_size_is_given_only_when_easy(built) -> None:
    _, items = built
    for level, item in _of(items, "cross.hall_petch").items():
        stated = re.search(r"pixel size is ([0-9.]+) nm", item.question)
        assert bool(stated) == (level == "easy")
        calls = [c.name for c in item.reference]
        assert ("calibrate_scale_bar" in calls) == (level != "easy")
        if stated:
            assert float(stated.group(1)) / 1000 == pytest.approx(
                item.metadata["truth"]["um_per_px"], rel=1e-4)


def test_hall_petch_tolerance_accepts_a_ten_percent_intercept_and_rejects_fifteen(built) -> None:
    _, items = built
    item = _of(items, "cross.hall_petch")["easy"]
    entry = HALL_PETCH[item.metadata["derivation"]["material"]]
    d_um = item.metadata["truth"]["mean_intercept_um"]

    def graded(factor: float) -> bool:
        sigma = entry.sigma0_mpa + entry.k_mpa_sqrt_m / math.sqrt(factor * d_um * 1e-6)
        return grade_answer(item.answer, FinalAnswer(text=f"{sigma} MPa", value=sigma,
                                                     unit="MPa")).correct

    assert graded(1.0) and graded(1.1) and graded(0.91)
    assert not graded(1.2) and not graded(0.85)


# -- cross.part_mass ------------------------------------------------------------------

def test_alpha_iron_cube_of_10_mm_weighs_7_874_g() -> None:
    """bcc Fe, a = 2.8665 Å, 2 atoms per cell, M = 55.845 g/mol: ρ = 7.874 g/cm³; a 10 mm
    cube is 1 cm³."""
    density = 2 * 55.845 / (AVOGADRO * (2.8665e-8) ** 3)
    assert density == pytest.approx(7.874, abs=1e-3)
    iron = lookup_crystal("ferrite").matches[0]
    assert iron.formula == "Fe" and iron.space_group == "Im-3m"
    assert iron.density_g_cm3 == pytest.approx(density, rel=1e-3)
    cube_cm3 = part_volume_mm3(Part("plate", (10.0, 10.0, 10.0))) / 1000.0
    assert cube_cm3 == pytest.approx(1.0)
    assert iron.density_g_cm3 * cube_cm3 == pytest.approx(7.874, rel=1e-3)


@pytest.mark.parametrize(("part", "volume_mm3"), [
    (Part("cylinder", (10.0, 20.0)), math.pi * 5.0 ** 2 * 20.0),
    (Part("tube", (10.0, 6.0, 50.0)), math.pi * (5.0 ** 2 - 3.0 ** 2) * 50.0),
    (Part("plate", (2.0, 3.0, 4.0)), 24.0),
], ids=["cylinder", "tube", "plate"])
def test_part_volumes_by_hand(part: Part, volume_mm3: float) -> None:
    assert part_volume_mm3(part) == pytest.approx(volume_mm3)


def _question_volume_mm3(question: str) -> float:
    if "cylinder" in question:
        d, h = _numbers(r"diameter ([0-9.]+) mm and height ([0-9.]+) mm", question)
        return math.pi * (d / 2) ** 2 * h
    if "plate" in question:
        a, b, c = _numbers(r"plate of ([0-9.]+) mm × ([0-9.]+) mm × ([0-9.]+) mm", question)
        return a * b * c
    outer, inner, length = _numbers(r"outer diameter ([0-9.]+) mm, inner diameter ([0-9.]+) mm "
                                    r"and length ([0-9.]+) mm", question)
    return math.pi * ((outer / 2) ** 2 - (inner / 2) ** 2) * length


def test_part_mass_is_density_times_stated_volume(built) -> None:
    _, items = built
    for level, item in _of(items, "cross.part_mass").items():
        phase = item.metadata["truth"]["phase"]
        record = next(m for m in lookup_crystal(phase.split(":")[-1].split("-")[0],
                                                limit=50).matches if m.id == phase)
        porosity = (_numbers(r"porosity of ([0-9.]+) %", item.question)[0] / 100
                    if level == "hard" else 0.0)
        expected = record.density_g_cm3 * _question_volume_mm3(item.question) / 1000 * (1 - porosity)
        assert item.answer.value == pytest.approx(expected, rel=1e-4)
        assert item.answer.unit == "g" and item.answer.rel_tol == 0.02
        names_phase = f"({record.formula}, space group {record.space_group})" in item.question
        assert names_phase == (level == "easy")
        assert ("porosity" in item.question) == (level == "hard")


def test_truth_density_is_the_structure_density_of_the_record() -> None:
    from csmbench.episodes.generators._xrd_truth import curated_records

    for record in curated_records()[:20]:
        assert structure_density(record) == pytest.approx(record.density, rel=1e-4)


def test_polymorph_pool_densities_differ_beyond_the_tolerance() -> None:
    pool = polymorph_pool()
    ids = {r.id for r in pool}
    assert {"curated:tio2-rutile", "curated:tio2-anatase", "curated:fe-alpha"} <= ids
    assert "curated:sic-3c" not in ids and "curated:zns-sphalerite" not in ids  # < 1 % apart
    def group(number: int) -> int:  # enantiomorphs (P3_121 / P3_221) share a powder pattern
        return ENANTIOMORPHS.get(number, number)

    for record in pool:
        others = [m for m in lookup_crystal(record.formula, limit=50).matches
                  if group(m.space_group_number) != group(record.space_group_number)]
        assert others, record.id
        assert all(abs(m.density_g_cm3 / record.density - 1) > 0.02 for m in others), record.id


def test_reference_agent_solves_every_item(built, tmp_path: Path) -> None:
    root, _ = built
    summary = asyncio.run(evaluate(root, tmp_path / "run", RunConfig(agent="reference",
                                                                     tools="all")))
    for family in FAMILIES:
        assert summary["by_family"][family]["accuracy"] == 1.0, family


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    counts = dict.fromkeys(FAMILIES, 1)
    first = build_dataset(tmp_path / "a", counts=counts, seed=9)
    second = build_dataset(tmp_path / "b", counts=counts, seed=9)
    assert (first / "items.jsonl").read_bytes() == (second / "items.jsonl").read_bytes()
    files = sorted(p.relative_to(first) for p in (first / "assets").rglob("*") if p.is_file())
    assert len(files) == 3  # img0, xrd0, plot0
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files)
