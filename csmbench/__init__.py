"""csmbench: cross-scale materials-science episodes for tool-using AI agents.

The public API re-exports the pieces most scripts need; the subpackages hold the rest:
``csmbench.episodes`` (items, datasets, generators), ``csmbench.tools`` (measurement tools),
``csmbench.env`` (the gymnasium env), ``csmbench.agents`` and ``csmbench.graders``.
"""

from csmbench._run import RunConfig, evaluate, read_records
from csmbench.agents import make_agent_factory
from csmbench.env import ENV_ID, CSMBenchEnv, EpisodeRecord, Observation
from csmbench.episodes import FinalAnswer, Item, ToolCall, ToolResult, load_dataset
from csmbench.episodes.generators import PRESETS, build_dataset
from csmbench.errors import ActionError, CSMBenchError, DatasetError, RegistryError, ToolError

__version__ = "0.1.0"

__all__ = [
           "ENV_ID",
           "PRESETS",
           "ActionError",
           "CSMBenchEnv",
           "CSMBenchError",
           "DatasetError",
           "EpisodeRecord",
           "FinalAnswer",
           "Item",
           "Observation",
           "RegistryError",
           "RunConfig",
           "ToolCall",
           "ToolError",
           "ToolResult",
           "__version__",
           "build_dataset",
           "evaluate",
           "load_dataset",
           "make_agent_factory",
           "read_records",
]
