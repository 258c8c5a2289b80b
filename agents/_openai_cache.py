"""An on-disk cache of model calls: one JSON file per request, safe under concurrency.

The key is the sha256 of the request as sent (model, base URL, messages, tools and sampling
parameters; never the API key). A file is written to a temporary name in its folder and then
renamed, so readers, other episodes and other processes see either nothing or a whole file.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from csmbench.episodes import write_text_atomic

__all__ = ["CACHE_FORMAT", "CallCache"]

CACHE_FORMAT = 1
"""Enters every key: raising it invalidates old entries."""


class CallCache:
    """Replies to model calls kept under ``root/<key[:2]>/<key>.json``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    @staticmethod
    def key(request: dict[str, Any]) -> str:
        """The sha256 of the request's canonical JSON (sorted keys, no whitespace)."""
        text = json.dumps({"format": CACHE_FORMAT, **request}, sort_keys=True,
                          ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored reply, or None when there is none (or it is unreadable: a miss)."""
        try:
            data = json.loads(self.path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def put(self, key: str, reply: dict[str, Any]) -> None:
        """Store a reply: written to a temporary file, then renamed into place."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(target, json.dumps(reply, ensure_ascii=False))
