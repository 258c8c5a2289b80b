"""The HTML report, rendered in headless Chromium: plots, a trajectory, a non-blank page.

Two real runs (reference with all tools, no-tools with none) on a small generated dataset;
the report is opened from its file:// URL, nothing is served. Debian's chromium is needed:
`make test` installs it where missing; without it these tests fail, they never skip.
"""

from __future__ import annotations

import asyncio
import base64
import io
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from csmbench import RunConfig, build_dataset, evaluate
from csmbench._cli import app
from csmbench.env import EpisodeRecord
from csmbench.episodes import EpisodeScore, Score
from csmbench.graders import _html
from csmbench.graders._html import write_html_report
from csmbench.graders._report import RunResults, load_run, tool_pairs

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync")
COUNTS = {"scale_bar.pixel_size": 2, "xrd.strongest_d": 2}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(reference with all tools, no-tools) run folders on the same four items."""
    tmp = tmp_path_factory.mktemp("report")
    data = build_dataset(tmp / "data", counts=COUNTS, seed=1, workers=1)
    asyncio.run(evaluate(data, tmp / "ref", RunConfig(agent="reference", tools="all")))
    asyncio.run(evaluate(data, tmp / "none", RunConfig(agent="no-tools", tools="none")))
    return tmp / "ref", tmp / "none"


@pytest.fixture(scope="module")
def report(runs: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    loaded = [load_run(folder) for folder in runs]
    return write_html_report(loaded, tmp_path_factory.mktemp("html") / "report.html")


def _chromium(url: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    browser = shutil.which("chromium")
    if browser is None:
        pytest.fail("Debian's chromium is not installed; `make test` installs it "
                    "(apt-get install chromium)")
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    return subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, url],
                          capture_output=True, text=True, timeout=180, check=True)


def _data_urls(dom: str, css: str) -> list[bytes]:
    pattern = rf'<img class="{css}" src="data:image/(?:png|jpeg);base64,([A-Za-z0-9+/=]+)"'
    return [base64.b64decode(found) for found in re.findall(pattern, dom)]


def test_pairs_and_uplift_of_reference_over_no_tools(runs: tuple[Path, Path]) -> None:
    reference, no_tools = (load_run(folder) for folder in runs)
    assert [(a.name, b.name) for a, b in tool_pairs([no_tools, reference])] == [
        ("reference (tools=all)", "no-tools (tools=none)")]


def test_dom_has_plots_and_trajectories(report: Path, tmp_path: Path) -> None:
    dom = _chromium(report.as_uri(), tmp_path, "--dump-dom").stdout
    plots = _data_urls(dom, "plot")
    assert len(plots) == 3  # accuracy by scale, uplift by family, numeric errors
    for png in plots:
        image = Image.open(io.BytesIO(png))
        assert image.format == "PNG"
        assert (np.asarray(image.convert("L")) < 200).any()  # something drawn on white
    assert dom.count('<details class="item"') == sum(COUNTS.values())
    assert '<details class="item" id="item-scale_bar.pixel_size-0000" open' in dom
    calls = re.findall(r'<div class="call"><b>(\w+)</b>', dom)
    assert {"calibrate_scale_bar", "find_peaks"} <= set(calls)
    assert len(_data_urls(dom, "thumb")) >= 2  # the micrographs, downscaled
    assert all(Image.open(io.BytesIO(j)).width <= 512 for j in _data_urls(dom, "thumb"))
    assert "Answer: <b>" in dom and "answer score 1.00 (correct)" in dom
    assert "http://" not in dom.replace("http://www.w3.org", "")  # nothing to fetch


def test_screenshot_is_not_blank(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    _chromium(report.as_uri(), tmp_path, f"--screenshot={shot}", "--window-size=1280,2000")
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape == (2000, 1280)
    assert pixels.std() > 20  # tables, plots and text, not an empty page
    assert (pixels < 100).mean() > 0.01  # dark ink: text and plot lines


def test_cli_report_prints_uplift_and_writes_html(runs: tuple[Path, Path],
                                                   tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = CliRunner().invoke(app, ["report", *map(str, runs), "--markdown", "--html", str(out)])
    assert result.exit_code == 0, result.output
    assert "**Tool uplift: reference (tools=all) - no-tools (tools=none)**" in result.stdout
    assert "| overall | overall | 1.000 | 0.000 | +1.000 | [+1.00,+1.00] | 4 |" in result.stdout
    assert out.is_file() and '<section id="uplift">' in out.read_text(encoding="utf-8")


def _record(item: str, correct: bool) -> EpisodeRecord:
    score = EpisodeScore(answer=Score(value=float(correct), correct=correct))
    return EpisodeRecord(item_id=item, scale="Mesoscale", family="f", answer_type="numeric",
                         tools_offered=[], status="answered", steps=1, trajectory=[],
                         score=score)


def test_viewer_keeps_the_first_items_and_the_missed_ones(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    monkeypatch.setattr(_html, "MAX_ITEMS", 4)
    monkeypatch.setattr(_html, "HEAD_ITEMS", 2)
    records = [_record(f"i{k}", k not in (3, 7, 8)) for k in range(10)]
    run = RunResults("run", tmp_path, {}, records)
    assert _html._chosen_items([run]) == (["i0", "i1", "i3", "i7"], 6)
    assert _html._chosen_items([RunResults("run", tmp_path, {}, records[:4])]) == (
        ["i0", "i1", "i2", "i3"], 0)
