"""Datasets on disk: ``manifest.json``, ``items.jsonl`` and ``assets/``, verified by sha256.

Writing is deterministic (no timestamps, sorted keys, items in generation order), so the same
seed gives byte-identical datasets. Reading checks every file against the manifest and names
each one that is missing or altered, and each file in ``assets/`` that the manifest does not
list.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from csmbench.errors import DatasetError

from ._types import Asset, AssetKind, Item

__all__ = ["ASSETS", "ITEMS", "MANIFEST", "AssetFiles", "Dataset", "DatasetWriter", "load_dataset",
           "sha256_file", "write_text_atomic"]

MANIFEST = "manifest.json"
ITEMS = "items.jsonl"
ASSETS = "assets"
FORMAT_VERSION = 1


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_text_atomic(path: Path, text: str) -> None:
    """Write UTF-8 text to a temporary file beside ``path``, then rename it into place: a
    reader, or a process killed meanwhile, sees the old file or the new one, never a torn one."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class Dataset:
    """A loaded dataset: its root folder, manifest and items (in file order)."""

    root: Path
    manifest: dict[str, Any]
    items: tuple[Item, ...]

    def item(self, item_id: str) -> Item:
        """The item with ``item_id``; DatasetError naming close matches otherwise."""
        for item in self.items:
            if item.id == item_id:
                return item
        raise DatasetError(f"item {item_id!r} is not in the dataset at {self.root}; "
                           f"it has {len(self.items)} items, e.g. {[i.id for i in self.items[:3]]}")


class AssetFiles:
    """Writes attachments under ``<root>/assets/<item_id>/`` and remembers their digests.

    A :class:`DatasetWriter` holds one; build workers in other processes use their own and
    hand ``files`` back with the item (:meth:`DatasetWriter.adopt`).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.files: dict[str, str] = {}

    def add_asset(self, item_id: str, asset_id: str, kind: AssetKind, suffix: str,
                  save: Callable[[Path], None], meta: dict[str, Any] | None = None) -> Asset:
        """Save one attachment with ``save(path)`` under ``assets/<item_id>/`` and hash it."""
        relative = f"{ASSETS}/{item_id}/{asset_id}{suffix}"
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        save(path)
        digest = sha256_file(path)
        self.files[relative] = digest
        return Asset(id=asset_id, kind=kind, path=relative, sha256=digest, meta=meta or {})


class DatasetWriter:
    """Writes a dataset folder: assets first (through :meth:`add_asset`), then items, then the manifest.

    Example:
        >>> writer = DatasetWriter(out, name="smoke", seed=0)  # doctest: +SKIP
        >>> asset = writer.add_asset("item-1", "img0", "image", ".png", save_png)  # doctest: +SKIP
        >>> writer.add_item(item); writer.close(generators={"scale_bar": "1"})  # doctest: +SKIP
    """

    def __init__(self, root: Path, *, name: str, seed: int) -> None:
        self.root = Path(root)
        if (self.root / MANIFEST).exists() or (self.root / ITEMS).exists():
            raise DatasetError(f"{self.root} already holds a dataset; choose an empty --out folder "
                               "or delete the old one first")
        (self.root / ASSETS).mkdir(parents=True, exist_ok=True)
        self.name, self.seed = name, seed
        self._items: list[Item] = []
        self._assets = AssetFiles(self.root)

    def add_asset(self, item_id: str, asset_id: str, kind: AssetKind, suffix: str,
                  save: Callable[[Path], None], meta: dict[str, Any] | None = None) -> Asset:
        """Save one attachment with ``save(path)`` under ``assets/<item_id>/`` and hash it."""
        return self._assets.add_asset(item_id, asset_id, kind, suffix, save, meta)

    def adopt(self, item: Item, files: dict[str, str]) -> None:
        """Queue an item whose assets another :class:`AssetFiles` wrote (``files``: digests)."""
        self._assets.files.update(files)
        self.add_item(item)

    def add_item(self, item: Item) -> None:
        """Queue an item; its assets must have been added already."""
        for asset in item.attachments:
            if asset.path not in self._assets.files:
                raise DatasetError(f"item {item.id}: asset {asset.path} was not written by add_asset")
        self._items.append(item)

    def close(self, *, generators: dict[str, str], extra: dict[str, Any] | None = None) -> Path:
        """Write ``items.jsonl`` and ``manifest.json``; returns the dataset root."""
        lines = [item.model_dump_json() for item in self._items]
        (self.root / ITEMS).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        files = dict(sorted(self._assets.files.items()))
        files[ITEMS] = sha256_file(self.root / ITEMS)
        manifest = {
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "seed": self.seed,
            "generators": dict(sorted(generators.items())),
            "counts": _counts(self._items),
            "files": files,
            **(extra or {}),
        }
        text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        # Atomic: the manifest marks a finished dataset (``cached_import`` reuses one that has
        # it), so a build or import killed here leaves none or a whole one.
        write_text_atomic(self.root / MANIFEST, text)
        return self.root


def _counts(items: Iterable[Item]) -> dict[str, Any]:
    by_scale: dict[str, int] = {}
    by_family: dict[str, int] = {}
    total = 0
    for item in items:
        total += 1
        by_scale[item.scale] = by_scale.get(item.scale, 0) + 1
        by_family[item.family] = by_family.get(item.family, 0) + 1
    return {"items": total, "by_scale": dict(sorted(by_scale.items())),
            "by_family": dict(sorted(by_family.items()))}


def load_dataset(root: str | Path, *, verify: bool = True) -> Dataset:
    """Read a dataset folder; with ``verify`` check every file's sha256 against the manifest.

    Raises:
        DatasetError: the folder, manifest or items are missing or malformed, or files are
            missing, altered or unexpected in ``assets/`` (all of them are named in one
            message, with what to do).
    """
    root = Path(root)
    manifest = _read_manifest(root)
    if verify:
        _verify_files(root, manifest.get("files", {}))
    items = tuple(_read_items(root / ITEMS))
    return Dataset(root=root, manifest=manifest, items=items)


def _read_manifest(root: Path) -> dict[str, Any]:
    path = root / MANIFEST
    if not path.is_file():
        raise DatasetError(f"{root} is not a csmbench dataset: {MANIFEST} is missing. "
                           "Build one with `csmbench build --preset smoke --out DIR`.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise DatasetError(f"{path} has no 'files' table of sha256 digests")
    return manifest


def _verify_files(root: Path, files: dict[str, str]) -> None:
    missing, altered = [], []
    for relative, expected in files.items():
        path = root / relative
        if not path.is_file():
            missing.append(relative)
        elif sha256_file(path) != expected:
            altered.append(relative)
    unexpected = _unexpected_assets(root, files)
    if not (missing or altered or unexpected):
        return
    found = [f"{len(missing)} missing: {missing[:10]}" if missing else "",
             f"{len(altered)} altered (sha256 differs from the manifest): {altered[:10]}"
             if altered else "",
             f"{len(unexpected)} unexpected (in {ASSETS}/ but not in the manifest): "
             f"{unexpected[:10]}" if unexpected else ""]
    todo = ["restore the missing and altered files from the original copy, or rebuild the "
            "dataset into an empty folder (the same preset and seed give the same bytes)"
            if missing or altered else "",
            "delete the unexpected files" if unexpected else ""]
    raise DatasetError(f"dataset {root} does not match its {MANIFEST}: "
                       + "; ".join(p for p in found if p) + ". To fix it, "
                       + " and ".join(t for t in todo if t) + ".")


def _unexpected_assets(root: Path, files: dict[str, str]) -> list[str]:
    """Files under ``assets/`` that the manifest does not list (hidden files, such as the
    .DS_Store a file browser leaves, aside: no attachment is named like one)."""
    folder = root / ASSETS
    if not folder.is_dir():
        return []
    found = (path.relative_to(root).as_posix() for path in folder.rglob("*") if path.is_file())
    return sorted(f for f in found if f not in files and not f.rsplit("/", 1)[-1].startswith("."))


def _read_items(path: Path) -> Iterable[Item]:
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield Item.model_validate_json(line)
            except ValidationError as exc:
                raise DatasetError(f"{path}:{number}: not a valid item: {exc}") from exc
