"""Energy-dispersive X-ray spectra (SEM-EDS) of known compositions, with exact ground truth.

The model (every choice is a field of :class:`EdsSpec`):

* Characteristic lines: energies and branching ratios from xraydb; the counts per line are
  ``x_i · yield_per_atom`` (``csmbench.tools._eds_lines``: ionisation cross-section ln U /
  (U E_c²), fluorescence yield, window efficiency), with ``x_i`` the atomic fraction. This
  is ZAF-free: no atomic-number or absorption correction, so light-element and L/M peaks
  are stronger than on a real instrument, but every line of a family keeps its xraydb
  relative intensity.
* Continuum: Kramers' law ``N(E) ∝ Z̄ (E0 − E) / E`` (Z̄ the mass-weighted mean atomic
  number) times the window efficiency, which makes the low-energy absorption cut-off.
* Detector: Gaussian lines whose FWHM follows the Fano law ``sqrt(noise² + 2.355² F ε E)``
  (F = 0.115, ε = 3.76 eV), set by the resolution at Mn Kα (122-135 eV, an SDD).
* Counts: the continuum holds ``background_fraction`` of the expected total; the spectrum
  is a Poisson draw of ``total_counts`` expected counts. Escape and sum peaks are not
  simulated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xraydb

from csmbench.tools._eds_lines import (
    FWHM_PER_SIGMA,
    emission_lines,
    fwhm_ev,
    noise_fwhm_ev,
    window_efficiency,
)

__all__ = ["EdsSpec", "SimulatedSpectrum", "plot_spectrum", "simulate_spectrum",
           "spectrum_meta", "write_msa"]

CHANNEL_EV = 10.0
"""Channel width, eV (a common SEM-EDS setting)."""
CHANNELS = 2048
"""Number of channels: 0-20.47 keV at 10 eV per channel."""


@dataclass(frozen=True)
class EdsSpec:
    """The choices that make one spectrum.

    Attributes:
        composition: (element, atomic fraction) pairs; fractions sum to 1.
        beam_kev: Accelerating voltage, kV.
        fwhm_mn_ka_ev: Detector resolution at Mn Kα, eV.
        total_counts: Expected counts in the whole spectrum.
        background_fraction: Share of the continuum in the expected counts (0-1).
        channel_ev: Channel width, eV.
        channels: Number of channels (the first is centred on 0 eV).
    """

    composition: tuple[tuple[str, float], ...]
    beam_kev: float
    fwhm_mn_ka_ev: float
    total_counts: float
    background_fraction: float
    channel_ev: float = CHANNEL_EV
    channels: int = CHANNELS


@dataclass(frozen=True)
class SimulatedSpectrum:
    """A simulated spectrum and its truth.

    Attributes:
        energy_kev: Channel centres, keV, shape (N,).
        counts: Poisson counts, shape (N,).
        spec: The choices that made it.
        lines: One dict per line: ``element``, ``family``, ``name``, ``energy_kev``,
            ``counts`` (expected net counts), ``fwhm_ev``.
        expected: Noise-free expected counts, shape (N,).
        background: Expected continuum counts, shape (N,).
    """

    energy_kev: np.ndarray
    counts: np.ndarray
    spec: EdsSpec
    lines: list[dict]
    expected: np.ndarray = field(repr=False)
    background: np.ndarray = field(repr=False)


def mean_atomic_number(composition: tuple[tuple[str, float], ...]) -> float:
    """Mass-fraction-weighted mean Z of a composition given in atomic fractions."""
    masses = np.array([x * xraydb.atomic_mass(el) for el, x in composition])
    numbers = np.array([xraydb.atomic_number(el) for el, _ in composition])
    return float((masses / masses.sum()) @ numbers)


def kramers_continuum(energy_kev: np.ndarray, beam_kev: float, z_mean: float) -> np.ndarray:
    """Kramers continuum Z̄ (E0 − E) / E times the window efficiency (arbitrary units)."""
    e = np.maximum(energy_kev, 1e-3)
    shape = z_mean * np.clip(beam_kev - e, 0.0, None) / e
    return shape * window_efficiency(e) * (energy_kev > 0)


def _gaussians(energy_kev: np.ndarray, centres_kev: np.ndarray, fwhm_kev: np.ndarray,
               areas: np.ndarray, channel_kev: float) -> np.ndarray:
    """Sum of Gaussian lines of integrated ``areas`` (counts) on the channel centres."""
    sigma = fwhm_kev[:, None] / FWHM_PER_SIGMA
    z = (energy_kev[None, :] - centres_kev[:, None]) / sigma
    density = np.exp(-0.5 * z * z) / (sigma * math.sqrt(2.0 * math.pi))
    return (areas[:, None] * density * channel_kev).sum(axis=0)


def simulate_spectrum(spec: EdsSpec, rng: np.random.Generator) -> SimulatedSpectrum:
    """Simulate an EDS spectrum of ``spec`` with Poisson counts drawn from ``rng``."""
    channel_kev = spec.channel_ev / 1000.0
    energy = channel_kev * np.arange(spec.channels)
    top = float(energy[-1])
    noise = noise_fwhm_ev(spec.fwhm_mn_ka_ev)
    lines = [(line, fraction) for element, fraction in spec.composition
             for line in emission_lines(element, spec.beam_kev, top)]
    centres = np.array([line.energy_kev for line, _ in lines])
    raw = np.array([line.yield_per_atom * fraction for line, fraction in lines])
    widths = fwhm_ev(centres, noise) / 1000.0
    continuum = kramers_continuum(energy, spec.beam_kev, mean_atomic_number(spec.composition))
    char_total = spec.total_counts * (1.0 - spec.background_fraction)
    areas = raw * char_total / raw.sum()
    peaks = _gaussians(energy, centres, widths, areas, channel_kev)
    background = continuum * spec.total_counts * spec.background_fraction / continuum.sum()
    expected = peaks + background
    counts = rng.poisson(expected).astype(float)
    records = [{"element": line.element, "family": line.family, "name": line.name,
                "energy_kev": line.energy_kev, "counts": float(a), "fwhm_ev": float(w * 1000)}
               for (line, _), a, w in zip(lines, areas, widths, strict=True)]
    return SimulatedSpectrum(energy, counts, spec, records, expected, background)


def spectrum_meta(spectrum: SimulatedSpectrum) -> dict:
    """Asset metadata: beam energy, channel width, resolution and columns."""
    spec = spectrum.spec
    return {"beam_kev": spec.beam_kev, "channel_width_ev": spec.channel_ev,
            "channels": spec.channels, "offset_kev": 0.0,
            "fwhm_mn_ka_ev": spec.fwhm_mn_ka_ev, "detector": "silicon drift detector",
            "columns": ["energy_keV", "counts"]}


def write_msa(spectrum: SimulatedSpectrum, path: str | Path) -> None:
    """Write the spectrum as an EMSA/MAS-like text file: ``#KEY : value`` header lines, then
    "energy_keV, counts" rows. The header names the instrument settings, never the sample."""
    spec = spectrum.spec
    header = ["#FORMAT      : EMSA/MAS Spectral Data File", "#VERSION     : 1.0",
              "#TITLE       : SEM-EDS spectrum", f"#NPOINTS     : {spec.channels}",
              "#NCOLUMNS    : 1", "#XUNITS      : keV", "#YUNITS      : counts",
              "#DATATYPE    : XY", f"#XPERCHAN    : {spec.channel_ev / 1000.0:.4f}",
              "#OFFSET      : 0.0000", f"#BEAMKV   -kV: {spec.beam_kev:.1f}",
              f"##FWHM_MNKA_EV: {spec.fwhm_mn_ka_ev:.1f}", "#SPECTRUM    : energy_keV, counts"]
    rows = [f"{e:.4f}, {int(c)}" for e, c in zip(spectrum.energy_kev, spectrum.counts, strict=True)]
    Path(path).write_text("\n".join([*header, *rows, "#ENDOFDATA   : "]) + "\n", encoding="ascii",
                          newline="\n")


PLOT_SIZE_IN = (8.0, 4.5)
PLOT_DPI = 100
PLOT_MAX_KEV = 20.0


def plot_spectrum(spectrum: SimulatedSpectrum, path: str | Path) -> None:
    """Save the spectrum as a PNG (800 × 450 px, deterministic bytes), counts on a linear axis."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=PLOT_SIZE_IN, dpi=PLOT_DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    top = min(spectrum.spec.beam_kev, PLOT_MAX_KEV)
    keep = spectrum.energy_kev <= top
    axes.plot(spectrum.energy_kev[keep], spectrum.counts[keep], color="black", linewidth=0.7)
    axes.set_xlim(0.0, top)
    axes.set_ylim(0.0, None)
    axes.set_xlabel("Energy (keV)")
    axes.set_ylabel("Counts")
    axes.set_title(f"SEM-EDS spectrum, {spectrum.spec.beam_kev:.0f} kV, "
                   f"{spectrum.spec.channel_ev:.0f} eV/channel")
    figure.subplots_adjust(left=0.1, right=0.98, bottom=0.12, top=0.92)
    figure.savefig(path, format="png", dpi=PLOT_DPI, metadata={"Software": None})
