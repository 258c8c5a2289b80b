"""OpenAI-compatible endpoints: the default base URL, the API key, and keeping it secret.

Shared by the model agents and the LLM judge. The key only ever comes from
``OPENAI_API_KEY``; a local server (vLLM, Ollama) without one gets ``PLACEHOLDER_KEY``.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from csmbench.errors import CSMBenchError

__all__ = ["DEFAULT_BASE_URL", "PLACEHOLDER_KEY", "api_key", "redact"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
PLACEHOLDER_KEY = "EMPTY"
"""The key sent to servers other than OpenAI's when none is set (what vLLM and Ollama expect)."""


def api_key(base_url: str, hint: str) -> str:
    """The key for ``base_url``: ``$OPENAI_API_KEY``, else the placeholder for non-OpenAI hosts.

    Raises:
        CSMBenchError: OpenAI's own host and no key set; ``hint`` says what to do instead.
    """
    key = os.environ.get("OPENAI_API_KEY")
    if key:
        return key
    if urlsplit(base_url).hostname == urlsplit(DEFAULT_BASE_URL).hostname:
        raise CSMBenchError(f"OPENAI_API_KEY is not set; {hint}")
    return PLACEHOLDER_KEY


def redact(text: str, key: str | None) -> str:
    """``text`` with the key replaced by "[redacted]" (the placeholder is no secret)."""
    if key and key != PLACEHOLDER_KEY:
        text = text.replace(key, "[redacted]")
    return text
