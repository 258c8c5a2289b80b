"""Runs: evaluate an agent on a dataset, one JSON line per finished episode, resumable.

Episodes run concurrently under asyncio (tools in worker threads), or as Ray tasks. Each
finished episode is appended to ``RUN/episodes.jsonl`` and flushed at once, so a killed run
loses nothing that finished; ``resume`` runs only what has no record, ``retry_errors`` only
what ended in an infrastructure error. ``RUN/summary.json`` is rewritten at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from csmbench.agents import AgentFactory, make_agent_factory
from csmbench.endpoints import redact
from csmbench.env import CSMBenchEnv, EpisodeRecord, ToolSetting, resolve_tools
from csmbench.episodes import Dataset, Item, load_dataset, write_text_atomic
from csmbench.errors import CSMBenchError
from csmbench.graders import Judge, JudgeOptions, LLMJudge, summarize

__all__ = ["CONFIG", "EPISODES", "SUMMARY", "RunConfig", "evaluate", "read_records"]

EPISODES = "episodes.jsonl"
SUMMARY = "summary.json"
CONFIG = "run.json"
OUTPUTS = "outputs"
FSYNC_INTERVAL_S = 0.5
"""Records are flushed to the OS at once (a killed process loses nothing) and fsynced to
disk at most this often and at the end (a power cut may lose the last half second)."""
JUDGE_CACHE = "judge-cache"
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
    """Wall time of one episode (agent and tools); past it the episode ends as time_limit."""
    max_tokens_per_episode: int | None = None
    """Model tokens (prompt + completion) one episode may use; past it: token_limit."""
    backend: Literal["local", "ray"] = "local"
    ray_address: str | None = None
    """Ray cluster address for backend "ray"; None starts a local Ray instance."""
    agent_options: dict[str, Any] = field(default_factory=dict)
    """Options for the agent's builder (``openai``: base_url, temperature, seed, max_tokens,
    price, cache_dir, ...); never an API key, which comes from the environment."""
    judge: str | None = None
    """Judge model for free-text answers (CSMBench OpenQA), e.g. "gpt-4o"; None: unscored."""
    judge_options: dict[str, Any] = field(default_factory=dict)
    """``csmbench.graders.JudgeOptions`` besides the model: base_url (default the agent's,
    else $OPENAI_BASE_URL), seed, pass_score, structured, cache_dir (default RUN/judge-cache)."""

    def identity(self, dataset: Dataset) -> dict[str, Any]:
        """What must match to resume a run: options that change answers, not bookkeeping."""
        options = {k: v for k, v in sorted(self.agent_options.items())
                   if k not in BOOKKEEPING_OPTIONS}
        return {"agent": self.agent, "tools": self.tools, "max_steps": self.max_steps,
                "dataset": str(dataset.root), "dataset_name": dataset.manifest.get("name"),
                "dataset_seed": dataset.manifest.get("seed"),
                **({"agent_options": options} if options else {}),
                **({"judge": judge.identity()} if (judge := make_judge(self)) else {}),
                **({"max_tokens_per_episode": self.max_tokens_per_episode}
                   if self.max_tokens_per_episode is not None else {})}


def read_records(run_dir: Path) -> list[EpisodeRecord]:
    """The records of a run, the last one per (item, epoch); a torn last line is ignored.

    Lines are split at b"\\n" only: ``str.splitlines`` would also split a record at a
    U+2028, U+2029 or U+0085 inside a JSON string (JSON leaves them unescaped, and a model's
    answer may hold one), losing it; and bytes, not text, so a line torn inside a UTF-8
    character is skipped like any torn line instead of failing the whole read.
    """
    path = Path(run_dir) / EPISODES
    latest: dict[tuple[str, int], EpisodeRecord] = {}
    if not path.exists():
        return []
    for line in path.read_bytes().split(b"\n"):
        if not line.strip():
            continue
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
        write_text_atomic(path, json.dumps(identity, indent=2) + "\n")


async def _episode(item: Item, epoch: int, dataset: Dataset, factory: AgentFactory,
                   config: RunConfig, output_dir: Path,
                   judge: Judge | None = None) -> EpisodeRecord:
    """Run one episode within the run's time and token limits; never raises."""
    start = time.perf_counter()
    env = CSMBenchEnv(dataset, tools=_tool_setting(config.tools), max_steps=config.max_steps,
                      output_dir=output_dir / f"e{epoch}",
                      judge=judge if judge is not None else make_judge(config, output_dir.parent))
    agent = factory()
    env.reset(options={"item_id": item.id})
    try:
        async with asyncio.timeout(config.episode_timeout_s):
            record = await _drive(env, agent, config)
    except TimeoutError:
        record = env.stop("time_limit", f"no answer within {config.episode_timeout_s:g} s")
    except Exception as exc:  # noqa: BLE001 - one episode never ends a run
        # The agents and the judge remove the key from their errors; this catches any other
        # path (a library's exception repeating a server's reply) before it reaches disk.
        record = env.stop("error", redact(f"{type(exc).__name__}: {exc}",
                                          os.environ.get("OPENAI_API_KEY")))
    return record.model_copy(update={"epoch": epoch, "agent": config.agent,
                                     "seconds": time.perf_counter() - start,
                                     "usage": getattr(agent, "usage", None)})


async def _drive(env: CSMBenchEnv, agent: Any, config: RunConfig) -> EpisodeRecord:
    """Alternate agent actions and env steps until the episode ends or a limit is hit."""
    observation = env.observation
    while True:
        action = await agent.act(observation)
        usage = getattr(agent, "usage", None)
        limit = config.max_tokens_per_episode
        if limit is not None and usage is not None and usage.total_tokens > limit:
            return env.stop("token_limit", f"{usage.total_tokens} tokens used, limit {limit}")
        _, _, terminated, truncated, info = await asyncio.to_thread(env.step, action)
        if terminated or truncated:
            return info["record"]
        observation = info["observation"]


def make_judge(config: RunConfig, run_dir: Path | None = None) -> LLMJudge | None:
    """The run's judge of free-text answers (None without ``config.judge``); its base URL
    defaults to the agent's, its cache to ``run_dir/judge-cache``."""
    if not config.judge:
        return None
    options = {"base_url": config.agent_options.get("base_url"),
               "cache_dir": str(run_dir / JUDGE_CACHE) if run_dir else None,
               **config.judge_options, "model": config.judge}
    try:
        judge_options = JudgeOptions(**{k: v for k, v in options.items() if v is not None})
    except ValidationError as exc:  # named without their values: one may be a key
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise CSMBenchError(f"bad judge option: {problems}. The judge's options are "
                            f"{', '.join(JudgeOptions.model_fields)}; its API key comes from "
                            "OPENAI_API_KEY only") from None
    return LLMJudge(judge_options)


def _tool_setting(tools: str) -> ToolSetting:
    return tools if tools in ("all", "none") else [t for t in tools.split(",") if t]


async def evaluate(data: str | Path | Dataset, out: str | Path, config: RunConfig, *,
                   item_ids: list[str] | None = None, resume: bool = False,
                   retry_errors: bool = False,
                   progress: Progress | None = None) -> dict[str, Any]:
    """Evaluate ``config.agent`` on the dataset into the run folder ``out``; returns the summary.

    Args:
        data: Dataset folder or loaded dataset.
        out: Run folder (``episodes.jsonl``, ``summary.json``, ``run.json``, ``outputs/``).
        config: What to run; a resumed run must have the same identity.
        item_ids: Only these items.
        resume: Continue a run in ``out``: run only the (item, epoch) pairs with no record.
        retry_errors: Rerun only the pairs whose record is an infrastructure error.
        progress: Called with (record, done, total) after each episode.

    Raises:
        CSMBenchError: ``out`` holds records and neither ``resume`` nor ``retry_errors`` is
            set, or it holds a run of another config.
    """
    dataset = data if isinstance(data, Dataset) else load_dataset(Path(data))
    factory = make_agent_factory(config.agent, **config.agent_options)
    resolve_tools(_tool_setting(config.tools))  # fail early on an unknown tool name
    run_dir = Path(out)
    run_dir.mkdir(parents=True, exist_ok=True)
    _check_config(run_dir, config.identity(dataset))
    judge = make_judge(config, run_dir)
    _drop_torn_tail(run_dir / EPISODES)
    items = [dataset.item(i) for i in item_ids] if item_ids else list(dataset.items)
    todo = _todo(items, config.epochs, read_records(run_dir), run_dir, resume, retry_errors)
    semaphore = asyncio.Semaphore(config.concurrency)
    lock = asyncio.Lock()
    total, done = len(todo), 0

    async def one(item: Item, epoch: int) -> EpisodeRecord:
        if config.backend == "ray":
            from csmbench._ray import ray_episode

            return EpisodeRecord.model_validate_json(await ray_episode(
                dataset.root, item.id, epoch, config, run_dir / OUTPUTS))
        return await _episode(item, epoch, dataset, factory, config, run_dir / OUTPUTS, judge)

    synced = [time.monotonic()]
    with open(run_dir / EPISODES, "a", encoding="utf-8") as sink:  # noqa: ASYNC230 - local append
        async def run_one(item: Item, epoch: int) -> None:
            nonlocal done
            async with semaphore:
                record = await one(item, epoch)
            async with lock:
                sink.write(record.model_dump_json() + "\n")
                sink.flush()  # in the OS from now on: a killed process loses nothing
                if time.monotonic() - synced[0] > FSYNC_INTERVAL_S:
                    os.fsync(sink.fileno())
                    synced[0] = time.monotonic()
                done += 1
                if progress:
                    progress(record, done, total)

        await asyncio.gather(*(run_one(item, epoch) for item, epoch in todo))
        os.fsync(sink.fileno())
    summary = summarize(read_records(run_dir))
    summary["config"] = config.identity(dataset)
    write_text_atomic(run_dir / SUMMARY, json.dumps(summary, indent=2) + "\n")
    return summary


def _todo(items: list[Item], epochs: int, records: list[EpisodeRecord], run_dir: Path,
          resume: bool, retry_errors: bool) -> list[tuple[Item, int]]:
    """The (item, epoch) pairs to run: all for a new run, the unrecorded ones on resume, the
    errored ones on retry."""
    status = {(r.item_id, r.epoch): r.status for r in records}
    if status and not (resume or retry_errors):
        raise CSMBenchError(f"{run_dir} already holds {len(status)} recorded episodes; pass "
                            "--resume to continue that run, --retry-errors to rerun its failed "
                            "episodes, or choose a new --out folder")
    pairs = [(item, epoch) for epoch in range(epochs) for item in items]
    if retry_errors:
        return [(i, e) for i, e in pairs if status.get((i.id, e)) == "error"]
    return [(i, e) for i, e in pairs if (i.id, e) not in status]
