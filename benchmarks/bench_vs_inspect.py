"""Harness overhead per episode: csmbench's runner against inspect_ai, same items, same script.

The items are generated episodes of two cheap families (one ``find_peaks`` call each, tens
of ms). A scripted model plays every episode the same way on
every side: the item's reference tool call, then ``submit_answer`` with the truth (the
model knows the item by its id). Three harnesses run them, one episode at a time, back to
back in this one process, in interleaved rounds:

- ``csmbench, scripted agent``: ``csmbench.evaluate`` with an agent object whose ``act``
  returns the call or the answer. No model client, no prompt: the runner, the env (tool
  call in a worker thread, attachment ids, clipping), both graders, the fsynced JSONL
  record and ``summary.json``.
- ``csmbench, openai: agent, in-process model``: the ``openai:`` agent (the prompt with
  every image as a base64 data URL, tool messages, the ``openai`` client building and
  parsing each request and reply), with the client's HTTP transport replaced by an
  in-process ``httpx.MockTransport`` that answers from the script: all of a real run except
  the socket and a server. (``benchmarks/results/runner.md`` measures the same agent
  against ``csmbench.testing.ChatServer`` over loopback HTTP.)
- ``inspect_ai, mockllm``: ``inspect_ai.eval`` of ``csmbench.inspect.csmbench_task`` with
  ``mockllm/model`` whose ``custom_outputs`` is the script: task and samples built, images
  materialized as data URIs, the solver loop, inspect's tool execution (schema
  validation, events) through the same env, both scorers, the ``.eval`` log written.

The tools' own time (``ToolRegistry.call``, the same code on every side) is measured and
subtracted: harness = wall - tools. Each harness runs the full set and a small set per
round; the difference gives the marginal cost per episode and the fixed cost per run.

Writes ``benchmarks/results/vs_inspect.md`` and prints it.

Run: ``.venv/bin/python benchmarks/bench_vs_inspect.py [--per-family 40] [--small 8] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import os
import platform
import pstats
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import inspect_ai
import openai
from inspect_ai import eval as inspect_eval
from inspect_ai.model import ChatMessageTool, ModelOutput, ModelUsage, get_model
from inspect_ai.solver._task_state import sample_state  # inspect's current sample (no public API)

from csmbench import RunConfig, evaluate, read_records
from csmbench.agents import OpenAIAgent, OpenAIAgentFactory, OpenAIOptions, register_agent
from csmbench.env import Observation
from csmbench.episodes import Dataset, FinalAnswer, Item, ToolCall, load_dataset
from csmbench.episodes.generators import build_dataset
from csmbench.inspect import csmbench_task, target_text
from csmbench.tools import REGISTRY, ToolRegistry

RESULTS = Path(__file__).resolve().parent / "results" / "vs_inspect.md"
FAMILIES = ("xrd.strongest_d", "xrd.peak_positions")
"""Families whose reference solution is one cheap tool call with fixed arguments
(``identify_elements``, the EDS families' tool, takes about 0.5 s a call)."""
SEED = 2026
MOCK_MODEL = "mockllm/model"
USAGE = ModelUsage(input_tokens=1000, output_tokens=20, total_tokens=1020)
"""Set on every mockllm output; otherwise mockllm counts tokens with tiktoken, whose
encoding is downloaded on first use."""


# -- the script: the same decisions on every side --------------------------------------------
ITEMS: dict[str, Item] = {}


def next_move(item: Item, calls_done: int) -> ToolCall | str:
    """The item's next reference call, or the answer text once they are all made."""
    if calls_done < len(item.reference):
        call = item.reference[calls_done]
        return ToolCall(id=f"call_{calls_done}", name=call.name, arguments=dict(call.arguments))
    return target_text(item)


class ScriptedAgent:
    """csmbench side without a model: returns the script's call or answer directly."""

    name = "bench-scripted"

    def __init__(self) -> None:
        self.calls = 0

    async def act(self, observation: Observation) -> ToolCall | FinalAnswer:
        move = next_move(ITEMS[observation.item_id], self.calls)
        if isinstance(move, str):
            return FinalAnswer(text=move)
        self.calls += 1
        return move


register_agent("bench-scripted")(lambda argument: ScriptedAgent)

CURRENT_ITEM: ContextVar[str] = ContextVar("CURRENT_ITEM")
"""The item of the episode whose agent is calling the model (set in the episode's task)."""


def chat_reply(request: httpx.Request) -> httpx.Response:
    """The in-process model: a Chat Completions reply from the script."""
    body = json.loads(request.content)
    done = sum(message["role"] == "tool" for message in body["messages"])
    move = next_move(ITEMS[CURRENT_ITEM.get()], done)
    name, arguments = ((move.name, move.arguments) if isinstance(move, ToolCall)
                       else ("submit_answer", {"text": move}))
    call = {"id": f"call_{done}", "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)}}
    return httpx.Response(200, json={
        "id": f"chatcmpl-{done}", "object": "chat.completion", "created": 0,
        "model": body["model"], "choices": [{
            "index": 0, "finish_reason": "tool_calls",
            "message": {"role": "assistant", "content": None, "tool_calls": [call]}}],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 20, "total_tokens": 1020}})


class InProcessAgent(OpenAIAgent):
    async def act(self, observation: Observation) -> Any:
        CURRENT_ITEM.set(observation.item_id)
        return await super().act(observation)


class InProcessFactory(OpenAIAgentFactory):
    """The ``openai:`` agent whose client talks to ``chat_reply`` through an httpx transport."""

    def __call__(self) -> InProcessAgent:
        return InProcessAgent(self)

    async def client(self) -> openai.AsyncOpenAI:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            transport = httpx.AsyncClient(transport=httpx.MockTransport(chat_reply))
            self._client = openai.AsyncOpenAI(base_url=self.base_url, api_key="EMPTY",
                                              max_retries=0, http_client=transport)
            self._loop = loop
        return self._client


register_agent("bench-inproc", options=OpenAIOptions)(
    lambda argument, options: InProcessFactory(argument, options))


def mock_output(messages: list[Any], *_: Any) -> ModelOutput:
    """inspect side: mockllm's output from the script (the sample's item from its metadata)."""
    state = sample_state()
    assert state is not None
    done = sum(isinstance(message, ChatMessageTool) for message in messages)
    move = next_move(ITEMS[state.metadata["item_id"]], done)
    name, arguments = ((move.name, move.arguments) if isinstance(move, ToolCall)
                       else ("submit_answer", {"text": move}))
    output = ModelOutput.for_tool_call(MOCK_MODEL, name, arguments, tool_call_id=f"call_{done}")
    output.usage = USAGE
    return output


# -- timing ----------------------------------------------------------------------------------
class ToolClock:
    """Sums the time spent in ``ToolRegistry.call`` (every tool call of every side)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self._lock = threading.Lock()
        original = ToolRegistry.call

        def timed(registry: ToolRegistry, call: Any, context: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(registry, call, context)
            finally:
                with self._lock:
                    self.seconds += time.perf_counter() - start
                    self.calls += 1

        ToolRegistry.call = timed  # type: ignore[method-assign]

    def reading(self) -> tuple[float, int]:
        with self._lock:
            return self.seconds, self.calls


@dataclass(frozen=True)
class Run:
    """One timed run of one harness."""

    episodes: int
    wall_s: float
    tools_s: float
    tool_calls: int
    correct: int

    @property
    def harness_s(self) -> float:
        return self.wall_s - self.tools_s


Harness = Callable[[Dataset, list[str], Path], int]
"""Runs the items, returns how many were answered correctly."""


def run_csmbench(agent: str) -> Harness:
    def run(dataset: Dataset, ids: list[str], out: Path) -> int:
        config = RunConfig(agent=agent, tools="all", concurrency=1,
                           agent_options={"base_url": "http://in-process.invalid/v1"}
                           if agent.startswith("bench-inproc") else {})
        asyncio.run(evaluate(dataset, out, config, item_ids=ids))
        return sum(record.correct for record in read_records(out))

    return run


def run_inspect(dataset: Dataset, ids: list[str], out: Path) -> int:
    model = get_model(MOCK_MODEL, custom_outputs=mock_output, memoize=False)
    task = csmbench_task(data=str(dataset.root), items=",".join(ids))
    [log] = inspect_eval(task, model=model, log_dir=str(out), display="none", max_samples=1)
    if log.status != "success" or log.samples is None:
        raise RuntimeError(f"inspect run failed: {log.error}")
    return sum(s.scores["csmbench_answer"].value == "C" for s in log.samples)


HARNESSES: dict[str, tuple[Harness, str]] = {
    "csmbench, scripted agent": (run_csmbench("bench-scripted"), (
        "runner, env, graders, JSONL record (fsynced), summary.json; no model client, no "
        "prompt")),
    "csmbench, openai: agent, in-process model": (run_csmbench("bench-inproc:scripted"), (
        "the above + the prompt (images as base64 data URLs), tool messages, the openai "
        "client building and parsing each call; no socket, no server")),
    "inspect_ai, mockllm": (run_inspect, (
        "task and samples built, images read into data URIs, csmbench_agent loop, inspect's "
        "tool execution (JSON-schema check, events) through the same env, both scorers, "
        ".eval log")),
}


def timed(harness: Harness, clock: ToolClock, dataset: Dataset, ids: list[str],
          out: Path) -> Run:
    tools_before, calls_before = clock.reading()
    start = time.perf_counter()
    correct = harness(dataset, ids, out)
    wall = time.perf_counter() - start
    tools_after, calls_after = clock.reading()
    return Run(len(ids), wall, tools_after - tools_before, calls_after - calls_before, correct)


PROFILE_SCHEMA_COPIERS = ("inspect_ai/tool/_tool_def.py", "inspect_ai/model/_call_tools.py")
"""Where inspect deep-copies tool schemas (``ToolDef.__init__``, ``tool_def_fields``,
``prepare_tools``/``copy_tools_info``), on every generate and every tool execution."""
ADAPTER_ENTRY_POINTS = ("csmbench_task", "__init__", "_inspect_tool", "_submit_tool", "score",
                        "execute")
"""The functions of ``csmbench/inspect.py`` that inspect calls (task, per-sample setup, tool
wrapper, scorers); the tools themselves run in worker threads, which cProfile does not see."""


def profile_inspect(dataset: Dataset, ids: list[str], out: Path) -> dict[str, float]:
    """Shares of one profiled inspect run: tool-schema copies, csmbench's adapter code."""
    profile = cProfile.Profile()
    profile.enable()
    run_inspect(dataset, ids, out)
    profile.disable()
    summary = pstats.Stats(profile)
    stats, total = summary.stats, summary.total_tt  # type: ignore[attr-defined]
    copies = sum(caller_ct for (file, _, name), (_, _, _, _, callers) in stats.items()
                 if name == "model_copy" and file.endswith("pydantic/main.py")
                 for (caller_file, _, _), (_, _, _, caller_ct) in callers.items()
                 if caller_file.endswith(PROFILE_SCHEMA_COPIERS))
    adapter = sum(ct for (file, _, name), (_, _, _, ct, _) in stats.items()
                  if file.endswith("csmbench/inspect.py") and name in ADAPTER_ENTRY_POINTS)
    return {"episodes": len(ids), "total_s": total, "schema_copies_s": copies,
            "adapter_s": adapter}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-family", type=int, default=40)
    parser.add_argument("--small", type=int, default=8, help="episodes of the small runs")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", type=int, default=20, help="episodes of the profiled run")
    args = parser.parse_args()
    logging.getLogger("inspect_ai").setLevel(logging.WARNING)
    os.environ.setdefault("OPENAI_API_KEY", "EMPTY")
    work = Path(tempfile.mkdtemp(prefix="bench-vs-inspect-"))
    root = build_dataset(work / "data", seed=SEED, counts=dict.fromkeys(FAMILIES,
                                                                        args.per_family))
    dataset = load_dataset(root)
    ITEMS.update({item.id: item for item in dataset.items})
    every = [item.id for item in dataset.items]
    small = every[::max(1, len(every) // args.small)][:args.small]
    clock = ToolClock()
    load_start = os.getloadavg()
    for name, (harness, _) in HARNESSES.items():  # warm-up: imports, first tool calls
        harness(dataset, small[:2], work / "warm" / name)
    runs: dict[str, dict[str, list[Run]]] = {name: {"all": [], "small": []} for name in HARNESSES}
    for round_ in range(args.rounds):
        for name, (harness, _) in HARNESSES.items():
            for size, ids in (("all", every), ("small", small)):
                out = work / f"r{round_}" / name / size
                runs[name][size].append(timed(harness, clock, dataset, ids, out))
                print(f"round {round_}: {name}, {len(ids)} episodes: "
                      f"{runs[name][size][-1].wall_s:.2f} s", flush=True)
    profiled = profile_inspect(dataset, every[:args.profile], work / "profile")
    write(runs, profiled, args, len(every), len(small), load_start, os.getloadavg())


def _median(runs: list[Run], value: Callable[[Run], float]) -> float:
    return statistics.median(value(run) for run in runs)


def write(runs: dict[str, dict[str, list[Run]]], profiled: dict[str, float],
          args: argparse.Namespace, n: int, n_small: int, load_start: tuple[float, ...],
          load_end: tuple[float, ...]) -> None:
    lines = [
        "# Harness overhead: csmbench vs inspect_ai", "",
        (f"Run: `.venv/bin/python benchmarks/bench_vs_inspect.py --per-family {args.per_family} "
         f"--small {args.small} --rounds {args.rounds}`; {time.strftime('%Y-%m-%d')}, "
         f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
         f"inspect_ai {inspect_ai.__version__}, openai {openai.__version__}. Load average "
         f"(1, 5, 15 min) {', '.join(f'{x:.1f}' for x in load_start)} at the start and "
         f"{', '.join(f'{x:.1f}' for x in load_end)} at the end: the machine is shared, so "
         "absolute times are inflated; the three harnesses ran interleaved in each round, "
         "under the same load."), "",
        (f"{n} generated items (seed {SEED}; {args.per_family} each of "
         f"{', '.join(f'`{f}`' for f in FAMILIES)}), one episode at a time (csmbench "
         "`concurrency=1`, inspect `max_samples=1`). Each episode: the model makes the item's "
         "reference tool call (`find_peaks`), then `submit_answer` "
         "with the truth; 2 model turns, 1 tool call. Tools' time is the time inside "
         "`ToolRegistry.call`, the same code on every side, and is subtracted: harness = "
         f"wall - tools. Medians of {args.rounds} rounds. Marginal = (harness of the "
         f"{n}-episode run - harness of the {n_small}-episode run) / {n - n_small}; fixed = "
         "the small run's harness minus its episodes at the marginal cost (start-up and "
         "end of a run)."), "",
        ("| harness | wall ms/episode | tools ms/episode | harness ms/episode | marginal "
         "ms/episode | fixed ms/run | correct |"),
        "|---|---:|---:|---:|---:|---:|---:|"]
    for name in runs:
        full, part = runs[name]["all"], runs[name]["small"]
        harness_full = _median(full, lambda r: r.harness_s)
        harness_small = _median(part, lambda r: r.harness_s)
        marginal = (harness_full - harness_small) / (n - n_small)
        fixed = harness_small - n_small * marginal
        correct = min(r.correct for r in full)
        lines.append(
            f"| {name} | {_median(full, lambda r: r.wall_s) / n * 1000:.1f} | "
            f"{_median(full, lambda r: r.tools_s) / n * 1000:.1f} | "
            f"{harness_full / n * 1000:.1f} | {marginal * 1000:.1f} | {fixed * 1000:.0f} | "
            f"{correct}/{n} |")
    lines += ["", "What each harness includes:", ""]
    lines += [f"- **{name}**: {what}." for name, (_, what) in HARNESSES.items()]
    total, copies, adapter = (profiled[k] for k in ("total_s", "schema_copies_s", "adapter_s"))
    lines += ["", (f"Where inspect's time goes (one run of {profiled['episodes']:.0f} episodes "
                   f"under cProfile, {total:.1f} s of profiled time in the main thread; cProfile "
                   "inflates code that makes many small calls, such as deep copies): "
                   f"{copies:.1f} s ({copies / total:.0%}) in deep copies of the tool schemas "
                   "that inspect makes on every generate and every tool execution "
                   "(`ToolDef.__init__`, `tool_def_fields`, `prepare_tools`: "
                   f"{len(REGISTRY.names) + 1} tools, `submit_answer` included, with csmbench's "
                   f"detailed schemas); {adapter:.1f} s ({adapter / total:.0%}) in csmbench's "
                   "adapter (`csmbench/inspect.py`: task and samples, the per-sample env and "
                   "tool wrappers, both scorers); the rest is inspect's own work (events, the "
                   "sample buffer database, the log, the loop) and waits for the tool threads.")]
    lines += ["", "Per round (wall s / tools s / tool calls, full then small run):", ""]
    for name in runs:
        cells = [f"{a.wall_s:.2f}/{a.tools_s:.2f}/{a.tool_calls}, "
                 f"{b.wall_s:.2f}/{b.tools_s:.2f}/{b.tool_calls}"
                 for a, b in zip(runs[name]["all"], runs[name]["small"], strict=True)]
        lines.append(f"- {name}: {'; '.join(cells)}")
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
