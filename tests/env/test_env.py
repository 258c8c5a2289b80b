"""CSMBenchEnv: gymnasium conformance, action forms, budgets, ablations and hostile actions."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium
import pytest
from gymnasium.utils.env_checker import check_env

import csmbench
from csmbench.env import CSMBenchEnv
from csmbench.episodes import FinalAnswer, ToolCall


def test_check_env_passes(tiny_dataset: Path) -> None:
    env = gymnasium.make("csmbench/CSMBench-v0", data=tiny_dataset, tools="all")
    check_env(env.unwrapped, skip_render_check=True)


def test_reset_is_seeded_and_item_selectable(tiny_dataset: Path) -> None:
    env = CSMBenchEnv(tiny_dataset)
    first = [env.reset(seed=s)[1]["observation"].item_id for s in range(8)]
    again = [env.reset(seed=s)[1]["observation"].item_id for s in range(8)]
    assert first == again and set(first) == {"num-1", "mcq-1"}
    _, info = env.reset(options={"item_id": "mcq-1"})
    assert info["observation"].question == "Which?"


def test_observation_is_json_matching_info(tiny_dataset: Path) -> None:
    env = CSMBenchEnv(tiny_dataset)
    obs, info = env.reset(options={"item_id": "num-1"})
    assert json.loads(obs)["question"] == "How wide is it, in µm?"
    assert obs.isascii() and env.observation_space.contains(obs)
    names = [t["function"]["name"] for t in info["observation"].tools]
    assert "calibrate_scale_bar" in names and "submit_answer" in names
    assert Path(info["observation"].attachments[0].path).is_file()


def test_observation_text_is_the_observation_serialized(tiny_dataset: Path) -> None:
    """The text (tool schemas serialized once) equals the whole observation's sorted JSON, at
    a question, a tool result, an error and the answer."""
    env = CSMBenchEnv(tiny_dataset)
    steps = [env.reset(options={"item_id": "num-1"}),
             env.step('{"tool": "calibrate_scale_bar", "arguments": {"image": "img0"}}')[::4],
             env.step("{not json")[::4], env.step('{"answer": "12.5 µm"}')[::4]]
    for text, info in steps:
        whole = info["observation"].model_dump(mode="json")
        assert text == json.dumps(whole, ensure_ascii=True, sort_keys=True)


@pytest.mark.parametrize(
    "action",
    [FinalAnswer(text="12.6 µm"), {"answer": "12.4 um"}, '{"answer": 12.5}',
     json.dumps({"role": "assistant", "content": "It is 12.5 µm wide."}),
     json.dumps({"role": "assistant", "content": None, "tool_calls": [
         {"id": "c1", "type": "function",
          "function": {"name": "submit_answer", "arguments": '{"value": 12.5, "unit": "µm"}'}}]})],
    ids=["FinalAnswer", "dict", "json-number", "assistant-text", "submit_answer-call"],
)
def test_answer_forms_are_graded(tiny_dataset: Path, action: object) -> None:
    env = CSMBenchEnv(tiny_dataset)
    env.reset(options={"item_id": "num-1"})
    _, reward, terminated, truncated, info = env.step(action)
    assert (reward, terminated, truncated) == (1.0, True, False)
    assert info["record"].status == "answered" and info["record"].correct


def test_wrong_answer_scores_zero(tiny_dataset: Path) -> None:
    env = CSMBenchEnv(tiny_dataset)
    env.reset(options={"item_id": "mcq-1"})
    _, reward, terminated, _, info = env.step({"answer": "A"})
    assert reward == 0.0 and terminated and not info["record"].correct


@pytest.mark.parametrize(
    ("action", "message"),
    [("not json", "not valid JSON"), ("[1, 2]", "cannot use an action of type list"),
     ('{"foo": 1}', "none of which says what to do"), ('{"tool": 5}', "tool name must be"),
     ('{"tool": "x", "arguments": [1]}', "must be a JSON object"),
     ('{"value": NaN}', "NaN"), ("x" * 300_000, "limit is"), (12, "type int"),
     ('{"role": "assistant", "content": ""}', "neither tool_calls nor text")],
    ids=["text", "list", "no-verb", "tool-int", "args-list", "nan", "huge", "int", "empty-msg"],
)
def test_malformed_actions_are_error_observations(tiny_dataset: Path, action: object,
                                                  message: str) -> None:
    env = CSMBenchEnv(tiny_dataset)
    env.reset(options={"item_id": "num-1"})
    obs, reward, terminated, truncated, info = env.step(action)
    assert (reward, terminated, truncated) == (0.0, False, False)
    assert info["observation"].kind == "error" and message in info["observation"].error
    assert env.observation_space.contains(obs)


def test_tool_errors_keep_the_episode_going(tiny_dataset: Path) -> None:
    env = CSMBenchEnv(tiny_dataset)
    env.reset(options={"item_id": "num-1"})
    _, _, terminated, _, info = env.step(ToolCall(name="calibrate_scale_bar",
                                                  arguments={"image": "../../etc/passwd"}))
    result = info["observation"].tool_results[0]
    assert not terminated and not result.ok and "unknown attachment id" in result.error
    _, _, _, _, info = env.step({"tool": "calibrate_scale_bar", "arguments": {"image": "img0"}})
    result = info["observation"].tool_results[0]
    assert not result.ok and not result.internal_error  # a flat grey image has no bar
    _, reward, terminated, _, _ = env.step({"answer": "12.5 µm"})
    assert terminated and reward == 1.0


def test_step_budget_truncates(tiny_dataset: Path) -> None:
    env = CSMBenchEnv(tiny_dataset, max_steps=2)
    env.reset(options={"item_id": "num-1"})
    assert env.step("bad")[3] is False
    _, reward, terminated, truncated, info = env.step("bad")
    assert (reward, terminated, truncated) == (0.0, False, True)
    assert info["record"].status == "step_limit" and info["record"].steps == 2


def test_no_tools_ablation(tiny_dataset: Path) -> None:
    env = CSMBenchEnv(tiny_dataset, tools="none")
    _, info = env.reset(options={"item_id": "num-1"})
    assert [t["function"]["name"] for t in info["observation"].tools] == ["submit_answer"]
    _, _, _, _, info = env.step({"tool": "calibrate_scale_bar", "arguments": {"image": "img0"}})
    assert "not offered" in info["observation"].tool_results[0].error
    env.step({"answer": "1 µm"})
    assert env.record is not None and env.record.tools_offered == []


def test_unknown_tool_in_ablation_list_fails_early(tiny_dataset: Path) -> None:
    with pytest.raises(csmbench.RegistryError, match="Did you mean 'calibrate_scale_bar'"):
        CSMBenchEnv(tiny_dataset, tools=["calibrate_scale_barr"])


def test_parallel_tool_calls_in_one_message(tiny_dataset: Path) -> None:
    env = CSMBenchEnv(tiny_dataset)
    env.reset(options={"item_id": "num-1"})
    calls = [{"id": f"c{i}", "type": "function",
              "function": {"name": "nope", "arguments": "{}"}} for i in range(2)]
    _, _, _, _, info = env.step(json.dumps({"role": "assistant", "tool_calls": calls}))
    assert [r.call_id for r in info["observation"].tool_results] == ["c0", "c1"]


def test_step_after_end_is_an_error_not_a_crash(tiny_dataset: Path) -> None:
    env = CSMBenchEnv(tiny_dataset)
    env.reset(options={"item_id": "num-1"})
    env.step({"answer": "12.5 µm"})
    _, reward, terminated, _, info = env.step({"answer": "12.5 µm"})
    assert terminated and reward == 0.0 and "episode is over" in info["observation"].error


def test_list_answers_become_values() -> None:
    from csmbench.env._actions import parse_action, submit_answer_schema

    assert parse_action({"answer": [28.44, 47.3]}).values == [28.44, 47.3]
    call = {"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {
        "name": "submit_answer", "arguments": '{"values": [1.5, 2.5], "unit": "deg"}'}}]}
    answer = parse_action(call)
    assert answer.values == [1.5, 2.5] and answer.unit == "deg"
    assert "values" in submit_answer_schema()["function"]["parameters"]["properties"]
