"""csmbench as an inspect_ai task: samples, tools run through the env, csmbench's graders.

The model is inspect's ``mockllm`` scripted to make the item's reference tool calls and to
answer from what the tools returned, so what is checked is the adapter (tools really run on
the sample's attachments, results reach the model, answers are graded), not a model. One
test runs the ``inspect eval`` command itself against ``csmbench.testing.ChatServer``.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("inspect_ai")

from inspect_ai import eval as inspect_eval
from inspect_ai.log import EvalLog, read_eval_log
from inspect_ai.model import (
    ChatMessage,
    ChatMessageTool,
    ChatMessageUser,
    ContentImage,
    ContentText,
    ModelOutput,
    ModelUsage,
    get_model,
)

from csmbench.episodes import Item, load_dataset
from csmbench.inspect import csmbench_dataset, csmbench_task
from csmbench.testing import Call, ChatServer, Conversation, Reply

PIXEL_SIZE_PNG = "scale_bar.pixel_size-0000"
PIXEL_SIZE_TIFF = "scale_bar.pixel_size-0001"
STRONGEST_D = "xrd.strongest_d-0000"
MODEL = "mockllm/model"
USAGE = ModelUsage(input_tokens=100, output_tokens=10, total_tokens=110)
"""Set on every scripted output: without it mockllm counts tokens with tiktoken, whose
encoding is downloaded on first use (no network here)."""

Script = Callable[[Item, list[ChatMessageTool]], ModelOutput]


@pytest.fixture(autouse=True)
def _restore_logger_levels():
    """inspect's eval sets the httpx loggers to WARNING for the whole process; put every
    logger level back so later tests in this worker see their INFO lines (the key-leak tests
    read them)."""
    manager = logging.root.manager
    levels = {name: logger.level for name, logger in manager.loggerDict.items()
              if isinstance(logger, logging.Logger)}
    yield
    for name, logger in list(manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            logger.setLevel(levels.get(name, logging.NOTSET))


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two scale-bar items (a PNG and a TIFF micrograph) and an XRD pattern item."""
    from csmbench.episodes.generators import build_dataset

    root = build_dataset(tmp_path_factory.mktemp("inspect") / "data", seed=0, counts={
        "scale_bar.pixel_size": 2, "xrd.strongest_d": 1})
    ids = {item.id for item in load_dataset(root).items}
    assert ids == {PIXEL_SIZE_PNG, PIXEL_SIZE_TIFF, STRONGEST_D}
    return root


@pytest.fixture(scope="module")
def items(data: Path) -> dict[str, Item]:
    return {item.id: item for item in load_dataset(data).items}


def scripted(items: dict[str, Item], answer: Script) -> Callable[..., ModelOutput]:
    """mockllm outputs: the item's reference calls one per reply, then ``answer(item, tool
    messages)``. The item is recognised by its question, the start of the first user message."""
    by_question = {item.question: item for item in items.values()}
    assert len(by_question) == len(items), "the script needs distinct questions"

    def output(messages: list[ChatMessage], *_: Any) -> ModelOutput:
        user = next(m for m in messages if isinstance(m, ChatMessageUser))
        item = next(i for q, i in by_question.items() if user.text.startswith(q))
        done = [m for m in messages if isinstance(m, ChatMessageTool)]
        if len(done) < len(item.reference):
            call = item.reference[len(done)]
            reply = ModelOutput.for_tool_call(MODEL, call.name, dict(call.arguments))
        else:
            reply = answer(item, done)
        reply.usage = USAGE
        return reply

    return output


def measured(item: Item, tool_messages: list[ChatMessageTool]) -> float:
    """What the item asks for, read from the last tool result as a model would."""
    result = json.loads(tool_messages[-1].text)
    if item.family == "scale_bar.pixel_size":
        return result["nm_per_pixel"]
    return max(result["peaks"], key=lambda peak: peak["height"])["d_spacing"]


def submit(value: float, unit: str) -> ModelOutput:
    return ModelOutput.for_tool_call(MODEL, "submit_answer", {
        "text": f"{value:.6g} {unit}", "value": value, "unit": unit})


def run(data: Path, log_dir: Path, script: Callable[..., ModelOutput], **task_args: Any
        ) -> EvalLog:
    model = get_model(MODEL, custom_outputs=script, memoize=False)
    [log] = inspect_eval(csmbench_task(data=str(data), **task_args), model=model,
                         log_dir=str(log_dir), display="none")
    assert log.status == "success", log.error
    assert log.samples is not None
    return log


def test_samples_hold_question_images_target_and_metadata(data: Path, items: dict[str, Item]):
    samples = {sample.id: sample for sample in csmbench_dataset(data)}
    assert set(samples) == set(items)
    for item_id, sample in samples.items():
        item = items[item_id]
        system, user = sample.input
        assert system.role == "system" and "submit_answer" in system.text
        texts = [p.text for p in user.content if isinstance(p, ContentText)]
        images = [p.image for p in user.content if isinstance(p, ContentImage)]
        assert texts[0].startswith(item.question)
        assert sample.metadata == {"item_id": item_id, "family": item.family,
                                   "scale": item.scale, "answer_type": "numeric",
                                   "difficulty": item.metadata.get("difficulty")}
        assert float(str(sample.target).split()[0]) == pytest.approx(item.answer.value,
                                                                          rel=1e-5)
        assert len(images) == 1
        if item_id == PIXEL_SIZE_TIFF:
            assert images[0].startswith("data:image/png;base64,")  # TIFF converted for providers
        else:
            assert Path(images[0]).is_file() and images[0].endswith(".png")
    pattern = samples[STRONGEST_D].input[1].content
    listing = pattern[0].text
    assert "- xrd0 (pattern)" in listing and "its plot is plot0" in listing
    assert pattern[1].text == "plot0:" and pattern[2].image.endswith("plot0.png")
    no_tools = next(iter(csmbench_dataset(data, tools="none", items=[STRONGEST_D])))
    assert "No measurement tools are offered" in no_tools.input[0].text


def test_scripted_model_runs_the_tools_and_is_scored_correct(data: Path, items: dict[str, Item],
                                                            tmp_path: Path):
    def right(item: Item, done: list[ChatMessageTool]) -> ModelOutput:
        return submit(measured(item, done), item.answer.unit)

    log = run(data, tmp_path, scripted(items, right), items=f"{PIXEL_SIZE_PNG},{STRONGEST_D}")
    assert len(log.samples) == 2
    for sample in log.samples:
        item = items[str(sample.id)]
        [tool_message] = [m for m in sample.messages if isinstance(m, ChatMessageTool)]
        assert tool_message.error is None
        assert tool_message.function == item.reference[0].name
        # the tool ran on this sample's attachment: its measurement agrees with the truth
        assert measured(item, [tool_message]) == pytest.approx(item.answer.value,
                                                               rel=item.answer.rel_tol)
        answer, trajectory = sample.scores["csmbench_answer"], sample.scores["csmbench_trajectory"]
        assert answer.value == "C", answer.explanation
        assert answer.metadata["outcome"] == "correct"
        assert float(answer.answer.split()[0]) == pytest.approx(item.answer.value,
                                                                rel=item.answer.rel_tol)
        assert trajectory.value == 1.0 and trajectory.metadata["minefields"] == []
        assert trajectory.metadata["combined"] == 1.0
    metrics = {score.name: score.metrics for score in log.results.scores}
    assert metrics["csmbench_answer"]["accuracy"].value == 1.0
    assert metrics["csmbench_trajectory"]["mean"].value == 1.0


def test_wrong_answer_and_wrong_attachment_score_incorrect(data: Path, items: dict[str, Item],
                                                           tmp_path: Path):
    """A call on an attachment the item does not have fails as in the env (the model sees
    the error and the episode goes on); the trajectory hits the wrong-attachment minefield,
    and an answer 1.5 times the measurement is graded wrong."""
    bad_call = ModelOutput.for_tool_call(MODEL, "find_peaks", {"pattern": "xrd7"})
    bad_call.usage = USAGE
    follow = scripted(items, lambda item, done: submit(1.5 * measured(item, done), "Å"))

    def script(messages: list[ChatMessage], *rest: Any) -> ModelOutput:
        if not any(isinstance(m, ChatMessageTool) for m in messages):
            return bad_call
        return follow([m for m in messages if not _is_call_on("xrd7", m)], *rest)

    log = run(data, tmp_path, script, items=STRONGEST_D)
    [sample] = log.samples
    failed, ran = [m for m in sample.messages if isinstance(m, ChatMessageTool)]
    assert failed.error is not None and "unknown attachment id 'xrd7'" in failed.error.message
    assert "plot0, xrd0" in failed.error.message  # names the attachments the episode has
    assert ran.error is None
    answer, trajectory = sample.scores["csmbench_answer"], sample.scores["csmbench_trajectory"]
    truth = items[STRONGEST_D].answer.value
    assert answer.value == "I" and answer.metadata["outcome"] == "wrong"
    assert f"truth {truth:.6g} Å" in answer.explanation
    assert trajectory.value == 0.0
    assert [m["name"] for m in trajectory.metadata["minefields"]] == ["wrong_attachment"]
    assert trajectory.metadata["milestone_score"] == 1.0  # the right call came after it


def _is_call_on(attachment: str, message: ChatMessage) -> bool:
    """The failed call and its reply, hidden from the script so it replays the reference."""
    if isinstance(message, ChatMessageTool):
        return message.error is not None and attachment in message.error.message
    return any(call.arguments.get("pattern") == attachment for call in
               getattr(message, "tool_calls", None) or [])


def strongest_d_script(request: dict[str, Any]) -> Reply:
    """A model behind the chat server: find_peaks on the pattern, then the strongest d."""
    chat = Conversation(request)
    found = [o.data for o in chat.tool_outputs("find_peaks") if o.ok]
    if not found:
        return Reply(calls=(Call("find_peaks", {"pattern": chat.attachments("pattern")[0]}),))
    d = max(found[-1]["peaks"], key=lambda peak: peak["height"])["d_spacing"]
    return Reply(calls=(Call("submit_answer", {"text": f"{d:.5f} Å", "value": d, "unit": "Å"}),))


def test_inspect_eval_command_against_a_chat_server(data: Path, items: dict[str, Item],
                                                    tmp_path: Path):
    """``inspect eval csmbench/inspect.py@csmbench_task``, as a user types it, with inspect's
    OpenAI-compatible provider talking to the scripted server (which checks every request:
    tool calls answered, images as real data URLs)."""
    repository = Path(__file__).resolve().parents[2]
    with ChatServer(strongest_d_script) as server:
        env = {**os.environ, "SCRIPTED_BASE_URL": server.base_url,
               "SCRIPTED_API_KEY": "sk-canary-inspect"}
        done = subprocess.run(
            [str(Path(sys.executable).with_name("inspect")), "eval",
             "csmbench/inspect.py@csmbench_task", "-T", f"data={data}", "-T", "family=xrd.",
             "--model", "openai-api/scripted/scripted", "--log-dir", str(tmp_path),
             "--display", "none"],
            cwd=repository, env=env, capture_output=True, text=True, timeout=600, check=False)
        requests = server.completions()
    assert done.returncode == 0, done.stderr[-3000:]
    assert server.outcomes()["ok"] == 2  # a find_peaks call, then the answer
    assert [t["function"]["name"] for t in requests[0]["tools"]][-1] == "submit_answer"
    assert len(Conversation(requests[0]).images()) == 1  # the pattern's plot reached the model
    [log_file] = list(tmp_path.glob("*.eval"))
    [sample] = read_eval_log(str(log_file)).samples
    assert sample.id == STRONGEST_D
    assert sample.scores["csmbench_answer"].value == "C"
    assert sample.scores["csmbench_trajectory"].value == 1.0
