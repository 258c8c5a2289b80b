"""The Ray backend on a local Ray instance gives the same records as the local backend."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from csmbench import RunConfig, evaluate, read_records
from csmbench.episodes.generators import build_dataset

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _outcomes(run: Path) -> list[tuple]:
    return sorted((r.item_id, r.epoch, r.status, r.answer, r.score.answer.value,
                   [c.name for step in r.trajectory for c in step.calls])
                  for r in read_records(run))


def test_ray_backend_matches_local(local_ray, tmp_path: Path) -> None:
    data = build_dataset(tmp_path / "data", counts={"scale_bar.pixel_size": 3,
                                                     "xrd.strongest_d": 2}, seed=8)
    local = RunConfig(agent="reference", tools="all", epochs=2)
    on_ray = RunConfig(agent="reference", tools="all", epochs=2, backend="ray")
    asyncio.run(evaluate(data, tmp_path / "local", local))
    summary = asyncio.run(evaluate(data, tmp_path / "ray", on_ray))
    assert summary["overall"]["n"] == 10
    assert _outcomes(tmp_path / "ray") == _outcomes(tmp_path / "local")
    assert all(r.status == "answered" for r in read_records(tmp_path / "ray"))
