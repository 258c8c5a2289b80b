"""A 100-episode model run with 30 % of API calls failing scores exactly as a clean run."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from csmbench import RunConfig, evaluate, read_records
from csmbench.episodes import DatasetWriter, Item, Numeric
from csmbench.testing import Call, ChatServer, Conversation, Faults, Reply

EPISODES = 100


def measuring_model(request: dict[str, Any]) -> Reply:
    """Calls a tool once, then answers the question's number; every third item wrongly."""
    chat = Conversation(request)
    if not chat.tool_outputs():
        return Reply(calls=(Call("williamson_hall", {"two_theta_deg": [30.0, 50.0, 70.0],
                                                     "fwhm_deg": [0.3, 0.4, 0.5]}),))
    index, value = (float(x) for x in re.findall(r"#(\d+) value ([\d.]+)", chat.question)[0])
    answer = value * (1.5 if index % 3 == 0 else 1.0)
    return Reply(calls=(Call("submit_answer", {"value": answer, "unit": "µm"}),))


@pytest.fixture(scope="module")
def echo_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("echo")
    writer = DatasetWriter(root, name="echo", seed=0)
    for i in range(EPISODES):
        writer.add_item(Item(id=f"q-{i:03d}", source="generated", scale="Microscale",
                             family="test.echo", question=f"Item #{i} value {1 + i / 7:.4f} µm.",
                             answer=Numeric(value=1 + i / 7, unit="µm", rel_tol=0.01)))
    writer.close(generators={"test": "1"})
    return root


def _run(data: Path, out: Path, faults: Faults | None) -> tuple[dict, dict, Any]:
    with ChatServer(measuring_model, faults=faults, record_bodies=False) as server:
        config = RunConfig(agent="openai:scripted", tools="all", concurrency=16,
                           agent_options={"base_url": server.base_url, "max_retries": 8})
        summary = asyncio.run(evaluate(data, out, config))
        outcomes = server.outcomes()
    records = {r.item_id: r for r in read_records(out)}
    return summary, records, outcomes


def test_thirty_percent_failures_change_no_score(echo_dataset: Path, tmp_path: Path) -> None:
    clean, clean_records, _ = _run(echo_dataset, tmp_path / "clean", None)
    faults = Faults(kinds=("429", "500", "503"), rate=0.3, seed=7, retry_after_s=0.01)
    faulty, faulty_records, outcomes = _run(echo_dataset, tmp_path / "faulty", faults)
    failed = sum(n for kind, n in outcomes.items() if kind != "ok")
    assert failed / sum(outcomes.values()) == pytest.approx(0.3, abs=0.08)  # really failing
    assert len(faulty_records) == EPISODES and faulty["outcomes"]["error"] == 0
    assert faulty["overall"] == clean["overall"]
    assert clean["overall"]["correct"] == EPISODES - len(range(0, EPISODES, 3))
    for item_id, record in clean_records.items():
        again = faulty_records[item_id]
        assert (again.status, again.answer, again.score) == (record.status, record.answer,
                                                             record.score)
        assert again.usage.model_calls == record.usage.model_calls == 2
