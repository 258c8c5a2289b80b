"""Built-in agents on the generated smoke split: the reference solves it, no-tools does not."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from csmbench import RunConfig, evaluate
from csmbench.agents import make_agent_factory
from csmbench.errors import RegistryError


@pytest.fixture(scope="module")
def reference_summary(smoke_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("ref")
    return asyncio.run(evaluate(smoke_dataset, out, RunConfig(agent="reference", tools="all")))


def test_reference_solves_every_family(reference_summary: dict) -> None:
    by_family = reference_summary["by_family"]
    assert {name.split(".")[0] for name in by_family} == {"grains", "scale_bar", "xrd"}
    assert reference_summary["overall"]["n"] >= 35
    # at most one miss in the whole smoke split
    assert reference_summary["overall"]["correct"] >= reference_summary["overall"]["n"] - 1
    assert all(v["correct"] >= v["n"] - 1 for v in by_family.values()), by_family
    assert reference_summary["outcomes"]["error"] == 0


def test_reference_needs_its_tools(smoke_dataset: Path, tmp_path: Path) -> None:
    summary = asyncio.run(evaluate(smoke_dataset, tmp_path, RunConfig(agent="reference",
                                                                      tools="none")))
    assert summary["overall"]["correct"] == 0
    assert summary["outcomes"]["unparseable"] == summary["overall"]["n"]


def test_no_tools_baseline_is_far_below(smoke_dataset: Path, tmp_path: Path,
                                        reference_summary: dict) -> None:
    summary = asyncio.run(evaluate(smoke_dataset, tmp_path, RunConfig(agent="no-tools",
                                                                      tools="none")))
    assert summary["overall"]["n"] == reference_summary["overall"]["n"]
    assert summary["overall"]["accuracy"] <= 0.25
    assert summary["tool_calls"]["total"] == 0


def test_unknown_agent_names_the_available_ones() -> None:
    with pytest.raises(RegistryError, match="available: .*no-tools.*reference"):
        make_agent_factory("refrence")
