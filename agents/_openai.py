"""The ``openai:<model>`` agent: a Chat Completions tool loop on any OpenAI-compatible server.

Each reply of the model becomes one action: its tool calls (run in parallel by the env) or,
without tool calls, its text as the final answer; a ``submit_answer`` call is the answer with
value and unit. Malformed tool-call JSON, an unknown tool, an empty reply and the env's error
observations go back to the model as error messages and cost a step, like any other reply.

Transient API failures (429, 5xx, timeouts, dropped connections) are retried by the openai
client itself: exponential backoff from 0.5 s to at most 8 s with up to 25 % jitter, or the
server's ``retry-after-ms``/``Retry-After`` when it gives one (a longer wait than two minutes
is not retried), up to ``max_retries`` times. A call still failing raises ``ModelCallError``, so the runner records the episode with
status "error", never as a wrong answer. The API key is read from ``OPENAI_API_KEY`` only and
is removed from every error message.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import weakref
from collections.abc import AsyncGenerator
from typing import Any

import openai
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat

from csmbench.endpoints import DEFAULT_BASE_URL, PLACEHOLDER_KEY, api_key, redact
from csmbench.env import Action, Observation, Usage
from csmbench.episodes import FinalAnswer, ToolCall
from csmbench.errors import CSMBenchError

from ._openai_cache import CallCache
from ._openai_messages import (
    EMPTY_REPLY,
    Message,
    assistant_message,
    error_messages,
    offered_tools,
    output_image_messages,
    question_messages,
    tool_messages,
)
from ._openai_prices import Price, count_call, price_of
from ._openai_protocol import request_problem
from ._protocol import register_agent

__all__ = ["DEFAULT_BASE_URL", "PLACEHOLDER_KEY", "ModelCallError", "OpenAIAgent",
           "OpenAIAgentFactory", "OpenAIOptions", "sampling_parameters", "to_action"]

"""Sent when ``OPENAI_API_KEY`` is unset and the server is not OpenAI's (vLLM, Ollama)."""
_REASONING_MODEL = re.compile(r"^(o\d|gpt-5)")
_CLOSERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[AsyncGenerator[None, None]]]
_CLOSERS = weakref.WeakKeyDictionary()


class OpenAIOptions(BaseModel):
    """Options of the ``openai:<model>`` agent (``csmbench eval --base-url ... --seed ...``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)
    """Errors name an option without its value: a key passed by mistake is not repeated."""
    base_url: str | None = Field(None, description="API root; default $OPENAI_BASE_URL, "
                                 "else OpenAI's")
    temperature: float | None = Field(None, ge=0, le=2, description="default 0; for "
                                      "reasoning models (o1, o3, o4-mini, gpt-5) not sent")
    seed: int | None = Field(None, description="sampling seed, where the server supports it")
    max_tokens: int | None = Field(None, ge=1, description="completion tokens per call "
                                   "(sent as max_completion_tokens to reasoning models)")
    max_retries: int = Field(6, ge=0, description="retries of a failing call (429, 5xx, "
                             "timeouts) by the openai client")
    timeout_s: float = Field(300.0, gt=0, description="seconds per HTTP request")
    price: tuple[NonNegativeFloat, NonNegativeFloat] | None = Field(
        None, description="USD per 1M input and output tokens; default from the price table")
    cache_dir: str | None = Field(None, description="folder caching replies; None: no cache")


class ModelCallError(CSMBenchError):
    """A model call failed after the client's retries (or the server's reply was unusable)."""


def sampling_parameters(model: str, options: OpenAIOptions) -> dict[str, Any]:
    """temperature, seed and the token limit, as the model's API wants them."""
    reasoning = bool(_REASONING_MODEL.match(model.rsplit("/", 1)[-1].lower()))
    parameters: dict[str, Any] = {}
    temperature = options.temperature if options.temperature is not None else (
        None if reasoning else 0.0)
    if temperature is not None:
        parameters["temperature"] = temperature
    if options.seed is not None:
        parameters["seed"] = options.seed
    if options.max_tokens is not None:
        parameters["max_completion_tokens" if reasoning else "max_tokens"] = options.max_tokens
    return parameters


class OpenAIAgentFactory:
    """Makes one ``OpenAIAgent`` per episode; they share one client per event loop."""

    prefix = "openai"
    """The agent spec's prefix, as errors name the agent ("openai:gpt-4o")."""

    def __init__(self, model: str, options: OpenAIOptions) -> None:
        if not model:
            raise CSMBenchError("agent 'openai' needs a model: openai:<model>, e.g. "
                                "openai:gpt-4o-mini")
        self.model = model
        self.options = options
        self.base_url = (options.base_url or os.environ.get("OPENAI_BASE_URL")
                         or DEFAULT_BASE_URL).rstrip("/")
        api_key(self.base_url, _KEY_HINT)  # fail now rather than in every episode
        self.price: Price | None = options.price or price_of(model)
        self.cache = CallCache(options.cache_dir) if options.cache_dir else None
        self.parameters = sampling_parameters(model, options)
        self._client: openai.AsyncOpenAI | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __call__(self) -> OpenAIAgent:
        return OpenAIAgent(self)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_client": None, "_loop": None}  # clients stay in-process

    async def client(self) -> openai.AsyncOpenAI:
        """The client of the running event loop, made on first use and closed with the loop."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = openai.AsyncOpenAI(
                base_url=self.base_url, api_key=api_key(self.base_url, _KEY_HINT),
                max_retries=self.options.max_retries, timeout=self.options.timeout_s)
            self._loop = loop
            closer = _close_when_loop_ends(self._client)
            await anext(closer)
            _CLOSERS.setdefault(loop, []).append(closer)  # lives as long as the loop
        return self._client

    def failure(self, exc: openai.APIError, key: str) -> ModelCallError:
        """The error to raise for a failed call, with the key removed from its message; it
        names the openai client's error also where a wrapper (langchain-openai) raised it."""
        exc = exc.__cause__ if isinstance(exc.__cause__, openai.APIError) else exc
        status = getattr(exc, "status_code", None)
        what = f"HTTP {status}" if status else "no response"
        text = (f"{self.prefix}:{self.model} at {self.base_url} failed ({what}; the client "
                f"retries 429, 5xx and timeouts up to {self.options.max_retries} times): "
                f"{type(exc).__name__}: {exc}")
        return ModelCallError(redact(text, key))


class OpenAIAgent:
    """A Chat Completions tool loop for one episode.

    Attributes:
        name: "openai:<model>".
        messages: The conversation so far, in Chat Completions format.
        usage: Calls, tokens and cost this episode spent; cache hits add no calls,
            tokens or cost.
    """

    def __init__(self, factory: OpenAIAgentFactory) -> None:
        self.name = f"openai:{factory.model}"
        self.messages: list[Message] = []
        self.usage = Usage(cost_usd=0.0 if factory.price else None)
        self._factory = factory
        self._tools: list[dict[str, Any]] = []
        self._pending: list[str] = []  # call ids of the last reply, to be answered
        self._problems: dict[str, str] = {}  # own diagnosis of the last reply, by call id

    async def act(self, observation: Observation) -> Action:
        self._absorb(observation)
        completion = await self._complete()
        message = completion.choices[0].message
        text = message.content if message.content is not None else message.refusal
        calls = [_call_dict(call, f"call_{len(self.messages)}_{index}")
                 for index, call in enumerate(message.tool_calls or [])]
        action, self._problems = to_action(text, calls)
        if (text and text.strip()) or calls:
            kept = [_without_bad_arguments(call, self._problems) for call in calls]
            self.messages.append(assistant_message(text, kept))
        self._pending = [call["id"] for call in calls]
        return action

    def _absorb(self, observation: Observation) -> None:
        """Add what the observation says to the conversation."""
        if observation.kind == "question":
            self.messages = question_messages(observation)
            self._tools = offered_tools(observation)
        elif observation.kind == "tool_results":
            self.messages += tool_messages(self._pending, observation.tool_results)
            self.messages += output_image_messages(observation)
        elif observation.kind == "error":
            self.messages += error_messages(self._pending, self._problems,
                                            observation.error or "the reply could not be used")
        else:
            raise CSMBenchError(f"episode {observation.item_id} is over; there is nothing to do")
        self._pending, self._problems = [], {}

    async def _complete(self) -> ChatCompletion:
        """One model call, from the cache when it holds this exact request."""
        factory = self._factory
        request: dict[str, Any] = {"model": factory.model, "messages": self.messages,
                                   **({"tools": self._tools} if self._tools else {}),
                                   **factory.parameters}
        problem = request_problem(request, check_images=False)
        if problem is not None:
            raise CSMBenchError(f"csmbench bug: the conversation breaks the Chat Completions "
                                f"protocol: {problem}")
        key = factory.cache.key({**request, "base_url": factory.base_url}) if factory.cache else ""
        cached = factory.cache.get(key) if factory.cache else None
        if cached is not None:
            self.usage.cache_hits += 1
            return ChatCompletion.model_validate(cached)
        client = await factory.client()
        try:
            completion = await client.chat.completions.create(**_untransformed(request))
        except openai.APIError as exc:
            raise factory.failure(exc, client.api_key) from None
        if not isinstance(completion, ChatCompletion):  # the client's text of a non-JSON body
            raise ModelCallError(f"{self.name} at {factory.base_url} replied with a body that "
                                 "is not JSON")
        if not completion.choices:
            raise ModelCallError(f"{self.name} at {factory.base_url} replied without choices")
        self._count(completion)
        if factory.cache:
            self.usage.cache_misses += 1
            factory.cache.put(key, completion.model_dump(mode="json"))
        return completion

    def _count(self, completion: ChatCompletion) -> None:
        prompt = completion.usage.prompt_tokens if completion.usage else 0
        output = completion.usage.completion_tokens if completion.usage else 0
        count_call(self.usage, self._factory.price, prompt, output)


def to_action(text: str | None, calls: list[dict[str, Any]]) -> tuple[Action, dict[str, str]]:
    """The env action for a reply, and the agent's own diagnosis of what is wrong with it.

    Tool calls become a ``list[ToolCall]``; text without calls a ``FinalAnswer``. A reply the
    env cannot use (empty, malformed arguments) is passed on as the raw assistant message, so
    the env records the error and counts the step; the diagnosis (by call id, "" for the
    reply) is what the model is told.
    """
    if not calls:
        if text and text.strip():
            return FinalAnswer(text=text.strip()), {}
        return {"role": "assistant", "content": text or ""}, {"": EMPTY_REPLY}
    parsed, problems = [], {}
    for call in calls:
        name, raw = call["function"]["name"], call["function"]["arguments"]
        try:
            arguments = json.loads(raw or "{}")
        except ValueError as exc:
            problems[call["id"]] = (f"the arguments of {name} are not valid JSON ({exc}): "
                                    f"{raw[:200]!r}; send one JSON object that matches the "
                                    "tool's parameters")
            continue
        if not isinstance(arguments, dict):
            problems[call["id"]] = (f"the arguments of {name} must be a JSON object, got "
                                    f"{type(arguments).__name__}")
            continue
        parsed.append(ToolCall(id=call["id"], name=name, arguments=arguments))
    if problems:
        return assistant_message(text, calls), problems
    return parsed, {}


def _without_bad_arguments(call: dict[str, Any], problems: dict[str, str]) -> dict[str, Any]:
    """The call as kept in the history: malformed arguments become "{}", since some servers
    (vLLM chat templates) parse the arguments of earlier calls and would reject them."""
    if call["id"] not in problems:
        return call
    return {**call, "function": {**call["function"], "arguments": "{}"}}


def _call_dict(call: Any, fallback_id: str) -> dict[str, Any]:
    """A tool call of the reply in request format (an id is made up when the server sent none)."""
    function = getattr(call, "function", None)
    return {"id": call.id or fallback_id, "type": "function",
            "function": {"name": getattr(function, "name", "") or "",
                         "arguments": getattr(function, "arguments", "") or ""}}


async def _close_when_loop_ends(client: openai.AsyncOpenAI) -> AsyncGenerator[None, None]:
    """Wait at ``yield`` until the loop shuts its async generators down (``asyncio.run`` does
    before it closes the loop), then close the client's connections on their own loop.

    Left to the garbage collector, the client would schedule its closing on whatever loop
    runs then, where its connections do not belong ("Event loop is closed").
    """
    try:
        yield
    finally:
        await client.close()


_KEY_HINT = ("export it to evaluate OpenAI models, or pass --base-url for a local server "
             "(vLLM, Ollama)")


@register_agent("openai", options=OpenAIOptions)
def _openai(argument: str, options: OpenAIOptions) -> OpenAIAgentFactory:
    return OpenAIAgentFactory(argument, options)


def _untransformed(request: dict[str, Any]) -> dict[str, Any]:
    """The request with messages and tools passed through ``extra_body``.

    They are plain JSON already; as typed parameters the client would walk them with its
    TypedDict transform, about 30 ms per call for csmbench's tool schemas (openai-python
    issue: the transform is ~100x slower than the HTTP round trip to a local server).
    """
    heavy = {k: request[k] for k in ("messages", "tools") if k in request}
    rest = {k: v for k, v in request.items() if k not in heavy}
    return {**rest, "messages": [], "extra_body": heavy}
