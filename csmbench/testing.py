"""A scripted OpenAI-compatible Chat Completions server, for tests and benchmarks.

``ChatServer`` is a real HTTP server on 127.0.0.1 (an ephemeral port, one thread per
connection) speaking the part of the API that tool-calling agents use: ``POST
/v1/chat/completions`` (non-streaming) and ``GET /v1/models``. A *script*, any callable
``request_json -> reply``, plays the model. The server checks what OpenAI checks and answers
400 otherwise (every assistant ``tool_call`` answered by a ``tool`` message with its
``tool_call_id``; images as data URLs of real PNG/JPEG/GIF/WebP bytes), so agent bugs show.
It records every request, and can add latency and inject faults (429 with ``Retry-After``,
500, 503, dropped connections, hangs) on a fixed schedule or with a seeded probability.

Example:
    >>> import openai
    >>> with ChatServer(lambda request: "12 nm/px") as server:
    ...     client = openai.OpenAI(base_url=server.base_url, api_key="EMPTY")
    ...     reply = client.chat.completions.create(
    ...         model="scripted", messages=[{"role": "user", "content": "Pixel size?"}])
    >>> reply.choices[0].message.content
    '12 nm/px'
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import random
import re
import socket
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Self
from urllib.parse import urlsplit

from csmbench.agents._openai_protocol import estimate_tokens, request_problem

__all__ = ["Call", "ChatServer", "Conversation", "FaultKind", "Faults", "Received", "Reply",
           "ReplyLike", "Script", "ToolOutput", "estimate_tokens", "first_then",
           "request_problem", "scale_bar_script"]

FaultKind = Literal["429", "500", "503", "drop", "hang"]


@dataclass(frozen=True)
class Call:
    """A tool call the scripted model makes.

    Attributes:
        name: The tool's name.
        arguments: A JSON object; a ``str`` is sent verbatim (to simulate malformed JSON).
        id: The call id; by default derived from the request, so replies are reproducible.
    """

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True)
class Reply:
    """One reply of the scripted model: text, tool calls, or both (neither: an empty reply)."""

    text: str | None = None
    calls: tuple[Call, ...] = ()


ReplyLike = Reply | str | Call | Sequence[Call] | None
Script = Callable[[dict[str, Any]], ReplyLike]


@dataclass(frozen=True)
class Faults:
    """Which requests fail, and how.

    Attributes:
        kinds: Failures to inject: "429", "500", "503", "drop" (close the connection without
            answering) or "hang" (say nothing for ``hang_s``, then drop: a client timeout).
        first: Fail the first ``first`` requests, by arrival, cycling through ``kinds``.
        rate: After those, fail each request with this probability. The draw depends only
            on ``seed``, the request body and how often that body was seen before, so it
            does not depend on the order in which concurrent requests arrive.
        seed: Seed of those draws.
        retry_after_s: Sent with every 429/500/503 as ``retry-after-ms`` (and ``Retry-After``
            in whole seconds); None sends neither (the openai client then backs off
            exponentially from 0.5 s).
        hang_s: How long a "hang" keeps the connection silent.
    """

    kinds: tuple[FaultKind, ...] = ("429",)
    first: int = 0
    rate: float = 0.0
    seed: int = 0
    retry_after_s: float | None = 0.01
    hang_s: float = 5.0


@dataclass(frozen=True)
class Received:
    """One request as the server saw it.

    Attributes:
        method: "GET" or "POST".
        path: The URL path, e.g. "/v1/chat/completions".
        headers: Request headers, names in lower case.
        body: The parsed JSON body (None for GET, unparseable bodies, or when bodies are
            not recorded).
        outcome: "ok", "invalid" (400), "unauthorized" (401), "not_found", "script_error"
            (the script raised; 500 with ``x-should-retry: false``) or the injected fault.
        at: ``time.monotonic()`` when the request arrived.
        error: The error message sent back, if any.
    """

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    outcome: str
    at: float
    error: str | None = None


class ChatServer:
    """The server; a context manager that starts it and stops it.

    Args:
        script: ``request_json -> reply``; called once per valid request, from the request's
            thread (so several at a time under concurrent load).
        latency_s: Seconds every chat request waits before it is answered.
        faults: Failures to inject; None for none.
        api_key: If set, requests must carry ``Authorization: Bearer <api_key>``; others get
            a 401 whose message repeats the key they sent, unmasked (a worst case for tests
            that check keys never reach records or errors).
        record_bodies: Keep request bodies in ``requests`` (turn off for long benchmarks:
            bodies carry base64 images).
    """

    def __init__(self, script: Script, *, latency_s: float = 0.0, faults: Faults | None = None,
                 api_key: str | None = None, record_bodies: bool = True) -> None:
        self.script = script
        self.latency_s = latency_s
        self.faults = faults or Faults()
        self.api_key = api_key
        self.record_bodies = record_bodies
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._arrivals = 0
        self._seen: Counter[str] = Counter()
        self._http: _HTTPServer | None = None
        self._base_url: str | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> ChatServer:
        """Bind to 127.0.0.1 on a free port and serve in a background thread."""
        self._http = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._http.app = self
        self._base_url = f"http://127.0.0.1:{self._http.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._http.serve_forever, kwargs={
            "poll_interval": 0.05}, name="csmbench-chat-server", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving; hung requests are abandoned (their threads are daemons)."""
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        """The API root, e.g. "http://127.0.0.1:43121/v1" (known once started)."""
        if self._base_url is None:
            raise RuntimeError("the server was never started; use it as a context manager")
        return self._base_url

    # -- what happened ------------------------------------------------------------------
    def completions(self) -> list[dict[str, Any]]:
        """Bodies of the chat requests that were answered (outcome "ok"), in arrival order."""
        return [r.body for r in self.requests if r.outcome == "ok"]

    def outcomes(self) -> Counter[str]:
        """How many requests ended each way, e.g. ``{"ok": 6, "429": 2}``."""
        return Counter(r.outcome for r in self.requests)

    # -- handling -----------------------------------------------------------------------
    def _record(self, handler: _Handler, body: Any, outcome: str, at: float,
                error: str | None = None) -> None:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        kept = body if self.record_bodies else None
        with self._lock:
            self.requests.append(Received(handler.command, urlsplit(handler.path).path, headers,
                                          kept, outcome, at, error))

    def _fault(self, digest: str) -> FaultKind | None:
        """The fault to inject for the request with this body digest, if any (see ``Faults``)."""
        faults = self.faults
        with self._lock:
            arrival, self._arrivals = self._arrivals, self._arrivals + 1
            attempt, self._seen[digest] = self._seen[digest], self._seen[digest] + 1
        if arrival < faults.first:
            return faults.kinds[arrival % len(faults.kinds)]
        draw = random.Random(f"{faults.seed}:{digest}:{attempt}")
        if faults.rate > 0 and draw.random() < faults.rate:
            return draw.choice(faults.kinds)
        return None

    def handle_chat(self, handler: _Handler, raw: bytes, at: float) -> None:
        """Answer one ``POST /v1/chat/completions``."""
        if self.latency_s > 0:
            time.sleep(self.latency_s)
        digest = hashlib.sha256(raw).hexdigest()
        fault = self._fault(digest)
        if fault is not None:
            self._record(handler, _loads(raw), fault, at)
            self._inject(handler, fault)
            return
        given = handler.headers.get("Authorization", "")
        if self.api_key is not None and given != f"Bearer {self.api_key}":
            message = f"Incorrect API key provided: {given.removeprefix('Bearer ')}."
            self._record(handler, None, "unauthorized", at, message)
            _send(handler, 401, _error(message, "invalid_request_error", "invalid_api_key"))
            return
        body = _loads(raw)
        problem = request_problem(body)
        if problem is not None:
            self._record(handler, body, "invalid", at, problem)
            _send(handler, 400, _error(problem, "invalid_request_error"))
            return
        try:
            reply = as_reply(self.script(body))
        except Exception:  # noqa: BLE001 - a script bug becomes a visible, non-retried 500
            message = traceback.format_exc(limit=4)
            self._record(handler, body, "script_error", at, message)
            _send(handler, 500, _error(message, "server_error"), {"x-should-retry": "false"})
            return
        self._record(handler, body, "ok", at)
        _send(handler, 200, completion(body, reply, digest))

    def _inject(self, handler: _Handler, fault: FaultKind) -> None:
        if fault in ("drop", "hang"):
            if fault == "hang":
                time.sleep(self.faults.hang_s)
            handler.close_connection = True
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        status = int(fault)
        headers = {}
        if self.faults.retry_after_s is not None:
            headers = {"retry-after-ms": str(round(self.faults.retry_after_s * 1000)),
                       "Retry-After": str(math.ceil(self.faults.retry_after_s))}
        kind = {429: "rate_limit_exceeded", 500: "server_error", 503: "service_unavailable"}
        _send(handler, status, _error(f"injected fault {status}", kind[status]), headers)


def as_reply(value: ReplyLike) -> Reply:
    """Normalise what a script returned: text, a call, a list of calls, a Reply, or None."""
    if value is None or isinstance(value, Reply):
        return value or Reply()
    if isinstance(value, str):
        return Reply(text=value)
    if isinstance(value, Call):
        return Reply(calls=(value,))
    return Reply(calls=tuple(value))


def completion(body: dict[str, Any], reply: Reply, digest: str) -> dict[str, Any]:
    """A ``chat.completion`` object for ``reply``; call ids derive from the request digest."""
    calls = [{"id": call.id or f"call_{digest[:16]}_{index}", "type": "function",
              "function": {"name": call.name, "arguments": call.arguments
                           if isinstance(call.arguments, str) else json.dumps(call.arguments)}}
             for index, call in enumerate(reply.calls)]
    message: dict[str, Any] = {"role": "assistant", "content": reply.text, "refusal": None}
    if calls:
        message["tool_calls"] = calls
    prompt = estimate_tokens(body)
    written = len(reply.text or "") + sum(len(c["function"]["name"]) +
                                          len(c["function"]["arguments"]) for c in calls)
    output = max(1, math.ceil(written / 4))
    return {"id": f"chatcmpl-{digest[:24]}", "object": "chat.completion",
            "created": int(time.time()), "model": body["model"],
            "system_fingerprint": "csmbench-testing",
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": "tool_calls" if calls else "stop"}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": output,
                      "total_tokens": prompt + output}}


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024  # a benchmark opens hundreds of connections at once
    app: ChatServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the openai client expects
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms ACK stall
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: requests are in ``ChatServer.requests``."""

    def do_GET(self) -> None:
        at = time.monotonic()
        if urlsplit(self.path).path.rstrip("/") == "/v1/models":
            self.server.app._record(self, None, "ok", at)
            _send(self, 200, {"object": "list", "data": [
                {"id": "scripted", "object": "model", "created": 0, "owned_by": "csmbench"}]})
        else:
            self._not_found(at)

    def do_POST(self) -> None:
        at = time.monotonic()
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if urlsplit(self.path).path.rstrip("/") != "/v1/chat/completions":
            self._not_found(at)
            return
        try:
            self.server.app.handle_chat(self, raw, at)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (its timeout); nothing to do

    def _not_found(self, at: float) -> None:
        self.server.app._record(self, None, "not_found", at)
        _send(self, 404, _error(f"unknown path {self.path}", "invalid_request_error"))


def _send(handler: BaseHTTPRequestHandler, status: int, payload: dict[str, Any],
          headers: dict[str, str] | None = None) -> None:
    data = json.dumps(payload).encode("utf-8")
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)


def _error(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code or kind}}


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


# -- reading a conversation, for scripted models -------------------------------------------

_ATTACHMENT_LINE = re.compile(r"^- (?P<id>[\w.-]+) \((?P<kind>\w+)\)", re.MULTILINE)


@dataclass(frozen=True)
class ToolOutput:
    """A ``tool`` message of the conversation and the call it answers.

    Attributes:
        call_id: The ``tool_call_id``.
        name: The name of the tool that was called.
        text: The message content.
        data: The content parsed as JSON; None when it is not JSON (an error message).
    """

    call_id: str
    name: str
    text: str
    data: Any

    @property
    def ok(self) -> bool:
        return self.data is not None


class Conversation:
    """A scripted model's view of a chat request: question, attachments, tool outputs.

    Attachments are read from the question's listing, one ``- <id> (<kind>) ...`` line each,
    as csmbench's OpenAI and LangGraph agents write it.
    """

    def __init__(self, request: dict[str, Any]) -> None:
        self.messages: list[dict[str, Any]] = list(request.get("messages") or [])
        self.tools = [tool["function"]["name"] for tool in request.get("tools") or []]

    @property
    def question(self) -> str:
        """The text of the first user message."""
        first = next((m for m in self.messages if m.get("role") == "user"), {})
        return text_of(first.get("content"))

    @property
    def turns(self) -> int:
        """How many assistant replies came before this request."""
        return sum(m.get("role") == "assistant" for m in self.messages)

    def attachments(self, kind: str | None = None) -> list[str]:
        """Attachment ids listed in the question, optionally only those of one kind."""
        return [m["id"] for m in _ATTACHMENT_LINE.finditer(self.question)
                if kind in (None, m["kind"])]

    def images(self) -> list[str]:
        """URLs of all image parts, in order."""
        return [part["image_url"]["url"] for m in self.messages
                if isinstance(m.get("content"), list)
                for part in m["content"] if part.get("type") == "image_url"]

    def tool_outputs(self, name: str | None = None) -> list[ToolOutput]:
        """The tool messages so far (of tool ``name`` only, if given), in order."""
        names = {call["id"]: call["function"]["name"] for m in self.messages
                 for call in m.get("tool_calls") or []}
        outputs = [ToolOutput(m["tool_call_id"], names.get(m["tool_call_id"], ""),
                              text_of(m.get("content")), _loads(text_of(m.get("content"))))
                   for m in self.messages if m.get("role") == "tool"]
        return [o for o in outputs if name in (None, o.name)]


def text_of(content: Any) -> str:
    """The text of a message content: the string, or its text parts joined by newlines."""
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if p.get("type") == "text")
    return content or ""


_WIDTH_PX = re.compile(r"(\d+) pixels\s+wide")
_POINT_PX = re.compile(r"pixel \((\d+), (\d+)\)")
_LENGTH_UNIT = re.compile(r"length, in (nm|µm)")


def first_then(first: ReplyLike, then: Script) -> Script:
    """A script (for one episode) whose first reply is ``first``; every later one ``then``'s."""
    replies = itertools.count()
    return lambda request: first if next(replies) == 0 else then(request)


def scale_bar_script(request: dict[str, Any]) -> Reply:
    """A scripted model for the ``scale_bar.*`` families, solving them as a good model would.

    It calls ``calibrate_scale_bar`` on the first image attachment, reads ``nm_per_pixel``
    from the tool message, converts to what the question asks (pixel size in nm/px, field
    width in µm, or a marked feature's length) and calls ``submit_answer`` with value and
    unit. After two failed calibrations it gives up with a text answer.
    """
    chat = Conversation(request)
    outputs = chat.tool_outputs("calibrate_scale_bar")
    readings = [o.data for o in outputs if isinstance(o.data, dict) and "nm_per_pixel" in o.data]
    if not readings:
        images = chat.attachments("image")
        if len(outputs) >= 2 or not images:
            return Reply(text="I cannot read the scale bar.")
        return Reply(calls=(Call("calibrate_scale_bar", {"image": images[0]}),))
    value, unit = _scale_bar_answer(chat.question, float(readings[-1]["nm_per_pixel"]))
    return Reply(calls=(Call("submit_answer", {"text": f"{value:.6g} {unit}", "value": value,
                                               "unit": unit}),))


def _scale_bar_answer(question: str, nm_per_px: float) -> tuple[float, str]:
    width = _WIDTH_PX.search(question)
    if width:
        return nm_per_px * int(width.group(1)) / 1000, "µm"
    points = _POINT_PX.findall(question)
    if len(points) >= 2:
        (x0, y0), (x1, y1) = [tuple(map(int, p)) for p in points[:2]]
        length_nm = math.dist((x0, y0), (x1, y1)) * nm_per_px
        unit_match = _LENGTH_UNIT.search(question)
        unit = unit_match.group(1) if unit_match else "nm"
        return (length_nm / 1000 if unit == "µm" else length_nm), unit
    return nm_per_px, "nm/px"
