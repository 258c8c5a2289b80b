"""``lookup_hall_petch``: Hall-Petch constants of common metals, σy = σ0 + k·d^(-1/2).

σ0 (friction stress) is in MPa and k (Hall-Petch slope) in MPa·m^½, so d must be in metres:
a mean intercept of 25 µm is d = 25e-6 m, d^(-1/2) = 200 m^(-1/2). Each entry names its
source and the grain-size definition d it was fitted with.

Caveat on provenance: the values are those of the cited sources as widely reproduced in
textbooks and reviews; they were entered from the literature as known to the authors of this
module, not re-read from the original papers, and should be checked against them before a
release that depends on their absolute accuracy. The benchmark itself only needs them to be
fixed and documented: the truth of every item uses the same table the tool returns.

The grain-size ranges are the conventional (micrometre) grain sizes where the relation with
these constants is normally applied: from about 1 µm (ultrafine-grained and nanocrystalline
metals deviate) to a few hundred µm (single-crystal-like coarse grains). They are nominal
bounds chosen for this benchmark, not the fitted range of each dataset.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from csmbench.errors import ToolError

from ._registry import tool

__all__ = ["HALL_PETCH", "HallPetchConstants", "HallPetchEntry", "hall_petch_entry",
           "hall_petch_yield_mpa", "lookup_hall_petch"]

MEAN_LINEAL_INTERCEPT = "mean lineal intercept"

_TEXTBOOK = ("as tabulated in W. F. Smith & J. Hashemi, Foundations of Materials Science and "
             "Engineering, 4th ed. (McGraw-Hill, 2006)")
_MILD_STEEL = (f"E. O. Hall, Proc. Phys. Soc. B 64, 747-753 (1951); N. J. Petch, J. Iron Steel "
               f"Inst. 174, 25-28 (1953); values {_TEXTBOOK}")
_ALUMINIUM = ("N. Hansen, 'The effect of grain size and strain on the tensile flow stress of "
              "aluminium at room temperature', Acta Metall. 25, 863-869 (1977); N. Hansen, "
              "'Hall-Petch relation and boundary strengthening', Scripta Mater. 51, 801-806 (2004)")
_CORDERO = ("Z. C. Cordero, B. E. Knight & C. A. Schuh, 'Six decades of the Hall-Petch effect "
            "- a survey of grain-size strengthening studies on pure metals', Int. Mater. Rev. "
            "61(8), 495-512 (2016)")


@dataclass(frozen=True)
class HallPetchEntry:
    """One material's constants.

    Attributes:
        key: Table name ("copper").
        name: Human description ("pure copper (annealed, Cu)").
        aliases: Other names and symbols it answers to.
        sigma0_mpa: Friction stress σ0, MPa.
        k_mpa_sqrt_m: Hall-Petch slope k, MPa·m^½.
        grain_size_definition: How d was measured for the fit.
        valid_grain_size_um: Nominal range of d where the constants apply, µm.
        citation: Source of σ0 and k.
    """

    key: str
    name: str
    aliases: tuple[str, ...]
    sigma0_mpa: float
    k_mpa_sqrt_m: float
    grain_size_definition: str
    valid_grain_size_um: tuple[float, float]
    citation: str


HALL_PETCH: dict[str, HallPetchEntry] = {e.key: e for e in (
    HallPetchEntry("mild steel", "low-carbon (mild) ferritic steel",
                   ("low-carbon steel", "low carbon steel", "ferritic steel", "alpha-iron",
                    "α-fe", "iron", "fe", "pure iron"),
                   70.0, 0.74, MEAN_LINEAL_INTERCEPT, (2.0, 300.0), _MILD_STEEL),
    HallPetchEntry("copper", "pure copper (annealed, Cu)", ("cu", "pure copper", "ofhc copper"),
                   25.0, 0.11, MEAN_LINEAL_INTERCEPT, (1.0, 300.0), f"Copper: {_TEXTBOOK}"),
    HallPetchEntry("titanium", "commercially pure titanium (alpha-Ti)",
                   ("ti", "cp titanium", "cp-ti", "alpha-titanium", "pure titanium"),
                   80.0, 0.40, MEAN_LINEAL_INTERCEPT, (1.0, 200.0), f"Titanium: {_TEXTBOOK}"),
    HallPetchEntry("ni3al", "nickel aluminide Ni3Al (gamma-prime)",
                   ("nickel aluminide", "gamma-prime", "γ'"),
                   300.0, 1.70, MEAN_LINEAL_INTERCEPT, (5.0, 200.0), f"Ni3Al: {_TEXTBOOK}"),
    HallPetchEntry("aluminium", "high-purity aluminium (annealed, Al)",
                   ("aluminum", "al", "pure aluminium", "pure aluminum"),
                   16.0, 0.04, MEAN_LINEAL_INTERCEPT, (1.0, 500.0), _ALUMINIUM),
    HallPetchEntry("nickel", "pure nickel (annealed, Ni)", ("ni", "pure nickel"),
                   20.0, 0.16, MEAN_LINEAL_INTERCEPT, (1.0, 300.0), _CORDERO),
)}
"""The table, by key. Every entry's d is the mean lineal intercept (ASTM E112 / E1382)."""


class HallPetchConstants(BaseModel):
    """Hall-Petch constants of one material: σy = σ0 + k·d^(-1/2), d in metres."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    material: str = Field(description="table name")
    name: str
    sigma0_MPa: float = Field(description="friction stress σ0, MPa")
    k_MPa_sqrt_m: float = Field(description="Hall-Petch slope k, MPa·m^½ (use d in metres)")
    grain_size_definition: str = Field(description="what d is (how it was measured)")
    valid_grain_size_um: tuple[float, float] = Field(
        description="nominal range of d where the constants apply, µm")
    citation: str
    formula: str = "sigma_y [MPa] = sigma0 + k / sqrt(d [m])"


def hall_petch_yield_mpa(sigma0_mpa: float, k_mpa_sqrt_m: float, d_um: float) -> float:
    """Yield strength σy = σ0 + k·d^(-1/2), MPa, for d in µm.

    >>> round(hall_petch_yield_mpa(25.0, 0.11, 100.0), 2)
    36.0
    """
    if not (math.isfinite(d_um) and d_um > 0):
        raise ToolError(f"grain size d must be a positive number of µm, got {d_um!r}")
    return sigma0_mpa + k_mpa_sqrt_m / math.sqrt(d_um * 1e-6)


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9α'γ]+", " ", text.strip().lower()).split())


def _names() -> dict[str, str]:
    """Every accepted (normalised) name -> table key."""
    names: dict[str, str] = {}
    for entry in HALL_PETCH.values():
        for name in (entry.key, entry.name, *entry.aliases):
            names.setdefault(_normalise(name), entry.key)
    return names


def hall_petch_entry(material: str) -> HallPetchEntry:
    """The table entry for a name or alias (case and punctuation ignored).

    Raises:
        ToolError: unknown material; the message lists the table and the closest name.
    """
    text = _normalise(material) if isinstance(material, str) else ""
    names = _names()
    if text in names:
        return HALL_PETCH[names[text]]
    close = difflib.get_close_matches(text, list(names), n=1, cutoff=0.6)
    hint = f" Did you mean {names[close[0]]!r}?" if close else ""
    raise ToolError(f"no Hall-Petch constants for material {material!r}; available: "
                    f"{', '.join(sorted(HALL_PETCH))}.{hint}")


@tool(name="lookup_hall_petch")
def lookup_hall_petch(material: str) -> HallPetchConstants:
    """Look up the Hall-Petch constants σ0 (MPa) and k (MPa·m^½) of a common metal.

    The yield strength is σy = σ0 + k·d^(-1/2) with d the grain size in metres (the
    definition of d the constants were fitted with is returned, with the grain-size range
    where they apply and the literature source).

    Args:
        material: Material name or symbol, e.g. "copper", "Cu", "mild steel", "titanium".
    """
    entry = hall_petch_entry(material)
    return HallPetchConstants(material=entry.key, name=entry.name, sigma0_MPa=entry.sigma0_mpa,
                              k_MPa_sqrt_m=entry.k_mpa_sqrt_m,
                              grain_size_definition=entry.grain_size_definition,
                              valid_grain_size_um=entry.valid_grain_size_um,
                              citation=entry.citation)
