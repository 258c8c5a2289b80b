"""Runs: records per episode, resume without loss or duplicates, errors contained, summaries."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from csmbench import RunConfig, evaluate, read_records
from csmbench.agents import register_agent
from csmbench.episodes import FinalAnswer, load_dataset
from csmbench.errors import CSMBenchError


class CrashOnChoice:
    """Answers numeric items correctly-ish by text and raises on multiple-choice ones."""

    name = "crash-on-choice"

    async def act(self, observation):
        if observation.family == "test.choice":
            raise RuntimeError("agent bug")
        return FinalAnswer(text="12.5 µm")


register_agent("crash-on-choice")(lambda argument: CrashOnChoice)


def _run(data: Path, out: Path, agent: str = "crash-on-choice", **kwargs) -> dict:
    return asyncio.run(evaluate(data, out, RunConfig(agent=agent, tools="none"), **kwargs))


def test_errors_are_recorded_and_the_run_goes_on(tiny_dataset: Path, tmp_path: Path) -> None:
    summary = _run(tiny_dataset, tmp_path / "run")
    records = {r.item_id: r for r in read_records(tmp_path / "run")}
    assert records["num-1"].status == "answered" and records["num-1"].correct
    assert records["mcq-1"].status == "error" and "agent bug" in (records["mcq-1"].error or "")
    assert summary["overall"] == {"accuracy": 0.5, "n": 2, "correct": 1, "mean_score": 0.5}
    assert summary["outcomes"]["error"] == 1
    saved = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert saved["by_scale"]["Mesoscale"]["accuracy"] == 1.0


def test_resume_skips_finished_and_retries_errors(tiny_dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    _run(tiny_dataset, out)
    _run(tiny_dataset, out)
    lines = (out / "episodes.jsonl").read_text().splitlines()
    ids = [json.loads(line)["item_id"] for line in lines]
    assert ids.count("num-1") == 1  # finished: never re-run
    assert ids.count("mcq-1") == 2  # infrastructure error: retried
    assert len(read_records(out)) == 2  # one record per episode after dedupe


def test_torn_last_line_is_rerun(tiny_dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    _run(tiny_dataset, out, item_ids=["num-1"])
    path = out / "episodes.jsonl"
    path.write_text(path.read_text()[:-40])  # as if killed in the middle of a write
    assert read_records(out) == []
    _run(tiny_dataset, out, item_ids=["num-1"])
    assert [r.item_id for r in read_records(out)] == ["num-1"]


def test_resume_with_other_config_is_refused(tiny_dataset: Path, tmp_path: Path) -> None:
    _run(tiny_dataset, tmp_path / "run", item_ids=["num-1"])
    with pytest.raises(CSMBenchError, match="different agent"):
        _run(tiny_dataset, tmp_path / "run", agent="no-tools")


def test_epochs_repeat_items(tiny_dataset: Path, tmp_path: Path) -> None:
    config = RunConfig(agent="no-tools", tools="none", epochs=3)
    asyncio.run(evaluate(load_dataset(tiny_dataset), tmp_path / "run", config))
    assert sorted((r.item_id, r.epoch) for r in read_records(tmp_path / "run")) == [
        ("mcq-1", 0), ("mcq-1", 1), ("mcq-1", 2), ("num-1", 0), ("num-1", 1), ("num-1", 2)]
