"""An LLM judge for free-text answers (CSMBench OpenQA), over any OpenAI-compatible endpoint.

The default prompt is CSMBench's own, word for word: ``create_evaluation_prompt`` of
``src/score_openqa.py`` in github.com/zhengyt058/CSMBench (commit 39e0c09), sent the same way
(one user message; its "Question" is the item's question, i.e. the original OpenQA prompt with
the caption). Where the original leaves sampling to the server's defaults, the judge sends
temperature 0 and a seed, so reruns agree; it keeps the original's 64-token limit.

The verdict is read from a structured reply where the endpoint takes a JSON schema
(``response_format`` json_schema, ``{"score": 0..10}``), else from the text, robustly
("Score: 7 out of 10" is 7, "7/10" is 7, "10" is 10; see :func:`read_judge_score`). The
original's reading is kept beside it as ``original_score`` (it reads any "10" as 10, so "7 out
of 10" scores 10). A verdict with no readable score is *unscored*, never 0. The score's value
is the judge score / 10; it counts as correct from ``pass_score`` (default 7) up.

Judge calls are cached on disk: one JSON file per request (model, base URL, messages and
parameters; never the API key), written to a temporary file and renamed into place.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import openai
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ConfigDict, Field

from csmbench.endpoints import DEFAULT_BASE_URL, api_key, redact
from csmbench.episodes import Score, write_text_atomic
from csmbench.errors import CSMBenchError

from ._answer import UNSCORED
from ._judge_read import original_judge_score, read_judge_score

__all__ = ["DEFAULT_JUDGE_MODEL", "JUDGE_PROMPT", "JUDGE_SCHEMA", "PASS_SCORE", "Judge",
           "JudgeCache", "JudgeError", "JudgeOptions", "LLMJudge", "judge_messages"]

DEFAULT_JUDGE_MODEL = "gpt-4o"
"""The judge of the CSMBench paper and scripts."""
PASS_SCORE = 7.0
"""Judge score (0-10) from which a free-text answer counts as correct."""
_KEY_HINT = ("the judge needs it for OpenAI, or pass --judge-base-url for a local server "
             "(vLLM, Ollama)")
JUDGE_PROMPT = (
    "\nYou are a strict evaluator assessing answer correctness. "
    "Score the model's prediction from 0 to 10.\n"
    "\n"
    "Question: {question}\n"
    "Ground Truth Answer: {ground_truth}\n"
    "Model Prediction: {prediction}\n"
    "\n"
    "Rules:\n"
    "- High score if the prediction matches semantically; ignore minor formatting differences.\n"
    "- Deduct points for partial correctness or incorrect extra information.\n"
    "\n"
    "Return a single integer from 0 to 10 only.\n"
)
"""CSMBench's judge prompt, verbatim (``str.format`` fields: question, ground_truth, prediction)."""
JUDGE_SCHEMA: dict[str, Any] = {"type": "json_schema", "json_schema": {
    "name": "judge_score", "strict": True, "schema": {
        "type": "object", "additionalProperties": False, "required": ["score"],
        "properties": {"score": {"type": "integer", "enum": list(range(11))}}}}}
"""The ``response_format`` asking for ``{"score": <integer 0..10>}``."""
CACHE_FORMAT = 1
_REPLY_CHARS = 2000


class JudgeError(CSMBenchError):
    """A judge call failed after the client's retries; the episode is recorded as an error."""


@runtime_checkable
class Judge(Protocol):
    """Scores a free-text answer against a reference; what ``CSMBenchEnv(judge=...)`` takes."""

    def score(self, question: str, reference: str, answer: str, *, rubric: str = "") -> Score:
        """The grade of ``answer`` to ``question`` given the ``reference`` text."""
        ...


class JudgeOptions(BaseModel):
    """Options of the LLM judge (``csmbench eval --judge MODEL --judge-base-url URL``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)
    """Errors name an option without its value: a key passed by mistake is not repeated."""
    model: str = Field(DEFAULT_JUDGE_MODEL, min_length=1)
    base_url: str | None = Field(None, description="API root; default $OPENAI_BASE_URL, "
                                 "else OpenAI's (the run passes the agent's)")
    temperature: float = Field(0.0, ge=0, le=2)
    seed: int | None = 0
    max_tokens: int = Field(64, ge=1, description="the original's limit")
    structured: Literal["auto", "json_schema", "text"] = Field(
        "auto", description="auto: ask for a JSON schema, fall back to text when refused")
    pass_score: float = Field(PASS_SCORE, ge=0, le=10)
    cache_dir: str | None = None
    max_retries: int = Field(6, ge=0)
    timeout_s: float = Field(120.0, gt=0)

    def identity(self) -> dict[str, Any]:
        """The options that change scores (what a resumed run must keep)."""
        return self.model_dump(exclude={"cache_dir", "max_retries", "timeout_s"})


def judge_messages(question: str, reference: str, answer: str,
                   rubric: str = "") -> list[dict[str, Any]]:
    """The judge's conversation: one user message with the original prompt (and a rubric)."""
    text = JUDGE_PROMPT.format(question=question, ground_truth=reference, prediction=answer)
    if rubric:
        text += f"\nAdditional rules:\n{rubric}\n"
    return [{"role": "user", "content": text}]


class JudgeCache:
    """Judge replies kept under ``root/<key[:2]>/<key>.json``, one file per request."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    @staticmethod
    def key(request: dict[str, Any]) -> str:
        """The sha256 of the request's canonical JSON."""
        text = json.dumps({"cache_format": CACHE_FORMAT, "kind": "judge", **request},
                          sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored reply, or None (a missing or unreadable file is a miss)."""
        try:
            data = json.loads((self.root / key[:2] / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def put(self, key: str, reply: dict[str, Any]) -> None:
        """Store a reply atomically: a temporary file in the same folder, renamed into place."""
        target = self.root / key[:2] / f"{key}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(target, json.dumps(reply, ensure_ascii=False))


class LLMJudge:
    """The judge: a Chat Completions call per answer, through the (sync) openai client.

    It is called from the env's ``step`` (a worker thread in runs), so calls are blocking and
    may run from several threads at once; the client is shared. The API key comes from
    ``OPENAI_API_KEY`` only (a server other than OpenAI's gets "EMPTY" without one).

    Example:
        >>> judge = LLMJudge(JudgeOptions(model="gpt-4o", base_url="http://localhost:8000/v1"))
        >>> judge.score(question, reference, answer).value  # doctest: +SKIP
        0.7
    """

    def __init__(self, options: JudgeOptions | None = None) -> None:
        self.options = options or JudgeOptions()
        self.base_url = (self.options.base_url or os.environ.get("OPENAI_BASE_URL")
                         or DEFAULT_BASE_URL).rstrip("/")
        api_key(self.base_url, _KEY_HINT)  # fail now, not in every episode
        self.cache = JudgeCache(self.options.cache_dir) if self.options.cache_dir else None
        self._structured = self.options.structured != "text"
        self._client: openai.OpenAI | None = None
        self._lock = threading.Lock()

    def identity(self) -> dict[str, Any]:
        """What decides the scores: the options that change them and the resolved base URL."""
        return {**self.options.identity(), "base_url": self.base_url}

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_client": None, "_lock": None}  # clients stay in-process

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    def score(self, question: str, reference: str, answer: str, *, rubric: str = "") -> Score:
        """The judge's grade of ``answer``; unscored when its verdict has no readable score.

        Raises:
            JudgeError: the endpoint kept failing (after the client's retries).
        """
        if not answer.strip():
            return Score(value=0.0, correct=False, explanation="empty answer: 0, judge not asked",
                         metadata={"outcome": "wrong", "judge_score": 0.0, "original_score": None})
        reply, meta = self._verdict(judge_messages(question, reference, answer, rubric))
        return self._grade(reply, meta)

    def _grade(self, reply: str, meta: dict[str, Any]) -> Score:
        value = read_judge_score(reply)
        meta = {**meta, "original_score": original_judge_score(reply),
                "judge_reply": reply[:_REPLY_CHARS]}
        if value is None:
            return Score(value=0.0, correct=False, metadata={"outcome": UNSCORED, **meta},
                         explanation=f"judge {self.options.model} gave no readable 0-10 score: "
                                     f"{reply[:200]!r}")
        correct = value >= self.options.pass_score
        return Score(value=value / 10, correct=correct,
                     explanation=f"judge {self.options.model} scored {value:g}/10 (correct from "
                                 f"{self.options.pass_score:g}); the original script reads "
                                 f"{meta['original_score']}",
                     metadata={"outcome": "correct" if correct else "wrong",
                               "judge_score": value, **meta})

    def _verdict(self, messages: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
        """The judge's reply text and facts about the call (cached, structured, tokens)."""
        if self._structured:
            try:
                return self._call(messages, structured=True)
            except openai.BadRequestError:
                if self.options.structured == "json_schema":
                    raise self._failure("the endpoint refused the JSON schema") from None
                self._structured = False  # this endpoint takes no json_schema: ask for text
        return self._call(messages, structured=False)

    def _call(self, messages: list[dict[str, Any]], *,
              structured: bool) -> tuple[str, dict[str, Any]]:
        options = self.options
        request: dict[str, Any] = {"model": options.model, "messages": messages,
                                   "temperature": options.temperature,
                                   "max_tokens": options.max_tokens,
                                   **({"seed": options.seed} if options.seed is not None else {}),
                                   **({"response_format": JUDGE_SCHEMA} if structured else {})}
        key = self.cache.key({**request, "base_url": self.base_url}) if self.cache else ""
        cached = self.cache.get(key) if self.cache else None
        if cached is not None:
            return str(cached.get("content") or ""), {**cached.get("meta", {}), "cached": True}
        client = self._get_client()
        try:
            completion = client.chat.completions.create(**request)
        except openai.APIError as exc:
            if structured and isinstance(exc, openai.BadRequestError):
                raise  # perhaps the schema: _verdict decides
            raise self._failure(f"{type(exc).__name__}: {exc}") from None
        if not isinstance(completion, ChatCompletion):  # the client's text of a non-JSON body
            raise self._failure("the endpoint replied with a body that is not JSON")
        message = completion.choices[0].message if completion.choices else None
        content = (message.content or "") if message else ""
        usage = completion.usage
        meta = {"judge_model": options.model, "json_schema": structured,
                "judge_prompt_tokens": usage.prompt_tokens if usage else 0,
                "judge_completion_tokens": usage.completion_tokens if usage else 0}
        if self.cache:
            self.cache.put(key, {"content": content, "meta": meta})
        return content, {**meta, "cached": False}

    def _get_client(self) -> openai.OpenAI:
        with self._lock:
            if self._client is None:
                self._client = openai.OpenAI(
                    base_url=self.base_url, api_key=api_key(self.base_url, _KEY_HINT),
                    max_retries=self.options.max_retries, timeout=self.options.timeout_s)
            return self._client

    def _failure(self, what: str) -> JudgeError:
        text = f"judge {self.options.model} at {self.base_url} failed: {what}"
        return JudgeError(redact(text, os.environ.get("OPENAI_API_KEY")))


