"""Harness cost: env step overhead, each tool's time, and a 1,000-episode reference run.

1. Env step overhead: ``env.step`` on actions rejected before any tool runs (malformed JSON,
   an unknown tool, arguments the schema rejects), on cheap tools (the non-attachment tools
   whose own time is under 10 ms, on the reference agent's inputs), the answer step (graded)
   and ``reset()``. The overhead of a tool step is its time minus the tool function's own
   time, the function called directly on the same arguments right after (paired per call).
2. Each tool's time: the ``smoke`` split (seed 2026) is solved once by the ``reference``
   agent to record the tool calls it makes (the inputs of later calls, such as the peaks
   ``fit_lattice`` gets, come from earlier results, so ``Item.reference`` alone cannot be
   replayed); the recorded calls are then replayed through the env ``--repeats`` times and
   each step is timed by tool name. Every tool of ``REGISTRY`` gets a row: a tool the
   reference agent does not call runs on its ``FALLBACK_ARGUMENTS`` input, and a tool with
   neither is listed as not measured.
3. Build time: this run's builds (every preset's: ``benchmarks/bench_build.py``).
4. A reference run of >= 1,000 episodes (the ``standard`` split, 1,046 items): ``csmbench
   eval`` in a child process; wall time, CPU time, peak RSS of that process (``os.wait4``),
   episodes/s and the size of the records.

Writes ``benchmarks/results/harness.md`` and prints it. ``--quick`` (a smoke check, 1-3
minutes) replays the first ``smoke`` items that use every tool once and runs only them;
it prints the results and writes them only to an ``--out`` file.

Run: ``.venv/bin/python benchmarks/bench_harness.py [--quick] [--repeats 2] [--keep]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from PIL import Image

from csmbench.agents import ReferenceAgent
from csmbench.env import CSMBenchEnv
from csmbench.episodes import FinalAnswer, Item, ToolCall, load_dataset
from csmbench.episodes.generators import build_dataset
from csmbench.errors import ToolError
from csmbench.tools import REGISTRY, ToolContext

RESULTS = Path(__file__).resolve().parent / "results" / "harness.md"
SEED = 2026
RUN_MIN_EPISODES = 1000
"""The reference run has at least this many episodes (more epochs when the split is smaller)."""
RUN_CONCURRENCY = 16
"""Episodes at once in the reference run: the ``csmbench eval`` default."""
STEPS_PER_EPISODE = 8
"""Overhead steps between two resets, about an agent's episode (the default limit is 16)."""
CHEAP_TOOL_S = 0.010
"""A non-attachment tool faster than this (median, own time) is used to measure overhead."""
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff"}
# row labels of the overhead table (the last two from the replays of section 2)
RESET = "`reset()`"
EVERY_RESET = "`reset()`, every item"
EVERY_ANSWER = "`submit_answer`, every item's answer (graded)"
FALLBACK_ARGUMENTS: dict[str, dict[str, Any]] = {"lookup_hall_petch": {"material": "copper"}}
"""Typical inputs of tools the reference agent does not call on the smoke split."""


# -- measuring --------------------------------------------------------------------------

@dataclass(frozen=True)
class Timing:
    """One step: its wall time through ``env.step`` (s) and the tool function's own (s)."""

    label: str
    step_s: float
    function_s: float = 0.0
    observation_chars: int = 0
    input_size: tuple[float, str] | None = None


def stats(values: Sequence[float]) -> tuple[float, float, float]:
    """Median, 95th percentile (linear interpolation) and maximum of ``values``."""
    array = np.asarray(values, dtype=float)
    return float(np.median(array)), float(np.percentile(array, 95)), float(array.max())


def timed(function: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    """Seconds ``function(*args, **kwargs)`` took, and what it returned."""
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return time.perf_counter() - start, value


def function_time(call: ToolCall, context: ToolContext) -> float:
    """Seconds the tool's Python function takes on the call's (validated) arguments."""
    spec = REGISTRY.get(call.name)
    kwargs = dict(spec.arguments.model_validate(call.arguments))
    if spec.context_param:
        kwargs[spec.context_param] = context
    start = time.perf_counter()
    try:
        spec.function(**kwargs)
    except ToolError:
        pass  # rejected input: the env pays the same
    return time.perf_counter() - start


def input_size(call: ToolCall, context: ToolContext) -> tuple[float, str]:
    """The size of a call's input: megapixels, data points, list length or argument chars."""
    spec = REGISTRY.get(call.name)
    for name in spec.attachment_params:
        path = context.path(call.arguments[name])
        if path.suffix.lower() in IMAGE_SUFFIXES:
            with Image.open(path) as image:
                return image.size[0] * image.size[1] / 1e6, "Mpx"
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        return sum(1 for line in lines if line[:1].isdigit()), "points"
    lengths = [len(v) for v in call.arguments.values() if isinstance(v, list)]
    if lengths:
        return max(lengths), "values"
    return len(json.dumps(call.arguments)), "chars of arguments"


def item_context(env: CSMBenchEnv, item: Item, output_dir: Path) -> ToolContext:
    """A tool context like the env's for ``item`` (outputs go to ``output_dir``)."""
    return ToolContext(env.dataset.root, {a.id: a for a in item.attachments}, output_dir)


# -- 2. each tool's time ----------------------------------------------------------------

@dataclass(frozen=True)
class Episode:
    """An item and the actions the reference agent took on it."""

    item: Item
    calls: list[ToolCall]
    answer: FinalAnswer


def record_reference(env: CSMBenchEnv, item: Item) -> Episode:
    """Solve ``item`` with the reference agent through ``env``; keep its actions."""
    agent = ReferenceAgent()
    env.reset(options={"item_id": item.id})
    observation, calls = env.observation, []
    while True:
        action = asyncio.run(agent.act(observation))
        _, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            return Episode(item, calls, action)
        calls.append(action)
        observation = info["observation"]


def replay(env: CSMBenchEnv, episode: Episode, context: ToolContext,
           function_first: bool) -> list[Timing]:
    """Reset, step every recorded call and time its function directly (before the step or
    after it, so that neither always runs second), answer."""
    reset_s, (text, _) = timed(env.reset, options={"item_id": episode.item.id})
    timings = [Timing(EVERY_RESET, reset_s, 0.0, len(text))]
    for call in episode.calls:
        own = function_time(call, context) if function_first else 0.0
        step_s, (text, *_) = timed(env.step, call)
        own = own if function_first else function_time(call, context)
        timings.append(Timing(call.name, step_s, own, len(text), input_size(call, context)))
    step_s, (text, *_) = timed(env.step, episode.answer)
    return [*timings, Timing(EVERY_ANSWER, step_s, 0.0, len(text))]


def covering_items(items: Sequence[Item]) -> list[Item]:
    """The first items that together use every tool their references use (``--quick``)."""
    chosen, seen = [], set()
    for item in items:
        names = {call.name for call in item.reference} - seen
        if names:
            chosen.append(item)
            seen |= names
    return chosen


def fallback_episode(base: Episode, missing: Iterable[str]) -> Episode | None:
    """An episode on ``base``'s item calling each missing tool with its fallback input."""
    calls = [ToolCall(id=f"fallback_{name}", name=name, arguments=FALLBACK_ARGUMENTS[name])
             for name in missing if name in FALLBACK_ARGUMENTS]
    return Episode(base.item, calls, base.answer) if calls else None


def tool_rows(timings: list[Timing], fallback: set[str]) -> list[str]:
    """One table row per registry tool."""
    rows = []
    for name in REGISTRY.names:
        mine = [t for t in timings if t.label == name]
        if not mine:
            rows.append(f"| `{name}` | not measured: no reference call on the smoke split and "
                        "no `FALLBACK_ARGUMENTS` entry | | | | | | | |")
            continue
        median, p95, peak = stats([t.step_s for t in mine])
        own = stats([t.function_s for t in mine])[0]
        extra = stats([t.step_s - t.function_s for t in mine])[0]
        size = _size_text([t.input_size for t in mine if t.input_size])
        source = "fallback input" if name in fallback else "reference"
        rows.append(f"| `{name}` | {source} | {len(mine)} | {median * 1e3:.1f} | {p95 * 1e3:.1f} "
                    f"| {peak * 1e3:.1f} | {own * 1e3:.1f} | {extra * 1e3:.2f} | {size} |")
    return rows


def _size_text(sizes: list[tuple[float, str]]) -> str:
    """Median and range of input sizes, e.g. "1.05 Mpx (0.76-1.28)"."""
    if not sizes:
        return ""
    values, unit = [size for size, _ in sizes], sizes[0][1]
    low, high = min(values), max(values)
    spread = "" if low == high else f" ({_number(low)}-{_number(high)})"
    return f"{_number(float(np.median(values)))} {unit}{spread}"


def _number(x: float) -> str:
    return f"{x:.0f}" if x >= 100 else f"{x:.3g}"


# -- 1. env step overhead ---------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """An action whose step is timed; ``call`` is set for a tool call timed directly too."""

    label: str
    action: Any
    call: ToolCall | None = None


def cheap_tools(timings: list[Timing]) -> set[str]:
    """Tools without attachments whose own median time is under ``CHEAP_TOOL_S``."""
    by_tool: dict[str, list[float]] = {}
    for t in timings:
        if t.label in REGISTRY.names and not REGISTRY.get(t.label).attachment_params:
            by_tool.setdefault(t.label, []).append(t.function_s)
    return {name for name, times in by_tool.items() if stats(times)[0] < CHEAP_TOOL_S}


def overhead_cases(episodes: list[Episode], cheap: set[str]) -> tuple[Episode, list[Case]]:
    """The episode to step in and the actions: rejected ones, cheap tools, the answer."""
    base = next((e for e in episodes if any(c.name in cheap for c in e.calls)), episodes[0])
    cases = [Case("malformed JSON (rejected by `parse_action`)", '{"tool": "lookup_crystal", '),
             Case("unknown tool (rejected by the env)", ToolCall(name="no_such_tool")),
             Case("arguments the schema rejects (no tool runs)",
                  ToolCall(name="lookup_crystal", arguments={"query": "rutile", "limit": "x"}))]
    first_calls: dict[str, ToolCall] = {}
    for call in (c for e in episodes for c in e.calls if c.name in cheap):
        first_calls.setdefault(call.name, call)
    first_calls.update({name: ToolCall(name=name, arguments=arguments)
                        for name, arguments in FALLBACK_ARGUMENTS.items() if name in cheap})
    for name, call in sorted(first_calls.items()):
        source = "fallback" if name in FALLBACK_ARGUMENTS else "reference agent's"
        cases.append(Case(f"`{name}` ({source} input)", call, call))
    if "lookup_hall_petch" in first_calls:
        call = first_calls["lookup_hall_petch"]
        cases.append(Case("`lookup_hall_petch` as OpenAI assistant-message JSON text",
                          json.dumps(_assistant_message(call)), call))
    cases.append(Case("`submit_answer` (graded; ends the episode)", base.answer))
    return base, cases


def _assistant_message(call: ToolCall) -> dict[str, Any]:
    return {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_0", "type": "function",
         "function": {"name": call.name, "arguments": json.dumps(call.arguments)}}]}




def measure_overhead(env: CSMBenchEnv, base: Episode, cases: list[Case], rounds: int,
                     context: ToolContext) -> dict[str, list[Timing]]:
    """``rounds`` steps of each case, round robin; a reset every ``STEPS_PER_EPISODE`` steps
    and after the answer (the resets are timed too, under ``RESET``)."""
    results: dict[str, list[Timing]] = {RESET: [], **{case.label: [] for case in cases}}
    steps, over = STEPS_PER_EPISODE, True
    for _ in range(rounds):
        for case in cases:
            if over or steps >= STEPS_PER_EPISODE:
                reset_s, (text, _) = timed(env.reset, options={"item_id": base.item.id})
                results[RESET].append(Timing(RESET, reset_s, 0.0, len(text)))
                steps, over = 0, False
            step_s, (text, _, terminated, _, _) = timed(env.step, case.action)
            own = function_time(case.call, context) if case.call else 0.0
            results[case.label].append(Timing(case.label, step_s, own, len(text)))
            steps, over = steps + 1, terminated
    return results


def overhead_rows(results: dict[str, list[Timing]]) -> list[str]:
    """One table row per case: step, tool and overhead times, observation size."""
    rows = []
    for label, timings in results.items():
        median, p95, _ = stats([t.step_s for t in timings])
        own = stats([t.function_s for t in timings])[0]
        extra_median, extra_p95, _ = stats([t.step_s - t.function_s for t in timings])
        chars = stats([t.observation_chars for t in timings])[0]
        tool = _us(own) if any(t.function_s for t in timings) else "-"
        rows.append(f"| {label} | {len(timings)} | {_us(median)} | {_us(p95)} | {tool} | "
                    f"{_us(extra_median)} | {_us(extra_p95)} | {chars:.0f} |")
    return rows


def _us(seconds: float) -> str:
    """A duration in µs below 1 ms, else in ms."""
    return f"{seconds * 1e6:.0f} µs" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


# -- 4. the reference run ---------------------------------------------------------------

def reference_run(data: Path, out: Path, epochs: int,
                  item_ids: list[str] | None = None) -> dict[str, Any]:
    """Run ``csmbench eval`` (reference agent) in a child process; its wall, CPU and peak RSS."""
    command = [sys.executable, "-m", "csmbench", "eval", "--data", str(data), "--out", str(out),
               "--agent", "reference", "--tools", "all", "--epochs", str(epochs),
               "--concurrency", str(RUN_CONCURRENCY)]
    command += ["--items", ",".join(item_ids)] if item_ids else []
    log = out.parent / f"{out.name}.log"
    start = time.perf_counter()
    with open(log, "wb") as sink:
        child = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        sys.exit(f"csmbench eval failed ({child.returncode}); its output:\n"
                 + log.read_text(encoding="utf-8", errors="replace")[-4000:])
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    records = out / "episodes.jsonl"
    statuses: dict[str, int] = {}
    for line in records.read_text(encoding="utf-8").splitlines():
        status_name = json.loads(line)["status"]
        statuses[status_name] = statuses.get(status_name, 0) + 1
    return {"episodes": sum(statuses.values()), "epochs": epochs, "wall_s": wall,
            "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024,
            "records_mb": records.stat().st_size / 1e6, "outputs_mb": _folder_mb(out / "outputs"),
            "accuracy": summary["overall"]["accuracy"], "statuses": statuses}


def _folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def run_lines(run: dict[str, Any], items: int, preset: str) -> list[str]:
    n, wall = run["episodes"], run["wall_s"]
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(run["statuses"].items()))
    return ["| measure | value |", "|---|---:|",
            (f"| episodes | {n} (`{preset}`: {items} items × {run['epochs']} "
             f"epoch{'s' if run['epochs'] > 1 else ''}) |"),
            f"| concurrency | {RUN_CONCURRENCY} |",
            f"| wall time | {wall:.0f} s |",
            f"| episodes/s | {n / wall:.2f} |",
            f"| CPU time (user + system) | {run['cpu_s']:.0f} s ({run['cpu_s'] / wall:.2f} cores) |",
            f"| peak RSS of the `csmbench eval` process | {run['peak_rss_mb']:.0f} MB |",
            (f"| `episodes.jsonl` | {run['records_mb']:.1f} MB "
             f"({run['records_mb'] * 1e6 / n / 1e3:.1f} kB per episode) |"),
            f"| `outputs/` | {run['outputs_mb']:.1f} MB |",
            f"| accuracy | {run['accuracy']:.1%} |",
            f"| statuses | {statuses} |"]


# -- the run ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Measurements:
    """Everything :func:`measure` found, for :func:`report`."""

    quick: bool
    repeats: int
    rounds: int
    load_start: tuple[float, float, float]
    items: int
    fallback_tools: set[str]
    overhead_item: str
    overhead: dict[str, list[Timing]]
    timings: list[Timing]
    build_s: dict[str, float]
    run_preset: str
    run_items: int
    run: dict[str, Any]


def measure(work: Path, quick: bool, repeats: int, rounds: int) -> Measurements:
    """Build, time tools and steps on the smoke split, build the run's split, run it."""
    load_start = os.getloadavg()
    build_s = {"smoke": timed(build_dataset, work / "smoke", preset="smoke", seed=SEED)[0]}
    env = CSMBenchEnv(load_dataset(work / "smoke"), tools="all", max_steps=10**6,
                      output_dir=work / "env-outputs")
    items = covering_items(env.dataset.items) if quick else list(env.dataset.items)
    print(f"recording the reference agent on {len(items)} items", flush=True)
    episodes = [record_reference(env, item) for item in items]
    extra = fallback_episode(episodes[0],
                             sorted(set(REGISTRY.names) - {c.name for e in episodes for c in e.calls}))
    contexts = {e.item.id: item_context(env, e.item, work / "direct") for e in episodes}
    timings: list[Timing] = []
    for repeat in range(repeats):
        for episode in [*episodes, *([extra] if extra else [])]:
            timings += replay(env, episode, contexts[episode.item.id], repeat % 2 == 1)
    print("measuring step overhead", flush=True)
    base, cases = overhead_cases(episodes, cheap_tools(timings))
    overhead = measure_overhead(env, base, cases, rounds, contexts[base.item.id])
    for label in (EVERY_RESET, EVERY_ANSWER):
        overhead[label] = [t for t in timings if t.label == label]
    run_preset = "smoke" if quick else "standard"
    if not quick:
        print("building the standard split", flush=True)
        build_s["standard"] = timed(build_dataset, work / "standard", preset="standard",
                                    seed=SEED)[0]
    run_ids = [item.id for item in items] if quick else None
    run_items = len(run_ids or load_dataset(work / run_preset, verify=False).items)
    epochs = 1 if quick else math.ceil(RUN_MIN_EPISODES / run_items)
    print(f"csmbench eval: reference on {run_items} items, {epochs} epoch(s)", flush=True)
    run = reference_run(work / run_preset, work / "run", epochs, run_ids)
    return Measurements(quick, repeats, rounds, load_start, len(items),
                        {c.name for c in extra.calls} if extra else set(), base.item.id,
                        overhead, timings, build_s, run_preset, run_items, run)


def report(m: Measurements) -> str:
    """The results as markdown."""
    builds = " and ".join(f"`{name}` in {s:.0f} s" for name, s in m.build_s.items())
    return "\n".join([
        "# Harness cost: env steps, tools, a reference run", "",
        (f"Run: `.venv/bin/python benchmarks/bench_harness.py{' --quick' if m.quick else ''}`; "
         f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, Python "
         f"{platform.python_version()}, {os.cpu_count()} cores, "
         f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM; load average (1, 5, 15 min) "
         f"{_load(m.load_start)} at the start, {_load(os.getloadavg())} at the end (the machine "
         f"was shared with other jobs). Seed {SEED}; wall-clock times (`time.perf_counter`)."),
        "", "## Env step overhead", "",
        (f"`env.step` in one `smoke` episode (`{m.overhead_item}`), {m.rounds} steps per row, "
         f"round robin, a `reset()` every {STEPS_PER_EPISODE} steps and after each answer. "
         "*Tool* is the tool function called directly on the same arguments right after the "
         "step; *overhead* is step minus tool, paired per step: parsing the action, validating "
         "the arguments, making the result JSON, building and serializing the observation "
         "(its JSON text, *observation chars*, repeats every tool schema). The last two rows "
         f"are the resets and answers of the {m.items} items' replays below (every answer "
         "type)."), "",
        ("| step | n | step median | step p95 | tool median | overhead median | overhead p95 "
         "| observation chars |"), "|---|---:|---:|---:|---:|---:|---:|---:|",
        *overhead_rows(m.overhead), "",
        "## Each tool's time", "",
        (f"The reference agent's calls on {m.items} `smoke` items, replayed through the env "
         f"{m.repeats}× (one row per tool in the registry; times in ms). *Step* is `env.step`, "
         "*tool* the function alone on the same input, *overhead* their paired difference "
         "(noisy for slow tools). *Input*: median (range) of the image size, the data points "
         "of a pattern or spectrum, or the length of the longest list argument."), "",
        ("| tool | input from | calls | step median | step p95 | step max | tool median "
         "| overhead median | input |"), "|---|---|---:|---:|---:|---:|---:|---:|---|",
        *tool_rows(m.timings, m.fallback_tools), "",
        "## Build time", "",
        (f"This run built {builds} (one worker process per core); every preset and every "
         "family: [build.md](build.md) (`benchmarks/bench_build.py`)."), "",
        "## Reference run", "",
        (f"`csmbench eval --agent reference --tools all` on `{m.run_preset}` in a child "
         "process, into a temporary folder; CPU time and peak RSS from `os.wait4` (that "
         "process, and any children it waited for). The wall time includes loading the "
         "dataset and checking its sha256 hashes."), "",
        *run_lines(m.run, m.run_items, m.run_preset), ""])


def _load(load: tuple[float, float, float]) -> str:
    return ", ".join(f"{x:.1f}" for x in load)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a few smoke items, replayed once and run (a smoke check)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="replays of each item (default 2; 1 with --quick)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="overhead steps per row (default 300; 20 with --quick)")
    parser.add_argument("--out", type=Path, default=None,
                        help="results file (default benchmarks/results/harness.md; none with "
                             "--quick)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-harness-"))
    try:
        measurements = measure(work, args.quick, args.repeats or (1 if args.quick else 2),
                               args.rounds or (20 if args.quick else 300))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    text = report(measurements)
    out = args.out or (None if args.quick else RESULTS)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
