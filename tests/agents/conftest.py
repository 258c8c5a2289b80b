"""Fixtures for the model agents: a tiny generated dataset, a canary API key, a run helper."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from csmbench import RunConfig, evaluate, read_records
from csmbench.env import EpisodeRecord

CANARY_KEY = "sk-canary-7f3a9c1e5b2d4f6a8c0e"
"""A fake API key: it must reach the server's Authorization header and nothing else."""

FAST_ITEM = "scale_bar.pixel_size-0002"
"""The item with the smallest micrograph of ``scale_bar_data`` (its calibration is quickest)."""


@pytest.fixture(scope="session")
def scale_bar_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One item of each scale-bar family (two more of pixel size, one a TIFF) and one XRD item."""
    from csmbench.episodes.generators import build_dataset

    return build_dataset(tmp_path_factory.mktemp("openai") / "data", seed=0, counts={
        "scale_bar.pixel_size": 3, "scale_bar.field_width": 1, "scale_bar.feature_length": 1,
        "xrd.strongest_d": 1})


@pytest.fixture(scope="session")
def scale_bar_items(scale_bar_data: Path) -> list[str]:
    """The ids of the scale-bar items of ``scale_bar_data`` (five)."""
    from csmbench.episodes import load_dataset

    ids = [i.id for i in load_dataset(scale_bar_data).items if i.family.startswith("scale_bar.")]
    assert len(ids) == 5
    return ids


@pytest.fixture(scope="session")
def api_key() -> str:
    """The canary key, for module-scoped fixtures that set it themselves."""
    return CANARY_KEY


@pytest.fixture(autouse=True)
def canary_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """OPENAI_API_KEY is the canary; OPENAI_BASE_URL is unset (every test passes base_url)."""
    monkeypatch.setenv("OPENAI_API_KEY", CANARY_KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return CANARY_KEY


RunAgent = Callable[..., tuple[dict[str, Any], list[EpisodeRecord]]]


@pytest.fixture
def run_agent(scale_bar_data: Path, tmp_path: Path) -> RunAgent:
    """``run_agent(server, out="run", agent="openai:scripted", items=[...], **options)``:
    evaluate through ``csmbench.evaluate``; returns the summary and the records by item."""

    def run(server: Any, out: str = "run", agent: str = "openai:scripted",
            items: list[str] | None = None, **options: Any
            ) -> tuple[dict[str, Any], list[EpisodeRecord]]:
        config = RunConfig(agent=agent, tools="all", max_steps=6,
                           agent_options={"base_url": server.base_url, **options})
        summary = asyncio.run(evaluate(scale_bar_data, tmp_path / out, config,
                                       item_ids=items if items is not None else [FAST_ITEM]))
        records = sorted(read_records(tmp_path / out), key=lambda r: r.item_id)
        return summary, records

    return run
