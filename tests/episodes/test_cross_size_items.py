"""Vegard and crystallite-vs-grain-size families: truths checked against published lattice
parameters, Bragg's law on the scans, the Scherrer width, and the answer classes' margins."""

from __future__ import annotations

import asyncio
import math
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import uniform_filter1d

from csmbench import RunConfig, evaluate
from csmbench.episodes import Asset, Choice, Item, Numeric, load_dataset
from csmbench.episodes.generators import _cross_size_items as cross
from csmbench.episodes.generators import build_dataset
from csmbench.tools import read_xy

PUBLISHED_A = {
    "Cu": 3.6150, "Ni": 3.5238, "Si": 5.4310, "Ge": 5.6576, "SrTiO3": 3.9050, "BaTiO3": 4.0310,
    "KCl": 6.2929, "KBr": 6.6000, "GaAs": 5.6533, "InAs": 6.0583, "GaP": 5.4505, "InP": 5.8687,
    "ZnS": 5.4060, "ZnSe": 5.6688, "MgO": 4.2112, "MnO": 4.4450, "TiC": 4.3274, "TiN": 4.2417,
    "V": 3.0274, "Cr": 2.8839, "Mo": 3.1472, "Nb": 3.3004, "ThO2": 5.5997, "UO2": 5.4704,
}
"""Room-temperature lattice parameters (Å) from the ICDD powder data file and the
semiconductor handbooks (Madelung), independent of the crystal database."""
_MEMBER = re.compile(r"([AB]) = (\S+) \(space group")
_RANGE = re.compile(r"\(ℓ/D (below|between|above) ([0-9.]+)(?: and ([0-9.]+))?\)")


@pytest.fixture(scope="module")
def items(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Item]]:
    counts = {"cross.vegard": 9, "cross.size_ratio": 3, "cross.single_crystallite": 6}
    root = build_dataset(tmp_path_factory.mktemp("cross") / "data", counts=counts, seed=11)
    return root, load_dataset(root).items


def _family(all_items: list[Item], name: str) -> list[Item]:
    chosen = [i for i in all_items if i.family == name]
    assert chosen
    return chosen


def _end_members(item: Item) -> dict[str, str]:
    return dict(_MEMBER.findall(item.question))


def test_vegard_truth_follows_published_end_members(items) -> None:
    _, all_items = items
    for item in _family(all_items, "cross.vegard"):
        members = _end_members(item)
        a_a, a_b = PUBLISHED_A[members["A"]], PUBLISHED_A[members["B"]]
        assert isinstance(item.answer, Numeric) and 0.1 <= item.answer.value <= 0.9
        x = item.answer.value
        # the alloy's cell by Vegard's law from independent end-member data
        assert item.metadata["truth"]["a_angstrom"] == pytest.approx((1 - x) * a_a + x * a_b,
                                                                     abs=0.004)
        # the tolerance is the lattice precision (0.003 Å) over Δa, within 0.02-0.05
        assert 0.02 <= item.answer.abs_tol <= 0.05
        assert item.answer.abs_tol == pytest.approx(
            min(max(0.003 / abs(a_b - a_a), 0.02), 0.05), abs=0.002)
        assert ("a = " in item.question) == (item.metadata["difficulty"] == "easy")


def _bragg_two_theta(a: float, wavelength: float, spec: dict) -> np.ndarray:
    """Observed 2θ (degrees) of every cubic line h²+k²+l² ≤ 40 of edge a, with the scan's zero
    shift and specimen displacement (Δ2θ = −2 s cosθ / R)."""
    n = np.array([h * h + k * k + l * l for h in range(7) for k in range(h + 1)
                  for l in range(k + 1) if 0 < h * h + k * k + l * l <= 40])
    s = np.clip(wavelength * np.sqrt(n) / (2 * a), None, 1.0)
    theta = np.arcsin(s)
    shift = spec["zero_shift_deg"] - np.degrees(
        2 * spec["displacement_um"] * 1e-3 / spec["goniometer_radius_mm"] * np.cos(theta))
    return np.degrees(2 * theta) + shift


def test_alloy_scan_peaks_sit_at_the_vegard_cell(items) -> None:
    root, all_items = items
    checked = 0
    for item in _family(all_items, "cross.vegard"):
        meta = item.asset("xrd0").meta
        if "wavelength_ka2_angstrom" in meta:
            continue  # the doublet moves the highest point off Kα1
        members, x = _end_members(item), item.answer.value
        a = (1 - x) * PUBLISHED_A[members["A"]] + x * PUBLISHED_A[members["B"]]
        two_theta, counts = read_xy(root / item.asset("xrd0").path)
        top = float(two_theta[np.argmax(uniform_filter1d(counts, 3))])
        spec = item.metadata["spec"]
        lines = _bragg_two_theta(a, meta["wavelength_ka1_angstrom"], spec)
        assert np.min(np.abs(lines - top)) <= 0.06  # Bragg's law at the strongest peak
        host = PUBLISHED_A[members["A"] if x <= 0.5 else members["B"]]
        if abs(a - host) / host > 0.005:  # the end member's own cell would miss it
            host_lines = _bragg_two_theta(host, meta["wavelength_ka1_angstrom"], spec)
            assert np.min(np.abs(host_lines - top)) > 0.06
        checked += 1
    assert checked >= 3


def test_reference_solves_vegard(items, tmp_path: Path) -> None:
    root, all_items = items
    ids = [i.id for i in _family(all_items, "cross.vegard")]
    summary = asyncio.run(evaluate(root, tmp_path / "run",
                                   RunConfig(agent="reference", tools="all"), item_ids=ids))
    assert summary["by_family"]["cross.vegard"]["accuracy"] == 1.0


def _fwhm_at_top(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(2θ, FWHM) of the highest peak: half-maximum crossings above a local baseline."""
    smooth = uniform_filter1d(y, 3)
    top = int(np.argmax(smooth))
    window = (x > x[top] - 3.0) & (x < x[top] + 3.0)
    base = float(np.percentile(smooth[window], 10))
    half = base + (smooth[top] - base) / 2
    left = top
    while smooth[left] > half:
        left -= 1
    right = top
    while smooth[right] > half:
        right += 1
    return float(x[top]), float(x[right] - x[left])


def test_size_items_ratio_is_intercept_over_scherrer_size(items) -> None:
    root, all_items = items
    for item in [*_family(all_items, "cross.size_ratio"),
                 *_family(all_items, "cross.single_crystallite")]:
        truth, spec = item.metadata["truth"], item.metadata["spec"]
        assert truth["crystallite_nm"] == spec["crystallite_nm"][0]
        assert truth["ratio"] == pytest.approx(truth["mean_intercept_nm"] / truth["crystallite_nm"])
        assert item.attachments[0].id == "img0" and item.attachments[0].kind == "image"
        if isinstance(item.answer, Numeric):
            assert item.answer.value == pytest.approx(truth["ratio"])
            assert item.answer.rel_tol == pytest.approx(math.hypot(0.15, 0.10))
        meta = item.asset("xrd0").meta
        if item.metadata["derivation"]["instrument"] == "caglioti" and \
                "wavelength_ka2_angstrom" not in meta:
            # the peak is as wide as Scherrer (K = 0.9) and the instrument together predict
            x, y = read_xy(root / item.asset("xrd0").path)
            position, fwhm = _fwhm_at_top(x, y)
            theta = math.radians(position / 2)
            size = math.degrees(0.9 * meta["wavelength_ka1_angstrom"]
                                / (truth["crystallite_nm"] * 10 * math.cos(theta)))
            u, v, w = spec["caglioti_uvw"]
            instrument2 = u * math.tan(theta) ** 2 + v * math.tan(theta) + w
            assert fwhm == pytest.approx(math.sqrt(size ** 2 + instrument2), rel=0.2)


def _option_contains(text: str, ratio: float) -> bool:
    kind, first, second = _RANGE.search(text).groups()
    if kind == "below":
        return ratio < float(first)
    if kind == "above":
        return ratio > float(first)
    return float(first) <= ratio <= float(second)


def test_crystallite_classes_keep_a_margin(items) -> None:
    _, all_items = items
    for item in _family(all_items, "cross.single_crystallite"):
        assert isinstance(item.answer, Choice) and len(item.answer.options) == 5
        ratio = item.metadata["truth"]["ratio"]
        holding = [k for k, text in item.answer.options.items() if _option_contains(text, ratio)]
        assert holding == [item.answer.correct]
        # a 1.5× error of ℓ/D either way still lands in the same option
        for factor in (1 / 1.5, 1.5):
            assert _option_contains(item.answer.options[item.answer.correct], ratio * factor)
        if item.metadata["truth"]["band"] == "single":
            # single crystallites: grains of Scherrer size, so a nanometre-scale micrograph
            assert item.metadata["truth"]["nm_per_pixel"] <= 3.5
            assert item.metadata["truth"]["mean_intercept_nm"] <= 130


class _NullSink:
    """Stands in for the dataset writer: returns assets without writing files."""

    def asset(self, asset_id, kind, suffix, save, meta=None) -> Asset:
        return Asset(id=asset_id, kind=kind, path=f"{asset_id}{suffix}", sha256="0" * 64,
                     meta=meta or {})


def test_answer_letters_and_classes_are_balanced(items, monkeypatch) -> None:
    """Over many draws no fixed letter is right more than a quarter of the time."""
    _, all_items = items
    example = _family(all_items, "cross.single_crystallite")[0]
    # one real specimen pair, relabelled: the options and their order are what is tested
    rng0 = np.random.default_rng(3)
    pair = cross._size_pair(rng0, "few", "easy")
    monkeypatch.setattr(cross, "_size_pair",
                        lambda rng, band, difficulty: cross.SizePair(pair.drawn, pair.pattern, band))
    letters, classes = Counter(), Counter()
    rng = np.random.default_rng(0)
    for k in range(400):
        item = cross.make_single_crystallite(f"t{k}", rng, _NullSink(), "easy")
        letters[item.answer.correct] += 1
        classes[item.metadata["truth"]["band"]] += 1
    assert example.answer.correct in "ABCDE"
    assert set(letters) == set("ABCDE") and max(letters.values()) <= 0.25 * 400
    assert set(classes) == set(cross.RATIO_BANDS) and min(classes.values()) >= 0.18 * 400
