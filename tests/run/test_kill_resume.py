"""A run killed with SIGKILL and resumed has every episode exactly once (real processes)."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from csmbench import read_records
from csmbench.episodes.generators import build_dataset

ITEMS = 8
EPOCHS = 2


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_dataset(tmp_path_factory.mktemp("kill") / "data",
                         counts={"scale_bar.pixel_size": ITEMS}, seed=4)


def _command(data: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "csmbench", "eval", "--data", str(data), "--out", str(out),
            "--agent", "reference", "--epochs", str(EPOCHS), "--concurrency", "2", "--resume"]


def _lines(out: Path) -> list[dict]:
    path = out / "episodes.jsonl"
    if not path.exists():
        return []
    lines = []
    for line in path.read_bytes().split(b"\n"):
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue  # the torn tail a kill may leave
    return lines


def _kill_when(out: Path, finished: int, process: subprocess.Popen) -> int:
    """SIGKILL the run once ``finished`` records are on disk; the count seen at the kill."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        seen = len(_lines(out))
        if seen >= finished:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            return seen
        time.sleep(0.02)
    pytest.fail(f"the run ended or stalled before {finished} records (rc {process.poll()})")


def test_killed_runs_resume_without_loss_or_duplicates(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    total = ITEMS * EPOCHS
    kills = []
    for target in (3, 9):  # two kills at growing progress
        process = subprocess.Popen(_command(dataset, out), env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        kills.append(_kill_when(out, target, process))
    before = {(r["item_id"], r["epoch"]) for r in _lines(out)}
    finished = subprocess.run(_command(dataset, out), env=env, capture_output=True, text=True,
                              check=False,
                              timeout=600)
    assert finished.returncode == 0, finished.stderr[-2000:]
    lines = _lines(out)
    counts = collections.Counter((r["item_id"], r["epoch"]) for r in lines)
    assert len(counts) == total, "an episode is missing"
    assert max(counts.values()) == 1, [k for k, n in counts.items() if n > 1]
    assert before <= set(counts), "a finished episode was lost"
    assert all(r["status"] == "answered" for r in lines)
    assert len(read_records(out)) == total
    assert (out / "episodes.jsonl").read_bytes().endswith(b"\n")
    assert kills == sorted(kills) and kills[-1] < total  # really killed mid-run
