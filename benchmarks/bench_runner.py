"""The runner under load: concurrent model episodes against a slow server, and its own overhead.

A scripted model behind ``csmbench.testing.ChatServer`` (run in its own process, so the
server does not share the runner's interpreter) plays a four-call episode: three tool calls
(``williamson_hall`` on fixed numbers, a cheap tool) and ``submit_answer``. Items have no
attachments, so what is measured is the harness: env steps, the agent's message building,
the ``openai`` client, HTTP, JSON lines written and fsynced.

1. Latency bound: N episodes at concurrency 16 (the default) and N against a server that
   waits ``latency`` per call. The ideal is ceil(N / concurrency) × 4 × latency (the calls
   of each wave in parallel, nothing else costing time); the target is a wall time within
   2× that ideal.
2. Overhead per episode: the same episodes one at a time with no server latency, and with
   an agent that answers at once (no model, no HTTP: the runner and the env alone).

Writes ``benchmarks/results/runner.md`` and prints it.

Run: ``.venv/bin/python benchmarks/bench_runner.py [--n 200] [--latency 0.1]``
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from csmbench import RunConfig, evaluate, read_records
from csmbench.agents import register_agent
from csmbench.episodes import DatasetWriter, FinalAnswer, Item, Numeric
from csmbench.testing import Call, ChatServer, Conversation, Reply

RESULTS = Path(__file__).resolve().parent / "results" / "runner.md"
TOOL_CALLS = 3
WH_ARGUMENTS = {"two_theta_deg": [28.4, 47.3, 56.1, 69.1], "fwhm_deg": [0.30, 0.36, 0.40, 0.48]}


def four_call_script(request: dict[str, Any]) -> Reply:
    """Three cheap tool calls, then the number the question names."""
    chat = Conversation(request)
    if len(chat.tool_outputs()) < TOOL_CALLS:
        return Reply(calls=(Call("williamson_hall", WH_ARGUMENTS),))
    value = float(chat.question.split("value ")[1].split(" ")[0])
    return Reply(calls=(Call("submit_answer", {"text": f"{value} µm", "value": value,
                                               "unit": "µm"}),))


def _serve(latency_s: float, ready: Any, stop: Any) -> None:
    with ChatServer(four_call_script, latency_s=latency_s, record_bodies=False) as server:
        ready.send(server.base_url)
        stop.wait()


class _Server:
    """ChatServer in a child process (so it has an interpreter of its own)."""

    def __init__(self, latency_s: float) -> None:
        context = multiprocessing.get_context("spawn")
        receive, self._send = context.Pipe(duplex=False)
        self._stop = context.Event()
        self._process = context.Process(target=_serve, args=(latency_s, self._send, self._stop),
                                        daemon=True)
        self._process.start()
        self.base_url = receive.recv()

    def close(self) -> None:
        self._stop.set()
        self._process.join(10)


class Immediate:
    """Answers at once, without a model: the runner's and the env's cost alone."""

    name = "immediate"

    async def act(self, observation: Any) -> FinalAnswer:
        return FinalAnswer(text="12.5 µm", value=12.5, unit="µm")


register_agent("immediate")(lambda argument: Immediate)


def dataset(root: Path, n: int) -> Path:
    writer = DatasetWriter(root, name="runner-bench", seed=0)
    for i in range(n):
        value = 10.0 + i / 10
        writer.add_item(Item(id=f"q-{i:04d}", source="generated", scale="Mesoscale",
                             family="bench.echo", question=f"Report the value {value} µm.",
                             answer=Numeric(value=value, unit="µm", rel_tol=0.01)))
    writer.close(generators={"bench": "1"})
    return root


def timed_run(data: Path, out: Path, config: RunConfig) -> tuple[float, dict]:
    start = time.perf_counter()
    summary = asyncio.run(evaluate(data, out, config))
    return time.perf_counter() - start, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--serial", type=int, default=40, help="episodes for the overhead runs")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-runner-"))
    data = dataset(work / "data", args.n)
    rows = []

    ideal_per_episode = (TOOL_CALLS + 1) * args.latency
    server = _Server(args.latency)
    try:
        for concurrency in (16, args.n):
            config = RunConfig(agent="openai:scripted", tools="all", concurrency=concurrency,
                               agent_options={"base_url": server.base_url})
            wall, summary = timed_run(data, work / f"load-{concurrency}", config)
            ideal = math.ceil(args.n / concurrency) * ideal_per_episode
            calls = sum(r.usage.model_calls for r in read_records(work / f"load-{concurrency}")
                        if r.usage)
            rows.append(("latency bound", (f"{args.n} episodes at concurrency {concurrency}, "
                         f"{args.latency * 1000:.0f} ms per call, {calls} calls"),
                         (f"{wall:.2f} s (ideal {ideal:.2f} s, ratio {wall / ideal:.2f}; "
                         f"{calls / wall:.0f} calls/s)"),
                         f"{summary['overall']['accuracy']:.1%}"))
    finally:
        server.close()

    server = _Server(0.0)
    try:
        config = RunConfig(agent="openai:scripted", tools="all", concurrency=1,
                           agent_options={"base_url": server.base_url})
        subset = dataset(work / "serial-data", args.serial)
        wall, summary = timed_run(subset, work / "serial", config)
    finally:
        server.close()
    rows.append(("per episode, model agent", (f"{args.serial} episodes one at a time, "
                 f"{TOOL_CALLS + 1} calls each, no latency"),
                 (f"{wall / args.serial * 1000:.1f} ms per episode "
                 f"({wall / args.serial / (TOOL_CALLS + 1) * 1000:.1f} ms per call)"),
                 f"{summary['overall']['accuracy']:.1%}"))
    wall, _ = timed_run(subset, work / "bare", RunConfig(agent="immediate", tools="all",
                                                               concurrency=1))
    rows.append(("per episode, runner + env", (f"{args.serial} episodes one at a time, an "
                 "agent that answers at once"), f"{wall / args.serial * 1000:.2f} ms per episode",
                 "- (a constant answer)"))
    write(rows, args)


def write(rows: list[tuple[str, ...]], args: argparse.Namespace) -> None:
    lines = ["# Runner under load", "",
             (f"Run: `.venv/bin/python benchmarks/bench_runner.py --n {args.n} --latency "
             f"{args.latency}`; {time.strftime('%Y-%m-%d')}, {platform.python_version()}, "
             f"{os.cpu_count()} cores, {platform.machine()}."), "",
             ("The scripted model is served by `csmbench.testing.ChatServer` in its own process; "
             "each episode makes three `williamson_hall` calls and submits the answer (no "
             "attachments: the harness is what is measured). The wall times include the "
             "env's tool calls, the `openai` client, HTTP and the fsynced JSON lines."), "",
             "| measurement | setup | result | accuracy |", "|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
