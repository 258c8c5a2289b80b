"""CSMBench downloads for the import and evaluation tests: the four sample records of the
public repository (``../shared/csmbench_sample``) with generated stand-in figures, laid out
as the original repository (converted JSON) and as the Hugging Face ImageFolder."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

SAMPLE = Path(os.environ.get("CSMBENCH_SAMPLE")
              or Path(__file__).resolve().parents[2].parent / "shared" / "csmbench_sample")
"""The sample records: ../shared/csmbench_sample beside the repository, or $CSMBENCH_SAMPLE."""


def sample(task: str) -> list[dict[str, Any]]:
    """The sample records of a task ("mcqa" or "openqa"), as the repository ships them."""
    if not SAMPLE.is_dir():
        pytest.fail(f"sample folder {SAMPLE} is missing; it ships beside the repository "
                    "(../shared/csmbench_sample), or set CSMBENCH_SAMPLE")
    name = "multi_scale_mcq_sample.json" if task == "mcqa" else "multi_scale_sample.json"
    return json.loads((SAMPLE / name).read_text(encoding="utf-8"))


def save_figure(path: Path, index: int) -> None:
    """A small stand-in figure: a JPEG whose pixels depend on the record's index."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(index).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, format="JPEG" if path.suffix == ".jpg" else None)


@pytest.fixture
def repo_layout(tmp_path: Path) -> Path:
    """The original repository: examples/data/*.json naming examples/figures/*.jpg (paths
    relative to the repository root, as in CSMBench's own samples). Returns the root."""
    root = tmp_path / "CSMBench"
    data = root / "examples" / "data"
    data.mkdir(parents=True)
    for task, name in (("mcqa", "multi_scale_mcq_sample.json"),
                       ("openqa", "multi_scale_sample.json")):
        records = sample(task)
        (data / name).write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
        for record in records:
            save_figure(root / record["figure_path"], record["index"])
    return root


@pytest.fixture
def imagefolder_layout(tmp_path: Path) -> Path:
    """The Hugging Face ImageFolder: ``<config>/train/metadata.jsonl`` with ``file_name``
    beside the figures; the MCQA record of index 1 has ``options`` as a JSON string."""
    root = tmp_path / "CSMBench_Data"
    for task, config in (("mcqa", "multi_scale_mcq"), ("openqa", "multi_scale")):
        train = root / config / "train"
        train.mkdir(parents=True)
        lines = []
        for record in sample(task):
            row = {k: v for k, v in record.items() if k != "figure_path"}
            row["file_name"] = Path(record["figure_path"]).name
            if task == "mcqa" and record["index"] == 1:
                row["options"] = json.dumps(record["options"], ensure_ascii=False)
            save_figure(train / row["file_name"], record["index"])
            lines.append(json.dumps(row, ensure_ascii=False))
        (train / "metadata.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root
