"""Results tables for one or more runs (rich), in the terminal or as Markdown, and the tool
uplift between runs that differ in the tools they offered.

A run folder (``csmbench eval --out RUN``) loads as a ``RunResults``: its summary (recomputed
from ``episodes.jsonl`` so the intervals are there even for runs made before them), its
records and its config (``run.json``). Two runs pair up for an uplift table when one offered
strictly more tools than the other and they share items (``tool_pairs``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from csmbench.errors import CSMBenchError

from ._metrics import summarize, uplift

if TYPE_CHECKING:
    from csmbench.env import EpisodeRecord

__all__ = ["RunResults", "distinct_names", "load_run", "results_markdown", "results_table", "tool_pairs",
           "uplift_markdown", "uplift_table"]

Row = tuple[str, str, list[str]]


@dataclass(frozen=True)
class RunResults:
    """One run folder, loaded: its name for tables, summary, records and config."""

    name: str
    folder: Path
    summary: dict[str, Any]
    records: list[EpisodeRecord] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def tools(self) -> frozenset[str]:
        """The tools its episodes were offered (from the records; else run.json's setting)."""
        if self.records:
            return frozenset(t for r in self.records for t in r.tools_offered)
        return frozenset() if self.config.get("tools") == "none" else frozenset({"?"})


def load_run(folder: Path) -> RunResults:
    """Load a run folder; CSMBenchError when it has neither summary.json nor episodes.jsonl."""
    from csmbench._run import CONFIG, EPISODES, SUMMARY, read_records  # the front door's format

    folder = Path(folder)
    if not (folder / SUMMARY).is_file() and not (folder / EPISODES).is_file():
        raise CSMBenchError(f"{folder} has no summary.json; run `csmbench eval --out {folder}` "
                            "first")
    saved = _read_json(folder / SUMMARY)
    config = _read_json(folder / CONFIG) or saved.get("config", {})
    records = read_records(folder)
    summary = (summarize(records) | {"config": config}) if records else saved
    name = f"{config.get('agent', folder.name)} (tools={config.get('tools', '?')})"
    return RunResults(name, folder, summary, records, config)


def distinct_names(runs: Sequence[RunResults]) -> list[RunResults]:
    """The runs, a name that several share followed by its folder's name ("... [run-2]")."""
    counts = Counter(run.name for run in runs)
    return [replace(run, name=f"{run.name} [{run.folder.name}]") if counts[run.name] > 1 else run
            for run in runs]


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _cell(entry: Mapping[str, Any] | None) -> str:
    """``accuracy [95% interval, in %] (n)``, or "-" for a group the run does not have."""
    if not entry:
        return "-"
    interval = entry.get("ci95")
    ci = f" [{100 * interval[0]:.0f},{100 * interval[1]:.0f}]" if interval else ""
    return f"{entry['accuracy']:.1%}{ci} ({entry['n']})"


def _rows(summaries: Mapping[str, dict[str, Any]]) -> list[Row]:
    keys: list[tuple[str, str]] = [("overall", "overall")]
    order = {"easy": 0, "medium": 1, "hard": 2}
    for group in ("by_scale", "by_difficulty", "by_family", "by_answer_type"):
        names = sorted({name for s in summaries.values() for name in s.get(group, {})},
                       key=lambda name: (order.get(name, 3), name))
        keys += [(group, name) for name in names]
    rows = []
    for group, name in keys:
        cells = [_cell(summary["overall"] if group == "overall"
                       else summary.get(group, {}).get(name)) for summary in summaries.values()]
        rows.append((group.removeprefix("by_").replace("_", " "), name, cells))
    return rows[:1] + _score_rows(summaries) + rows[1:] + _repeat_rows(summaries)


def _score_rows(summaries: Mapping[str, dict[str, Any]]) -> list[Row]:
    """Mean answer score and, where graded, mean trajectory score, over all episodes."""
    rows = []
    for key, label in (("mean_score", "answer score"), ("mean_trajectory_score", "trajectory score")):
        if any(s["overall"].get(key) is not None for s in summaries.values()):
            rows.append(("overall", f"mean {label}",
                         [f"{s['overall'][key]:.3f}" if s["overall"].get(key) is not None else "-"
                          for s in summaries.values()]))
    return rows


def _repeat_rows(summaries: Mapping[str, dict[str, Any]]) -> list[Row]:
    """pass@k and pass^k rows, for runs with several epochs."""
    rows = []
    for key, label in (("pass_at_k", "pass@"), ("pass_hat_k", "pass^")):
        ks = sorted({k for s in summaries.values() for k in s.get(key, {})}, key=int)
        rows += [("repeats", f"{label}{k}", [f"{s[key][k]:.1%}" if k in s.get(key, {}) else "-"
                                             for s in summaries.values()]) for k in ks]
    return rows


def _table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]],
           right_from: int) -> Table:
    table = Table(title=title)
    for index, header in enumerate(headers):
        table.add_column(header, justify="right" if index >= right_from else "left",
                         overflow="fold", no_wrap=index >= right_from)
    for row in rows:
        table.add_row(*row)
    return table


def _markdown(headers: Sequence[str], rows: Sequence[Sequence[str]], right_from: int) -> str:
    rule = ["---:" if index >= right_from else "---" for index in range(len(headers))]
    lines = [f"| {' | '.join(headers)} |", f"|{'|'.join(rule)}|"]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    return "\n".join(lines) + "\n"


def results_table(summaries: Mapping[str, dict[str, Any]], title: str = "csmbench results") -> Table:
    """A table of accuracy [95% interval] (n) per group, one column per run."""
    return _table(title, ["group", "name", *summaries],
                  [(g, n, *cells) for g, n, cells in _rows(summaries)], right_from=2)


def results_markdown(summaries: Mapping[str, dict[str, Any]]) -> str:
    """The same table in Markdown."""
    return _markdown(["group", "name", *summaries],
                     [(g, n, *cells) for g, n, cells in _rows(summaries)], right_from=2)


def tool_pairs(runs: Sequence[RunResults]) -> list[tuple[RunResults, RunResults]]:
    """(more tools, fewer tools) for each two runs whose tool sets nest strictly and that
    share at least one item, in the order the runs were given."""
    pairs = []
    for more in runs:
        for fewer in runs:
            shared = {r.item_id for r in more.records} & {r.item_id for r in fewer.records}
            if fewer.tools < more.tools and "?" not in more.tools and shared:
                pairs.append((more, fewer))
    return pairs


UPLIFT_HEADERS = ("group", "name", "with tools", "without", "uplift", "95% CI", "items")


def uplift_rows(with_tools: RunResults, without: RunResults) -> list[tuple[str, ...]]:
    """Rows of the uplift table: overall, then by scale and by family (mean answer scores)."""
    result = uplift(with_tools.records, without.records)
    entries = [("overall", "overall", result["overall"])]
    entries += [(group.removeprefix("by_"), name, entry)
                for group in ("by_scale", "by_family") for name, entry in result[group].items()]
    return [(group, name, f"{e['with']:.3f}", f"{e['without']:.3f}", f"{e['uplift']:+.3f}",
             f"[{e['ci95'][0]:+.2f},{e['ci95'][1]:+.2f}]" if e["ci95"] else "-", str(e["n"]))
            for group, name, e in entries if e is not None]


def uplift_table(with_tools: RunResults, without: RunResults) -> Table:
    """Tool uplift of ``with_tools`` over ``without``, paired by item, as a rich table."""
    return _table(f"tool uplift: {with_tools.name} - {without.name} (mean score, paired by item)",
                  UPLIFT_HEADERS, uplift_rows(with_tools, without), right_from=2)


def uplift_markdown(with_tools: RunResults, without: RunResults) -> str:
    """The uplift table in Markdown, under a heading naming the two runs."""
    return (f"\n**Tool uplift: {with_tools.name} - {without.name}** (mean answer score, paired "
            "by item, 95% bootstrap interval)\n\n"
            + _markdown(UPLIFT_HEADERS, uplift_rows(with_tools, without), right_from=2))
