"""identify_elements: elements, overlaps, peak energies and fractions; errors; the registry tool."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from csmbench.episodes import Asset, ToolCall
from csmbench.episodes.generators._eds_spectrum import EdsSpec, simulate_spectrum, write_msa
from csmbench.errors import ToolError
from csmbench.tools import REGISTRY, ToolContext
from csmbench.tools._eds import identify_elements

LIT_KEV = {"Cu Ka1": 8.04778, "Cu Ka2": 8.02783, "Cu Kb1": 8.90529, "Cu La": 0.9297,
           "Ti Ka1": 4.51084, "Ti Ka2": 4.50486, "Ti Kb1": 4.93181, "Ti La": 0.4522,
           "O Ka": 0.5249, "Fe Ka1": 6.40384, "Fe Ka2": 6.39084}
"""Literature line energies, keV (Bearden 1967; X-ray data booklet)."""
NOISE_EV = math.sqrt(130.0 ** 2 - 2.3548 ** 2 * 0.115 * 3.76 * 5898.8)
"""Electronic noise FWHM of a detector with 130 eV at Mn Kα (Fano factor 0.115, 3.76 eV/pair)."""


def _hand_made(lines: list[tuple[float, float]], beam: float = 20.0, seed: int = 0) -> tuple:
    """A spectrum built here, independently of the simulator: Gaussian lines (energy keV,
    counts) with a 130 eV-at-Mn-Kα Fano width on a Kramers continuum cut off below 0.5 keV
    (a polymer window of 0.3 keV), peak-to-background ≈ 50 like a real Cu Kα."""
    energy = 0.01 * np.arange(2048)
    e = np.maximum(energy, 0.01)
    continuum = 150.0 * np.clip(beam - e, 0, None) / e * np.exp(-((0.3 / e) ** 3))
    y = continuum.copy()
    for centre, area in lines:
        fwhm_kev = math.sqrt(NOISE_EV ** 2 + 2.3548 ** 2 * 0.115 * 3.76 * centre * 1000) / 1000
        sigma = fwhm_kev / 2.3548
        y += area * 0.01 * np.exp(-0.5 * ((energy - centre) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    return energy, np.random.default_rng(seed).poisson(y).astype(float)


def _found(result) -> set[str]:
    return {e.element for e in result.elements}


def test_hand_made_copper_spectrum_is_copper_at_the_right_energy() -> None:
    energy, counts = _hand_made([(LIT_KEV["Cu Ka1"], 2e5), (LIT_KEV["Cu Ka2"], 1e5),
                                 (LIT_KEV["Cu Kb1"], 4e4), (LIT_KEV["Cu La"], 1e5)])
    result = identify_elements(energy, counts, beam_kev=20.0, fwhm_mn_ka_ev=130.0)
    cu = result.elements[0]
    # line ratios here are not xraydb's, so weak misfit "elements" may appear, never strong
    assert all(e.confidence != "high" for e in result.elements[1:])
    assert cu.main_line == "Ka1" and cu.confidence == "high"
    blend = (2 * LIT_KEV["Cu Ka1"] + LIT_KEV["Cu Ka2"]) / 3  # Kα1 : Kα2 = 2 : 1
    assert cu.peak_energy_kev == pytest.approx(blend, abs=0.01)


def test_hand_made_rutile_spectrum_is_ti_and_o() -> None:
    energy, counts = _hand_made([(LIT_KEV["Ti Ka1"], 2e5), (LIT_KEV["Ti Ka2"], 1e5),
                                 (LIT_KEV["Ti Kb1"], 4e4), (LIT_KEV["Ti La"], 5e4),
                                 (LIT_KEV["O Ka"], 1e5)], beam=15.0)
    result = identify_elements(energy, counts, beam_kev=15.0, fwhm_mn_ka_ev=130.0)
    strong = {e.element for e in result.elements if e.confidence == "high"}
    assert strong == {"Ti", "O"}
    assert "V" not in _found(result)  # Ti Kβ is not V Kα
    ti = next(e for e in result.elements if e.element == "Ti")
    blend = (2 * LIT_KEV["Ti Ka1"] + LIT_KEV["Ti Ka2"]) / 3
    assert ti.peak_energy_kev == pytest.approx(blend, abs=0.01)


def _simulated(composition, beam=15.0, counts=3e5, seed=0):
    spec = EdsSpec(composition=composition, beam_kev=beam, fwhm_mn_ka_ev=128.0,
                   total_counts=counts, background_fraction=0.3)
    return simulate_spectrum(spec, np.random.default_rng(seed))


@pytest.mark.parametrize(
    ("composition", "beam", "elements"),
    [((("Ba", 0.2), ("Ti", 0.2), ("O", 0.6)), 15.0, {"Ba", "Ti", "O"}),
     ((("Pb", 0.5), ("S", 0.5)), 20.0, {"Pb", "S"}),
     ((("Mo", 1 / 3), ("S", 2 / 3)), 10.0, {"Mo", "S"}),
     ((("Ti", 1 / 3), ("O", 2 / 3)), 15.0, {"Ti", "O"}),
     ((("Ti", 0.95), ("V", 0.05)), 15.0, {"Ti", "V"}),
     ((("Ti", 0.5), ("N", 0.5)), 10.0, {"Ti", "N"}),
     ((("Fe", 0.94), ("Cr", 0.03), ("Ni", 0.03)), 20.0, {"Fe", "Cr", "Ni"})],
    ids=["BaTiO3", "PbS", "MoS2", "TiO2-no-V", "Ti-5V", "TiN", "Fe-Cr-Ni"],
)
def test_overlapping_lines_are_resolved(composition, beam, elements) -> None:
    for seed in range(3):
        spectrum = _simulated(composition, beam=beam, seed=seed)
        result = identify_elements(spectrum.energy_kev, spectrum.counts, beam_kev=beam,
                                   fwhm_mn_ka_ev=128.0)
        assert _found(result) == elements, seed


def test_overlaps_are_named() -> None:
    spectrum = _simulated((("Pb", 0.5), ("S", 0.5)), beam=20.0)
    result = identify_elements(spectrum.energy_kev, spectrum.counts, beam_kev=20.0,
                               fwhm_mn_ka_ev=128.0)
    sulfur = next(e for e in result.elements if e.element == "S")
    assert {"Mo", "Pb"} <= set(sulfur.overlaps)


def test_fractions_follow_the_emission_model() -> None:
    """Same model as the simulator, so only the counting error remains (not a ZAF test)."""
    spectrum = _simulated((("Ba", 0.2), ("Ti", 0.2), ("O", 0.6)), counts=1e6)
    result = identify_elements(spectrum.energy_kev, spectrum.counts, beam_kev=15.0,
                               fwhm_mn_ka_ev=128.0)
    fractions = {e.element: e.atomic_fraction for e in result.elements}
    assert fractions == pytest.approx({"Ba": 0.2, "Ti": 0.2, "O": 0.6}, abs=0.02)


def test_registry_tool_reads_the_attachment(tmp_path: Path) -> None:
    spectrum = _simulated((("Fe", 0.4), ("O", 0.6)), beam=20.0)
    write_msa(spectrum, tmp_path / "s.msa")
    asset = Asset(id="eds0", kind="spectrum", path="s.msa", sha256="0" * 64,
                  meta={"beam_kev": 20.0, "fwhm_mn_ka_ev": 128.0})
    context = ToolContext(tmp_path, {"eds0": asset})
    result = REGISTRY.call(ToolCall(name="identify_elements", arguments={"spectrum": "eds0"}),
                           context)
    assert result.ok, result.error
    found = {e["element"]: e for e in result.content["elements"]}
    assert set(found) == {"Fe", "O"}
    assert found["Fe"]["peak_energy_kev"] == pytest.approx(
        (2 * LIT_KEV["Fe Ka1"] + LIT_KEV["Fe Ka2"]) / 3, abs=0.01)
    from_file = identify_elements(tmp_path / "s.msa")  # beam and resolution from the header
    assert from_file.beam_kev == 20.0 and from_file.fwhm_mn_ka_ev == 128.0


@pytest.mark.parametrize(
    ("energy", "counts", "message"),
    [(np.arange(2048) * 10.0, np.ones(2048), "expected keV"),
     (np.arange(2048) * 0.01, -np.ones(2048), "counts must be >= 0"),
     (np.arange(50) * 0.01, np.ones(50), "at least 100 channels"),
     (np.arange(2048)[::-1] * 0.01, np.ones(2048), "strictly increasing"),
     (np.arange(2048) * 0.01, np.ones(2047), "equal length")],
    ids=["eV-axis", "negative", "too-short", "decreasing", "length-mismatch"],
)
def test_bad_input_raises_tool_error(energy, counts, message) -> None:
    with pytest.raises(ToolError, match=message):
        identify_elements(energy, counts)


def test_registry_errors_are_error_results(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_text("# header\n0.0 1\nnot numbers here\n", encoding="ascii")
    asset = Asset(id="eds0", kind="spectrum", path="bad.txt", sha256="0" * 64, meta={})
    context = ToolContext(tmp_path, {"eds0": asset})
    for arguments, message in (({"spectrum": "eds9"}, "unknown attachment id"),
                               ({"spectrum": "eds0"}, "line 3"),
                               ({"spectrum": "eds0", "beam_kev": 100.0}, "")):
        result = REGISTRY.call(ToolCall(name="identify_elements", arguments=arguments), context)
        assert not result.ok and not result.internal_error and message in (result.error or "")
