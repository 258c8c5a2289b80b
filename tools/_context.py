"""What a tool may touch: the current episode's attachments, by id, and nothing else."""

from __future__ import annotations

import os
import re
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
        output_dir: Folder where tools may write files (overlays); default ``<root>/outputs``.
    """

    def __init__(self, root: str | os.PathLike[str], attachments: Mapping[str, Asset],
                 output_dir: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root).resolve()
        self.attachments = dict(attachments)
        self.output_dir = (Path(output_dir).resolve() if output_dir is not None
                           else self.root / "outputs")
        self.written: list[Path] = []
        """Files handed out by `output_path`, in order (the env turns them into attachments)."""

    @classmethod
    def from_files(cls, files: Mapping[str, str | os.PathLike[str]],
                   output_dir: str | os.PathLike[str] | None = None) -> ToolContext:
        """A context over local files (the CLI): each file becomes an attachment whose id is its key.

        Files that tools write go to ``output_dir``, by default ``./outputs``.
        """
        assets = {}
        for asset_id, path in files.items():
            resolved = Path(path).resolve()
            if not resolved.is_file():
                raise ToolError(f"file {str(path)!r} does not exist or is not a file")
            assets[asset_id] = Asset.model_construct(id=asset_id, kind="image", path=str(resolved),
                                                     sha256="0" * 64, meta={})
        return cls("/", assets, Path.cwd() / "outputs" if output_dir is None else output_dir)

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
        if not (path.is_relative_to(self.root) or path.is_relative_to(self.output_dir)):
            raise ToolError(f"attachment {asset_id!r} points outside the dataset ({asset.path!r}); "
                            "the dataset is corrupt or hostile")
        if not path.is_file():
            raise ToolError(f"attachment {asset_id!r}: its file {asset.path!r} is missing")
        return path

    def add_output(self, asset_id: str, path: Path, kind: str, meta: dict | None = None) -> Asset:
        """Make a file a tool wrote (inside ``output_dir``) an attachment later calls may use."""
        asset = Asset.model_construct(id=asset_id, kind=kind, path=str(path), sha256="0" * 64,
                                      meta=dict(meta or {}))
        self.attachments[asset_id] = asset
        return asset

    def output_path(self, stem: str, suffix: str) -> Path:
        """A fresh file path ``<output_dir>/<stem>[-n]<suffix>``, reserved (created empty).

        The folder is created when needed; an existing file is never returned, also when
        several episodes write at once. ``stem`` is reduced to letters, digits, ``._-``.

        Raises:
            ToolError: The output folder cannot be created or written.
        """
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "output"
        ending = "." + re.sub(r"[^A-Za-z0-9]+", "", suffix)
        try:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            for n in range(1, 100_000):
                path = self.output_dir / (f"{safe}{ending}" if n == 1 else f"{safe}-{n}{ending}")
                try:
                    with open(path, "x"):
                        self.written.append(path)
                        return path
                except FileExistsError:
                    continue
        except OSError as error:
            raise ToolError(f"cannot write into the output folder {str(self.output_dir)!r} "
                            f"({error}); no file can be saved there. Hint: call the tool "
                            "without asking for a file.") from error
        raise ToolError(f"output folder {str(self.output_dir)!r} is full of {safe}* files")
