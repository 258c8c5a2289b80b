"""Core serialized types: items, assets, answer specs, tool calls, answers and scores.

Every type here crosses a boundary (disk, env, agent, grader), so all are pydantic v2 models
with ``extra="forbid"``; those that cross a boundary unchanged are frozen.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "DIFFICULTIES",
    "AnswerSpec",
    "Asset",
    "AssetKind",
    "Choice",
    "Difficulty",
    "EpisodeScore",
    "FinalAnswer",
    "Formula",
    "FreeText",
    "Item",
    "Milestone",
    "NumberSet",
    "Numeric",
    "Scale",
    "Score",
    "ToolCall",
    "ToolResult",
]

Scale = Literal["AtomScale", "Microscale", "Mesoscale", "Macroscale"]
AssetKind = Literal["image", "pattern", "spectrum", "structure"]
Difficulty = Literal["easy", "medium", "hard"]
DIFFICULTIES: tuple[Difficulty, ...] = ("easy", "medium", "hard")
"""Levels of generated items: easy needs one measurement with its inputs stated; medium adds
a calibration or a second step; hard chains several tools or measures a harder input."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Asset(_Frozen):
    """An attachment of an item: a file in the dataset's ``assets/`` folder.

    Attributes:
        id: Short id the agent uses to refer to it ("img0", "xrd0").
        kind: What the file holds.
        path: Path relative to the dataset root (POSIX separators).
        sha256: Hex digest of the file's bytes.
        meta: Facts about the file (wavelength, radiation, units, image format).
    """

    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,31}$")
    kind: AssetKind
    path: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    meta: dict[str, Any] = Field(default_factory=dict)

    @field_validator("path")
    @classmethod
    def _relative_inside(cls, path: str) -> str:
        parts = path.split("/")
        if path.startswith("/") or "\\" in path or ".." in parts or ":" in path:
            raise ValueError(f"asset path {path!r} must be relative to the dataset root, without '..'")
        return path


class Numeric(_Frozen):
    """A number with a unit, right when within ``rel_tol`` or ``abs_tol`` (in ``unit``) of ``value``."""

    type: Literal["numeric"] = "numeric"
    value: float
    unit: str = ""
    rel_tol: float = Field(default=0.02, ge=0)
    abs_tol: float = Field(default=0.0, ge=0)

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError(f"numeric answer must be finite, got {value}")
        return value


class Choice(_Frozen):
    """One right option among labelled options (``options`` maps letter -> text)."""

    type: Literal["choice"] = "choice"
    options: dict[str, str]
    correct: str

    @model_validator(mode="after")
    def _correct_is_an_option(self) -> Choice:
        if self.correct not in self.options:
            raise ValueError(f"correct option {self.correct!r} is not one of {sorted(self.options)}")
        return self


class Formula(_Frozen):
    """A chemical formula, right when the answer's composition reduces to the same formula.

    ``formula`` is the reduced formula ("TiO2"); ``names`` are accepted as well ("anatase").
    """

    type: Literal["formula"] = "formula"
    formula: str = Field(min_length=1)
    names: list[str] = Field(default_factory=list)


class NumberSet(_Frozen):
    """A set of numbers in one unit, matched one to one within ``abs_tol`` (in ``unit``).

    The score is the F1 of the matching; the answer is correct only when every number is
    matched and nothing extra is given.
    """

    type: Literal["number_set"] = "number_set"
    values: list[float] = Field(min_length=1)
    unit: str = ""
    abs_tol: float = Field(gt=0)

    @field_validator("values")
    @classmethod
    def _finite(cls, values: list[float]) -> list[float]:
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"number set must hold finite numbers, got {values}")
        return values


class FreeText(_Frozen):
    """A free-text answer judged against a reference text (CSMBench OpenQA) by an LLM judge.

    ``reference`` is what a right answer says (the paper's paragraph about the figure);
    ``rubric``, when not empty, is appended to the judge's prompt (CSMBench items leave it
    empty, so the judge sees the original prompt).
    """

    type: Literal["free_text"] = "free_text"
    reference: str = Field(min_length=1)
    rubric: str = ""


AnswerSpec = Annotated[Numeric | Choice | Formula | NumberSet | FreeText,
                       Field(discriminator="type")]


class ToolCall(_Frozen):
    """A request to run tool ``name`` with JSON ``arguments``."""

    id: str = "call_0"
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ToolResult(_Frozen):
    """What a tool call returned: ``content`` (JSON-able) when ``ok``, else ``error`` text.

    ``internal_error`` marks a failure that was csmbench's fault (a bug), not the agent's.
    """

    call_id: str
    name: str
    ok: bool
    content: Any = None
    error: str | None = None
    internal_error: bool = False
    attachments: list[str] = Field(default_factory=list)
    """Ids of the files this call wrote (an overlay image); they join the episode's attachments."""


class FinalAnswer(_Frozen):
    """The agent's answer: free ``text`` and, optionally, a parsed value (or list), unit or choice."""

    text: str = ""
    value: float | None = None
    values: list[float] | None = None
    unit: str | None = None
    choice: str | None = None


class Milestone(_Frozen):
    """A tool call a good trajectory contains, with tolerances on some numeric arguments.

    Attributes:
        tool: Tool name.
        arguments: Expected argument values; strings must match exactly, numbers within
            ``rel_tol``.
        rel_tol: Relative tolerance for numeric arguments.
        after: Indices (in the item's milestone list) of milestones that must come earlier
            (a partial order; empty when this one may come at any point).
    """

    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    rel_tol: float = 0.02
    after: list[int] = Field(default_factory=list)


class Item(_Frozen):
    """One benchmark item: a question, its attachments, the truth and one solving trajectory."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
    source: Literal["generated", "csmbench"]
    scale: Scale
    family: str
    question: str
    attachments: list[Asset] = Field(default_factory=list)
    answer: AnswerSpec
    reference: list[ToolCall] = Field(default_factory=list)
    milestones: list[Milestone] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique_asset_ids(self) -> Item:
        ids = [asset.id for asset in self.attachments]
        if len(ids) != len(set(ids)):
            raise ValueError(f"item {self.id}: attachment ids repeat: {ids}")
        return self

    def asset(self, asset_id: str) -> Asset:
        """The attachment with id ``asset_id`` (KeyError when absent)."""
        for asset in self.attachments:
            if asset.id == asset_id:
                return asset
        raise KeyError(asset_id)


class Score(_Frozen):
    """A grade: ``value`` in [0, 1], whether it counts as correct, and why."""

    value: float = Field(ge=0.0, le=1.0)
    correct: bool
    explanation: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)


class EpisodeScore(_Frozen):
    """The answer's score and, separately, the trajectory's."""

    answer: Score
    trajectory: Score | None = None
