"""The model side of the ``langgraph:<model>`` agent: ChatOpenAI, its replies, their cache.

``chat_model`` builds a ``langchain_openai.ChatOpenAI`` around the ``openai.AsyncOpenAI``
client of the ``openai:<model>`` agent (one per event loop, same retries, timeout and key),
so both agents reach the server through the same client and the same sampling parameters
(except that langchain-openai sends the token limit as ``max_completion_tokens`` to every
model). Its replies are parsed by langchain-openai, except that a tool call whose arguments
the openai agent would refuse (not JSON, or JSON that is not an object, which langchain-openai
1.x cannot even put in an ``AIMessage``) is kept as an invalid tool call with its raw text.
``reply_parts`` turns the ``AIMessage`` of a reply back into the request-format tool
calls that ``to_action`` of the openai agent diagnoses, and ``history_message`` is the
``AIMessage`` kept in the conversation. ``ReplyCache`` keeps replies on disk in the openai
agent's ``CallCache``. Like the openai agent, requests pass messages and tools to the client
in ``extra_body``, which sends them as they are instead of walking them with its slow
TypedDict transform; the body on the wire is the same.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import openai
from langchain_core.messages import AIMessage, BaseMessage, message_to_dict, messages_from_dict
from langchain_core.output_parsers.openai_tools import make_invalid_tool_call
from langchain_core.outputs import ChatResult
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from csmbench.endpoints import redact

from ._openai import ModelCallError, OpenAIOptions
from ._openai_cache import CallCache

__all__ = ["ReplyCache", "chat_model", "history_message", "reply_parts"]

_DETAIL_CHARS = 300
"""How much of an unusable reply's body its error quotes."""


def chat_model(model: str, client: openai.AsyncOpenAI, parameters: dict[str, Any],
               options: OpenAIOptions) -> ChatOpenAI:
    """A ChatOpenAI on ``client`` for Chat Completions calls without streaming.

    Args:
        model: The model name sent to the server.
        client: The async client of the event loop; its base URL, key, retries and timeout
            are the ones used.
        parameters: ``sampling_parameters`` of the openai agent: temperature (absent for
            reasoning models), seed, and the token limit.
        options: The agent's options (retries and timeout of the unused sync client).
    """
    limit = parameters.get("max_tokens", parameters.get("max_completion_tokens"))
    return _ChatOpenAI(
        model=model, base_url=str(client.base_url), api_key=SecretStr(client.api_key),
        async_client=client.chat.completions, root_async_client=client,
        temperature=parameters.get("temperature"), seed=parameters.get("seed"),
        max_tokens=limit, max_retries=options.max_retries, timeout=options.timeout_s,
        use_responses_api=False, disable_streaming=True, cache=False)


class _ChatOpenAI(ChatOpenAI):
    """ChatOpenAI whose replies keep unusable tool-call arguments as invalid tool calls,
    and whose requests skip the openai client's transform of messages and tools."""

    def _get_request_payload(self, input_: Any, *, stop: list[str] | None = None,
                             **kwargs: Any) -> dict[str, Any]:
        """The request with messages and tools in ``extra_body``: they are plain JSON already,
        and the client's TypedDict transform of them takes ~20 ms a call (as the openai
        agent found); the body sent is the same."""
        payload = super()._get_request_payload(input_, stop=stop, **kwargs)
        heavy = {key: payload.pop(key) for key in ("messages", "tools") if key in payload}
        return {**payload, "messages": [], "extra_body": {**(payload.get("extra_body") or {}),
                                                          **heavy}}

    def _create_chat_result(self, response: dict | openai.BaseModel,
                            generation_info: dict | None = None) -> ChatResult:
        if not isinstance(response, dict | openai.BaseModel):
            raise self._unusable_reply("a body that is not JSON", response)
        data = (copy.deepcopy(response) if isinstance(response, dict)
                else response.model_dump(warnings=False))
        if data.get("error"):
            raise self._unusable_reply("an error instead of choices", data["error"])
        unusable = _pop_unusable_calls(data)
        if not unusable:
            return super()._create_chat_result(response, generation_info)
        result = super()._create_chat_result(data, generation_info)
        for index, calls in unusable.items():
            message = result.generations[index].message
            if isinstance(message, AIMessage):
                message.invalid_tool_calls = [*message.invalid_tool_calls, *(
                    make_invalid_tool_call(call, "arguments are not a JSON object")
                    for call in calls)]
        return result

    def _unusable_reply(self, what: str, body: Any) -> ModelCallError:
        """The error for a reply (HTTP 200) that is not a completion, as some proxies send.

        langchain-openai would raise ``ValueError`` with the body, which may echo the API key,
        and the runner would record it; this error has the key removed, like the openai
        agent's ``failure``.
        """
        key = self.root_async_client.api_key if self.root_async_client else None
        detail = body.get("message", body) if isinstance(body, dict) else body
        where = str(self.openai_api_base or "").rstrip("/")
        return ModelCallError(f"langgraph:{self.model_name} at {where} replied with {what}: "
                              f"{redact(str(detail), key)[:_DETAIL_CHARS]}")


def _pop_unusable_calls(data: dict[str, Any]) -> dict[int, list[dict[str, Any]]]:
    """Remove from a ``chat.completion`` dict the tool calls whose arguments are not a JSON
    object (by the openai agent's rule); returns them by choice index."""
    unusable: dict[int, list[dict[str, Any]]] = {}
    for index, choice in enumerate(data.get("choices") or []):
        message = choice.get("message") or {}
        calls = message.get("tool_calls") or []
        bad = [call for call in calls if not _object_arguments(call)]
        if bad:
            message["tool_calls"] = [call for call in calls if call not in bad] or None
            unusable[index] = bad
    return unusable


def _object_arguments(call: dict[str, Any]) -> bool:
    function = call.get("function") or {}
    try:
        return isinstance(json.loads(function.get("arguments") or "{}"), dict)
    except (TypeError, ValueError):
        return False


def reply_parts(reply: AIMessage, fallback_id: str) -> tuple[str | None, list[dict[str, Any]]]:
    """The text of a reply and its tool calls in Chat Completions request format.

    langchain-openai parses each call's argument JSON: calls that parse are in
    ``tool_calls`` (arguments re-serialised here), calls that do not are in
    ``invalid_tool_calls`` with the raw text, which ``to_action`` then reports to the model.

    Args:
        reply: The model's message.
        fallback_id: Prefix of made-up call ids, for servers that send none.
    """
    text = str(reply.text) or reply.additional_kwargs.get("refusal") or None
    raw = [(call["id"], call["name"], json.dumps(call["args"], ensure_ascii=False))
           for call in reply.tool_calls]
    raw += [(call["id"], call["name"] or "", call["args"] or "")
            for call in reply.invalid_tool_calls]
    calls = [{"id": call_id or f"{fallback_id}_{index}", "type": "function",
              "function": {"name": name, "arguments": arguments}}
             for index, (call_id, name, arguments) in enumerate(raw)]
    return text, calls


def history_message(text: str | None, calls: list[dict[str, Any]],
                    problems: dict[str, str]) -> AIMessage:
    """The reply as kept in the conversation: malformed arguments become ``{}``, since some
    servers (vLLM chat templates) parse the arguments of earlier calls and would reject them.
    """
    kept = [{"name": call["function"]["name"], "id": call["id"], "type": "tool_call",
             "args": {} if call["id"] in problems else json.loads(call["function"]["arguments"])}
            for call in calls]
    return AIMessage(content=text or "", tool_calls=kept)


class ReplyCache:
    """Model replies on disk, keyed by model, base URL, messages, tools and parameters.

    The messages enter the key as LangChain dicts without their ids (which LangGraph makes
    up per run); the key also names the agent, so it never shares entries with the openai
    agent's differently shaped requests.
    """

    def __init__(self, cache: CallCache, request: dict[str, Any]) -> None:
        self.cache = cache
        self.request = {"agent": "langgraph", **request}

    def key(self, messages: list[BaseMessage], tools: list[dict[str, Any]]) -> str:
        """The key of a call with these messages and tools."""
        dicts = [message_to_dict(m.model_copy(update={"id": None})) for m in messages]
        return self.cache.key({**self.request, "messages": dicts, "tools": tools})

    def get(self, key: str) -> AIMessage | None:
        """The stored reply, or None."""
        stored = self.cache.get(key)
        if stored is None or "reply" not in stored:
            return None
        reply = messages_from_dict([stored["reply"]])[0]
        return reply if isinstance(reply, AIMessage) else None

    def put(self, key: str, reply: AIMessage) -> None:
        self.cache.put(key, {"reply": message_to_dict(reply)})
