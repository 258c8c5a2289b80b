"""The Ray backend: each episode runs as a Ray task; the driver keeps the records.

Workers load the dataset from the same path as the driver (a shared file system on a
cluster) and build the agent from the run's spec and options, so an episode is computed
exactly as the local backend computes it. Ray is an optional extra: ``pip install
'csmbench[ray]'``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from csmbench.errors import CSMBenchError

if TYPE_CHECKING:
    from csmbench._run import RunConfig

__all__ = ["ray_episode"]


def _connect(address: str | None) -> Any:
    try:
        import ray
    except ImportError as error:
        raise CSMBenchError("--backend ray needs Ray: pip install 'csmbench[ray]'") from error
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 ignore_reinit_error=True)
    return ray


@functools.lru_cache(maxsize=4)
def _dataset(root: str) -> Any:
    from csmbench.episodes import load_dataset

    return load_dataset(Path(root))


def _run_episode(root: str, item_id: str, epoch: int, config: dict[str, Any],
                 output_dir: str) -> str:
    """One episode inside a Ray worker; returns the record as JSON."""
    from csmbench._run import RunConfig, _episode
    from csmbench.agents import make_agent_factory

    run_config = RunConfig(**config)
    dataset = _dataset(root)
    factory = make_agent_factory(run_config.agent, **run_config.agent_options)
    record = asyncio.run(_episode(dataset.item(item_id), epoch, dataset, factory, run_config,
                                  Path(output_dir)))
    return record.model_dump_json()


@functools.lru_cache(maxsize=1)
def _remote(address: str | None) -> Any:
    return _connect(address).remote(num_cpus=1, max_retries=2)(_run_episode)


async def ray_episode(root: Path, item_id: str, epoch: int, config: RunConfig,
                      output_dir: Path) -> str:
    """Run one episode as a Ray task (connecting on first use); the record's JSON."""
    task = _remote(config.ray_address)
    return await task.remote(str(root), item_id, epoch, dataclasses.asdict(config),
                             str(output_dir))
