"""Agents: the reference solver, the no-tools baseline, the OpenAI tool loop, the LangGraph
graph, the registry."""

from . import (  # noqa: F401  (register them)
    _langgraph,
    _reference_cross,
    _reference_cross_size,
    _reference_eds,
    _reference_grains,
    _reference_hrtem,
    _reference_xrd,
)
from ._no_tools import TYPICAL_ANSWERS, NoToolsAgent
from ._openai import ModelCallError, OpenAIAgent, OpenAIAgentFactory, OpenAIOptions
from ._openai_cache import CallCache
from ._openai_messages import (
    NO_TOOLS_NOTE,
    PARITY_FAMILIES,
    SYSTEM_PROMPT,
    attachment_listing,
    image_data_url,
    question_messages,
)
from ._openai_prices import PRICES_USD_PER_MTOK, price_of
from ._protocol import (
    AGENT_OPTIONS,
    AGENTS,
    Agent,
    AgentFactory,
    make_agent_factory,
    register_agent,
)
from ._reference import SOLVERS, ReferenceAgent, solver

__all__ = ["AGENTS", "AGENT_OPTIONS", "NO_TOOLS_NOTE", "PARITY_FAMILIES", "PRICES_USD_PER_MTOK",
           "SOLVERS", "SYSTEM_PROMPT", "TYPICAL_ANSWERS", "Agent",
           "AgentFactory", "CallCache", "ModelCallError", "NoToolsAgent", "OpenAIAgent",
           "OpenAIAgentFactory", "OpenAIOptions", "ReferenceAgent", "attachment_listing",
           "image_data_url",
           "make_agent_factory", "price_of", "question_messages", "register_agent", "solver"]
