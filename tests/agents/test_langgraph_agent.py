"""The langgraph:<model> agent, through the real langchain-openai, against the scripted server.

The same scripted model plays both agents, so ``openai:`` and ``langgraph:`` must give the
same records: same tool calls, same answers, same scores, and the same conversation sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import ToolMessage

from csmbench import RunConfig, evaluate, read_records
from csmbench.agents import make_agent_factory
from csmbench.env import CSMBenchEnv
from csmbench.episodes import ToolCall
from csmbench.errors import CSMBenchError
from csmbench.testing import (
    Call,
    ChatServer,
    Conversation,
    Faults,
    Reply,
    ReplyLike,
    estimate_tokens,
    first_then,
    scale_bar_script,
)

AGENT = "langgraph:scripted"


@pytest.fixture(autouse=True)
def no_tracing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing may leave the machine: LangSmith tracing stays off whatever the shell says."""
    for name in ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2", "LANGSMITH_API_KEY"):
        monkeypatch.delenv(name, raising=False)



@pytest.fixture(scope="module")
def both(scale_bar_data: Path, scale_bar_items: list[str],
         tmp_path_factory: pytest.TempPathFactory,
         api_key: str) -> dict[str, dict[str, Any]]:
    """All scale-bar items solved by the scripted model as "openai:gpt-4o-mini" and as
    "langgraph:gpt-4o-mini", each against its own server."""
    runs = {}
    for kind in ("openai", "langgraph"):
        out = tmp_path_factory.mktemp(kind)
        with pytest.MonkeyPatch.context() as patch, ChatServer(scale_bar_script) as server:
            patch.setenv("OPENAI_API_KEY", api_key)
            config = RunConfig(agent=f"{kind}:gpt-4o-mini", tools="all", agent_options={
                "base_url": server.base_url, "seed": 11})
            summary = asyncio.run(evaluate(scale_bar_data, out, config, item_ids=scale_bar_items))
        runs[kind] = {"summary": summary, "records": {r.item_id: r for r in read_records(out)},
                      "server": server, "out": out}
    return runs


def calls_of(record: Any) -> list[list[tuple[str, str]]]:
    """The tool calls of each step, as (name, JSON arguments): ids differ between agents."""
    return [[(c.name, json.dumps(c.arguments, sort_keys=True)) for c in step.calls]
            for step in record.trajectory]


def without_ids(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages with each tool-call id replaced by its rank (ids derive from the body)."""
    text = json.dumps(messages)
    ids = [c["id"] for m in messages for c in m.get("tool_calls") or []]
    for rank, call_id in enumerate(ids):
        text = text.replace(call_id, f"id{rank}")
    return json.loads(text)


def test_scripted_model_solves_scale_bar_items(both: dict, canary_key: str,
                                               scale_bar_items: list[str]) -> None:
    run = both["langgraph"]
    records, server = run["records"], run["server"]
    assert run["summary"]["overall"]["correct"] == len(scale_bar_items)
    for record in records.values():
        assert record.status == "answered" and record.agent == "langgraph:gpt-4o-mini"
        assert record.trajectory[0].calls[0].name == "calibrate_scale_bar"
        assert record.trajectory[0].calls[0].arguments == {"image": "img0"}
        assert record.trajectory[1].answer == record.answer and record.answer.unit
    assert server.outcomes() == {"ok": 2 * len(scale_bar_items)}  # no 400: every id answered
    for request in server.completions():
        assert request["temperature"] == 0 and request["seed"] == 11 and not request["stream"]
        images = Conversation(request).images()
        assert len(images) == 1  # PNG or JPEG as stored; TIFF converted to PNG
        assert images[0].startswith(("data:image/png;base64,", "data:image/jpeg;base64,"))
    assert {r.headers["authorization"] for r in server.requests} == {f"Bearer {canary_key}"}


def test_openai_and_langgraph_agents_are_scored_identically(both: dict) -> None:
    openai_run, langgraph_run = both["openai"], both["langgraph"]
    assert langgraph_run["summary"]["overall"] == openai_run["summary"]["overall"]
    assert langgraph_run["summary"]["by_family"] == openai_run["summary"]["by_family"]
    for item_id, record in langgraph_run["records"].items():
        twin = openai_run["records"][item_id]
        assert calls_of(record) == calls_of(twin)
        assert (record.answer, record.score, record.steps) == (twin.answer, twin.score, twin.steps)


def test_both_agents_send_the_same_conversation_and_tools(both: dict) -> None:
    def by_turn(run: dict) -> dict[tuple[str, int], dict[str, Any]]:
        return {(Conversation(body).question, Conversation(body).turns): body
                for body in run["server"].completions()}

    openai_bodies, langgraph_bodies = by_turn(both["openai"]), by_turn(both["langgraph"])
    assert openai_bodies.keys() == langgraph_bodies.keys() and len(openai_bodies) == 10
    for turn, body in langgraph_bodies.items():
        twin = openai_bodies[turn]
        assert body["tools"] == twin["tools"]  # the registry's schemas, byte for byte
        assert without_ids(body["messages"]) == without_ids(twin["messages"])
        assert [m["role"] for m in body["messages"]] == (
            ["system", "user"] if turn[1] == 0 else ["system", "user", "assistant", "tool"])


def test_usage_and_cost_are_recorded(both: dict) -> None:
    run = both["langgraph"]
    usages = [r.usage for r in run["records"].values()]
    assert all(u.model_calls == 2 and u.completion_tokens > 0 for u in usages)
    assert sum(u.prompt_tokens for u in usages) == sum(
        estimate_tokens(body) for body in run["server"].completions())
    for u in usages:  # gpt-4o-mini: 0.15 and 0.60 USD per 1M tokens
        assert u.cost_usd == pytest.approx((u.prompt_tokens * 0.15 + u.completion_tokens * 0.6)
                                           / 1e6)
    twins = {i: r.usage for i, r in both["openai"]["records"].items()}
    assert {i: r.usage.completion_tokens for i, r in run["records"].items()} == {
        i: u.completion_tokens for i, u in twins.items()}


def test_the_graph_pauses_at_the_env_and_resumes_with_its_results(
        scale_bar_data: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Driven by hand: the env, not the graph, runs the tool; its result becomes a
    ToolMessage when the graph resumes."""
    caplog.set_level(logging.WARNING)
    env = CSMBenchEnv(scale_bar_data)
    with ChatServer(scale_bar_script) as server:
        agent = make_agent_factory(AGENT, base_url=server.base_url)()

        async def episode() -> tuple[Any, ...]:
            _, info = env.reset(options={"item_id": "scale_bar.pixel_size-0002"})
            action = await agent.act(info["observation"])
            paused = await agent.graph.aget_state(agent.config)
            _, _, _, _, info = env.step(action)
            answer = await agent.act(info["observation"])
            return action, paused, answer, await agent.messages()

        action, paused, answer, messages = asyncio.run(episode())
    assert isinstance(action, list) and isinstance(action[0], ToolCall)
    assert paused.next == ("env",) and paused.interrupts[0].value == action
    assert env.record is None  # the episode goes on until the answer reaches the env
    tool_message = messages[3]
    assert isinstance(tool_message, ToolMessage) and tool_message.tool_call_id == action[0].id
    assert json.loads(tool_message.content)["nm_per_pixel"] > 0
    assert [c.name for c in answer] == ["submit_answer"]
    env.step(answer)
    assert env.record.status == "answered" and env.record.correct
    assert "unregistered type" not in caplog.text  # the checkpointer knows csmbench's types


def test_parallel_tool_calls_and_overlay_image(run_agent) -> None:
    both_calls = [Call("calibrate_scale_bar", {"image": "img0"}),
                  Call("estimate_grain_size", {"image": "img0", "nm_per_pixel": 50,
                                               "overlay": True, "boundaries": "dark"})]
    with ChatServer(first_then(both_calls, scale_bar_script)) as server:
        _, [record] = run_agent(server, agent=AGENT)
    assert record.correct and [c.name for c in record.trajectory[0].calls] == [
        "calibrate_scale_bar", "estimate_grain_size"]
    assert record.trajectory[0].results[1].attachments == ["out1"]
    messages = server.completions()[1]["messages"]
    ids = [call["id"] for call in messages[-4]["tool_calls"]]
    assert [(m["role"], m.get("tool_call_id")) for m in messages[-3:]] == [
        ("tool", ids[0]), ("tool", ids[1]), ("user", None)]
    assert "out1 (image, written by estimate_grain_size" in messages[-1]["content"][0]["text"]
    assert messages[-1]["content"][-1]["image_url"]["url"].startswith("data:image/png;base64,")


@pytest.mark.parametrize(("mistake", "role", "says"), [
    (Call("calibrate_scale_bar", '{"image": "img0"'), "tool", "not valid JSON"),
    (Call("calibrate_scale_bar", "[1, 2]"), "tool", "must be a JSON object"),
    (Call("measure_everything", {"image": "img0"}), "tool", "not offered"),
    (None, "user", "reply was empty"),
    (Call("submit_answer", {"value": "a lot"}), "tool", "answer is malformed"),
    ([Call("calibrate_scale_bar", {"image": "img0"}), Call("submit_answer", {"value": 1.0})],
     "tool", "must be the only call"),
], ids=["malformed-json", "arguments-not-an-object", "unknown-tool", "empty-reply",
        "bad-answer", "answer-beside-a-call"])
def test_mistakes_go_back_to_the_model(run_agent, mistake: ReplyLike, role: str,
                                       says: str) -> None:
    with ChatServer(first_then(mistake, scale_bar_script)) as server:
        _, [record] = run_agent(server, agent=AGENT)
    assert record.status == "answered" and record.correct and record.steps == 3
    first = record.trajectory[0]
    assert first.error or not first.results[0].ok  # the mistake used a step, on the record
    feedback = server.completions()[1]["messages"]
    told = [m for m in feedback if m["role"] == role][-1]
    assert says in told["content"]
    if role == "tool":
        first_reply = next(m for m in feedback if m["role"] == "assistant")
        assert told["tool_call_id"] in {c["id"] for c in first_reply["tool_calls"]}
        assert all(json.loads(c["function"]["arguments"]) is not None
                   for c in first_reply["tool_calls"])  # malformed JSON is not sent back
    assert server.outcomes() == {"ok": 3}


def test_text_reply_is_the_final_answer(run_agent) -> None:
    def script(request: dict[str, Any]) -> ReplyLike:
        readings = Conversation(request).tool_outputs("calibrate_scale_bar")
        if not readings:
            return Call("calibrate_scale_bar", {"image": "img0"})
        return Reply(text=f"The pixel size is {readings[0].data['nm_per_pixel']:.4g} nm/px.")

    with ChatServer(script) as server:
        _, [record] = run_agent(server, agent=AGENT)
    assert record.correct and record.answer.text.startswith("The pixel size is")
    assert record.answer.value is None and record.usage.cost_usd is None  # unknown model
    assert record.usage.model_calls == 2 and server.outcomes() == {"ok": 2}


@pytest.mark.parametrize(("faults", "options"), [
    (Faults(first=2, kinds=("429", "500")), {}),
    (Faults(first=1, rate=0.3, seed=7, kinds=("429", "500", "503")), {}),
    (Faults(first=1, kinds=("drop",)), {}),
    (Faults(first=1, kinds=("hang",), hang_s=2.0), {"timeout_s": 0.5}),
], ids=["429-then-500", "30-percent-seeded", "dropped-connection", "timeout"])
def test_injected_faults_are_retried_to_the_same_result(run_agent, both: dict, faults: Faults,
                                                        options: dict) -> None:
    with ChatServer(scale_bar_script, faults=faults) as server:
        _, [record] = run_agent(server, agent=AGENT, **options)
    assert record.status == "answered" and record.correct
    assert record.answer == both["openai"]["records"][record.item_id].answer
    assert sum(n for kind, n in server.outcomes().items() if kind != "ok") >= 1
    assert server.outcomes()["ok"] == 2 and record.usage.model_calls == 2


def test_failing_server_gives_error_records_and_the_run_goes_on(run_agent) -> None:
    items = ["scale_bar.pixel_size-0002", "scale_bar.field_width-0000"]
    with ChatServer(scale_bar_script, faults=Faults(rate=1.0, kinds=("500",))) as server:
        summary, records = run_agent(server, agent=AGENT, items=items, max_retries=2)
    assert [r.status for r in records] == ["error", "error"]
    for record in records:
        assert record.error.startswith("ModelCallError: langgraph:scripted at ")
        assert "HTTP 500" in record.error and "InternalServerError" in record.error
    assert summary["outcomes"]["error"] == 2 and len(server.requests) == 2 * 3


def test_api_key_never_reaches_records_logs_or_errors(run_agent, tmp_path: Path, canary_key: str,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # the openai, httpx and langchain loggers included
    with ChatServer(scale_bar_script, api_key="sk-the-right-key") as server:
        _, [record] = run_agent(server, out="leak", agent=AGENT)
    assert "chat/completions" in caplog.text and canary_key not in caplog.text
    assert server.requests[0].error and canary_key in server.requests[0].error  # echoed back
    assert record.status == "error" and "HTTP 401" in record.error
    assert "[redacted]" in record.error and canary_key not in record.error
    for path in (tmp_path / "leak").rglob("*"):
        if path.is_file():
            assert canary_key not in path.read_text(errors="replace"), path


def test_second_identical_run_is_answered_from_the_cache(run_agent, tmp_path: Path) -> None:
    cache = str(tmp_path / "cache")
    with ChatServer(scale_bar_script) as server:
        _, [first] = run_agent(server, out="first", agent=AGENT, cache_dir=cache)
        calls = len(server.requests)
        _, [second] = run_agent(server, out="second", agent=AGENT, cache_dir=cache)
    assert len(server.requests) == calls == 2  # nothing new reached the server
    assert (first.usage.cache_misses, first.usage.cache_hits, first.usage.model_calls) == (2, 0, 2)
    assert (second.usage.cache_misses, second.usage.cache_hits, second.usage.model_calls) == (
        0, 2, 0)
    assert second.answer == first.answer and second.correct
    assert calls_of(second) == calls_of(first)


def test_eval_command_runs_the_langgraph_agent(scale_bar_data: Path, tmp_path: Path,
                                               canary_key: str) -> None:
    csmbench = str(Path(sys.executable).with_name("csmbench"))
    with ChatServer(scale_bar_script) as server:
        subprocess.run([csmbench, "eval", "--data", str(scale_bar_data), "--out",
                        str(tmp_path / "run"), "--agent", "langgraph:local-model", "--items",
                        "scale_bar.pixel_size-0002", "--base-url", server.base_url,
                        "--temperature", "0.2", "--seed", "7", "--max-tokens", "64",
                        "--price", "1,2"],
                       check=True, capture_output=True, timeout=300,
                       env={**os.environ, "OPENAI_API_KEY": canary_key})
    assert {(r.body["temperature"], r.body["seed"], r.body["max_completion_tokens"])
            for r in server.requests} == {(0.2, 7, 64)}
    record = json.loads((tmp_path / "run" / "episodes.jsonl").read_text())
    assert record["status"] == "answered" and record["agent"] == "langgraph:local-model"
    usage = record["usage"]
    assert usage["cost_usd"] == pytest.approx(
        (usage["prompt_tokens"] * 1 + usage["completion_tokens"] * 2) / 1e6)


# -- options and the import on their own -------------------------------------------------------

def test_reasoning_models_get_no_temperature(run_agent) -> None:
    with ChatServer(lambda request: "3 nm/px") as server:
        run_agent(server, agent="langgraph:o4-mini", seed=1, max_tokens=99)
    [body] = server.completions()
    assert "temperature" not in body and (body["seed"], body["max_completion_tokens"]) == (1, 99)
    assert body["messages"][0]["role"] == "developer"  # langchain-openai's choice for o-series


@pytest.mark.parametrize(("spec", "options", "message"), [
    ("langgraph", {}, "needs a model"),
    ("langgraph:gpt-4o", {"temprature": 0.5}, "Did you mean 'temperature'"),
    ("langgraph:gpt-4o", {"temperature": 5}, "temperature"),
], ids=["no-model", "misspelt", "out-of-range"])
def test_bad_specs_and_options_are_named(spec: str, options: dict, message: str) -> None:
    with pytest.raises(CSMBenchError, match=message):
        make_agent_factory(spec, base_url="http://127.0.0.1:9/v1", **options)


def test_the_factory_pickles_without_its_clients(scale_bar_data: Path) -> None:
    """As the Ray backend sends it to workers: the copy makes its own client and model."""
    env = CSMBenchEnv(scale_bar_data)
    with ChatServer(lambda request: "3 nm/px") as server:
        factory = make_agent_factory(AGENT, base_url=server.base_url)
        answers = []
        for _ in range(2):
            _, info = env.reset(options={"item_id": "scale_bar.pixel_size-0002"})
            answers.append(asyncio.run(factory().act(info["observation"])))
            factory = pickle.loads(pickle.dumps(factory))  # after its client was made
    assert [a.text for a in answers] == ["3 nm/px"] * 2 and server.outcomes() == {"ok": 2}


def test_importing_csmbench_does_not_load_langchain() -> None:
    code = ("import sys, csmbench.agents; assert 'langgraph' in csmbench.agents.AGENTS; "
            "print(sorted(m for m in ('langgraph', 'langchain_openai') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True, timeout=300)
    assert out.stdout.strip() == "[]"
