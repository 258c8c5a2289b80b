"""What a tool may touch: the current episode's attachments, by id, and nothing else."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from csmbench.episodes import Asset
from csmbench.errors import ToolError

__all__ = ["ToolContext"]


class ToolContext:
    """The attachments of one episode, resolved to files under one root folder.

    Args:
        root: Folder the asset paths are relative to (the dataset root).
        attachments: The episode's assets.
    """

    def __init__(self, root: str | os.PathLike[str], attachments: Mapping[str, Asset]) -> None:
        self.root = Path(root).resolve()
        self.attachments = dict(attachments)

    @classmethod
    def from_files(cls, files: Mapping[str, str | os.PathLike[str]]) -> ToolContext:
        """A context over local files (the CLI): each file becomes an attachment whose id is its key."""
        assets = {}
        for asset_id, path in files.items():
            resolved = Path(path).resolve()
            if not resolved.is_file():
                raise ToolError(f"file {str(path)!r} does not exist or is not a file")
            assets[asset_id] = Asset.model_construct(id=asset_id, kind="image", path=str(resolved),
                                                     sha256="0" * 64, meta={})
        return cls("/", assets)

    def asset(self, asset_id: str) -> Asset:
        """The attachment called ``asset_id``; ToolError listing the available ids otherwise."""
        if not isinstance(asset_id, str) or asset_id not in self.attachments:
            available = ", ".join(sorted(self.attachments)) or "(none: this episode has no attachments)"
            raise ToolError(f"unknown attachment id {str(asset_id)[:80]!r}; this episode's "
                            f"attachments are: {available}. Pass the id, not a file path.")
        return self.attachments[asset_id]

    def path(self, asset_id: str) -> Path:
        """The file of attachment ``asset_id``, guaranteed to lie inside the root folder."""
        asset = self.asset(asset_id)
        path = (self.root / asset.path).resolve()
        if not path.is_relative_to(self.root):
            raise ToolError(f"attachment {asset_id!r} points outside the dataset ({asset.path!r}); "
                            "the dataset is corrupt or hostile")
        if not path.is_file():
            raise ToolError(f"attachment {asset_id!r}: its file {asset.path!r} is missing")
        return path
