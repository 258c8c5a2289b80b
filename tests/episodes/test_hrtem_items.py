"""HRTEM lattice-image families: truths checked against crystallography, bars that calibrate,
and the reference agent solving the items."""

from __future__ import annotations

import asyncio
import math
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from csmbench import RunConfig, evaluate
from csmbench.episodes import Choice, Item, Numeric, load_dataset
from csmbench.episodes.generators import build_dataset
from csmbench.tools import calibrate_scale_bar
from csmbench.tools._curated_phases import PHASES_BY_KEY

FAMILIES = ("hrtem.d_spacing", "hrtem.phase")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Item]]:
    root = build_dataset(tmp_path_factory.mktemp("hrtem") / "data",
                         counts=dict.fromkeys(FAMILIES, 3), seed=5)
    return root, load_dataset(root).items


def _allowed_by_centering(letter: str, hkl: list[int]) -> bool:
    if letter == "F":
        return len({v % 2 for v in hkl}) == 1
    if letter == "I":
        return sum(hkl) % 2 == 0
    return True


def test_items_are_atomscale_lattice_images(dataset) -> None:
    root, items = dataset
    assert {i.family for i in items} == set(FAMILIES)
    for item in items:
        assert item.scale == "AtomScale"
        pixels = np.asarray(Image.open(root / item.asset("img0").path).convert("L"), float)
        assert pixels.shape[1] == 512 and pixels.shape[0] >= 512
        assert pixels[:512].std() > 10
        assert item.reference[-1].name in ("measure_lattice_spacing", "lookup_crystal")


def test_truth_obeys_the_zone_law_and_the_cubic_d_formula(dataset) -> None:
    """Each resolved reflection lies in the zone (hkl · uvw = 0), is allowed by the lattice
    centering, and has d = a / sqrt(h² + k² + l²) for the cubic phases."""
    _, items = dataset
    for item in items:
        truth = item.metadata["truth"]
        phase = PHASES_BY_KEY[truth["phase"]]
        zone = truth["zone"]
        for spot in truth["resolved"]:
            hkl = spot["hkl"]
            assert sum(h * u for h, u in zip(hkl, zone, strict=True)) == 0
            assert _allowed_by_centering(phase.setting[0], hkl)
            if phase.lattice[0] == phase.lattice[2]:
                expected = phase.lattice[0] / math.sqrt(sum(h * h for h in hkl))
                assert spot["d_angstrom"] == pytest.approx(expected, rel=1e-9)


def test_d_spacing_answer_is_the_largest_resolved(dataset) -> None:
    _, items = dataset
    for item in (i for i in items if i.family == "hrtem.d_spacing"):
        assert isinstance(item.answer, Numeric) and item.answer.unit == "Å"
        resolved = item.metadata["truth"]["resolved"]
        assert item.answer.value == max(s["d_angstrom"] for s in resolved)
        assert 1.0 < item.answer.value < 6.0


def test_pixel_size_stated_only_when_easy_and_bar_reads_otherwise(dataset) -> None:
    root, items = dataset
    for item in items:
        truth_nm = item.metadata["truth"]["nm_per_pixel"]
        stated = re.search(r"pixel size is ([0-9.e+-]+) nm per pixel", item.question)
        easy = item.metadata["difficulty"] == "easy"
        assert bool(stated) == easy
        if stated:
            assert float(stated.group(1)) == pytest.approx(truth_nm, rel=1e-5)
        else:
            assert item.milestones[0].tool == "calibrate_scale_bar"
            assert item.milestones[1].after == [0]
            reading = calibrate_scale_bar(root / item.asset("img0").path)
            assert reading.nm_per_pixel == pytest.approx(truth_nm, rel=0.02)
        assert 0.01 <= truth_nm <= 0.05


def test_phase_options_name_the_truth_and_distractors_differ(dataset) -> None:
    _, items = dataset
    for item in (i for i in items if i.family == "hrtem.phase"):
        assert isinstance(item.answer, Choice)
        phase = PHASES_BY_KEY[item.metadata["truth"]["phase"]]
        correct = item.answer.options[item.answer.correct]
        assert correct.startswith(phase.formula + " ")
        formulas = [text.split(" ")[0] for text in item.answer.options.values()]
        assert len(set(formulas)) == 4


def test_same_seed_gives_identical_files(tmp_path: Path, dataset) -> None:
    _root, items = dataset
    again = load_dataset(build_dataset(tmp_path / "again", counts={"hrtem.phase": 1}, seed=5))
    first = next(i for i in items if i.id == again.items[0].id)
    assert again.items[0].attachments[0].sha256 == first.attachments[0].sha256
    assert again.items[0].answer == first.answer


def test_reference_agent_solves_the_items(dataset, tmp_path: Path) -> None:
    root, _ = dataset
    summary = asyncio.run(evaluate(root, tmp_path / "run", RunConfig(agent="reference",
                                                                       tools="all")))
    for name in FAMILIES:
        assert summary["by_family"][name]["accuracy"] == 1.0
