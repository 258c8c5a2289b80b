"""Shared fixtures: real-data paths, a hand-made tiny dataset, and a generated smoke dataset."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from csmbench.episodes import Choice, DatasetWriter, Item, Numeric

REALDATA = Path(os.environ.get("CSMBENCH_REALDATA")
                or Path(__file__).resolve().parents[1].parent / "shared" / "realdata")
"""The real measurements: ../shared/realdata beside the repository, or $CSMBENCH_REALDATA."""
# The crystal database is built once (under a file lock) and reused across test runs.
os.environ.setdefault("CSMBENCH_CACHE_DIR",
                      str(Path(__file__).resolve().parents[1] / ".pytest_cache" / "csmbench"))


@pytest.fixture(scope="session")
def realdata() -> Path:
    """The read-only folder of real measurements; a missing folder fails, never skips."""
    if not REALDATA.is_dir():
        pytest.fail(f"real data folder {REALDATA} is missing; it ships beside the repository "
                    "(../shared/realdata), or set CSMBENCH_REALDATA")
    return REALDATA


def _save_gray(path: Path, value: int) -> None:
    Image.fromarray(np.full((32, 48), value, dtype=np.uint8)).save(path)


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two hand-made items: a numeric one with an image, a multiple-choice one without."""
    root = tmp_path_factory.mktemp("tiny")
    writer = DatasetWriter(root, name="tiny", seed=0)
    asset = writer.add_asset("num-1", "img0", "image", ".png", lambda p: _save_gray(p, 90))
    writer.add_item(Item(id="num-1", source="generated", scale="Mesoscale", family="test.numeric",
                         question="How wide is it, in µm?", attachments=[asset],
                         answer=Numeric(value=12.5, unit="µm", rel_tol=0.02)))
    writer.add_item(Item(id="mcq-1", source="generated", scale="AtomScale", family="test.choice",
                         question="Which?", answer=Choice(options={"A": "x", "B": "y"},
                                                          correct="B")))
    writer.close(generators={"test": "1"})
    return root


@pytest.fixture(scope="session")
def smoke_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated smoke preset, seed 0 (built once per test session)."""
    from csmbench.episodes.generators import build_dataset

    return build_dataset(tmp_path_factory.mktemp("smoke") / "data", preset="smoke", seed=0)
