"""The EDS spectrum simulator (line energies, Fano resolution, Kramers continuum) and the EDS
families (options, truth, determinism, reference agent)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import numpy as np
import pytest

from csmbench import RunConfig, build_dataset, evaluate
from csmbench.episodes import load_dataset
from csmbench.episodes.generators._eds_items import eds_phases, overlap_partners
from csmbench.episodes.generators._eds_spectrum import (
    EdsSpec,
    kramers_continuum,
    simulate_spectrum,
    write_msa,
)

# Literature line energies, keV (Bearden 1967, Rev. Mod. Phys. 39, 78; X-ray data booklet).
LIT_KA1_KEV = {"Al": 1.48670, "Si": 1.73998, "Ti": 4.51084, "Fe": 6.40384, "Cu": 8.04778}
LIT_KA2_KEV = {"Al": 1.48627, "Si": 1.73938, "Ti": 4.50486, "Fe": 6.39084, "Cu": 8.02783}
LIT_PB_MA_KEV = 2.3455
LIT_MO_LA1_KEV = 2.29316
SI_FANO_RANGE = (0.105, 0.125)
"""Fano factor of silicon, measured 0.11-0.12 (Knoll, Radiation Detection and Measurement)."""
SI_PAIR_EV_RANGE = (3.62, 3.78)
"""Energy per electron-hole pair in Si, eV (3.62 at 300 K to 3.76 at 77 K)."""
CU_KB_OVER_KA_RANGE = (0.12, 0.15)
"""Cu Kβ/Kα intensity ratio: 0.134 (Scofield 1974), 0.13-0.14 measured."""


def _pure(element: str, beam: float = 20.0, fwhm: float = 128.0, **changes):
    spec = EdsSpec(composition=((element, 1.0),), beam_kev=beam, fwhm_mn_ka_ev=fwhm,
                   total_counts=1e7, background_fraction=0.2, **changes)
    return simulate_spectrum(spec, np.random.default_rng(0))


def _net(spectrum) -> np.ndarray:
    return spectrum.expected - spectrum.background


def _maximum(energy: np.ndarray, y: np.ndarray, centre: float, half_window: float = 0.1) -> float:
    """Noise-free maximum near ``centre`` (keV), by a parabola through the top three channels."""
    window = np.flatnonzero(np.abs(energy - centre) < half_window)
    i = window[np.argmax(y[window])]
    a, b, c = y[i - 1], y[i], y[i + 1]
    return float(energy[i] + 0.5 * (a - c) / (a - 2 * b + c) * (energy[1] - energy[0]))


def _fwhm_ev(energy: np.ndarray, y: np.ndarray, centre: float) -> float:
    """Full width at half maximum (eV) of the net peak near ``centre``, linear interpolation."""
    window = np.flatnonzero(np.abs(energy - centre) < 0.3)
    i = window[np.argmax(y[window])]
    half = y[i] / 2
    left = i - np.argmax(y[i::-1] < half)
    right = i + np.argmax(y[i:] < half)
    x_left = np.interp(half, [y[left], y[left + 1]], [energy[left], energy[left + 1]])
    x_right = np.interp(half, [y[right], y[right - 1]], [energy[right], energy[right - 1]])
    return float((x_right - x_left) * 1000)


@pytest.mark.parametrize("element", sorted(LIT_KA1_KEV), ids=sorted(LIT_KA1_KEV))
def test_ka_peak_sits_at_the_literature_energy(element: str) -> None:
    spectrum = _pure(element)
    peak = _maximum(spectrum.energy_kev, _net(spectrum), LIT_KA1_KEV[element])
    # the unresolved Kα1+Kα2 blend peaks between the two lines (Kα2 has half the weight)
    lo, hi = LIT_KA2_KEV[element] - 0.004, LIT_KA1_KEV[element] + 0.004
    assert lo <= peak <= hi


def test_pb_m_and_mo_l_lines_sit_at_the_literature_energies() -> None:
    pb = _pure("Pb", beam=10.0)
    mo = _pure("Mo", beam=10.0)
    assert _maximum(pb.energy_kev, _net(pb), LIT_PB_MA_KEV) == pytest.approx(LIT_PB_MA_KEV, abs=0.012)
    assert _maximum(mo.energy_kev, _net(mo), LIT_MO_LA1_KEV) == pytest.approx(LIT_MO_LA1_KEV, abs=0.012)


def test_resolution_follows_the_fano_law() -> None:
    """FWHM² = noise² + 2.355² F ε E: slope within the literature range of F·ε, Mn Kα like an SDD."""
    energies, squares = [], []
    for element in ("Al", "Ti", "Cu"):  # Kα1-Kα2 splittings ≤ 20 eV barely widen the blend
        spectrum = _pure(element)
        energies.append(LIT_KA1_KEV[element] * 1000)
        squares.append(_fwhm_ev(spectrum.energy_kev, _net(spectrum), LIT_KA1_KEV[element]) ** 2)
    slope = np.polyfit(energies, squares, 1)[0]
    low = 2.3548 ** 2 * SI_FANO_RANGE[0] * SI_PAIR_EV_RANGE[0]
    high = 2.3548 ** 2 * SI_FANO_RANGE[1] * SI_PAIR_EV_RANGE[1]
    assert low * 0.95 <= slope <= high * 1.08  # Cu Kα doublet (20 eV) adds a few % at the top
    mn = _pure("Mn")
    assert 124.0 <= _fwhm_ev(mn.energy_kev, _net(mn), 5.895) <= 136.0


def test_continuum_is_kramers() -> None:
    energy = np.array([5.0, 10.0, 19.0, 21.0])
    shape = kramers_continuum(energy, 20.0, 26.0)
    assert shape[0] / shape[1] == pytest.approx((15 / 5) / (10 / 10), rel=1e-3)
    assert shape[3] == 0.0
    spectrum = _pure("Fe", beam=15.0)
    assert spectrum.expected[spectrum.energy_kev > 15.05].max() == 0.0  # Duane-Hunt limit


def test_kbeta_over_kalpha_matches_the_literature() -> None:
    lines = _pure("Cu").lines
    ka = sum(r["counts"] for r in lines if r["family"] == "K" and r["name"].startswith("Ka"))
    kb = sum(r["counts"] for r in lines if r["family"] == "K" and r["name"].startswith("Kb"))
    assert CU_KB_OVER_KA_RANGE[0] <= kb / ka <= CU_KB_OVER_KA_RANGE[1]


def test_counts_are_poisson_around_the_expectation() -> None:
    spec = EdsSpec((("Fe", 0.4), ("O", 0.6)), 15.0, 130.0, 2e5, 0.3)
    spectrum = simulate_spectrum(spec, np.random.default_rng(4))
    assert spectrum.counts.sum() == pytest.approx(2e5, rel=0.01)
    keep = spectrum.expected > 50
    pulls = (spectrum.counts[keep] - spectrum.expected[keep]) / np.sqrt(spectrum.expected[keep])
    assert 0.85 < pulls.std() < 1.15


def test_msa_file_has_header_and_two_columns(tmp_path: Path) -> None:
    spectrum = _pure("Si", beam=15.0)
    write_msa(spectrum, tmp_path / "s.msa")
    text = (tmp_path / "s.msa").read_text(encoding="ascii").splitlines()
    assert "#BEAMKV   -kV: 15.0" in text and "#XUNITS      : keV" in text
    rows = [line for line in text if not line.startswith("#")]
    assert len(rows) == 2048 and rows[174].startswith("1.7400, ")


def test_overlap_partners_name_the_classic_overlaps() -> None:
    assert "V" in overlap_partners("Ti") and "Ba" in overlap_partners("Ti")
    assert {"Mo", "Pb"} <= set(overlap_partners("S"))
    assert "Fe" not in overlap_partners("Al")


def test_phases_have_distinct_visible_element_sets() -> None:
    phases = eds_phases()
    sets = [p.elements for p in phases]
    assert len(sets) == len(set(sets)) >= 60
    assert all(abs(sum(x for _, x in p.composition) - 1) < 1e-9 for p in phases)


def _digest(root: Path) -> str:
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".msa", ".png", ".jsonl"))
    return hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()


def test_items_are_deterministic_and_truthful(tmp_path: Path) -> None:
    counts = {"eds.elements": 3, "eds.phase": 3}
    build_dataset(tmp_path / "a", counts=counts, seed=11)
    build_dataset(tmp_path / "b", counts=counts, seed=11)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    for item in load_dataset(tmp_path / "a").items:
        options = item.answer.options
        assert len(options) == 5 and len(set(options.values())) == 5
        truth = item.metadata["truth"]
        if item.family == "eds.elements":
            assert set(options[item.answer.correct].split(", ")) == set(truth["elements"])
        elif item.metadata["difficulty"] != "hard":
            assert options[item.answer.correct] == truth["formula"]
        assert {a.id for a in item.attachments} == {"eds0", "plot0"}


def test_reference_agent_solves_the_items(tmp_path: Path) -> None:
    data = build_dataset(tmp_path / "data", counts={"eds.elements": 6, "eds.phase": 6}, seed=5)
    summary = asyncio.run(evaluate(data, tmp_path / "run", RunConfig(agent="reference", tools="all")))
    for name in ("eds.elements", "eds.phase"):
        assert summary["by_family"][name]["accuracy"] == 1.0
