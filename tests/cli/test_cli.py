"""The command line, run as a user runs it: a real subprocess of the installed console script."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [str(Path(sys.executable).with_name("csmbench"))]


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    result = subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=600,
                            check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"csmbench {' '.join(args)} failed: {result.stderr[-2000:]}")
    return result


def test_build_eval_report(tmp_path: Path) -> None:
    data, out = tmp_path / "data", tmp_path / "run"
    run("build", "--families", "scale_bar.pixel_size=2,scale_bar.field_width=1", "--seed", "3",
        "--workers", "1", "--out", str(data))
    manifest = json.loads((data / "manifest.json").read_text())
    assert manifest["counts"]["items"] == 3 and manifest["seed"] == 3
    sheet = (data / "DATASHEET.md").read_text(encoding="utf-8")
    assert "3 items." in sheet and "| `scale_bar.pixel_size` |" in sheet
    run("datasheet", str(data), "--out", str(tmp_path / "sheet.md"))
    assert (tmp_path / "sheet.md").read_text(encoding="utf-8") == sheet
    run("eval", "--data", str(data), "--agent", "no-tools", "--tools", "none", "--out", str(out))
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) >= {"overall", "by_scale", "by_family", "by_answer_type"}
    assert summary["overall"]["n"] == 3
    assert all({"accuracy", "n"} <= set(v) for v in summary["by_family"].values())
    records = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    assert {"item_id", "epoch", "status", "trajectory", "answer", "score"} <= set(records[0])
    report = run("report", str(out), "--markdown").stdout
    assert "| family | scale_bar.pixel_size |" in report and "no-tools (tools=none)" in report


def test_tool_command_prints_json(realdata: Path) -> None:
    result = run("tool", "calibrate_scale_bar", "--image",
                 str(realdata / "sem_scale_bar" / "Zeiss_2.tif"))
    reading = json.loads(result.stdout)
    assert reading["method"] == "metadata"
    assert reading["nm_per_pixel"] == pytest.approx(293.052, rel=0.005)


@pytest.mark.parametrize(
    ("args", "message"),
    [(["eval", "--data", "/nonexistent", "--out", "/tmp/x"], "manifest.json is missing"),
     (["tool", "calibrate_scale_barr", "--image", "x.png"], "Did you mean 'calibrate_scale_bar'"),
     (["tool", "calibrate_scale_bar", "--image", "/nonexistent.png"], "does not exist"),
     (["build", "--preset", "huge", "--out", "/tmp/never"], "preset 'huge' not found")],
    ids=["no-dataset", "unknown-tool", "missing-file", "unknown-preset"],
)
def test_errors_are_one_clear_line(args: list[str], message: str) -> None:
    result = run(*args, check=False)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_find_peaks_on_a_measured_pattern(realdata: Path) -> None:
    result = run("tool", "find_peaks", "--pattern",
                 str(realdata / "xrayutilities" / "LaB6_d500_si_psd.xye"), "--radiation", "CuKa12")
    positions = [p["two_theta"] for p in json.loads(result.stdout)["peaks"]]
    assert min(abs(x - 21.358) for x in positions) < 0.02  # LaB6 100, a = 4.15692 Å


def test_repeated_options_form_a_list() -> None:
    # widths of D = 30 nm, ε = 0 with Cu Kα1: β = Kλ / (D cos θ); the fit must return D
    angles = [30.0, 50.0, 70.0]
    widths = [math.degrees(0.9 * 1.5405929 / (300.0 * math.cos(math.radians(a / 2))))
              for a in angles]
    args = ["tool", "williamson_hall", "--form", "quadratic"]
    for a, w in zip(angles, widths, strict=True):
        args += ["--two-theta-deg", str(a), "--fwhm-deg", str(w)]
    fit = json.loads(run(*args).stdout)
    assert fit["size_nm"] == pytest.approx(30.0, rel=1e-6) and fit["n_peaks"] == 3
