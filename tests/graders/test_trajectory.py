"""Trajectory grading on hand-made trajectories: golden milestone scores, minefields, call
checks, efficiency, tool-error rate, consistency, and the env wiring end to end."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from csmbench import RunConfig, build_dataset, evaluate, read_records
from csmbench.env import Step
from csmbench.episodes import (
    Asset,
    EpisodeScore,
    FinalAnswer,
    Formula,
    Item,
    Milestone,
    Numeric,
    Score,
    ToolCall,
    ToolResult,
)
from csmbench.graders._milestones import assign_milestones
from csmbench.graders._trajectory import combined_score, grade_trajectory

SHA = "0" * 64
CALIBRATE = Milestone(tool="calibrate_scale_bar", arguments={"image": "img0"})
MEASURE = Milestone(tool="estimate_grain_size", arguments={"image": "img0", "nm_per_pixel": 250.0},
                    rel_tol=0.02, after=[0])
REFERENCE = [ToolCall(name="calibrate_scale_bar", arguments={"image": "img0"}),
             ToolCall(name="estimate_grain_size", arguments={"image": "img0", "nm_per_pixel": 250.0})]
CALIBRATED = {"nm_per_pixel": 250.0, "value": 50.0, "unit": "µm", "bar_length_px": 200.0}
MEASURED = {"mean_intercept_um": 4.7583, "grains_per_mm2": 28754.0, "n_grains": 559}


def _item(milestones: list[Milestone] | None = None, answer: Any = None) -> Item:
    return Item(id="grains-0", source="generated", scale="Mesoscale", family="grains.mean_intercept",
                question="Mean linear intercept, in µm?",
                attachments=[Asset(id="img0", kind="image", path="assets/a.png", sha256=SHA),
                             Asset(id="xrd0", kind="pattern", path="assets/a.xy", sha256=SHA)],
                answer=answer or Numeric(value=4.76, unit="µm", rel_tol=0.05),
                reference=REFERENCE, milestones=[CALIBRATE, MEASURE] if milestones is None else milestones)


def _call(name: str, content: Any = None, *, ok: bool = True, internal: bool = False,
          **arguments: Any) -> tuple[ToolCall, ToolResult]:
    """One call and its result (content {} by default; ok=False: a rejected call)."""
    call = ToolCall(name=name, arguments=arguments)
    return call, ToolResult(call_id=call.id, name=name, ok=ok, internal_error=internal,
                            content=({} if content is None else content) if ok else None,
                            error=None if ok else "bad input")


def _trajectory(*pairs: tuple[ToolCall, ToolResult], answer: FinalAnswer | None = None) -> list[Step]:
    steps = []
    for index, (call, result) in enumerate(pairs):
        call = call.model_copy(update={"id": f"c{index}"})
        steps.append(Step(index=index, calls=[call],
                          results=[result.model_copy(update={"call_id": call.id})]))
    if answer is not None:
        steps.append(Step(index=len(steps), answer=answer))
    return steps


ANSWER = FinalAnswer(text="4.7583 µm", value=4.7583, unit="µm")


def _grade(*pairs: tuple[ToolCall, ToolResult], item: Item | None = None,
           answer: FinalAnswer | None = ANSWER) -> Score:
    score = grade_trajectory(item or _item(), _trajectory(*pairs, answer=answer), answer)
    assert score is not None
    return score


def _calibrate(**kw: Any) -> tuple[ToolCall, ToolResult]:
    return _call("calibrate_scale_bar", CALIBRATED, **({"image": "img0"} | kw))


def _measure(nm_per_pixel: float = 250.0, **kw: Any) -> tuple[ToolCall, ToolResult]:
    return _call("estimate_grain_size", MEASURED, **({"image": "img0", "nm_per_pixel": nm_per_pixel} | kw))


def _mines(score: Score) -> list[str]:
    return [m["name"] for m in score.metadata["minefields"]]


# -- milestone scoring (golden values computed by hand) -----------------------------------
def test_the_perfect_chain_scores_one() -> None:
    score = _grade(_calibrate(), _measure())
    assert score.value == 1.0 and score.correct
    assert score.metadata["milestones"] == [
        {"tool": "calibrate_scale_bar", "call": 0, "similarity": 1.0},
        {"tool": "estimate_grain_size", "call": 1, "similarity": 1.0}]
    assert score.metadata["minefields"] == [] and score.metadata["efficiency"] == 1.0


def test_a_missing_second_milestone_scores_half() -> None:
    score = _grade(_calibrate(), answer=FinalAnswer(text="50 µm"))
    assert score.value == pytest.approx(0.5) and not score.correct
    assert score.metadata["milestones"][1] == {"tool": "estimate_grain_size", "call": None,
                                               "similarity": 0.0}


def test_measuring_before_calibrating_credits_only_the_calibration() -> None:
    # measure (call 0) cannot serve milestone 1, which must follow milestone 0 (call 1): (1 + 0) / 2
    score = _grade(_measure(), _calibrate())
    assert score.value == pytest.approx(0.5)
    assert [m["call"] for m in score.metadata["milestones"]] == [1, None]


def test_measuring_again_after_calibrating_reaches_both() -> None:
    score = _grade(_measure(), _calibrate(), _measure(249.0))
    assert score.value == 1.0 and [m["call"] for m in score.metadata["milestones"]] == [1, 2]
    assert score.metadata["efficiency"] == pytest.approx(2 / 3)


def test_an_argument_off_its_tolerance_is_a_partial_match() -> None:
    # 260 is 4 % off 250 (rel_tol 2 %): image matches, nm_per_pixel does not -> (1 + 1/2) / 2
    score = _grade(_calibrate(), _measure(260.0))
    assert score.value == pytest.approx(0.75) and not score.correct
    assert score.metadata["milestones"][1]["similarity"] == pytest.approx(0.5)


def test_the_best_assignment_beats_the_greedy_one() -> None:
    # greedy would give the first (partial) measurement to milestone 1; the best takes the exact one
    score = _grade(_calibrate(), _measure(300.0), _measure(251.0))
    assert score.value == 1.0 and score.metadata["milestones"][1]["call"] == 2


def test_failed_calls_reach_no_milestone() -> None:
    score = _grade(_calibrate(), _measure(ok=False), _measure(251.0))
    assert score.value == 1.0 and [m["call"] for m in score.metadata["milestones"]] == [0, 2]


def test_a_partial_order_allows_any_order_of_independent_milestones() -> None:
    peaks = Milestone(tool="find_peaks", arguments={"pattern": "xrd0"})
    item = _item([CALIBRATE, peaks, MEASURE])
    score = _grade(_call("find_peaks", pattern="xrd0"), _calibrate(), _measure(), item=item)
    assert score.value == 1.0


def test_cyclic_milestones_are_rejected() -> None:
    cycle = [Milestone(tool="a", after=[1]), Milestone(tool="b", after=[0])]
    with pytest.raises(ValueError, match="cycle"):
        assign_milestones(cycle, [])


# -- minefields ---------------------------------------------------------------------------
def test_answering_without_measuring_zeroes_the_score() -> None:
    score = _grade()
    assert score.value == 0.0 and _mines(score) == ["answered_before_measuring"]
    assert score.metadata["efficiency"] == 1.0 and score.metadata["tool_error_rate"] is None


def test_a_failed_measurement_is_not_measuring() -> None:
    score = _grade(_calibrate(ok=False), _measure(ok=False, nm_per_pixel=250.0))
    assert "answered_before_measuring" in _mines(score)


def test_an_unanswered_episode_has_not_answered_too_early() -> None:
    score = _grade(answer=None)
    assert score.value == 0.0 and score.metadata["minefields"] == []


@pytest.mark.parametrize(("arguments", "reason"), [
    ({"image": "img7"}, "is not an attachment"),
    ({"image": "xrd0"}, "is a pattern, not a image"),
], ids=["unknown-id", "wrong-kind"])
def test_a_call_on_a_wrong_attachment_zeroes_the_score(arguments: dict, reason: str) -> None:
    score = _grade(_call("calibrate_scale_bar", ok=False, **arguments), _calibrate(), _measure())
    assert score.metadata["milestone_score"] == 1.0 and score.value == 0.0
    assert _mines(score) == ["wrong_attachment"]
    assert reason in score.metadata["minefields"][0]["detail"]


def test_another_image_than_the_milestones_fix_is_wrong() -> None:
    item = _item().model_copy(update={"attachments": [
        *_item().attachments, Asset(id="img1", kind="image", path="assets/b.png", sha256=SHA)]})
    score = _grade(_calibrate(image="img1"), _calibrate(), _measure(), item=item)
    assert _mines(score) == ["wrong_attachment"] and score.metadata["minefields"][0]["call"] == 0


def test_an_overlay_written_by_a_tool_is_an_attachment() -> None:
    call, result = _measure()
    overlay = (call, result.model_copy(update={"attachments": ["out1"]}))
    score = _grade(_calibrate(), overlay, _call("calibrate_scale_bar", image="out1"), item=_item(
        [CALIBRATE.model_copy(update={"arguments": {}}), MEASURE]))
    assert score.metadata["minefields"] == []


def test_repeating_a_failed_call_unchanged_zeroes_the_score() -> None:
    score = _grade(_measure(ok=False), _measure(ok=False), _calibrate(), _measure(251.0))
    assert _mines(score) == ["repeated_failed_call"] and score.value == 0.0
    assert score.metadata["minefields"][0]["call"] == 1 and score.metadata["milestone_score"] == 1.0
    changed = _grade(_measure(ok=False), _measure(251.0, ok=False), _calibrate(), _measure(249.0))
    assert changed.metadata["minefields"] == [] and changed.value == 1.0


def test_retrying_after_an_internal_error_is_allowed() -> None:
    score = _grade(_calibrate(ok=False, internal=True), _calibrate(), _measure())
    assert score.metadata["minefields"] == [] and score.value == 1.0
    assert score.metadata["call_checks"]["internal_error"] == 1
    assert score.metadata["tool_error_rate"] == 0.0


# -- call checks, efficiency, tool-error rate ---------------------------------------------
def test_the_call_check_taxonomy() -> None:
    score = _grade(
        _call("measure_everything", ok=False, image="img0"),                     # unknown_tool
        _call("estimate_grain_size", ok=False, image="img0"),                    # missing_required
        _call("estimate_grain_size", ok=False, image="img0", nm_per_pixel="x"),  # wrong_type
        _measure(method="linear", ok=False),                                     # out_of_range (enum)
        _calibrate(zoom=2, ok=False),                                            # unknown_argument
        _measure(251.0, ok=False),                                               # tool_error
        _calibrate(), _measure())
    checks = score.metadata["call_checks"]
    assert checks == {"ok": 2, "unknown_tool": 1, "missing_required": 1, "unknown_argument": 1,
                      "wrong_type": 1, "out_of_range": 1, "tool_error": 1, "internal_error": 0}
    kinds = [(e["call"], e["kind"]) for e in score.metadata["call_errors"]]
    assert kinds == [(0, "unknown_tool"), (1, "missing_required"), (2, "wrong_type"),
                     (3, "out_of_range"), (4, "unknown_argument"), (5, "tool_error")]
    assert "method" in score.metadata["call_errors"][3]["detail"]
    # 6 of 8 calls rejected; 2 reference calls of 8 made
    assert score.metadata["tool_error_rate"] == pytest.approx(6 / 8)
    assert score.metadata["efficiency"] == pytest.approx(2 / 8)
    assert score.value == 1.0


def test_a_string_for_a_number_is_a_wrong_type_even_when_the_tool_accepted_it() -> None:
    score = _grade(_calibrate(), _measure(nm_per_pixel="250"))
    assert score.metadata["call_checks"]["wrong_type"] == 1
    assert score.metadata["tool_error_rate"] == 0.0


def test_a_tool_not_offered_is_unknown() -> None:
    from csmbench.tools import ToolRegistry

    trajectory = _trajectory(_calibrate(), answer=ANSWER)
    score = grade_trajectory(_item(), trajectory, ANSWER, registry=ToolRegistry())
    assert score is not None and score.metadata["call_checks"]["unknown_tool"] == 1


# -- consistency ----------------------------------------------------------------------------
@pytest.mark.parametrize(("answer", "consistent"), [
    (FinalAnswer(text="4.76 µm"), True),                  # mean_intercept_um, within 5 % of 4.76
    (FinalAnswer(text="4758 nm"), True),                  # same number in another unit
    (FinalAnswer(text="6.1 µm"), False),                  # in no result
    (FinalAnswer(text="50 µm"), True),                    # the scale bar's value, unit beside it
    (FinalAnswer(text="no idea"), None),                  # unparseable
], ids=["same-unit", "converted", "absent", "sibling-unit", "unparseable"])
def test_numeric_consistency(answer: FinalAnswer, consistent: bool | None) -> None:
    score = _grade(_calibrate(), _measure(), answer=answer)
    assert score.metadata["consistency"] is consistent


def test_consistency_needs_a_result() -> None:
    score = _grade(_calibrate(ok=False))
    assert score.metadata["consistency"] is None


def test_formula_consistency() -> None:
    item = _item([Milestone(tool="identify_phase")], Formula(formula="TiO2", names=["anatase"]))
    result = {"phases": [{"formula": "TiO2", "name": "anatase", "score": 0.9}]}
    right = _grade(_call("identify_phase", result), item=item, answer=FinalAnswer(text="anatase"))
    wrong = _grade(_call("identify_phase", result), item=item, answer=FinalAnswer(text="ZnO"))
    assert right.metadata["consistency"] is True and wrong.metadata["consistency"] is False


# -- scores per episode ---------------------------------------------------------------------
def test_items_without_milestones_get_no_trajectory_score() -> None:
    assert grade_trajectory(_item([]), _trajectory(answer=ANSWER), ANSWER) is None


@pytest.mark.parametrize(("answer", "trajectory", "combined"), [
    (1.0, 1.0, 1.0), (1.0, 0.0, 0.5), (1.0, 0.5, 0.75), (0.0, 1.0, 0.0), (1.0, None, 1.0),
], ids=["both", "guess", "half-trajectory", "wrong-answer", "no-milestones"])
def test_combined_score(answer: float, trajectory: float | None, combined: float) -> None:
    score = EpisodeScore(answer=Score(value=answer, correct=answer == 1.0),
                         trajectory=None if trajectory is None else
                         Score(value=trajectory, correct=trajectory == 1.0))
    assert combined_score(score) == pytest.approx(combined)


def test_the_env_grades_trajectories_of_generated_items(tmp_path: Path) -> None:
    data = build_dataset(tmp_path / "d", counts={"scale_bar.pixel_size": 2,
                                                 "grains.mean_intercept": 1,
                                                 "xrd.cubic_lattice": 1}, seed=1)
    asyncio.run(evaluate(data, tmp_path / "run", RunConfig(agent="reference", tools="all")))
    records = read_records(tmp_path / "run")
    assert len(records) == 4
    for record in records:
        assert record.score is not None and record.score.trajectory is not None
        if record.score.answer.correct:
            assert record.score.trajectory.value == 1.0, record.score.trajectory.metadata
            assert record.score.trajectory.metadata["consistency"] is True
    asyncio.run(evaluate(data, tmp_path / "none", RunConfig(agent="no-tools", tools="none")))
    for record in read_records(tmp_path / "none"):
        trajectory = record.score.trajectory if record.score else None
        assert trajectory is not None and trajectory.value == 0.0
        assert "answered_before_measuring" in _mines(trajectory)


def test_an_angle_is_not_a_dimensionless_number() -> None:
    # pint converts 40.456 degree to 0.7061 (radians); a ratio answer must not match it
    item = _item([Milestone(tool="scherrer_size")], Numeric(value=0.7061, unit="", rel_tol=0.01))
    score = _grade(_call("scherrer_size", {"two_theta_deg": 40.456}), item=item,
                   answer=FinalAnswer(text="0.7061"))
    assert score.metadata["consistency"] is False
