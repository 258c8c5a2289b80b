"""Turning whatever an agent sends into tool calls or a final answer.

Accepted forms: a ``ToolCall``; a ``FinalAnswer``; a list of ``ToolCall``; a dict
(``{"tool": name, "arguments": {...}}``, ``{"answer": ...}`` or an OpenAI assistant message);
or the JSON text of any of these. A ``submit_answer`` tool call is the answer.
"""

from __future__ import annotations

import functools
import json
import math
import sys
from typing import Any

from pydantic import ValidationError

from csmbench.episodes import FinalAnswer, ToolCall
from csmbench.errors import ActionError

__all__ = ["MAX_ACTION_CHARS", "MAX_ANSWER_CHARS", "MAX_CALLS_PER_STEP", "MAX_NESTING",
           "MAX_UNIT_CHARS", "SUBMIT_ANSWER", "Action", "parse_action", "submit_answer_schema"]

Action = ToolCall | FinalAnswer | list[ToolCall] | dict[str, Any] | str
SUBMIT_ANSWER = "submit_answer"
MAX_ACTION_CHARS = 200_000
"""Longest action text (characters): the limit of the env's action space."""
MAX_CALLS_PER_STEP = 32
"""Tool calls one action may hold: models send a handful in parallel, and the results of many
more would not fit one observation."""
MAX_NESTING = 32
"""Deepest nesting of objects and lists in an action: tool arguments are numbers, strings and
flat lists, and deeper data would only exhaust recursion later (repr, JSON records)."""
MAX_ANSWER_CHARS = 20_000
"""Longest answer text: grading reads every number and unit in it (about a millisecond each),
so a longer text stalls the episode; real final answers are far shorter."""
MAX_UNIT_CHARS = 100
"""Longest answer unit ("nm/px", "MPa*m^0.5"); pint's parser recurses on long nonsense such as
"((((nm))))" until Python's recursion limit."""
_ANSWER_KEYS = {"answer", "text", "value", "values", "unit", "choice"}
_ANSWER_FORM = '{"answer": "5.9 nm/px"} or {"value": 5.9, "unit": "nm/px"}'
_JSON_SCALARS = (str, int, float, bool, type(None))


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
    """Normalise an action; ActionError says what was wrong and the accepted forms.

    Whatever the form, an action holds plain JSON data only (finite numbers, valid Unicode,
    nested at most :data:`MAX_NESTING` deep), at most :data:`MAX_CALLS_PER_STEP` calls, and
    an answer that is not empty and within :data:`MAX_ANSWER_CHARS`.
    """
    if not isinstance(action, str):
        _check_plain_json(_content(action))
    while isinstance(action, str):  # JSON text, possibly encoded twice
        action = _load_json(action)
    parsed = _parse(action)
    if isinstance(parsed, FinalAnswer):
        _check_answer(parsed)
    elif len(parsed) > MAX_CALLS_PER_STEP:
        raise ActionError(f"action holds {len(parsed)} tool calls; the limit is "
                          f"{MAX_CALLS_PER_STEP} per step. Send fewer calls at a time.")
    return parsed


def _parse(action: Any) -> list[ToolCall] | FinalAnswer:
    if isinstance(action, FinalAnswer):
        return action
    if isinstance(action, ToolCall):
        return _answer_or_calls([action])
    if isinstance(action, list) and action and all(isinstance(a, ToolCall) for a in action):
        return _answer_or_calls(action)
    if isinstance(action, dict):
        return _from_dict(action)
    raise ActionError(f"cannot use an action of type {type(action).__name__}. " + _FORMS)


_FORMS = ('Send a JSON object: {"tool": "<name>", "arguments": {...}} to call a tool, '
          '{"answer": "<text>", "value": <number>, "unit": "<unit>"} to answer, or an OpenAI '
          'assistant message with "tool_calls".')


def _load_json(text: str) -> Any:
    """Parse JSON text of an action (or of a call's arguments) into checked plain data."""
    if len(text) > MAX_ACTION_CHARS:
        raise ActionError(f"action is {len(text)} characters long; the limit is "
                          f"{MAX_ACTION_CHARS}. Send a shorter message.")
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ActionError(f"action is not valid JSON ({exc}). " + _FORMS) from None
    except ValueError:  # an integer literal beyond Python's digit limit for str -> int
        raise ActionError("action JSON holds an integer too long to read; write numbers with "
                          "at most a few dozen digits (1e300, not 1000...0)") from None
    _check_plain_json(data)
    return data


def _reject_constant(name: str) -> Any:
    raise ActionError(f"action JSON contains {name}, which is not a valid number; send a "
                      "finite number (or leave the field out)")


def _content(action: Any) -> Any:
    """The data an action object carries, for :func:`_check_plain_json`."""
    if isinstance(action, ToolCall):
        return [action.id, action.name, action.arguments]
    if isinstance(action, FinalAnswer):
        return [action.text, action.value, action.values, action.unit, action.choice]
    if isinstance(action, list):
        return [_content(a) if isinstance(a, ToolCall) else a for a in action]
    return action


def _check_plain_json(data: Any) -> None:
    """ActionError unless ``data`` is plain JSON: dicts with string keys, lists, strings of
    valid Unicode, finite numbers, booleans and None, nested at most MAX_NESTING deep.

    Iterative, so arbitrarily deep input cannot exhaust the recursion limit here.
    """
    if not isinstance(data, dict | list | tuple):
        return
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list | tuple):
            if depth >= MAX_NESTING:
                raise ActionError(f"action nests objects and lists more than {MAX_NESTING} "
                                  "levels deep; tool arguments are flat values and lists")
            if isinstance(item, dict):
                for key in item:
                    if not isinstance(key, str):
                        raise ActionError(f"action has an object key of type "
                                          f"{type(key).__name__}; JSON object keys are strings")
                    _check_text(key)
                stack.extend((value, depth + 1) for value in item.values())
            else:
                stack.extend((value, depth + 1) for value in item)
        elif not isinstance(item, _JSON_SCALARS):
            raise ActionError(f"action holds a value of type {type(item).__name__}, which is "
                              "not JSON; use objects, lists, strings, numbers, true, false, null")
        elif isinstance(item, str):
            _check_text(item)
        elif isinstance(item, float | int) and not _finite(item):
            raise ActionError("action holds a number that is not finite (NaN, Infinity, or "
                              "beyond 1.8e308 in size); send finite numbers")


def _finite(number: float) -> bool:
    if isinstance(number, float):
        return math.isfinite(number)
    return isinstance(number, bool) or abs(number) <= sys.float_info.max


def _check_text(text: str) -> None:
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ActionError(f"action text holds a lone surrogate (U+{ord(text[exc.start]):04X}), "
                          "which is not valid Unicode; send valid UTF-8 text") from None


def _from_dict(data: dict[str, Any]) -> list[ToolCall] | FinalAnswer:
    if "tool_calls" in data or data.get("role") == "assistant":
        return _from_assistant_message(data)
    if "tool" in data or "name" in data:
        name = data.get("tool", data.get("name"))
        return _answer_or_calls([_tool_call(name, data.get("arguments", {}), data.get("id"))])
    if _ANSWER_KEYS & set(data):
        return _final_answer(data)
    raise ActionError(f"action object has keys {[k[:40] for k in sorted(data)[:10]]}, none of "
                      "which says what to do. " + _FORMS)


def _from_assistant_message(message: dict[str, Any]) -> list[ToolCall] | FinalAnswer:
    calls = message.get("tool_calls") or []
    if not isinstance(calls, list):
        raise ActionError("'tool_calls' must be a list of {id, type, function: {name, arguments}}")
    if not calls:
        content = message.get("content")
        if not isinstance(content, str) or not content.strip():
            raise ActionError("assistant message has neither tool_calls nor text content; call "
                              "a tool, or write the answer as the message text")
        return FinalAnswer(text=content)
    parsed = []
    for index, call in enumerate(calls):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            raise ActionError(f"tool_calls[{index}] has no 'function' object; each call is "
                              '{"id": ..., "type": "function", "function": {"name": ..., '
                              '"arguments": "<JSON object>"}}')
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
        if isinstance(answer, bool) or not isinstance(answer, str | int | float | list):
            raise ActionError(f"'answer' must be text, a number or a list of numbers, got "
                              f"{_kind(answer)}; e.g. {_ANSWER_FORM}")
        if isinstance(answer, int | float):
            fields.setdefault("value", answer)
        if isinstance(answer, list):
            fields.setdefault("values", answer)
        fields.setdefault("text", str(answer))
    numbers = [fields.get("value"), *(v if isinstance(v := fields.get("values"), list) else [])]
    if any(isinstance(n, bool) for n in numbers):
        raise ActionError(f"answer value must be a number, not true or false; e.g. {_ANSWER_FORM}")
    try:
        return FinalAnswer(**fields)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise ActionError(f"answer is malformed: {problems}{more}. Send {_ANSWER_FORM}") from None


def _kind(value: Any) -> str:
    return {dict: "an object", type(None): "null", bool: "true/false"}.get(
        type(value), type(value).__name__)


def _check_answer(answer: FinalAnswer) -> None:
    """ActionError for an empty or overlong answer, or a non-finite number (pydantic reads
    the strings "nan" and "inf" as floats)."""
    if not all(map(_finite, [answer.value or 0.0, *(answer.values or [])])):
        raise ActionError("the answer holds a number that is not finite (NaN or Infinity); "
                          f"send {_ANSWER_FORM}")
    if not (answer.text.strip() or answer.value is not None or answer.values
            or (answer.choice or "").strip()):
        raise ActionError(f"the answer is empty; send {_ANSWER_FORM}, or a choice letter")
    if len(answer.text) > MAX_ANSWER_CHARS:
        raise ActionError(f"the answer text is {len(answer.text)} characters long; the limit is "
                          f"{MAX_ANSWER_CHARS}. Send just the answer (the number with its unit, "
                          "or the option), not the whole working.")
    if answer.unit is not None and len(answer.unit) > MAX_UNIT_CHARS:
        raise ActionError(f"the answer unit is {len(answer.unit)} characters long; the limit is "
                          f"{MAX_UNIT_CHARS}. Send a unit such as 'nm/px' or 'µm'.")
