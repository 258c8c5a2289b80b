"""Episode families: a registry of item generators, each seeded by an explicit generator."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from csmbench.episodes import Asset, AssetFiles, AssetKind, DatasetWriter, Difficulty, Item
from csmbench.errors import RegistryError

__all__ = ["FAMILIES", "Family", "ItemSink", "family", "get_family"]


class ItemSink:
    """Where a generator writes the attachments of one item (``assets/<item_id>/``)."""

    def __init__(self, writer: DatasetWriter | AssetFiles, item_id: str) -> None:
        self.writer, self.item_id = writer, item_id

    def asset(self, asset_id: str, kind: AssetKind, suffix: str, save: Callable[[Path], None],
              meta: dict[str, Any] | None = None) -> Asset:
        """Write one attachment with ``save(path)``; returns its hashed ``Asset``."""
        return self.writer.add_asset(self.item_id, asset_id, kind, suffix, save, meta)


MakeItem = Callable[[str, np.random.Generator, ItemSink, Difficulty], Item]
"""``make(item_id, rng, sink, difficulty) -> Item``: every random choice from ``rng``."""


@dataclass(frozen=True)
class Family:
    """A family of generated items: its name, version and ``make(item_id, rng, sink, difficulty)``."""

    name: str
    version: str
    make: MakeItem


FAMILIES: dict[str, Family] = {}


def family(name: str, *, version: str) -> Callable[[MakeItem], MakeItem]:
    """Register an item generator under ``name`` (bump ``version`` when its output changes)."""

    def register(make: MakeItem) -> MakeItem:
        if name in FAMILIES:
            raise RegistryError(f"family {name!r} is registered twice")
        FAMILIES[name] = Family(name, version, make)
        return make

    return register


def get_family(name: str) -> Family:
    """The family called ``name``; RegistryError with the available names otherwise."""
    if name in FAMILIES:
        return FAMILIES[name]
    close = difflib.get_close_matches(name, FAMILIES, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise RegistryError(f"family {name!r} not found in the registry; available: "
                        f"{', '.join(sorted(FAMILIES))}.{hint}")
