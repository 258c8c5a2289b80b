"""CSMBench records (Zheng, Chen, Jia 2026; arXiv 2603.19327) as csmbench items.

A CSMBench download comes in one of two layouts:

1. The Hugging Face ImageFolder (``huggingface-cli download --repo-type dataset
   lututu/CSMBench``): ``multi_scale/train/metadata.jsonl`` (OpenQA) and
   ``multi_scale_mcq/train/metadata.jsonl`` (MCQA), one JSON object per line, the figure
   ``file_name`` beside the metadata file; ``options`` may be a JSON-encoded string.
2. The converted JSON files of the original scripts: ``multi_scale.json`` and
   ``multi_scale_mcq.json`` (from ``prepare_dataset.py``), or the repository's samples
   ``examples/data/multi_scale_sample.json`` and ``multi_scale_mcq_sample.json``. Each record
   names its figure by ``figure_path``. An absolute path is used as it is. A relative one is
   resolved against ``data_root`` when given (the original scripts' ``--data-root``);
   otherwise against the JSON file's folder, then against each of its three nearest
   ancestors, and the first that holds the file wins. So the repository's samples
   (``examples/data/*.json`` naming ``examples/figures/...``, relative to the repository
   root) and files whose figures sit beside them both resolve without options.

Each valid record becomes one :class:`Item`: ``source="csmbench"``, the record's ``scale``,
family ``csmbench.mcqa`` or ``csmbench.openqa``, the figure as image attachment ``img0``,
and as question the original prompt word for word (``build_mcqa_prompt`` and
``create_openqa_prompt`` of the original ``src/utils.py``). A record with a missing or
unreadable figure, or a missing or malformed field, is skipped and reported as an
:class:`ImportProblem` naming its index; nothing is dropped silently. Writing a dataset:
``_csmbench_import``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from PIL import Image, UnidentifiedImageError

from csmbench.errors import DatasetError

from ._types import Asset, Choice, FreeText, Item, Scale

__all__ = ["FAMILIES", "IMPORTER_VERSION", "ImportProblem", "SourceRecord", "Task",
           "find_sources", "mcqa_prompt", "openqa_prompt", "read_source", "record_item"]

Task = Literal["mcqa", "openqa"]
Layout = Literal["imagefolder", "json"]
FAMILIES: dict[Task, str] = {"mcqa": "csmbench.mcqa", "openqa": "csmbench.openqa"}
IMPORTER_VERSION = "1"
_IMAGEFOLDER = {"mcqa": "multi_scale_mcq/train/metadata.jsonl",
                "openqa": "multi_scale/train/metadata.jsonl"}
_JSON_NAMES = {"mcqa": ("multi_scale_mcq.json", "multi_scale_mcq_sample.json"),
               "openqa": ("multi_scale.json", "multi_scale_sample.json")}
_ANCESTORS = 3
_SUBFOLDERS = (".", "CSMBench_Data", "examples/data")
"""Where a download's files are looked for: the folder itself, then the original
repository's data folder and its samples (so its root may be given too)."""
_PLACEHOLDER_SHA = "0" * 64


class _Malformed(ValueError):
    """A record's field is missing or malformed (the message says which)."""


@dataclass(frozen=True)
class ImportProblem:
    """A record that was skipped, and why.

    Attributes:
        task: "mcqa" or "openqa".
        index: The record's ``index`` (None when it has none or is unreadable).
        where: File and line (``metadata.jsonl:7``) or position (``multi_scale.json[3]``).
        message: What is wrong.
    """

    task: Task
    index: int | None
    where: str
    message: str

    def __str__(self) -> str:
        which = f"index {self.index}" if self.index is not None else "record"
        return f"{self.task} {which} ({self.where}): {self.message}"


@dataclass(frozen=True)
class SourceRecord:
    """One raw record of a download, with where it came from."""

    task: Task
    layout: Layout
    file: Path
    where: str
    data: dict[str, Any]


def mcqa_prompt(options: list[dict[str, str]]) -> str:
    """The original MCQA prompt, with one "A. caption" line per option in record order."""
    listed = "\n".join(f"{option['label']}. {option['caption']}" for option in options)
    return ("You are given an image and four candidate captions. Exactly one caption "
            "correctly describes the image.\n"
            "Return ONLY the letter of the correct caption (A, B, C, or D). "
            "Do not return any other text.\n\n"
            "Example response: C\n\n"
            f"Options:\n{listed}\n\n"
            "IMPORTANT: Return only the letter (A, B, C, or D). No explanation.")


def openqa_prompt(caption: str) -> str:
    """The original OpenQA prompt for a figure with this caption."""
    return ("You are a helpful materials science assistant. Below is a morphological "
            "analysis figure extracted from materials literature. The caption of the "
            f"figure is: {caption}. Please provide a detailed analysis and explanation "
            "of the content depicted in the image. Focus on the visible features of the "
            "image and draw conclusions based on what is presented. Note: There is a "
            "word count limit for your response. Your explanation should be between "
            "100 and 300 words.")


def find_sources(root: Path, tasks: tuple[Task, ...]) -> dict[Task, tuple[Layout, Path]]:
    """The metadata or JSON file of each task in a download folder (or in its
    ``CSMBench_Data`` or ``examples/data``, for the original repository's root).

    Raises:
        DatasetError: ``root`` holds neither layout for one of ``tasks``.
    """
    found: dict[Task, tuple[Layout, Path]] = {}
    for task in tasks:
        for folder in (root / sub for sub in _SUBFOLDERS):
            converted = [folder / name for name in _JSON_NAMES[task] if (folder / name).is_file()]
            if (folder / _IMAGEFOLDER[task]).is_file():
                found[task] = ("imagefolder", folder / _IMAGEFOLDER[task])
            elif converted:
                found[task] = ("json", converted[0])
            if task in found:
                break
        else:
            names = " or ".join([_IMAGEFOLDER[task], *_JSON_NAMES[task]])
            raise DatasetError(f"{root} is not a CSMBench download with the {task} task: "
                               f"{names} is missing. Download it with `huggingface-cli "
                               "download --repo-type dataset lututu/CSMBench --local-dir DIR`.")
    return found


def read_source(layout: Layout, path: Path, task: Task
                ) -> tuple[list[SourceRecord], list[ImportProblem]]:
    """The raw records of one metadata.jsonl or JSON file, and the lines that are not JSON."""
    records, problems = [], []
    if layout == "imagefolder":
        for number, line in _lines(path):
            try:
                data = json.loads(line)
            except ValueError as exc:
                problems.append(ImportProblem(task, None, f"{path.name}:{number}",
                                              f"not valid JSON ({exc})"))
                continue
            records.append(SourceRecord(task, layout, path, f"{path.name}:{number}", data))
        return records, problems
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path} is not a readable JSON file: {exc}") from exc
    if not isinstance(rows, list):
        raise DatasetError(f"{path} must hold a JSON list of records, got {type(rows).__name__}")
    return [SourceRecord(task, layout, path, f"{path.name}[{n}]", row)
            for n, row in enumerate(rows)], problems


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line


def record_item(record: SourceRecord, data_root: Path | None = None
                ) -> tuple[Item, Path] | ImportProblem:
    """The item of a record and its figure's path, or the problem that rules it out.

    The item's attachment is a placeholder until the figure is copied into a dataset
    (``DatasetWriter.add_asset``); replace it then with ``item.model_copy``.
    """
    data = record.data
    index = data.get("index") if isinstance(data, dict) else None
    index = index if isinstance(index, int) and not isinstance(index, bool) else None
    try:
        if not isinstance(data, dict):
            raise _Malformed(f"a record must be a JSON object, got {type(data).__name__}")
        if index is None or index < 0:
            raise _Malformed(f"'index' must be a non-negative integer, got {data.get('index')!r}")
        figure = _figure(record, data_root)
        item = _item(record.task, index, data, figure)
    except _Malformed as exc:
        return ImportProblem(record.task, index, record.where, str(exc))
    return item, figure


def _item(task: Task, index: int, data: dict[str, Any], figure: Path) -> Item:
    scale = data.get("scale")
    if scale not in get_args(Scale):
        raise _Malformed(f"'scale' must be one of {', '.join(get_args(Scale))}, got {scale!r}")
    if task == "mcqa":
        options = _options(data.get("options"))
        correct = str(data.get("correct_answer", "")).strip().upper()
        answer: Choice | FreeText = _choice(options, correct)
        question, caption = mcqa_prompt(options), answer.options[correct]
    else:
        caption = _text(data, "image_caption")
        answer = FreeText(reference=_text(data, "describe_paragraph"))
        question = openqa_prompt(caption)
    placeholder = Asset(id="img0", kind="image", path=f"assets/{figure.name}",
                        sha256=_PLACEHOLDER_SHA)
    metadata = {"index": index, "paper_folder_name": data.get("paper_folder_name"),
                "hybrid": data.get("hybrid"), "source": data.get("source"), "caption": caption,
                "figure": data.get("file_name") or data.get("figure_path")}
    return Item(id=f"{FAMILIES[task]}-{index:04d}", source="csmbench", scale=scale,
                family=FAMILIES[task], question=question, attachments=[placeholder],
                answer=answer, metadata=metadata)


def _options(raw: Any) -> list[dict[str, str]]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise _Malformed(f"'options' is a string but not JSON ({exc})") from None
    if not isinstance(raw, list) or not all(isinstance(o, dict) for o in raw):
        raise _Malformed(f"'options' must be a list of {{label, caption}} objects, got {raw!r:.80}")
    options = [{"label": o.get("label"), "caption": o.get("caption")} for o in raw]
    labels = [o["label"] for o in options]
    if sorted(map(str, labels)) != ["A", "B", "C", "D"]:
        raise _Malformed(f"'options' must have the labels A, B, C and D once each, got {labels}")
    if not all(isinstance(o["caption"], str) and o["caption"].strip() for o in options):
        raise _Malformed("every option needs a non-empty 'caption'")
    return options


def _choice(options: list[dict[str, str]], correct: str) -> Choice:
    if correct not in {o["label"] for o in options}:
        raise _Malformed(f"'correct_answer' must be one of A, B, C, D, got {correct!r}")
    return Choice(options={o["label"]: o["caption"] for o in options}, correct=correct)


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = " ".join(value)  # as the original scorer joins a list of paragraphs
    if not isinstance(value, str) or not value.strip():
        raise _Malformed(f"{key!r} must be non-empty text, got {value!r:.80}")
    return value


def _figure(record: SourceRecord, data_root: Path | None) -> Path:
    """The figure file of a record, checked to be an image Pillow can read."""
    key = "file_name" if record.layout == "imagefolder" else "figure_path"
    name = record.data.get(key)
    if not isinstance(name, str) or not name.strip():
        raise _Malformed(f"{key!r} must name the figure file, got {name!r}")
    candidates = _candidates(Path(name), record, data_root)
    figure = next((c for c in candidates if c.is_file()), None)
    if figure is None:
        raise _Malformed(f"figure {name} not found (looked in "
                         f"{', '.join(str(c.parent) for c in candidates)})")
    try:
        with Image.open(figure) as image:
            image.verify()
    except (OSError, UnidentifiedImageError) as exc:
        raise _Malformed(f"figure {figure} is not a readable image ({exc})") from None
    return figure


def _candidates(name: Path, record: SourceRecord, data_root: Path | None) -> list[Path]:
    if name.is_absolute():
        return [name]
    if record.layout == "imagefolder":
        return [record.file.parent / name]
    if data_root is not None:
        return [data_root / name]
    folder = record.file.resolve().parent
    return [base / name for base in (folder, *folder.parents[:_ANCESTORS])]
