"""``identify_elements``: which elements an EDS spectrum shows, by fitting whole line families.

The method (what standard EDS software does, in a compact form):

1. The continuum is a Kramers shape ``(E0 − E) / E`` times a free combination of smooth
   low-energy cut-offs and a quadratic in E (the window and the sample's absorption are
   not known exactly).
2. Every element B-U contributes templates: its excited line families whose strongest line
   is at 1 keV or above as one template (K, L and M families at the emission model's
   relative intensities), and its softer families as a second one (L/M lines of transition metals, K lines of B-F), each
   line a Gaussian with the detector's Fano-law width. Overlaps (Ti Kβ / V Kα, S Kα / Mo Lα
   / Pb Mα, Ba Lα / Ti Kα, N Kα / Ti Ll) are resolved because a template must explain all of
   its element's lines at once.
3. Forward selection: starting from the continuum, the template that best explains the
   weighted residual is added while its significance (fitted net counts over their standard
   error) is at least ``min_significance``; then templates that lost significance are
   dropped. An element enters with all its templates; its significance is that of the
   hard one (the soft one for B-F).
4. Rough atomic fractions come from the fitted amplitudes divided by the emission model's
   yield per atom (``_eds_lines``): standardless and ZAF-free, so on real samples expect
   errors of 10-50 % relative (worse for light elements and soft lines); on spectra made
   with the same model they agree within the counting error.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from os import PathLike
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict
from scipy.optimize import lsq_linear

from csmbench.errors import ToolError

from ._context import ToolContext
from ._eds_lines import (
    ELEMENTS,
    FWHM_PER_SIGMA,
    emission_lines,
    fwhm_ev,
    noise_fwhm_ev,
)
from ._registry import AttachmentId, tool
from ._xrd_input import number_fields

__all__ = ["ElementFound", "ElementIdentification", "LineFound", "identify_elements",
           "identify_elements_tool", "read_spectrum"]

SOFT_KEV = 1.0
"""Line families whose strongest line lies below this energy form an element's separate
'soft' template: their intensity
relative to the hard lines depends on absorption, which the emission model leaves out."""
MIN_FIT_KEV = 0.12
"""Channels below this energy (the detector's noise peak) are not fitted, keV."""
DEFAULT_FWHM_MN_KA_EV = 130.0
"""Resolution assumed when neither the argument nor the file gives one (a typical SDD)."""
DEFAULT_BEAM_KEV = 20.0
MIN_CHANNELS = 100
MAX_CHANNELS = 16_384
"""Most channels of a spectrum; more are refused. EDS detectors record 1,024-4,096 channels
(16,384 is 1.25 eV per channel to 20 keV); at this size the fit takes about 2 s and 60 MB,
and up to ~50 s on a spectrum its line model cannot explain (it adds elements up to
MAX_SELECTED)."""
MAX_SPECTRUM_FILE_BYTES = 16 * 2**20
"""Largest spectrum file read, bytes (about 1 KiB per channel at MAX_CHANNELS); checked before
reading."""
MAX_COUNTS = 1e12
"""Largest counts in one channel: no EDS detector collects this many, and far above it the
weighted least-squares fit loses all precision (at 1e300 its SVD fails to converge)."""
MAX_SELECTED = 30
"""Most templates forward selection adds (a spectrum with more elements is not plausible)."""
LINE_SHARE_SHOWN = 0.02
"""Lines carrying less than this share of their element's net counts are not listed."""
LINE_MODEL_ERROR = 0.05
"""Relative uncertainty of the line model (shape, relative intensities, resolution) added in
quadrature to the counting error of channels under peaks."""
HIGH_SIGMA, MEDIUM_SIGMA = 30.0, 10.0
"""Significance (σ) at and above which a detection is called high / medium confidence."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LineFound(_Model):
    """One characteristic line of a found element: name, family, energy (keV), net counts."""

    line: str
    family: str
    energy_kev: float
    net_counts: float


class ElementFound(_Model):
    """An element the spectrum shows.

    Attributes:
        element: Symbol.
        main_line: Its strongest line ("Ka1", "La1", "Ma").
        peak_energy_kev: Measured centroid of the net peak around the main line, keV.
        net_counts: Net counts of all its fitted lines.
        significance: Net counts over their standard error (σ), from the fit.
        confidence: "high" (≥ 30 σ), "medium" (≥ 10 σ) or "low".
        atomic_fraction: Rough standardless atomic fraction among the found elements.
        lines: Its lines carrying at least 2 % of its counts, strongest first.
        overlaps: Other elements with a line within one FWHM of its main line (resolved by
            the family fit).
    """

    element: str
    main_line: str
    peak_energy_kev: float
    net_counts: float
    significance: float
    confidence: Literal["high", "medium", "low"]
    atomic_fraction: float
    lines: list[LineFound]
    overlaps: list[str]


class ElementIdentification(_Model):
    """Elements found in an EDS spectrum, strongest first, and how the fit was made."""

    elements: list[ElementFound]
    beam_kev: float
    fwhm_mn_ka_ev: float
    reduced_chi2: float
    notes: list[str]


# -- reading and checking -----------------------------------------------------------------

_HEADER = re.compile(r"^#+\s*([A-Za-z_]+)\s*(?:-\s*\w+)?\s*:\s*(.*)$")


def read_spectrum(path: str | PathLike[str]) -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    """Read a two-column EDS text file (EMSA/MAS ``.msa`` XY or plain ``energy counts``).

    Returns:
        Energies (keV as written), counts, and the ``#KEY: value`` header fields (upper-case
        keys, e.g. "BEAMKV", "XPERCHAN").

    Raises:
        ToolError: Missing file, no data rows, or a data row that is not two numbers.
    """
    file = Path(path)
    if not file.is_file():
        raise ToolError(f"spectrum file '{path}' does not exist; pass an existing .msa/.txt file")
    size = file.stat().st_size
    if size > MAX_SPECTRUM_FILE_BYTES:
        raise ToolError(f"spectrum file '{path}' is {size:,} bytes; expected at most "
                        f"{MAX_SPECTRUM_FILE_BYTES:,} (a spectrum has at most {MAX_CHANNELS:,} "
                        "channels). Hint: pass an EDS spectrum, not another kind of file")
    header, rows = {}, []
    text_lines = file.read_text(encoding="utf-8-sig", errors="replace").splitlines()
    for number, line in enumerate(text_lines, 1):
        text = line.strip()
        if not text:
            continue
        if text.startswith("#"):
            found = _HEADER.match(text)
            if found:
                header[found.group(1).upper()] = found.group(2).strip()
            continue
        fields = number_fields(text)
        try:
            rows.append((float(fields[0]), float(fields[1])))
        except (ValueError, IndexError):
            if rows:
                raise ToolError(f"line {number} of the spectrum is not two numbers (energy, counts):"
                                f" {text[:60]!r}") from None
    if not rows:
        raise ToolError(f"spectrum file '{path}' has no data rows (energy and counts per line)")
    data = np.asarray(rows)
    return data[:, 0], data[:, 1], header


def _validate(energy, counts) -> tuple[np.ndarray, np.ndarray]:
    try:
        e = np.asarray(energy, dtype=float)
        y = np.asarray(counts, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ToolError("energies and counts must be lists of numbers") from exc
    if e.ndim != 1 or e.shape != y.shape:
        raise ToolError(f"energies and counts must be 1-D of equal length; got {e.shape}, {y.shape}")
    if e.size < MIN_CHANNELS:
        raise ToolError(f"an EDS spectrum needs at least {MIN_CHANNELS} channels; got {e.size}")
    if e.size > MAX_CHANNELS:
        raise ToolError(f"an EDS spectrum may have at most {MAX_CHANNELS:,} channels; got "
                        f"{e.size:,}. Hint: sum neighbouring channels (binning) first")
    if not (np.isfinite(e).all() and np.isfinite(y).all()):
        raise ToolError("the spectrum has NaN or infinite values; remove them first")
    if np.any(np.diff(e) <= 0):
        raise ToolError("energies must be strictly increasing (one row per channel, in order)")
    if e[-1] > 200.0:
        raise ToolError(f"the energy axis ends at {e[-1]:g}; expected keV (an EDS spectrum ends "
                        "near 10-40 keV). Is it in eV or channel numbers? Divide by 1000 or "
                        "convert channels with the calibration first")
    if y.min() < 0:
        raise ToolError(f"counts must be >= 0 (minimum {y.min():g}); pass raw counts, not a "
                        "background-subtracted spectrum")
    if y.max() > MAX_COUNTS:
        raise ToolError(f"a channel holds {y.max():g} counts, more than {MAX_COUNTS:g}; expected "
                        "raw counts. Check the columns, or divide the counts by a constant")
    if y.sum() <= 0:
        raise ToolError("the spectrum holds no counts")
    return e, y


# -- the fit ----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Template:
    element: str
    soft: bool
    lines: tuple  # EdsLine
    shape: np.ndarray  # counts per unit amplitude on the fitted channels
    yield_sum: float


def _line_matrix(energy: np.ndarray, centres: np.ndarray, noise_ev: float, step: float) -> np.ndarray:
    sigma = fwhm_ev(centres, noise_ev)[:, None] / 1000.0 / FWHM_PER_SIGMA
    z = (energy[None, :] - centres[:, None]) / sigma
    return np.exp(-0.5 * z * z) / (sigma * math.sqrt(2.0 * math.pi)) * step


def _family_main_kev(lines: tuple, family: str) -> float:
    """Energy (keV) of the strongest line of ``family`` (inf when it has none)."""
    own = [line for line in lines if line.family == family]
    return max(own, key=lambda line: line.yield_per_atom).energy_kev if own else math.inf


@lru_cache(maxsize=16)
def _templates(energy_key: tuple[float, float, int], beam_kev: float, noise_ev: float
               ) -> tuple[_Template, ...]:
    start, step, n = energy_key
    energy = start + step * np.arange(n)
    top = float(energy[-1])
    out = []
    for element in ELEMENTS:
        lines = emission_lines(element, beam_kev, top)
        soft_families = {f for f in "KLM" if _family_main_kev(lines, f) < SOFT_KEV}
        for soft in (False, True):
            chosen = tuple(line for line in lines if (line.family in soft_families) == soft)
            if not chosen:
                continue
            weights = np.array([line.yield_per_atom for line in chosen])
            matrix = _line_matrix(energy, np.array([line.energy_kev for line in chosen]),
                                  noise_ev, step)
            out.append(_Template(element, soft, chosen, weights @ matrix, float(weights.sum())))
    return tuple(out)


CUTOFF_KEV = (0.1, 0.2, 0.3, 0.45, 0.7, 1.0, 1.4)
"""Low-energy cut-offs exp(-(E_c/E)³) of the continuum basis: free combinations of them
follow an unknown window and the sample's absorption of the soft continuum."""


def _continuum(energy: np.ndarray, beam_kev: float) -> np.ndarray:
    """Continuum basis: Kramers (E0 − E)/E times each cut-off, and times (E/E0)^1..4."""
    e = np.maximum(energy, 1e-3)
    kramers = np.clip(beam_kev - e, 0.0, None) / e
    t = e / beam_kev
    cut = [kramers * np.exp(-((c / e) ** 3)) for c in CUTOFF_KEV]
    return np.stack([*cut, *(cut[2] * t ** k for k in range(1, 5))], axis=1)


class _Fit:
    """Weighted linear fit of continuum + chosen templates (template amplitudes ≥ 0)."""

    def __init__(self, counts: np.ndarray, background: np.ndarray,
                 templates: tuple[_Template, ...], keep: np.ndarray) -> None:
        self.y = counts[keep]
        smooth = np.maximum(np.convolve(counts, np.ones(5) / 5, mode="same")[keep], 1.0)
        self.w = 1.0 / np.sqrt(smooth)
        self._orthonormal(background[keep])
        # line-model uncertainty: channels under peaks get a systematic error on top of
        # Poisson's, so small misfits of strong lines do not pass for further elements
        continuum = self.background @ np.linalg.lstsq(self.background * self.w[:, None],
                                                      self.y * self.w, rcond=None)[0]
        peaks = np.clip(smooth - continuum, 0.0, None)
        self.w = 1.0 / np.sqrt(smooth + (LINE_MODEL_ERROR * peaks) ** 2)
        self._orthonormal(background[keep])
        self.shapes = np.stack([t.shape[keep] for t in templates], axis=1)
        self.norm = np.maximum(self.shapes.max(axis=0), 1e-30)

    def _orthonormal(self, background: np.ndarray) -> None:
        """Orthonormal continuum basis in weighted space (the cut-off shapes are nearly
        collinear above 1 keV, and the bounded solver needs well-conditioned columns)."""
        q, _ = np.linalg.qr(background * self.w[:, None])
        self.background = q / self.w[:, None]

    def solve(self, active: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Amplitudes of the active templates, their standard errors, and the model."""
        columns = np.concatenate([self.background, self.shapes[:, active] / self.norm[active]],
                                 axis=1)
        nb = self.background.shape[1]
        lower = np.r_[np.full(nb, -np.inf), np.zeros(len(active))]
        weighted = columns * self.w[:, None]
        scale = np.maximum(np.abs(weighted).max(axis=0), 1e-30)
        result = lsq_linear(weighted / scale, self.y * self.w, bounds=(lower * scale, np.inf),
                            method="bvls")
        coef = result.x / scale
        cov = np.linalg.pinv(weighted.T @ weighted)
        sigma = np.sqrt(np.maximum(np.diag(cov), 1e-300))
        model = columns @ coef
        return coef[nb:] / self.norm[active], sigma[nb:] / self.norm[active], model

    def best_addition(self, model: np.ndarray, allowed: list[int]) -> tuple[int, float]:
        """The allowed template explaining most of the residual, and its significance (σ)."""
        residual = (self.y - model) * self.w
        shapes = self.shapes[:, allowed] * self.w[:, None]
        score = (shapes.T @ residual) / np.maximum(np.linalg.norm(shapes, axis=0), 1e-30)
        k = int(np.argmax(score))
        return allowed[k], float(score[k])


def _units(templates: tuple[_Template, ...]) -> dict[str, list[int]]:
    """Template indices per element, the hard template (when there is one) first."""
    units: dict[str, list[int]] = {}
    for i, t in enumerate(templates):
        units.setdefault(t.element, []).append(i)
    return {el: sorted(ix, key=lambda i: templates[i].soft) for el, ix in units.items()}


def _select(fit: _Fit, templates: tuple[_Template, ...], min_sigma: float
            ) -> tuple[list[int], np.ndarray, np.ndarray, np.ndarray]:
    """Forward selection of elements (all their templates at once), then backward pruning.

    An element's significance is that of its first (hard, else soft) template.
    """
    units = _units(templates)
    chosen: list[str] = []
    excluded: set[str] = set()

    def columns(elements: list[str]) -> list[int]:
        return [i for el in elements for i in units[el]]

    active = columns(chosen)
    amps, sig, model = fit.solve(active)
    for _ in range(MAX_SELECTED):
        allowed = [units[el][0] for el in units if el not in chosen and el not in excluded]
        if not allowed:
            break
        best, score = fit.best_addition(model, allowed)
        if score < min_sigma:
            break
        element = templates[best].element
        trial = columns([*chosen, element])
        t_amps, t_sig, t_model = fit.solve(trial)
        k = trial.index(units[element][0])
        if t_amps[k] / t_sig[k] < min_sigma:
            excluded.add(element)
            continue
        chosen, active, amps, sig, model = [*chosen, element], trial, t_amps, t_sig, t_model
    while chosen:
        z = [amps[active.index(units[el][0])] / sig[active.index(units[el][0])] for el in chosen]
        worst = int(np.argmin(z))
        if z[worst] >= min_sigma:
            break
        chosen = [el for el in chosen if el != chosen[worst]]
        active = columns(chosen)
        amps, sig, model = fit.solve(active)
    return active, amps, sig, model


def _centroid(energy: np.ndarray, net: np.ndarray, centre: float, fwhm_kev: float) -> float:
    near = np.abs(energy - centre) <= 0.6 * fwhm_kev
    weights = np.clip(net[near], 0.0, None)
    return float(weights @ energy[near] / weights.sum()) if weights.sum() > 0 else centre


def _confidence(sigma: float) -> Literal["high", "medium", "low"]:
    return "high" if sigma >= HIGH_SIGMA else "medium" if sigma >= MEDIUM_SIGMA else "low"


def identify_elements(spectrum: str | PathLike[str] | np.ndarray | list[float],
                      counts: np.ndarray | list[float] | None = None, *,
                      beam_kev: float | None = None, fwhm_mn_ka_ev: float | None = None,
                      min_significance: float = 5.0) -> ElementIdentification:
    """Identify the elements of an EDS spectrum and give their lines, net counts and fractions.

    Args:
        spectrum: Path of a two-column text file (energy keV, counts; EMSA/MAS ``.msa`` or
            plain), or the channel energies in keV when ``counts`` is given.
        counts: Counts per channel, shape (N,), with ``spectrum`` the energies.
        beam_kev: Accelerating voltage, kV; default: the file's ``#BEAMKV`` or 20 kV.
        fwhm_mn_ka_ev: Detector resolution at Mn Kα, eV; default: the file's or 130 eV.
        min_significance: Smallest significance (σ) of an element reported.

    Raises:
        ToolError: Unreadable or implausible spectrum, or settings out of range.
    """
    header: dict[str, str] = {}
    if counts is None:
        if not isinstance(spectrum, (str, PathLike)):
            raise ToolError("pass a spectrum file path, or the energies together with counts")
        energy, y, header = read_spectrum(spectrum)
    else:
        energy, y = spectrum, counts
    energy, y = _validate(energy, y)
    beam = float(beam_kev or _header_number(header, "BEAMKV", "beam_kev") or DEFAULT_BEAM_KEV)
    fwhm_mn = float(fwhm_mn_ka_ev or _header_number(header, "FWHM_MNKA_EV", "fwhm_mn_ka_ev")
                    or DEFAULT_FWHM_MN_KA_EV)
    if not 1.0 <= beam <= 40.0:
        raise ToolError(f"beam_kev must be 1-40 kV for SEM-EDS; got {beam:g}")
    if not 40.0 <= fwhm_mn <= 300.0:
        raise ToolError(f"fwhm_mn_ka_ev must be 40-300 eV (an SDD gives 120-140); got {fwhm_mn:g}")
    if not (math.isfinite(min_significance) and min_significance >= 2.0):
        raise ToolError(f"min_significance must be a number >= 2 σ; got {min_significance:g}")
    return _identify(energy, y, beam, fwhm_mn, float(min_significance))


def _header_number(header: dict[str, str], key: str, argument: str) -> float | None:
    """The number in the file's ``#KEY:`` header field (decimal point or comma), None when
    absent; ToolError when it is not a number."""
    text = header.get(key)
    if not text:
        return None
    try:
        return float(text.replace(",", ".") if text.count(",") == 1 else text)  # decimal comma
    except ValueError:
        raise ToolError(f"the spectrum file's #{key} header is {text[:40]!r}, not a number; pass "
                        f"{argument} explicitly") from None


def _identify(energy: np.ndarray, y: np.ndarray, beam: float, fwhm_mn: float,
              min_sigma: float) -> ElementIdentification:
    step = float(np.median(np.diff(energy)))
    uniform = np.allclose(np.diff(energy), step, rtol=1e-3, atol=1e-6)
    noise = noise_fwhm_ev(fwhm_mn)
    if not uniform:
        raise ToolError("the energy axis must have equal channel widths (a calibrated spectrum)")
    templates = _templates((round(float(energy[0]), 6), round(step, 7), energy.size),
                           round(beam, 3), round(noise, 3))
    keep = (energy >= MIN_FIT_KEV) & (energy <= beam)
    if keep.sum() < MIN_CHANNELS // 2:
        raise ToolError(f"too few channels between {MIN_FIT_KEV} keV and the beam energy {beam:g} kV")
    fit = _Fit(y, _continuum(energy, beam), templates, keep)
    active, amps, sig, model = _select(fit, templates, min_sigma)
    dof = max(int(keep.sum()) - len(active) - fit.background.shape[1], 1)
    chi2 = float(np.sum(((fit.y - model) * fit.w) ** 2) / dof)
    found = _elements(energy, y, keep, fit, model, templates, active, amps, sig, noise)
    notes = [(f"fitted {keep.sum()} channels from {MIN_FIT_KEV} keV to {min(beam, energy[-1]):.2f}"
             f" keV; {len(found)} elements at ≥ {min_sigma:g} σ")]
    if chi2 > 3.0:
        notes.append(f"reduced χ² = {chi2:.2f}: the lines are not all explained (wrong "
                     "resolution or beam energy, escape/sum peaks, or an element outside B-U)")
    return ElementIdentification(elements=found, beam_kev=beam, fwhm_mn_ka_ev=fwhm_mn,
                                 reduced_chi2=chi2, notes=notes)


def _elements(energy, y, keep, fit, model, templates, active, amps, sig, noise) -> list[ElementFound]:
    e_fit = energy[keep]
    by_element: dict[str, list[int]] = {}
    for k, i in enumerate(active):
        by_element.setdefault(templates[i].element, []).append(k)
    primary = {el: min(ks, key=lambda k: templates[active[k]].soft) for el, ks in by_element.items()}
    per_atom = {el: amps[k] for el, k in primary.items()}
    total_atoms = sum(per_atom.values()) or 1.0
    found = []
    for element, ks in by_element.items():
        lines = [(line, amps[k] * line.yield_per_atom) for k in ks for line in templates[active[k]].lines]
        net = sum(c for _, c in lines)
        main = max(templates[active[primary[element]]].lines, key=lambda x: x.yield_per_atom)
        own = sum(amps[k] * fit.shapes[:, active[k]] for k in ks)
        centre = _centroid(e_fit, fit.y - model + own, main.energy_kev,
                           float(fwhm_ev(main.energy_kev, noise)) / 1000.0)
        k0 = primary[element]
        significance = float(amps[k0] / sig[k0])
        shown = [LineFound(line=line.name, family=line.family, energy_kev=round(line.energy_kev, 4),
                           net_counts=round(float(c), 1))
                 for line, c in sorted(lines, key=lambda item: -item[1]) if c >= LINE_SHARE_SHOWN * net]
        found.append(ElementFound(
            element=element, main_line=main.name, peak_energy_kev=round(centre, 4),
            net_counts=round(float(net), 1), significance=round(significance, 1),
            confidence=_confidence(significance),
            atomic_fraction=round(float(per_atom[element] / total_atoms), 4), lines=shown,
            overlaps=_overlaps(element, main.energy_kev, templates, noise)))
    return sorted(found, key=lambda f: -f.net_counts)


def _overlaps(element: str, centre: float, templates: tuple[_Template, ...], noise: float) -> list[str]:
    width = float(fwhm_ev(centre, noise)) / 1000.0
    near = {t.element for t in templates if t.element != element
            for line in t.lines if abs(line.energy_kev - centre) <= width
            and line.yield_per_atom >= 0.1 * t.lines[0].yield_per_atom}
    return sorted(near)


@tool(name="identify_elements")
def identify_elements_tool(context: ToolContext, spectrum: AttachmentId,
                           beam_kev: float | None = None, fwhm_mn_ka_ev: float | None = None,
                           min_significance: float = 5.0) -> ElementIdentification:
    """Identify the elements in an EDS spectrum by fitting their whole K, L and M line families.

    Removes the Bremsstrahlung continuum, fits every element's lines (Gaussian, Fano-law
    width) so that overlaps such as Ti Kβ / V Kα, S Kα / Mo Lα / Pb Mα or Ba Lα / Ti Kα are
    resolved, and returns the elements found (strongest first) with their lines, measured
    peak energy (keV), net counts, significance, confidence and a rough standardless atomic
    fraction (no ZAF correction: ± tens of %).

    Args:
        spectrum: Attachment id of the spectrum (energy keV / counts text file), e.g. "eds0".
        beam_kev: Accelerating voltage in kV; default: the attachment's.
        fwhm_mn_ka_ev: Detector resolution at Mn Kα in eV; default: the attachment's or 130.
        min_significance: Smallest significance (in σ) of an element reported (default 5).
    """
    meta = context.asset(spectrum).meta
    return identify_elements(context.path(spectrum), beam_kev=beam_kev or meta.get("beam_kev"),
                             fwhm_mn_ka_ev=fwhm_mn_ka_ev or meta.get("fwhm_mn_ka_ev"),
                             min_significance=min_significance)
