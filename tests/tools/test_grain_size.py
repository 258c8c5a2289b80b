"""Grain size (ASTM E112): NIST micrographs, drawn structures with exact answers, errors, CLI."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage as ndi

from csmbench.episodes import Asset
from csmbench.errors import ToolError
from csmbench.tools import REGISTRY, ToolContext, estimate_grain_size
from csmbench.tools._grain_measure import mean_intercept_px
from csmbench.tools._grain_size import (
    astm_g_intercept,
    astm_g_planimetric,
    find_databar,
    intercept_counts,
    jeffries_count,
)

CLI = [str(Path(sys.executable).with_name("csmbench"))]
STEEL = ("nist_grain_size", "grain_structures_steel.tif")
TI64 = ("nist_grain_size", "sem_alpha_beta_ti_6al_4v_gray.png")
STEEL_NM_PER_PX = 225.2  # MANIFEST 1b: 222 px = 50 µm
TI64_NM_PER_PX = 111.6  # MANIFEST 1b: CZ_SEM Image Pixel Size
UM_PER_PX = 1000.0  # nm/px of the drawn structures: lengths in px read as µm


# --- real micrographs (MANIFEST.md section 1b) -------------------------------------------------


def test_steel_intercept_matches_nist(realdata: Path) -> None:
    """NIST E112 intercepts of this steel: 8.4-8.9 µm; accepted within 10 % of that band."""
    result = estimate_grain_size(realdata.joinpath(*STEEL), STEEL_NM_PER_PX)
    assert result.boundaries == "dark"
    assert 8.4 * 0.9 <= result.mean_intercept_um <= 8.9 * 1.1
    assert result.astm_grain_size_number == pytest.approx(
        astm_g_intercept(result.mean_intercept_um / 1000.0), abs=0.01)
    assert 9.2 < result.astm_grain_size_number < 11.4  # NIST: G ≈ 10.3-10.5
    assert result.excluded_bottom_px == 0 and result.n_grains > 150


def test_ti64_intercept_matches_nist(realdata: Path) -> None:
    """NIST E112 intercept of the α/β Ti-6Al-4V BSE image: 3.30 µm (bright β films)."""
    result = estimate_grain_size(realdata.joinpath(*TI64), TI64_NM_PER_PX)
    assert result.boundaries == "bright"
    assert result.mean_intercept_um == pytest.approx(3.30, rel=0.15)


def test_planimetric_g_uses_grains_per_mm2(realdata: Path) -> None:
    result = estimate_grain_size(realdata.joinpath(*STEEL), STEEL_NM_PER_PX, "planimetric")
    assert result.method == "planimetric"
    assert result.astm_grain_size_number == pytest.approx(
        astm_g_planimetric(result.grains_per_mm2), abs=0.01)


# --- drawn structures with answers by hand -----------------------------------------------------


def stripes(period: int = 20, count: int = 12, size: int = 240) -> np.ndarray:
    """Light field with 2 px dark vertical lines at x = period/2 - 1 + k * period."""
    image = np.full((size, size), 0.9)
    for k in range(count):
        x = period // 2 - 1 + k * period
        image[:, x:x + 2] = 0.1
    return image


def test_vertical_lines_give_their_spacing() -> None:
    """240 px rows cross 12 lines: ℓ(0°) = 239/12 px, ℓ(45°) = ℓ(135°) = 239√2/12, no 90°.

    E112 averages P_L = 1/ℓ over the directions: ℓ = 4 / (12/239 · (1 + 2/√2) + 0).
    """
    result = estimate_grain_size(stripes(), UM_PER_PX, crop_bottom_px=0)
    by_direction = result.intercept_by_direction_um
    assert by_direction["0"] == pytest.approx(239 / 12, rel=1e-3)
    assert by_direction["45"] == pytest.approx(239 * math.sqrt(2) / 12, rel=1e-3)
    assert by_direction["135"] == pytest.approx(239 * math.sqrt(2) / 12, rel=1e-3)
    assert by_direction["90"] is None
    mean_p_l = (12 / 239) * (1 + 2 / math.sqrt(2)) / 4
    assert result.mean_intercept_um == pytest.approx(1 / mean_p_l, rel=1e-3)
    assert result.n_intercepts == 240 * 12 + 2 * 239 * 12


def test_noisy_blurred_lines_keep_their_spacing() -> None:
    rng = np.random.default_rng(3)
    image = ndi.gaussian_filter(stripes(period=16, count=15), 1.2)
    image = image + 0.05 * rng.standard_normal(image.shape)
    result = estimate_grain_size(image, UM_PER_PX, boundaries="dark", crop_bottom_px=0)
    assert result.intercept_by_direction_um["0"] == pytest.approx(239 / 15, rel=0.01)


def squares(side: int = 24, size: int = 240) -> np.ndarray:
    """Dark 2 px grid lines every ``side`` px, placed so the frame cuts the edge grains in half."""
    image = np.full((size, size), 0.85)
    for start in range(side // 2 - 1, size - 1, side):
        image[start:start + 2] = 0.15
        image[:, start:start + 2] = 0.15
    return image


def test_square_grid_gives_one_grain_per_cell() -> None:
    """9 x 9 whole squares + 36 halves (½ each) + 4 quarters (¼ each) = 100 = area / side²."""
    result = estimate_grain_size(squares(), UM_PER_PX, "planimetric", crop_bottom_px=0)
    per_um2 = 1 / 24**2
    assert result.grains_per_mm2 == pytest.approx(per_um2 * 1e6, rel=1e-3)
    assert result.astm_grain_size_number == pytest.approx(astm_g_planimetric(per_um2 * 1e6),
                                                          abs=0.01)
    assert result.n_grains == 121
    assert result.ecd_median_um == pytest.approx(math.sqrt(4 * 24**2 / math.pi), rel=0.01)
    assert result.mean_aspect_ratio == pytest.approx(1.0, abs=0.03)


def test_gray_level_squares_are_grains_without_lines() -> None:
    """Grains told apart by gray level only (as in SEM channelling contrast): 4 tints."""
    yy, xx = np.indices((240, 240))
    cells = (yy + 12) // 24 * 11 + (xx + 12) // 24 + 1
    tint = np.array([0.2, 0.45, 0.7, 0.9])[(yy + 12) // 24 % 2 * 2 + (xx + 12) // 24 % 2]
    image = tint + 0.02 * np.random.default_rng(0).standard_normal(tint.shape)
    result = estimate_grain_size(image, UM_PER_PX, "planimetric", crop_bottom_px=0)
    assert result.boundaries == "contrast"
    assert result.grains_per_mm2 == pytest.approx(1e6 / 24**2, rel=1e-3)
    truth = mean_intercept_px(intercept_counts(cells))
    assert result.mean_intercept_um == pytest.approx(truth, rel=0.03)


def test_bright_boundaries_are_found() -> None:
    inverted = 1.0 - stripes()
    result = estimate_grain_size(inverted, UM_PER_PX, crop_bottom_px=0)
    assert result.boundaries == "bright"
    assert result.intercept_by_direction_um["0"] == pytest.approx(239 / 12, rel=1e-3)


def voronoi(size: int, grains: int, rng: np.random.Generator) -> np.ndarray:
    """(size, size) labels of a Voronoi tessellation of ``grains`` random seeds."""
    seeds = np.ones((size, size), bool)
    seeds[rng.integers(0, size, grains), rng.integers(0, size, grains)] = False
    index = ndi.distance_transform_edt(seeds, return_distances=False, return_indices=True)
    labels, _ = ndi.label(~seeds)
    return labels[index[0], index[1]]


def etched(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An etched-looking micrograph of ``labels``: tinted grains, dark 2 px boundaries, noise."""
    tint = rng.uniform(0.5, 0.9, labels.max() + 1)[labels]
    image = np.where(ndi.morphological_gradient(labels, size=3) > 0, 0.15, tint)
    return ndi.gaussian_filter(image, 0.8) + 0.03 * rng.standard_normal(labels.shape)


@pytest.mark.parametrize("seed", [0, 1, 2], ids=["seed0", "seed1", "seed2"])
def test_voronoi_intercept_matches_its_labels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = voronoi(320, 90, rng)
    truth = mean_intercept_px(intercept_counts(labels + 1))
    result = estimate_grain_size(etched(labels, rng), UM_PER_PX, crop_bottom_px=0)
    assert result.mean_intercept_um == pytest.approx(truth, rel=0.05)
    assert result.n_grains == pytest.approx(np.unique(labels).size, rel=0.05)


def test_two_phases_give_their_area_fraction() -> None:
    rng = np.random.default_rng(7)
    labels = voronoi(320, 120, rng)
    dark = rng.random(labels.max() + 1) < 0.3
    image = np.where(dark[labels], 0.35, 0.85)
    image = np.where(ndi.morphological_gradient(labels, size=3) > 0, 0.1, image)
    result = estimate_grain_size(image + 0.02 * rng.standard_normal(image.shape), UM_PER_PX,
                                 boundaries="dark", crop_bottom_px=0)
    truth = float(dark[labels].mean())
    assert result.phase_fraction == pytest.approx(truth, abs=0.05)
    single = estimate_grain_size(etched(labels, rng), UM_PER_PX, crop_bottom_px=0)
    assert single.phase_fraction is None


def test_shaded_two_phases_give_their_area_fraction() -> None:
    """Uneven light (a 40 % tilt across the field) spreads each phase's gray levels; the
    fitted shading is removed before the two populations are split."""
    rng = np.random.default_rng(8)
    labels = voronoi(320, 120, rng)
    dark = rng.random(labels.max() + 1) < 0.35
    image = np.where(dark[labels], 0.45, 0.8)
    image = np.where(ndi.morphological_gradient(labels, size=3) > 0, 0.1, image)
    image = image * np.linspace(0.8, 1.2, 320)[None, :]
    result = estimate_grain_size(image + 0.02 * rng.standard_normal(image.shape), UM_PER_PX,
                                 boundaries="dark", crop_bottom_px=0)
    assert result.phase_fraction == pytest.approx(float(dark[labels].mean()), abs=0.05)


def twinned(labels: np.ndarray, rng: np.random.Generator, trace_gray: float | None
            ) -> tuple[np.ndarray, np.ndarray]:
    """An etched micrograph of ``labels`` whose grains of >= 900 px carry one annealing twin:
    a 6 px band through the centroid at a random angle, its two traces 1 px lines (at
    ``trace_gray``, or each side's tint less 0.08 when None: faint). Returns the image and
    the labels that would count the band and the two sides of each twinned grain as grains.
    """
    tint = rng.uniform(0.55, 0.9, labels.max() + 1)
    image = np.where(ndi.morphological_gradient(labels, size=3) > 0, 0.15, tint[labels])
    as_grains = labels + 1
    yy, xx = np.indices(labels.shape)
    for grain in np.flatnonzero(np.bincount(labels.ravel()) >= 900):
        inside = labels == grain
        cy, cx = yy[inside].mean(), xx[inside].mean()
        angle = rng.uniform(0, np.pi)
        across = (xx - cx) * np.sin(angle) - (yy - cy) * np.cos(angle)
        trace = inside & (np.abs(np.abs(across) - 3.0) < 0.5) & (image > 0.3)
        image[trace] = tint[grain] - 0.08 if trace_gray is None else trace_gray
        top = as_grains.max()
        as_grains[inside & (across > 3)], as_grains[inside & (across < -3)] = top + 1, top + 2
    image = ndi.gaussian_filter(image, 0.7) + 0.02 * rng.standard_normal(labels.shape)
    return image, as_grains


def test_faint_twin_traces_are_not_boundaries() -> None:
    """E112 disregards twin boundaries; etched twin traces are far fainter than the grain
    boundaries (here 0.08 below the tint against 0.6)."""
    rng = np.random.default_rng(11)
    labels = voronoi(400, 90, rng)
    image, as_grains = twinned(labels, rng, None)
    assert as_grains.max() - labels.max() >= 2 * 60  # >= 60 twinned grains
    result = estimate_grain_size(image, UM_PER_PX, boundaries="dark", crop_bottom_px=0)
    truth = mean_intercept_px(intercept_counts(labels + 1))
    assert result.mean_intercept_um == pytest.approx(truth, rel=0.05)


def test_twin_bands_are_merged_into_their_grain() -> None:
    """Twin traces as dark as the grain boundaries: a band between two straight parallel
    traces with one tint on both sides is a twin. Counted as grains, the twins would put
    the intercept 49 % low; merging the bands found removes more than half of that (thin
    bands split into pieces are still missed)."""
    rng = np.random.default_rng(11)
    labels = voronoi(400, 90, rng)
    image, as_grains = twinned(labels, rng, 0.15)
    result = estimate_grain_size(image, UM_PER_PX, boundaries="dark", crop_bottom_px=0)
    truth = mean_intercept_px(intercept_counts(labels + 1))
    twin_error = mean_intercept_px(intercept_counts(as_grains)) / truth - 1
    assert twin_error < -0.4
    assert abs(result.mean_intercept_um / truth - 1) < 0.5 * abs(twin_error)
    assert any("twin" in note for note in result.notes)


def test_scan_line_offsets_do_not_split_grains() -> None:
    """SEM-like gray-level grains under row-to-row offsets (scan-line noise) of 0.03."""
    yy, xx = np.indices((240, 240))
    tint = np.array([0.2, 0.45, 0.7, 0.9])[(yy + 12) // 24 % 2 * 2 + (xx + 12) // 24 % 2]
    rng = np.random.default_rng(4)
    image = tint + 0.03 * rng.standard_normal((240, 1)) + 0.02 * rng.standard_normal(tint.shape)
    result = estimate_grain_size(image, UM_PER_PX, "planimetric", crop_bottom_px=0)
    assert result.grains_per_mm2 == pytest.approx(1e6 / 24**2, rel=0.01)


def with_databar(image: np.ndarray, rows: int = 40) -> np.ndarray:
    """``image`` above a black strip with white text-like marks and a scale bar."""
    strip = np.zeros((rows, image.shape[1]))
    strip[8:20, 10:150:9] = 1.0
    strip[26:30, 200:300] = 1.0
    return np.vstack([image, strip])


def test_databar_is_found_and_excluded() -> None:
    rng = np.random.default_rng(5)
    image = np.clip(etched(voronoi(320, 90, rng), rng), 0, 1)
    plain = estimate_grain_size(image, UM_PER_PX)
    barred = estimate_grain_size(with_databar(image), UM_PER_PX)
    assert find_databar(image) == 0 and plain.excluded_bottom_px == 0
    assert barred.excluded_bottom_px == 40 and barred.analysed_px == (320, 320)
    assert barred.mean_intercept_um == pytest.approx(plain.mean_intercept_um, rel=0.01)
    cropped = estimate_grain_size(with_databar(image), UM_PER_PX, crop_bottom_px=40)
    assert cropped.mean_intercept_um == pytest.approx(barred.mean_intercept_um, rel=1e-6)


def test_real_databars_are_found(realdata: Path) -> None:
    from csmbench.tools import load_image

    zeiss = load_image(realdata / "sem_scale_bar" / "Zeiss_1.tif").pixels  # strip + frame
    assert find_databar(zeiss) == 69
    steel = load_image(realdata.joinpath(*STEEL)).pixels  # uniform light grains, no strip
    assert find_databar(steel) == 0


def test_overlay_marks_boundaries_in_red(tmp_path: Path) -> None:
    target = tmp_path / "overlay.png"
    result = estimate_grain_size(squares(), UM_PER_PX, crop_bottom_px=0, overlay_path=target)
    assert result.overlay == str(target)
    rgb = np.asarray(Image.open(target))
    red = (rgb[..., 0] == 255) & (rgb[..., 1] == 0) & (rgb[..., 2] == 0)
    assert rgb.shape == (240, 240, 3) and 0.05 < red.mean() < 0.15


def test_astm_formulas() -> None:
    assert astm_g_intercept(0.0400) == pytest.approx(6.0, abs=0.01)  # E112 Table 4
    assert astm_g_planimetric(496.0) == pytest.approx(6.0, abs=0.01)
    assert astm_g_intercept(0.0089) == pytest.approx(10.34, abs=0.01)  # MANIFEST: steel G


# --- bad input: a clear ToolError, never a number ----------------------------------------------


@pytest.mark.parametrize(
    "nm_per_pixel", [0.0, -5.0, float("nan"), float("inf"), 0.01, 2e5, None, "225", True],
    ids=["zero", "negative", "nan", "inf", "too-small", "too-large", "missing", "text", "bool"])
def test_bad_pixel_size_is_refused(nm_per_pixel: object) -> None:
    with pytest.raises(ToolError, match="nm_per_pixel"):
        estimate_grain_size(stripes(), nm_per_pixel)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("image", "message"),
    [(np.full((200, 200), 0.5), "blank"),
     (np.random.default_rng(0).random((256, 256)), "no grain"),
     (np.random.default_rng(1).normal(0.5, 0.1, (300, 200)), "no grain")],
    ids=["blank", "uniform-noise", "gaussian-noise"])
def test_images_without_grains_are_refused(image: np.ndarray, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        estimate_grain_size(image, UM_PER_PX)


@pytest.mark.parametrize(("kwargs", "message"),
                         [({"method": "jeffries"}, "method"),
                          ({"boundaries": "white"}, "boundaries"),
                          ({"crop_bottom_px": 300}, "crop_bottom_px")],
                         ids=["method", "boundaries", "crop"])
def test_bad_options_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        estimate_grain_size(stripes(), UM_PER_PX, **kwargs)


# --- registry tool and CLI ---------------------------------------------------------------------


@pytest.fixture()
def context(tmp_path: Path) -> ToolContext:
    (tmp_path / "assets").mkdir()
    Image.fromarray(np.round(squares() * 255).astype(np.uint8)).save(tmp_path / "assets" / "g.png")
    asset = Asset(id="img0", kind="image", path="assets/g.png", sha256="0" * 64)
    return ToolContext(tmp_path, {"img0": asset})


def test_tool_schema_hides_the_context() -> None:
    schema = REGISTRY.get("estimate_grain_size").openai_schema()["function"]
    params = schema["parameters"]
    assert set(params["properties"]) == {"image", "nm_per_pixel", "method", "boundaries",
                                         "crop_bottom_px", "overlay", "two_phase"}
    assert params["required"] == ["image", "nm_per_pixel"]
    assert "E112" in schema["description"]


def test_tool_writes_overlays_into_outputs(context: ToolContext, tmp_path: Path) -> None:
    spec = REGISTRY.get("estimate_grain_size")
    arguments = {"image": "img0", "nm_per_pixel": 500.0, "method": "planimetric",
                 "overlay": True}
    first, second = spec.run(arguments, context), spec.run(arguments, context)
    assert first["overlay"] == "outputs/grains_img0.png"
    assert second["overlay"] == "outputs/grains_img0-2.png"
    assert (tmp_path / "outputs" / "grains_img0.png").stat().st_size > 0
    assert spec.run({"image": "img0", "nm_per_pixel": 500.0}, context)["overlay"] is None


def test_tool_errors_leave_no_files(context: ToolContext, tmp_path: Path) -> None:
    spec = REGISTRY.get("estimate_grain_size")
    with pytest.raises(ToolError, match="nm_per_pixel"):
        spec.run({"image": "img0", "nm_per_pixel": -1.0, "overlay": True}, context)
    with pytest.raises(ToolError, match="unknown attachment"):
        spec.run({"image": "img9", "nm_per_pixel": 1.0, "overlay": True}, context)
    outputs = tmp_path / "outputs"
    assert not outputs.exists() or not any(outputs.iterdir())


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=600, check=False)


def test_cli_measures_the_steel(realdata: Path, tmp_path: Path) -> None:
    result = run_cli("tool", "estimate_grain_size", "--image", str(realdata.joinpath(*STEEL)),
                     "--nm-per-pixel", str(STEEL_NM_PER_PX), "--overlay", "true", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    reading = json.loads(result.stdout)
    assert 8.4 * 0.9 <= reading["mean_intercept_um"] <= 8.9 * 1.1
    assert reading["overlay"] == "outputs/grains_image.png"
    assert (tmp_path / "outputs" / "grains_image.png").is_file()


def test_cli_bad_pixel_size_is_one_clear_line(realdata: Path, tmp_path: Path) -> None:
    result = run_cli("tool", "estimate_grain_size", "--image", str(realdata.joinpath(*STEEL)),
                     "--nm-per-pixel", "0", cwd=tmp_path)
    assert result.returncode == 2
    assert "nm_per_pixel" in result.stderr and "Traceback" not in result.stderr


def test_two_phase_forces_a_split_of_close_grey_populations() -> None:
    """30 of 100 square grains a little darker, with tint scatter: a known second phase."""
    rng = np.random.default_rng(3)
    dark = np.zeros(100, bool)
    dark[rng.permutation(100)[:30]] = True
    tone = np.where(dark, 0.56, 0.66) + rng.normal(0.0, 0.025, 100)
    image = np.kron(tone.reshape(10, 10), np.ones((40, 40)))
    image[::40, :] = image[:, ::40] = 0.1  # dark boundary lines
    image += rng.normal(0.0, 0.01, image.shape)
    forced = estimate_grain_size(image, 500.0, boundaries="dark", crop_bottom_px=0,
                                 two_phase=True)
    assert forced.phase_fraction == pytest.approx(0.30, abs=0.05)
    never = estimate_grain_size(image, 500.0, boundaries="dark", crop_bottom_px=0,
                                two_phase=False)
    assert never.phase_fraction is None


# --- annotations drawn over the image, SEM shading, uneven light --------------------------------


def with_box(image: np.ndarray, top: int = 230, left: int = 20) -> np.ndarray:
    """``image`` with a black scale-bar box (70 x 130 px) holding a white bar and 'text'."""
    boxed = image.copy()
    boxed[top:top + 70, left:left + 130] = 0.0
    boxed[top + 45:top + 50, left + 10:left + 120] = 1.0  # the bar
    boxed[top + 10:top + 30, left + 30:left + 100:6] = 1.0  # strokes of a label
    return boxed


def test_annotation_box_is_excluded() -> None:
    """A flat black box drawn over a two-phase structure: counted as grains it would be a
    darker 'phase' of its own; excluded, the fraction and N_A stay those of the grains."""
    rng = np.random.default_rng(21)
    labels = voronoi(320, 120, rng)
    dark = rng.random(labels.max() + 1) < 0.3
    image = np.where(dark[labels], 0.4, 0.8)
    image = np.where(ndi.morphological_gradient(labels, size=3) > 0, 0.1, image)
    image = np.clip(image + 0.02 * rng.standard_normal(image.shape), 0.0, 1.0)
    image = np.round(image * 255) / 255  # 8-bit, as an image file holds it
    plain = estimate_grain_size(image, UM_PER_PX, boundaries="dark", crop_bottom_px=0,
                                two_phase=True)
    boxed = estimate_grain_size(with_box(image), UM_PER_PX, boundaries="dark",
                                crop_bottom_px=0, two_phase=True)
    outside = np.ones(labels.shape, bool)
    outside[228:302, 18:152] = False
    assert boxed.phase_fraction == pytest.approx(float(dark[labels][outside].mean()), abs=0.03)
    assert boxed.grains_per_mm2 == pytest.approx(plain.grains_per_mm2, rel=0.08)
    assert boxed.mean_intercept_um == pytest.approx(plain.mean_intercept_um, rel=0.05)
    assert any("annotation" in note for note in boxed.notes)
    assert not any("annotation" in note for note in plain.notes)


def test_flat_drawings_are_not_annotations() -> None:
    """A noise-free drawing is flat everywhere: its flat regions are its content."""
    from csmbench.tools._grain_overlay import find_annotations

    assert find_annotations(with_box(squares() * 0.8 + 0.1)) == []
    rng = np.random.default_rng(2)
    noisy = rng.uniform(0.3, 0.7, (200, 260))
    assert find_annotations(noisy) == []
    noisy[150:190, 100:200] = 1.0
    assert find_annotations(noisy) == [(148, 192, 98, 202)]


def test_shading_inside_sem_grains_does_not_split_them() -> None:
    """Channelling-contrast grains 64 px across whose gray drifts by up to ±0.03 inside
    (slow shading; neighbours differ by >= 0.2): the drift steps are significant over long
    borders, yet far below the steps between grains, so each grain stays one."""
    rng = np.random.default_rng(6)
    yy, xx = np.indices((384, 384))
    cells = (yy // 64) * 6 + xx // 64
    tone = np.array([0.2, 0.45, 0.7, 0.9])[(yy // 64 % 2) * 2 + xx // 64 % 2]
    shading = 0.03 * np.sin(xx / 23.0 + 1.0) * np.cos(yy / 29.0)
    image = ndi.gaussian_filter(tone + shading, 0.8) + 0.03 * rng.standard_normal(tone.shape)
    result = estimate_grain_size(image, UM_PER_PX, "planimetric", boundaries="contrast",
                                 crop_bottom_px=0)
    assert result.n_grains == np.unique(cells).size
    truth = jeffries_count(cells + 1) / cells.size * 1e6  # grains per mm² at 1 µm per px
    assert result.grains_per_mm2 == pytest.approx(truth, rel=0.01)


def test_phases_under_strong_vignetting() -> None:
    """Light falling off to 38 % in a corner (vignette and tilt) multiplies both phases'
    grays, and so their difference: split on a log scale, the phases keep their area
    fraction (an additive shading fit puts it 0.09 high here)."""
    rng = np.random.default_rng(4)
    labels = voronoi(360, 160, rng)
    dark = rng.random(labels.max() + 1) < 0.3
    image = np.where(dark[labels], 0.6, 0.85) + rng.normal(0.0, 0.02, labels.max() + 1)[labels]
    image = np.where(ndi.morphological_gradient(labels, size=3) > 0, 0.1, image)
    yy, xx = (np.indices(labels.shape) - 180) / 360
    image = image * (1.0 - (xx**2 + yy**2) + 0.25 * xx)
    result = estimate_grain_size(image + 0.01 * rng.standard_normal(image.shape), UM_PER_PX,
                                 boundaries="dark", crop_bottom_px=0, two_phase=True)
    assert result.phase_fraction == pytest.approx(float(dark[labels].mean()), abs=0.05)


# --- the fast building blocks equal their library counterparts ----------------------------------


def test_opencv_filters_equal_scipy() -> None:
    from csmbench.tools import _grain_filters as fast

    rng = np.random.default_rng(0)
    for shape in ((67, 93), (8, 8)):  # the second smaller than the widest window
        image = rng.random(shape).astype(np.float32)
        images = [image, image > 0.5, (image * 5000).astype(np.int32)]  # gray, mask, labels
        for size in (3, 5, 7, 9, 11):
            for data in images:
                for got, want in ((fast.maximum_filter(data, size),
                                   ndi.maximum_filter(data, size=size)),
                                  (fast.minimum_filter(data, size),
                                   ndi.minimum_filter(data, size=size))):
                    assert got.dtype == want.dtype and np.array_equal(got, want)
            assert np.array_equal(fast.grey_closing(image, size),
                                  ndi.grey_closing(image, size=(size, size)))
            assert np.array_equal(fast.grey_opening(image, size),
                                  ndi.grey_opening(image, size=(size, size)))
        for sigma in (0.7, 1.0, 1.5, 3.0):
            assert np.abs(fast.gaussian(image, sigma)
                          - ndi.gaussian_filter(image, sigma, truncate=3.0)).max() < 1e-6


def test_tables_equal_numpy_and_scipy() -> None:
    from csmbench.tools import _grain_tables as tables

    rng = np.random.default_rng(1)
    labels = voronoi(90, 25, rng)
    keys = rng.integers(0, 5000, 3000)
    for got, want in zip(tables.unique_inverse(keys), np.unique(keys, return_inverse=True),
                         strict=True):
        assert np.array_equal(got, want)
    boxes = tables.bounding_boxes(labels)
    for label, (rows, cols) in enumerate(ndi.find_objects(labels), start=1):
        assert tuple(boxes[label]) == (rows.start, rows.stop, cols.start, cols.stop)
    (right, one), (down, width) = tables.border_pairs(labels)
    assert one == 1 and width == labels.shape[1]
    assert right.size == np.count_nonzero(labels[:, 1:] != labels[:, :-1])
    assert down.size == np.count_nonzero(labels[1:] != labels[:-1])
    flat = labels.ravel()
    assert np.all(flat[right] != flat[right + 1]) and np.all(flat[down] != flat[down + width])
