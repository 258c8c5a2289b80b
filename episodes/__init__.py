"""Items, assets, answer specs and datasets on disk; generators of episodes."""

from ._csmbench_import import (
    ImportReport,
    TaskChoice,
    cached_import,
    import_csmbench,
    read_csmbench,
)
from ._csmbench_records import FAMILIES as CSMBENCH_FAMILIES
from ._csmbench_records import ImportProblem, mcqa_prompt, openqa_prompt
from ._dataset import ASSETS, ITEMS, MANIFEST, Dataset, DatasetWriter, load_dataset, sha256_file
from ._types import (
    AnswerSpec,
    Asset,
    AssetKind,
    Choice,
    EpisodeScore,
    FinalAnswer,
    Formula,
    FreeText,
    Item,
    Milestone,
    NumberSet,
    Numeric,
    Scale,
    Score,
    ToolCall,
    ToolResult,
)

__all__ = [
    "ASSETS", "CSMBENCH_FAMILIES", "ITEMS", "MANIFEST", "AnswerSpec", "Asset", "AssetKind",
    "Choice", "Dataset", "DatasetWriter", "EpisodeScore", "FinalAnswer", "Formula", "FreeText",
    "ImportProblem", "ImportReport", "Item", "Milestone", "NumberSet", "Numeric", "Scale",
    "Score", "TaskChoice", "ToolCall", "ToolResult", "cached_import", "import_csmbench",
    "load_dataset", "mcqa_prompt", "openqa_prompt", "read_csmbench", "sha256_file",
]
