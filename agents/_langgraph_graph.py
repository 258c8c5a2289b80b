"""The graph and the agent of ``langgraph:<model>`` (the design is in ``_langgraph``'s docstring).

Imported on first use of the agent, so that ``import csmbench`` does not load LangChain.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, TypedDict

import openai
from langchain_core.messages import AIMessage, AnyMessage, convert_to_messages
from langchain_openai import ChatOpenAI
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, interrupt

from csmbench.env import Action, AttachmentInfo, Observation, Usage
from csmbench.episodes import FinalAnswer, ToolCall, ToolResult
from csmbench.errors import CSMBenchError

from ._langgraph_model import ReplyCache, chat_model, history_message, reply_parts
from ._openai import ModelCallError, OpenAIAgentFactory, OpenAIOptions, to_action
from ._openai_messages import (
    error_messages,
    offered_tools,
    output_image_messages,
    question_messages,
    tool_messages,
)
from ._openai_prices import count_call

__all__ = ["EpisodeState", "LangGraphAgent", "LangGraphAgentFactory", "build_graph"]

_CHECKPOINTED_TYPES = (ToolCall, FinalAnswer, Observation, AttachmentInfo, ToolResult)
"""csmbench types that cross an interrupt (actions out, observations in)."""


class EpisodeState(TypedDict):
    """The graph's state for one episode.

    Attributes:
        messages: The conversation, as LangChain messages.
        tools: The OpenAI function schemas the env offers, ``submit_answer`` included.
        action: The action of the last reply, to be handed to the env (None: none yet).
        pending: Ids of the last reply's tool calls, to be answered by tool messages.
        problems: The agent's own diagnosis of the last reply, by call id ("" for the
            reply itself), told to the model instead of the env's error.
    """

    messages: Annotated[list[AnyMessage], add_messages]
    tools: list[dict[str, Any]]
    action: Action | None
    pending: list[str]
    problems: dict[str, str]


ModelNode = Callable[[EpisodeState], Awaitable[dict[str, Any]]]
EnvNode = Callable[[EpisodeState], dict[str, Any]]


def build_graph(model: ModelNode, env: EnvNode) -> CompiledStateGraph:
    """The agent graph, compiled with its own in-memory checkpointer (needed by interrupts)."""
    graph = StateGraph(EpisodeState)
    graph.add_node("model", model)
    graph.add_node("env", env)
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", _route, ["env", END])
    graph.add_edge("env", "model")
    serde = JsonPlusSerializer(allowed_msgpack_modules=_CHECKPOINTED_TYPES)
    return graph.compile(checkpointer=InMemorySaver(serde=serde), name="csmbench-langgraph")


def _route(state: EpisodeState) -> Literal["env", "__end__"]:
    """A text answer ends the graph; everything else goes to the env."""
    return END if isinstance(state["action"], FinalAnswer) else "env"


class LangGraphAgentFactory(OpenAIAgentFactory):
    """Makes one ``LangGraphAgent`` per episode; they share one ChatOpenAI per event loop."""

    prefix = "langgraph"

    def __init__(self, model: str, options: OpenAIOptions) -> None:
        if not model:
            raise CSMBenchError("agent 'langgraph' needs a model: langgraph:<model>, e.g. "
                                "langgraph:gpt-4o-mini")
        super().__init__(model, options)
        self.replies = ReplyCache(self.cache, {"model": model, "base_url": self.base_url,
                                               **self.parameters}) if self.cache else None
        self._chat: ChatOpenAI | None = None
        self._chat_client: openai.AsyncOpenAI | None = None

    def __call__(self) -> LangGraphAgent:  # type: ignore[override]
        return LangGraphAgent(self)

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "_chat": None, "_chat_client": None}

    async def chat(self) -> ChatOpenAI:
        """The ChatOpenAI of the running event loop, on the loop's openai client."""
        client = await self.client()
        if self._chat is None or self._chat_client is not client:
            self._chat = chat_model(self.model, client, self.parameters, self.options)
            self._chat_client = client
        return self._chat



class LangGraphAgent:
    """The agent graph of one episode (see the module docstring).

    Attributes:
        name: "langgraph:<model>".
        graph: The compiled graph; its state is in its checkpointer, under ``config``.
        usage: Calls, tokens and cost this episode spent; cache hits add no calls,
            tokens or cost.
    """

    def __init__(self, factory: LangGraphAgentFactory) -> None:
        self.name = f"langgraph:{factory.model}"
        self.usage = Usage(cost_usd=0.0 if factory.price else None)
        self.graph = build_graph(self._model, self._env)
        self.config: dict[str, Any] = {}
        self._factory = factory
        self._threads = itertools.count()
        self._paused = False  # the graph waits at the env node for an observation

    async def act(self, observation: Observation) -> Action:
        """One graph run: started on the question, or resumed with the env's observation.

        Returns:
            The action the graph hands to the env: the value of its ``interrupt``, or the
            final answer when it reached END.

        Raises:
            ModelCallError: The model call failed after the client's retries.
            CSMBenchError: The episode is over (the graph is not waiting for the env).
        """
        if observation.kind == "question":
            self.config = {"configurable": {"thread_id": f"episode-{next(self._threads)}"}}
            start: dict[str, Any] | Command = {
                "messages": convert_to_messages(question_messages(observation)),
                "tools": offered_tools(observation), "action": None, "pending": [], "problems": {}}
        elif observation.kind == "done" or not self._paused:
            raise CSMBenchError(f"episode {observation.item_id} is over; there is nothing to do")
        else:
            start = Command(resume=observation)
        output = await self.graph.ainvoke(start, self.config, version="v2", durability="exit")
        self._paused = bool(output.interrupts)
        return output.interrupts[0].value if output.interrupts else output.value["action"]

    async def messages(self) -> list[AnyMessage]:
        """The conversation so far, from the graph's checkpointer."""
        if not self.config:
            return []
        snapshot = await self.graph.aget_state(self.config)
        return list(snapshot.values.get("messages", []))

    # -- the graph's nodes --------------------------------------------------------------
    async def _model(self, state: EpisodeState) -> dict[str, Any]:
        """Ask the model; its reply becomes the action (and, unless empty, history)."""
        reply = await self._reply(state)
        text, calls = reply_parts(reply, f"call_{len(state['messages'])}")
        action, problems = to_action(text, calls)
        update: dict[str, Any] = {"action": action, "pending": [c["id"] for c in calls],
                                  "problems": problems}
        if (text and text.strip()) or calls:
            update["messages"] = [history_message(text, calls, problems)]
        return update

    def _env(self, state: EpisodeState) -> dict[str, Any]:
        """Hand the action to the env; on resume, add what it observed to the messages."""
        observation: Observation = interrupt(state["action"])
        if observation.kind == "tool_results":
            messages = (tool_messages(state["pending"], observation.tool_results)
                        + output_image_messages(observation))
        else:
            messages = error_messages(state["pending"], state["problems"],
                                      observation.error or "the reply could not be used")
        return {"messages": convert_to_messages(messages), "action": None, "pending": [],
                "problems": {}}

    # -- model calls --------------------------------------------------------------------
    async def _reply(self, state: EpisodeState) -> AIMessage:
        """One model call, from the cache when it holds this exact call."""
        factory, replies = self._factory, self._factory.replies
        key = replies.key(state["messages"], state["tools"]) if replies else ""
        cached = replies.get(key) if replies else None
        if cached is not None:
            self.usage.cache_hits += 1
            return cached
        chat = await factory.chat()
        model = chat.bind_tools(state["tools"]) if state["tools"] else chat
        try:
            reply = await model.ainvoke(state["messages"])
        except openai.APIError as exc:
            raise factory.failure(exc, chat.root_async_client.api_key) from None
        if not isinstance(reply, AIMessage):
            raise ModelCallError(f"{self.name} at {factory.base_url} gave no message")
        self._count(reply)
        if replies:
            self.usage.cache_misses += 1
            replies.put(key, reply)
        return reply

    def _count(self, reply: AIMessage) -> None:
        usage = reply.usage_metadata or {}
        count_call(self.usage, self._factory.price, usage.get("input_tokens", 0),
                   usage.get("output_tokens", 0))
