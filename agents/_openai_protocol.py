"""The rules of the Chat Completions protocol that catch agent bugs, as a real server applies them.

``request_problem`` says what OpenAI would reject in a request body with a 400: a missing
model or messages, unknown roles, malformed content parts, images that are not data URLs of
real PNG/JPEG/GIF/WebP bytes, and above all an assistant ``tool_calls`` message whose calls are
not each answered by a ``tool`` message with that ``tool_call_id`` right after it. The test
server (``csmbench.testing``) answers such requests with 400; the ``openai:<model>`` agent
checks its own conversation with it before sending, so a bug shows on lenient servers too.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from typing import Any

__all__ = ["CHARS_PER_TOKEN", "IMAGE_TOKENS", "ROLES", "estimate_tokens", "request_problem"]

ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
IMAGE_TOKENS = 85
"""Prompt tokens counted per image part by ``estimate_tokens`` (OpenAI's low-detail cost)."""
CHARS_PER_TOKEN = 4
_UNANSWERED = ("An assistant message with 'tool_calls' must be followed by tool messages "
               "responding to each 'tool_call_id'. The following tool_call_ids did not have "
               "response messages: ")
_DATA_URL = re.compile(r"data:image/(png|jpeg|gif|webp);base64,(.*)", re.DOTALL)
_MAGIC = {"png": (b"\x89PNG\r\n\x1a\n",), "jpeg": (b"\xff\xd8\xff",),
          "gif": (b"GIF87a", b"GIF89a"), "webp": (b"RIFF",)}
_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def request_problem(body: Any, *, check_images: bool = True) -> str | None:
    """What a Chat Completions server would reject in a request body (None: nothing).

    Args:
        body: The parsed JSON body of ``POST /chat/completions``.
        check_images: Also decode every data-URL image and check its leading bytes.
    """
    if not isinstance(body, dict):
        return "We could not parse the JSON body of your request."
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "you must provide a model parameter"
    if body.get("stream"):
        return "this test server does not stream; send stream=false"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty array"
    return _tools_problem(body.get("tools")) or _messages_problem(messages, check_images)


def _tools_problem(tools: Any) -> str | None:
    if tools is None:
        return None
    if not isinstance(tools, list):
        return "Invalid type for 'tools': expected an array"
    for index, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or tool.get("type") != "function":
            return f"Invalid value for 'tools[{index}]': expected {{type: 'function', function}}"
        if not _TOOL_NAME.fullmatch(str(function.get("name", ""))):
            return f"Invalid 'tools[{index}].function.name': must match ^[a-zA-Z0-9_-]{{1,64}}$"
        if not isinstance(function.get("parameters", {}), dict):
            return f"Invalid type for 'tools[{index}].function.parameters': expected an object"
    return None


def _messages_problem(messages: list[Any], check_images: bool) -> str | None:
    """Roles, contents, and every tool call answered by the tool messages right after it."""
    pending: list[str] = []
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ROLES:
            return f"Invalid value for '{where}.role': expected one of {', '.join(sorted(ROLES))}"
        if pending and role != "tool":
            return _UNANSWERED + ", ".join(pending)
        if role == "tool":
            problem = _tool_message_problem(message, where, pending)
        elif role == "assistant":
            problem = _assistant_problem(message, where)
            pending = [call["id"] for call in message.get("tool_calls") or []]
        else:
            problem = _content_problem(message.get("content"), where, images=role == "user",
                                       check_images=check_images)
        if problem is not None:
            return problem
    return _UNANSWERED + ", ".join(pending) if pending else None


def _tool_message_problem(message: dict[str, Any], where: str, pending: list[str]) -> str | None:
    call_id = message.get("tool_call_id")
    if call_id not in pending:
        return ("Invalid parameter: messages with role 'tool' must be a response to a preceding "
                f"message with 'tool_calls' ({where}.tool_call_id = {call_id!r})")
    pending.remove(call_id)
    return _content_problem(message.get("content"), where, images=False)


def _assistant_problem(message: dict[str, Any], where: str) -> str | None:
    calls = message.get("tool_calls")
    if calls is None:
        return _content_problem(message.get("content"), where, images=False)
    if not isinstance(calls, list) or not calls:
        return f"Invalid value for '{where}.tool_calls': expected a non-empty array (or omit it)"
    for index, call in enumerate(calls):
        function = call.get("function") if isinstance(call, dict) else None
        if not (isinstance(function, dict) and isinstance(call.get("id"), str)
                and call.get("type") == "function" and isinstance(function.get("name"), str)
                and isinstance(function.get("arguments"), str)):
            return (f"Invalid value for '{where}.tool_calls[{index}]': expected "
                    "{id, type: 'function', function: {name, arguments: string}}")
    content = message.get("content")
    return None if content is None else _content_problem(content, where, images=False)


def _content_problem(content: Any, where: str, *, images: bool,
                     check_images: bool = False) -> str | None:
    if isinstance(content, str):
        return None
    if not isinstance(content, list) or not content:
        return f"Invalid value for '{where}.content': expected a string or an array of parts"
    for index, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            continue
        if kind == "image_url" and images:
            problem = _image_problem(part.get("image_url"), f"{where}.content[{index}]",
                                     check_images)
            if problem is not None:
                return problem
            continue
        allowed = "'text' or 'image_url'" if images else "'text'"
        return f"Invalid content part '{where}.content[{index}]': expected type {allowed}"
    return None


def _image_problem(image: Any, where: str, check_bytes: bool) -> str | None:
    url = image.get("url") if isinstance(image, dict) else None
    if not isinstance(url, str):
        return f"Missing required parameter: '{where}.image_url.url'"
    if url.startswith(("http://", "https://")):
        return None
    match = _DATA_URL.fullmatch(url)
    if match is not None and not check_bytes:
        return None
    if match is None:
        return (f"Invalid image URL at '{where}': expected http(s) or "
                f"data:image/(png|jpeg|gif|webp);base64,..., got {url[:40]!r}")
    try:
        data = base64.b64decode(match.group(2), validate=True)
    except (binascii.Error, ValueError):
        return f"Invalid base64 image data at '{where}'"
    if not data.startswith(_MAGIC[match.group(1)]):
        return f"You uploaded an unsupported image at '{where}': its bytes are not {match.group(1)}"
    return None


def estimate_tokens(body: dict[str, Any]) -> int:
    """Prompt tokens, deterministically: characters of text / 4, plus 85 per image part."""
    chars, images = len(json.dumps(body.get("tools") or [])), 0
    for message in body.get("messages") or []:
        content = message.get("content")
        parts = content if isinstance(content, list) else [{"type": "text", "text": content}]
        images += sum(part.get("type") == "image_url" for part in parts)
        chars += sum(len(part.get("text") or "") for part in parts if part.get("type") == "text")
        chars += len(json.dumps(message["tool_calls"])) if message.get("tool_calls") else 0
    return math.ceil(chars / CHARS_PER_TOKEN) + IMAGE_TOKENS * images
