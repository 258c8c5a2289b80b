"""Generated datasets: byte-identical per seed, truth consistent, scales by field width."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from csmbench.episodes import DATASHEET, load_dataset
from csmbench.episodes.generators import FAMILIES, PRESETS, build_dataset
from csmbench.units import Quantity

COUNTS = {"scale_bar.pixel_size": 2, "scale_bar.field_width": 2, "scale_bar.feature_length": 2}


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a = build_dataset(tmp_path / "a", counts=COUNTS, seed=11, workers=1)
    b = build_dataset(tmp_path / "b", counts=COUNTS, seed=11, workers=2)
    c = build_dataset(tmp_path / "c", counts=COUNTS, seed=12)
    assert _files(a) == _files(b)
    assert (a / "items.jsonl").read_bytes() != (c / "items.jsonl").read_bytes()


def test_smoke_covers_every_family(smoke_dataset: Path) -> None:
    dataset = load_dataset(smoke_dataset)
    assert 30 <= len(dataset.items) <= 60
    assert {item.family for item in dataset.items} == set(PRESETS["smoke"]) == set(FAMILIES)
    assert {item.scale for item in dataset.items} == {"AtomScale", "Microscale", "Mesoscale",
                                                      "Macroscale"}


def test_truth_follows_from_the_drawn_bar(smoke_dataset: Path) -> None:
    for item in load_dataset(smoke_dataset).items:
        if not item.family.startswith("scale_bar."):
            continue
        truth = item.metadata["derivation"]
        bar = Quantity(truth["bar_value"], truth["bar_unit"]).to("nm").magnitude
        nm_per_px = bar / truth["bar_length_px"]
        assert nm_per_px == pytest.approx(truth["nm_per_pixel"], rel=1e-12)
        width = item.attachments[0].meta["width_px"]
        field_um = nm_per_px * width / 1000
        assert item.scale == ("Mesoscale" if field_um >= 10 else "Microscale")
        if item.family == "scale_bar.pixel_size":
            assert item.answer.value == pytest.approx(nm_per_px) and item.answer.unit == "nm/px"
        elif item.family == "scale_bar.field_width":
            assert f"{width} pixels wide" in item.question
            assert item.answer.value == pytest.approx(field_um)
        else:
            (x0, y0), (x1, y1) = [tuple(map(int, p)) for p in
                                  re.findall(r"pixel \((\d+), (\d+)\)", item.question)]
            length = Quantity(math.dist((x0, y0), (x1, y1)) * nm_per_px, "nm")
            assert length.to(item.answer.unit).magnitude == pytest.approx(item.answer.value)


def test_difficulty_cycles_and_changes_the_inputs(tmp_path: Path) -> None:
    counts = {"scale_bar.pixel_size": 6, "xrd.strongest_d": 6, "grains.mean_intercept": 3}
    items = load_dataset(build_dataset(tmp_path / "d", counts=counts, seed=5)).items
    for item in items:
        level = ("easy", "medium", "hard")[item.metadata["index"] % 3]
        assert item.metadata["difficulty"] == level
        meta = item.attachments[0].meta
        if item.family == "scale_bar.pixel_size" and level != "medium":
            assert (meta["format"] == "png") == (level == "easy")
        elif item.family == "xrd.strongest_d" and level == "easy":
            assert meta["radiation"] == "CuKa1"
        elif item.family == "xrd.strongest_d" and level == "hard":
            assert meta["radiation"].endswith("Ka12")
        elif item.family == "grains.mean_intercept":  # only easy items state the pixel size
            assert ("pixel size is" in item.question) == (level == "easy")


def test_datasheet_counts_and_explains_every_family(smoke_dataset: Path) -> None:
    items = load_dataset(smoke_dataset).items
    sheet = (smoke_dataset / DATASHEET).read_text(encoding="utf-8")
    assert f"{len(items)} items." in sheet
    for name in {item.family for item in items}:
        n = sum(item.family == name for item in items)
        row = re.search(rf"^\| `{re.escape(name)}` \|.*\| (\d+) \|$", sheet, re.MULTILINE)
        assert row and int(row.group(1)) == n, name
        section = sheet.split(f"### `{name}`", 1)[1].split("###", 1)[0]
        assert "see the generator" not in section, f"{name}: no Truth/Tolerance paragraph"
