"""The openai:<model> agent, through the real openai client, against the scripted local server."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import openai
import pytest

from csmbench import RunConfig, evaluate, read_records
from csmbench.agents import make_agent_factory, question_messages
from csmbench.agents._openai import OpenAIOptions, sampling_parameters
from csmbench.env import CSMBenchEnv
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


@pytest.fixture(scope="module")
def solved(scale_bar_data: Path, scale_bar_items: list[str],
           tmp_path_factory: pytest.TempPathFactory,
           api_key: str) -> dict[str, Any]:
    """All scale-bar items solved by the scripted model as "openai:gpt-4o-mini"."""
    out = tmp_path_factory.mktemp("solved")
    with pytest.MonkeyPatch.context() as patch, ChatServer(scale_bar_script) as server:
        patch.setenv("OPENAI_API_KEY", api_key)
        config = RunConfig(agent="openai:gpt-4o-mini", tools="all", agent_options={
            "base_url": server.base_url, "seed": 11})
        summary = asyncio.run(evaluate(scale_bar_data, out, config, item_ids=scale_bar_items))
    return {"summary": summary, "records": {r.item_id: r for r in read_records(out)},
            "server": server, "out": out}


def test_scripted_model_solves_scale_bar_items(solved: dict[str, Any], canary_key: str,
                                               scale_bar_items: list[str]) -> None:
    records, server = solved["records"], solved["server"]
    assert solved["summary"]["overall"]["correct"] == len(scale_bar_items)
    for record in records.values():
        assert record.status == "answered" and record.agent == "openai:gpt-4o-mini"
        assert record.trajectory[0].calls[0].name == "calibrate_scale_bar"
        assert record.trajectory[0].calls[0].arguments == {"image": "img0"}
        assert record.answer.value is not None and record.answer.unit
    assert server.outcomes() == {"ok": 2 * len(scale_bar_items)}  # no 400: every id answered
    for request in server.completions():
        assert request["temperature"] == 0 and request["seed"] == 11
        assert [t["function"]["name"] for t in request["tools"]][-1] == "submit_answer"
        images = Conversation(request).images()
        assert len(images) == 1  # PNG or JPEG as stored; TIFF converted to PNG
        assert images[0].startswith(("data:image/png;base64,", "data:image/jpeg;base64,"))
    second = [r for r in server.completions() if Conversation(r).turns == 1]
    assert all(r["messages"][-1]["role"] == "tool" and r["messages"][-1]["tool_call_id"]
               == r["messages"][-2]["tool_calls"][0]["id"] for r in second)
    assert {r.headers["authorization"] for r in server.requests} == {f"Bearer {canary_key}"}


def test_usage_and_cost_are_recorded(solved: dict[str, Any]) -> None:
    usages = [r.usage for r in solved["records"].values()]
    assert all(u.model_calls == 2 and u.completion_tokens > 0 for u in usages)
    assert sum(u.prompt_tokens for u in usages) == sum(
        estimate_tokens(body) for body in solved["server"].completions())
    for u in usages:  # gpt-4o-mini: 0.15 and 0.60 USD per 1M tokens
        assert u.cost_usd == pytest.approx((u.prompt_tokens * 0.15 + u.completion_tokens * 0.6)
                                           / 1e6)
    text = (solved["out"] / "episodes.jsonl").read_text()
    assert "cost_usd" in text and "sk-canary" not in text


def test_parallel_tool_calls_and_overlay_image(run_agent) -> None:
    both = [Call("calibrate_scale_bar", {"image": "img0"}),
            Call("estimate_grain_size", {"image": "img0", "nm_per_pixel": 50, "overlay": True,
                                         "boundaries": "dark"})]
    with ChatServer(first_then(both, scale_bar_script)) as server:
        _, [record] = run_agent(server)
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
    (Call("measure_everything", {"image": "img0"}), "tool", "not offered"),
    (None, "user", "reply was empty"),
    (Reply(text="   "), "user", "reply was empty"),
    (Call("submit_answer", {"value": "a lot"}), "tool", "answer is malformed"),
    ([Call("calibrate_scale_bar", {"image": "img0"}), Call("submit_answer", {"value": 1.0})],
     "tool", "must be the only call"),
], ids=["malformed-json", "unknown-tool", "empty-reply", "blank-text", "bad-answer",
        "answer-beside-a-call"])
def test_mistakes_go_back_to_the_model(run_agent, mistake: ReplyLike, role: str,
                                       says: str) -> None:
    with ChatServer(first_then(mistake, scale_bar_script)) as server:
        _, [record] = run_agent(server)
    assert record.status == "answered" and record.correct and record.steps == 3
    first = record.trajectory[0]
    assert first.error or not first.results[0].ok  # the mistake used a step, on the record
    feedback = server.completions()[1]["messages"]
    told = [m for m in feedback if m["role"] == role][-1]
    assert says in told["content"]
    if role == "tool":
        first_reply = next(m for m in feedback if m["role"] == "assistant")
        assert told["tool_call_id"] in {c["id"] for c in first_reply["tool_calls"]}
    assert server.outcomes() == {"ok": 3}


def test_text_reply_is_the_final_answer(run_agent) -> None:
    def script(request: dict[str, Any]) -> ReplyLike:
        readings = Conversation(request).tool_outputs("calibrate_scale_bar")
        if not readings:
            return Call("calibrate_scale_bar", {"image": "img0"})
        return f"The pixel size is {readings[0].data['nm_per_pixel']:.4g} nm/px."

    with ChatServer(script) as server:
        _, [record] = run_agent(server)
    assert record.correct and record.answer.text.startswith("The pixel size is")
    assert record.answer.value is None and record.usage.cost_usd is None  # unknown model


@pytest.mark.parametrize(("faults", "options"), [
    (Faults(first=2, kinds=("429", "500")), {}),
    (Faults(first=1, rate=0.3, seed=7, kinds=("429", "500", "503")), {}),
    (Faults(first=1, kinds=("drop",)), {}),
    (Faults(first=1, kinds=("hang",), hang_s=2.0), {"timeout_s": 0.5}),
], ids=["429-then-500", "30-percent-seeded", "dropped-connection", "timeout"])
def test_injected_faults_are_retried_to_the_same_result(run_agent, solved: dict[str, Any],
                                                        faults: Faults, options: dict) -> None:
    with ChatServer(scale_bar_script, faults=faults) as server:
        _, [record] = run_agent(server, **options)
    assert record.status == "answered" and record.correct
    assert record.answer == solved["records"][record.item_id].answer
    assert sum(n for kind, n in server.outcomes().items() if kind != "ok") >= 1
    assert server.outcomes()["ok"] == 2 and record.usage.model_calls == 2


def test_retry_after_is_honoured(run_agent) -> None:
    with ChatServer(lambda request: "3 nm/px",
                    faults=Faults(first=1, kinds=("429",), retry_after_s=0.4)) as server:
        run_agent(server)
    first, second = server.requests
    assert (first.outcome, second.outcome) == ("429", "ok")
    assert 0.4 <= second.at - first.at < 3.0


def test_failing_server_gives_error_records_and_the_run_goes_on(run_agent) -> None:
    items = ["scale_bar.pixel_size-0002", "scale_bar.field_width-0000"]
    with ChatServer(scale_bar_script, faults=Faults(rate=1.0, kinds=("500",))) as server:
        summary, records = run_agent(server, items=items, max_retries=2)
    assert [r.status for r in records] == ["error", "error"]
    assert all("HTTP 500" in r.error and "InternalServerError" in r.error for r in records)
    assert summary["outcomes"]["error"] == 2 and len(server.requests) == 2 * 3


def test_api_key_never_reaches_records_logs_or_errors(run_agent, tmp_path: Path, canary_key: str,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # the openai and httpx loggers included
    with ChatServer(scale_bar_script, api_key="sk-the-right-key") as server:
        _, [record] = run_agent(server, out="leak")
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
        _, [first] = run_agent(server, out="first", cache_dir=cache)
        calls = len(server.requests)
        _, [second] = run_agent(server, out="second", cache_dir=cache)
    assert len(server.requests) == calls == 2  # nothing new reached the server
    assert (first.usage.cache_misses, first.usage.cache_hits, first.usage.model_calls) == (2, 0, 2)
    assert (second.usage.cache_misses, second.usage.cache_hits, second.usage.model_calls) == (
        0, 2, 0)
    assert second.answer == first.answer and second.correct
    assert len(list(Path(cache).rglob("*.json"))) == 2


def test_eval_command_passes_the_model_options(scale_bar_data: Path, tmp_path: Path,
                                               canary_key: str) -> None:
    csmbench = str(Path(sys.executable).with_name("csmbench"))
    with ChatServer(scale_bar_script) as server:
        subprocess.run([csmbench, "eval", "--data", str(scale_bar_data), "--out",
                        str(tmp_path / "run"), "--agent", "openai:local-model", "--items",
                        "scale_bar.pixel_size-0002", "--base-url", server.base_url,
                        "--temperature", "0.2", "--seed", "7", "--max-tokens", "64",
                        "--price", "1,2", "--cache", str(tmp_path / "cache")],
                       check=True, capture_output=True, timeout=300,
                       env={**os.environ, "OPENAI_API_KEY": canary_key})
    assert {(r.body["temperature"], r.body["seed"], r.body["max_tokens"])
            for r in server.requests} == {(0.2, 7, 64)}
    config = json.loads((tmp_path / "run" / "run.json").read_text())
    assert config["agent_options"] == {"base_url": server.base_url, "max_tokens": 64,
                                       "seed": 7, "temperature": 0.2}
    record = json.loads((tmp_path / "run" / "episodes.jsonl").read_text())
    usage = record["usage"]
    assert usage["cache_misses"] == 2 and usage["cost_usd"] == pytest.approx(
        (usage["prompt_tokens"] * 1 + usage["completion_tokens"] * 2) / 1e6)


# -- options, messages and the server on their own -------------------------------------------

@pytest.mark.parametrize(("options", "message"), [
    ({"temprature": 0.5}, "Did you mean 'temperature'"),
    ({"temperature": 5}, "temperature"),
    ({"price": [1.0]}, "price"),
], ids=["misspelt", "out-of-range", "bad-price"])
def test_bad_options_are_named(options: dict, message: str) -> None:
    with pytest.raises(CSMBenchError, match=message):
        make_agent_factory("openai:gpt-4o", base_url="http://127.0.0.1:9/v1", **options)


def test_missing_model_or_key_fails_early(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CSMBenchError, match="needs a model"):
        make_agent_factory("openai")
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(CSMBenchError, match="OPENAI_API_KEY is not set"):
        make_agent_factory("openai:gpt-4o")
    make_agent_factory("openai:llama3", base_url="http://127.0.0.1:11434/v1")  # placeholder key
    make_agent_factory("reference", temperature=0.3)  # agents without options ignore them


@pytest.mark.parametrize(("model", "expected"), [
    ("gpt-4o-mini", {"temperature": 0.0, "seed": 1, "max_tokens": 99}),
    ("o4-mini", {"seed": 1, "max_completion_tokens": 99}),
    ("openai/gpt-5-mini", {"seed": 1, "max_completion_tokens": 99}),
], ids=["chat-model", "reasoning-model", "routed-reasoning-model"])
def test_sampling_parameters(model: str, expected: dict) -> None:
    assert sampling_parameters(model, OpenAIOptions(seed=1, max_tokens=99)) == expected


def test_patterns_are_listed_and_their_plots_shown(scale_bar_data: Path) -> None:
    env = CSMBenchEnv(scale_bar_data)
    _, info = env.reset(options={"item_id": "xrd.strongest_d-0000"})
    system, user = question_messages(info["observation"])
    assert "submit_answer" in system["content"] and "at most 16 replies" in system["content"]
    text = user["content"][0]["text"]
    assert "- xrd0 (pattern):" in text and "not shown" in text and "its plot is plot0" in text
    images = [p for p in user["content"] if p["type"] == "image_url"]
    assert len(images) == 1 and len(images[0]["image_url"]["url"]) < 200_000  # the plot only
    assert Conversation({"messages": [user]}).attachments() == ["xrd0", "plot0"]


def test_server_rejects_what_openai_rejects() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    tiff = "data:image/png;base64,SUkqAAgAAAA="  # TIFF bytes labelled as PNG
    cases = [[{"role": "user", "content": "hi"}, {"role": "assistant", "tool_calls": [call]},
              {"role": "user", "content": "and?"}],
             [{"role": "tool", "tool_call_id": "call_9", "content": "{}"}],
             [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": tiff}}]}]]
    with (ChatServer(lambda request: "fine") as server,
          openai.OpenAI(base_url=server.base_url, api_key="EMPTY", max_retries=0) as client):
        for messages, says in zip(cases, ["did not have response messages: call_1",
                                          "must be a response to a preceding",
                                          "unsupported image"], strict=True):
            with pytest.raises(openai.BadRequestError, match=says):
                client.chat.completions.create(model="m", messages=messages)
        assert [m.id for m in client.models.list()] == ["scripted"]


def test_script_errors_are_not_retried() -> None:
    with (ChatServer(lambda request: 1 / 0) as server,
          openai.OpenAI(base_url=server.base_url, api_key="EMPTY", max_retries=3) as client,
          pytest.raises(openai.InternalServerError, match="ZeroDivisionError")):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert server.outcomes() == {"script_error": 1}


def test_server_handles_many_concurrent_requests() -> None:
    async def many(url: str) -> float:
        async with openai.AsyncOpenAI(base_url=url, api_key="EMPTY", max_retries=0) as client:
            start = time.perf_counter()
            await asyncio.gather(*(client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": str(i)}]) for i in range(64)))
            return time.perf_counter() - start

    with ChatServer(lambda request: "ok", latency_s=0.3) as server:
        seconds = asyncio.run(many(server.base_url))
    assert server.outcomes() == {"ok": 64} and seconds < 3.0  # served at once, not one by one
