"""The ``langgraph:<model>`` agent: a LangGraph graph over langchain-openai whose tool node
hands the tool calls to the env.

The graph is an explicit ``StateGraph`` over ``EpisodeState`` (the messages, the offered tool
schemas, the pending action):

    START -> model --(tool calls, or a reply the env must reject)--> env -> model -> ...
                   --(text without tool calls: the final answer)---> END

``model`` calls ``ChatOpenAI.bind_tools(tools)`` on the conversation, where ``tools`` are the
observation's OpenAI function schemas (the registry's tools and ``submit_answer``): LangChain
tool definitions that ``convert_to_openai_tool`` passes through unchanged, so the model sees
the very schemas the ``openai:<model>`` agent sends. The reply becomes an env action by the
openai agent's ``to_action``. ``env`` is the tool node, but it runs no tool: it calls
``interrupt(action)``, which pauses the graph (its state kept by an ``InMemorySaver``
checkpointer, one per episode) and hands the action out of ``ainvoke``; ``act`` returns it
to the runner, which steps the env, so the env executes, records, ablates and grades exactly
as for every other agent. The next ``act(observation)`` resumes the graph with
``Command(resume=observation)``: ``interrupt`` returns the observation inside ``env``, which
adds its results as ``ToolMessage``s (an error as an ``Error: ...`` tool or user message,
tool-written images as a user message with the image) and goes on to ``model``, which
reaches the next ``interrupt``. Each ``act`` is thus one graph run: resume, one model call,
pause (or END with the answer).

Observations become messages through the openai agent's functions (``question_messages``,
``tool_messages``, ...), converted to LangChain messages, and langchain-openai sends them
back as the same Chat Completions messages: both agents see the same conversation and are
scored identically. Options, the API key, retries (the openai client's, through the same
client), usage, cost and the cache work as for ``openai:<model>``; a call still failing
after the retries raises ``ModelCallError`` and the runner records status "error". Two
differences are langchain-openai's: the token limit is always sent as
``max_completion_tokens``, and o-series models get the system prompt as a ``developer``
message.

The graph lives in ``_langgraph_graph`` and the ChatOpenAI side in ``_langgraph_model``;
this module only registers the agent, so LangChain is imported when the agent is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._openai import OpenAIOptions
from ._protocol import register_agent

if TYPE_CHECKING:
    from ._langgraph_graph import LangGraphAgentFactory

__all__: list[str] = []


@register_agent("langgraph", options=OpenAIOptions)
def _langgraph(argument: str, options: OpenAIOptions) -> LangGraphAgentFactory:
    """The factory of ``langgraph:<model>``; LangGraph and LangChain are imported here, on
    first use, so that ``import csmbench`` stays fast without them."""
    from ._langgraph_graph import LangGraphAgentFactory

    return LangGraphAgentFactory(argument, options)
