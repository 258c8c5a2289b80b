"""The powder-pattern simulator: golden Bragg positions, shifts, broadening, Kα2, noise."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy.optimize import curve_fit

from csmbench.episodes.generators._xrd_pattern import (
    PatternSpec,
    fwhm_deg,
    plot_pattern,
    random_spec,
    simulate_pattern,
    write_xy,
)
from csmbench.errors import ToolError

CU_KA1 = 1.5405929


def _spec(**changes) -> PatternSpec:
    """Si, Cu Kα1, no shift, tiny instrument width, high counts, flat background."""
    base = PatternSpec(
        phases=("curated:si",), weight_fractions=(1.0,), radiation="CuKa1",
        two_theta_min=10.0, two_theta_max=90.0, step_deg=0.005, crystallite_nm=(200.0,),
        microstrain=(0.0,), caglioti_uvw=(0.0, 0.0, 0.0005), eta=0.5, zero_shift_deg=0.0,
        displacement_um=0.0, goniometer_radius_mm=240.0, background=(20.0,),
        amorphous_hump=None, max_counts=1e6, march_dollase=None)
    return dataclasses.replace(base, **changes)


def _maximum(pattern, center: float, half_window: float = 0.3) -> float:
    """Position of the noise-free maximum near ``center`` (parabola through the top 3 points)."""
    x, y = pattern.two_theta, pattern.expected
    window = np.flatnonzero(np.abs(x - center) < half_window)
    i = window[np.argmax(y[window])]
    a, b, c = y[i - 1], y[i], y[i + 1]
    return float(x[i] + 0.5 * (a - c) / (a - 2 * b + c) * (x[1] - x[0]))


def _bragg(d: float) -> float:
    return math.degrees(2 * math.asin(CU_KA1 / (2 * d)))


def test_same_seed_gives_identical_arrays_and_files(tmp_path):
    spec = random_spec(np.random.default_rng(3), phases=("curated:si", "curated:nacl"))
    one = simulate_pattern(spec, np.random.default_rng(7))
    two = simulate_pattern(spec, np.random.default_rng(7))
    np.testing.assert_array_equal(one.intensity, two.intensity)
    assert one.reflections == two.reflections
    for pattern, name in ((one, "a"), (two, "b")):
        write_xy(pattern, tmp_path / f"{name}.xy")
        plot_pattern(pattern, tmp_path / f"{name}.png")
    assert (tmp_path / "a.xy").read_bytes() == (tmp_path / "b.xy").read_bytes()
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    text = (tmp_path / "a.xy").read_text().splitlines()
    assert text[0] == f"# radiation: {spec.radiation}"
    assert "curated" not in "".join(text[:6])


def test_random_spec_is_seeded_and_valid():
    first = random_spec(np.random.default_rng(1), phases=("curated:si",))
    assert first == random_spec(np.random.default_rng(1), phases=("curated:si",))
    assert 5.0 <= first.crystallite_nm[0] <= 200.0
    assert first.two_theta_min < first.two_theta_max


@pytest.mark.parametrize(("hkl", "d"), [((1, 1, 1), 5.43102 / math.sqrt(3)),
                                        ((2, 2, 0), 5.43102 / math.sqrt(8)),
                                        ((3, 1, 1), 5.43102 / math.sqrt(11))],
                         ids=["111", "220", "311"])
def test_si_peaks_at_bragg_positions(hkl, d):
    pattern = simulate_pattern(_spec(), np.random.default_rng(0))
    assert abs(_maximum(pattern, _bragg(d)) - _bragg(d)) < 0.01
    truth = next(r for r in pattern.reflections if r["hkl"] == hkl)
    assert truth["two_theta"] == pytest.approx(_bragg(d), abs=1e-3)


def test_si_111_is_strongest_at_28_44():
    pattern = simulate_pattern(_spec(), np.random.default_rng(0))
    assert abs(pattern.two_theta[np.argmax(pattern.expected)] - 28.44) <= 0.01
    assert abs(_maximum(pattern, 28.44) - 28.44) < 0.01


def test_lattice_scale_moves_peaks_to_braggs_angles_of_the_scaled_cell():
    # Si a = 5.431 Å expanded by 1 %: 111 at the Bragg angle of d = 1.01 a / sqrt(3)
    pattern = simulate_pattern(_spec(lattice_scale=(1.01,)), np.random.default_rng(0))
    d111 = 1.01 * 5.4309 / math.sqrt(3)
    assert _maximum(pattern, _bragg(d111)) == pytest.approx(_bragg(d111), abs=0.01)
    assert _bragg(d111) < 28.44 - 0.25
    with pytest.raises(ToolError, match="lattice_scale"):
        simulate_pattern(_spec(lattice_scale=(1.0, 1.0)), np.random.default_rng(0))


def test_zero_shift_moves_every_peak_by_exactly_that():
    plain = simulate_pattern(_spec(), np.random.default_rng(0))
    shifted = simulate_pattern(_spec(zero_shift_deg=0.15), np.random.default_rng(0))
    for center in (28.44, 47.30, 56.12):
        assert _maximum(shifted, center + 0.15) - _maximum(plain, center) == pytest.approx(
            0.15, abs=0.003)
    for a, b in zip(plain.reflections, shifted.reflections, strict=True):
        assert b["two_theta"] - a["two_theta"] == pytest.approx(0.15, abs=1e-12)


def test_displacement_shift_follows_cos_theta():
    pattern = simulate_pattern(_spec(displacement_um=100.0), np.random.default_rng(0))
    for r in pattern.reflections:
        expected = -math.degrees(2 * 0.1 / 240.0 * math.cos(math.radians(r["two_theta_ideal"] / 2)))
        assert r["two_theta"] - r["two_theta_ideal"] == pytest.approx(expected, rel=1e-9)


def _pv(x, center, area, fwhm, eta, base):
    z2 = ((x - center) / fwhm) ** 2
    lorentz = 2 / (math.pi * fwhm * (1 + 4 * z2))
    gauss = 2 * math.sqrt(math.log(2) / math.pi) / fwhm * np.exp(-4 * math.log(2) * z2)
    return area * (eta * lorentz + (1 - eta) * gauss) + base


@pytest.mark.parametrize("size_nm", [8.0, 20.0, 60.0], ids=["8nm", "20nm", "60nm"])
def test_size_broadening_follows_scherrer(size_nm):
    spec = _spec(crystallite_nm=(size_nm,), step_deg=0.01)
    pattern = simulate_pattern(spec, np.random.default_rng(1))
    x, y = pattern.two_theta, pattern.intensity
    window = np.abs(x - 28.44) < 2.0
    guess = (28.44, y[window].sum() * 0.01, 0.5, 0.5, 20.0)
    (_, _, fitted, _, _), _ = curve_fit(_pv, x[window], y[window], p0=guess,
                                             bounds=([28, 0, 0.01, 0, 0], [29, np.inf, 5, 1, 1e5]))
    expected = fwhm_deg(np.array([28.4419]), CU_KA1, size_nm, 0.0, spec.caglioti_uvw)[0]
    assert fitted == pytest.approx(expected, rel=0.05)
    scherrer = math.degrees(0.9 * CU_KA1 / (size_nm * 10 * math.cos(math.radians(14.221))))
    size_part = math.sqrt(fitted ** 2 - spec.caglioti_uvw[2])
    assert size_part == pytest.approx(scherrer, rel=0.05)


def test_ka2_present_for_doublet_and_absent_for_ka1():
    single = simulate_pattern(_spec(), np.random.default_rng(0))
    doublet = simulate_pattern(_spec(radiation="CuKa12"), np.random.default_rng(0))
    d = 5.43102 / math.sqrt(24)  # Si 422, well resolved near 88°
    ka2 = math.degrees(2 * math.asin(1.544390 / (2 * d)))
    ka1 = _bragg(d)
    assert ka2 - ka1 > 0.2
    assert _maximum(doublet, ka2, 0.05) == pytest.approx(ka2, abs=0.01)
    ratio = (np.interp(ka2, doublet.two_theta, doublet.expected) - 20.0) / (
        np.interp(ka1, doublet.two_theta, doublet.expected) - 20.0)
    assert ratio == pytest.approx(0.5, abs=0.03)
    assert np.interp(ka2, single.two_theta, single.expected) < 0.05 * np.interp(
        ka1, single.two_theta, single.expected)
    truth = next(r for r in doublet.reflections if r["hkl"] == (4, 2, 2))
    assert truth["two_theta_ka2"] == pytest.approx(ka2, abs=1e-3)


def test_mixture_shows_both_strongest_peaks():
    spec = _spec(phases=("curated:nacl", "curated:si"), weight_fractions=(0.5, 0.5),
                 crystallite_nm=(100.0, 100.0), microstrain=(0.0, 0.0))
    pattern = simulate_pattern(spec, np.random.default_rng(0))
    nacl_200 = _bragg(5.6402 / 2)
    for center in (nacl_200, 28.44):
        peak = np.interp(center, pattern.two_theta, pattern.expected)
        assert peak > 0.2 * spec.max_counts
    assert {r["phase"] for r in pattern.reflections} == {"curated:nacl", "curated:si"}


def test_poisson_noise_variance_matches_mean():
    spec = _spec(background=(400.0,), max_counts=1000.0)
    pattern = simulate_pattern(spec, np.random.default_rng(5))
    flat = (pattern.two_theta > 60) & (pattern.two_theta < 68)  # no Si reflection there
    residual = pattern.intensity[flat] - pattern.expected[flat]
    assert residual.var() == pytest.approx(pattern.expected[flat].mean(), rel=0.1)
    assert np.all(pattern.intensity == np.round(pattern.intensity))


def test_three_phase_scan_has_every_phase_at_its_bragg_angles():
    spec = _spec(phases=("curated:si", "curated:nacl", "curated:tio2-anatase"),
                 weight_fractions=(0.3, 0.3, 0.4), crystallite_nm=(50.0, 30.0, 20.0),
                 microstrain=(0.0, 1e-3, 0.0), radiation="CuKa12", two_theta_min=5.0,
                 two_theta_max=94.99, step_deg=0.01)
    pattern = simulate_pattern(spec, np.random.default_rng(0))
    assert len(pattern.two_theta) == 9000
    # Si 111 (d 3.1356 Å), NaCl 200 (2.8210 Å), anatase 101 (3.5163 Å)
    for phase, d in (("curated:si", 3.1356), ("curated:nacl", 2.8210),
                     ("curated:tio2-anatase", 3.5163)):
        nearest = min((r for r in pattern.reflections if r["phase"] == phase),
                      key=lambda r: abs(r["d"] - d))
        assert nearest["d"] == pytest.approx(d, rel=2e-3)
        assert nearest["two_theta"] == pytest.approx(_bragg(nearest["d"]), abs=1e-9)


def test_march_dollase_enhances_the_preferred_axis():
    plain = simulate_pattern(_spec(), np.random.default_rng(0))
    textured = simulate_pattern(_spec(march_dollase=((1, 1, 1), 0.7)), np.random.default_rng(0))

    def ratio(pattern):
        by_hkl = {r["hkl"]: r["intensity"] for r in pattern.reflections}
        return by_hkl[(1, 1, 1)] / by_hkl[(2, 2, 0)]

    def factor(cos2_counts):  # March-Dollase averaged over the equivalent planes
        r = 0.7
        return sum(n * (r * r * c + (1 - c) / r) ** -1.5 for c, n in cos2_counts) / sum(
            n for _, n in cos2_counts)

    p111 = factor([(1.0, 2), (1 / 9, 6)])  # ±(111) along the axis, the other six at 70.5°
    p220 = factor([(2 / 3, 6), (0.0, 6)])  # (110)-type: 35.3° or 90° from [111]
    assert ratio(textured) / ratio(plain) == pytest.approx(p111 / p220, rel=1e-6)
    assert ratio(textured) > ratio(plain)


def test_bad_specs_raise_tool_errors():
    with pytest.raises(ToolError, match="no crystal record"):
        simulate_pattern(_spec(phases=("curated:unobtainium",)), np.random.default_rng(0))
    with pytest.raises(ToolError, match="one value per phase"):
        simulate_pattern(_spec(crystallite_nm=(10.0, 20.0)), np.random.default_rng(0))
