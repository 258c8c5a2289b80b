"""A canary API key reaches the server's Authorization header and nothing else.

``csmbench eval`` runs through the CLI in subprocesses (``openai:`` and ``langgraph:`` agents,
an LLM judge, ``--cache``, the openai client's debug log on) against a local scripted server
that echoes the key it was sent back: in a 401 (the key rejected), in 429s and 500s
(retried, then given up), in a 200 that carries an error instead of choices, in a 200 HTML
page, and in the 500 of a scripted model that fails naming the key; the judge gets the
same faults. Then ``csmbench report --markdown --html`` renders both runs. Every file of
the run folders, the cache and the report, and everything printed, must be free of the key:
as it is, URL-encoded, or inside base64 at any alignment. Also: whatever a plug-in agent
raises, its record holds no key; a key passed as an agent or judge option is refused
without being repeated.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from csmbench import RunConfig, evaluate, read_records
from csmbench.agents import register_agent
from csmbench.episodes import DatasetWriter, FreeText, Item
from csmbench.errors import CSMBenchError
from csmbench.testing import ChatServer, Conversation, _error, _send

CANARY = f"sk-canary-{secrets.token_hex(16)}"
"""A fresh fake key per test session: nothing can contain it by chance."""
FAULTS = ("ok", "agent-401", "agent-429", "agent-500", "agent-200-error", "agent-200-html",
          "agent-script-error", "judge-401", "judge-429", "judge-500", "judge-200-error",
          "judge-200-html")
"""One item per fault; the item's question names it, and the server acts on it."""
AGENTS = ("openai:scripted", "langgraph:scripted")
JUDGE_MARK = "You are a strict evaluator"
"""Starts the judge's prompt (CSMBench's own), which tells judge requests from the agent's."""


def leaked_forms(secret: str) -> dict[str, bytes]:
    """The secret as it could be written: raw, URL-encoded, or inside base64 at any of the
    three byte alignments (the characters that depend on the secret's bytes alone)."""
    forms = {"raw": secret.encode(), "url": quote(secret, safe="").encode(),
             "url-plus": quote_plus(f"Bearer {secret}").encode()}
    for offset in range(3):
        for name, encode in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
            encoded = encode(b"\0" * offset + secret.encode())
            forms[f"{name}+{offset}"] = encoded[4 * math.ceil(offset / 3):-4]
    return forms


def leaks(data: bytes, where: str) -> list[str]:
    return [f"{where}: {form}" for form, needle in leaked_forms(CANARY).items() if needle in data]


class EchoingServer(ChatServer):
    """The scripted server, failing each item's agent or judge calls as its question says,
    with error bodies that repeat the Authorization header it received."""

    def handle_chat(self, handler: Any, raw: bytes, at: float) -> None:
        body = json.loads(raw)
        fault = _fault_of(body)
        if fault is None:
            super().handle_chat(handler, raw, at)
            return
        echoed = f"Incorrect API key provided: {handler.headers.get('Authorization', '')}"
        self._record(handler, body, fault, at, echoed)
        if fault.endswith("html"):  # a proxy's page instead of JSON
            _send_html(handler, f"<html><body><p>{echoed}</p></body></html>")
            return
        status = int(fault.split("-")[1])  # "agent-429" -> 429, "judge-200-error" -> 200
        headers = {"retry-after-ms": "1"} if status in (429, 500) else {}
        _send(handler, status, _error(echoed, "server_error", "invalid_api_key"), headers)


def _send_html(handler: Any, page: str) -> None:
    data = page.encode("utf-8")
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html; charset=utf-8")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def _fault_of(body: dict[str, Any]) -> str | None:
    """The fault to inject for this request: the item's, if aimed at this caller."""
    chat = Conversation(body)
    fault = re.search(r"\[fault (\S+)\]", chat.question)
    if fault is None or fault.group(1) in ("ok", "agent-script-error"):
        return None
    caller = "judge" if JUDGE_MARK in chat.question else "agent"
    return fault.group(1) if fault.group(1).startswith(caller) else None


def script(request: dict[str, Any]) -> str:
    """The model: the judge scores 8; the agent describes the figure, or fails with the key."""
    chat = Conversation(request)
    if JUDGE_MARK in chat.question:
        return json.dumps({"score": 8})
    if "[fault agent-script-error]" in chat.question:
        raise RuntimeError(f"the scripted model fails and names the key {CANARY}")
    return "Equiaxed grains of about 5 µm."


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One free-text item per fault (judged answers, as CSMBench OpenQA)."""
    root = tmp_path_factory.mktemp("canary") / "data"
    writer = DatasetWriter(root, name="canary", seed=0)
    for index, fault in enumerate(FAULTS):
        writer.add_item(Item(id=f"q-{index:02d}", source="generated", scale="Mesoscale",
                             family="test.openqa",
                             question=f"[fault {fault}] Describe the grains of the figure.",
                             answer=FreeText(reference="Equiaxed grains of 5 µm.")))
    writer.close(generators={"test": "1"})
    return root


@pytest.fixture(scope="module")
def server() -> Iterator[EchoingServer]:
    with EchoingServer(script) as running:
        yield running


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    return {**env, "OPENAI_API_KEY": CANARY, "OPENAI_LOG": "debug", "PYTHONUNBUFFERED": "1",
            "COLUMNS": "200"}


@pytest.fixture(scope="module")
def runs(data: Path, server: EchoingServer, tmp_path_factory: pytest.TempPathFactory
         ) -> dict[str, Any]:
    """Both agents' eval runs (at once) and the report of both, through the CLI."""
    work = tmp_path_factory.mktemp("runs")
    cache = work / "cache"
    outs = {agent: work / agent.split(":")[0] for agent in AGENTS}
    processes = {agent: subprocess.Popen(
        [sys.executable, "-m", "csmbench", "eval", "--data", str(data), "--out", str(out),
         "--agent", agent, "--base-url", server.base_url, "--tools", "none", "--judge",
         "scripted", "--cache", str(cache), "--max-steps", "3", "--concurrency", "4"],
        env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for agent, out in outs.items()}
    printed = {agent: process.communicate(timeout=600) for agent, process in processes.items()}
    report = subprocess.run(
        [sys.executable, "-m", "csmbench", "report", *map(str, outs.values()), "--markdown",
         "--html", str(work / "report.html")],
        env=_env(), capture_output=True, timeout=600, check=False)
    return {"work": work, "outs": outs, "printed": printed, "report": report,
            "codes": {agent: p.returncode for agent, p in processes.items()}}


def test_the_runs_finish_and_the_key_was_really_sent(runs: dict[str, Any],
                                                     server: EchoingServer) -> None:
    assert runs["codes"] == dict.fromkeys(AGENTS, 0), {
        a: err[-3000:] for a, (_, err) in runs["printed"].items()}
    assert runs["report"].returncode == 0, runs["report"].stderr[-3000:]
    sent = {r.headers.get("authorization") for r in server.requests}
    assert sent == {f"Bearer {CANARY}"}
    echoed = [r for r in server.requests if r.error and CANARY in r.error]
    assert {r.outcome for r in echoed} == {*FAULTS[1:], "script_error"} - {"agent-script-error"}


def test_every_fault_ends_as_expected(runs: dict[str, Any]) -> None:
    for out in runs["outs"].values():
        records = [json.loads(line) for line in (out / "episodes.jsonl").read_bytes().split(b"\n")
                   if line]
        by_fault = {FAULTS[int(r["item_id"][2:])]: r for r in records}
        assert len(records) == len(FAULTS) == len(by_fault)
        assert by_fault["ok"]["status"] == "answered"
        assert by_fault["ok"]["score"]["answer"]["value"] == 0.8  # judged
        failed = {fault for fault, r in by_fault.items() if r["status"] == "error"}
        assert failed == set(FAULTS) - {"ok", "judge-200-error"}, out.name  # that one: unscored
        for fault in ("agent-401", "agent-429", "agent-500", "judge-401", "judge-429",
                      "judge-500"):
            assert "Bearer [redacted]" in by_fault[fault]["error"], (out.name, fault)
        assert "choices" in by_fault["agent-200-error"]["error"]
        for fault in ("agent-200-html", "judge-200-html"):
            assert "not JSON" in by_fault[fault]["error"], (out.name, fault)


def test_no_file_holds_the_key(runs: dict[str, Any]) -> None:
    work: Path = runs["work"]
    files = [p for p in work.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"episodes.jsonl", "run.json", "summary.json", "report.html"} <= names
    assert any("judge" in p.parts for p in files) and len(files) > 10  # caches were written
    found = [leak for path in files for leak in leaks(path.read_bytes(), str(path))]
    assert not found


def test_nothing_printed_holds_the_key(runs: dict[str, Any]) -> None:
    found = []
    for agent, (stdout, stderr) in runs["printed"].items():
        assert b"DEBUG" in stderr and b"openai._base_client" in stderr  # its debug log was on
        found += leaks(stdout, f"{agent} stdout") + leaks(stderr, f"{agent} stderr")
    found += leaks(runs["report"].stdout, "report stdout") + leaks(runs["report"].stderr,
                                                                   "report stderr")
    assert not found


def test_the_forms_searched_for_would_be_found() -> None:
    """The search itself: each form of the key is found where it was written."""
    for offset in range(3):
        blob = base64.b64encode(b"x" * offset + f"Authorization: Bearer {CANARY}".encode())
        assert leaks(b"data:" + blob, "blob")
    assert leaks(quote(f"key={CANARY}").encode(), "url") and not leaks(b"sk-canary-0", "none")


@pytest.mark.parametrize("options", ["agent_options", "judge_options"])
def test_a_key_passed_as_an_option_is_refused_without_repeating_it(
        data: Path, server: EchoingServer, tmp_path: Path, options: str) -> None:
    endpoint = {"base_url": server.base_url}
    chosen = {"agent_options": endpoint, "judge_options": endpoint,
              options: {**endpoint, "api_key": CANARY}}
    config = RunConfig(agent="openai:scripted", tools="none", judge="scripted", **chosen)
    with pytest.raises(CSMBenchError) as caught:
        asyncio.run(evaluate(data, tmp_path / "run", config))
    assert "api_key" in str(caught.value) and not leaks(str(caught.value).encode(), "error")
    assert not any(leaks(p.read_bytes(), str(p)) for p in tmp_path.rglob("*") if p.is_file())


class LeakingAgent:
    """A plug-in agent whose failure repeats the key (as a careless library's might)."""

    name = "canary-leaking"

    async def act(self, observation: Any) -> Any:
        raise RuntimeError(f"the agent failed with key {os.environ['OPENAI_API_KEY']}")


register_agent("canary-leaking")(lambda argument: LeakingAgent)


def test_whatever_an_agent_raises_its_record_holds_no_key(
        data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    asyncio.run(evaluate(data, tmp_path / "run", RunConfig(agent="canary-leaking", tools="none"),
                         item_ids=["q-00", "q-01"]))
    records = read_records(tmp_path / "run")
    assert len(records) == 2
    assert all(r.status == "error" and "key [redacted]" in r.error for r in records)
    assert not any(leaks(p.read_bytes(), str(p)) for p in tmp_path.rglob("*") if p.is_file())
