"""The tool registry: typed functions plus ``@tool``, schemas derived, calls validated.

A registry tool is a plain function whose parameters are JSON-able and typed. One parameter
may be annotated ``ToolContext``: it is injected (the episode's attachments) and hidden from
the schema. Parameters typed ``AttachmentId`` name an attachment of the episode. The OpenAI
function schema is built from the signature (pydantic) and the Google docstring
(docstring-parser); it is never written by hand.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import reprlib
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any

import docstring_parser
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from csmbench.episodes import ToolCall, ToolResult
from csmbench.errors import RegistryError, ToolError

from ._context import ToolContext

__all__ = ["REGISTRY", "AttachmentId", "ToolRegistry", "ToolSpec", "spec_from_function", "tool"]



class _AttachmentMarker:
    """Marks a parameter that names an attachment (pydantic ignores this metadata)."""


AttachmentId = Annotated[str, _AttachmentMarker()]
"""A string naming an attachment of the current episode ("img0"); a file path on the CLI."""


@functools.cache
def _openai_schema(spec: ToolSpec) -> dict[str, Any]:
    parameters = spec.arguments.model_json_schema()
    parameters.pop("title", None)
    for prop in parameters.get("properties", {}).values():
        prop.pop("title", None)
    return {"type": "function",
            "function": {"name": spec.name, "description": spec.description,
                         "parameters": parameters}}


@dataclass(frozen=True)
class ToolSpec:
    """A registered tool: its function, schema model and the names of special parameters."""

    name: str
    function: Callable[..., Any]
    description: str
    arguments: type[BaseModel]
    context_param: str | None
    attachment_params: tuple[str, ...]

    def openai_schema(self) -> dict[str, Any]:
        """The tool in OpenAI function-calling format (built once and shared: do not modify)."""
        return _openai_schema(self)

    def run(self, arguments: dict[str, Any], context: ToolContext) -> Any:
        """Validate ``arguments`` and call the function; returns JSON-able content.

        Raises:
            ToolError: the arguments do not fit the schema, or the tool rejected its input.
        """
        if not isinstance(arguments, dict):
            raise ToolError(f"{self.name}: arguments must be a JSON object, got "
                            f"{type(arguments).__name__}")
        try:
            parsed = self.arguments.model_validate(arguments)
        except ValidationError as exc:
            raise ToolError(f"{self.name}: invalid arguments: {_describe(exc)}. Expected "
                            f"parameters: {_signature_text(self.arguments)}") from None
        kwargs = dict(parsed)
        if self.context_param:
            kwargs[self.context_param] = context
        return _jsonable(self.function(**kwargs))


def _short_repr(value: Any) -> str:
    """An argument as shown in an error: depth-limited, so deeply nested input cannot exhaust
    the recursion limit (plain ``repr`` does)."""
    shower = reprlib.Repr()  # Python 3.11 takes no keyword arguments here
    shower.maxlevel, shower.maxstring, shower.maxother = 3, 60, 60
    return shower.repr(value)[:60]


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False)[:5]:
        where = ".".join(str(p) for p in error["loc"])[:80] or "(arguments)"
        got = _short_repr(error.get("input"))
        parts.append(f"{where}: {error['msg']} (got {got})")
    return "; ".join(parts)


def _signature_text(model: type[BaseModel]) -> str:
    fields = []
    for name, field in model.model_fields.items():
        kind = getattr(field.annotation, "__name__", str(field.annotation))
        fields.append(f"{name}: {kind}" + ("" if field.is_required() else f" = {field.default!r}"))
    return ", ".join(fields)


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def spec_from_function(function: Callable[..., Any], name: str | None = None,
                       hidden: tuple[str, ...] = ()) -> ToolSpec:
    """Build a ToolSpec from a typed function with a Google docstring (the schema is derived).

    Parameters named in ``hidden`` (they need defaults) are for Python callers only: they are
    left out of the schema and an agent cannot set them.
    """
    name = name or function.__name__
    doc = docstring_parser.parse(inspect.getdoc(function) or "")
    if not doc.short_description:
        raise RegistryError(f"tool {name}: the function needs a docstring (its description)")
    param_docs = {p.arg_name: p.description or "" for p in doc.params}
    hints = typing.get_type_hints(function, include_extras=True)
    fields: dict[str, Any] = {}
    context_param, attachments = None, []
    for param in inspect.signature(function).parameters.values():
        annotation = hints.get(param.name, Any)
        if annotation is ToolContext:
            context_param = param.name
            continue
        if param.name in hidden:
            if param.default is inspect.Parameter.empty:
                raise RegistryError(f"tool {name}: hidden parameter {param.name!r} needs a default")
            continue
        if annotation == AttachmentId:
            attachments.append(param.name)
        if param.name not in param_docs:
            raise RegistryError(f"tool {name}: parameter {param.name!r} is not described in "
                                "the docstring's Args section")
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (annotation, Field(default, description=param_docs[param.name]))
    model = create_model(f"{name}_arguments", __config__=ConfigDict(extra="forbid"), **fields)
    description = doc.short_description + (f"\n\n{doc.long_description}" if doc.long_description
                                           else "")
    return ToolSpec(name, function, description, model, context_param, tuple(attachments))


class ToolRegistry:
    """Tools by name; :meth:`call` turns any failure into an error ``ToolResult``."""

    def __init__(self, specs: Iterable[ToolSpec] = ()) -> None:
        self._specs: dict[str, ToolSpec] = {spec.name: spec for spec in specs}

    def register(self, spec: ToolSpec) -> None:
        if spec.name in self._specs:
            raise RegistryError(f"tool {spec.name!r} is registered twice")
        self._specs[spec.name] = spec

    @property
    def names(self) -> list[str]:
        return sorted(self._specs)

    def get(self, name: str) -> ToolSpec:
        """The tool called ``name``; RegistryError with the available names otherwise."""
        if name in self._specs:
            return self._specs[name]
        close = difflib.get_close_matches(str(name), self.names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise RegistryError(f"tool {name!r} not found in the registry; available: "
                            f"{', '.join(self.names) or '(none)'}.{hint}")

    def subset(self, names: Iterable[str]) -> ToolRegistry:
        """A registry with only ``names`` (each must exist)."""
        return ToolRegistry(self.get(n) for n in names)

    def openai_schemas(self) -> list[dict[str, Any]]:
        return [self._specs[n].openai_schema() for n in self.names]

    def call(self, call: ToolCall, context: ToolContext) -> ToolResult:
        """Run ``call``; a model mistake or a tool bug becomes ``ok=False`` with a clear error."""
        try:
            spec = self.get(call.name)
            content = spec.run(call.arguments, context)
        except (ToolError, RegistryError) as exc:
            return ToolResult(call_id=call.id, name=call.name, ok=False, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - a csmbench bug must not end the episode
            return ToolResult(call_id=call.id, name=call.name, ok=False, internal_error=True,
                              error=f"internal error in csmbench tool {call.name!r} "
                                    f"({type(exc).__name__}: {exc}); this is a csmbench bug, "
                                    "not your mistake: please report it")
        return ToolResult(call_id=call.id, name=call.name, ok=True, content=content)


REGISTRY = ToolRegistry()
"""The global registry of every built-in tool."""


def tool(function: Callable[..., Any] | None = None, *, name: str | None = None,
         hidden: tuple[str, ...] = ()) -> Any:
    """Register ``function`` as a tool in :data:`REGISTRY` (usable with or without arguments).

    Args:
        function: The tool function (when used as ``@tool`` without parentheses).
        name: Tool name; default the function's name.
        hidden: Parameters for Python callers only, not offered to agents.
    """

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        REGISTRY.register(spec_from_function(fn, name, hidden))
        return fn

    return register(function) if function is not None else register
