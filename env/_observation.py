"""What the env shows the agent, and the record it keeps of each episode."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from csmbench.episodes import EpisodeScore, FinalAnswer, ToolCall, ToolResult

__all__ = ["AttachmentInfo", "EpisodeRecord", "Observation", "Status", "Step", "Usage"]

Status = Literal["answered", "step_limit", "time_limit", "token_limit", "error"]
"""How an episode ended: an answer, a budget of the env or the runner ran out, or an
infrastructure error (the model API still failing after retries, an agent crash)."""


class AttachmentInfo(BaseModel):
    """An attachment as the agent sees it: id, kind, facts, and the file for vision input."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str
    kind: str
    meta: dict[str, Any] = Field(default_factory=dict)
    path: str = Field(description="absolute path of the file, for sending it to a vision model")


class Observation(BaseModel):
    """One observation.

    ``kind`` is "question" after reset, "tool_results" after tool calls, "error" after an
    action that could not be used, and "done" after the answer or the step limit.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["question", "tool_results", "error", "done"]
    item_id: str
    scale: str
    family: str
    question: str
    attachments: list[AttachmentInfo]
    tools: list[dict[str, Any]] = Field(description="OpenAI function schemas offered, with submit_answer")
    tool_results: list[ToolResult] = Field(default_factory=list)
    error: str | None = None
    step: int = 0
    steps_left: int = 0


class Step(BaseModel):
    """One step of the trajectory: what the agent did and what came back."""

    model_config = ConfigDict(extra="forbid")
    index: int
    calls: list[ToolCall] = Field(default_factory=list)
    results: list[ToolResult] = Field(default_factory=list)
    answer: FinalAnswer | None = None
    error: str | None = None


class Usage(BaseModel):
    """What an agent spent on model calls in one episode (None fields: not known)."""

    model_config = ConfigDict(extra="forbid")
    model_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    cache_hits: int = 0
    cache_misses: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class EpisodeRecord(BaseModel):
    """Everything about one finished episode (one line of ``episodes.jsonl``)."""

    model_config = ConfigDict(extra="forbid")
    item_id: str
    epoch: int = 0
    scale: str
    family: str
    answer_type: str
    tools_offered: list[str]
    difficulty: str | None = Field(default=None, description="easy, medium or hard (generated items)")
    status: Status
    steps: int
    trajectory: list[Step]
    answer: FinalAnswer | None = None
    score: EpisodeScore | None = None
    error: str | None = None
    agent: str = ""
    seconds: float = 0.0
    usage: Usage | None = Field(default=None, description="model calls, tokens and cost, for model agents")
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def correct(self) -> bool:
        return self.score is not None and self.score.answer.correct
