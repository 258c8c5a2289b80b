"""Hall-Petch table and ``lookup_hall_petch``: arithmetic by hand, names, errors, the registry."""

from __future__ import annotations

import math
import re

import pytest

from csmbench.errors import ToolError
from csmbench.tools import REGISTRY
from csmbench.tools._hall_petch import (
    HALL_PETCH,
    hall_petch_yield_mpa,
    lookup_hall_petch,
)


@pytest.mark.parametrize(("query", "key"), [
    ("copper", "copper"), ("Cu", "copper"), ("  PURE COPPER ", "copper"),
    ("pure copper (annealed, Cu)", "copper"), ("mild steel", "mild steel"),
    ("low-carbon steel", "mild steel"), ("Fe", "mild steel"), ("Ti", "titanium"),
    ("aluminum", "aluminium"), ("Ni", "nickel"), ("Ni3Al", "ni3al"),
], ids=lambda v: str(v).strip())
def test_names_and_symbols_find_the_entry(query: str, key: str) -> None:
    assert lookup_hall_petch(query).material == key


def test_copper_at_100_um_by_hand() -> None:
    """d = 100 µm = 1e-4 m, d^-1/2 = 100 m^-1/2: σy = 25 + 0.11 × 100 = 36 MPa."""
    cu = lookup_hall_petch("copper")
    assert (cu.sigma0_MPa, cu.k_MPa_sqrt_m) == (25.0, 0.11)
    sigma_y = cu.sigma0_MPa + cu.k_MPa_sqrt_m * 100.0
    assert sigma_y == pytest.approx(36.0)
    assert hall_petch_yield_mpa(cu.sigma0_MPa, cu.k_MPa_sqrt_m, 100.0) == pytest.approx(36.0)


def test_mild_steel_at_25_um_by_hand() -> None:
    """d = 25 µm: d^-1/2 = 1 / 5e-3 = 200 m^-1/2, σy = 70 + 0.74 × 200 = 218 MPa."""
    steel = lookup_hall_petch("mild steel")
    assert hall_petch_yield_mpa(steel.sigma0_MPa, steel.k_MPa_sqrt_m, 25.0) == pytest.approx(218.0)


def test_ten_percent_grain_size_error_moves_the_hall_petch_term_by_4_6_percent() -> None:
    steel = HALL_PETCH["mild steel"]
    term = hall_petch_yield_mpa(steel.sigma0_mpa, steel.k_mpa_sqrt_m, 40.0) - steel.sigma0_mpa
    coarser = hall_petch_yield_mpa(steel.sigma0_mpa, steel.k_mpa_sqrt_m, 44.0) - steel.sigma0_mpa
    assert 1.0 - coarser / term == pytest.approx(1.0 - 1.0 / math.sqrt(1.1))
    assert 1.0 - coarser / term == pytest.approx(0.0465, abs=5e-4)


def test_every_entry_is_documented_and_physical() -> None:
    assert len(HALL_PETCH) >= 5
    for entry in HALL_PETCH.values():
        assert 5.0 <= entry.sigma0_mpa <= 500.0, entry.key
        assert 0.01 <= entry.k_mpa_sqrt_m <= 2.0, entry.key  # MPa·m^½, not MPa·µm^½
        low, high = entry.valid_grain_size_um
        assert 0 < low < high, entry.key
        assert entry.grain_size_definition in ("mean lineal intercept",
                                               "equivalent circle diameter")
        assert re.search(r"\b(19|20)\d\d\)", entry.citation), entry.key  # a dated source


def test_unknown_material_lists_the_table_and_suggests() -> None:
    with pytest.raises(ToolError) as error:
        lookup_hall_petch("coper")
    message = str(error.value)
    assert "'coper'" in message and "Did you mean 'copper'?" in message
    assert all(key in message for key in HALL_PETCH)
    with pytest.raises(ToolError, match="available"):
        lookup_hall_petch("unobtainium")


def test_grain_size_must_be_positive() -> None:
    with pytest.raises(ToolError, match="positive"):
        hall_petch_yield_mpa(25.0, 0.11, 0.0)


def test_registry_tool_schema_and_call() -> None:
    spec = REGISTRY.get("lookup_hall_petch")
    parameters = spec.openai_schema()["function"]["parameters"]
    assert parameters["required"] == ["material"]
    content = spec.run({"material": "Ti"}, context=None)
    assert content["material"] == "titanium"
    assert content["sigma0_MPa"] == 80.0 and content["k_MPa_sqrt_m"] == 0.40
    assert content["grain_size_definition"] == "mean lineal intercept"
    with pytest.raises(ToolError, match="invalid arguments"):
        spec.run({"name": "Ti"}, context=None)
