"""Agents: the reference solver, the no-tools baseline, and the agent registry."""

from . import _reference_xrd  # noqa: F401  (registers the diffraction solvers)
from ._no_tools import TYPICAL_ANSWERS, NoToolsAgent
from ._protocol import AGENTS, Agent, AgentFactory, make_agent_factory, register_agent
from ._reference import SOLVERS, ReferenceAgent, solver

__all__ = ["AGENTS", "SOLVERS", "TYPICAL_ANSWERS", "Agent", "AgentFactory", "NoToolsAgent",
           "ReferenceAgent", "make_agent_factory", "register_agent", "solver"]
