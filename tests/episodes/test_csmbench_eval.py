"""CSMBench MCQA and OpenQA runs end to end: an ImageFolder download imported, the answering
model (``openai:<model>``) and the judge scripted behind the local OpenAI-compatible server,
scores per scale as the scripted replies imply (and as the original scripts would read them)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from csmbench import CSMBenchEnv, FinalAnswer, RunConfig, evaluate, read_records
from csmbench.episodes import import_csmbench
from csmbench.testing import ChatServer, Conversation, ReplyLike

CANARY_KEY = "sk-canary-csmbench-eval"
FIGURE = {  # a phrase of each figure's options or caption -> its scale
    "Modeling of atomic structure": "AtomScale", "ZrB2 nanoparticle": "Microscale",
    "Bright field": "Mesoscale", "EBSD orientations": "Macroscale"}
MCQA_REPLIES = {  # scale: (reply, what csmbench reads, what the original script reads)
    "AtomScale": ("Answer: D", "D", "A"),             # truth D
    "Microscale": ("(B)", "B", "B"),                  # truth B
    "Mesoscale": ("A or C", None, "A"),               # truth C
    "Macroscale": ("The correct caption is A.", "A", "C")}  # truth A
JUDGE_REPLIES = {  # scale: (judge reply, judge score, the original's reading)
    "AtomScale": ("Score: 7 out of 10", 7, 10), "Microscale": ('{"score": 4}', 4, 4),
    "Mesoscale": ("I cannot evaluate this prediction.", None, None),
    "Macroscale": ("10", 10, 10)}


@pytest.fixture(autouse=True)
def canary_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", CANARY_KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def scale_of(text: str) -> str:
    return next(scale for phrase, scale in FIGURE.items() if phrase in text)


def model_and_judge(request: dict[str, Any]) -> ReplyLike:
    """The answering model and, for requests carrying the judge prompt, the judge."""
    question = Conversation(request).question
    if question.lstrip().startswith("You are a strict evaluator"):
        return JUDGE_REPLIES[scale_of(question.split("Ground Truth Answer:")[0])][0]
    assert Conversation(request).images()[0].startswith("data:image/jpeg;base64,")
    if question.startswith("You are given an image and four candidate captions."):
        return MCQA_REPLIES[scale_of(question)][0]
    return "The figure shows the microstructure the caption describes. " * 10


@pytest.fixture
def data(imagefolder_layout: Path, tmp_path: Path) -> Path:
    import_csmbench(imagefolder_layout, tmp_path / "data")
    return tmp_path / "data"


def run(data: Path, out: Path, server: ChatServer, family: str, **config: Any
        ) -> tuple[dict[str, Any], dict[str, Any]]:
    from csmbench.episodes import load_dataset

    ids = [i.id for i in load_dataset(data).items if i.family == family]
    run_config = RunConfig(agent="openai:scripted-vlm", tools="none", max_steps=3,
                           agent_options={"base_url": server.base_url}, **config)
    summary = asyncio.run(evaluate(data, out, run_config, item_ids=ids))
    return summary, {r.scale: r for r in read_records(out)}


def test_mcqa_accuracy_per_scale_is_what_the_replies_imply(data: Path, tmp_path: Path) -> None:
    with ChatServer(model_and_judge) as server:
        summary, records = run(data, tmp_path / "run", server, "csmbench.mcqa")
    truth = {"AtomScale": "D", "Microscale": "B", "Mesoscale": "C", "Macroscale": "A"}
    for scale, (_, ours, original) in MCQA_REPLIES.items():
        score = records[scale].score.answer
        assert score.metadata.get("answered") == ours
        assert score.metadata["original_choice"] == original
        assert summary["by_scale"][scale]["accuracy"] == float(ours == truth[scale])
    assert summary["overall"]["accuracy"] == 0.75 and summary["overall"]["n"] == 4
    assert summary["outcomes"]["unparseable"] == 1
    assert sum(r.score.answer.metadata["original_correct"] for r in records.values()) == 1
    # prompt parity: one user message, the original prompt then the figure; no tools
    for body in server.completions():
        (message,) = body["messages"]
        assert message["role"] == "user" and "tools" not in body
        text, image = message["content"]
        assert text["text"].startswith("You are given an image and four candidate captions.")
        assert text["text"].endswith("IMPORTANT: Return only the letter (A, B, C, or D). "
                                     "No explanation.")
        assert image["image_url"]["url"].startswith("data:image/")


def test_openqa_mean_judge_score_per_scale(data: Path, tmp_path: Path) -> None:
    cache = tmp_path / "judge-cache"
    with ChatServer(model_and_judge) as server:
        summary, records = run(data, tmp_path / "run", server, "csmbench.openqa",
                               judge="judge-model", judge_options={"cache_dir": str(cache)})
        judged = [b for b in server.completions() if "response_format" in b]
        assert len(judged) == 4 and {b["model"] for b in judged} == {"judge-model"}
        again, _ = run(data, tmp_path / "rerun", server, "csmbench.openqa",
                       judge="judge-model", judge_options={"cache_dir": str(cache)})
        assert len([b for b in server.completions() if "response_format" in b]) == 4  # cached
    for scale, (_, judge, original) in JUDGE_REPLIES.items():
        group = summary["by_scale"][scale]
        assert group["mean_judge_score"] == judge and group["judged"] == (judge is not None)
        assert group["mean_original_score"] == original
        assert records[scale].score.answer.metadata.get("judge_score") == judge
    assert summary["overall"]["mean_judge_score"] == pytest.approx((7 + 4 + 10) / 3)
    assert summary["overall"]["mean_original_score"] == pytest.approx((10 + 4 + 10) / 3)
    assert summary["overall"]["accuracy"] == 0.5  # 7 and 10 pass (from 7); 4 and unscored not
    assert summary["outcomes"]["unscored"] == 1
    assert summary["config"]["judge"]["model"] == "judge-model"
    assert summary["config"]["judge"]["base_url"] == server.base_url  # the agent's by default
    assert again["by_scale"] == summary["by_scale"]


def test_without_a_judge_free_text_is_unscored(data: Path) -> None:
    env = CSMBenchEnv(data, tools="none")
    env.reset(options={"item_id": "csmbench.openqa-0002"})
    _, reward, terminated, _, info = env.step(FinalAnswer(text="Two adsorption models."))
    score = info["record"].score.answer
    assert terminated and reward == 0.0 and score.metadata["outcome"] == "unscored"
    assert "no judge" in score.explanation


def test_eval_command_takes_a_download(imagefolder_layout: Path, tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    cli = str(Path(sys.executable).with_name("csmbench"))
    out = tmp_path / "run"
    with ChatServer(model_and_judge) as server:
        for _ in range(2):  # the second run resumes, reusing the imported dataset
            result = subprocess.run(
                [cli, "eval", "--data", str(imagefolder_layout), "--task", "openqa",
                 "--agent", "openai:scripted-vlm", "--tools", "none", "--max-steps", "3",
                 "--base-url", server.base_url, "--judge", "judge-model", "--out", str(out),
                 "--resume"], capture_output=True, text=True, timeout=300, check=False,
                env={**os.environ, "COLUMNS": "200"})
            assert result.returncode == 0, result.stderr[-3000:]
        assert len([b for b in server.completions() if "response_format" in b]) == 4
    summary = json.loads((out / "summary.json").read_text())
    assert summary["overall"]["n"] == 4 and summary["overall"]["mean_judge_score"] == 7
    assert summary["config"]["dataset"] == str(out / "csmbench-openqa")
    assert (out / "judge-cache").is_dir()
