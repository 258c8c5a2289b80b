"""Milestone matching on hand-made trajectories: arguments, tolerances, order, failed calls."""

from __future__ import annotations

from csmbench.env import Step
from csmbench.episodes import Milestone, ToolCall, ToolResult
from csmbench.graders import milestones_reached, successful_calls

CALIBRATE = Milestone(tool="calibrate_scale_bar", arguments={"image": "img0"})
MEASURE = Milestone(tool="estimate_grain_size", arguments={"image": "img0", "nm_per_pixel": 250.0},
                    rel_tol=0.02, after=[0])


def _step(index: int, name: str, ok: bool = True, **arguments) -> Step:
    call = ToolCall(id=f"c{index}", name=name, arguments=arguments)
    result = ToolResult(call_id=call.id, name=name, ok=ok, content={} if ok else None,
                        error=None if ok else "bad input")
    return Step(index=index, calls=[call], results=[result])


def test_a_good_chain_reaches_both() -> None:
    calls = successful_calls([_step(0, "calibrate_scale_bar", image="img0"),
                              _step(1, "estimate_grain_size", image="img0", nm_per_pixel=253.0)])
    assert milestones_reached([CALIBRATE, MEASURE], calls) == [0, 1]


def test_numbers_outside_the_tolerance_and_other_images_do_not_count() -> None:
    calls = successful_calls([_step(0, "calibrate_scale_bar", image="img1"),
                              _step(1, "estimate_grain_size", image="img0", nm_per_pixel=260.0),
                              _step(2, "estimate_grain_size", image="img0", nm_per_pixel="250")])
    assert milestones_reached([CALIBRATE, MEASURE], calls) == [None, None]


def test_order_is_enforced() -> None:
    calls = successful_calls([_step(0, "estimate_grain_size", image="img0", nm_per_pixel=250.0),
                              _step(1, "calibrate_scale_bar", image="img0")])
    assert milestones_reached([CALIBRATE, MEASURE], calls) == [1, None]
    calls.append(ToolCall(id="c2", name="estimate_grain_size",
                          arguments={"image": "img0", "nm_per_pixel": 249.0}))
    assert milestones_reached([CALIBRATE, MEASURE], calls) == [1, 2]


def test_failed_calls_are_not_milestones() -> None:
    calls = successful_calls([_step(0, "calibrate_scale_bar", ok=False, image="img0")])
    assert calls == [] and milestones_reached([CALIBRATE], calls) == [None]


def test_booleans_are_not_numbers() -> None:
    flag = Milestone(tool="estimate_grain_size", arguments={"two_phase": True})
    count = Milestone(tool="identify_phase", arguments={"max_phases": 1})
    calls = [ToolCall(name="estimate_grain_size", arguments={"two_phase": 1}),
             ToolCall(name="identify_phase", arguments={"max_phases": True})]
    assert milestones_reached([flag, count], calls) == [None, None]
