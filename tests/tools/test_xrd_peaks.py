"""Tests for powder-pattern peak finding: real LaB6, synthetic patterns from Bragg's law, errors."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from csmbench.errors import ToolError
from csmbench.tools._radiation import EMISSIONS, bragg_two_theta, d_spacing, emission
from csmbench.tools._xrd_peaks import find_peaks, pseudo_voigt, read_xy, validate_pattern

CU_KA1 = 1.5405929
CU_KA2 = 1.544390
LAB6_A = 4.15692  # MANIFEST 2a: xrayutilities powder model of this file
LAB6_TOL_DEG = 0.02


def cubic_lines(a: float, lam: float, lo: float, hi: float) -> list[tuple[int, float]]:
    """(h²+k²+l², 2θ) of a primitive cubic cell inside [lo, hi] degrees."""
    ns = sorted({h * h + k * k + l * l
                 for h, k, l in itertools.product(range(8), repeat=3) if h + k + l})
    out = []
    for n in ns:
        s = lam * math.sqrt(n) / (2 * a)
        if s < 1 and lo <= (tt := math.degrees(2 * math.asin(s))) <= hi:
            out.append((n, tt))
    return out


def synth(centres, heights, fwhm, *, eta=0.5, ka2=False, counts=1.0, seed=0,
          lo=10.0, hi=100.0, n=9000, background=(300.0, -2.0, 0.01)):
    """Pseudo-Voigt peaks (+ Kα2 at half height) on a quadratic background, Poisson noise."""
    x = np.linspace(lo, hi, n)
    y = np.polyval(background[::-1], x - lo)
    fw = np.broadcast_to(np.asarray(fwhm, float), np.shape(centres))
    for c, h, w in zip(centres, heights, fw):
        y = y + pseudo_voigt(x, c, h, w, eta)
        if ka2:
            c2 = math.degrees(2 * math.asin(CU_KA2 / CU_KA1 * math.sin(math.radians(c) / 2)))
            y = y + pseudo_voigt(x, c2, 0.5 * h, w, eta)
    rng = np.random.default_rng(seed)
    return x, rng.poisson(y * counts) / counts


# --- radiation ----------------------------------------------------------------------------
def test_si_111_golden_value() -> None:
    d111 = 5.431020511 / math.sqrt(3)
    assert bragg_two_theta(d111, CU_KA1) == pytest.approx(28.442, abs=1e-3)
    assert d_spacing(28.442, CU_KA1) == pytest.approx(d111, abs=1e-4)


def test_emissions_and_unknown_radiation() -> None:
    assert EMISSIONS["CuKa12"].ka2_angstrom == CU_KA2
    assert emission("MoKa1").ka2_angstrom is None
    with pytest.raises(ToolError, match="unknown radiation 'cuka1'.*Did you mean 'CuKa1'"):
        emission("cuka1")
    assert math.isnan(bragg_two_theta(0.5, CU_KA1))


# --- real data ------------------------------------------------------------------------------
def test_lab6_ka1_positions_match_bragg(realdata: Path) -> None:
    x, y = read_xy(realdata / "xrayutilities/LaB6_d500_si_psd.xye")
    found = np.array(find_peaks(x, y, radiation="CuKa12").two_thetas)
    lines = cubic_lines(LAB6_A, CU_KA1, 18.0, 148.0)
    errors = [float(np.min(np.abs(found - tt))) for _, tt in lines]
    assert max(errors) < LAB6_TOL_DEG, list(zip(lines, errors))
    # every reported peak is a LaB6 reflection: no Kα2 peak of its own
    bragg = np.array([tt for _, tt in lines])
    assert all(np.min(np.abs(bragg - f)) < LAB6_TOL_DEG for f in found if 18 < f < 148)


def test_lab6_without_doublet_model_reports_ka2_lines(realdata: Path) -> None:
    x, y = read_xy(realdata / "xrayutilities/LaB6_d500_si_psd.xye")
    single = find_peaks(x, y, radiation="CuKa1")
    doublet = find_peaks(x, y, radiation="CuKa12")
    assert len(single.peaks) > len(doublet.peaks)


def test_quartz_positions_have_the_documented_offset(realdata: Path) -> None:
    x, y = read_xy(realdata / "powdR/quartz.xy")
    found = np.array(find_peaks(x, y, radiation="CuKa12").two_thetas)
    # MANIFEST 2b: Kα1 positions for a = 4.9134, c = 5.4052 Å, observed about 0.04° lower
    for tt in (20.86, 26.64, 36.55, 39.47, 50.14, 59.96, 68.15):
        assert np.min(np.abs(found - (tt - 0.04))) < 0.03, tt


def test_read_xy_formats(tmp_path: Path) -> None:
    f = tmp_path / "p.xye"
    f.write_text("# comment\nTwoTheta, Intensity, Error\n10.0, 5, 1\n10.1;6;1\n\n10.2\t7\n")
    x, y = read_xy(f)
    assert x.tolist() == [10.0, 10.1, 10.2] and y.tolist() == [5, 6, 7]
    f.write_text("10 1\n10.1 2\noops here\n")
    with pytest.raises(ToolError, match="line 3"):
        read_xy(f)
    with pytest.raises(ToolError, match="does not exist"):
        read_xy(tmp_path / "missing.xy")


# --- synthetic ------------------------------------------------------------------------------
@pytest.mark.parametrize("ka2", [False, True], ids=["Ka1", "Ka12"])
def test_synthetic_positions_and_widths(ka2: bool) -> None:
    lines = cubic_lines(4.0, CU_KA1, 15.0, 95.0)
    centres = [tt for _, tt in lines]
    heights = [3000.0 / (1 + i % 3) for i in range(len(centres))]
    x, y = synth(centres, heights, 0.12, ka2=ka2, seed=1)
    result = find_peaks(x, y, radiation="CuKa12" if ka2 else "CuKa1")
    found = np.array(result.two_thetas)
    assert len(found) == len(centres), (found, centres)
    assert np.max(np.abs(found - centres)) < 0.01
    assert [p.fwhm for p in result.peaks] == pytest.approx([0.12] * len(centres), rel=0.05)


def test_overlapped_pair_is_resolved() -> None:
    x, y = synth([40.0, 40.15], [2000.0, 1200.0], 0.1, seed=2)
    found = find_peaks(x, y).two_thetas
    assert found == pytest.approx([40.0, 40.15], abs=0.01)


def test_scherrer_broadened_pattern_gives_size() -> None:
    from csmbench.tools._xrd_lattice import scherrer_size

    size_nm, instrument = 20.0, 0.05
    centres = [tt for _, tt in cubic_lines(4.0, CU_KA1, 20.0, 80.0)]
    beta = [math.degrees(0.9 * CU_KA1 / (size_nm * 10 * math.cos(math.radians(c / 2))))
            for c in centres]
    fwhm = np.sqrt(np.square(beta) + instrument**2)
    x, y = synth(centres, [5000.0] * len(centres), fwhm, eta=0.3, seed=3)
    peaks = find_peaks(x, y).peaks
    sizes = [scherrer_size(p.two_theta, p.fwhm, instrument_fwhm_deg=instrument) for p in peaks]
    assert len(peaks) == len(centres)
    assert np.median(sizes) == pytest.approx(size_nm, rel=0.10)


def test_flat_pattern_gives_empty_list_with_note() -> None:
    x = np.linspace(10, 100, 3000)
    y = np.random.default_rng(4).poisson(500.0, x.size).astype(float)
    result = find_peaks(x, y)
    assert result.peaks == [] and any("no peaks" in n for n in result.notes)


# --- bad input ------------------------------------------------------------------------------
X = np.linspace(10, 50, 100)
Y = np.full(100, 10.0)


@pytest.mark.parametrize(("x", "y", "match"), [
    (X[::-1], Y, "not sorted.*sort"),
    (np.r_[X[:50], X[49:99]], Y, "duplicated"),
    (X, np.r_[Y[:10], np.nan, Y[11:]], "NaN"),
    (X, np.r_[Y[:10], -50.0, Y[11:]], "negative"),
    (X, Y[:99], "100 points but intensity has 99"),
    (X[:10], Y[:10], "at least 20"),
    (X * 4.0, Y, "inside \\(0, 180\\)"),
], ids=["unsorted", "duplicated", "nan", "negative", "length", "short", "range"])
def test_bad_patterns_raise(x, y, match: str) -> None:
    with pytest.raises(ToolError, match=match):
        validate_pattern(x, y)
    with pytest.raises(ToolError, match=match):
        find_peaks(x, y)


def test_small_negatives_are_accepted_and_bad_options_rejected() -> None:
    validate_pattern(X, np.r_[Y[:10], -0.2, Y[11:]])
    with pytest.raises(ToolError, match="unknown radiation"):
        find_peaks(X, Y, radiation="CuKb")  # type: ignore[arg-type]
    with pytest.raises(ToolError, match="min_relative_height"):
        find_peaks(X, Y, min_relative_height=2.0)


def test_wavelength_override_and_max_peaks() -> None:
    centres = [tt for _, tt in cubic_lines(4.0, CU_KA1, 15.0, 95.0)]
    x, y = synth(centres, [2000.0] * len(centres), 0.1, seed=5)
    result = find_peaks(x, y, wavelength=CU_KA1, max_peaks=3)
    assert len(result.peaks) == 3 and any("max_peaks" in n for n in result.notes)
    assert result.peaks[0].d_spacing == pytest.approx(d_spacing(result.peaks[0].two_theta, CU_KA1))
    mo = find_peaks(x, y, radiation="MoKa1")
    assert mo.wavelength == 0.7093 and mo.peaks[0].d_spacing < result.peaks[0].d_spacing
