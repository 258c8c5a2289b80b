"""Runs: records per episode, resume without loss or duplicates, errors contained, summaries."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from csmbench import RunConfig, evaluate, read_records
from csmbench.agents import register_agent
from csmbench.env import Usage
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
    assert summary["overall"].items() >= {"accuracy": 0.5, "n": 2, "correct": 1,
                                          "mean_score": 0.5}.items()
    assert summary["overall"]["ci95"] == [0.0, 1.0]
    assert summary["outcomes"]["error"] == 1
    saved = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert saved["by_scale"]["Mesoscale"]["accuracy"] == 1.0


def test_resume_skips_finished_and_retry_errors_reruns_only_errors(tiny_dataset: Path,
                                                                    tmp_path: Path) -> None:
    out = tmp_path / "run"
    _run(tiny_dataset, out)
    with pytest.raises(CSMBenchError, match="--resume"):
        _run(tiny_dataset, out)  # a folder with records is never silently reused
    _run(tiny_dataset, out, resume=True)
    ids = [json.loads(line)["item_id"] for line in (out / "episodes.jsonl").read_text().splitlines()]
    assert ids.count("num-1") == 1 and ids.count("mcq-1") == 1  # nothing to do on resume
    _run(tiny_dataset, out, retry_errors=True)
    ids = [json.loads(line)["item_id"] for line in (out / "episodes.jsonl").read_text().splitlines()]
    assert ids.count("num-1") == 1  # finished: never re-run
    assert ids.count("mcq-1") == 2  # infrastructure error: retried
    assert len(read_records(out)) == 2  # one record per episode after dedupe


def test_torn_last_line_is_rerun(tiny_dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    _run(tiny_dataset, out, item_ids=["num-1"])
    path = out / "episodes.jsonl"
    path.write_text(path.read_text()[:-40])  # as if killed in the middle of a write
    assert read_records(out) == []
    _run(tiny_dataset, out, item_ids=["num-1"], resume=True)
    assert [r.item_id for r in read_records(out)] == ["num-1"]


def test_resume_with_other_config_is_refused(tiny_dataset: Path, tmp_path: Path) -> None:
    _run(tiny_dataset, tmp_path / "run", item_ids=["num-1"])
    with pytest.raises(CSMBenchError, match="different agent"):
        _run(tiny_dataset, tmp_path / "run", agent="no-tools", resume=True)


def test_epochs_repeat_items(tiny_dataset: Path, tmp_path: Path) -> None:
    config = RunConfig(agent="no-tools", tools="none", epochs=3)
    asyncio.run(evaluate(load_dataset(tiny_dataset), tmp_path / "run", config))
    assert sorted((r.item_id, r.epoch) for r in read_records(tmp_path / "run")) == [
        ("mcq-1", 0), ("mcq-1", 1), ("mcq-1", 2), ("num-1", 0), ("num-1", 1), ("num-1", 2)]


class Slow:
    """Thinks for a long time before every action."""

    name = "slow"

    async def act(self, observation):
        await asyncio.sleep(30)
        return FinalAnswer(text="1")


class Verbose:
    """Calls a tool and reports 600 model tokens per action."""

    name = "verbose"

    def __init__(self) -> None:
        self.usage = Usage()

    async def act(self, observation):
        self.usage = self.usage.model_copy(update={
            "model_calls": self.usage.model_calls + 1,
            "prompt_tokens": self.usage.prompt_tokens + 500,
            "completion_tokens": self.usage.completion_tokens + 100})
        return {"tool": "no_such_tool", "arguments": {}}


register_agent("slow")(lambda argument: Slow)
register_agent("verbose")(lambda argument: Verbose)


def test_time_limit_ends_an_episode_as_time_limit(tiny_dataset: Path, tmp_path: Path) -> None:
    config = RunConfig(agent="slow", tools="none", episode_timeout_s=0.2)
    summary = asyncio.run(evaluate(tiny_dataset, tmp_path / "run", config))
    records = read_records(tmp_path / "run")
    assert {r.status for r in records} == {"time_limit"}
    assert all(r.seconds < 5 for r in records)
    assert summary["outcomes"]["time_limit"] == 2 and summary["outcomes"]["error"] == 0


def test_token_limit_ends_an_episode_with_its_steps(tiny_dataset: Path, tmp_path: Path) -> None:
    config = RunConfig(agent="verbose", tools="none", max_tokens_per_episode=1500)
    asyncio.run(evaluate(tiny_dataset, tmp_path / "run", config, item_ids=["num-1"]))
    (record,) = read_records(tmp_path / "run")
    assert record.status == "token_limit" and "1800 tokens" in (record.error or "")
    assert record.steps == 2  # two actions ran (1200 tokens), the third went over the limit
    assert record.usage is not None and record.usage.total_tokens == 1800
