"""A dataset whose files differ from its manifest is refused, naming each file and the fix.

(Appending a byte and deleting an asset are also checked in ``test_dataset.py``.)
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from csmbench.episodes import load_dataset
from csmbench.errors import DatasetError

ASSET = "assets/num-1/img0.png"
"""The image attachment of ``tiny_dataset``'s numeric item."""
RESTORE = "restore the missing and altered files"
DELETE = "delete the unexpected files"


@pytest.fixture
def copy(tiny_dataset: Path, tmp_path: Path) -> Path:
    """A private copy of the two-item dataset, free to damage."""
    return Path(shutil.copytree(tiny_dataset, tmp_path / "copy"))


def flip_one_byte(path: Path, offset: int) -> None:
    """Change one byte in place; the file keeps its size."""
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def refusal(root: Path) -> str:
    with pytest.raises(DatasetError) as caught:
        load_dataset(root)
    return str(caught.value)


def test_the_copy_loads(copy: Path) -> None:
    assert len(load_dataset(copy).items) == 2


def test_one_byte_altered_is_named(copy: Path) -> None:
    asset = copy / ASSET
    size = asset.stat().st_size
    flip_one_byte(asset, size // 2)
    assert asset.stat().st_size == size
    message = refusal(copy)
    assert re.search(rf"1 altered \(sha256 differs from the manifest\): \['{ASSET}'\]", message)
    assert RESTORE in message and "missing:" not in message and DELETE not in message


def test_an_altered_truth_in_items_jsonl_is_named(copy: Path) -> None:
    items = copy / "items.jsonl"
    text = items.read_text(encoding="utf-8")
    assert '"value":12.5' in text
    items.write_text(text.replace('"value":12.5', '"value":13.5'), encoding="utf-8")
    assert "altered (sha256 differs from the manifest): ['items.jsonl']" in refusal(copy)


def test_a_deleted_asset_is_named(copy: Path) -> None:
    (copy / ASSET).unlink()
    message = refusal(copy)
    assert f"1 missing: ['{ASSET}']" in message and RESTORE in message


def test_an_unexpected_asset_is_named(copy: Path) -> None:
    extra = copy / "assets" / "num-1" / "img1.png"
    extra.write_bytes((copy / ASSET).read_bytes())
    message = refusal(copy)
    assert "1 unexpected (in assets/ but not in the manifest): ['assets/num-1/img1.png']" in message
    assert DELETE in message and RESTORE not in message


def test_every_problem_is_named_in_one_message(copy: Path) -> None:
    flip_one_byte(copy / "items.jsonl", 10)
    (copy / ASSET).unlink()
    (copy / "assets" / "stray").mkdir()
    (copy / "assets" / "stray" / "old.xy").write_text("10 1\n", encoding="utf-8")
    message = refusal(copy)
    named = [f"1 missing: ['{ASSET}']",
             "1 altered (sha256 differs from the manifest): ['items.jsonl']",
             "1 unexpected (in assets/ but not in the manifest): ['assets/stray/old.xy']"]
    for part in [*named, RESTORE, DELETE]:
        assert part in message


def test_files_outside_assets_and_hidden_files_are_not_refused(copy: Path) -> None:
    (copy / "DATASHEET.md").write_text("# a datasheet written after the build\n",
                                       encoding="utf-8")
    (copy / "assets" / "num-1" / ".DS_Store").write_bytes(b"\0\1")
    assert len(load_dataset(copy).items) == 2


def test_verify_false_skips_the_check(copy: Path) -> None:
    (copy / ASSET).unlink()
    assert len(load_dataset(copy, verify=False).items) == 2
