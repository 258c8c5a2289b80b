"""Crash recovery: ``csmbench eval`` killed with SIGKILL at random moments, resumed until done.

Each trial starts a fresh run of ``csmbench eval`` (a real process, in its own process group)
on a small dataset (12 powder-diffraction items of four cheap families, 2 epochs), kills the
whole group with ``SIGKILL`` one to three times at seeded random moments, resumes it with
``--resume`` after each kill, and lets the last resume finish. Kill moments are drawn per
phase so that every phase is hit:

- startup: a random delay after launch, up to when the uninterrupted run wrote its first
  record (Python imports, dataset verification, ``run.json``);
- mid-run: a random delay (up to two record intervals) after the k-th new record, k random,
  so the kill falls among episodes in flight and record writes;
- end: a random delay after the last record, up to when the uninterrupted run exited
  (summary computed and written, table printed).

What each kill really hit is read from the run folder right after it (no ``run.json`` yet,
no new record, some, all but no new ``summary.json``, after it). After every kill the
folder is checked (records written so far parse, ``run.json`` and ``summary.json`` are
absent or whole); in a seeded quarter of the kills that left a record, the last record is
then cut at a random byte, as a kill inside ``write()`` leaves it (Linux stops a write at a
fatal signal between pages), to exercise dropping a torn tail. At the end every
(item, epoch) must be in ``episodes.jsonl`` exactly once, every line must parse, the file
must end with a newline, every record written before a kill must still be there byte for
byte, and the statuses, answers and scores must equal those of an uninterrupted run of the
same config.

Two agents: ``reference`` (deterministic solver) and ``openai:scripted`` against the
scripted server of ``csmbench.testing`` (run in this process; 10 % of its calls fail with
429/500 and are retried). The scripted model calls ``find_peaks`` and answers with the
strongest peak's d-spacing; for about a third of the items (picked by the question's
characters) its answer text holds a U+2028 LINE SEPARATOR, as model output sometimes does.

Writes ``benchmarks/results/crash_recovery.md`` and prints it.

Run: ``.venv/bin/python benchmarks/bench_crash_recovery.py [--trials 24] [--openai-trials 8]``
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from csmbench import read_records
from csmbench.env import EpisodeRecord
from csmbench.episodes.generators import build_dataset
from csmbench.testing import Call, ChatServer, Conversation, Faults, Reply

RESULTS = Path(__file__).resolve().parent / "results" / "crash_recovery.md"
FAMILIES = {"xrd.peak_positions": 3, "xrd.strongest_d": 3, "xrd.cubic_lattice": 3,
            "xrd.scherrer_size": 3}
"""Cheap families (one find_peaks call and arithmetic, ~0.3 s an episode): runs stay short,
so most of a run's life is spent in the phases a kill must reach."""
EPOCHS = 2
CONCURRENCY = 3
POLL_S = 0.005
"""How often the run folder is looked at while waiting for a kill's anchor event."""
RUN_TIMEOUT_S = 900.0
"""A launch that neither ends nor is killed within this time fails the benchmark."""
TORN_TAIL_SHARE = 0.25
"""Share of the kills leaving a record after which the last record is cut at a random byte."""
PHASES = ("startup", "mid-run", "end")
NOTES = """## Notes

- Phases, read from the run folder right after each kill: *startup: before run.json*
  (imports, dataset verification); *startup: before the first new record*; *mid-run:
  between records* (episodes in flight); *mid-run: inside a record write* (the kill left a
  line without its newline: a real torn write); *end: all records written, summary
  pending*; *resume with every record present* (a resume after a kill that came after the
  last record: it has only summary.json to write); *end: after summary.json was written*
  (printing the table); *missed* (the run ended before the drawn moment).
- Simulated torn tails: after a quarter of the kills that left records, the last record was
  cut at a random byte, as a kill inside `write()` leaves it; the resume dropped it and ran
  that episode again. Real torn writes are rare: a record is one `write()` of 3-6 kB.
- Found while writing this benchmark (reading `read_records`) and confirmed by it, then
  fixed in `csmbench/_run.py`: `read_records` split the file with `str.splitlines`, which
  also breaks at U+2028, U+2029 and U+0085 inside a JSON string. A record whose answer held
  U+2028 (the scripted model's, for 6 of the 12 items with seeds 0 and 1) was never read:
  the summary counted 12 of 24 episodes, and every resume ran those episodes again and
  appended them once more (33 duplicate lines in 2 `openai:scripted` trials, `--seed 1`).
  It now splits bytes at b"\\n" (regression test: `tests/run/test_record_lines.py`).
  Also fixed there: a tail torn inside a multi-byte UTF-8 character made `read_records`,
  hence `csmbench report` on a killed run, fail with UnicodeDecodeError; and `run.json`
  and `summary.json` are written to a temporary file and renamed, so a kill cannot leave
  them torn.
"""
"""What the table does not say: the phases, the simulated torn tails, what was found."""


@dataclass(frozen=True)
class Setup:
    """One agent configuration: its CLI arguments and the timeline of an uninterrupted run."""

    name: str
    arguments: tuple[str, ...]


@dataclass
class Timeline:
    """Seconds from launch of an uninterrupted run: first record, last record, exit."""

    first_record_s: float
    last_record_s: float
    exit_s: float
    total: int

    @property
    def record_gap_s(self) -> float:
        return (self.last_record_s - self.first_record_s) / max(self.total - 1, 1)


@dataclass
class Trial:
    """What one trial did and found."""

    setup: str
    kills: list[str] = field(default_factory=list)
    launches: int = 0
    torn_real: int = 0
    torn_simulated: int = 0
    lost: int = 0
    duplicated: int = 0
    unparsable: int = 0
    score_mismatches: int = 0
    folder_problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


# -- the run folder --------------------------------------------------------------------------

def episode_lines(out: Path) -> tuple[list[bytes], bytes]:
    """The complete lines of ``episodes.jsonl`` and what follows the last newline (torn tail)."""
    path = out / "episodes.jsonl"
    if not path.exists():
        return [], b""
    *lines, tail = path.read_bytes().split(b"\n")
    return [line for line in lines if line], tail


def line_key(line: bytes) -> tuple[str, int]:
    record = json.loads(line)
    return record["item_id"], record["epoch"]


def json_problem(path: Path) -> str | None:
    """None when ``path`` is absent or whole JSON; else what is wrong."""
    if not path.exists():
        return None
    try:
        json.loads(path.read_bytes())
    except ValueError as exc:
        return f"{path.name} torn: {exc}"
    return None


def folder_problems(out: Path) -> list[str]:
    """Everything a kill must not leave behind: unreadable records, run.json or summary.json."""
    problems = [p for p in (json_problem(out / "run.json"), json_problem(out / "summary.json"))
                if p]
    for line in episode_lines(out)[0]:
        try:
            EpisodeRecord.model_validate_json(line)
        except ValueError as exc:
            problems.append(f"record does not parse: {str(exc)[:120]}")
    return problems


def phase_hit(out: Path, lines_at_launch: int, done_at_launch: bool, launched_at: float,
              total: int) -> str:
    """Which phase the kill landed in, read from the folder right after it."""
    lines, tail = episode_lines(out)
    done = len({line_key(x) for x in lines}) >= total
    summary = out / "summary.json"
    if summary.exists() and summary.stat().st_mtime >= launched_at:
        return "end: after summary.json was written"
    if not (out / "run.json").exists():
        return "startup: before run.json"
    if tail:
        return "mid-run: inside a record write (torn line)"
    if done_at_launch:
        return "resume with every record present: before summary.json"
    if len(lines) == lines_at_launch:
        return "startup: before the first new record"
    if not done:
        return "mid-run: between records"
    return "end: all records written, summary pending"


def cut_last_record(out: Path, rng: np.random.Generator) -> bytes:
    """Cut the last record at a random byte inside it (a kill inside ``write()``)."""
    path = out / "episodes.jsonl"
    data = path.read_bytes()
    start = data.rfind(b"\n", 0, len(data) - 1) + 1
    cut = int(rng.integers(start + 1, len(data) - 1))
    removed = data[start:]
    with open(path, "r+b") as handle:
        handle.truncate(cut)
    return removed.rstrip(b"\n")


# -- launching and killing -------------------------------------------------------------------

def command(data: Path, out: Path, setup: Setup) -> list[str]:
    return [sys.executable, "-m", "csmbench", "eval", "--data", str(data), "--out", str(out),
            "--epochs", str(EPOCHS), "--concurrency", str(CONCURRENCY), "--resume",
            *setup.arguments]


def launch(data: Path, out: Path, setup: Setup, log: Path) -> subprocess.Popen:
    with open(log, "ab") as sink:
        return subprocess.Popen(command(data, out, setup), stdout=sink, stderr=sink,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})


def wait_for(process: subprocess.Popen, ready: Any, deadline: float) -> bool:
    """Poll until ``ready()`` or the process ends; False when it ended first."""
    while process.poll() is None:
        if ready():
            return True
        if time.monotonic() > deadline:
            raise TimeoutError("a launch neither ended nor reached its kill moment")
        time.sleep(POLL_S)
    return False


def kill_group(process: subprocess.Popen) -> bool:
    """SIGKILL the run's whole process group; False when it had ended already."""
    if process.poll() is not None:
        return False
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    process.wait()
    return True


def done_keys(out: Path) -> set[tuple[str, int]]:
    return {line_key(line) for line in episode_lines(out)[0]}


def kill_once(data: Path, out: Path, setup: Setup, timeline: Timeline, phase: str,
              rng: np.random.Generator, log: Path) -> str:
    """Launch, wait for the phase's anchor plus a random delay, SIGKILL; the phase hit."""
    lines_at_launch = len(episode_lines(out)[0])
    remaining = timeline.total - len(done_keys(out))
    done_at_launch = remaining == 0
    launched_at = time.time()
    start = time.monotonic()
    process = launch(data, out, setup, log)
    deadline = start + RUN_TIMEOUT_S
    if phase == "startup":
        delay, anchored = rng.uniform(0, timeline.first_record_s), True
    elif phase == "mid-run":
        k = int(rng.integers(1, remaining)) if remaining > 1 else 1
        anchored = wait_for(process, lambda: len(episode_lines(out)[0]) >= lines_at_launch + k,
                            deadline)
        delay = rng.uniform(0, 2 * timeline.record_gap_s)
    else:
        anchored = wait_for(process, lambda: len(done_keys(out)) >= timeline.total, deadline)
        delay = rng.uniform(0, timeline.exit_s - timeline.last_record_s)
    if anchored:
        end = time.monotonic() + delay
        wait_for(process, lambda: time.monotonic() >= end, deadline)
    if not kill_group(process):
        return f"missed: the run ended first (rc {process.returncode})"
    return phase_hit(out, lines_at_launch, done_at_launch, launched_at, timeline.total)


def finish(data: Path, out: Path, setup: Setup, log: Path) -> int:
    """Resume until done, uninterrupted; the return code."""
    process = launch(data, out, setup, log)
    try:
        return process.wait(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        kill_group(process)
        raise


def uninterrupted(data: Path, out: Path, setup: Setup, log: Path) -> Timeline:
    """Run once without kills, noting when records appear; the reference timeline."""
    start = time.monotonic()
    process = launch(data, out, setup, log)
    total = sum(FAMILIES.values()) * EPOCHS
    first = last = None
    while process.poll() is None:
        count = len(episode_lines(out)[0])
        now = time.monotonic() - start
        if count and first is None:
            first = now
        if count >= total and last is None:
            last = now
        time.sleep(POLL_S)
    if process.returncode != 0 or first is None:
        raise RuntimeError(f"the uninterrupted {setup.name} run failed; see {log}")
    exit_s = time.monotonic() - start
    return Timeline(first, last if last is not None else exit_s, exit_s, total)


# -- one trial -------------------------------------------------------------------------------

def verdict(out: Path, trial: Trial, kept: set[bytes], reference: dict[tuple[str, int], Any],
            total: int) -> None:
    """Fill in the trial's losses, duplicates, parse failures and score mismatches."""
    lines, tail = episode_lines(out)
    counts = collections.Counter(line_key(line) for line in lines)
    trial.duplicated = sum(n - 1 for n in counts.values())
    trial.lost = (len(set(reference) - set(counts)) + len(kept - set(lines)))
    trial.unparsable = bool(tail) + sum(1 for p in folder_problems(out) if p.startswith("record"))
    records = {(r.item_id, r.epoch): r for r in read_records(out)}
    trial.score_mismatches = sum(
        1 for key, expected in reference.items()
        if key not in records or _graded(records[key]) != expected)
    if len(records) != total:
        trial.folder_problems.append(f"read_records gives {len(records)} of {total}")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    if summary["overall"]["n"] != total:
        trial.folder_problems.append(f"summary counts {summary['overall']['n']} of {total}")


def _graded(record: EpisodeRecord) -> Any:
    """What must not depend on kills: status, answer and scores."""
    return (record.status, record.answer.model_dump() if record.answer else None,
            record.score.model_dump() if record.score else None)


def run_trial(data: Path, out: Path, setup: Setup, timeline: Timeline,
              reference: dict[tuple[str, int], Any], rng: np.random.Generator) -> Trial:
    trial = Trial(setup=setup.name)
    start = time.monotonic()
    kept: set[bytes] = set()
    log = out.with_suffix(".log")
    for _ in range(int(rng.integers(1, 4))):
        remaining = timeline.total - len(done_keys(out))
        feasible = [p for p in PHASES if p != "mid-run" or remaining > 1]
        phase = str(rng.choice(feasible))
        hit = kill_once(data, out, setup, timeline, phase, rng, log)
        trial.launches += 1
        trial.kills.append(hit)
        lines, tail = episode_lines(out)
        trial.torn_real += bool(tail)
        trial.folder_problems += folder_problems(out)
        kept |= set(lines)
        if lines and not tail and rng.random() < TORN_TAIL_SHARE:
            kept.discard(cut_last_record(out, rng))
            trial.torn_simulated += 1
    trial.launches += 1
    if finish(data, out, setup, log) != 0:
        trial.folder_problems.append(f"the final resume failed; see {log}")
    else:
        verdict(out, trial, kept, reference, timeline.total)
    trial.seconds = time.monotonic() - start
    return trial


# -- the scripted model ----------------------------------------------------------------------

LINE_SEPARATOR = "\u2028"


def peak_script(request: dict[str, Any]) -> Reply:
    """find_peaks on the pattern, then the strongest peak's d-spacing as the answer."""
    chat = Conversation(request)
    outputs = [o for o in chat.tool_outputs("find_peaks") if o.ok]
    if not outputs:
        return Reply(calls=(Call("find_peaks", {"pattern": chat.attachments("pattern")[0]}),))
    peaks = outputs[-1].data.get("peaks") or [{"d_spacing": 1.0, "height": 1.0}]
    d = max(peaks, key=lambda p: p["height"])["d_spacing"]
    separator = LINE_SEPARATOR if sum(map(ord, chat.question)) % 3 == 0 else " "
    return Reply(text=f"The strongest peak is at{separator}d = {d:.4f} Å")


# -- main ------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=24, help="trials of the reference agent")
    parser.add_argument("--openai-trials", type=int, default=8,
                        help="trials of openai:scripted against the local scripted server")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    work = Path(tempfile.mkdtemp(prefix="bench-crash-"))
    load_start = os.getloadavg()
    started = time.monotonic()
    data = build_dataset(work / "data", counts=FAMILIES, seed=args.seed)
    faults = Faults(kinds=("429", "500"), rate=0.1, seed=args.seed, retry_after_s=0.01)
    trials: list[Trial] = []
    timelines: dict[str, Timeline] = {}
    with ChatServer(peak_script, faults=faults, record_bodies=False) as server:
        setups = [(Setup("reference", ("--agent", "reference")), args.trials),
                  (Setup("openai:scripted", ("--agent", "openai:scripted", "--base-url",
                                             server.base_url)), args.openai_trials)]
        for setup, count in setups:
            if count == 0:
                continue
            folder = work / setup.name.replace(":", "-")
            folder.mkdir()
            timeline = uninterrupted(data, folder / "reference", setup,
                                     folder / "reference.log")
            timelines[setup.name] = timeline
            reference = {(r.item_id, r.epoch): _graded(r)
                         for r in read_records(folder / "reference")}
            for index in range(count):
                trial = run_trial(data, folder / f"trial-{index:02d}", setup, timeline,
                                  reference, rng)
                trials.append(trial)
                print(f"{setup.name} trial {index}: {trial.kills} lost {trial.lost} "
                      f"duplicated {trial.duplicated} {trial.seconds:.0f} s", flush=True)
        outcomes = server.outcomes()
    write(trials, timelines, args, load_start, time.monotonic() - started, outcomes, work)


def write(trials: list[Trial], timelines: dict[str, Timeline], args: argparse.Namespace,
          load_start: tuple[float, ...], wall_s: float, outcomes: Any, work: Path) -> None:
    total = sum(FAMILIES.values()) * EPOCHS
    kills = collections.Counter(kill for trial in trials for kill in trial.kills)
    by_setup = collections.Counter(trial.setup for trial in trials)
    load_end = os.getloadavg()
    lines = [
        "# Crash recovery: SIGKILL and --resume", "",
        (f"Run: `.venv/bin/python benchmarks/bench_crash_recovery.py --trials {args.trials} "
         f"--openai-trials {args.openai_trials} --seed {args.seed}`; "
         f"{time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, "
         f"{os.cpu_count()} cores, {platform.machine()}; load average "
         f"{load_start[0]:.1f} at the start, {load_end[0]:.1f} at the end (a shared machine: "
         f"wall times are inflated). Total {wall_s / 60:.1f} min."), "",
        (f"Dataset: {', '.join(f'{n} `{f}`' for f, n in FAMILIES.items())} (seed "
         f"{args.seed}), {EPOCHS} epochs = {total} episodes, `--concurrency {CONCURRENCY}`. "
         "Each trial: a fresh run folder, 1-3 SIGKILLs of the process group of "
         "`csmbench eval --resume` at seeded random moments, then `--resume` to completion."),
        "",
        "## Result", "",
        ("| agent | trials | launches | kills | episodes lost | duplicated | unparsable lines "
        "| scores differing from the uninterrupted run | torn tails (real / simulated) "
        "| folder problems | s per trial (median) |"),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name in by_setup:
        group = [t for t in trials if t.setup == name]
        lines.append(
            f"| `{name}` | {len(group)} | {sum(t.launches for t in group)} | "
            f"{sum(len(t.kills) for t in group)} | {sum(t.lost for t in group)} | "
            f"{sum(t.duplicated for t in group)} | {sum(t.unparsable for t in group)} | "
            f"{sum(t.score_mismatches for t in group)} | "
            f"{sum(t.torn_real for t in group)} / {sum(t.torn_simulated for t in group)} | "
            f"{sum(len(t.folder_problems) for t in group)} | "
            f"{np.median([t.seconds for t in group]):.0f} |")
    lines += ["", "## Where the kills landed", "", "| phase hit | kills |", "|---|---:|"]
    lines += [f"| {phase} | {n} |" for phase, n in sorted(kills.items())]
    lines += ["", "## Uninterrupted runs (the kill-moment scale)", "",
              "| agent | first record s | last record s | exit s |", "|---|---:|---:|---:|"]
    lines += [f"| `{name}` | {t.first_record_s:.1f} | {t.last_record_s:.1f} | {t.exit_s:.1f} |"
              for name, t in timelines.items()]
    lines += ["", (f"Scripted server outcomes over all `openai:scripted` launches: "
              f"{dict(outcomes)}.")]
    lines += ["", NOTES.rstrip("\n")]
    problems = [(t.setup, p) for t in trials for p in t.folder_problems]
    if problems:
        lines += ["", "## Problems", ""] + [f"- `{s}`: {p}" for s, p in problems[:40]]
        lines.append(f"\nRun folders and logs kept in `{work}`.")
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
