"""Tests for lattice fitting, indexing, Scherrer and Williamson-Hall (real files and physics)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from csmbench.errors import ToolError
from csmbench.tools._xrd_lattice import fit_lattice, scherrer_size, williamson_hall
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
