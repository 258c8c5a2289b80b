"""Observations and tool results as Chat Completions messages (OpenAI format, plain dicts).

The question becomes a system message and a user message: the question text, a listing of the
attachments (one ``- <id> (<kind>): <meta>`` line each, which tools take by id) and every image
attachment inline as a base64 data URL (TIFF converted to PNG). A diffraction pattern (a
~9000-line ``.xy`` file) is listed, not inlined; its PNG plot is an image attachment of its own.
Tool results go back as ``tool`` messages with their ``tool_call_id``; images a tool wrote (an
overlay) follow as a user message, since most providers take no images in tool messages.
LangChain accepts these dicts as messages too, so the LangGraph agent can reuse them.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from csmbench.env import SUBMIT_ANSWER, AttachmentInfo, Observation
from csmbench.episodes import ToolResult
from csmbench.tools import load_image

__all__ = ["EMPTY_REPLY", "SYSTEM_PROMPT", "assistant_message", "attachment_listing",
           "error_messages", "image_data_url", "offered_tools", "output_image_messages",
           "parity_mode", "question_messages",
           "tool_messages"]

Message = dict[str, Any]

SYSTEM_PROMPT = """\
You answer quantitative materials-science questions about attached files: micrographs, \
diffraction patterns, spectra, crystal structures.
- Measure, do not guess: call the tools to measure what the question asks. Tools take \
attachments by their id (for example "img0" or "xrd0"), never by file name.
- You may call several tools in one reply when they do not depend on each other.
- When you know the answer, call submit_answer: the number in "value" and its unit in "unit" \
(for example "nm/px" or "µm"), several numbers in "values", a multiple-choice letter in \
"choice", and the answer as you would write it in "text".
- You have at most {steps} replies; each reply uses one."""

NO_TOOLS_NOTE = ("\n- No measurement tools are offered here: answer from the question and the "
                 "images alone, with submit_answer.")

EMPTY_REPLY = ("Your reply was empty. Call a tool, or call submit_answer with your final "
               "answer.")

_INLINE_SUFFIXES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
                    ".gif": "image/gif", ".webp": "image/webp"}
_CONVERTED_SUFFIXES = {".tif", ".tiff", ".bmp"}
_PILLOW_MODES = {"1", "L", "LA", "P", "RGB", "RGBA"}


PARITY_FAMILIES = ("csmbench.mcqa", "csmbench.openqa")
"""Real CSMBench families: without measurement tools they are asked exactly as the original
scripts ask (one user message, the prompt then the figure; no system message, no tools)."""


def parity_mode(observation: Observation) -> bool:
    """True for a real CSMBench item offered no measurement tools (prompt parity)."""
    return observation.family in PARITY_FAMILIES and all(
        tool["function"]["name"] == SUBMIT_ANSWER for tool in observation.tools)


def offered_tools(observation: Observation) -> list[dict[str, Any]]:
    """The tool schemas to send: none in prompt-parity mode, else the observation's."""
    return [] if parity_mode(observation) else observation.tools


def question_messages(observation: Observation) -> list[Message]:
    """The system and user messages that open an episode (only the user message, the
    original prompt and the figure, in prompt-parity mode)."""
    if parity_mode(observation):
        parts: list[dict[str, Any]] = [{"type": "text", "text": observation.question}]
        parts += [_image_parts(a)[1] for a in observation.attachments if _shown(a)]
        return [{"role": "user", "content": parts}]
    system = SYSTEM_PROMPT.format(steps=observation.steps_left)
    if all(tool["function"]["name"] == SUBMIT_ANSWER for tool in observation.tools):
        system += NO_TOOLS_NOTE
    text = f"{observation.question}\n\n{attachment_listing(observation.attachments)}"
    parts = [{"type": "text", "text": text}]
    for attachment in observation.attachments:
        if _shown(attachment):
            parts += _image_parts(attachment)
    return [{"role": "system", "content": system}, {"role": "user", "content": parts}]


def attachment_listing(attachments: list[AttachmentInfo]) -> str:
    """One line per attachment: id, kind, facts, and how the model gets to see it."""
    if not attachments:
        return "There are no attachments."
    plots = {a.meta.get("plot_of"): a.id for a in attachments if a.meta.get("plot_of")}
    lines = ["Attachments (tools take them by id):"]
    for attachment in attachments:
        meta = json.dumps(attachment.meta, ensure_ascii=False)
        if _shown(attachment):
            note = "shown below"
        elif attachment.kind == "pattern":
            note = "a two-column text file, not shown; pass its id to the tools"
            note += f"; its plot is {plots[attachment.id]}" if attachment.id in plots else ""
        else:
            note = "not shown; pass its id to the tools"
        lines.append(f"- {attachment.id} ({attachment.kind}): {meta} [{note}]")
    return "\n".join(lines)


def assistant_message(content: str | None, tool_calls: list[dict[str, Any]]) -> Message:
    """The assistant message to keep in the history (``tool_calls`` in request format)."""
    message: Message = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return message


def tool_messages(call_ids: list[str], results: list[ToolResult]) -> list[Message]:
    """One ``tool`` message per call id: the JSON of the content, or "Error: ..." text."""
    by_id = {result.call_id: result for result in results}
    messages = []
    for index, call_id in enumerate(call_ids):
        result = by_id.get(call_id) or (results[index] if index < len(results) else None)
        if result is None:
            text = "Error: this call produced no result."
        elif result.ok:
            text = json.dumps(result.content, ensure_ascii=False)
        else:
            text = f"Error: {result.error}"
        messages.append({"role": "tool", "tool_call_id": call_id, "content": text})
    return messages


def output_image_messages(observation: Observation) -> list[Message]:
    """A user message with the files the tool calls just wrote, images inline (or nothing)."""
    by_id = {attachment.id: attachment for attachment in observation.attachments}
    written = [(result, by_id[i]) for result in observation.tool_results
               for i in result.attachments if i in by_id]
    if not written:
        return []
    listed = "; ".join(f"{a.id} ({a.kind}, written by {r.name} for call {r.call_id})"
                       for r, a in written)
    parts: list[dict[str, Any]] = [{"type": "text", "text": (
        f"The tools wrote new files, now attachments that tools take by id: {listed}.")}]
    for _, attachment in written:
        if _shown(attachment):
            parts += _image_parts(attachment)
    return [{"role": "user", "content": parts}]


def error_messages(call_ids: list[str], problems: dict[str, str], error: str) -> list[Message]:
    """An error sent back to the model: as the ``tool`` message of each pending call, or as
    a user message when the reply had no tool calls.

    Args:
        call_ids: Ids of the tool calls of the reply that caused the error.
        problems: The agent's own diagnosis per call id (e.g. malformed JSON arguments);
            the key "" holds one for a reply without tool calls (e.g. an empty reply).
        error: The env's error text, used where there is no own diagnosis.
    """
    if not call_ids:
        return [{"role": "user", "content": f"Error: {problems.get('') or error}"}]
    bad = next((call_id for call_id in call_ids if call_id in problems), None)
    messages = []
    for call_id in call_ids:
        if call_id in problems:
            text = problems[call_id]
        elif bad is not None:
            text = (f"not run, because call {bad} in the same reply was malformed; call it "
                    "again if you still need it")
        else:
            text = error
        messages.append({"role": "tool", "tool_call_id": call_id, "content": f"Error: {text}"})
    return messages


def image_data_url(path: str | Path) -> str:
    """A ``data:`` URL of an image file; formats providers do not take (TIFF) become PNG."""
    file = Path(path)
    mime = _INLINE_SUFFIXES.get(file.suffix.lower())
    data = file.read_bytes() if mime else _png_bytes(file)
    return f"data:{mime or 'image/png'};base64,{base64.b64encode(data).decode('ascii')}"


def _png_bytes(file: Path) -> bytes:
    """The image as PNG: through Pillow when it holds 8-bit data, else as 8-bit grayscale."""
    buffer = io.BytesIO()
    try:
        with Image.open(file) as image:
            if image.mode in _PILLOW_MODES:
                image.save(buffer, format="PNG")
                return buffer.getvalue()
    except (OSError, UnidentifiedImageError):
        pass  # 16-bit or exotic TIFFs: the tools' loader reads them
    gray = np.round(load_image(file).pixels * 255).astype(np.uint8)
    Image.fromarray(gray).save(buffer, format="PNG")
    return buffer.getvalue()


def _shown(attachment: AttachmentInfo) -> bool:
    suffix = Path(attachment.path).suffix.lower()
    return attachment.kind == "image" and (suffix in _INLINE_SUFFIXES
                                           or suffix in _CONVERTED_SUFFIXES)


def _image_parts(attachment: AttachmentInfo) -> list[dict[str, Any]]:
    return [{"type": "text", "text": f"{attachment.id}:"},
            {"type": "image_url", "image_url": {"url": image_data_url(attachment.path)}}]
