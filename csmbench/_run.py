"""Runs: evaluate an agent on a dataset, one JSON line per finished episode, resumable.

Episodes run concurrently under asyncio (tools in worker threads). Each finished episode is
appended to ``RUN/episodes.jsonl`` and fsynced at once, so a killed run loses nothing that
finished; running the same command again skips what is recorded and retries episodes that
ended in an infrastructure error. ``RUN/summary.json`` is rewritten at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from csmbench.agents import AgentFactory, make_agent_factory
from csmbench.env import CSMBenchEnv, EpisodeRecord, ToolSetting, resolve_tools
from csmbench.episodes import Dataset, Item, load_dataset
from csmbench.errors import CSMBenchError
from csmbench.graders import summarize

__all__ = ["CONFIG", "EPISODES", "SUMMARY", "RunConfig", "evaluate", "read_records"]

EPISODES = "episodes.jsonl"
SUMMARY = "summary.json"
CONFIG = "run.json"
OUTPUTS = "outputs"
Progress = Callable[[EpisodeRecord, int, int], None]
BOOKKEEPING_OPTIONS = frozenset({"cache_dir", "price", "max_retries", "timeout_s"})
"""Agent options that do not change answers; a run may be resumed with other values."""


@dataclass(frozen=True)
class RunConfig:
    """What a run evaluates; a resumed run must have the same config."""

    agent: str
    tools: str
    max_steps: int = 16
    epochs: int = 1
    concurrency: int = 16
    episode_timeout_s: float = 600.0
    agent_options: dict[str, Any] = field(default_factory=dict)
    """Options for the agent's builder (``openai``: base_url, temperature, seed, max_tokens,
    price, cache_dir, ...); never an API key, which comes from the environment."""

    def identity(self, dataset: Dataset) -> dict[str, Any]:
        """What must match to resume a run: options that change answers, not bookkeeping."""
        options = {k: v for k, v in sorted(self.agent_options.items())
                   if k not in BOOKKEEPING_OPTIONS}
        return {"agent": self.agent, "tools": self.tools, "max_steps": self.max_steps,
                "dataset": str(dataset.root), "dataset_name": dataset.manifest.get("name"),
                "dataset_seed": dataset.manifest.get("seed"),
                **({"agent_options": options} if options else {})}


def read_records(run_dir: Path) -> list[EpisodeRecord]:
    """The records of a run, the last one per (item, epoch); a torn last line is ignored."""
    path = Path(run_dir) / EPISODES
    latest: dict[tuple[str, int], EpisodeRecord] = {}
    if not path.exists():
        return []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = EpisodeRecord.model_validate_json(line)
        except ValidationError:
            continue  # a line cut short by a kill; its episode runs again
        latest[(record.item_id, record.epoch)] = record
    return list(latest.values())


def _drop_torn_tail(path: Path) -> None:
    """Cut a last line that a killed run left without its newline, so appends stay whole."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with open(path, "r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)


def _check_config(run_dir: Path, identity: dict[str, Any]) -> None:
    path = run_dir / CONFIG
    if path.exists():
        previous = json.loads(path.read_text(encoding="utf-8"))
        if previous != identity:
            changed = sorted(k for k in identity if previous.get(k) != identity[k])
            raise CSMBenchError(f"{run_dir} holds a run with a different {', '.join(changed)}; "
                                "use another --out folder to start a new run")
    else:
        path.write_text(json.dumps(identity, indent=2) + "\n", encoding="utf-8")


async def _episode(item: Item, epoch: int, dataset: Dataset, factory: AgentFactory,
                   config: RunConfig, output_dir: Path) -> EpisodeRecord:
    start = time.perf_counter()
    env = CSMBenchEnv(dataset, tools=_tool_setting(config.tools), max_steps=config.max_steps,
                      output_dir=output_dir / f"e{epoch}")
    agent = factory()
    try:
        _, info = env.reset(options={"item_id": item.id})
        done = False
        while not done:
            action = await asyncio.wait_for(agent.act(info["observation"]),
                                            config.episode_timeout_s)
            _, _, terminated, truncated, info = await asyncio.to_thread(env.step, action)
            done = terminated or truncated
        record = env.record
    except Exception as exc:  # noqa: BLE001 - one episode never ends a run (timeouts included)
        record = _error_record(env, item, f"{type(exc).__name__}: {exc}")
    assert record is not None
    return record.model_copy(update={"epoch": epoch, "agent": config.agent,
                                     "seconds": time.perf_counter() - start,
                                     "usage": getattr(agent, "usage", None)})


def _error_record(env: CSMBenchEnv, item: Item, error: str) -> EpisodeRecord:
    return EpisodeRecord(item_id=item.id, scale=item.scale, family=item.family,
                         answer_type=item.answer.type, tools_offered=env.tools.names,
                         status="error", steps=len(getattr(env, "_steps", [])),
                         trajectory=list(getattr(env, "_steps", [])), error=error)


def _tool_setting(tools: str) -> ToolSetting:
    return tools if tools in ("all", "none") else [t for t in tools.split(",") if t]


async def evaluate(data: str | Path | Dataset, out: str | Path, config: RunConfig, *,
                   item_ids: list[str] | None = None,
                   progress: Progress | None = None) -> dict[str, Any]:
    """Evaluate ``config.agent`` on the dataset into the run folder ``out``; returns the summary."""
    dataset = data if isinstance(data, Dataset) else load_dataset(Path(data))
    factory = make_agent_factory(config.agent, **config.agent_options)
    resolve_tools(_tool_setting(config.tools))  # fail early on an unknown tool name
    run_dir = Path(out)
    run_dir.mkdir(parents=True, exist_ok=True)
    _check_config(run_dir, config.identity(dataset))
    _drop_torn_tail(run_dir / EPISODES)
    finished = {(r.item_id, r.epoch) for r in read_records(run_dir) if r.status != "error"}
    items = [dataset.item(i) for i in item_ids] if item_ids else list(dataset.items)
    todo = [(item, epoch) for epoch in range(config.epochs) for item in items
            if (item.id, epoch) not in finished]
    semaphore = asyncio.Semaphore(config.concurrency)
    lock = asyncio.Lock()
    total, done = len(todo), 0

    with open(run_dir / EPISODES, "a", encoding="utf-8") as sink:  # noqa: ASYNC230 - local append
        async def run_one(item: Item, epoch: int) -> None:
            nonlocal done
            async with semaphore:
                record = await _episode(item, epoch, dataset, factory, config,
                                          run_dir / OUTPUTS)
            async with lock:
                sink.write(record.model_dump_json() + "\n")
                sink.flush()
                os.fsync(sink.fileno())
                done += 1
                if progress:
                    progress(record, done, total)

        await asyncio.gather(*(run_one(item, epoch) for item, epoch in todo))
    summary = summarize(read_records(run_dir))
    summary["config"] = config.identity(dataset)
    (run_dir / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary
