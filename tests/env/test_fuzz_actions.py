"""Fuzzing ``env.step`` with hostile actions (hypothesis, derandomized).

Properties, checked on every step: no exception escapes; a bad action becomes an error
observation that says what was wrong (and, where there is one, what to do); the episode stays
consistent (step count, budget, flags, info, the recorded trajectory, a record that survives
JSON); valid tool calls and answers after hostile ones still work and grade right; and no file
outside the dataset and the env's output folder is opened, written or listed during a step
(``sys.addaudithook``; Python's own imports are the one, narrow, exception).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import sysconfig
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import gymnasium
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import csmbench
import csmbench.env
import csmbench.episodes
import csmbench.graders
import csmbench.tools
from csmbench.env import CSMBenchEnv, EpisodeRecord, Observation
from csmbench.env._actions import (
    MAX_ACTION_CHARS,
    MAX_ANSWER_CHARS,
    MAX_CALLS_PER_STEP,
    MAX_NESTING,
    MAX_UNIT_CHARS,
)
from csmbench.env._env import MAX_ERROR_CHARS, MAX_OBSERVATION_CHARS
from csmbench.episodes import FinalAnswer, Item, ToolCall
from csmbench.tools import REGISTRY

COUNTS = {"scale_bar.pixel_size": 2, "xrd.strongest_d": 1, "grains.mean_intercept": 1}
"""The fuzzed dataset: two image items, a diffraction item (two attachments), a grain item."""
MAX_STEPS = 23
"""Step budget of the fuzzed env: hostile sequences run 22-25 actions, so some end open
(closed by ``stop``), some exactly at the budget, and some step on after the end."""
FUZZ = settings(derandomize=True, database=None, deadline=None, print_blob=False,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.large_base_example])
"""Reproducible in CI: a fixed example sequence, no example database, no per-example deadline.
No shrinking: an example is a whole episode, shrinking one takes minutes, and the failing
example is printed as drawn (its actions are short to read anyway)."""
STEPS: Counter[str] = Counter()
"""``env.step`` calls per test (each test asserts its share of the 10,000 hostile actions)."""

BASE_ARGUMENTS: dict[str, dict[str, Any]] = {
    "calibrate_scale_bar": {"image": "img0"},
    "estimate_grain_size": {"image": "img0", "nm_per_pixel": 100.0},
    "find_peaks": {"pattern": "xrd0"},
    "identify_elements": {"spectrum": "xrd0"},
    "measure_lattice_spacing": {"image": "img0", "nm_per_pixel": 0.05},
    "fit_lattice": {"peaks_two_theta": [28.44, 47.3, 56.1], "crystal_system": "cubic"},
    "identify_phase": {"peaks_two_theta": [28.44, 47.3], "peaks_intensity": [100.0, 55.0]},
    "lookup_crystal": {"query": "Si"},
    "lookup_hall_petch": {"material": "copper"},
    "scherrer_size": {"two_theta_deg": 30.0, "fwhm_deg": 0.2},
    "williamson_hall": {"two_theta_deg": [28.4, 47.3, 56.1], "fwhm_deg": [0.2, 0.25, 0.3]},
}
"""Well-typed arguments of every tool, which the fuzzer corrupts one field at a time."""
HOSTILE_IDS = (
    "../../etc/passwd", "../../../../../../../../etc/passwd", "/etc/passwd", "/etc/shadow",
    "/proc/self/environ", "/dev/zero", "/dev/stdin", "~", "~/", "~/.ssh/id_rsa",
    "~root/.bashrc", "$HOME/.bashrc", "${HOME}", "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..%2f..%2fetc%2fpasswd", "%252e%252e%252fetc", "..%c0%af..%c0%afetc%c0%afpasswd",
    "....//....//etc/passwd", "..\\..\\windows\\win.ini", "C:\\Windows\\win.ini",
    "\\\\server\\share\\x", "file:///etc/passwd", "http://169.254.169.254/latest/meta-data/",
    "img0/../../../etc/passwd", "./img0", "img0/", "img0 ", " img0", "IMG0", "img0\x00",
    "img0\x00.png", "img0 -> /etc/passwd", "link:img0", "assets", "assets/", ".", "..", "",
    "*", "img*", "manifest.json", "items.jsonl", "../manifest.json", "out0", "out1", "out-1",
    "\u202eimg0", "img0\u200b", "\uff49\uff4d\uff47\uff10", "i\u0307mg0", "xrd0;rm -rf /",
)
"""Attachment ids an agent may try: traversal, absolute paths, home, URL-encoded traversal,
symlink-ish and look-alike names (the per-item strategy adds the items' real paths and the
other items' ids)."""
ODD_CHARACTERS = ("\x00", "\u202e", "\u200f", "\u200b", "\ufeff", "\U0001f9ea",
                  "\U0001f469\u200d\U0001f52c", "e\u0301", "\U0010fffd", "\x7f", "\u2028", "\u00b5")
"""NUL, RTL override and mark, zero-width space, BOM, emoji (and a ZWJ sequence), combining
accent, a private-use plane character, DEL, line separator, micro sign."""
BAD_ARGUMENT_VALUES = ("abc", "", 1.5, 7, -3, True, None, [], [1.5], ["x"], {}, {"a": 1},
                       [[1, 2]], "cubicc")
"""Candidate wrong values for a tool parameter; each parameter keeps those its schema rejects."""
NOT_A_NUMBER_TOKENS = ("NaN", "Infinity", "-Infinity")
OVERFLOWING_LITERALS = ("1e999", "-1e400", "2e308")
"""JSON numbers that Python reads as infinities."""


# -- the audit: every file a step touches --------------------------------------------------
@dataclass
class FileAudit:
    """Files opened, listed, created, removed or renamed while ``recording`` (an audit hook)."""

    recording: bool = False
    events: list[tuple[str, str, str]] = field(default_factory=list)
    """(event, "read" | "write" | "forbidden", absolute path)"""

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.recording:
            return
        self.recording = False  # the hook's own filesystem calls are not audited
        try:
            self.events.extend(_file_accesses(event, args))
        finally:
            self.recording = True

    def take(self) -> list[tuple[str, str, str]]:
        events, self.events = self.events, []
        return events


_WRITE_EVENTS = {"os.mkdir", "os.remove", "os.rmdir", "os.rename", "os.symlink", "os.link",
                 "os.truncate", "os.chmod", "os.chown", "os.utime", "shutil.rmtree",
                 "shutil.move", "shutil.copytree", "tempfile.mkstemp", "tempfile.mkdtemp",
                 "sqlite3.connect"}
_READ_EVENTS = {"os.listdir", "os.scandir", "os.walk", "glob.glob", "shutil.copyfile"}
_FORBIDDEN_EVENTS = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.fork",
                     "socket.connect", "socket.bind", "urllib.Request", "os.chdir"}
"""Nothing a step does should start a process, touch the network or change the directory."""
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _file_accesses(event: str, args: tuple[Any, ...]) -> Iterator[tuple[str, str, str]]:
    if event in _FORBIDDEN_EVENTS:
        yield event, "forbidden", repr(args)[:200]
    elif event == "open":
        path, mode, flags = (list(args) + [None, None, None])[:3]
        writes = (any(c in str(mode or "") for c in "wax+")
                  or (isinstance(flags, int) and flags & _WRITE_FLAGS))
        yield from _paths(event, "write" if writes else "read", [path])
    elif event in _WRITE_EVENTS or event in _READ_EVENTS:
        access = "write" if event in _WRITE_EVENTS else "read"
        yield from _paths(event, access, list(args[:2]) if event in
                          {"os.rename", "os.symlink", "os.link", "shutil.copyfile",
                           "shutil.move", "shutil.copytree"} else list(args[:1]))


def _paths(event: str, access: str, candidates: list[Any]) -> Iterator[tuple[str, str, str]]:
    for path in candidates:
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if isinstance(path, str | os.PathLike) and str(path) not in {"", ":memory:"}:
            yield event, access, os.path.realpath(os.path.abspath(path))


AUDIT = FileAudit()
sys.addaudithook(AUDIT.hook)  # hooks cannot be removed; it records only while a step runs


def _import_roots() -> tuple[Path, ...]:
    """Where Python imports code from: the standard library, site-packages and csmbench.

    A step may import a module the first time a code path runs (scipy's submodules on the
    first peak fit, a grader's helper module), and compile its bytecode into ``__pycache__``;
    that is the interpreter loading code, not the env reading an agent-chosen file.
    """
    paths = sysconfig.get_paths()
    roots = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    packages = (csmbench, csmbench.env, csmbench.tools, csmbench.episodes, csmbench.graders)
    roots |= {str(Path(p.__file__).parent) for p in packages}
    return tuple(Path(os.path.realpath(r)) for r in roots)


_CODE_SUFFIXES = (".py", ".pyc", ".so")


def _allowed(access: str, path: str, dataset: Path, outputs: Path) -> bool:
    """A step may read the dataset and the output folder, write only the output folder, and
    let Python import code (read sources and directories, write ``__pycache__`` bytecode)."""
    where = Path(path)
    if access == "forbidden":
        return False
    if where.is_relative_to(outputs):
        return True
    if access == "read" and where.is_relative_to(dataset):
        return True
    if any(where.is_relative_to(root) for root in _import_roots()):
        if access == "read":
            return where.suffix in _CODE_SUFFIXES or where.is_dir()
        return where.parent.name == "__pycache__" and ".pyc" in where.name
    return False


# -- fixtures --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small generated dataset of :data:`COUNTS` (built once for this module)."""
    from csmbench.episodes.generators import build_dataset

    root = build_dataset(tmp_path_factory.mktemp("fuzz") / "data", counts=COUNTS, seed=11,
                         workers=1)
    return Path(os.path.realpath(root))


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(os.path.realpath(tmp_path_factory.mktemp("fuzz-outputs")))


@pytest.fixture(scope="module")
def items(dataset: Path) -> list[Item]:
    return list(CSMBenchEnv(dataset).dataset.items)


# -- the expected episode, and the checks of each step ---------------------------------------
@dataclass(frozen=True)
class Hostile:
    """An action and what the env must answer: an error observation ("error"), or tool
    results that are all errors ("tool_error"); the error text contains every ``says``."""

    action: Any
    outcome: Literal["error", "tool_error"]
    says: tuple[str, ...] = ()

    def __repr__(self) -> str:  # a failing example prints its actions: keep huge ones short
        action = repr(self.action)
        shown = action if len(action) <= 300 else f"{action[:300]}...({len(action)} chars)"
        return f"Hostile({shown}, {self.outcome!r}, {self.says!r})"


@dataclass
class Episode:
    """What the env's episode must look like: steps taken, how it ended, what each step got."""

    max_steps: int
    steps: int = 0
    ended: Literal["", "answered", "step_limit"] = ""
    trajectory: list[tuple[str | None, list[Any]]] = field(default_factory=list)
    """Per step: the error text, and the tool results."""


StepResult = tuple[str, float, bool, bool, dict[str, Any]]


def _audited_step(env: CSMBenchEnv, action: Any, test: str, dataset: Path, outputs: Path
                  ) -> tuple[StepResult, list[tuple[str, str, str]]]:
    """``env.step`` under the file audit, with what it touched; fails on any file access
    outside the allowance."""
    AUDIT.take()
    AUDIT.recording = True
    try:
        result = env.step(action)
    finally:
        AUDIT.recording = False
    STEPS[test] += 1
    events = AUDIT.take()
    outside = [e for e in events if not _allowed(e[1], e[2], dataset, outputs)]
    assert not outside, f"a step touched files outside the dataset and outputs: {outside[:5]}"
    return result, events


def _step(env: CSMBenchEnv, action: Any, test: str, dataset: Path, outputs: Path) -> StepResult:
    return _audited_step(env, action, test, dataset, outputs)[0]


def _no_constant(name: str) -> Any:
    raise AssertionError(f"observation JSON holds {name}")


def _check_text(obs: str, observation: Observation) -> None:
    """The observation is strict JSON in the observation space and says what
    ``info["observation"]`` says.

    Strict JSON has no raw control characters, so ASCII without DEL is within the space's
    printable charset (a cheap equivalent of ``observation_space.contains``).
    """
    assert isinstance(obs, str) and len(obs) <= MAX_OBSERVATION_CHARS
    assert obs.isascii() and "\x7f" not in obs
    shown = json.loads(obs, parse_constant=_no_constant)
    assert (shown["kind"], shown["step"], shown["steps_left"], shown["error"]) == (
        observation.kind, observation.step, observation.steps_left, observation.error)
    assert [r["error"] for r in shown["tool_results"]] == [r.error for r in
                                                          observation.tool_results]


def _check_clear(error: str | None, says: tuple[str, ...]) -> None:
    """An error an agent can act on: present, bounded, naming the problem, no Python internals."""
    assert error and error.strip()
    assert len(error) <= MAX_ERROR_CHARS + 40
    assert "Traceback" not in error and "set_int_max_str_digits" not in error
    for part in says:
        assert part in error, f"{part!r} not in error {error[:300]!r}"


def _check_step(env: CSMBenchEnv, episode: Episode, hostile: Hostile, result: StepResult
                ) -> None:
    obs, reward, terminated, truncated, info = result
    observation = info["observation"]
    _check_text(obs, observation)
    assert observation is env.observation and reward == 0.0
    if episode.ended:
        _check_after_end(env, episode, observation, terminated, truncated, info)
        return
    episode.steps += 1
    assert observation.step == episode.steps
    assert observation.steps_left == max(episode.max_steps - episode.steps, 0)
    assert not terminated and truncated == (episode.steps >= episode.max_steps)
    if truncated:
        episode.ended = "step_limit"
        assert info["record"] is env.record and env.record.status == "step_limit"
    else:
        assert "record" not in info and env.record is None
    if hostile.outcome == "error":
        assert observation.kind == "error" and observation.tool_results == []
        _check_clear(observation.error, hostile.says)
    else:
        assert observation.kind == "tool_results" and observation.error is None
        assert observation.tool_results
        for tool_result in observation.tool_results:
            assert not tool_result.ok and not tool_result.internal_error
            _check_clear(tool_result.error, hostile.says)
    episode.trajectory.append((observation.error, list(observation.tool_results)))


def _check_after_end(env: CSMBenchEnv, episode: Episode, observation: Observation,
                     terminated: bool, truncated: bool, info: dict[str, Any]) -> None:
    """Stepping a finished episode: a clear error, the end flags repeated, nothing recorded."""
    assert observation.kind == "error" and "episode is over" in observation.error
    assert "reset()" in observation.error
    assert (terminated, truncated) == (episode.ended == "answered", episode.ended != "answered")
    assert observation.step == episode.steps and info["record"] is env.record
    assert env.record.steps == episode.steps


def _check_record(env: CSMBenchEnv, episode: Episode) -> EpisodeRecord:
    """The record (the env's, or ``stop``'s for an open episode) keeps every step as seen,
    and survives a JSON round trip (what the runner writes to ``episodes.jsonl``)."""
    record = env.record if episode.ended else env.stop("error", "end of the fuzz example")
    assert record.status == (episode.ended or "error")
    assert record.steps == episode.steps == len(record.trajectory)
    assert [s.index for s in record.trajectory] == list(range(episode.steps))
    assert [(s.error, s.results) for s in record.trajectory[:len(episode.trajectory)]] == \
        episode.trajectory
    assert EpisodeRecord.model_validate_json(record.model_dump_json()) == record
    return record


# -- strategies of hostile actions ----------------------------------------------------------
_ODD_TEXT = st.lists(st.one_of(st.sampled_from(ODD_CHARACTERS),
                               st.characters(blacklist_categories=("Cs",))),
                     max_size=6).map("".join)
_TEXT = st.one_of(st.text(st.characters(blacklist_categories=("Cs",)), max_size=8),
                  st.sampled_from(ODD_CHARACTERS), _ODD_TEXT)
"""Short text of any valid Unicode, odd characters favoured (kept short: generating text is
what costs most here)."""
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                     st.floats(allow_nan=False, allow_infinity=False), _TEXT)
_ARGUMENTS = st.dictionaries(_TEXT, _SCALARS, max_size=2)
_FORMS_HINT = "Send a JSON object"
_EXTRA_ARGUMENT = ("lookup_hall_petch: invalid arguments", "Extra inputs", "Expected parameters")
_NOT_OFFERED = ("is not offered in this episode", "offered: calibrate_scale_bar", "submit_answer")


def _json_ascii(action: Any) -> str:
    return json.dumps(action)


def _json_unicode(action: Any) -> str:
    return json.dumps(action, ensure_ascii=False)


def _as_is(action: Any) -> Any:
    return action


def _hostile(cases: st.SearchStrategy[tuple[Any, tuple[str, ...]]],
             outcome: Literal["error", "tool_error"] = "error") -> st.SearchStrategy[Hostile]:
    """``(action, says)`` cases, dict actions also sent as JSON text."""
    encodings = st.sampled_from([_as_is, _json_ascii, _json_unicode])
    return st.tuples(cases, encodings).map(lambda t: Hostile(
        t[1](t[0][0]) if isinstance(t[0][0], dict) else t[0][0], outcome, t[0][1]))


def _message(calls: list[tuple[Any, Any]], call_ids: list[str] | None = None) -> dict[str, Any]:
    """An OpenAI assistant message with ``(name, arguments)`` calls (arguments as JSON text
    when they are a dict, as given otherwise)."""
    ids = call_ids or [f"call_{i}" for i in range(len(calls))]
    return {"role": "assistant", "content": None, "tool_calls": [
        {"id": i, "type": "function", "function": {
            "name": name, "arguments": json.dumps(args) if isinstance(args, dict) else args}}
        for i, (name, args) in zip(ids, calls, strict=True)]}


def _invalid_json() -> st.SearchStrategy[Hostile]:
    valid = st.sampled_from(['{"tool": "find_peaks", "arguments": {"pattern": "xrd0"}}',
                             '{"answer": "5.9 nm/px"}', '{"role": "assistant", "content": "x"}'])
    prefix = st.tuples(valid, st.integers(1, 40)).map(lambda t: t[0][:min(t[1], len(t[0]) - 1)])
    broken = st.one_of(
        prefix, valid.map(lambda v: v + " x"), valid.map(lambda v: v.replace('"', "'")),
        valid.map(lambda v: v[:-1] + ",}"), valid.map(lambda v: "// c\n" + v),
        st.tuples(st.sampled_from("xX<@#%}]:,'"), _TEXT).map("".join),
        st.integers(1000, 5_000).map(lambda n: "[" * n))
    return broken.map(lambda text: Hostile(text, "error", ("not valid JSON", _FORMS_HINT)))


def _wrong_types() -> st.SearchStrategy[Hostile]:
    python = st.one_of(
        st.integers(), st.floats(), st.booleans(), st.none(), st.binary(max_size=20),
        st.sets(st.integers(), max_size=3), st.frozensets(st.integers(), max_size=3),
        st.tuples(_SCALARS), st.complex_numbers(), st.builds(object), st.just(Ellipsis),
        st.lists(_SCALARS, max_size=4), st.builds(range, st.integers(0, 5)))
    json_text = st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                          st.booleans(), st.none(), st.lists(_SCALARS, max_size=4)).map(json.dumps)
    says = ("cannot use an action of type", _FORMS_HINT)
    return st.one_of(python, json_text).map(lambda a: Hostile(a, "error", says))


def _no_verb() -> st.SearchStrategy[Hostile]:
    verbs = {"tool", "name", "tool_calls", "role", "answer", "text", "value", "values", "unit",
             "choice"}
    keys = _TEXT.filter(lambda k: k not in verbs)
    says = ("none of which says what to do", _FORMS_HINT)
    return _hostile(st.dictionaries(keys, _SCALARS, max_size=4).map(lambda d: (d, says)))


def _unknown_name() -> st.SearchStrategy[str]:
    known = {*REGISTRY.names, "submit_answer"}
    return st.one_of(_TEXT, _ODD_TEXT, st.sampled_from(["find_peak", "FIND_PEAKS", "os.system",
                                                        "__import__", "eval", " find_peaks"]),
                     st.integers(201, 3000).map(lambda n: "t" * n)).filter(
        lambda n: bool(n) and n[:200] not in known)


def _unknown_tools() -> st.SearchStrategy[Hostile]:
    calls = st.tuples(_unknown_name(), _ARGUMENTS)
    forms = st.one_of(
        calls.map(lambda t: {"tool": t[0], "arguments": t[1]}),
        calls.map(lambda t: {"name": t[0], "arguments": t[1]}),
        calls.map(lambda t: ToolCall(name=t[0], arguments=t[1])),
        st.lists(calls.map(lambda t: ToolCall(name=t[0], arguments=t[1])), min_size=1,
                 max_size=2),
        st.lists(calls, min_size=1, max_size=2).map(_message))
    return _hostile(forms.map(lambda a: (a, _NOT_OFFERED)), "tool_error")


def _huge() -> st.SearchStrategy[Hostile]:
    over = st.integers(1, 5_000).map(lambda k: MAX_ACTION_CHARS + k)
    text = st.one_of(
        over.map(lambda n: "x" * n), over.map(lambda n: json.dumps({"answer": "1" * n})),
        over.map(lambda n: " " * n + '{"tool": "find_peaks", "arguments": {"pattern": "xrd0"}}'))
    long_answer = st.integers(1, 5_000).map(
        lambda k: {"answer": "5 nm " * (MAX_ANSWER_CHARS // 5) + "x" * k})
    long_unit = st.integers(1, 5_000).map(
        lambda k: {"value": 1.0, "unit": "(" * (MAX_UNIT_CHARS + k) + "nm"})
    long_name = st.integers(201, 5_000).map(lambda n: {"tool": "z" * n})
    long_argument = st.integers(MAX_ERROR_CHARS, 3 * MAX_ERROR_CHARS).map(
        lambda n: {"tool": "lookup_hall_petch", "arguments": {"material": "x", "y" * n: 1}})
    return st.one_of(
        text.map(lambda a: Hostile(a, "error", ("characters long; the limit is",
                                                str(MAX_ACTION_CHARS)))),
        long_answer.map(lambda a: Hostile(a, "error", (f"the limit is {MAX_ANSWER_CHARS}",))),
        long_unit.map(lambda a: Hostile(a, "error", (f"the limit is {MAX_UNIT_CHARS}",))),
        long_name.map(lambda a: Hostile(a, "tool_error", _NOT_OFFERED)),
        long_argument.map(lambda a: Hostile(a, "tool_error", _EXTRA_ARGUMENT)))


_NON_FINITE_TEMPLATES = (
    '{"value": %s}', '{"answer": %s}', '{"values": [1, %s]}', '{"value": 1, "x": %s}',
    '{"tool": "scherrer_size", "arguments": {"two_theta_deg": %s, "fwhm_deg": 0.2}}',
    '{"tool": "nope", "arguments": {"a": [[%s]]}}',
    json.dumps(_message([("find_peaks", '{"pattern": "xrd0", "x": %s}')])))
"""JSON actions with a number slot: answers, tool arguments, a call's arguments text."""
_NON_FINITE_PLACES: tuple[Callable[[Any], Any], ...] = (
    lambda x: {"value": x}, lambda x: {"answer": x}, lambda x: {"answer": [1.0, x]},
    lambda x: {"values": [x]},
    lambda x: {"tool": "scherrer_size", "arguments": {"two_theta_deg": x, "fwhm_deg": 0.2}},
    lambda x: {"tool": "williamson_hall",
               "arguments": {"two_theta_deg": [20.0, x], "fwhm_deg": [1, 2]}},
    lambda x: ToolCall(name="lookup_hall_petch", arguments={"material": "copper", "k": [x]}),
    lambda x: FinalAnswer(value=x if isinstance(x, float) else math.nan))
"""Python actions with a number slot (dicts are not bound by JSON's grammar)."""


def _non_finite() -> st.SearchStrategy[Hostile]:
    templates = st.sampled_from(_NON_FINITE_TEMPLATES)
    tokens = st.tuples(templates, st.sampled_from(NOT_A_NUMBER_TOKENS)).map(
        lambda t: Hostile(t[0] % t[1], "error", ("not a valid number",)))
    overflow = st.tuples(templates, st.sampled_from(OVERFLOWING_LITERALS)).map(
        lambda t: Hostile(t[0] % t[1], "error", ("not finite",)))
    bad = st.sampled_from([math.nan, math.inf, -math.inf, 10**400, -(10**309)])
    python = st.tuples(st.sampled_from(_NON_FINITE_PLACES), bad).map(
        lambda t: Hostile(t[0](t[1]), "error", ("not finite",)))
    return st.one_of(tokens, overflow, python)


_TEXT_PLACES: tuple[Callable[[str], Any], ...] = (
    lambda s: {"tool": s}, lambda s: {"tool": "find_peaks", "arguments": {"pattern": s}},
    lambda s: {"tool": "nope", "arguments": {s: 1}}, lambda s: {"tool": "nope", "id": s},
    lambda s: {"answer": s}, lambda s: {"value": 1.0, "unit": s}, lambda s: {"choice": s},
    lambda s: _message([("find_peaks", {"pattern": s})]), lambda s: ToolCall(name=s),
    lambda s: FinalAnswer(text=s))
"""Everywhere an action carries text: names, ids, argument keys and values, answers."""


def _surrogates() -> st.SearchStrategy[Hostile]:
    text = st.tuples(_TEXT, st.characters(whitelist_categories=("Cs",)), _TEXT).map("".join)
    placed = st.tuples(st.sampled_from(_TEXT_PLACES), text).map(lambda t: t[0](t[1]))
    return _hostile(placed.map(lambda a: (a, ("lone surrogate", "valid UTF-8"))))


def _nested(depth: int, leaf: Any = 1) -> Any:
    """A list nested ``depth`` deep, built without recursion."""
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


_DEEP_TEXTS: tuple[Callable[[int], str], ...] = (
    lambda d: '{"tool": "find_peaks", "arguments": {"pattern": ' + "[" * d + "]" * d + "}}",
    lambda d: "{" + '"a": {' * d + "}" * d + "}",
    lambda d: json.dumps(_message([("find_peaks", '{"x": ' + "[" * d + "]" * d + "}")])))
_DEEP_OBJECTS: tuple[Callable[[int], Any], ...] = (
    lambda d: {"tool": "find_peaks", "arguments": {"pattern": _nested(d)}},
    lambda d: {"tool": _nested(d, "find_peaks")}, lambda d: {"answer": _nested(d, 1.0)},
    lambda d: ToolCall(name="lookup_hall_petch", arguments={"material": _nested(d, "copper")}),
    lambda d: {"role": "assistant", "tool_calls": _nested(d)})


def _deep() -> st.SearchStrategy[Hostile]:
    says = (f"more than {MAX_NESTING} levels deep",)
    json_depth = st.integers(MAX_NESTING + 1, 300)  # deeper: json's own recursion error
    text = st.tuples(st.sampled_from(_DEEP_TEXTS), json_depth).map(lambda t: t[0](t[1]))
    python = st.tuples(st.sampled_from(_DEEP_OBJECTS), st.integers(MAX_NESTING + 8, 400)).map(
        lambda t: t[0](t[1]))
    return st.one_of(text, python).map(lambda a: Hostile(a, "error", says))


_MUST_BE = ("'answer' must be text, a number or a list of numbers",)
_MALFORMED = ("answer is malformed", "Send {")
_WRONG_SHAPES = (
    ({"answer": None}, _MUST_BE), ({"answer": True}, _MUST_BE), ({"value": "abc"}, _MALFORMED),
    ({"values": "x"}, _MALFORMED), ({"values": [1, "x"]}, _MALFORMED),
    ({"choice": 5}, _MALFORMED), ({"unit": [], "value": 1}, _MALFORMED),
    ({"text": 5}, _MALFORMED), ({"value": True}, ("not true or false",)),
    ({"answer": [1.0, False]}, ("not true or false",)), ({"answer": ""}, ("the answer is empty",)),
    ({"text": "  \n "}, ("the answer is empty",)), (FinalAnswer(), ("the answer is empty",)),
    ({"values": ["nan"]}, ("not finite",)), ({"value": "-inf", "unit": "nm"}, ("not finite",)),
    ({"role": "assistant", "content": "   "}, ("neither tool_calls nor",)))
"""Answers of the wrong shape, and what the error must say."""


def _wrong_shape_answers() -> st.SearchStrategy[Hostile]:
    cases = st.one_of(
        st.dictionaries(_TEXT, _SCALARS, max_size=3).map(lambda d: ({"answer": d}, _MUST_BE)),
        st.sampled_from(_WRONG_SHAPES),
        st.lists(st.text("xyz", max_size=5), min_size=4, max_size=50).map(
            lambda v: ({"values": v}, ("answer is malformed", "more)"))))
    return _hostile(cases)


_TOO_MANY = (f"the limit is {MAX_CALLS_PER_STEP}",)
_BAD_MESSAGES = (
    ({"role": "assistant", "tool_calls": {"a": 1}}, ("'tool_calls' must be a list",)),
    ({"role": "assistant", "tool_calls": "find_peaks"}, ("'tool_calls' must be a list",)),
    ({"role": "assistant", "tool_calls": [5]}, ("has no 'function' object",)),
    ({"tool_calls": [{"id": "c"}]}, ("has no 'function' object",)),
    (_message([(None, {})]), ("tool name must be a non-empty string",)),
    (_message([("", {})]), ("tool name must be a non-empty string",)),
    (_message([(5, {})]), ("tool name must be a non-empty string",)),
    (_message([("find_peaks", "[1, 2]")]), ("must be a JSON object",)),
    (_message([("find_peaks", '"xrd0"')]), ("must be a JSON object",)),
    (_message([("find_peaks", "{'pattern': 'xrd0'}")]), ("not valid JSON",)),
    (_message([("find_peaks", 5)]), ("must be a JSON object",)),
    (_message([("submit_answer", {"value": 1.0}), ("find_peaks", {"pattern": "xrd0"})]),
     ("must be the only call in its message",)),
    (_message([("submit_answer", {"value": "x"})]), ("answer is malformed",)),
    (_message([("submit_answer", "{}")]), ("the answer is empty",)))
"""Malformed OpenAI assistant messages, and what the error must say."""


def _bad_messages() -> st.SearchStrategy[Hostile]:
    many = st.integers(MAX_CALLS_PER_STEP + 1, 80)
    cases = st.one_of(st.sampled_from(_BAD_MESSAGES),
                      many.map(lambda n: (_message([("nope", {})] * n), _TOO_MANY)),
                      many.map(lambda n: ([ToolCall(name="nope")] * n, _TOO_MANY)))
    return _hostile(cases)


def _rejected_values(name: str, parameter: str) -> list[Any]:
    """Values of :data:`BAD_ARGUMENT_VALUES` that the tool's schema rejects for ``parameter``."""
    model, base = REGISTRY.get(name).arguments, BASE_ARGUMENTS[name]
    rejected = []
    for value in BAD_ARGUMENT_VALUES:
        try:
            model.model_validate({**base, parameter: value})
        except ValidationError:
            rejected.append(value)
    return rejected


def _corrupted_arguments(name: str) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    """Arguments of tool ``name`` with an extra, a missing or a wrongly typed parameter."""
    base, fields = BASE_ARGUMENTS[name], REGISTRY.get(name).arguments.model_fields
    required = [p for p, f in fields.items() if f.is_required()]
    wrong = [(p, v) for p in fields for v in _rejected_values(name, p)]
    extra = st.tuples(_TEXT.filter(lambda k: k not in fields), _SCALARS).map(
        lambda kv: {**base, kv[0]: kv[1]})
    missing = st.sampled_from(required).map(lambda p: {k: v for k, v in base.items() if k != p})
    typed = st.sampled_from(wrong).map(lambda pv: {**base, pv[0]: pv[1]})
    return st.one_of(extra, missing, typed).map(lambda args: (name, args))


_CALL_FORMS: tuple[Callable[[tuple[str, dict[str, Any]]], Any], ...] = (
    lambda p: {"tool": p[0], "arguments": p[1]}, lambda p: ToolCall(name=p[0], arguments=p[1]),
    lambda p: _message([p]))


def _wrong_arguments() -> st.SearchStrategy[Hostile]:
    """Real tools with an extra, a missing or a wrongly typed argument (never run)."""
    pairs = st.one_of([_corrupted_arguments(name) for name in sorted(BASE_ARGUMENTS)])
    cases = st.tuples(pairs, st.sampled_from(_CALL_FORMS)).map(
        lambda t: (t[1](t[0]), (f"{t[0][0]}: invalid arguments", "Expected parameters")))
    return _hostile(cases, "tool_error")


def _hostile_ids(item: Item, items: list[Item], dataset: Path, outputs: Path) -> list[str]:
    """Ids that are not attachments of ``item``: :data:`HOSTILE_IDS`, the real files' paths,
    and the other items' attachment ids."""
    own = {a.id for a in item.attachments}
    paths = [p for a in item.attachments for p in (a.path, str(dataset / a.path))]
    others = [a.id for other in items for a in other.attachments]
    candidates = [*HOSTILE_IDS, *paths, *others, str(dataset), str(outputs), item.id]
    return sorted({c for c in candidates if c not in own})


_SEGMENTS = ("..", ".", "~", "etc", "passwd", "%2e%2e", "%2f", "..%2f", "img0", "xrd0", "assets",
             "", "\\", "..\\", "%00", "file:")
"""Pieces of traversal paths, joined by "/" or by nothing."""


def _attachment_attacks(ids: list[str], own: set[str]) -> st.SearchStrategy[Hostile]:
    """Every tool that takes an attachment, with an id that is not one (the rest well typed)."""
    tools = sorted(n for n in REGISTRY.names if REGISTRY.get(n).attachment_params)
    composed = st.tuples(st.lists(st.sampled_from(_SEGMENTS), min_size=2, max_size=8),
                         st.sampled_from(["/", ""])).map(lambda t: t[1].join(t[0]))
    hostile_id = st.one_of(st.sampled_from(ids), composed.filter(lambda s: s not in own))

    def call(pair: tuple[str, str]) -> tuple[str, dict[str, Any]]:
        name, asset = pair
        return name, {**BASE_ARGUMENTS[name], REGISTRY.get(name).attachment_params[0]: asset}

    says = ("unknown attachment id", "Pass the id, not a file path")
    cases = st.tuples(st.tuples(st.sampled_from(tools), hostile_id).map(call),
                      st.sampled_from(_CALL_FORMS)).map(lambda t: (t[1](t[0]), says))
    return _hostile(cases, "tool_error")


def hostile_kinds(item: Item, items: list[Item], dataset: Path, outputs: Path
                  ) -> list[st.SearchStrategy[Hostile]]:
    """Every kind of hostile action, for an episode on ``item``."""
    ids = _hostile_ids(item, items, dataset, outputs)
    return [_invalid_json(), _wrong_types(), _no_verb(), _unknown_tools(), _huge(),
            _non_finite(), _surrogates(), _deep(), _wrong_shape_answers(), _bad_messages(),
            _wrong_arguments(), _attachment_attacks(ids, {a.id for a in item.attachments})]


def draw_hostile(data: st.DataObject, kinds: list[st.SearchStrategy[Hostile]],
                 length: tuple[int, int], label: str) -> list[Hostile]:
    """A sequence of hostile actions that cycles through every kind, in an order set by a
    drawn offset and stride (``one_of`` alone would favour its first branches)."""
    count = data.draw(st.integers(*length), label=f"{label}: count")
    strides = [k for k in range(1, len(kinds)) if math.gcd(k, len(kinds)) == 1]
    offset = data.draw(st.integers(0, len(kinds) - 1), label=f"{label}: first kind")
    stride = data.draw(st.sampled_from(strides), label=f"{label}: stride")
    sequence = st.tuples(*(kinds[(offset + i * stride) % len(kinds)] for i in range(count)))
    return list(data.draw(sequence, label=label))


# -- the tests -------------------------------------------------------------------------------
def test_every_tool_has_fuzz_arguments() -> None:
    """The fuzzer corrupts well-typed arguments of every registered tool (add new tools here)."""
    assert set(BASE_ARGUMENTS) == set(REGISTRY.names)
    for name, arguments in BASE_ARGUMENTS.items():
        REGISTRY.get(name).arguments.model_validate(arguments)
        assert _rejected_values(name, next(iter(arguments)))


# Actions per test, at least: 380 x 22 (hostile) + 70 x 17 (valid) + 90 x 8 (messages) =
# 10,270 steps of the env; each test asserts its share (about 11,200 run in all).
HOSTILE_EXAMPLES = 380
HOSTILE_LENGTH = (22, 25)


def test_hostile_actions_become_clear_errors(dataset: Path, outputs: Path,
                                             items: list[Item]) -> None:
    """Sequences of hostile actions: each is a clear error, the episode stays consistent, its
    record keeps every step, and stepping past the budget repeats how the episode ended."""
    env = CSMBenchEnv(dataset, max_steps=MAX_STEPS, output_dir=outputs)
    kinds = {item.id: hostile_kinds(item, items, dataset, outputs) for item in items}

    @settings(FUZZ, max_examples=HOSTILE_EXAMPLES)
    @given(st.data())
    def run(data: st.DataObject) -> None:
        item = data.draw(st.sampled_from(items), label="item")
        env.reset(options={"item_id": item.id})
        actions = draw_hostile(data, kinds[item.id], HOSTILE_LENGTH, "action")
        episode = Episode(MAX_STEPS)
        for hostile in actions:
            result = _step(env, hostile.action, "hostile", dataset, outputs)
            _check_step(env, episode, hostile, result)
        _check_record(env, episode)

    run()
    assert STEPS["hostile"] >= HOSTILE_EXAMPLES * HOSTILE_LENGTH[0]


def _valid_call() -> st.SearchStrategy[tuple[dict[str, Any], Callable[[], dict[str, Any]]]]:
    """A cheap, valid tool call (no file involved), and the content it must contain, from a
    direct call of the Python function."""
    hall_petch = st.sampled_from(["copper", "nickel", "mild steel", "titanium"]).map(
        lambda m: ({"tool": "lookup_hall_petch", "arguments": {"material": m}},
                   lambda: csmbench.tools.lookup_hall_petch(m).model_dump(mode="json")))
    scherrer = st.tuples(st.floats(20, 120), st.floats(0.1, 2.0)).map(
        lambda t: ({"tool": "scherrer_size", "arguments": {"two_theta_deg": t[0],
                                                           "fwhm_deg": t[1]}},
                   lambda: {"size_nm": csmbench.tools.scherrer_size(t[0], t[1])}))
    return st.one_of(hall_petch, scherrer)


def _answer_forms(value: float, unit: str) -> st.SearchStrategy[Any]:
    text = f"{value!r} {unit}"
    return st.sampled_from([
        {"answer": text}, json.dumps({"value": value, "unit": unit}),
        FinalAnswer(text=text, value=value, unit=unit),
        json.dumps({"role": "assistant", "content": f"The result is {text}."}),
        json.dumps(_message([("submit_answer", {"value": value, "unit": unit})]))])


VALID_EXAMPLES = 70
VALID_BEFORE, VALID_AFTER = (10, 14), (4, 6)


def test_valid_calls_and_answers_work_after_hostile_ones(dataset: Path, outputs: Path,
                                                         items: list[Item]) -> None:
    """Hostile actions, a valid tool call (same result as a direct call), more hostile actions,
    then a valid answer: right answers score 1, wrong ones 0, the record says so, and a hostile
    action after the answer changes nothing."""
    env = CSMBenchEnv(dataset, max_steps=64, output_dir=outputs)
    kinds = {item.id: hostile_kinds(item, items, dataset, outputs) for item in items}

    @settings(FUZZ, max_examples=VALID_EXAMPLES)
    @given(st.data())
    def run(data: st.DataObject) -> None:
        item = data.draw(st.sampled_from(items), label="item")
        env.reset(options={"item_id": item.id})
        episode = Episode(64)
        before = draw_hostile(data, kinds[item.id], VALID_BEFORE, "before")
        for hostile in before:
            _check_step(env, episode, hostile, _step(env, hostile.action, "valid", dataset,
                                                     outputs))
        call, expected = data.draw(_valid_call(), label="call")
        _, reward, terminated, truncated, info = _step(env, call, "valid", dataset, outputs)
        (result,) = info["observation"].tool_results
        assert result.ok and (reward, terminated, truncated) == (0.0, False, False)
        assert expected().items() <= result.content.items()
        episode.steps += 1
        episode.trajectory.append((None, [result]))
        after = draw_hostile(data, kinds[item.id], VALID_AFTER, "after")
        for hostile in after:
            _check_step(env, episode, hostile, _step(env, hostile.action, "valid", dataset,
                                                     outputs))
        right = data.draw(st.booleans(), label="right")
        value = item.answer.value * (1.0 if right else 3.0)
        answer = data.draw(_answer_forms(value, item.answer.unit), label="answer")
        _, reward, terminated, truncated, info = _step(env, answer, "valid", dataset, outputs)
        assert (reward, terminated, truncated) == (1.0 if right else 0.0, True, False)
        episode.steps += 1
        episode.ended = "answered"
        record = _check_record(env, episode)
        assert info["record"] is record and record.correct is right
        assert info["observation"].kind == "done"
        late = data.draw(kinds[item.id][0], label="after the answer")
        _check_step(env, episode, late, _step(env, late.action, "valid", dataset, outputs))
        assert env.record is record

    run()
    assert STEPS["valid"] >= VALID_EXAMPLES * (VALID_BEFORE[0] + VALID_AFTER[0] + 3)


MESSAGE_EXAMPLES = 90
MESSAGES_PER_EXAMPLE = (8, 10)


def test_assistant_messages_mixing_valid_and_hostile_calls(dataset: Path, outputs: Path,
                                                           items: list[Item]) -> None:
    """Parallel calls in one OpenAI message: each answered under its own id, in order; the
    valid ones run, every hostile one is a clear error, and none hides another."""
    env = CSMBenchEnv(dataset, max_steps=64, output_dir=outputs)

    @settings(FUZZ, max_examples=MESSAGE_EXAMPLES)
    @given(st.data())
    def run(data: st.DataObject) -> None:
        item = data.draw(st.sampled_from(items), label="item")
        env.reset(options={"item_id": item.id})
        ids = _hostile_ids(item, items, dataset, outputs)
        hostile = st.one_of(
            st.tuples(_unknown_name(), _ARGUMENTS).map(lambda t: (t, _NOT_OFFERED)),
            st.sampled_from(ids).map(lambda i: (("find_peaks", {"pattern": i}),
                                                ("unknown attachment id",))),
            st.sampled_from(sorted(BASE_ARGUMENTS)).map(
                lambda n: ((n, {**BASE_ARGUMENTS[n], "evil": "../../etc/passwd"}),
                           ("invalid arguments", "evil"))))
        valid = _valid_call().map(lambda c: ((c[0]["tool"], c[0]["arguments"]), None))
        call = st.one_of(hostile, hostile, hostile, valid)
        messages = data.draw(st.lists(st.lists(call, min_size=1, max_size=6),
                                      min_size=MESSAGES_PER_EXAMPLE[0],
                                      max_size=MESSAGES_PER_EXAMPLE[1]), label="messages")
        for step, calls in enumerate(messages, start=1):
            call_ids = [f"m{step}c{i}" for i in range(len(calls))]
            action = _message([c for c, _ in calls], call_ids)
            obs, reward, terminated, truncated, info = _step(env, json.dumps(action), "messages",
                                                             dataset, outputs)
            observation = info["observation"]
            _check_text(obs, observation)
            assert (reward, terminated, truncated, observation.step) == (0.0, False, False, step)
            assert [r.call_id for r in observation.tool_results] == call_ids
            for tool_result, (_, says) in zip(observation.tool_results, calls, strict=True):
                assert tool_result.ok is (says is None) and not tool_result.internal_error
                if says is not None:
                    _check_clear(tool_result.error, says)
        record = env.stop("error", "end of the fuzz example")
        assert record.steps == len(messages) == len(record.trajectory)

    run()
    assert STEPS["messages"] >= MESSAGE_EXAMPLES * MESSAGES_PER_EXAMPLE[0]


def test_real_tools_touch_only_the_dataset_and_the_outputs(dataset: Path, outputs: Path,
                                                           items: list[Item]) -> None:
    """Real tool runs, with hostile calls around them: reading the pattern opens exactly the
    dataset's file, the grain overlay is written into the output folder and becomes
    ``out1``, and ids or paths pointing at the overlay are still rejected."""
    env = CSMBenchEnv(dataset, max_steps=32, output_dir=outputs)
    item = next(i for i in items if i.family == "xrd.strongest_d")
    env.reset(options={"item_id": item.id})
    (_, _, _, _, info), events = _audited_step(
        env, {"tool": "find_peaks", "arguments": {"pattern": "xrd0"}}, "real", dataset, outputs)
    opened = {path for _, access, path in events if access == "read"}
    assert info["observation"].tool_results[0].ok
    assert str(dataset / item.attachments[0].path) in opened  # the audit sees the real read
    site_packages = sysconfig.get_paths()["purelib"]
    for access, path in (("read", "/etc/passwd"), ("write", str(dataset / "items.jsonl")),
                         ("write", f"{site_packages}/pint/__init__.py"),
                         ("read", f"{site_packages}/pint/default_en.txt"),
                         ("forbidden", str(outputs))):
        assert not _allowed(access, path, dataset, outputs)  # the allowance stays narrow

    grains = next(i for i in items if i.family == "grains.mean_intercept")
    env.reset(options={"item_id": grains.id})
    call = {"tool": "estimate_grain_size",
            "arguments": {"image": "img0", "nm_per_pixel": 185.0, "overlay": True}}
    (_, _, _, _, info), events = _audited_step(env, call, "real", dataset, outputs)
    written = {path for _, access, path in events if access == "write"}
    (result,) = info["observation"].tool_results
    overlay = Path(info["observation"].attachments[-1].path)
    assert result.ok and result.attachments == ["out1"] and overlay.is_file()
    assert overlay.is_relative_to(outputs) and str(overlay) in written

    for asset in (str(overlay), str(overlay.relative_to(outputs)), "out1/../../etc/passwd",
                  "../" + overlay.name, "out2", "OUT1"):
        _, _, _, _, info = _step(env, {"tool": "find_peaks", "arguments": {"pattern": asset}},
                                 "real", dataset, outputs)
        assert "unknown attachment id" in info["observation"].tool_results[0].error
    _, _, _, _, info = _step(env, {"tool": "find_peaks", "arguments": {"pattern": "out1"}},
                             "real", dataset, outputs)  # the overlay is an input now
    (result,) = info["observation"].tool_results
    assert not result.ok and not result.internal_error and "no data rows" in result.error


def test_symlinked_asset_pointing_outside_is_refused(dataset: Path, tmp_path: Path) -> None:
    """A dataset whose attachment is a symlink to a file outside it (same bytes, so it loads):
    the tool refuses it and the outside file is never opened by the step."""
    root = tmp_path / "data"
    shutil.copytree(dataset, root)
    item = next(i for i in CSMBenchEnv(root).dataset.items if i.family == "xrd.strongest_d")
    inside = root / item.attachments[0].path
    outside = tmp_path / "outside.xy"
    shutil.move(inside, outside)
    inside.symlink_to(outside)
    env = CSMBenchEnv(root, output_dir=tmp_path / "outputs")
    env.reset(options={"item_id": item.id})
    _, _, _, _, info = _step(env, {"tool": "find_peaks", "arguments": {"pattern": "xrd0"}},
                             "symlink", root.resolve(), (tmp_path / "outputs").resolve())
    (result,) = info["observation"].tool_results
    assert not result.ok and not result.internal_error
    assert "points outside the dataset" in result.error


def test_registry_reports_deep_or_huge_arguments_as_the_agents_mistake(dataset: Path) -> None:
    """Without the env's checks (a direct registry call), a deeply nested or huge argument is
    still a bounded ToolError, not an internal error from ``repr``."""
    context = csmbench.tools.ToolContext(dataset, {})
    for arguments in ({"pattern": _nested(5_000)}, {"pattern": "xrd0", "k" * 100_000: 1}):
        result = REGISTRY.call(ToolCall(name="find_peaks", arguments=arguments), context)
        assert not result.ok and not result.internal_error
        assert "find_peaks: invalid arguments" in result.error and len(result.error) < 1_000


def test_step_before_reset_raises_the_documented_error(dataset: Path) -> None:
    """gymnasium's contract: ``step`` before ``reset`` raises ``ResetNeeded``; everything after
    ``reset`` is an observation (stepping a finished episode: see the hostile test)."""
    env = CSMBenchEnv(dataset)
    with pytest.raises(gymnasium.error.ResetNeeded, match="reset"):
        env.step({"answer": "1 nm/px"})


def test_answer_text_that_exhausts_pints_parser_is_graded(dataset: Path, outputs: Path,
                                                          items: list[Item]) -> None:
    """An answer text of 1 KB ("5 ----...nm") is graded (as unparseable or wrong), not raised."""
    env = CSMBenchEnv(dataset, output_dir=outputs)
    env.reset(options={"item_id": items[0].id})
    _, reward, terminated, _, _ = env.step({"answer": "5 " + "-" * 1000 + "nm"})
    assert terminated and reward == 0.0


@pytest.mark.parametrize("text", ["5 nm**9**9**9", "5 9**999999999", "5 9**(9*9*9*9*9*9*9*9*9*9)"])
def test_power_towers_are_graded_not_evaluated(dataset: Path, outputs: Path, items: list[Item],
                                               text: str) -> None:
    """A dozen characters that pint would evaluate with huge integers (hours, gigabytes) end
    the episode as a wrong answer at once."""
    env = CSMBenchEnv(dataset, output_dir=outputs)
    env.reset(options={"item_id": items[0].id})
    _, reward, terminated, _, _ = env.step({"answer": text})
    assert terminated and reward == 0.0
