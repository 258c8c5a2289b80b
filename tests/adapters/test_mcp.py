"""The MCP server (``csmbench mcp``) driven by the mcp package's own stdio client.

One server process serves the whole module (starting it imports csmbench, which is slow);
it reads only inside the real-data folder and writes into a temporary folder.
"""

from __future__ import annotations

import importlib
import itertools
import math
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from csmbench import _cli
from csmbench._mcp_server import LocalFiles, run_tool
from csmbench.errors import CSMBenchError
from csmbench.tools import REGISTRY

pytestmark = pytest.mark.anyio

REPOSITORY = Path(__file__).resolve().parents[2]
SERVER_START_TIMEOUT_S = 300.0
"""Seconds one request may take; generous since importing csmbench is slow on a loaded machine."""
TESCAN_NM_PER_PX = 242.063904  # MANIFEST 1a: Tescan_2 instrument metadata
BAR_TOLERANCE = 0.03  # as tests/tools/test_scale_bar.py, pixel size read from the bar
CU_KA1 = 1.5405929  # Å
LAB6_A = 4.15692  # Å, MANIFEST 2a: xrayutilities powder model of this file
LAB6_TOL_DEG = 0.02  # as tests/tools/test_xrd_peaks.py
LAB6 = "xrayutilities/LaB6_d500_si_psd.xye"


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mcp-outputs")


@pytest.fixture(scope="module")
async def session(realdata: Path, outputs: Path) -> AsyncIterator[ClientSession]:
    """A client session with ``python -m csmbench mcp --root REALDATA --out OUTPUTS``."""
    env = {key: os.environ[key] for key in ("CSMBENCH_CACHE_DIR",) if key in os.environ}
    server = StdioServerParameters(
        command=sys.executable, cwd=REPOSITORY, env=env,
        args=["-m", "csmbench", "mcp", "--root", str(realdata), "--out", str(outputs)])
    async with (stdio_client(server) as (read, write),
                ClientSession(read, write, read_timeout_seconds=SERVER_START_TIMEOUT_S) as client):
        await client.initialize()
        yield client


def bragg_lines(a: float, lo: float, hi: float) -> list[float]:
    """2θ (deg, Cu Kα1) of a primitive cubic cell's reflections inside [lo, hi]."""
    squares = {h * h + k * k + l * l for h, k, l in itertools.product(range(8), repeat=3)}
    angles = (math.degrees(2 * math.asin(s)) for n in sorted(squares - {0})
              if (s := CU_KA1 * math.sqrt(n) / (2 * a)) < 1)
    return [t for t in angles if lo <= t <= hi]


def text_of(result: Any) -> str:
    return " ".join(block.text for block in result.content if block.type == "text")


async def test_lists_every_registry_tool_with_its_schema(session: ClientSession) -> None:
    listed = {t.name: t for t in (await session.list_tools()).tools}
    assert sorted(listed) == REGISTRY.names
    for name in REGISTRY.names:
        spec = REGISTRY.get(name)
        function = spec.openai_schema()["function"]
        schema = listed[name].input_schema
        assert listed[name].description == function["description"], name
        assert schema.get("required") == function["parameters"].get("required"), name
        for arg, prop in function["parameters"]["properties"].items():
            if arg in spec.attachment_params:  # a file path instead of an attachment id
                assert schema["properties"][arg]["type"] == "string"
                assert "Path of the local file" in schema["properties"][arg]["description"]
                assert "Attachment id" not in schema["properties"][arg]["description"]
            else:
                assert schema["properties"][arg] == prop, (name, arg)


async def test_calibrates_a_real_sem_image(session: ClientSession, realdata: Path) -> None:
    image = realdata / "sem_scale_bar" / "Tescan_2_8bit.png"
    result = await session.call_tool("calibrate_scale_bar", {"image": str(image)})
    assert not result.is_error, text_of(result)
    reading = result.structured_content
    assert reading["nm_per_pixel"] == pytest.approx(TESCAN_NM_PER_PX, rel=BAR_TOLERANCE)
    assert (reading["value"], reading["unit"]) == (100.0, "µm")
    assert '"nm_per_pixel"' in text_of(result)  # the same JSON as text for plain clients


async def test_lab6_peaks_and_lattice_agree_with_bragg(session: ClientSession) -> None:
    # a path relative to --root; the pattern is Cu Kα1+Kα2, reported at Kα1
    peaks = await session.call_tool("find_peaks", {"pattern": LAB6, "radiation": "CuKa12"})
    assert not peaks.is_error, text_of(peaks)
    found = [p["two_theta"] for p in peaks.structured_content["peaks"]]
    for line in bragg_lines(LAB6_A, 18.0, 148.0):
        assert min(abs(t - line) for t in found) < LAB6_TOL_DEG, line
    fit = await session.call_tool("fit_lattice", {"peaks_two_theta": found,
                                                  "crystal_system": "cubic"})
    assert not fit.is_error, text_of(fit)
    assert fit.structured_content["a"] == pytest.approx(LAB6_A, abs=0.002)


async def test_overlay_is_written_to_out_and_its_path_returned(
        session: ClientSession, outputs: Path) -> None:
    result = await session.call_tool("estimate_grain_size", {
        "image": "nist_grain_size/grain_structures_steel.tif", "nm_per_pixel": 225.2,
        "overlay": True})
    assert not result.is_error, text_of(result)
    overlay = Path(result.structured_content["overlay"])
    assert overlay.is_absolute() and overlay.parent == outputs.resolve()
    assert overlay.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(("name", "arguments", "message"), [
    ("calibrate_scale_bar", {"image": "sem_scale_bar/no_such.tif"}, "does not exist"),
    ("calibrate_scale_bar", {"image": "sem_scale_bar"}, "is a folder, not a file"),
    ("find_peaks", {"pattern": "../../etc/passwd"}, "lies outside the folder"),
    ("find_peaks", {"pattern": 7}, "expected the path of a local file"),
    ("find_peaks", {"pattern": LAB6, "radiation": "CuKb"}, "invalid arguments: radiation"),
    ("find_peaks", {"pattern": LAB6, "min_relative_height": 0.01, "wavelength": 1.54},
     "wavelength: Extra inputs are not permitted"),
    ("find_peak", {"pattern": LAB6}, "Did you mean 'find_peaks'?"),
    ("calibrate_scale_bar", {"image": LAB6}, "cannot decode image file"),
], ids=["missing", "folder", "outside-root", "not-a-path", "bad-enum", "extra-argument",
        "unknown-tool", "not-an-image"])
async def test_mistakes_are_tool_errors_with_clear_messages(
        session: ClientSession, name: str, arguments: dict[str, Any], message: str) -> None:
    result = await session.call_tool(name, arguments)
    assert result.is_error
    assert message in text_of(result)
    assert "internal error" not in text_of(result)


def test_without_mcp_installed_the_command_says_how_to_install_it(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "mcp", None)  # import mcp now fails as if not installed
    monkeypatch.delitem(sys.modules, "csmbench._mcp_server", raising=False)
    with pytest.raises(CSMBenchError, match=re.escape("pip install 'csmbench[mcp]'")):
        importlib.import_module("csmbench._mcp_server")
    monkeypatch.setattr(sys, "argv", ["csmbench", "mcp"])
    with pytest.raises(SystemExit) as stopped:
        _cli.main()
    assert stopped.value.code == 2
    assert "error: the MCP server needs the mcp package" in capsys.readouterr().err


def test_without_root_relative_paths_start_in_the_working_folder(
        monkeypatch: pytest.MonkeyPatch, realdata: Path, tmp_path: Path) -> None:
    monkeypatch.chdir(realdata / "xrd_autoanalyzer")
    result = run_tool("find_peaks", {"pattern": "LiF.xy"}, LocalFiles.create(tmp_path))
    assert result.ok, result.error
    # MANIFEST 2c: LiF 111 at 38.72° 2θ (Cu Kα1)
    assert min(abs(p["two_theta"] - 38.72) for p in result.content["peaks"]) < 0.05
    outside = run_tool("find_peaks", {"pattern": str(realdata / "powdR/quartz.xy")},
                       LocalFiles.create(tmp_path, root=realdata / "xrd_autoanalyzer"))
    assert not outside.ok and "lies outside the folder" in outside.error
