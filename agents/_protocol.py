"""The agent interface and the registry of built-in agents."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from csmbench.env import Action, Observation
from csmbench.errors import RegistryError

__all__ = ["AGENTS", "Agent", "AgentFactory", "make_agent_factory", "register_agent"]


@runtime_checkable
class Agent(Protocol):
    """Anything that answers an observation with an action; one instance per episode."""

    name: str

    async def act(self, observation: Observation) -> Action: ...


AgentFactory = Callable[[], Agent]
AGENTS: dict[str, Callable[[str], AgentFactory]] = {}


def register_agent(prefix: str) -> Callable[[Callable[[str], AgentFactory]], Callable[[str], AgentFactory]]:
    """Register a builder: ``builder(argument) -> factory`` for specs "prefix" or "prefix:argument"."""

    def register(builder: Callable[[str], AgentFactory]) -> Callable[[str], AgentFactory]:
        AGENTS[prefix] = builder
        return builder

    return register


def make_agent_factory(spec: str) -> AgentFactory:
    """The factory for an agent spec such as "reference", "no-tools" or "openai:gpt-4o"."""
    prefix, _, argument = spec.partition(":")
    if prefix not in AGENTS:
        close = difflib.get_close_matches(prefix, AGENTS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise RegistryError(f"agent {spec!r} not found in the registry; available: "
                            f"{', '.join(sorted(AGENTS))}.{hint}")
    return AGENTS[prefix](argument)
