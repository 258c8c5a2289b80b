"""A CSMBench download as a csmbench dataset: ``csmbench import csmbench --from DIR --out DATA``.

The figures are copied into ``assets/<item id>/img0.<suffix>`` and hashed, the items written
to ``items.jsonl`` and the manifest records the download it came from and every record that
was skipped (``import_problems``), so :func:`~csmbench.episodes.load_dataset` reads the result
like any generated dataset. Items are ordered by family, then by the record's ``index`` (as
the original ``prepare_dataset.py`` orders them). Reading the records: ``_csmbench_records``.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from csmbench.errors import DatasetError

from ._csmbench_records import (
    FAMILIES,
    IMPORTER_VERSION,
    ImportProblem,
    Layout,
    Task,
    find_sources,
    read_source,
    record_item,
)
from ._dataset import MANIFEST, DatasetWriter
from ._types import Item

__all__ = ["ImportReport", "TaskChoice", "cached_import", "import_csmbench", "read_csmbench"]

TaskChoice = Literal["mcqa", "openqa", "both"]


@dataclass(frozen=True)
class ImportReport:
    """What an import wrote: the dataset root, items per task, and the skipped records."""

    root: Path
    counts: dict[str, int]
    problems: tuple[ImportProblem, ...]


def _tasks(task: TaskChoice) -> tuple[Task, ...]:
    if task == "both":
        return get_args(Task)
    if task not in get_args(Task):
        raise DatasetError(f"task must be mcqa, openqa or both, got {task!r}")
    return (task,)


def read_csmbench(source: str | Path, task: TaskChoice = "both", data_root: Path | None = None
                  ) -> tuple[list[tuple[Item, Path]], list[ImportProblem],
                             dict[Task, tuple[Layout, Path]]]:
    """Items (with their figure files) of a CSMBench download, the skipped records, and the
    files they were read from. A repeated ``index`` within a task is skipped as a problem."""
    sources = find_sources(Path(source), _tasks(task))
    items: list[tuple[Item, Path]] = []
    problems: list[ImportProblem] = []
    for name, (layout, path) in sources.items():
        records, unreadable = read_source(layout, path, name)
        problems += unreadable
        seen: set[str] = set()
        for record in records:
            result = record_item(record, data_root)
            if isinstance(result, ImportProblem):
                problems.append(result)
            elif result[0].id in seen:
                problems.append(ImportProblem(name, result[0].metadata["index"], record.where,
                                              "its index repeats an earlier record's"))
            else:
                seen.add(result[0].id)
                items.append(result)
    items.sort(key=lambda pair: (pair[0].family, pair[0].metadata["index"]))
    return items, problems, sources


def import_csmbench(source: str | Path, out: str | Path, *, task: TaskChoice = "both",
                    data_root: Path | None = None) -> ImportReport:
    """Write the CSMBench download at ``source`` as a csmbench dataset in ``out``.

    Args:
        source: The download folder (either layout; see ``_csmbench_records``).
        out: A new or empty folder.
        task: "mcqa", "openqa" or "both".
        data_root: Where relative ``figure_path``s of converted JSON files start (the
            original scripts' ``--data-root``); default: the JSON file's folder and its
            ancestors.

    Raises:
        DatasetError: ``source`` is no CSMBench download, ``out`` holds a dataset already,
            or no record is usable.
    """
    items, problems, sources = read_csmbench(source, task, data_root)
    if not items:
        listed = "; ".join(map(str, problems[:5])) or "the files hold no records"
        raise DatasetError(f"no usable CSMBench record in {source}: {listed}")
    writer = DatasetWriter(Path(out), name=f"csmbench-{task}", seed=0)
    for item, figure in items:
        asset = writer.add_asset(item.id, "img0", "image", figure.suffix.lower(),
                                 lambda path, figure=figure: shutil.copyfile(figure, path))
        writer.add_item(item.model_copy(update={"attachments": [asset]}))
    root = writer.close(generators={"csmbench_import": IMPORTER_VERSION},
                        extra={"source": _source_facts(source, task, sources, data_root),
                               "import_problems": [str(p) for p in problems]})
    counts = {name: sum(item.family == FAMILIES[name] for item, _ in items) for name in sources}
    return ImportReport(root=root, counts=counts, problems=tuple(problems))


def _source_facts(source: str | Path, task: TaskChoice, sources: dict[Task, tuple[Layout, Path]],
                  data_root: Path | None) -> dict[str, Any]:
    return {"path": str(Path(source).resolve()), "task": task,
            "data_root": str(data_root.resolve()) if data_root else None,
            "files": {name: {"layout": layout, "file": str(path.resolve())}
                      for name, (layout, path) in sources.items()}}


def cached_import(source: str | Path, folder: str | Path, *, task: TaskChoice = "both",
                  data_root: Path | None = None) -> ImportReport | None:
    """Import into ``folder`` unless it holds the import of the same download and task already
    (then None: nothing was done). ``csmbench eval`` keeps one under its run folder.

    Raises:
        DatasetError: ``folder`` holds an import of another download or task.
    """
    manifest_path = Path(folder) / MANIFEST
    if not manifest_path.is_file():
        return import_csmbench(source, folder, task=task, data_root=data_root)
    facts = json.loads(manifest_path.read_text(encoding="utf-8")).get("source") or {}
    wanted = _source_facts(source, task, {}, data_root)
    if any(facts.get(key) != wanted[key] for key in ("path", "task", "data_root")):
        raise DatasetError(f"{folder} holds an import of {facts.get('path')} (task "
                           f"{facts.get('task')}), not of {wanted['path']} (task {task}); "
                           "use another run folder")
    return None
