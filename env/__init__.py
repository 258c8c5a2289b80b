"""The gymnasium env: ``CSMBenchEnv``, registered as ``csmbench/CSMBench-v0``."""

import gymnasium

from ._actions import SUBMIT_ANSWER, Action, parse_action, submit_answer_schema
from ._env import CSMBenchEnv, ToolSetting, resolve_tools
from ._observation import AttachmentInfo, EpisodeRecord, Observation, Status, Step, Usage

ENV_ID = "csmbench/CSMBench-v0"
if ENV_ID not in gymnasium.registry:
    gymnasium.register(id=ENV_ID, entry_point="csmbench.env:CSMBenchEnv")

__all__ = ["ENV_ID", "SUBMIT_ANSWER", "Action", "AttachmentInfo", "CSMBenchEnv", "EpisodeRecord",
           "Observation", "Status", "Step", "ToolSetting", "Usage", "parse_action", "resolve_tools",
           "submit_answer_schema"]
