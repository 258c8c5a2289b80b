"""The LLM judge: the original prompt, verdict reading (ours and the original's), a structured
reply where the endpoint takes a JSON schema, unscored verdicts, the disk cache; the judge is
a scripted model behind the local OpenAI-compatible server, reached by the real openai client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from csmbench.graders import (
    UNSCORED,
    JudgeError,
    JudgeOptions,
    LLMJudge,
    judge_messages,
    original_judge_score,
    read_judge_score,
)
from csmbench.testing import ChatServer, Conversation, Faults, ReplyLike, Script, _error, _send

CANARY_KEY = "sk-canary-judge-5e1f0a"
ORIGINAL_PROMPT = """
You are a strict evaluator assessing answer correctness. Score the model's prediction from 0 to 10.

Question: Describe the figure.
Ground Truth Answer: Grains of 5 µm.
Model Prediction: Equiaxed grains, about 5 µm.

Rules:
- High score if the prediction matches semantically; ignore minor formatting differences.
- Deduct points for partial correctness or incorrect extra information.

Return a single integer from 0 to 10 only.
"""
"""``create_evaluation_prompt`` of CSMBench's src/score_openqa.py (commit 39e0c09), filled in."""
ARGS = ("Describe the figure.", "Grains of 5 µm.", "Equiaxed grains, about 5 µm.")


@pytest.fixture(autouse=True)
def canary_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OPENAI_API_KEY", CANARY_KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return CANARY_KEY


class NoSchemaServer(ChatServer):
    """A server that refuses ``response_format`` with a 400, as some OpenAI-compatible ones do."""

    def handle_chat(self, handler: Any, raw: bytes, at: float) -> None:
        body = json.loads(raw)
        if "response_format" in body:
            self._record(handler, body, "invalid", at, "response_format is not supported")
            _send(handler, 400, _error("response_format is not supported",
                                       "invalid_request_error"))
            return
        super().handle_chat(handler, raw, at)


def judge_for(server: ChatServer, **options: Any) -> LLMJudge:
    return LLMJudge(JudgeOptions(model="judge-model", base_url=server.base_url, **options))


def replying(text: str) -> Script:
    return lambda request: text


def test_the_prompt_is_the_original() -> None:
    assert judge_messages(*ARGS) == [{"role": "user", "content": ORIGINAL_PROMPT}]


@pytest.mark.parametrize(("reply", "ours", "original"), [
    ("Score: 7 out of 10", 7, 10), ("7/10", 7, 10), ("10", 10, 10), ("7", 7, 7),
    ('{"score": 8}', 8, 8), ("```json\n{\"score\": 3}\n```", 3, 3), ("**6**", 6, 6),
    ("I would rate this prediction 6.", 6, 6), ("Score: 8.5", 8.5, 8), ("0", 0, 0),
    ("The prediction is partly right. Score: 5/10", 5, 10), ("between 6 and 7", None, 6),
    ("N/A", None, None), ("Score: 70", None, None), ("I cannot judge this.", None, None),
], ids=["out-of", "slash", "ten", "bare", "json", "fenced-json", "bold", "sentence", "decimal",
        "zero", "reason-then-score", "two-numbers", "na", "out-of-range", "no-number"])
def test_verdict_reading(reply: str, ours: float | None, original: int | None) -> None:
    # original: extract_score of score_openqa.py: any standalone "10" is 10, else the first
    # standalone digit, else the reply as an integer
    assert read_judge_score(reply) == ours
    assert original_judge_score(reply) == original


def test_text_verdict_is_read_robustly_and_the_request_is_deterministic() -> None:
    with ChatServer(replying("Score: 7 out of 10")) as server:
        score = judge_for(server, seed=5).score(*ARGS)
    assert score.value == pytest.approx(0.7) and score.correct  # 7 >= 7
    assert score.metadata["outcome"] == "correct"
    assert score.metadata["judge_score"] == 7 and score.metadata["original_score"] == 10
    [request] = server.completions()
    assert request["messages"] == [{"role": "user", "content": ORIGINAL_PROMPT}]
    assert (request["model"], request["temperature"], request["seed"], request["max_tokens"]) == (
        "judge-model", 0, 5, 64)
    assert request["response_format"]["json_schema"]["schema"]["required"] == ["score"]
    assert server.requests[0].headers["authorization"] == f"Bearer {CANARY_KEY}"


def test_structured_verdict() -> None:
    def script(request: dict[str, Any]) -> ReplyLike:
        return '{"score": 6}' if "response_format" in request else "Score: 9"

    with ChatServer(script) as server:
        score = judge_for(server, pass_score=6.5).score(*ARGS)
    assert score.metadata["judge_score"] == 6 and score.metadata["json_schema"] is True
    assert score.value == pytest.approx(0.6) and not score.correct  # 6 < 6.5


def test_endpoint_without_json_schema_gets_text_requests() -> None:
    with NoSchemaServer(replying("9/10")) as server:
        judge = judge_for(server)
        first, second = judge.score(*ARGS), judge.score(*ARGS[:2], "Something else.")
    assert [r.outcome for r in server.requests] == ["invalid", "ok", "ok"]  # asked once
    assert all("response_format" not in body for body in server.completions())
    assert first.metadata["judge_score"] == second.metadata["judge_score"] == 9
    assert first.metadata["json_schema"] is False


def test_json_schema_required_but_refused_is_an_error() -> None:
    with NoSchemaServer(replying("9/10")) as server, pytest.raises(JudgeError, match="schema"):
        judge_for(server, structured="json_schema").score(*ARGS)


def test_unparseable_verdict_is_unscored_not_zero() -> None:
    with ChatServer(replying("The prediction is thoughtful but I cannot grade it.")) as server:
        score = judge_for(server).score(*ARGS)
    assert score.metadata["outcome"] == UNSCORED and not score.correct
    assert "judge_score" not in score.metadata and score.metadata["original_score"] is None
    assert "no readable 0-10 score" in score.explanation


def test_empty_answer_scores_zero_without_asking() -> None:
    with ChatServer(replying("10")) as server:
        score = judge_for(server).score(ARGS[0], ARGS[1], "  ")
    assert server.requests == [] and score.metadata["judge_score"] == 0 and not score.correct


def test_calls_are_cached_on_disk(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with ChatServer(replying("Score: 8")) as server:
        first = judge_for(server, cache_dir=str(cache)).score(*ARGS)
        again = judge_for(server, cache_dir=str(cache)).score(*ARGS)  # a new judge, same disk
        assert len(server.requests) == 1
        other = judge_for(server, cache_dir=str(cache), seed=1).score(*ARGS)
        assert len(server.requests) == 2  # another seed is another request
    assert first.metadata["cached"] is False and again.metadata["cached"] is True
    assert (again.value, again.metadata["judge_score"]) == (first.value, 8)
    assert other.metadata["judge_score"] == 8
    files = sorted(cache.rglob("*.json"))
    assert len(files) == 2 and not list(cache.rglob("*.tmp"))
    assert CANARY_KEY not in "".join(f.read_text() for f in files)


def test_failures_raise_without_the_key() -> None:
    with (ChatServer(replying("7"), api_key="sk-the-right-key") as server,
          pytest.raises(JudgeError) as caught):
        judge_for(server, max_retries=0).score(*ARGS)
    assert server.requests[0].error and CANARY_KEY in server.requests[0].error  # echoed back
    assert "401" in str(caught.value) and CANARY_KEY not in str(caught.value)
    with ChatServer(replying("7"), faults=Faults(first=1, kinds=("500",))) as server:
        score = judge_for(server, max_retries=2).score(*ARGS)  # retried by the client
    assert score.metadata["judge_score"] == 7 and server.outcomes() == {"500": 1, "ok": 1}


def test_the_judge_conversation_names_the_reference() -> None:
    seen: list[str] = []

    def script(request: dict[str, Any]) -> ReplyLike:
        seen.append(Conversation(request).question)
        return "5"

    with ChatServer(script) as server:
        judge_for(server).score(*ARGS, rubric="Units must match.")
    assert seen[0].startswith(ORIGINAL_PROMPT) and seen[0].endswith(
        "\nAdditional rules:\nUnits must match.\n")
