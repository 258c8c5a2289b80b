"""``CSMBenchEnv``: a gymnasium env over a csmbench dataset.

Observations and actions are JSON text (ASCII-escaped, so they fit gymnasium ``Text`` spaces);
``info["observation"]`` holds the same observation as a pydantic ``Observation``. Reward is 0
until the answer, then the graded score in [0, 1].
"""

from __future__ import annotations

import json
import os
import re
import string
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import gymnasium
from gymnasium import spaces

from csmbench.episodes import (
    Asset,
    Dataset,
    EpisodeScore,
    FinalAnswer,
    Item,
    ToolCall,
    ToolResult,
    load_dataset,
)
from csmbench.errors import ActionError, DatasetError
from csmbench.graders import Judge, grade_answer, grade_trajectory
from csmbench.tools import REGISTRY, ToolContext, ToolRegistry

from ._actions import MAX_ACTION_CHARS, parse_action, submit_answer_schema
from ._observation import AttachmentInfo, EpisodeRecord, Observation, Step

__all__ = [
    "MAX_ERROR_CHARS",
    "MAX_OBSERVATION_CHARS",
    "MAX_RESULT_CHARS",
    "CSMBenchEnv",
    "ToolSetting",
    "resolve_tools",
]

ToolSetting = Literal["all", "none"] | Sequence[str]
MAX_OBSERVATION_CHARS = 1 << 20
MAX_RESULT_CHARS = 20_000
MAX_ERROR_CHARS = 2_000
"""Longest error text in an observation: errors may quote what the agent sent, and a Python
caller's action (a dict) has no length limit, but the observation must fit its space."""
DEFAULT_MAX_STEPS = 16
_CHARSET = string.printable
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff"}


def resolve_tools(tools: ToolSetting, registry: ToolRegistry = REGISTRY) -> ToolRegistry:
    """The registry for an ablation setting: "all", "none", or a list (or "a,b") of names."""
    if tools == "all":
        return registry
    if tools == "none":
        return ToolRegistry()
    names = tools.split(",") if isinstance(tools, str) else list(tools)
    return registry.subset(n.strip() for n in names if n.strip())


class CSMBenchEnv(gymnasium.Env[str, str]):
    """One episode per item of a dataset; see the module docstring.

    Args:
        data: A dataset folder or a loaded ``Dataset``.
        tools: "all", "none", or the names of the tools to offer (the ablation).
        max_steps: Actions allowed before the episode is truncated.
        render_mode: None or "ansi" (``render`` returns the last observation as text).
        output_dir: Folder for files tools write (overlays), one subfolder per item; default
            a new temporary folder. Such a file becomes an attachment ("out1", ...) that the
            agent sees and later tool calls may use.
        judge: Scores free-text answers (``FreeText`` specs, CSMBench OpenQA), e.g. a
            ``csmbench.graders.LLMJudge``; without one they are recorded unscored.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"]}

    def __init__(self, data: str | os.PathLike[str] | Dataset, tools: ToolSetting = "all",
                 max_steps: int = DEFAULT_MAX_STEPS, render_mode: str | None = None,
                 output_dir: str | os.PathLike[str] | None = None,
                 judge: Judge | None = None) -> None:
        self.dataset = data if isinstance(data, Dataset) else load_dataset(Path(data))
        if not self.dataset.items:
            raise DatasetError(f"dataset {self.dataset.root} has no items")
        if max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {max_steps}")
        self.tools = resolve_tools(tools)
        self.max_steps = max_steps
        self.render_mode = render_mode
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.judge = judge
        self.observation_space = spaces.Text(max_length=MAX_OBSERVATION_CHARS, charset=_CHARSET)
        self.action_space = spaces.Text(max_length=MAX_ACTION_CHARS, charset=_CHARSET)
        # a private copy: agents may edit what they are given, the shared schemas stay intact
        self._schemas = json.loads(json.dumps([*self.tools.openai_schemas(),
                                               submit_answer_schema()]))
        self._schemas_json = json.dumps(self._schemas, ensure_ascii=True, sort_keys=True)
        self._item: Item | None = None
        self._observation: Observation | None = None
        self.record: EpisodeRecord | None = None

    # -- gymnasium API -------------------------------------------------------------------
    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """Start an episode on ``options["item_id"]`` or on an item drawn with ``seed``."""
        super().reset(seed=seed)
        item_id = (options or {}).get("item_id")
        if item_id is None:
            self._item = self.dataset.items[int(self.np_random.integers(len(self.dataset.items)))]
        else:
            self._item = self.dataset.item(str(item_id))
        self._context = ToolContext(self.dataset.root, {a.id: a for a in self._item.attachments},
                                    self._episode_output_dir(self._item.id))
        self._steps: list[Step] = []
        self._outputs: list[Asset] = []
        self._done = False
        self.record: EpisodeRecord | None = None
        return self._emit(self._observe("question"))

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Run tool calls or grade the answer; a malformed action is an error observation.

        Stepping a finished episode changes nothing and returns an error observation with the
        flags it ended with (terminated after an answer, truncated otherwise).
        """
        if self._item is None:
            raise gymnasium.error.ResetNeeded("call reset() before step()")
        if self._done:
            assert self.record is not None
            obs, info = self._emit(self._observe(
                "error", error="the episode is over; call reset() to start another"))
            answered = self.record.status == "answered"  # repeat how the episode ended
            return obs, 0.0, answered, not answered, info
        index = len(self._steps)
        try:
            parsed = parse_action(action)
        except ActionError as exc:
            error = _clip_text(str(exc))
            self._steps.append(Step(index=index, error=error))
            return self._after(self._observe("error", error=error))
        if isinstance(parsed, FinalAnswer):
            return self._answer(parsed, index)
        results = [self._run_tool(call) for call in parsed]
        self._steps.append(Step(index=index, calls=parsed, results=results))
        return self._after(self._observe("tool_results", results=results))

    @property
    def observation(self) -> Observation:
        """The last observation (after ``reset`` or ``step``)."""
        if self._observation is None:
            raise gymnasium.error.ResetNeeded("call reset() first")
        return self._observation

    def stop(self, status: Literal["time_limit", "token_limit", "error"], reason: str
             ) -> EpisodeRecord:
        """End the episode early (a runner's limit or an error); the record keeps the steps so far."""
        if self._item is None:
            raise gymnasium.error.ResetNeeded("call reset() before stop()")
        if not self._done:
            self._finish(status)
            assert self.record is not None
            self.record = self.record.model_copy(update={"error": reason})
        assert self.record is not None
        return self.record

    def render(self) -> str | None:
        if self.render_mode == "ansi" and self._observation is not None:
            return self._observation.model_dump_json(indent=2)
        return None

    # -- internals -----------------------------------------------------------------------
    def _run_tool(self, call: ToolCall) -> ToolResult:
        if call.name not in self.tools.names:
            offered = ", ".join(self.tools.names) or "none (this is a no-tools episode)"
            return ToolResult(call_id=call.id, name=call.name, ok=False,
                              error=f"tool {call.name[:200]!r} is not offered in this episode; "
                                    f"offered: {offered}. Answer with submit_answer when you are "
                                    "done.")
        written = len(self._context.written)
        result = self.tools.call(call, self._context)
        new_ids = [self._register_output(path, call) for path in self._context.written[written:]
                   if path.is_file() and path.stat().st_size > 0]
        if new_ids:
            result = result.model_copy(update={"attachments": new_ids})
        return _clip(result)

    def _episode_output_dir(self, item_id: str) -> Path:
        if self.output_dir is None:
            self.output_dir = Path(tempfile.mkdtemp(prefix="csmbench-outputs-"))
        return self.output_dir / re.sub(r"[^A-Za-z0-9._-]+", "_", item_id)

    def _register_output(self, path: Path, call: ToolCall) -> str:
        """Make a file a tool call wrote an attachment ("out1", "out2", ...)."""
        asset_id = f"out{len(self._outputs) + 1}"
        kind = "image" if path.suffix.lower() in _IMAGE_SUFFIXES else "pattern"
        self._outputs.append(self._context.add_output(
            asset_id, path, kind, {"written_by": call.name, "call_id": call.id}))
        return asset_id

    def _answer(self, answer: FinalAnswer, index: int) -> tuple[str, float, bool, bool, dict]:
        assert self._item is not None
        graded = grade_answer(self._item.answer, answer, judge=self.judge,
                              question=self._item.question)
        self._steps.append(Step(index=index, answer=answer))
        score = EpisodeScore(answer=graded, trajectory=grade_trajectory(
            self._item, self._steps, answer, registry=self.tools))
        self._finish("answered", answer=answer, score=score)
        obs, info = self._emit(self._observe("done"))
        return obs, score.answer.value, True, False, info

    def _after(self, observation: Observation) -> tuple[str, float, bool, bool, dict]:
        truncated = len(self._steps) >= self.max_steps
        if truncated:
            self._finish("step_limit")
        obs, info = self._emit(observation)
        return obs, 0.0, False, truncated, info

    def _finish(self, status: str, *, answer: FinalAnswer | None = None,
                score: EpisodeScore | None = None) -> None:
        assert self._item is not None
        self._done = True
        self.record = EpisodeRecord(
            item_id=self._item.id, scale=self._item.scale, family=self._item.family,
            answer_type=self._item.answer.type, tools_offered=self.tools.names,
            difficulty=self._item.metadata.get("difficulty"), status=status,
            steps=len(self._steps), trajectory=self._steps, answer=answer, score=score)

    def _observe(self, kind: str, *, results: list[ToolResult] | None = None,
                 error: str | None = None) -> Observation:
        assert self._item is not None
        attachments = [AttachmentInfo(id=a.id, kind=a.kind, meta=a.meta,
                                      path=str(self._context.root / a.path))
                       for a in [*self._item.attachments, *self._outputs]]
        return Observation(kind=kind, item_id=self._item.id, scale=self._item.scale,
                           family=self._item.family, question=self._item.question,
                           attachments=attachments, tools=self._schemas,
                           tool_results=results or [], error=error, step=len(self._steps),
                           steps_left=max(self.max_steps - len(self._steps), 0))

    def _emit(self, observation: Observation) -> tuple[str, dict[str, Any]]:
        self._observation = observation
        text = self._observation_text(observation)
        info: dict[str, Any] = {"observation": observation}
        if self.record is not None:
            info["record"] = self.record
        return text, info


    def _observation_text(self, observation: Observation) -> str:
        """The observation as sorted, ASCII-escaped JSON. The tool schemas (most of its ~16 kB,
        the same at every step) are serialized once; "tools" sorts after every other key."""
        data = observation.model_dump(mode="json", exclude={"tools"})
        assert all(key < "tools" for key in data)
        head = json.dumps(data, ensure_ascii=True, sort_keys=True)
        return f'{head[:-1]}, "tools": {self._schemas_json}}}'


def _clip_text(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text) - limit} characters cut)"


def _clip(result: ToolResult) -> ToolResult:
    """Bound a tool result's size so observations stay within the observation space."""
    if result.error is not None and len(result.error) > MAX_ERROR_CHARS:
        result = result.model_copy(update={"error": _clip_text(result.error)})
    text = json.dumps(result.content, ensure_ascii=True)
    if len(text) <= MAX_RESULT_CHARS:
        return result
    return result.model_copy(update={"content": {
        "truncated": True, "preview": text[:MAX_RESULT_CHARS],
        "note": f"result was {len(text)} characters; only the first {MAX_RESULT_CHARS} are shown"}})
