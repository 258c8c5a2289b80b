"""The diffraction tools as an agent calls them: by attachment id, through the registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from csmbench.episodes import Asset, ToolCall
from csmbench.tools import REGISTRY, ToolContext

LITERATURE_LIF_A = 4.0263  # Å, rock salt LiF (MANIFEST.md, lit.)


@pytest.fixture()
def lif(realdata: Path) -> ToolContext:
    """An episode whose attachment xrd0 is the measured LiF pattern (Cu Kα, not stripped)."""
    root = realdata / "xrd_autoanalyzer"
    asset = Asset(id="xrd0", kind="pattern", path="LiF.xy", sha256="0" * 64,
                  meta={"radiation": "CuKa12"})
    return ToolContext(root, {"xrd0": asset})


def call(context: ToolContext, name: str, **arguments: object) -> dict:
    result = REGISTRY.call(ToolCall(name=name, arguments=arguments), context)
    assert result.ok, result.error
    return result.content


def test_peaks_lattice_and_phase_by_attachment(lif: ToolContext) -> None:
    peaks = call(lif, "find_peaks", pattern="xrd0")["peaks"]
    two_theta = [p["two_theta"] for p in peaks]
    assert min(abs(t - 38.72) for t in two_theta) < 0.05  # LiF 111 (MANIFEST: 38.72°)
    fit = call(lif, "fit_lattice", peaks_two_theta=two_theta, crystal_system="cubic")
    assert fit["a"] == pytest.approx(LITERATURE_LIF_A, rel=1e-3)
    found = call(lif, "identify_phase", peaks_two_theta=two_theta,
                 peaks_intensity=[p["height"] for p in peaks])
    assert found["matches"][0]["formula"] == "LiF"


def test_scherrer_tool_matches_the_equation(lif: ToolContext) -> None:
    import math

    size = call(lif, "scherrer_size", two_theta_deg=28.44, fwhm_deg=0.2,
                instrument_fwhm_deg=0.05)["size_nm"]
    beta = math.radians(math.sqrt(0.2**2 - 0.05**2))
    expected_nm = 0.9 * 1.5405929 / (beta * math.cos(math.radians(14.22))) / 10
    assert size == pytest.approx(expected_nm, rel=1e-9)


@pytest.mark.parametrize(
    ("name", "arguments", "message"),
    [("find_peaks", {"pattern": "xrd9"}, "unknown attachment id 'xrd9'"),
     ("find_peaks", {"pattern": "xrd0", "radiation": "CuKb"}, "radiation"),
     ("williamson_hall", {"two_theta_deg": [30.0, 40.0], "fwhm_deg": [0.2]},
      "one FWHM per peak"),
     ("fit_lattice", {"peaks_two_theta": [30.0], "crystal_system": "cubicc"}, "crystal_system")],
    ids=["unknown-id", "unknown-radiation", "length-mismatch", "bad-system"],
)
def test_mistakes_are_error_results(lif: ToolContext, name: str, arguments: dict,
                                    message: str) -> None:
    result = REGISTRY.call(ToolCall(name=name, arguments=arguments), lif)
    assert not result.ok and not result.internal_error and message in (result.error or "")
