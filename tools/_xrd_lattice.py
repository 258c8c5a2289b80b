"""Lattice parameters from peak positions: indexing and least-squares refinement.

:func:`fit_lattice` refines the cell edges (Å) and a 2θ zero shift (degrees) by least squares
on 2θ, with standard errors from the covariance; without Miller indices the peaks are indexed
first. Indexing tries, for each lattice centring, trial cells solved from one (cubic) or two
(tetragonal, hexagonal) low-angle lines assigned to low-index reflections, and keeps the cell
with the best de Wolff-style figure of merit M = Q_N / (2·<|ΔQ|>·N_calc) (errors capped at the
indexing tolerance, so an impurity line costs but does not veto).

Q = 1/d² (Å⁻²) is linear in p = (1/a², [1/b²], [1/c²]): Q = M @ p with one design row M per
reflection (:func:`_design`). Crystallite size and strain from widths: ``_xrd_broadening``.
"""

from __future__ import annotations

import difflib
import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy.optimize import least_squares

from csmbench.errors import ToolError

from ._radiation import CU_KA1
from ._xrd_peaks import Peak, PeakList

__all__ = ["Centring", "CrystalSystem", "LatticeFit", "fit_lattice"]

CrystalSystem = Literal["cubic", "tetragonal", "hexagonal", "orthorhombic"]
N_PARAMS = {"cubic": 1, "tetragonal": 2, "hexagonal": 2, "orthorhombic": 3}
"""Cell parameters per system (the zero shift comes on top)."""
CELL_EDGES = {"cubic": ("a",), "tetragonal": ("a", "c"), "hexagonal": ("a", "c"),
              "orthorhombic": ("a", "b", "c")}
"""Edge fixed by each column of the design matrix."""
CENTRINGS = {"cubic": ("P", "I", "F"), "tetragonal": ("P", "I"), "hexagonal": ("P",),
             "orthorhombic": ("P",)}
MAX_INDEX = 12
"""Reflections with |h|, |k|, |l| up to this are considered."""
SEED_LINES = 5
"""Trial cells are solved from the first few observed lines ..."""
SEED_FORMS = 40
"""... assigned to the lowest-index reflection forms."""
INDEX_TOLERANCE_DEG = 0.15
"""A line more than this from every calculated line is unindexed (before refinement)."""
REFINED_TOLERANCE_DEG = 0.08
"""... and after refining the cell and the zero shift."""
MIN_INDEXED_FRACTION = 0.5
"""A trial cell must index at least this fraction of the lines."""
MAX_ZERO_SHIFT_DEG = 1.0
"""A refined zero shift larger than this (degrees 2θ) rejects the trial cell."""
CELL_RANGE_ANGSTROM = (1.5, 40.0)
"""Trial cell edges outside this range (Å) are discarded."""
REFINE_CANDIDATES = 8
"""Best-ranked trial cells per centring that are refined."""
SCREEN_MAX_INDEX = 6
SCREEN_LINES = 20
"""Trial cells are ranked on the first 20 lines against reflections with indices <= 6."""
REFINE_ROUNDS = 3
"""Assign-and-refine cycles per trial cell."""
MIN_FOM = 3.0
"""Below this M the indexing is rejected (random line lists reach 1-3 as cubic)."""
WEAK_FOM = 10.0
"""Below this M the result carries a note that the indexing may be wrong."""
FOM_INDEXED_POWER = 3.0
"""M is multiplied by (fraction of lines indexed)^3, so sparse tiny cells do not win."""
FOM_ERROR_FLOOR_DEG = 0.002
"""Added to every line's error in M so that noise-free data do not divide by zero."""


class LatticeFit(BaseModel):
    """Refined cell of one phase.

    Attributes:
        crystal_system: The system the cell was fitted in.
        centring: Lattice centring chosen by indexing (P, I, F), or "given" with user hkl.
        a, b, c: Cell edges, Å (b is None unless orthorhombic; c is None for cubic).
        a_err, b_err, c_err: Standard errors, Å (NaN without degrees of freedom).
        hkl: Miller indices assigned to the fitted peaks, in the order of ``two_theta``.
        two_theta: Observed 2θ of the fitted peaks, degrees.
        residual_deg: RMS of observed minus calculated 2θ, degrees.
        n_peaks: Number of peaks used in the fit.
        zero_shift_deg: Refined zero shift (observed = calculated + shift), degrees.
        figure_of_merit: de Wolff-style M of the final indexing (None with given hkl).
        notes: Unindexed peaks, fixed parameters and other caveats.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    crystal_system: CrystalSystem
    centring: str
    a: float
    a_err: float
    b: float | None = None
    b_err: float | None = None
    c: float | None = None
    c_err: float | None = None
    hkl: list[list[int]]
    two_theta: list[float]
    residual_deg: float
    n_peaks: int
    zero_shift_deg: float
    figure_of_merit: float | None = None
    notes: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class _Forms:
    """Distinct reflection forms: design rows M (Q = M @ p), a representative hkl, allowed mask."""

    rows: np.ndarray
    hkl: np.ndarray
    allowed: dict[str, np.ndarray]


def _design(system: str, hkl: np.ndarray) -> np.ndarray:
    """Design rows M (n, k) with Q = 1/d² = M @ p, p = (1/a², [1/b²], [1/c²]) in Å⁻²."""
    h, k, l = (hkl[:, i].astype(float) for i in range(3))
    if system == "cubic":
        return (h * h + k * k + l * l)[:, None]
    if system == "tetragonal":
        return np.column_stack([h * h + k * k, l * l])
    if system == "hexagonal":
        return np.column_stack([4.0 / 3.0 * (h * h + h * k + k * k), l * l])
    return np.column_stack([h * h, k * k, l * l])


def _centring_allowed(hkl: np.ndarray, centring: str) -> np.ndarray:
    """Mask (n,) of reflections not extinct for a P, I or F lattice."""
    h, k, l = hkl[:, 0], hkl[:, 1], hkl[:, 2]
    if centring == "I":
        return (h + k + l) % 2 == 0
    if centring == "F":
        return ((h % 2 == k % 2) & (k % 2 == l % 2))
    return np.ones(len(hkl), dtype=bool)


@functools.lru_cache(maxsize=8)
def _forms(system: str) -> _Forms:
    """All distinct Q forms up to MAX_INDEX with a representative hkl (h, k >= 0 ordered)."""
    rng = range(MAX_INDEX + 1)
    hkl = np.array([t for t in itertools.product(rng, rng, rng) if any(t)])
    if system == "hexagonal":
        hkl = np.vstack([hkl, [(h, -k, l) for h, k, l in hkl if h > 0 and k > 0]])
    rows = _design(system, hkl)
    keys = np.round(rows, 6)
    allowed = {c: _centring_allowed(hkl, c) for c in CENTRINGS[system]}
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    form_allowed = {c: np.bincount(inverse, weights=m, minlength=first.size) > 0
                    for c, m in allowed.items()}
    rep = _representatives(hkl, inverse, first.size, allowed)
    order = np.argsort(rows[first].sum(axis=1))
    return _Forms(rows[first][order], rep[order], {c: m[order] for c, m in form_allowed.items()})


def _representatives(hkl: np.ndarray, inverse: np.ndarray, n_forms: int,
                     allowed: dict[str, np.ndarray]) -> np.ndarray:
    """Per form, an hkl allowed by the most restrictive centring that allows the form."""
    rep = np.zeros((n_forms, 3), dtype=int)
    for mask in [np.ones(len(hkl), dtype=bool), *allowed.values()]:
        rep[inverse[mask]] = hkl[mask]
    return rep


def _two_theta(q: np.ndarray, wavelength: float) -> np.ndarray:
    """2θ (deg) of reflections with 1/d² = q; NaN beyond 180°."""
    s = wavelength * np.sqrt(np.maximum(q, 0.0)) / 2.0
    with np.errstate(invalid="ignore"):
        return np.degrees(2.0 * np.arcsin(np.where(s <= 1.0, s, np.nan)))


def _q_of(two_theta_deg: np.ndarray, wavelength: float) -> np.ndarray:
    """Q = 1/d² (Å⁻²) of lines at 2θ (deg) for a wavelength in Å."""
    return (2.0 * np.sin(np.radians(two_theta_deg) / 2.0) / wavelength) ** 2


def _dq_per_deg(two_theta_deg: np.ndarray, wavelength: float) -> np.ndarray:
    """dQ/d(2θ) per degree: Q = 4 sin²θ/λ² → dQ/d2θ = 2 sin 2θ /λ² (per radian)."""
    return 2.0 * np.sin(np.radians(two_theta_deg)) / wavelength**2 * math.pi / 180.0


# --- the cell model --------------------------------------------------------------------------
def _p_of_cell(cell: np.ndarray) -> np.ndarray:
    """Design coefficients p (Å⁻²) from the free cell edges (Å), in CELL_EDGES order."""
    return 1.0 / np.asarray(cell, dtype=float) ** 2


def _cell_of_p(p: np.ndarray) -> np.ndarray:
    """Free cell edges (Å) from design coefficients p (Å⁻²)."""
    return 1.0 / np.sqrt(p)


def _refine(rows: np.ndarray, obs: np.ndarray, wavelength: float, cell0: np.ndarray,
            refine_zero: bool) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Least squares of 2θ_obs = 2θ(cell) + zero (deg) over lines with design rows ``rows``.

    Returns cell (Å), zero (deg), standard errors of (cell, [zero]) (NaN without degrees of
    freedom) and 2θ residuals (deg).
    """
    n_cell = cell0.size

    def resid(x: np.ndarray) -> np.ndarray:
        zero = x[n_cell] if refine_zero else 0.0
        return _two_theta(rows @ _p_of_cell(x[:n_cell]), wavelength) + zero - obs

    x0 = np.concatenate([cell0, [0.0]]) if refine_zero else cell0.copy()
    # callers guarantee obs.size >= x0.size (fit_lattice's peak count, _polish's used lines)
    res = least_squares(resid, x0, method="lm", x_scale=np.maximum(np.abs(x0), 0.01))
    dof = obs.size - x0.size
    errors = np.full(x0.size, math.nan)
    if dof > 0 and np.all(np.isfinite(res.fun)):
        jtj = res.jac.T @ res.jac
        if np.linalg.matrix_rank(jtj) == x0.size:
            errors = np.sqrt(np.diag(np.linalg.inv(jtj)) * (res.fun @ res.fun) / dof)
    zero = float(res.x[n_cell]) if refine_zero else 0.0
    return res.x[:n_cell], zero, errors, res.fun


# --- indexing --------------------------------------------------------------------------------
def _trial_p(system: str, forms: _Forms, allowed: np.ndarray, q_obs: np.ndarray,
             seeds: np.ndarray) -> np.ndarray:
    """Trial p vectors (T, k) from k seed lines assigned to k low-index forms."""
    k = N_PARAMS[system]
    rows = forms.rows[allowed][:SEED_FORMS]
    trials = [(line_set, form_set) for line_set in itertools.combinations(seeds, k)
              for form_set in itertools.permutations(range(len(rows)), k)]
    if not trials:
        return np.empty((0, k))
    li = np.array([t[0] for t in trials])
    fi = np.array([t[1] for t in trials])
    mats, rhs = rows[fi], q_obs[li]
    det = np.linalg.det(mats)
    ok = np.abs(det) > 1e-9
    p = np.linalg.solve(mats[ok], rhs[ok][..., None])[..., 0]
    lo, hi = CELL_RANGE_ANGSTROM
    good = np.all((p > 1.0 / hi**2) & (p < 1.0 / lo**2), axis=1)
    return np.unique(np.round(p[good], 7), axis=0)


def _figure_of_merit(p: np.ndarray, rows: np.ndarray, obs: np.ndarray, wavelength: float,
                     tolerance_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """de Wolff-style M (T,) of trial p (T, k) and the nearest form per line (T, n)."""
    q_obs = _q_of(obs, wavelength)
    scale = _dq_per_deg(obs, wavelength)
    foms, nearest = np.empty(len(p)), np.empty((len(p), obs.size), dtype=int)
    for start in range(0, len(p), 512):
        qc = p[start:start + 512] @ rows.T
        diff = np.abs(q_obs[None, :, None] - qc[:, None, :])
        best = diff.argmin(axis=2)
        err = np.take_along_axis(diff, best[..., None], axis=2)[..., 0]
        capped = np.minimum(err, tolerance_deg * scale) + FOM_ERROR_FLOOR_DEG * scale
        n_calc = np.maximum((qc <= q_obs[-1] * (1 + 1e-6) + tolerance_deg * scale[-1]).sum(1), 1)
        indexed = (err <= tolerance_deg * scale).mean(axis=1)
        foms[start:start + 512] = (q_obs[-1] / (2.0 * capped.mean(axis=1) * n_calc)
                                   * indexed**FOM_INDEXED_POWER)
        nearest[start:start + 512] = best
    return foms, nearest


@dataclass(frozen=True)
class _Solution:
    """An indexed and refined cell: edges (Å), zero (deg), hkl and mask of the used lines."""

    centring: str
    cell: np.ndarray
    zero: float
    errors: np.ndarray
    hkl: np.ndarray
    used: np.ndarray
    residuals: np.ndarray
    fom: float


def _seed_lines(obs: np.ndarray, heights: np.ndarray | None) -> np.ndarray:
    """Lines that seed trial cells: the strongest of the low-angle half (or the first ones)."""
    if heights is None:
        return np.arange(min(SEED_LINES, obs.size))
    low = np.arange(max(SEED_LINES, obs.size // 2))[: obs.size]
    return np.sort(low[np.argsort(-heights[low])[:SEED_LINES]])


def _index(system: str, obs: np.ndarray, wavelength: float, refine_zero: bool,
           heights: np.ndarray | None = None,
           centrings: tuple[str, ...] | None = None) -> _Solution:
    """Index the lines and refine; the best solution over centrings and trial cells."""
    forms = _forms(system)
    q_obs = _q_of(obs, wavelength)
    seeds = _seed_lines(obs, heights)
    best: _Solution | None = None
    for centring in centrings or CENTRINGS[system]:
        allowed = forms.allowed[centring]
        rows, hkl = forms.rows[allowed], forms.hkl[allowed]
        trials = _trial_p(system, forms, allowed, q_obs, seeds)
        if len(trials) == 0:
            continue
        screen = np.abs(hkl).max(axis=1) <= SCREEN_MAX_INDEX
        foms, _ = _figure_of_merit(trials, rows[screen], obs[:SCREEN_LINES], wavelength,
                                   INDEX_TOLERANCE_DEG)
        for t in np.argsort(-foms)[:REFINE_CANDIDATES]:
            sol = _polish(system, centring, rows, hkl, obs, wavelength, trials[t], refine_zero)
            if sol is not None and (best is None or sol.fom > best.fom):
                best = sol
    if best is not None and best.fom < MIN_FOM:
        raise ToolError(f"could not index {obs.size} peaks as {system}: the best cell "
                        f"(a = {best.cell[0]:.4f} Å) has figure of merit {best.fom:.2g} < "
                        f"{MIN_FOM:g}, i.e. it matches by chance; check the crystal system, the "
                        "wavelength, drop impurity peaks, or pass hkl")
    if best is None:
        raise ToolError(f"could not index {obs.size} peaks as {system}: no trial cell between "
                        f"{CELL_RANGE_ANGSTROM[0]} and {CELL_RANGE_ANGSTROM[1]} Å indexes "
                        f"{MIN_INDEXED_FRACTION:.0%} of them; check the crystal system, the "
                        "wavelength, or pass hkl")
    return best


def _polish(system: str, centring: str, rows: np.ndarray, hkl: np.ndarray, obs: np.ndarray,
            wavelength: float, p: np.ndarray, refine_zero: bool) -> _Solution | None:
    """Assign, refine cell and zero, reassign (REFINE_ROUNDS times); None if it falls apart."""
    cell, zero, tol = _cell_of_p(p), 0.0, INDEX_TOLERANCE_DEG
    for _ in range(REFINE_ROUNDS):
        _, nearest = _figure_of_merit(_p_of_cell(cell)[None, :], rows, obs - zero,
                                      wavelength, tol)
        calc = _two_theta(rows[nearest[0]] @ _p_of_cell(cell), wavelength)
        used = np.abs(obs - zero - calc) <= tol
        if used.sum() < max(N_PARAMS[system] + int(refine_zero) + 1,
                            MIN_INDEXED_FRACTION * obs.size):
            return None
        cell, zero, errors, res = _refine(rows[nearest[0][used]], obs[used], wavelength,
                                          cell, refine_zero)
        if abs(zero) > MAX_ZERO_SHIFT_DEG or not np.all(np.isfinite(cell)):
            return None
        tol = REFINED_TOLERANCE_DEG
    fom = _figure_of_merit(_p_of_cell(cell)[None, :], rows, obs - zero, wavelength,
                           tol)[0][0]
    return _Solution(centring, cell, zero, errors, hkl[nearest[0][used]], used, res, float(fom))


# --- input ---------------------------------------------------------------------------------
PeaksLike = PeakList | list[Peak] | list[float]
Centring = Literal["P", "I", "F"]


def _positions(peaks: PeaksLike, wavelength: float | None) -> tuple[np.ndarray, ...]:
    """2θ (deg), heights (None for bare 2θ values) and the wavelength (Å), from any peak input."""
    heights, hint = None, "peaks must be a PeakList, a list of Peak, or a list of 2θ values (deg)"
    try:
        if isinstance(peaks, PeakList):
            lam = peaks.wavelength if wavelength is None else wavelength
            values = [p.two_theta for p in peaks.peaks]
            heights = [p.height for p in peaks.peaks]
        else:
            lam = CU_KA1 if wavelength is None else wavelength
            values = [p.two_theta if isinstance(p, Peak) else p for p in peaks]
            if values and all(isinstance(p, Peak) for p in peaks):
                heights = [p.height for p in peaks]
        obs = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ToolError(f"{hint}; got {peaks!r}") from exc
    if obs.ndim != 1:
        raise ToolError(f"{hint}; got {peaks!r}")
    bad = ~(np.isfinite(obs) & (obs > 0) & (obs < 180))
    if bad.any():
        raise ToolError(f"peak positions must be finite 2θ values in (0, 180) degrees; got "
                        f"{obs[bad].tolist()} at positions {np.flatnonzero(bad).tolist()}; give "
                        "Kα1 positions in degrees 2θ (not radians or d-spacings) and leave out "
                        "undefined peaks")
    if not (math.isfinite(lam) and lam > 0):
        raise ToolError(f"wavelength must be a positive number of Å; got {lam!r} (Cu Kα1 is "
                        f"{CU_KA1} Å)")
    return obs, (None if heights is None else np.asarray(heights, float)), float(lam)


def _check_system(crystal_system: object) -> None:
    """ToolError, with the closest valid name, unless the system is one of N_PARAMS."""
    if isinstance(crystal_system, str) and crystal_system in N_PARAMS:
        return
    name = str(crystal_system).strip().lower()
    close = difflib.get_close_matches(name, N_PARAMS, n=1)
    hint = ("; use 'hexagonal' (hexagonal axes)" if name in ("trigonal", "rhombohedral")
            else f"; did you mean '{close[0]}'?" if close else "")
    raise ToolError(f"unknown crystal_system {crystal_system!r}; expected one of "
                    f"{', '.join(N_PARAMS)}{hint}")


def _check_centring(system: str, centring: object) -> tuple[str, ...] | None:
    """The centrings to try: the one given (checked against the system), or None for all."""
    if centring is None:
        return None
    if centring not in CENTRINGS[system]:
        raise ToolError(f"centring {centring!r} is not one of {list(CENTRINGS[system])} for a "
                        f"{system} cell; use the first letter of the space-group symbol "
                        "(Fm-3m: F, Im-3m: I, Pm-3m: P), or omit it")
    return (str(centring),)


def _check_peak_count(n_peaks: int, system: str, refine_zero: bool) -> None:
    """At least as many peaks as free parameters (cell edges, plus the zero shift)."""
    n_free = N_PARAMS[system] + int(refine_zero)
    if n_peaks >= n_free:
        return
    what = f"{system} cell{' and zero shift' if refine_zero else ''}"
    hint = "give more peaks" + (" or set refine_zero=False" if refine_zero else "")
    raise ToolError(f"{n_peaks} peak(s) cannot determine {n_free} parameters ({what}); {hint}")


def _miller_indices(hkl: Sequence[Sequence[int]], obs: np.ndarray) -> np.ndarray:
    """Given hkl as an (n, 3) int array, one row per observed line (obs, deg 2θ)."""
    hint = "give one integer (h, k, l) triple per peak, in the order of the peaks"
    try:
        triples = [tuple(t) for t in hkl]
    except TypeError as exc:
        raise ToolError(f"hkl must be a list of (h, k, l) triples; got {hkl!r}; {hint}") from exc
    for i, t in enumerate(triples):
        if len(t) != 3:
            four = " (for 4-index (h, k, i, l) drop i = -(h + k))" if len(t) == 4 else ""
            raise ToolError(f"hkl[{i}] = {t} has {len(t)} indices, not 3{four}; {hint}")
    if len(triples) != obs.size:
        raise ToolError(f"got {len(triples)} hkl triples for {obs.size} peaks; {hint}")
    idx = np.asarray(triples)
    if not np.issubdtype(idx.dtype, np.integer):
        raise ToolError(f"hkl must be integers; got {triples}; {hint}")
    zero = np.flatnonzero(~idx.any(axis=1))
    if zero.size:
        raise ToolError(f"hkl (0, 0, 0) given for the peak at 2θ = {obs[zero[0]]:g}° is not a "
                        "reflection; give that peak's Miller indices (not all zero) or leave "
                        "the peak out")
    return idx


# --- public ----------------------------------------------------------------------------------
def fit_lattice(peaks: PeaksLike, crystal_system: CrystalSystem, *,
                wavelength: float | None = None,
                hkl: Sequence[Sequence[int]] | None = None,
                refine_zero: bool = True, centring: Centring | None = None) -> LatticeFit:
    """Refine a cell (and a zero shift) from peak positions, indexing them when needed.

    Args:
        peaks: A PeakList, a list of Peak, or a list of Kα1 2θ values (degrees).
        crystal_system: "cubic", "tetragonal", "hexagonal" or "orthorhombic".
        wavelength: Kα1 wavelength, Å. None: the PeakList's wavelength, else Cu Kα1
            (1.5405929 Å).
        hkl: Miller indices, one triple per peak in the given order; None to index
            (cubic, tetragonal and hexagonal only).
        refine_zero: Refine a constant 2θ zero shift (also absorbs most of a specimen
            displacement).
        centring: Lattice centring when known ("P", "I" or "F"; the first letter of the space
            group symbol): indexing then uses only the reflections it allows. Without it,
            a few peaks of a centred cell can also index as a smaller cell of another centring
            (bcc 110, 200, 211 as primitive 100, 110, 111 of a/√2).

    Returns:
        LatticeFit with the cell (Å), standard errors, assigned hkl and RMS 2θ residual (deg).

    Raises:
        ToolError: Bad input (system, 2θ, wavelength, hkl), fewer peaks than free
            parameters, or peaks that cannot be indexed in that system.
    """
    _check_system(crystal_system)
    centrings = _check_centring(crystal_system, centring)
    obs, heights, lam = _positions(peaks, wavelength)
    _check_peak_count(obs.size, crystal_system, refine_zero)
    if hkl is not None:
        return _fit_given(crystal_system, obs, lam, _miller_indices(hkl, obs), refine_zero)
    if crystal_system == "orthorhombic":
        raise ToolError("indexing orthorhombic patterns is not supported; pass hkl (one "
                        "(h, k, l) per peak) to refine an orthorhombic cell")
    order = np.argsort(obs)
    sol = _index(crystal_system, obs[order], lam, refine_zero,
                 None if heights is None else heights[order], centrings)
    return _result(crystal_system, sol, obs[order])


def _fit_given(system: str, obs: np.ndarray, lam: float, idx: np.ndarray,
               refine_zero: bool) -> LatticeFit:
    """Refine the cell from lines (deg 2θ) with known Miller indices idx (n, 3)."""
    rows = _design(system, idx)
    if np.any(rows.max(axis=0) == 0):
        free = [e for e, m in zip(CELL_EDGES[system], rows.max(axis=0), strict=True) if m == 0]
        raise ToolError(f"hkl {idx.tolist()} leave the {system} cell edge(s) {', '.join(free)} "
                        "undetermined: every edge needs a reflection with a non-zero index "
                        "along it; include such a peak")
    p0 = np.linalg.lstsq(rows, _q_of(obs, lam), rcond=None)[0]
    cell0 = _cell_of_p(np.clip(p0, 1.0 / CELL_RANGE_ANGSTROM[1] ** 2, None))
    cell, zero, errors, res = _refine(rows, obs, lam, cell0, refine_zero)
    sol = _Solution("given", cell, zero, errors, idx, np.ones(obs.size, bool), res, math.nan)
    return _result(system, sol, obs)


def _result(system: str, sol: _Solution, obs: np.ndarray) -> LatticeFit:
    """The public record of a solution, with notes on left-out lines and weak indexing."""
    notes = []
    if (~sol.used).any():
        notes.append(f"unindexed peaks left out of the fit (2θ): "
                     f"{[round(float(v), 3) for v in obs[~sol.used]]}")
    if sol.centring != "given" and sol.fom < WEAK_FOM:
        notes.append(f"weak indexing (figure of merit {sol.fom:.1f} < {WEAK_FOM:g}): the cell "
                     "may be wrong; confirm with known phases or pass hkl")
    if not np.all(np.isfinite(sol.errors)):
        notes.append("no degrees of freedom left: standard errors are NaN")
    values: dict[str, float] = {}
    for edge, value, error in zip(CELL_EDGES[system], sol.cell, sol.errors, strict=False):
        values |= {edge: float(value), f"{edge}_err": float(error)}
    fom = None if sol.centring == "given" else sol.fom
    return LatticeFit(crystal_system=system, centring=sol.centring, hkl=sol.hkl.tolist(),
                      two_theta=[float(v) for v in obs[sol.used]],
                      residual_deg=float(np.sqrt(np.mean(sol.residuals**2))),
                      n_peaks=int(sol.used.sum()), zero_shift_deg=sol.zero,
                      figure_of_merit=fom, notes=notes, **values)
