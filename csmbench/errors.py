"""The csmbench exception hierarchy: one root, and `ToolError` for the model's mistakes."""

from __future__ import annotations

__all__ = ["ActionError", "CSMBenchError", "DatasetError", "RegistryError", "ToolError"]


class CSMBenchError(Exception):
    """Root of every error csmbench raises on purpose."""


class ToolError(CSMBenchError):
    """A mistake the agent made when calling a tool (bad argument, unknown attachment, unusable input).

    Inside an episode it becomes an error observation and the episode goes on.
    """


class DatasetError(CSMBenchError):
    """A dataset on disk is missing, malformed, or does not match its manifest."""


class RegistryError(CSMBenchError):
    """A name is not in a registry (tools, agents, generators, presets)."""


class ActionError(CSMBenchError):
    """An action given to the env cannot be understood."""
