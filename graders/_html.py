"""One self-contained HTML report of one or more runs: tables, plots and a trajectory viewer.

Everything is inline: CSS in a <style>, plots and images as ``data:`` URLs, no script, nothing
fetched from the network, so the file can be mailed or archived on its own. Sections:

- results: accuracy [95% bootstrap interval] (n) by scale, difficulty, family, answer type;
- tool uplift, for each two runs where one offered strictly more tools (paired by item);
- outcomes (correct, wrong, unparseable, limits, errors), tool calls and model usage;
- plots: accuracy by scale, uplift by family, the distribution of numeric relative errors;
- trajectories: one collapsible entry per item with its question and attachments (images
  downscaled to ``THUMB_WIDTH_PX``, patterns drawn), then each run's episodes side by side:
  tool calls and results, images the tools wrote, the answer, its grades and usage.

To keep the file a sane size, all items are shown when there are at most ``MAX_ITEMS``;
otherwise the first ``HEAD_ITEMS`` (by id) and then the items some run did not get right, up
to ``MAX_ITEMS`` in all. The report says how many were left out.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from csmbench.errors import CSMBenchError

from ._metrics import OUTCOMES, outcome, uplift
from ._plots import accuracy_by_scale_png, numeric_error_png, pattern_png, uplift_by_family_png
from ._report import UPLIFT_HEADERS, RunResults, _rows, tool_pairs, uplift_rows

if TYPE_CHECKING:
    from csmbench.env import EpisodeRecord
    from csmbench.episodes import Asset, Item

__all__ = ["html_report", "write_html_report"]

MAX_ITEMS = 300
HEAD_ITEMS = 100
THUMB_WIDTH_PX = 480
MAX_TEXT_CHARS = 4000
"""Tool results and questions longer than this are cut in the viewer."""
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp"})
e = html.escape

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1400px}
h1{margin-top:0}table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:2px 8px;font-size:13px}td.num{text-align:right}
th{background:#eef}figure{display:inline-block;margin:.3em}figcaption{font-size:12px}
img.plot{border:1px solid #ddd}details.item{border:1px solid #ccc;margin:.4em 0;padding:.3em}
details.item>summary{cursor:pointer;font-weight:600}
.runs{display:grid;gap:.8em}.episode{border-left:4px solid #999;padding-left:.6em}
.episode.correct{border-color:#2a2}.episode.wrong{border-color:#c33}
pre{background:#f6f6f6;padding:4px;white-space:pre-wrap;font-size:12px;max-height:20em;
overflow:auto}.badge{font-size:12px;padding:0 6px;border-radius:8px;margin-left:4px}
.badge.correct{background:#cec}.badge.other{background:#ecc}.call b{color:#036}
.result.failed pre{background:#fee}.question{white-space:pre-wrap}
"""


def _data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def thumbnail(path: Path, width: int = THUMB_WIDTH_PX) -> bytes | None:
    """The image at ``path`` as a JPEG at most ``width`` pixels wide (16-bit and float images
    stretched to 8 bits); None when it cannot be read."""
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ("I;16", "I;16B", "I", "F"):
                array = np.asarray(image, dtype=float)
                span = float(np.ptp(array)) or 1.0
                image = Image.fromarray(((array - array.min()) / span * 255).astype(np.uint8))
            image = image.convert("RGB")
            image.thumbnail((width, 4 * width))
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=80)
            return buffer.getvalue()
    except (OSError, UnidentifiedImageError, ValueError):
        return None


def _figure(src: str, caption: str, css: str = "thumb") -> str:
    return (f'<figure><img class="{css}" src="{src}" alt="{e(caption)}">'
            f"<figcaption>{e(caption)}</figcaption></figure>")


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric_from: int,
           css: str) -> str:
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f'<td{" class=num" if i >= numeric_from else ""}>{e(c)}</td>'
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f'<table class="{css}"><tr>{head}</tr>{body}</table>'


def _results_section(runs: Sequence[RunResults]) -> str:
    summaries = {run.name: run.summary for run in runs}
    rows = [(g, n, *cells) for g, n, cells in _rows(summaries)]
    return ('<section id="results"><h2>Results</h2><p>Accuracy [95% bootstrap interval] '
            "(episodes).</p>" + _table(["group", "name", *summaries], rows, 2, "results")
            + "</section>")


def _uplift_section(runs: Sequence[RunResults]) -> str:
    parts = [f"<h3>{e(more.name)} vs {e(fewer.name)}</h3>"
             + _table(UPLIFT_HEADERS, uplift_rows(more, fewer), 2, "uplift")
             for more, fewer in tool_pairs(runs)]
    if not parts:
        return ""
    return ('<section id="uplift"><h2>Tool uplift</h2><p>Mean answer score with tools minus '
            "without, epochs averaged per item, over the items both runs have; 95% paired "
            "bootstrap interval over items.</p>" + "".join(parts) + "</section>")


def _outcome_section(runs: Sequence[RunResults]) -> str:
    headers = ["run", *OUTCOMES, "tool calls", "failed calls", "model calls", "tokens", "seconds"]
    rows = []
    for run in runs:
        usage = [r.usage for r in run.records if r.usage is not None]
        calls = run.summary.get("tool_calls", {})
        rows.append([run.name, *(str(run.summary.get("outcomes", {}).get(o, 0)) for o in OUTCOMES),
                     str(calls.get("total", 0)), str(calls.get("failed", 0)),
                     str(sum(u.model_calls for u in usage)),
                     str(sum(u.total_tokens for u in usage)),
                     f"{sum(r.seconds for r in run.records):.1f}"])
    return ('<section id="outcomes"><h2>Outcomes</h2>' + _table(headers, rows, 1, "outcomes")
            + "</section>")


def _plots_section(runs: Sequence[RunResults]) -> str:
    pairs = [(f"{more.name} - {fewer.name}", uplift(more.records, fewer.records))
             for more, fewer in tool_pairs(runs)]
    plots = [("plot-accuracy-by-scale", "Accuracy by scale", accuracy_by_scale_png(runs)),
             ("plot-uplift-by-family", "Tool uplift by family",
              uplift_by_family_png(pairs) if pairs else None),
             ("plot-numeric-errors", "Relative error of numeric answers", numeric_error_png(runs))]
    figures = [f'<figure id="{key}"><img class="plot" src="{_data_url(png, "image/png")}" '
               f'alt="{e(caption)}"><figcaption>{e(caption)}</figcaption></figure>'
               for key, caption, png in plots if png is not None]
    return '<section id="plots"><h2>Plots</h2>' + "".join(figures) + "</section>"


class _Datasets:
    """The items of the datasets the runs used (run.json's ``dataset``), loaded once each."""

    def __init__(self) -> None:
        self._loaded: dict[str, tuple[Path, dict[str, Item]] | None] = {}

    def item(self, run: RunResults, item_id: str) -> tuple[Path, Item] | None:
        from csmbench.episodes import load_dataset  # the dataset format; loaded lazily

        root = str(run.config.get("dataset", ""))
        if root not in self._loaded:
            try:
                dataset = load_dataset(Path(root), verify=False) if root else None
            except (OSError, ValueError, CSMBenchError):  # a moved or deleted dataset
                dataset = None
            self._loaded[root] = ((dataset.root, {i.id: i for i in dataset.items})
                                  if dataset else None)
        found = self._loaded[root]
        return (found[0], found[1][item_id]) if found and item_id in found[1] else None


def _attachment(root: Path, asset: Asset) -> str:
    path = root / asset.path
    caption = f"{asset.id} ({asset.kind})"
    if path.suffix.lower() in IMAGE_SUFFIXES and (jpeg := thumbnail(path)):
        return _figure(_data_url(jpeg, "image/jpeg"), caption)
    if asset.kind in ("pattern", "spectrum") and (png := pattern_png(path, caption)):
        return _figure(_data_url(png, "image/png"), caption)
    return f"<figure><figcaption>{e(caption)}: {e(asset.path)}</figcaption></figure>"


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, indent=1, ensure_ascii=False)
    cut = len(text) > MAX_TEXT_CHARS
    return e(text[:MAX_TEXT_CHARS]) + (" ... (cut)" if cut else "")


def _steps(record: EpisodeRecord) -> str:
    items = []
    for step in record.trajectory:
        parts = [f'<div class="call"><b>{e(c.name)}</b> <code>{e(c.id)}</code>'
                 f"<pre>{_text(c.arguments)}</pre></div>" for c in step.calls]
        parts += [f'<div class="result {"ok" if r.ok else "failed"}">&rarr; {e(r.name)}'
                  f"{' (error)' if not r.ok else ''}"
                  f"<pre>{_text(r.content if r.ok else r.error)}</pre></div>" for r in step.results]
        if step.error:
            parts.append(f'<div class="result failed">action error<pre>{_text(step.error)}</pre></div>')
        if step.answer is not None:
            parts.append(f'<div class="submit">submit_answer: <code>{e(step.answer.text)}</code></div>')
        items.append(f'<li class="step">{"".join(parts)}</li>')
    return f'<ol class="steps">{"".join(items)}</ol>'


def _outputs(run: RunResults, record: EpisodeRecord) -> str:
    """Thumbnails of the images the episode's tools wrote (RUN/outputs/e<epoch>/<item>/)."""
    folder = (run.folder / "outputs" / f"e{record.epoch}"
              / re.sub(r"[^A-Za-z0-9._-]+", "_", record.item_id))
    paths = sorted(p for p in folder.glob("*") if p.suffix.lower() in IMAGE_SUFFIXES) \
        if folder.is_dir() else []
    figures = [_figure(_data_url(jpeg, "image/jpeg"), f"tool output {p.name}")
               for p in paths if (jpeg := thumbnail(p))]
    return f'<div class="outputs">{"".join(figures)}</div>' if figures else ""


def _grades(record: EpisodeRecord) -> str:
    if record.score is None:
        return f'<div class="grade">not graded: {e(record.status)} {e(record.error or "")}</div>'
    answer, trajectory = record.score.answer, record.score.trajectory
    text = f"answer score {answer.value:.2f} ({e(outcome(record))}): {e(answer.explanation)}"
    if trajectory is not None:
        text += f"<br>trajectory score {trajectory.value:.2f}: {e(trajectory.explanation)}"
    return f'<div class="grade">{text}</div>'


def _usage(record: EpisodeRecord) -> str:
    usage = record.usage
    spent = (f"; {usage.model_calls} model calls, {usage.prompt_tokens} + "
             f"{usage.completion_tokens} tokens"
             + (f", ${usage.cost_usd:.4f}" if usage.cost_usd is not None else "")
             if usage is not None else "")
    return f'<div class="usage">{record.steps} steps, {record.seconds:.2f} s{e(spent)}</div>'


def _episode(run: RunResults, record: EpisodeRecord) -> str:
    verdict = outcome(record)
    answer = e(record.answer.text) if record.answer is not None else "<i>no answer</i>"
    return (f'<div class="episode {"correct" if record.correct else "wrong"}">'
            f"<h4>{e(run.name)} &middot; epoch {record.epoch} &middot; {e(verdict)}</h4>"
            f"{_steps(record)}{_outputs(run, record)}"
            f'<div class="answer">Answer: <b>{answer}</b></div>{_grades(record)}{_usage(record)}'
            "</div>")


def _chosen_items(runs: Sequence[RunResults]) -> tuple[list[str], int]:
    """The item ids the viewer shows (see the module docstring) and how many it leaves out."""
    items = sorted({r.item_id for run in runs for r in run.records})
    if len(items) <= MAX_ITEMS:
        return items, 0
    missed = {r.item_id for run in runs for r in run.records if not r.correct}
    head = items[:HEAD_ITEMS]
    rest = [i for i in items[HEAD_ITEMS:] if i in missed][:MAX_ITEMS - HEAD_ITEMS]
    return head + rest, len(items) - len(head) - len(rest)


def _item_entry(item_id: str, runs: Sequence[RunResults],
                by_run: list[dict[str, list[EpisodeRecord]]], datasets: _Datasets,
                is_open: bool) -> str:
    records = [by_run[i].get(item_id, []) for i in range(len(runs))]
    first = next(r for rs in records for r in rs)
    badges = "".join(f'<span class="badge {"correct" if r.correct else "other"}">'
                     f"{e(run.name)}: {e(outcome(r))}</span>"
                     for run, rs in zip(runs, records, strict=True) for r in rs)
    found = next((datasets.item(run, item_id) for run in runs if datasets.item(run, item_id)), None)
    if found is not None:
        root, item = found
        head = (f'<div class="question">{_text(item.question)}</div>'
                f'<div class="attachments">{"".join(_attachment(root, a) for a in item.attachments)}</div>')
    else:
        head = "<p><i>question and attachments: the run's dataset is not at hand</i></p>"
    columns = "".join("<div>" + "".join(_episode(run, r) for r in rs) + "</div>"
                      for run, rs in zip(runs, records, strict=True))
    return (f'<details class="item" id="item-{e(item_id)}"{" open" if is_open else ""}>'
            f"<summary>{e(item_id)} &middot; {e(first.family)} &middot; {e(first.scale)}"
            f"{' &middot; ' + e(first.difficulty) if first.difficulty else ''}{badges}</summary>"
            f'{head}<div class="runs" style="grid-template-columns:repeat({len(runs)},1fr)">'
            f"{columns}</div></details>")


def _trajectory_section(runs: Sequence[RunResults]) -> str:
    chosen, left_out = _chosen_items(runs)
    by_run: list[dict[str, list[EpisodeRecord]]] = []
    for run in runs:
        grouped: dict[str, list[EpisodeRecord]] = defaultdict(list)
        for record in sorted(run.records, key=lambda r: r.epoch):
            grouped[record.item_id].append(record)
        by_run.append(grouped)
    datasets = _Datasets()
    note = (f"<p>{len(chosen)} items shown; {left_out} left out (the first {HEAD_ITEMS} by id "
            f"and those some run got wrong are kept, up to {MAX_ITEMS}).</p>" if left_out
            else f"<p>All {len(chosen)} items.</p>")
    entries = "".join(_item_entry(item_id, runs, by_run, datasets, index == 0)
                      for index, item_id in enumerate(chosen))
    return f'<section id="trajectories"><h2>Trajectories</h2>{note}{entries}</section>'


def html_report(runs: Sequence[RunResults], title: str = "csmbench report") -> str:
    """The whole report as one HTML string (see the module docstring)."""
    names = "".join(f"<li>{e(run.name)}: <code>{e(str(run.folder))}</code></li>" for run in runs)
    sections = [_results_section(runs), _uplift_section(runs), _outcome_section(runs),
                _plots_section(runs), _trajectory_section(runs)]
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{e(title)}'
            f"</title><style>{STYLE}</style></head><body><h1>{e(title)}</h1><ul>{names}</ul>"
            + "".join(sections) + "</body></html>\n")


def write_html_report(runs: Sequence[RunResults], path: Path, title: str = "csmbench report"
                      ) -> Path:
    """Write ``html_report(runs)`` to ``path`` (folders created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html_report(runs, title), encoding="utf-8")
    return path
