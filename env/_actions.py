"""Turning whatever an agent sends into tool calls or a final answer.

Accepted forms: a ``ToolCall``; a ``FinalAnswer``; a list of ``ToolCall``; a dict
(``{"tool": name, "arguments": {...}}``, ``{"answer": ...}`` or an OpenAI assistant message);
or the JSON text of any of these. A ``submit_answer`` tool call is the answer.
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any

from pydantic import ValidationError

from csmbench.episodes import FinalAnswer, ToolCall
from csmbench.errors import ActionError

__all__ = ["MAX_ACTION_CHARS", "SUBMIT_ANSWER", "Action", "parse_action", "submit_answer_schema"]

Action = ToolCall | FinalAnswer | list[ToolCall] | dict[str, Any] | str
SUBMIT_ANSWER = "submit_answer"
MAX_ACTION_CHARS = 200_000
_ANSWER_KEYS = {"answer", "text", "value", "values", "unit", "choice"}


def submit_answer_schema() -> dict[str, Any]:
    """The OpenAI function schema of the ``submit_answer`` pseudo-tool (from ``FinalAnswer``;
    built once and shared: do not modify)."""
    return _submit_answer_schema()


@functools.cache
def _submit_answer_schema() -> dict[str, Any]:
    parameters = FinalAnswer.model_json_schema()
    parameters.pop("title", None)
    parameters["properties"] = {k: {kk: vv for kk, vv in v.items() if kk != "title"}
                                for k, v in parameters["properties"].items()}
    parameters["properties"]["text"]["description"] = "the answer as you would write it, e.g. '5.9 nm/px'"
    parameters["properties"]["value"]["description"] = "the numeric answer, if any"
    parameters["properties"]["values"]["description"] = "several numbers, when asked for a list"
    parameters["properties"]["unit"]["description"] = "the unit of value, e.g. 'nm/px', 'µm'"
    parameters["properties"]["choice"]["description"] = "the option letter, for multiple choice"
    return {"type": "function", "function": {
        "name": SUBMIT_ANSWER,
        "description": "Submit your final answer; this ends the episode.",
        "parameters": parameters}}


def parse_action(action: Any) -> list[ToolCall] | FinalAnswer:
    """Normalise an action; ActionError says what was wrong and the accepted forms."""
    if isinstance(action, FinalAnswer):
        return action
    if isinstance(action, ToolCall):
        return _answer_or_calls([action])
    if isinstance(action, str):
        return parse_action(_load_json(action))
    if isinstance(action, list) and action and all(isinstance(a, ToolCall) for a in action):
        return _answer_or_calls(action)
    if isinstance(action, dict):
        return _from_dict(action)
    raise ActionError(f"cannot use an action of type {type(action).__name__}. " + _FORMS)


_FORMS = ('Send a JSON object: {"tool": "<name>", "arguments": {...}} to call a tool, '
          '{"answer": "<text>", "value": <number>, "unit": "<unit>"} to answer, or an OpenAI '
          'assistant message with "tool_calls".')


def _load_json(text: str) -> Any:
    if len(text) > MAX_ACTION_CHARS:
        raise ActionError(f"action is {len(text)} characters long; the limit is {MAX_ACTION_CHARS}")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ActionError(f"action is not valid JSON ({exc}). " + _FORMS) from None


def _reject_constant(name: str) -> Any:
    raise ActionError(f"action JSON contains {name}, which is not a valid number")


def _from_dict(data: dict[str, Any]) -> list[ToolCall] | FinalAnswer:
    if "tool_calls" in data or data.get("role") == "assistant":
        return _from_assistant_message(data)
    if "tool" in data or "name" in data:
        name = data.get("tool", data.get("name"))
        return _answer_or_calls([_tool_call(name, data.get("arguments", {}), data.get("id"))])
    if _ANSWER_KEYS & set(data):
        return _final_answer(data)
    raise ActionError(f"action object has keys {sorted(map(str, data))[:10]}, none of which "
                      "says what to do. " + _FORMS)


def _from_assistant_message(message: dict[str, Any]) -> list[ToolCall] | FinalAnswer:
    calls = message.get("tool_calls") or []
    if not isinstance(calls, list):
        raise ActionError("'tool_calls' must be a list of {id, type, function: {name, arguments}}")
    if not calls:
        content = message.get("content")
        if not isinstance(content, str) or not content.strip():
            raise ActionError("assistant message has neither tool_calls nor text content")
        return FinalAnswer(text=content)
    parsed = []
    for index, call in enumerate(calls):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            raise ActionError(f"tool_calls[{index}] has no 'function' object")
        arguments = function.get("arguments", "{}")
        if isinstance(arguments, str):
            arguments = _load_json(arguments or "{}")
        parsed.append(_tool_call(function.get("name"), arguments, call.get("id") or f"call_{index}"))
    return _answer_or_calls(parsed)


def _tool_call(name: Any, arguments: Any, call_id: Any = None) -> ToolCall:
    if not isinstance(name, str) or not name:
        raise ActionError(f"tool name must be a non-empty string, got {name!r:.80}")
    if not isinstance(arguments, dict):
        raise ActionError(f"arguments of {name[:80]!r} must be a JSON object, got "
                          f"{type(arguments).__name__}")
    return ToolCall(id=str(call_id or "call_0")[:64], name=name[:200], arguments=arguments)


def _answer_or_calls(calls: list[ToolCall]) -> list[ToolCall] | FinalAnswer:
    answers = [c for c in calls if c.name == SUBMIT_ANSWER]
    if not answers:
        return calls
    if len(calls) > 1:
        raise ActionError(f"{SUBMIT_ANSWER} must be the only call in its message; got "
                          f"{[c.name for c in calls]}")
    return _final_answer(answers[0].arguments)


def _final_answer(data: dict[str, Any]) -> FinalAnswer:
    fields = {k: v for k, v in data.items() if k in _ANSWER_KEYS}
    if "answer" in fields:
        answer = fields.pop("answer")
        if isinstance(answer, int | float) and not isinstance(answer, bool):
            fields.setdefault("value", answer)
        if isinstance(answer, list):
            fields.setdefault("values", answer)
        fields.setdefault("text", str(answer))
    value = fields.get("value")
    if isinstance(value, float) and not math.isfinite(value):
        raise ActionError(f"answer value must be a finite number, got {value}")
    try:
        return FinalAnswer(**fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ActionError(f"answer is malformed: {problems}") from None
