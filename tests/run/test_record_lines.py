"""Records are lines split at "\\n" only: a Unicode line break inside a record, or a tail torn
inside a UTF-8 character, loses nothing and duplicates nothing (regressions of read_records)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from csmbench import RunConfig, evaluate, read_records
from csmbench.episodes import DatasetWriter, Item, Numeric
from csmbench.graders import load_run
from csmbench.testing import ChatServer, Conversation

BREAKS = {"q-ls": "\u2028", "q-ps": "\u2029", "q-nel": "\x85"}
"""Characters ``str.splitlines`` breaks at that JSON leaves unescaped, by item."""


def answer_with_break(request: dict[str, Any]) -> str:
    """The answer, 12.5 µm, with the item's line-break character inside the text."""
    item = re.search(r"Item (\S+) :", Conversation(request).question).group(1)
    return f"The width is{BREAKS[item]}12.5 µm"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lines")
    writer = DatasetWriter(root, name="lines", seed=0)
    for item_id in BREAKS:
        writer.add_item(Item(id=item_id, source="generated", scale="Mesoscale",
                             family="test.lines", question=f"Item {item_id} : how wide, in µm?",
                             answer=Numeric(value=12.5, unit="µm", rel_tol=0.01)))
    writer.close(generators={"test": "1"})
    return root


@pytest.fixture(scope="module")
def run(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run of a model whose answers hold U+2028, U+2029 and U+0085, resumed once."""
    out = tmp_path_factory.mktemp("run") / "run"
    with ChatServer(answer_with_break) as server:
        config = RunConfig(agent="openai:scripted", tools="all", concurrency=2,
                           agent_options={"base_url": server.base_url})
        asyncio.run(evaluate(data, out, config))
        asyncio.run(evaluate(data, out, config, resume=True))
        assert len(server.completions()) == len(BREAKS)  # the resume asked the model nothing
    return out


def test_records_with_unicode_line_breaks_are_read_once(run: Path) -> None:
    lines = (run / "episodes.jsonl").read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) - 1 == len(BREAKS)  # the resume appended nothing
    records = {r.item_id: r for r in read_records(run)}
    assert set(records) == set(BREAKS)
    for item_id, record in records.items():
        assert BREAKS[item_id] in record.answer.text and record.correct


def test_a_tail_torn_inside_a_character_is_skipped(run: Path, tmp_path: Path) -> None:
    torn = tmp_path / "torn"
    torn.mkdir()
    for name in ("episodes.jsonl", "run.json", "summary.json"):
        (torn / name).write_bytes((run / name).read_bytes())
    whole = (run / "episodes.jsonl").read_bytes().split(b"\n")[0]
    cut = whole.index("µ".encode()) + 1  # between the two bytes of µ
    with open(torn / "episodes.jsonl", "ab") as sink:
        sink.write(whole[:cut])
    assert {r.item_id for r in read_records(torn)} == set(BREAKS)
    assert load_run(torn).summary["overall"]["n"] == len(BREAKS)
