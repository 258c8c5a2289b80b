"""Diffraction families: attachments, and truths checked against the raw scan and physics."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import uniform_filter1d

from csmbench.episodes import Choice, Formula, Item, NumberSet, Numeric, load_dataset
from csmbench.episodes.generators import FAMILIES, build_dataset
from csmbench.tools import read_xy
from csmbench.tools._crystal_db import CrystalRecord, load_records, open_database
from csmbench.tools._radiation import EMISSIONS

XRD_FAMILIES = sorted(name for name in FAMILIES if name.startswith("xrd."))


@pytest.fixture(scope="module")
def items(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Item]]:
    root = build_dataset(tmp_path_factory.mktemp("xrd") / "data",
                         counts=dict.fromkeys(XRD_FAMILIES, 3), seed=5)
    return root, load_dataset(root).items


def _record(record_id: str) -> CrystalRecord:
    return next(r for r in load_records(open_database()) if r.id == record_id)


def _scan(root: Path, item: Item, asset_id: str = "xrd0") -> tuple[np.ndarray, np.ndarray]:
    return read_xy(root / item.asset(asset_id).path)


def _local_maximum_near(x: np.ndarray, y: np.ndarray, position: float, window: float) -> float:
    """2θ of the highest smoothed count within ``window`` degrees of ``position``."""
    smooth = uniform_filter1d(y, 5)
    near = np.abs(x - position) <= window
    return float(x[near][np.argmax(smooth[near])])


def test_eight_families_with_pattern_and_plot(items) -> None:
    root, all_items = items
    assert len(XRD_FAMILIES) == 8
    for item in all_items:
        pattern, plot = item.asset("xrd0"), item.asset("plot0")
        assert pattern.kind == "pattern" and plot.kind == "image"
        assert pattern.meta["radiation"] in EMISSIONS
        assert (root / plot.path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        x, y = _scan(root, item)
        assert len(x) > 1000 and np.all(np.diff(x) > 0) and y.min() >= 0
        assert item.scale == ("Microscale" if item.family in ("xrd.scherrer_size",
                                                              "xrd.williamson_hall") else "AtomScale")
        assert item.reference and item.reference[0].name == "find_peaks"


def _family(all_items: list[Item], name: str) -> list[Item]:
    chosen = [i for i in all_items if i.family == name]
    assert chosen
    return chosen


def test_peak_positions_are_maxima_of_the_scan(items) -> None:
    root, all_items = items
    for item in _family(all_items, "xrd.peak_positions"):
        assert isinstance(item.answer, NumberSet) and item.answer.unit == "deg"
        x, y = _scan(root, item)
        for position in item.answer.values:
            found = _local_maximum_near(x, y, position, 3 * item.answer.abs_tol)
            assert abs(found - position) <= item.answer.abs_tol


def test_strongest_d_is_braggs_law_at_the_highest_point(items) -> None:
    root, all_items = items
    for item in _family(all_items, "xrd.strongest_d"):
        x, y = _scan(root, item)
        wavelength = item.asset("xrd0").meta["wavelength_ka1_angstrom"]
        top = float(x[np.argmax(uniform_filter1d(y, 5))])
        d_top = wavelength / (2 * math.sin(math.radians(top) / 2))
        # the highest smoothed point lies on the strongest peak (Kα2 shifts it a little)
        assert isinstance(item.answer, Numeric) and item.answer.unit == "Å"
        assert d_top == pytest.approx(item.answer.value, rel=0.01)


def test_cubic_lattice_is_the_database_cell_scaled(items) -> None:
    root, all_items = items
    for item in _family(all_items, "xrd.cubic_lattice"):
        # Bragg's law for a cubic cell: (a / d)² = h² + k² + l² at the strongest peak
        x, y = _scan(root, item)
        wavelength = item.asset("xrd0").meta["wavelength_ka1_angstrom"]
        top = float(x[np.argmax(uniform_filter1d(y, 5))])
        n = (item.answer.value * 2 * math.sin(math.radians(top) / 2) / wavelength) ** 2
        assert abs(n - round(n)) <= 0.01 * n and round(n) % 8 != 7
        truth = item.metadata["derivation"]
        record = _record(truth["phase"])
        assert record.crystal_system == "cubic"
        assert item.answer.value == pytest.approx(record.a * truth["lattice_scale"])
        assert 0.985 <= truth["lattice_scale"] <= 1.015


def test_phase_items_name_the_simulated_phases(items) -> None:
    _, all_items = items
    for item in _family(all_items, "xrd.phase_id"):
        assert isinstance(item.answer, Formula)
        assert item.metadata["spec"]["phases"] == [item.metadata["derivation"]["phase"]]
        assert _record(item.metadata["derivation"]["phase"]).formula == item.answer.formula
    for item in _family(all_items, "xrd.phase_candidates"):
        assert isinstance(item.answer, Choice) and len(item.answer.options) == 4
        truth = _record(item.metadata["derivation"]["phase"])
        assert f"({truth.formula}, {truth.space_group})" in item.answer.options[item.answer.correct]
        assert len(set(item.answer.options.values())) == 4
    for item in _family(all_items, "xrd.phase_count"):
        phases = item.metadata["spec"]["phases"]
        assert item.answer.value == len(phases) == len(set(phases))
        assert sum(item.metadata["spec"]["weight_fractions"]) == pytest.approx(1.0)
        assert min(item.metadata["spec"]["weight_fractions"]) >= 0.2 - 1e-12


def _caglioti(question: str) -> tuple[float, float, float]:
    found = re.search(r"U = ([-\d.e]+), V = ([-\d.e]+), W = ([-\d.e]+)", question)
    return tuple(float(v) for v in found.groups())


def test_size_items_state_the_instrument_and_ask_for_the_simulated_size(items) -> None:
    root, all_items = items
    for item in _family(all_items, "xrd.scherrer_size"):
        spec = item.metadata["spec"]
        assert item.answer.unit == "nm" and item.answer.value == spec["crystallite_nm"][0]
        assert spec["microstrain"] == [0.0]
        if item.metadata["derivation"]["instrument"] == "standard":
            # the standard's strongest peak obeys Bragg's law for cubic LaB6
            x, y = _scan(root, item, "xrd1")
            assert len(x) == len(_scan(root, item)[0])
            wavelength = item.asset("xrd1").meta["wavelength_ka1_angstrom"]
            top = float(x[np.argmax(uniform_filter1d(y, 5))])
            a = _record("curated:lab6").a
            n = (a * 2 * math.sin(math.radians(top) / 2) / wavelength) ** 2
            assert abs(n - round(n)) <= 0.01 * n
        else:
            assert _caglioti(item.question) == pytest.approx(spec["caglioti_uvw"], rel=1e-5)
    for item in _family(all_items, "xrd.williamson_hall"):
        spec = item.metadata["spec"]
        assert _caglioti(item.question) == pytest.approx(spec["caglioti_uvw"], rel=1e-5)
        expected = (spec["crystallite_nm"][0] if item.answer.unit == "nm"
                    else spec["microstrain"][0] * 100)
        assert item.answer.value == pytest.approx(expected)
