"""Built-in agents on the generated smoke split: the reference solves it, no-tools does not."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from csmbench import RunConfig, evaluate, read_records
from csmbench.agents import make_agent_factory
from csmbench.episodes import load_dataset
from csmbench.errors import RegistryError
from csmbench.graders import milestones_reached, successful_calls
from csmbench.tools import REGISTRY


@pytest.fixture(scope="module")
def reference_run(smoke_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ref")
    asyncio.run(evaluate(smoke_dataset, out, RunConfig(agent="reference", tools="all")))
    return out


@pytest.fixture(scope="module")
def reference_summary(reference_run: Path) -> dict:
    return json.loads((reference_run / "summary.json").read_text(encoding="utf-8"))


def test_reference_solves_every_family(reference_summary: dict) -> None:
    by_family = reference_summary["by_family"]
    assert {name.split(".")[0] for name in by_family} == {"cross", "eds", "grains", "hrtem",
                                                         "scale_bar", "xrd"}
    assert reference_summary["overall"]["n"] >= 40
    # at most one miss in the whole smoke split
    assert reference_summary["overall"]["correct"] >= reference_summary["overall"]["n"] - 1
    assert all(v["correct"] >= v["n"] - 1 for v in by_family.values()), by_family
    assert reference_summary["outcomes"]["error"] == 0


def test_reference_trajectories_reach_every_milestone(smoke_dataset: Path,
                                                     reference_run: Path) -> None:
    """Each item's milestones name tools of the registry, and the reference solution (which
    never sees them) reaches all of them in their order."""
    items = {item.id: item for item in load_dataset(smoke_dataset).items}
    for record in read_records(reference_run):
        item = items[record.item_id]
        assert item.milestones, item.id
        assert {m.tool for m in item.milestones} <= set(REGISTRY.names), item.id
        if not record.score.answer.correct:
            continue
        reached = milestones_reached(item.milestones, successful_calls(record.trajectory))
        assert None not in reached, (item.id, item.milestones, reached)


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
