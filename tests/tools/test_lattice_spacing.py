"""measure_lattice_spacing: d-spacings and plane angles of lattice images made independently here."""

from __future__ import annotations

import math

import numpy as np
import pytest
from ase.build import bulk

from csmbench.errors import ToolError
from csmbench.tools import REGISTRY, ToolContext
from csmbench.tools._lattice_spacing import measure_lattice_spacing

SI_A = 5.43102
"""Silicon lattice parameter, Å; d(111) = a/√3 = 3.1356 Å, d(220) = a/√8 = 1.9202 Å."""


def cosines(periods_px: list[float], angles_deg: list[float], size: int = 384) -> np.ndarray:
    """A sum of plane waves: fringes of the given periods whose normals point at the angles
    (counterclockwise from +x, y up)."""
    rows, cols = np.mgrid[0:size, 0:size].astype(float)
    image = np.full((size, size), 0.5)
    for period, angle in zip(periods_px, angles_deg, strict=True):
        t = math.radians(angle)
        image += 0.2 * np.cos(2 * np.pi * (cols * math.cos(t) - rows * math.sin(t)) / period)
    return image


@pytest.mark.parametrize(("periods", "angles"), [([13.7, 9.3], [21.0, 96.0]),
                                                 ([25.2, 17.9], [160.0, 52.5])],
                         ids=["acute", "obtuse"])
def test_plane_waves_give_their_period_and_angle(periods, angles) -> None:
    nm_per_pixel = 0.02
    result = measure_lattice_spacing(cosines(periods, angles), nm_per_pixel, crop_bottom_px=0)
    assert len(result.spots) == 2
    for spot in result.spots:
        k = min(range(2), key=lambda i: abs(spot.period_px - periods[i]))
        assert spot.d_angstrom == pytest.approx(periods[k] * nm_per_pixel * 10, rel=0.005)
        assert abs((spot.angle_deg - angles[k] + 90) % 180 - 90) < 0.5
    expected = abs(angles[0] - angles[1]) % 180
    assert result.plane_angles[0].angle_deg == pytest.approx(min(expected, 180 - expected),
                                                            abs=0.5)


def si_110_projection(nm_per_pixel: float, turn_deg: float, size: int = 400,
                      sigma_a: float = 0.45) -> np.ndarray:
    """Silicon seen down [110]: every atom of an ase supercell as a Gaussian column, summed
    in real space (no FFT), the projected plane turned by ``turn_deg``."""
    cell = bulk("Si", "diamond", a=SI_A, orthorhombic=True)  # x along <110>
    slab = cell.repeat((1, 40, 28))
    y, z = slab.positions[:, 1], slab.positions[:, 2]
    centre = np.array([y.mean(), z.mean()])
    t = math.radians(turn_deg)
    u = (y - centre[0]) * math.cos(t) - (z - centre[1]) * math.sin(t)
    v = (y - centre[0]) * math.sin(t) + (z - centre[1]) * math.cos(t)
    axis = (np.arange(size) - size / 2) * nm_per_pixel * 10  # Å
    gx = np.exp(-((axis[None, :] - u[:, None]) ** 2) / (2 * sigma_a**2))
    gy = np.exp(-((axis[None, :] - v[:, None]) ** 2) / (2 * sigma_a**2))
    return gy.T @ gx


@pytest.mark.parametrize(("nm_per_pixel", "turn"), [(0.02, 17.0), (0.035, 63.0)],
                         ids=["0.02nm", "0.035nm"])
def test_silicon_110_gives_d111_and_the_70_degree_angle(nm_per_pixel, turn) -> None:
    image = si_110_projection(nm_per_pixel, turn)
    image = image / image.max() + np.random.default_rng(0).normal(0, 0.2, image.shape)
    result = measure_lattice_spacing(image, nm_per_pixel, crop_bottom_px=0)
    d111 = SI_A / math.sqrt(3)
    strongest = result.spots[:2]
    assert [s.d_angstrom for s in strongest] == pytest.approx([d111, d111], rel=0.01)
    assert result.largest_d_angstrom == pytest.approx(d111, rel=0.01)  # 002 is forbidden
    difference = abs(strongest[0].angle_deg - strongest[1].angle_deg)
    assert min(difference, 180 - difference) == pytest.approx(70.53, abs=1.0)
    assert any(s.d_angstrom == pytest.approx(SI_A / math.sqrt(8), rel=0.01)
               for s in result.spots)


def test_databar_and_scale_bar_pixels_are_left_out() -> None:
    image = cosines([12.5, 8.0], [30.0, 120.0], size=320)
    image[20:32, 20:120] = 1.0  # a burned-in white bar
    framed = np.vstack([image, np.zeros((40, 320))])
    framed[335:345, 30:130] = 1.0  # the bar in the strip
    result = measure_lattice_spacing(framed, 0.02)
    assert result.excluded_bottom_px == 40
    assert sorted(s.period_px for s in result.spots[:2]) == pytest.approx([8.0, 12.5], rel=0.005)
    assert all(s.relative_strength > 0.5 for s in result.spots)


def test_noise_has_no_spots() -> None:
    noise = np.random.default_rng(3).uniform(0.2, 0.8, (256, 256))
    result = measure_lattice_spacing(noise, 0.02, crop_bottom_px=0)
    assert result.spots == [] and result.largest_d_angstrom is None
    assert "no FFT spot" in result.notes[-1]


@pytest.mark.parametrize("bad", [0.0, -0.02, 5.0, float("nan"), True, "0.02"],
                         ids=["zero", "negative", "too-large", "nan", "bool", "string"])
def test_bad_pixel_size_is_refused(bad) -> None:
    with pytest.raises(ToolError, match="nm_per_pixel"):
        measure_lattice_spacing(cosines([10.0], [0.0], 128), bad)


def test_small_flat_and_cropped_away_images_are_refused() -> None:
    with pytest.raises(ToolError, match="at least 64 px"):
        measure_lattice_spacing(cosines([8.0], [0.0], 48), 0.02)
    with pytest.raises(ToolError, match="flat"):
        measure_lattice_spacing(np.full((128, 128), 0.4), 0.02, crop_bottom_px=0)
    with pytest.raises(ToolError, match="crop_bottom_px"):
        measure_lattice_spacing(cosines([8.0], [0.0], 128), 0.02, crop_bottom_px=100)


def test_registry_tool_reads_an_attachment(tmp_path) -> None:
    from PIL import Image

    path = tmp_path / "fringes.png"
    Image.fromarray(np.round(cosines([16.0], [45.0], 256) * 255).astype(np.uint8)).save(path)
    context = ToolContext.from_files({"img0": path}, tmp_path)
    content = REGISTRY.get("measure_lattice_spacing").run(
        {"image": "img0", "nm_per_pixel": 0.025}, context)
    spot = content["spots"][0] if isinstance(content, dict) else content.spots[0]
    d = spot["d_angstrom"] if isinstance(spot, dict) else spot.d_angstrom
    assert d == pytest.approx(4.0, rel=0.005)
