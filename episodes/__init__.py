"""Items, assets, answer specs and datasets on disk; generators of episodes."""

from ._dataset import ASSETS, ITEMS, MANIFEST, Dataset, DatasetWriter, load_dataset, sha256_file
from ._types import (
    AnswerSpec,
    Asset,
    AssetKind,
    Choice,
    EpisodeScore,
    FinalAnswer,
    Formula,
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
    "ASSETS", "ITEMS", "MANIFEST", "AnswerSpec", "Asset", "AssetKind", "Choice", "Dataset",
    "DatasetWriter", "EpisodeScore", "FinalAnswer", "Formula", "Item", "Milestone", "NumberSet",
    "Numeric", "Scale",
    "Score", "ToolCall", "ToolResult", "load_dataset", "sha256_file",
]
