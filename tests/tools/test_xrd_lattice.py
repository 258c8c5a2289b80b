"""Tests for lattice fitting, indexing, Scherrer and Williamson-Hall (real files and physics)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from csmbench.episodes.generators._xrd_pattern import fwhm_deg
from csmbench.errors import ToolError
from csmbench.tools._xrd_broadening import scherrer_size, williamson_hall
from csmbench.tools._xrd_lattice import fit_lattice
from csmbench.tools._xrd_peaks import find_peaks, read_xy

CU_KA1 = 1.5405929

# (file, system, a, c, relative tolerance): MANIFEST.md section 2 ground truth
REAL_CASES = [
    ("xrd_autoanalyzer/LiF.xy", "cubic", 4.0263, None, 0.001),
    ("xrd_autoanalyzer/MnO.xy", "cubic", 4.445, None, 0.001),
    ("powdR/quartz.xy", "hexagonal", 4.9134, 5.4052, 0.002),
    ("xrd_autoanalyzer/TiO2.xy", "tetragonal", 3.785, None, 0.002),
]


def _peaks(path: Path):
    return find_peaks(*read_xy(path), radiation="CuKa12")


def test_lab6_lattice_parameter(realdata: Path) -> None:
    fit = fit_lattice(_peaks(realdata / "xrayutilities/LaB6_d500_si_psd.xye"), "cubic")
    assert fit.centring == "P"
    assert fit.a == pytest.approx(4.15692, abs=5e-4)
    assert fit.a_err < 1e-3 and fit.residual_deg < 0.01
    assert [1, 0, 0] in fit.hkl


@pytest.mark.parametrize(("rel", "system", "a", "c", "rel_tol"), REAL_CASES,
                         ids=[c[0].split("/")[1] for c in REAL_CASES])
def test_real_lattice_parameters(realdata: Path, rel: str, system: str, a: float,
                                 c: float | None, rel_tol: float) -> None:
    fit = fit_lattice(_peaks(realdata / rel), system)  # type: ignore[arg-type]
    assert fit.a == pytest.approx(a, rel=rel_tol)
    if c is not None:
        assert fit.c == pytest.approx(c, rel=rel_tol)


def test_quartz_zero_shift_is_refined(realdata: Path) -> None:
    fit = fit_lattice(_peaks(realdata / "powdR/quartz.xy"), "hexagonal")
    assert -0.08 < fit.zero_shift_deg < -0.02  # MANIFEST 2b: about -0.04°


def _two_theta(q: np.ndarray) -> np.ndarray:
    s = CU_KA1 * np.sqrt(q) / 2
    return np.degrees(2 * np.arcsin(np.where(s < 1, s, np.nan)))


def test_synthetic_tetragonal_with_given_hkl_and_zero() -> None:
    hkl = [(1, 0, 0), (0, 0, 1), (1, 1, 0), (1, 0, 1), (1, 1, 1), (2, 0, 0), (2, 1, 1), (0, 0, 2)]
    a, c = 4.2, 3.1
    q = np.array([(h * h + k * k) / a**2 + l * l / c**2 for h, k, l in hkl])
    fit = fit_lattice(list(_two_theta(q) + 0.03), "tetragonal", hkl=hkl)
    assert (fit.a, fit.c) == pytest.approx((a, c), abs=1e-6)
    assert fit.zero_shift_deg == pytest.approx(0.03, abs=1e-6)


@pytest.mark.parametrize(("system", "a", "c"), [("cubic", 5.431, None), ("tetragonal", 4.59, 2.96),
                                                ("hexagonal", 3.25, 5.21)],
                         ids=["Si-like", "rutile-like", "ZnO-like"])
def test_indexing_synthetic_lines(system: str, a: float, c: float | None) -> None:
    from csmbench.tools._xrd_lattice import _design, _forms

    forms = _forms(system)
    centring = "F" if system == "cubic" else "P"
    rows = forms.rows[forms.allowed[centring]]
    p = np.array([1 / a**2] if c is None else [1 / a**2, 1 / c**2])
    tt = np.unique(np.round(_two_theta(rows @ p), 4))
    tt = tt[(tt > 15) & (tt < 100)][:15]
    fit = fit_lattice(list(tt), system)  # type: ignore[arg-type]
    assert fit.a == pytest.approx(a, rel=1e-4)
    if c is not None:
        assert fit.c == pytest.approx(c, rel=1e-4)
    assert _design(system, np.array(fit.hkl)).shape[0] == fit.n_peaks


def test_lattice_errors() -> None:
    with pytest.raises(ToolError, match="unknown crystal_system"):
        fit_lattice([20.0, 30.0], "monoclinic")  # type: ignore[arg-type]
    with pytest.raises(ToolError, match="not supported; pass hkl"):
        fit_lattice([20.0, 30.0, 40.0, 50.0], "orthorhombic")
    with pytest.raises(ToolError, match="cannot determine"):
        fit_lattice([20.0], "tetragonal")
    with pytest.raises(ToolError, match="could not index"):
        fit_lattice(list(np.random.default_rng(0).uniform(20, 80, 12)), "cubic")


# --- Scherrer and Williamson-Hall -----------------------------------------------------------
def test_scherrer_hand_computed_si_111() -> None:
    beta = math.radians(math.sqrt(0.2**2 - 0.05**2))
    expected = 0.9 * CU_KA1 / (beta * math.cos(math.radians(28.44 / 2))) / 10
    assert scherrer_size(28.44, 0.2, instrument_fwhm_deg=0.05) == pytest.approx(expected)
    linear = 0.9 * CU_KA1 / (math.radians(0.15) * math.cos(math.radians(14.22))) / 10
    assert scherrer_size(28.44, 0.2, instrument_fwhm_deg=0.05,
                         correction="linear") == pytest.approx(linear)
    with pytest.raises(ToolError, match="not wider than the instrumental"):
        scherrer_size(28.44, 0.04, instrument_fwhm_deg=0.05)


def test_williamson_hall_recovers_size_and_strain() -> None:
    size_nm, strain, K = 35.0, 2e-3, 0.9
    tt = np.array([25.0, 38.0, 47.0, 55.0, 69.0, 82.0, 95.0])
    theta = np.radians(tt / 2)
    beta = K * CU_KA1 / (size_nm * 10) / np.cos(theta) + 4 * strain * np.tan(theta)
    wh = williamson_hall(list(zip(tt, np.degrees(beta))))
    assert wh.size_nm == pytest.approx(size_nm, rel=1e-6)
    assert wh.strain == pytest.approx(strain, rel=1e-6)
    assert wh.r_squared == pytest.approx(1.0) and wh.n_peaks == 7
    with pytest.raises(ToolError, match="at least 2 peaks"):
        williamson_hall([(30.0, 0.2)])


def test_williamson_hall_errors_are_nan_with_two_peaks() -> None:
    wh = williamson_hall([(30.0, 0.2), (60.0, 0.3)])
    assert math.isnan(wh.size_err) and math.isnan(wh.strain_err) and wh.form == "linear"


# --- Williamson-Hall against the pattern generator's width model ----------------------------
GENERATOR_CASES = [(35.0, 2e-3), (12.0, 5e-4), (80.0, 3e-3)]
"""(crystallite size nm, microstrain) of the generator-width cases."""
WH_ANGLES = np.array([25.0, 38.0, 47.0, 55.0, 69.0, 82.0, 95.0, 110.0])
INSTRUMENT_DEG = 0.05


def _generator_widths(size_nm: float, strain: float) -> list[tuple[float, float]]:
    """(2θ, FWHM) in degrees: FWHM² = instr² + (Kλ/(D cos θ))² + (4ε tan θ)², as generated."""
    widths = fwhm_deg(WH_ANGLES, CU_KA1, size_nm, strain, (0.0, 0.0, INSTRUMENT_DEG**2))
    return list(zip(WH_ANGLES.tolist(), widths.tolist(), strict=True))


@pytest.mark.parametrize(("size_nm", "strain"), GENERATOR_CASES,
                         ids=[f"D{d:g}nm-e{e:g}" for d, e in GENERATOR_CASES])
def test_quadratic_williamson_hall_recovers_generator_size_and_strain(size_nm: float,
                                                                      strain: float) -> None:
    wh = williamson_hall(_generator_widths(size_nm, strain), instrument_fwhm_deg=INSTRUMENT_DEG,
                         form="quadratic")
    assert wh.form == "quadratic" and wh.n_peaks == WH_ANGLES.size and not wh.notes
    assert wh.size_nm == pytest.approx(size_nm, rel=1e-9)
    assert wh.strain == pytest.approx(strain, rel=1e-9)
    assert wh.r_squared == pytest.approx(1.0)


def test_linear_williamson_hall_is_biased_on_quadrature_widths() -> None:
    """Why the form matters: the straight-line form misreads widths that add in quadrature."""
    size_nm, strain = GENERATOR_CASES[0]
    wh = williamson_hall(_generator_widths(size_nm, strain), instrument_fwhm_deg=INSTRUMENT_DEG)
    assert wh.form == "linear"
    assert abs(wh.size_nm / size_nm - 1) > 0.2 and abs(wh.strain / strain - 1) > 0.2


def test_quadratic_williamson_hall_without_strain_reports_zero() -> None:
    peaks = [(tt, w * (1 + 0.02 * (-1) ** i)) for i, (tt, w) in
             enumerate(_generator_widths(40.0, 0.0))]  # alternating ±2 % width noise
    wh = williamson_hall(peaks, instrument_fwhm_deg=INSTRUMENT_DEG, form="quadratic")
    assert wh.size_nm == pytest.approx(40.0, rel=0.05)
    assert wh.strain == 0.0 and 0.0 < wh.strain_err < 1e-3  # the fitted ε² is slightly < 0
    assert "no strain broadening resolved" in wh.notes[0]


# --- bad input: ToolError naming what is wrong and what to do -------------------------------
LATTICE_MISTAKES = [
    pytest.param([30.0], "cubic", {}, "1 peak(s) cannot determine 2 parameters (cubic cell "
                 "and zero shift); give more peaks or set refine_zero=False", id="1-peak-cubic"),
    pytest.param([30.0, 40.0], "hexagonal", {}, "cannot determine 3 parameters",
                 id="2-peaks-hexagonal"),
    pytest.param([30.0], "tetragonal", {"refine_zero": False},
                 "cannot determine 2 parameters (tetragonal cell); give more peaks",
                 id="1-peak-no-zero"),
    pytest.param([20.0, 30.0, 40.0], "orthorhombic",
                 {"hkl": [(1, 0, 0), (0, 1, 0), (0, 0, 1)]}, "cannot determine 4 parameters",
                 id="3-peaks-orthorhombic"),
    pytest.param([20.0, math.nan, 40.0], "cubic", {},
                 "finite 2θ values in (0, 180) degrees; got [nan] at positions [1]",
                 id="nan-2theta"),
    pytest.param([20.0, 200.0], "cubic", {}, "got [200.0] at positions [1]; give Kα1 positions "
                 "in degrees 2θ", id="2theta-above-180"),
    pytest.param([-3.0, 20.0], "cubic", {}, "got [-3.0] at positions [0]", id="negative-2theta"),
    pytest.param([20.0, 30.0], "monoclinic", {}, "unknown crystal_system 'monoclinic'; expected "
                 "one of cubic, tetragonal, hexagonal, orthorhombic", id="unknown-system"),
    pytest.param([20.0, 30.0], "Cubic", {}, "did you mean 'cubic'?", id="system-typo"),
    pytest.param([20.0, 30.0], "trigonal", {}, "use 'hexagonal'", id="trigonal"),
    pytest.param([20.0, 30.0, 40.0], "cubic", {"hkl": [(1, 0, 0), (1, 1), (1, 1, 1)]},
                 "hkl[1] = (1, 1) has 2 indices, not 3; give one integer (h, k, l) triple per "
                 "peak", id="hkl-pair"),
    pytest.param([20.0, 30.0, 40.0], "hexagonal",
                 {"hkl": [(1, 0, -1, 0), (0, 0, 2), (1, 0, 1)]}, "drop i = -(h + k)",
                 id="hkl-4-index"),
    pytest.param([20.0, 30.0, 40.0], "cubic", {"hkl": [(1, 0, 0), (1, 1, 0)]},
                 "got 2 hkl triples for 3 peaks", id="hkl-too-few"),
    pytest.param([20.0, 30.0, 40.0], "cubic", {"hkl": [1, 0, 0]},
                 "hkl must be a list of (h, k, l) triples", id="hkl-flat"),
    pytest.param([20.0, 30.0, 40.0], "cubic", {"hkl": [(1, 0, 0), (0, 0, 0), (1, 1, 1)]},
                 "hkl (0, 0, 0) given for the peak at 2θ = 30° is not a reflection; give that "
                 "peak's Miller indices", id="hkl-000"),
    pytest.param([20.0, 30.0, 40.0], "cubic", {"hkl": [(1.5, 0, 0), (1, 1, 0), (1, 1, 1)]},
                 "hkl must be integers", id="hkl-fraction"),
    pytest.param([20.0, 30.0, 40.0], "tetragonal", {"hkl": [(1, 0, 0), (1, 1, 0), (2, 0, 0)]},
                 "cell edge(s) c undetermined", id="hkl-no-l"),
    pytest.param([20.0, 30.0], "cubic", {"wavelength": 0.0},
                 "wavelength must be a positive number of Å", id="zero-wavelength"),
]


@pytest.mark.parametrize(("peaks", "system", "kwargs", "message"), LATTICE_MISTAKES)
def test_fit_lattice_bad_input(peaks: list[float], system: str, kwargs: dict,
                               message: str) -> None:
    with pytest.raises(ToolError, match=re.escape(message)):
        fit_lattice(peaks, system, **kwargs)  # type: ignore[arg-type]


def test_fit_lattice_accepts_a_numpy_array() -> None:
    hkl = [(1, 1, 1), (2, 0, 0), (2, 2, 0), (3, 1, 1)]
    tt = _two_theta(np.array([sum(i * i for i in t) / 5.431**2 for t in hkl]))
    assert fit_lattice(tt, "cubic", hkl=hkl).a == pytest.approx(5.431, abs=1e-6)


SCHERRER_MISTAKES = [
    pytest.param(28.44, 0.05, {"instrument_fwhm_deg": 0.05}, "FWHM 0.05° at 2θ = 28.44° is not "
                 "wider than the instrumental FWHM 0.05°", id="fwhm-equals-instrument"),
    pytest.param(28.44, 0.03, {"instrument_fwhm_deg": 0.05}, "check instrument_fwhm_deg",
                 id="fwhm-below-instrument"),
    pytest.param(28.44, 0.0, {}, "FWHM must be a positive, finite width in degrees 2θ; got 0°",
                 id="zero-fwhm"),
    pytest.param(28.44, -0.1, {}, "got -0.1° at 2θ = 28.44°; give each peak's full width at "
                 "half maximum", id="negative-fwhm"),
    pytest.param(28.44, math.nan, {}, "FWHM must be a positive, finite width", id="nan-fwhm"),
    pytest.param(math.nan, 0.2, {}, "finite 2θ values in (0, 180) degrees", id="nan-2theta"),
    pytest.param(190.0, 0.2, {}, "finite 2θ values in (0, 180) degrees", id="2theta-above-180"),
    pytest.param(28.44, 0.2, {"instrument_fwhm_deg": math.nan},
                 "instrument_fwhm_deg must be a finite width >= 0", id="nan-instrument"),
    pytest.param(28.44, 0.2, {"instrument_fwhm_deg": -0.01},
                 "instrument_fwhm_deg must be a finite width >= 0", id="negative-instrument"),
    pytest.param(28.44, 0.2, {"K": 0.0}, "K must be a positive Scherrer constant", id="zero-K"),
    pytest.param(28.44, 0.2, {"wavelength": math.inf}, "wavelength must be a positive number",
                 id="infinite-wavelength"),
    pytest.param(28.44, 0.2, {"correction": "cubic"}, "unknown correction 'cubic'",
                 id="unknown-correction"),
]


@pytest.mark.parametrize(("two_theta", "fwhm", "kwargs", "message"), SCHERRER_MISTAKES)
def test_scherrer_bad_input(two_theta: float, fwhm: float, kwargs: dict, message: str) -> None:
    with pytest.raises(ToolError, match=re.escape(message)):
        scherrer_size(two_theta, fwhm, **kwargs)


WH_MISTAKES = [
    pytest.param([], {}, "at least 2 peaks at different angles; got 0; give the (2θ, FWHM) of "
                 "two or more reflections, or use scherrer_size", id="no-peaks"),
    pytest.param([(30.0, 0.2)], {}, "at least 2 peaks at different angles; got 1",
                 id="one-peak"),
    pytest.param([(30.0, 0.2), (30.0, 0.3), (30.0, 0.25)], {},
                 "all 3 are at 2θ = 30°, so size (intercept) and strain (slope) cannot be "
                 "separated; give peaks of different reflections", id="one-angle"),
    pytest.param([30.0, 40.0], {}, "(2θ, FWHM) pairs in degrees", id="bare-angles"),
    pytest.param([(30.0, 0.2), (40.0, 0.04)], {"instrument_fwhm_deg": 0.05},
                 "FWHM 0.04° at 2θ = 40° is not wider than the instrumental", id="narrow-peak"),
    pytest.param([(30.0, 0.2), (40.0, -0.3)], {}, "got -0.3° at 2θ = 40°",
                 id="negative-fwhm"),
    pytest.param([(math.nan, 0.2), (40.0, 0.3)], {}, "finite 2θ values", id="nan-2theta"),
    pytest.param([(30.0, 0.2), (40.0, 0.3)], {"form": "cubic"}, "unknown form 'cubic'",
                 id="unknown-form"),
]


@pytest.mark.parametrize(("peaks", "kwargs", "message"), WH_MISTAKES)
def test_williamson_hall_bad_input(peaks: list, kwargs: dict, message: str) -> None:
    with pytest.raises(ToolError, match=re.escape(message)):
        williamson_hall(peaks, **kwargs)


def test_williamson_hall_rejects_an_overlapped_outlier() -> None:
    angles = np.array([30.0, 38.0, 45.0, 55.0, 65.0, 78.0, 90.0])
    widths = fwhm_deg(angles, 1.5405929, 40.0, 2e-3, (0.0, 0.0, 0.0025))
    widths[4] *= 2.0  # an unresolved pair fitted as one wide peak
    instrument = 0.05
    kwargs = {"instrument_fwhm_deg": instrument, "form": "quadratic"}
    robust = williamson_hall(list(zip(angles, widths, strict=True)), reject_outliers=True,
                             **kwargs)
    assert robust.size_nm == pytest.approx(40.0, rel=1e-6)
    assert robust.strain == pytest.approx(2e-3, rel=1e-6)
    assert robust.n_peaks == 6 and "65.000°" in robust.notes[-1]
    plain = williamson_hall(list(zip(angles, widths, strict=True)), **kwargs)
    assert abs(plain.size_nm - 40.0) > 2.0 or abs(plain.strain - 2e-3) > 1e-4


def _bragg(a: float, hkls: list[tuple[int, int, int]]) -> list[float]:
    return [2 * math.degrees(math.asin(CU_KA1 * math.sqrt(h * h + k * k + l * l) / (2 * a)))
            for h, k, l in hkls]


def test_a_stated_centring_picks_the_true_cell() -> None:
    """Five lines of bcc α-Fe (a = 2.8665 Å) also index as a primitive cell of a/√2; told
    the lattice is body-centred, the fit finds a itself."""
    lines = _bragg(2.8665, [(1, 1, 0), (2, 0, 0), (2, 1, 1), (2, 2, 0), (3, 1, 0)])
    fit = fit_lattice(lines, "cubic", centring="I", refine_zero=False)
    assert fit.centring == "I" and fit.a == pytest.approx(2.8665, abs=1e-4)
    free = fit_lattice(lines, "cubic", refine_zero=False)
    assert min(abs(free.a - 2.8665), abs(free.a - 2.8665 / math.sqrt(2))) < 1e-3


def test_a_centring_the_system_lacks_is_refused() -> None:
    lines = _bragg(3.0, [(1, 0, 0), (1, 1, 0), (1, 1, 1), (2, 0, 0)])
    with pytest.raises(ToolError, match="centring 'F' is not one of"):
        fit_lattice(lines, "hexagonal", centring="F")
