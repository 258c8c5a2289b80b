"""Model prices and the cost of a call, in US dollars."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from csmbench.env import Usage

__all__ = ["PRICES_USD_PER_MTOK", "Price", "call_cost_usd", "count_call", "price_of"]

Price = tuple[float, float]
"""USD per 1M input (prompt) tokens and per 1M output (completion) tokens."""

PRICES_USD_PER_MTOK: dict[str, Price] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "o3": (2.00, 8.00),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
}
"""OpenAI list prices, standard tier, without cached-input discounts, as of August 2025.
Prices change: check the provider's page and pass ``--price INPUT,OUTPUT`` to override."""

_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")


def price_of(model: str) -> Price | None:
    """The table price of a model, also for dated snapshots and "provider/model" names.

    >>> price_of("openai/gpt-4o-mini-2024-07-18")
    (0.15, 0.6)
    >>> price_of("llama3.1:8b") is None
    True
    """
    name = _SNAPSHOT.sub("", model.rsplit("/", 1)[-1].lower())
    return PRICES_USD_PER_MTOK.get(name)


def call_cost_usd(price: Price, prompt_tokens: int, completion_tokens: int) -> float:
    """The cost of one call at ``price`` (USD per 1M input and output tokens)."""
    return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1e6


def count_call(usage: Usage, price: Price | None, prompt_tokens: int,
               completion_tokens: int) -> None:
    """Add one model call's tokens, and its cost when the price is known, to ``usage``."""
    usage.model_calls += 1
    usage.prompt_tokens += prompt_tokens
    usage.completion_tokens += completion_tokens
    if price is not None:
        usage.cost_usd = (usage.cost_usd or 0.0) + call_cost_usd(price, prompt_tokens,
                                                                 completion_tokens)
