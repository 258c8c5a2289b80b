"""Results tables for one or more runs (rich), in the terminal or as Markdown."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.table import Table

__all__ = ["results_markdown", "results_table"]


def _rows(summaries: Mapping[str, dict[str, Any]]) -> list[tuple[str, str, list[str]]]:
    keys: list[tuple[str, str]] = [("overall", "overall")]
    for group in ("by_scale", "by_family", "by_answer_type"):
        names = sorted({name for s in summaries.values() for name in s.get(group, {})})
        keys += [(group, name) for name in names]
    rows = []
    for group, name in keys:
        cells = []
        for summary in summaries.values():
            entry = summary["overall"] if group == "overall" else summary.get(group, {}).get(name)
            cells.append(f"{entry['accuracy']:.1%} ({entry['n']})" if entry else "-")
        rows.append((group.removeprefix("by_").replace("_", " "), name, cells))
    return rows + _repeat_rows(summaries)


def _repeat_rows(summaries: Mapping[str, dict[str, Any]]) -> list[tuple[str, str, list[str]]]:
    """pass@k and pass^k rows, for runs with several epochs."""
    rows = []
    for key, label in (("pass_at_k", "pass@"), ("pass_hat_k", "pass^")):
        ks = sorted({k for s in summaries.values() for k in s.get(key, {})}, key=int)
        rows += [("repeats", f"{label}{k}", [f"{s[key][k]:.1%}" if k in s.get(key, {}) else "-"
                                             for s in summaries.values()]) for k in ks]
    return rows


def results_table(summaries: Mapping[str, dict[str, Any]], title: str = "csmbench results") -> Table:
    """A table of accuracy (n) per group, one column per run."""
    table = Table(title=title)
    table.add_column("group")
    table.add_column("name")
    for run in summaries:
        table.add_column(run, justify="right")
    for group, name, cells in _rows(summaries):
        table.add_row(group, name, *cells)
    return table


def results_markdown(summaries: Mapping[str, dict[str, Any]]) -> str:
    """The same table in Markdown."""
    lines = ["| group | name | " + " | ".join(summaries) + " |",
             "|---|---|" + "---:|" * len(summaries)]
    lines += [f"| {g} | {n} | " + " | ".join(cells) + " |" for g, n, cells in _rows(summaries)]
    return "\n".join(lines) + "\n"
