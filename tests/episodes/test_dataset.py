"""Datasets on disk: round trip, determinism of bytes, and hash verification."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from csmbench.episodes import Asset, Item, Numeric, load_dataset
from csmbench.errors import DatasetError


def test_round_trip(tiny_dataset: Path) -> None:
    dataset = load_dataset(tiny_dataset)
    assert [item.id for item in dataset.items] == ["num-1", "mcq-1"]
    assert dataset.manifest["counts"]["by_scale"] == {"AtomScale": 1, "Mesoscale": 1}
    assert dataset.item("num-1").answer == Numeric(value=12.5, unit="µm", rel_tol=0.02)


def test_altered_and_missing_files_are_named(tiny_dataset: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(tiny_dataset, copy)
    image = next((copy / "assets").rglob("*.png"))
    image.write_bytes(image.read_bytes() + b"x")
    with pytest.raises(DatasetError, match="altered.*img0.png"):
        load_dataset(copy)
    image.unlink()
    with pytest.raises(DatasetError, match="missing.*img0.png"):
        load_dataset(copy)


def test_not_a_dataset(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="manifest.json is missing"):
        load_dataset(tmp_path)


def test_malformed_item_line_is_located(tiny_dataset: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(tiny_dataset, copy)
    (copy / "items.jsonl").write_text('{"id": "x"}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"items.jsonl:1: not a valid item"):
        load_dataset(copy, verify=False)


@pytest.mark.parametrize("path", ["../etc/passwd", "/etc/passwd", "assets/../../x", "C:/x"],
                         ids=["dotdot", "absolute", "inner-dotdot", "drive"])
def test_asset_paths_must_stay_inside(path: str) -> None:
    with pytest.raises(ValidationError):
        Asset(id="img0", kind="image", path=path, sha256="0" * 64)


def test_duplicate_attachment_ids_rejected() -> None:
    asset = Asset(id="img0", kind="image", path="assets/a.png", sha256="0" * 64)
    with pytest.raises(ValidationError, match="attachment ids repeat"):
        Item(id="x", source="generated", scale="Mesoscale", family="f", question="q",
             attachments=[asset, asset], answer=Numeric(value=1.0))
