"""The ``csmbench`` command line: build, eval, report, tool, mcp."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from csmbench.errors import CSMBenchError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  pretty_exceptions_show_locals=False,  # locals may hold the API key
                  help="Cross-scale materials-science episodes for tool-using agents.")
console = Console(stderr=True)
PIPED_WIDTH = 140
"""Columns of result tables written to a file or pipe (rich would wrap them at 80)."""


def _tables() -> Console:
    """Where result tables go: the terminal at its width, or a pipe at PIPED_WIDTH columns."""
    return Console() if sys.stdout.isatty() else Console(width=PIPED_WIDTH)


def _progress() -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[status]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                    console=console)


def _parse_counts(text: str) -> dict[str, int]:
    counts = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, count = part.partition("=")
        if not count.isdigit():
            raise CSMBenchError(f"--families expects name=count pairs like "
                                f"'scale_bar.pixel_size=10', got {part!r}")
        counts[name] = int(count)
    return counts


def _parse_price(text: str) -> list[float]:
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 2 or min(values) < 0:
        raise CSMBenchError(f"--price expects INPUT,OUTPUT in USD per 1M tokens, like "
                            f"'0.15,0.6', got {text!r}")
    return values


@app.command()
def build(
    out: Annotated[Path, typer.Option(help="Folder to write the dataset into (new or empty).")],
    preset: Annotated[str, typer.Option(help="Preset: smoke, standard, scale_bar, "
                                        "diffraction or grains.")] = "smoke",
    seed: Annotated[int, typer.Option(help="Root seed; the same seed gives identical bytes.")] = 0,
    families: Annotated[str, typer.Option(help="Instead of a preset: name=count,...")] = "",
    workers: Annotated[int, typer.Option(help="Worker processes (0: one per core); the "
                                         "output does not depend on it.")] = 0,
) -> None:
    """Generate a dataset of items with exact ground truth, and its DATASHEET.md."""
    from csmbench.episodes.generators import build_dataset

    counts = _parse_counts(families) if families else None
    with _progress() as bar:
        task = bar.add_task("building", total=None, status="")

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        root = build_dataset(out, preset=preset, seed=seed, counts=counts, progress=advance,
                             workers=workers or None)
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    console.print(f"built {manifest['counts']['items']} items into {root} "
                  f"(preset {manifest.get('preset')}, seed {seed})")


@app.command()
def datasheet(
    data: Annotated[Path, typer.Argument(help="Dataset folder (from csmbench build).")],
    out: Annotated[Path | None, typer.Option(help="Where to write it (default: "
                                                  "DATA/DATASHEET.md).")] = None,
) -> None:
    """Write the dataset's datasheet: counts by scale, family and difficulty; truths; tolerances."""
    from csmbench.episodes import write_datasheet

    console.print(f"wrote {write_datasheet(data, out)}")


import_app = typer.Typer(no_args_is_help=True, help="Import benchmark data as a dataset.")
app.add_typer(import_app, name="import")


@import_app.command("csmbench")
def import_csmbench_command(
    source: Annotated[Path, typer.Option("--from", help="A CSMBench download: the Hugging "
                                         "Face ImageFolder or the converted JSON files.")],
    out: Annotated[Path, typer.Option(help="Folder to write the dataset into (new or empty).")],
    task: Annotated[str, typer.Option(help="mcqa, openqa or both.")] = "both",
    data_root: Annotated[Path | None, typer.Option(
        help="Where relative figure_path entries of JSON files start (the original "
             "scripts' --data-root); default the JSON file's folder, then its parents.")
    ] = None,
) -> None:
    """Convert CSMBench (MCQA, OpenQA) into a csmbench dataset; skipped records are listed."""
    from csmbench.episodes import import_csmbench

    report = import_csmbench(source, out, task=_task_choice(task), data_root=data_root)
    _print_problems(report.problems)
    console.print(f"imported {', '.join(f'{n} {t}' for t, n in report.counts.items())} items "
                  f"into {report.root}; {len(report.problems)} records skipped")


def _task_choice(task: str) -> Any:
    if task not in ("mcqa", "openqa", "both"):
        raise CSMBenchError(f"--task must be mcqa, openqa or both, got {task!r}")
    return task


def _print_problems(problems: Any) -> None:
    for problem in problems:
        console.print(f"[yellow]skipped:[/yellow] {problem}", highlight=False, soft_wrap=True)


@app.command("eval")
def evaluate_command(
    data: Annotated[Path, typer.Option(help="Dataset folder (from `csmbench build` or "
                                       "`csmbench import`), or a CSMBench download with --task.")],
    out: Annotated[Path, typer.Option(help="Run folder: episodes.jsonl and summary.json.")],
    agent: Annotated[str, typer.Option(
        help="reference, no-tools, openai:<model>, ...")] = "reference",
    tools: Annotated[str, typer.Option(help="all, none, or a comma-separated list.")] = "all",
    concurrency: Annotated[int, typer.Option(min=1)] = 16,
    epochs: Annotated[int, typer.Option(min=1)] = 1,
    max_steps: Annotated[int, typer.Option(min=1)] = 16,
    items: Annotated[str, typer.Option(help="Only these item ids (comma-separated).")] = "",
    base_url: Annotated[str | None, typer.Option(
        help="OpenAI-compatible API root, e.g. http://localhost:8000/v1 (vLLM) or "
             "http://localhost:11434/v1 (Ollama); default $OPENAI_BASE_URL, else OpenAI. "
             "The key comes from $OPENAI_API_KEY.")] = None,
    temperature: Annotated[float | None, typer.Option(
        min=0, max=2, help="Sampling temperature (default 0; not sent to reasoning models).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Sampling seed sent to the model.")] = None,
    max_tokens: Annotated[int | None, typer.Option(
        min=1, help="Completion tokens per model call.")] = None,
    price: Annotated[str | None, typer.Option(
        help="USD per 1M input and output tokens, INPUT,OUTPUT (e.g. 0.15,0.6); overrides "
             "the price table.")] = None,
    cache: Annotated[Path | None, typer.Option(
        help="Folder caching model replies; identical calls are answered from it.")] = None,
    csmbench_task: Annotated[str | None, typer.Option("--task", help=(
        "CSMBench task: mcqa, openqa or both. --data may then be a CSMBench download, "
        "imported into OUT/csmbench-<task>/ first."))] = None,
    judge: Annotated[str | None, typer.Option(
        help="Judge model for free-text answers (CSMBench OpenQA), e.g. gpt-4o; without it "
             "they are recorded unscored.")] = None,
    judge_base_url: Annotated[str | None, typer.Option(
        help="The judge's API root; default --base-url, else $OPENAI_BASE_URL.")] = None,
    resume: Annotated[bool, typer.Option(
        help="Continue the run in --out: only episodes with no record run.")] = False,
    retry_errors: Annotated[bool, typer.Option(
        help="Rerun only the episodes of --out that ended in an infrastructure error.")] = False,
    episode_timeout: Annotated[float, typer.Option(
        min=1, help="Seconds one episode may take; then it ends as time_limit.")] = 600.0,
    max_tokens_per_episode: Annotated[int | None, typer.Option(
        min=1, help="Model tokens one episode may use; then it ends as token_limit.")] = None,
    backend: Annotated[str, typer.Option(
        help="local (asyncio) or ray (episodes as Ray tasks; pip install 'csmbench\\[ray]').")
    ] = "local",
    ray_address: Annotated[str | None, typer.Option(
        help="Ray cluster address, e.g. ray://head:10001; default a local Ray instance.")
    ] = None,
) -> None:
    """Evaluate an agent; --resume continues a stopped or killed run in the same --out."""
    from csmbench._run import RunConfig, evaluate
    from csmbench.graders import results_table

    options = {"base_url": base_url, "temperature": temperature, "seed": seed,
               "max_tokens": max_tokens, "price": _parse_price(price) if price else None,
               "cache_dir": str(cache.resolve()) if cache else None}
    if backend not in ("local", "ray"):
        raise CSMBenchError(f"--backend must be 'local' or 'ray', got {backend!r}")
    config = RunConfig(agent=agent, tools=tools, max_steps=max_steps, epochs=epochs,
                       concurrency=concurrency, episode_timeout_s=episode_timeout,
                       max_tokens_per_episode=max_tokens_per_episode, backend=backend,
                       ray_address=ray_address,
                       agent_options={k: v for k, v in options.items() if v is not None},
                       judge=judge, judge_options=_judge_options(judge_base_url, cache))
    data, ids = _eval_data(data, out, csmbench_task, [i for i in items.split(",") if i] or None)
    with _progress() as bar:
        task = bar.add_task(agent, total=None, status="")
        tally = {"correct": 0, "errors": 0, "start": time.perf_counter()}

        def advance(record: Any, done: int, total: int) -> None:
            tally["correct"] += record.correct
            tally["errors"] += record.status == "error"
            rate = done / max(time.perf_counter() - tally["start"], 1e-9)
            bar.update(task, completed=done, total=total,
                       status=f"{rate:.2f}/s acc {tally['correct'] / done:.1%} "
                              f"errors {tally['errors']}")

        summary = asyncio.run(evaluate(data, out, config, item_ids=ids, resume=resume,
                                       retry_errors=retry_errors, progress=advance))
    _tables().print(results_table({f"{agent} (tools={tools})": summary}))


def _judge_options(base_url: str | None, cache: Path | None) -> dict[str, Any]:
    options = {"base_url": base_url, "cache_dir": str((cache / "judge").resolve()) if cache else None}
    return {k: v for k, v in options.items() if v is not None}


def _eval_data(data: Path, out: Path, task: str | None, ids: list[str] | None
               ) -> tuple[Path, list[str] | None]:
    """The dataset to evaluate and its item ids: with --task, a CSMBench download is imported
    into the run folder first (reused on resume), and only that task's items are run."""
    from csmbench.episodes import CSMBENCH_FAMILIES, MANIFEST, cached_import, load_dataset

    if task is None:
        return data, ids
    choice = _task_choice(task)
    if not (data / MANIFEST).is_file():
        folder = out / f"csmbench-{choice}"
        report = cached_import(data, folder, task=choice)
        if report is not None:
            _print_problems(report.problems)
            console.print(f"imported {sum(report.counts.values())} items into {folder}")
        data = folder
    families = set(CSMBENCH_FAMILIES.values()) if choice == "both" else {CSMBENCH_FAMILIES[choice]}
    chosen = [item.id for item in load_dataset(data, verify=False).items
              if item.family in families and (ids is None or item.id in ids)]
    if not chosen:
        raise CSMBenchError(f"{data} has no {choice} items of CSMBench "
                            f"({', '.join(sorted(families))}){' among --items' if ids else ''}")
    return data, chosen


@app.command()
def report(
    runs: Annotated[list[Path], typer.Argument(help="Run folders to compare.")],
    markdown: Annotated[bool, typer.Option(help="Print Markdown instead of a table.")] = False,
    html: Annotated[Path | None, typer.Option(help="Also write a self-contained HTML report "
                                              "(plots, trajectories) to this file.")] = None,
) -> None:
    """Print the results table of one or more runs, and the tool uplift of each two runs
    where one offered more tools than the other (paired by item)."""
    from csmbench.graders import (
        distinct_names,
        load_run,
        results_markdown,
        results_table,
        tool_pairs,
        uplift_markdown,
        uplift_table,
        write_html_report,
    )

    loaded = distinct_names([load_run(run) for run in runs])
    summaries = {run.name: run.summary for run in loaded}
    if markdown:
        print(results_markdown(summaries), end="")
        for more, fewer in tool_pairs(loaded):
            print(uplift_markdown(more, fewer), end="")
    else:
        _tables().print(results_table(summaries))
        for more, fewer in tool_pairs(loaded):
            _tables().print(uplift_table(more, fewer))
    if html is not None:
        write_html_report(loaded, html)
        console.print(f"wrote {html}")


db_app = typer.Typer(no_args_is_help=True, help="The embedded crystal database.")
app.add_typer(db_app, name="db")


@db_app.command("build")
def db_build(
    path: Annotated[Path | None, typer.Option(help="Where to write it (default: the cache).")] = None,
) -> None:
    """Build (or rebuild) the crystal database from its sources."""
    from csmbench.tools import build_database, default_database_path

    with _progress() as bar:
        task = bar.add_task("crystal database", total=None, status="")
        built = build_database(path or default_database_path(),
                               progress=lambda done, key: bar.update(task, completed=done,
                                                                     status=key))
    console.print(f"built {built}")


@db_app.command("info")
def db_info(
    path: Annotated[Path | None, typer.Option(help="Database file (default: the cache).")] = None,
) -> None:
    """Where the crystal database is and what it holds (built first if missing)."""
    from collections import Counter

    from csmbench.tools._crystal_db import load_records, open_database

    database = open_database(path)
    records = load_records(database)
    print(json.dumps({"path": str(database), "records": len(records),
                      "by_source": dict(Counter(r.source for r in records))}, indent=2))


@app.command("mcp")
def mcp_command(
    out: Annotated[Path | None, typer.Option(
        help="Folder for files the tools write (grain overlays); default a new temporary "
             "folder.")] = None,
    root: Annotated[Path | None, typer.Option(
        help="Only files inside this folder may be read; relative paths start there.")
    ] = None,
) -> None:
    """Serve the measurement tools to an MCP client over stdio; they take local file paths."""
    from csmbench._mcp_server import LocalFiles, serve_stdio

    files = LocalFiles.create(out, root)
    console.print(f"csmbench MCP server on stdio; files written to {files.output_dir}"
                  + (f"; reading only inside {files.root}" if files.root else ""),
                  markup=False, highlight=False, soft_wrap=True)
    serve_stdio(files)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def tool(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Tool name; `csmbench tool list` lists them.")],
) -> None:
    """Run one tool on local files and print its JSON result: csmbench tool NAME --ARG VALUE ..."""
    from csmbench.tools import REGISTRY, ToolContext

    if name == "list":
        for spec in (REGISTRY.get(n) for n in REGISTRY.names):
            print(f"{spec.name}: {spec.description.splitlines()[0]}")
        return
    spec = REGISTRY.get(name)
    arguments = _tool_arguments(ctx.args, raw=set(spec.attachment_params))
    files = {key: arguments[key] for key in spec.attachment_params if key in arguments}
    context = ToolContext.from_files(files)
    arguments.update({key: key for key in files})  # the file's attachment id is its option name
    print(json.dumps(spec.run(arguments, context), indent=2, ensure_ascii=False))


def _tool_arguments(args: list[str], raw: set[str]) -> dict[str, Any]:
    """``--key value`` pairs; values parsed as JSON when they are JSON (except ``raw`` keys).

    A repeated key collects its values into a list (``--x 1 --x 2`` is ``[1, 2]``).
    """
    values: dict[str, list[Any]] = {}
    key = None
    for token in args:
        if token.startswith("--"):
            key = token[2:].replace("-", "_")
            values.setdefault(key, [])
        elif key is not None:
            values[key].append(token if key in raw else _json_or_text(token))
            key = None
        else:
            raise CSMBenchError(f"unexpected argument {token!r}; pass --name value pairs")
    return {k: True if not v else v[0] if len(v) == 1 else v for k, v in values.items()}


def _json_or_text(token: str) -> Any:
    try:
        return json.loads(token)
    except json.JSONDecodeError:
        return token


def main() -> None:
    """Entry point: run the app, turning csmbench errors into one clear line and exit code 2."""
    try:
        app()
    except CSMBenchError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)
