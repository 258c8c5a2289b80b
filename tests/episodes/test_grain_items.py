"""Grain-size families: attachments, stated pixel sizes, and truths checked against E112 and the image."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage
from skimage.filters import threshold_otsu

from csmbench.env import CSMBenchEnv
from csmbench.episodes import Choice, Item, Numeric, ToolCall, load_dataset
from csmbench.episodes.generators import FAMILIES, build_dataset

GRAIN_FAMILIES = sorted(name for name in FAMILIES if name.startswith("grains."))


@pytest.fixture(scope="module")
def items(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Item]]:
    root = build_dataset(tmp_path_factory.mktemp("grains") / "data",
                         counts=dict.fromkeys(GRAIN_FAMILIES, 3), seed=11)
    return root, load_dataset(root).items


def _family(all_items: list[Item], name: str) -> list[Item]:
    chosen = [i for i in all_items if i.family == name]
    assert chosen
    return chosen


def _image(root: Path, item: Item) -> np.ndarray:
    return np.asarray(Image.open(root / item.asset("img0").path).convert("L"), dtype=np.float64)


def test_five_mesoscale_families_with_one_micrograph(items) -> None:
    root, all_items = items
    assert GRAIN_FAMILIES == ["grains.astm_g", "grains.mean_intercept", "grains.per_mm2",
                              "grains.phase_fraction", "grains.shape"]
    for item in all_items:
        assert item.scale == "Mesoscale"
        image = _image(root, item)
        assert image.shape == (item.asset("img0").meta["height_px"],
                               item.asset("img0").meta["width_px"])
        assert image.std() > 10  # a real picture, not a blank
        assert item.reference[-1].name == "estimate_grain_size"


def test_pixel_size_is_stated_or_must_be_calibrated(items) -> None:
    _, all_items = items
    seen = set()
    for item in all_items:
        um_per_px = item.metadata["truth"]["um_per_px"]
        stated = re.search(r"pixel size is ([0-9.e+-]+) nm", item.question)
        given = item.metadata["pixel_size_given"]
        seen.add(given)
        assert bool(stated) == given
        if given:
            assert float(stated.group(1)) == pytest.approx(um_per_px * 1000, rel=1e-4)
            assert [c.name for c in item.reference] == ["estimate_grain_size"]
        else:
            assert "scale bar" in item.question
            assert item.reference[0].name == "calibrate_scale_bar"
        assert item.reference[-1].arguments["nm_per_pixel"] == pytest.approx(um_per_px * 1000)
    assert seen == {True, False}


def test_intercept_and_count_agree_with_a_voronoi_like_tiling(items) -> None:
    """l^2 N_A is pi^2/16 = 0.617 for Poisson-Voronoi grains, 0.79 at the E112 G match."""
    _, all_items = items
    for item in all_items:
        truth = item.metadata["truth"]
        if item.metadata["spec"]["aspect_ratio"] > 1.2:
            continue
        product = (truth["mean_intercept_um"] / 1000) ** 2 * truth["grains_per_mm2"]
        assert 0.5 < product < 0.85, (item.id, product)


@pytest.mark.parametrize("family", ["grains.mean_intercept", "grains.per_mm2", "grains.astm_g"])
def test_numeric_answers_are_the_e112_quantities(items, family: str) -> None:
    _, all_items = items
    for item in _family(all_items, family):
        truth, answer = item.metadata["truth"], item.answer
        assert isinstance(answer, Numeric)
        if family == "grains.mean_intercept":
            assert answer.value == truth["mean_intercept_um"] and answer.unit == "µm"
        elif family == "grains.per_mm2":
            assert answer.value == truth["grains_per_mm2"]
        elif "intercept" in item.question.split("G,")[1][:40]:
            expected = -6.643856 * math.log10(truth["mean_intercept_um"] / 1000) - 3.288
            assert answer.value == pytest.approx(expected, abs=1e-6)
        else:
            expected = 3.321928 * math.log10(truth["grains_per_mm2"]) - 2.954
            assert answer.value == pytest.approx(expected, abs=1e-6)


def test_phase_fraction_matches_the_dark_area_of_the_image(items) -> None:
    """Otsu on the smoothed, illumination-flattened specimen: the dark area is nearer the
    darker phase's fraction than the lighter one's (grooves and pits blur the rest)."""
    root, all_items = items
    checked = 0
    for item in _family(all_items, "grains.phase_fraction"):
        darker_truth = item.answer.value
        if item.metadata["derivation"]["phase_asked"] == "lighter":
            darker_truth = 1 - darker_truth
        if abs(darker_truth - 0.5) < 0.15:
            continue  # too near a half to tell the phases apart this way
        height = int(item.metadata["spec"]["height_px"])
        specimen = ndimage.median_filter(_image(root, item)[:height], size=5)
        specimen = specimen / ndimage.gaussian_filter(specimen, specimen.shape[1] / 8)
        dark = float(np.mean(specimen < threshold_otsu(specimen)))
        assert abs(dark - darker_truth) < abs(dark - (1 - darker_truth)), (item.id, dark)
        assert f"the {item.metadata['derivation']['phase_asked']} phase" in item.question
        checked += 1
    assert checked


def test_shape_option_follows_the_directional_intercepts(items) -> None:
    _, all_items = items
    for item in _family(all_items, "grains.shape"):
        assert isinstance(item.answer, Choice)
        by_direction = dict(zip((0, 45, 90, 135),
                                item.metadata["truth"]["intercept_by_direction_um"], strict=True))
        ratio = max(by_direction.values()) / min(by_direction.values())
        text = item.answer.options[item.answer.correct]
        longest = max(by_direction, key=by_direction.get)
        if text.startswith("equiaxed"):
            assert ratio < 1.3, item.id
        else:
            assert ratio > 1.7, item.id
            word = {0: "horizontal", 90: "vertical", 45: "inclined", 135: "inclined"}[longest]
            assert word in text, (item.id, by_direction, text)


def test_an_overlay_becomes_an_attachment_the_next_call_can_use(items, tmp_path: Path) -> None:
    root, all_items = items
    item = _family(all_items, "grains.mean_intercept")[0]
    env = CSMBenchEnv(root, output_dir=tmp_path)
    env.reset(options={"item_id": item.id})
    nm = item.metadata["truth"]["um_per_px"] * 1000
    _, _, _, _, info = env.step(ToolCall(name="estimate_grain_size", arguments={
        "image": "img0", "nm_per_pixel": nm, "overlay": True}))
    result = info["observation"].tool_results[0]
    assert result.ok and result.attachments == ["out1"]
    overlay = next(a for a in info["observation"].attachments if a.id == "out1")
    assert Path(overlay.path).is_relative_to(tmp_path) and overlay.kind == "image"
    assert Image.open(overlay.path).size == Image.open(root / item.asset("img0").path).size
    _, _, _, _, info = env.step(ToolCall(name="estimate_grain_size", arguments={
        "image": "out1", "nm_per_pixel": nm}))
    assert info["observation"].tool_results[0].ok
    assert not list(root.rglob("out*")), "tool outputs must not be written into the dataset"
