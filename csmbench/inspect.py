"""csmbench episodes as an inspect_ai task: ``inspect eval csmbench/inspect.py@csmbench_task``.

What maps to what:

- each item is a ``Sample``: the question and attachment listing the ``openai:`` agent sends
  (same system prompt), images as ``ContentImage`` (a pattern or spectrum is listed by id, its
  plot shown), ``target`` the answer spec as text, ``metadata`` item_id, family, scale,
  difficulty, answer_type;
- the registry's tools are inspect tools built per sample (``csmbench_tools``, a setup solver)
  with their JSON schemas; each call runs in a ``CSMBenchEnv`` holding that sample's
  attachments, so ids, written files ("out1") and result clipping behave as in the env;
- ``csmbench_agent`` is the tool loop: a ``submit_answer`` call or a reply without tool calls
  is the answer (read by csmbench's ``parse_action``), at most ``max_steps`` replies;
- the scorers grade with csmbench's graders: ``csmbench_answer`` (CORRECT/INCORRECT) and
  ``csmbench_trajectory`` (milestones and minefields, 0-1), from the message history.

Run: ``inspect eval csmbench/inspect.py@csmbench_task -T data=data/smoke --model openai/gpt-4o``
(``-T tools=none``, ``-T family=xrd.``, ``-T items=ID,ID``, ``-T max_steps=N``), or from
Python ``inspect_ai.eval(csmbench_task("data/smoke"), model=...)``. Needs the ``inspect``
extra: ``pip install 'csmbench[inspect]'``.
"""

from __future__ import annotations

import functools
import json
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

try:
    import anyio
    from inspect_ai import Task, task
    from inspect_ai.dataset import MemoryDataset, Sample
    from inspect_ai.model import (
        ChatMessage,
        ChatMessageAssistant,
        ChatMessageSystem,
        ChatMessageTool,
        ChatMessageUser,
        Content,
        ContentImage,
        ContentText,
        execute_tools,
    )
    from inspect_ai.scorer import (
        CORRECT,
        INCORRECT,
        Score,
        Scorer,
        Target,
        accuracy,
        mean,
        scorer,
        stderr,
    )
    from inspect_ai.solver import Generate, Solver, TaskState, solver
    from inspect_ai.tool import Tool, ToolCallError, ToolDef, ToolError, ToolParams
except ModuleNotFoundError as error:  # pragma: no cover - depends on the install
    if error.name not in ("inspect_ai", "anyio"):
        raise
    raise ImportError("csmbench.inspect needs inspect_ai, which is not installed: "
                      "pip install 'csmbench[inspect]'") from error

from csmbench.agents import (
    NO_TOOLS_NOTE,
    PARITY_FAMILIES,
    SYSTEM_PROMPT,
    attachment_listing,
    image_data_url,
)
from csmbench.env import (
    AttachmentInfo,
    CSMBenchEnv,
    Step,
    parse_action,
    resolve_tools,
    submit_answer_schema,
)
from csmbench.episodes import (
    Choice,
    Dataset,
    EpisodeScore,
    FinalAnswer,
    Formula,
    FreeText,
    Item,
    NumberSet,
    Numeric,
    ToolCall,
    ToolResult,
    load_dataset,
)
from csmbench.errors import ActionError, DatasetError
from csmbench.graders import UNSCORED, combined_score, grade_answer, grade_trajectory
from csmbench.tools import ToolRegistry

__all__ = ["Episode", "csmbench_agent", "csmbench_answer", "csmbench_dataset", "csmbench_task",
           "csmbench_tools", "csmbench_trajectory", "episode_from_messages", "sample_messages",
           "target_text"]

DEFAULT_MAX_STEPS = 16
"""Replies per episode, as ``csmbench eval --max-steps``."""
ENV_STEP_BUDGET = 1_000_000
"""The env's own step limit inside a sample: ``csmbench_agent`` bounds the replies, so the
env (which counts each tool call as a step here) must never cut in first."""
INTERNAL_ERROR_PREFIX = "internal error in csmbench tool"
"""How the registry's message for a bug in a tool begins (``tools/_registry.py``); tells a
csmbench bug from the model's mistake when a trajectory is read back from the messages."""
OUTPUTS_NOTE = "The tool wrote new files, now attachments that tools take by id: "
"""Opens the part of a tool result that lists the files the call wrote."""
_OUTPUT_ID = re.compile(r"(\w+) \(\w+\)")
_INLINE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp"}
"""Image files inspect sends as they are (from their path)."""
_CONVERTED_SUFFIXES = {".tif", ".tiff", ".bmp"}
"""Image files providers do not take: sent as PNG data URLs (``image_data_url``)."""


@functools.cache
def _load(root: str) -> Dataset:
    """The dataset at ``root`` (resolved path), loaded and verified once per process."""
    return load_dataset(Path(root))


def _dataset(data: str | Path) -> Dataset:
    """The dataset folder ``data``; a relative path is also looked up in the shell's folder
    (``$PWD``), since ``inspect eval FILE@task`` runs the task from the file's folder."""
    path = Path(data).expanduser()
    shell = Path(os.environ.get("PWD", ".")) / path
    if not path.is_absolute() and not _is_dataset(path) and _is_dataset(shell):
        path = shell
    if not _is_dataset(path):
        raise DatasetError(f"{str(data)!r} (resolved to {path.resolve()}) is not a csmbench "
                           "dataset folder (no manifest.json); build one with `csmbench build` "
                           "or `csmbench import csmbench`")
    return _load(str(path.resolve()))


def _is_dataset(path: Path) -> bool:
    return (path / "manifest.json").is_file()


def _item(dataset: Dataset, state: TaskState) -> Item:
    """The csmbench item of a sample (made by ``csmbench_dataset``)."""
    item_id = (state.metadata or {}).get("item_id")
    if item_id is None:
        raise DatasetError(f"sample {state.sample_id!r} has no 'item_id' in its metadata; the "
                           "csmbench solvers and scorers need samples from csmbench_dataset()")
    return dataset.item(str(item_id))


# -- samples ---------------------------------------------------------------------------------
def _shown(attachment: AttachmentInfo) -> bool:
    suffix = Path(attachment.path).suffix.lower()
    return attachment.kind == "image" and suffix in _INLINE_SUFFIXES | _CONVERTED_SUFFIXES


def _image(attachment: AttachmentInfo) -> ContentImage:
    """An image by path (inspect reads it when the sample starts), TIFF as a PNG data URL."""
    inline = Path(attachment.path).suffix.lower() in _INLINE_SUFFIXES
    return ContentImage(image=attachment.path if inline else image_data_url(attachment.path))


def _parity(item: Item, offered: ToolRegistry) -> bool:
    """A real CSMBench item without tools is asked as the original scripts ask it."""
    return item.family in PARITY_FAMILIES and not offered.names


def sample_messages(item: Item, root: Path, offered: ToolRegistry,
                    max_steps: int = DEFAULT_MAX_STEPS) -> list[ChatMessage]:
    """The messages that open an episode, as the ``openai:`` agent sends them."""
    infos = [AttachmentInfo(id=a.id, kind=a.kind, meta=a.meta, path=str(root / a.path))
             for a in item.attachments]
    shown = [a for a in infos if _shown(a)]
    if _parity(item, offered):
        return [ChatMessageUser(content=[ContentText(text=item.question),
                                         *(_image(a) for a in shown)])]
    system = SYSTEM_PROMPT.format(steps=max_steps) + ("" if offered.names else NO_TOOLS_NOTE)
    parts: list[Content] = [ContentText(text=f"{item.question}\n\n{attachment_listing(infos)}")]
    for attachment in shown:
        parts += [ContentText(text=f"{attachment.id}:"), _image(attachment)]
    return [ChatMessageSystem(content=system), ChatMessageUser(content=parts)]


def target_text(item: Item) -> str:
    """The answer spec as the text inspect shows as the target."""
    spec = item.answer
    if isinstance(spec, Numeric):
        return f"{spec.value:.6g} {spec.unit}".strip()
    if isinstance(spec, NumberSet):
        return f"{', '.join(f'{v:.6g}' for v in spec.values)} {spec.unit}".strip()
    if isinstance(spec, Choice):
        return spec.correct
    if isinstance(spec, Formula):
        return spec.formula
    assert isinstance(spec, FreeText)
    return spec.reference


def csmbench_dataset(data: str | Path, tools: str = "all", max_steps: int = DEFAULT_MAX_STEPS,
                     items: Sequence[str] | None = None, family: str | None = None
                     ) -> MemoryDataset:
    """The items of a csmbench dataset folder as inspect samples (ids are the item ids).

    Args:
        data: A csmbench dataset folder.
        tools: "all", "none" or comma-separated tool names (the prompt says which).
        max_steps: Replies the system prompt allows.
        items: Only these item ids.
        family: Only items whose family starts with this ("xrd.", "csmbench.mcqa").
    """
    dataset = _dataset(data)
    offered = resolve_tools(tools)
    chosen = [dataset.item(i) for i in items] if items else list(dataset.items)
    chosen = [i for i in chosen if family is None or i.family.startswith(family)]
    samples = [Sample(id=item.id, input=sample_messages(item, dataset.root, offered, max_steps),
                      target=target_text(item),
                      metadata={"item_id": item.id, "family": item.family, "scale": item.scale,
                                "difficulty": item.metadata.get("difficulty"),
                                "answer_type": item.answer.type})
               for item in chosen]
    return MemoryDataset(samples, name=str(dataset.manifest.get("name") or dataset.root.name),
                         location=str(dataset.root))


# -- tools -----------------------------------------------------------------------------------
class _SampleEnv:
    """One sample's ``CSMBenchEnv``: runs its tool calls on its attachments."""

    def __init__(self, dataset: Dataset, item_id: str, tools: str, output_dir: Path) -> None:
        self.env = CSMBenchEnv(dataset, tools=tools, max_steps=ENV_STEP_BUDGET,
                               output_dir=output_dir)
        self.env.reset(options={"item_id": item_id})
        self.calls = 0

    def run(self, name: str, arguments: dict[str, Any]) -> tuple[ToolResult, list[AttachmentInfo]]:
        """The call's result and the attachments it wrote."""
        self.calls += 1
        _, _, _, _, info = self.env.step(ToolCall(id=f"call_{self.calls}", name=name,
                                                  arguments=arguments))
        observation = info["observation"]
        if observation.error is not None:  # the env refused the call (a NaN argument, ...)
            return ToolResult(call_id=f"call_{self.calls}", name=name, ok=False,
                              error=observation.error), []
        result = observation.tool_results[0]
        written = [a for a in observation.attachments if a.id in result.attachments]
        return result, written


def _output(result: ToolResult, written: list[AttachmentInfo]) -> str | list[Content]:
    """A result as the model sees it: its JSON, and any file it wrote (images inline)."""
    text = json.dumps(result.content, ensure_ascii=False)
    if not written:
        return text
    listed = ", ".join(f"{a.id} ({a.kind})" for a in written)
    return [ContentText(text=text), ContentText(text=f"{OUTPUTS_NOTE}{listed}."),
            *(ContentImage(image=image_data_url(a.path)) for a in written if _shown(a))]


class _ToolSchema(NamedTuple):
    """A tool's name, description and parameters in inspect's form (built once per task)."""

    name: str
    description: str
    parameters: ToolParams

    @classmethod
    def of(cls, schema: dict[str, Any]) -> _ToolSchema:
        """From an OpenAI function schema (the registry's, or ``submit_answer``'s)."""
        function = schema["function"]
        return cls(function["name"], function["description"],
                   ToolParams.model_validate(function["parameters"]))


def _inspect_tool(schema: _ToolSchema, sample_env: _SampleEnv) -> Tool:
    """A registry tool as an inspect tool that runs in ``sample_env`` (in a worker thread)."""

    async def execute(**arguments: Any) -> str | list[Content]:
        result, written = await anyio.to_thread.run_sync(sample_env.run, schema.name, arguments)
        if not result.ok:
            raise ToolError(result.error or f"{schema.name} failed")
        return _output(result, written)

    # max_output=0: the env already clips results to MAX_RESULT_CHARS, as JSON
    return ToolDef(execute, name=schema.name, description=schema.description,
                   parameters=schema.parameters, max_output=0).as_tool()


def _submit_tool(schema: _ToolSchema) -> Tool:
    async def submit(**arguments: Any) -> str:
        return "Answer recorded; the episode is over."

    return ToolDef(submit, name=schema.name, description=schema.description,
                   parameters=schema.parameters).as_tool()


@solver
def csmbench_tools(data: str, tools: str = "all", output_dir: str | None = None) -> Solver:
    """Give each sample the registry's tools (and ``submit_answer``), bound to its attachments.

    Args:
        data: The csmbench dataset folder the samples come from.
        tools: "all", "none" or comma-separated tool names.
        output_dir: Folder for files tools write (overlays); default a new temporary folder.
    """
    dataset = _dataset(data)
    offered = resolve_tools(tools)
    schemas = [_ToolSchema.of(schema) for schema in offered.openai_schemas()]
    submit = _ToolSchema.of(submit_answer_schema())
    outputs = Path(output_dir) if output_dir else Path(tempfile.mkdtemp(prefix="csmbench-inspect-"))

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        item = _item(dataset, state)
        if _parity(item, offered):
            state.tools = []
            return state
        sample_env = _SampleEnv(dataset, item.id, tools, outputs / f"e{state.epoch}")
        state.tools = [*(_inspect_tool(schema, sample_env) for schema in schemas),
                       _submit_tool(submit)]
        state.tool_choice = "auto"
        return state

    return solve


# -- the agent loop --------------------------------------------------------------------------
def _as_openai(message: ChatMessageAssistant) -> dict[str, Any]:
    """An assistant message in the OpenAI form ``parse_action`` reads."""
    return {"role": "assistant", "content": message.text,
            "tool_calls": [{"id": c.id, "function": {"name": c.function, "arguments": c.arguments}}
                           for c in message.tool_calls or []]}


def _error_messages(message: ChatMessageAssistant, error: str) -> list[ChatMessage]:
    """An unusable reply goes back to the model: per tool call, or as a user message."""
    if not message.tool_calls:
        return [ChatMessageUser(content=f"Error: {error}")]
    return [ChatMessageTool(content=f"Error: {error}", tool_call_id=c.id, function=c.function,
                            error=ToolCallError("parsing", error)) for c in message.tool_calls]


@solver
def csmbench_agent(max_steps: int = DEFAULT_MAX_STEPS) -> Solver:
    """The tool loop: generate, run the tool calls, until an answer or ``max_steps`` replies.

    A ``submit_answer`` call (alone in its reply) or a reply without tool calls is the answer;
    an unusable reply (empty, ``submit_answer`` beside other calls) is sent back as an error
    and costs a step, as in ``csmbench eval``.
    """

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        for _ in range(max_steps):
            state = await generate(state, tool_calls="none")
            message = state.output.message
            try:
                action = parse_action(_as_openai(message))
            except ActionError as exc:
                state.messages.extend(_error_messages(message, str(exc)))
                continue
            if isinstance(action, FinalAnswer):
                break
            result = await execute_tools(state.messages, state.tools)
            state.messages.extend(result.messages)
            if result.output is not None:
                state.output = result.output
        return state

    return solve


# -- scoring ---------------------------------------------------------------------------------
class Episode(NamedTuple):
    """A trajectory read back from inspect messages, in csmbench's types (a NamedTuple, not a
    dataclass: ``inspect eval`` loads this file outside ``sys.modules``)."""

    steps: list[Step]
    answer: FinalAnswer | None


def _result(call: ToolCall, message: ChatMessageTool | None) -> ToolResult:
    if message is None:
        return ToolResult(call_id=call.id, name=call.name, ok=False, error="no result")
    if message.error is not None:
        error = message.error.message
        return ToolResult(call_id=call.id, name=call.name, ok=False, error=error,
                          internal_error=error.startswith(INTERNAL_ERROR_PREFIX))
    texts = ([message.content] if isinstance(message.content, str)
             else [p.text for p in message.content if isinstance(p, ContentText)])
    try:
        content = json.loads(texts[0]) if texts else None
    except json.JSONDecodeError:
        content = texts[0]
    written = [m for t in texts[1:] if t.startswith(OUTPUTS_NOTE)
               for m in _OUTPUT_ID.findall(t[len(OUTPUTS_NOTE):])]
    return ToolResult(call_id=call.id, name=call.name, ok=True, content=content,
                      attachments=written)


def episode_from_messages(messages: Sequence[ChatMessage]) -> Episode:
    """The steps and the answer of an inspect conversation, read as ``csmbench eval`` would.

    Each assistant reply is one step; its tool calls are matched to the tool messages that
    answer them. The first reply that is an answer ends the episode.
    """
    replies = {m.tool_call_id: m for m in messages if isinstance(m, ChatMessageTool)}
    steps: list[Step] = []
    for message in messages:
        if not isinstance(message, ChatMessageAssistant):
            continue
        try:
            action = parse_action(_as_openai(message))
        except ActionError as exc:
            steps.append(Step(index=len(steps), error=str(exc)))
            continue
        if isinstance(action, FinalAnswer):
            steps.append(Step(index=len(steps), answer=action))
            return Episode(steps, action)
        results = [_result(call, replies.get(original.id))
                   for call, original in zip(action, message.tool_calls or [], strict=True)]
        steps.append(Step(index=len(steps), calls=action, results=results))
    return Episode(steps, None)


def _answer_text(answer: FinalAnswer) -> str:
    if answer.text:
        return answer.text
    return json.dumps(answer.model_dump(exclude_none=True, exclude_defaults=True))


@scorer(metrics=[accuracy(), stderr()])
def csmbench_answer(data: str) -> Scorer:
    """CORRECT when csmbench's answer grader accepts the final answer (metadata: its score
    in [0, 1], outcome, explanation). Free-text answers are not scored (no judge here)."""
    dataset = _dataset(data)

    async def score(state: TaskState, target: Target) -> Score | None:
        item = _item(dataset, state)
        answer = episode_from_messages(state.messages).answer
        if answer is None:
            return Score(value=INCORRECT, answer="", metadata={"outcome": "no_answer"},
                         explanation="the episode ended without an answer")
        graded = grade_answer(item.answer, answer, question=item.question)
        if graded.metadata.get("outcome") == UNSCORED:
            return None
        return Score(value=CORRECT if graded.correct else INCORRECT, answer=_answer_text(answer),
                     explanation=graded.explanation,
                     metadata={"score": graded.value, **graded.metadata})

    return score


@scorer(metrics=[mean(), stderr()])
def csmbench_trajectory(data: str, tools: str = "all") -> Scorer:
    """csmbench's trajectory score in [0, 1] (milestones, zero on a minefield); metadata: the
    grader's details and ``combined`` (answer × (0.5 + 0.5 × trajectory)). Items without
    milestones are not scored."""
    dataset = _dataset(data)
    offered = resolve_tools(tools)

    async def score(state: TaskState, target: Target) -> Score | None:
        item = _item(dataset, state)
        episode = episode_from_messages(state.messages)
        graded = grade_trajectory(item, episode.steps, episode.answer, registry=offered)
        if graded is None:
            return None
        answered = (grade_answer(item.answer, episode.answer, question=item.question)
                    if episode.answer is not None else None)
        combined = (combined_score(EpisodeScore(answer=answered, trajectory=graded))
                    if answered is not None else 0.0)
        return Score(value=graded.value, explanation=graded.explanation,
                     metadata={**graded.metadata, "combined": combined})

    return score


@task
def csmbench_task(data: str, tools: str = "all", max_steps: int = DEFAULT_MAX_STEPS,
                  items: str | None = None, family: str | None = None,
                  output_dir: str | None = None) -> Task:
    """csmbench episodes of a dataset folder as an inspect task.

    Args:
        data: A csmbench dataset folder (an absolute path: ``inspect eval`` runs task files
            from their own folder).
        tools: "all", "none" or comma-separated tool names (the ablation).
        max_steps: Model replies per episode.
        items: Comma-separated item ids to run (default all).
        family: Only families starting with this, e.g. "xrd." or "scale_bar.pixel_size".
        output_dir: Folder for files tools write; default a new temporary folder.
    """
    data = str(_dataset(data).root)
    chosen = [i.strip() for i in items.split(",") if i.strip()] if items else None
    return Task(dataset=csmbench_dataset(data, tools, max_steps, chosen, family),
                setup=csmbench_tools(data, tools, output_dir),
                solver=csmbench_agent(max_steps),
                scorer=[csmbench_answer(data), csmbench_trajectory(data, tools)],
                name="csmbench", metadata={"tools": tools, "max_steps": max_steps})
