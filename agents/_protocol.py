"""The agent interface and the registry of built-in agents."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ValidationError

from csmbench.env import Action, Observation
from csmbench.errors import CSMBenchError, RegistryError

__all__ = ["AGENTS", "AGENT_OPTIONS", "Agent", "AgentFactory", "make_agent_factory",
           "register_agent"]


@runtime_checkable
class Agent(Protocol):
    """Anything that answers an observation with an action; one instance per episode."""

    name: str

    async def act(self, observation: Observation) -> Action: ...


AgentFactory = Callable[[], Agent]
AGENTS: dict[str, Callable[..., AgentFactory]] = {}
"""Builders by spec prefix: ``builder(argument)``, or ``builder(argument, options)``."""
AGENT_OPTIONS: dict[str, type[BaseModel]] = {}
"""The options model of each agent that takes options (e.g. "openai": temperature, seed)."""


def register_agent(prefix: str, *, options: type[BaseModel] | None = None
                   ) -> Callable[[Callable[..., AgentFactory]], Callable[..., AgentFactory]]:
    """Register a builder for specs "prefix" or "prefix:argument".

    Args:
        prefix: The spec's name before the colon.
        options: A pydantic model of the agent's options. With it the builder is called as
            ``builder(argument, options_instance)``; without, as ``builder(argument)`` and
            any options given are ignored.
    """

    def register(builder: Callable[..., AgentFactory]) -> Callable[..., AgentFactory]:
        AGENTS[prefix] = builder
        if options is not None:
            AGENT_OPTIONS[prefix] = options
        else:
            AGENT_OPTIONS.pop(prefix, None)
        return builder

    return register


def make_agent_factory(spec: str, **options: Any) -> AgentFactory:
    """The factory for an agent spec such as "reference", "no-tools" or "openai:gpt-4o".

    Args:
        spec: "prefix" or "prefix:argument".
        **options: The agent's options (``openai``: base_url, temperature, seed, ...);
            agents without options ignore them.

    Raises:
        RegistryError: Unknown agent.
        CSMBenchError: An option the agent does not have, or a bad value.
    """
    prefix, _, argument = spec.partition(":")
    if prefix not in AGENTS:
        close = difflib.get_close_matches(prefix, AGENTS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise RegistryError(f"agent {spec!r} not found in the registry; available: "
                            f"{', '.join(sorted(AGENTS))}.{hint}")
    if prefix not in AGENT_OPTIONS:
        return AGENTS[prefix](argument)
    return AGENTS[prefix](argument, agent_options(prefix, options))


def agent_options(prefix: str, options: dict[str, Any]) -> BaseModel:
    """Validate options against the agent's options model, with errors that name them."""
    model = AGENT_OPTIONS[prefix]
    unknown = sorted(set(options) - set(model.model_fields))
    if unknown:
        close = difflib.get_close_matches(unknown[0], model.model_fields, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise CSMBenchError(f"agent {prefix!r} has no option {unknown[0]!r}; its options: "
                            f"{', '.join(model.model_fields)}.{hint}")
    try:
        return model(**options)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']} (got {e['input']!r})"
                             for e in exc.errors())
        raise CSMBenchError(f"bad option for agent {prefix!r}: {problems}") from None
