"""Importing CSMBench: both download layouts, the original prompts, problems by index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from csmbench.episodes import (
    Choice,
    FreeText,
    cached_import,
    import_csmbench,
    load_dataset,
    read_csmbench,
)
from csmbench.errors import DatasetError

from .conftest import sample, save_figure

TRUTH = {  # item id: (scale, correct letter), from the sample README's records
    "csmbench.mcqa-0000": ("Mesoscale", "C"), "csmbench.mcqa-0001": ("Microscale", "B"),
    "csmbench.mcqa-0002": ("AtomScale", "D"), "csmbench.mcqa-0020": ("Macroscale", "A")}

ATOM_PROMPT = (  # the original MCQA template (README), filled in by hand for index 2
    "You are given an image and four candidate captions. Exactly one caption correctly "
    "describes the image.\nReturn ONLY the letter of the correct caption (A, B, C, or D). Do "
    "not return any other text.\n\nExample response: C\n\nOptions:\n"
    "A. Modeling of atomic structure using AFM. (a) ZrB2 and Fe atom, (b) ZrB2 and Ni atom.\n"
    "B. Modeling of atomic structure. (a) ZrB2 and Al atom at 950°C, (b) ZrB2 and Sc atom at "
    "950°C.\n"
    "C. Modeling of atomic structure. (a) TiB2 and Fe atom, (b) TiB2 and Ni atom.\n"
    "D. Modeling of atomic structure. (a) ZrB2 and Al atom, (b) ZrB2 and Sc atom.\n\n"
    "IMPORTANT: Return only the letter (A, B, C, or D). No explanation.")

ATOM_OPENQA = (  # the original OpenQA template (README), filled in by hand for index 2
    "You are a helpful materials science assistant. Below is a morphological analysis figure "
    "extracted from materials literature. The caption of the figure is: Fig. 13. Modeling of "
    "atomic structure. (a) ZrB2 and Al atom, (b) ZrB2 and Sc atom.. Please provide a detailed "
    "analysis and explanation of the content depicted in the image. Focus on the visible "
    "features of the image and draw conclusions based on what is presented. Note: There is a "
    "word count limit for your response. Your explanation should be between 100 and 300 words.")


@pytest.mark.parametrize("layout", ["repo_layout", "imagefolder_layout"])
def test_both_layouts_import_every_sample_record(layout: str, request: pytest.FixtureRequest,
                                                 tmp_path: Path) -> None:
    source = request.getfixturevalue(layout)
    report = import_csmbench(source, tmp_path / "data")
    assert report.problems == () and report.counts == {"mcqa": 4, "openqa": 4}
    dataset = load_dataset(tmp_path / "data")  # verifies every hash against the manifest
    mcqa = {i.id: i for i in dataset.items if i.family == "csmbench.mcqa"}
    assert {i: (item.scale, item.answer.correct) for i, item in mcqa.items()} == TRUTH
    assert mcqa["csmbench.mcqa-0002"].question == ATOM_PROMPT
    openqa = {i.id: i for i in dataset.items if i.family == "csmbench.openqa"}
    assert sorted(openqa) == [i.replace("mcqa", "openqa") for i in sorted(TRUTH)]
    atom = openqa["csmbench.openqa-0002"]
    assert atom.question == ATOM_OPENQA and isinstance(atom.answer, FreeText)
    assert atom.answer.reference.startswith("It can be concluded that when θ is less than 180")
    for item in dataset.items:
        assert item.source == "csmbench" and [a.kind for a in item.attachments] == ["image"]
        assert (dataset.root / item.attachments[0].path).suffix == ".jpg"
        assert set(item.metadata) >= {"index", "paper_folder_name", "hybrid", "source",
                                      "caption"}
        assert item.metadata["source"] == "mc" and item.metadata["hybrid"] is False
    assert mcqa["csmbench.mcqa-0001"].metadata["caption"].startswith("TEM images of ZrB2")
    assert dataset.manifest["import_problems"] == []


def test_layouts_agree(repo_layout: Path, imagefolder_layout: Path) -> None:
    repo, _, _ = read_csmbench(repo_layout)
    folder, _, _ = read_csmbench(imagefolder_layout)
    fields = ("id", "scale", "family", "question", "answer")
    assert [[getattr(i, f) for f in fields] for i, _ in repo] == [
        [getattr(i, f) for f in fields] for i, _ in folder]
    assert [p.read_bytes() for _, p in repo] == [p.read_bytes() for _, p in folder]


def test_missing_figure_and_malformed_records_are_reported_by_index(
        imagefolder_layout: Path, tmp_path: Path) -> None:
    train = imagefolder_layout / "multi_scale_mcq" / "train"
    (train / "sample_Mesoscale_0.jpg").unlink()
    rows = [json.loads(line) for line in (train / "metadata.jsonl").read_text().splitlines()]
    rows[0]["correct_answer"] = "E"  # index 2
    rows[1]["options"] = "[{not json"  # index 1
    lines = [json.dumps(r) for r in rows] + ["{torn line"]
    (train / "metadata.jsonl").write_text("\n".join(lines) + "\n")
    openqa = imagefolder_layout / "multi_scale" / "train" / "metadata.jsonl"
    rows = [json.loads(line) for line in openqa.read_text().splitlines()]
    rows[3]["scale"] = "Nanoscale"  # index 20
    openqa.write_text("\n".join(json.dumps(r) for r in rows) + "\n")

    report = import_csmbench(imagefolder_layout, tmp_path / "data")
    found = {(p.task, p.index): p.message for p in report.problems}
    assert set(found) == {("mcqa", 0), ("mcqa", 1), ("mcqa", 2), ("mcqa", None),
                          ("openqa", 20)}
    assert "sample_Mesoscale_0.jpg not found" in found["mcqa", 0]
    assert "'options'" in found["mcqa", 1] and "'correct_answer'" in found["mcqa", 2]
    assert "not valid JSON" in found["mcqa", None] and "Nanoscale" in found["openqa", 20]
    assert next(p for p in report.problems if p.index is None).where == "metadata.jsonl:5"
    assert report.counts == {"mcqa": 1, "openqa": 3}
    dataset = load_dataset(tmp_path / "data")
    assert [i.id for i in dataset.items if i.family == "csmbench.mcqa"] == ["csmbench.mcqa-0020"]
    assert len(dataset.manifest["import_problems"]) == 5


def test_figure_paths_beside_the_json_or_under_a_data_root(tmp_path: Path) -> None:
    records = sample("mcqa")[:2]
    beside = tmp_path / "beside"
    for record in records:
        record["figure_path"] = Path(record["figure_path"]).name
        save_figure(beside / record["figure_path"], record["index"])
    (beside / "multi_scale_mcq.json").write_text(json.dumps(records))
    items, problems, _ = read_csmbench(beside, "mcqa")
    assert problems == [] and [p.parent for _, p in items] == [beside, beside]
    elsewhere = tmp_path / "json"
    elsewhere.mkdir()
    (elsewhere / "multi_scale_mcq.json").write_text(json.dumps(records))
    items, problems, _ = read_csmbench(elsewhere, "mcqa", data_root=beside)
    assert problems == [] and len(items) == 2
    _, problems, _ = read_csmbench(elsewhere, "mcqa")
    assert [p.index for p in problems] == [2, 1]


def test_repeated_index_and_unreadable_figure(repo_layout: Path) -> None:
    data = repo_layout / "examples" / "data" / "multi_scale_mcq_sample.json"
    records = json.loads(data.read_text())
    data.write_text(json.dumps([*records, records[0]]))
    (repo_layout / records[1]["figure_path"]).write_bytes(b"not an image")
    _, problems, _ = read_csmbench(repo_layout, "mcqa")
    assert [(p.index, p.where) for p in problems] == [
        (1, "multi_scale_mcq_sample.json[1]"), (2, "multi_scale_mcq_sample.json[4]")]
    assert "not a readable image" in problems[0].message
    assert "repeats" in problems[1].message


def test_not_a_download_and_cached_import(tmp_path: Path, imagefolder_layout: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="not a CSMBench download"):
        import_csmbench(tmp_path / "empty", tmp_path / "out")
    assert read_csmbench(tmp_path)[0]  # its CSMBench_Data subfolder is found
    folder = tmp_path / "cached"
    assert cached_import(imagefolder_layout, folder, task="mcqa") is not None
    assert cached_import(imagefolder_layout, folder, task="mcqa") is None  # reused
    with pytest.raises(DatasetError, match="holds an import of"):
        cached_import(imagefolder_layout, folder, task="openqa")
    assert {i.family for i in load_dataset(folder).items} == {"csmbench.mcqa"}


def test_import_command(imagefolder_layout: Path, tmp_path: Path) -> None:
    (imagefolder_layout / "multi_scale" / "train" / "sample_Macroscale_20.jpg").unlink()
    cli = str(Path(sys.executable).with_name("csmbench"))
    result = subprocess.run([cli, "import", "csmbench", "--from", str(imagefolder_layout),
                             "--out", str(tmp_path / "data"), "--task", "openqa"],
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "COLUMNS": "300"}, check=False)
    assert result.returncode == 0, result.stderr
    assert "openqa index 20" in result.stderr and "sample_Macroscale_20.jpg not found" in (
        result.stderr)
    assert "imported 3 openqa items" in result.stderr
    dataset = load_dataset(tmp_path / "data")
    assert {i.family for i in dataset.items} == {"csmbench.openqa"}
    assert not any(isinstance(i.answer, Choice) for i in dataset.items)
