"""Synthetic microstructures: truth from geometry and ASTM E112, generator, renders."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import ndimage
from skimage.measure import regionprops

from csmbench.episodes.generators._bar_design import random_design
from csmbench.episodes.generators._grain_truth import (
    g_from_grains_per_mm2,
    g_from_intercept_mm,
    grain_shapes,
    grain_truth,
    grains_per_mm2_for_g,
    intercept_counts,
    intercept_mm_for_g,
    jeffries_count,
)
from csmbench.episodes.generators._microstructure import (
    MicrostructureSpec,
    generate_microstructure,
    stretch_matrix,
    tessellate,
)
from csmbench.episodes.generators._microstructure_render import (
    RENDER_STYLES,
    microstructure_specimen,
    render_microstructure,
)
from csmbench.episodes.generators._scale_bar_render import render_micrograph

MM2_PER_IN2_AT_100X = (25.4 / 100.0) ** 2
"""Area at 1x of one square inch seen at 100x, mm^2 (E112's definition of G)."""


def _stripes(width: int, count: int, height: int) -> np.ndarray:
    """Vertical stripes `width` px wide, shifted half a stripe: the frame cuts the end ones."""
    j = np.arange(width * count)
    return np.tile(((j + width // 2) // width + 1)[None, :], (height, 1)).astype(np.int32)


def _grid(k: int, n: int) -> np.ndarray:
    """n*k x n*k frame of k x k squares, shifted by k/2: n-1 whole squares a side, halves at
    the edges and quarters at the corners."""
    block = (np.arange(n * k) + k // 2) // k
    return (block[:, None] * (n + 1) + block[None, :] + 1).astype(np.int32)


def _generate(seed: int = 0, **changes):
    spec = MicrostructureSpec(**{"height_px": 384, "width_px": 512, "grain_size_px": 24.0,
                                 **changes})
    return generate_microstructure(spec, np.random.default_rng(seed))


# --- truth: exact values of hand-made label images -------------------------------------


@pytest.mark.parametrize("width", [3, 6, 11], ids=lambda w: f"w{w}")
def test_stripes_give_their_width_across_and_width_root2_on_diagonals(width):
    counts = {c.direction_deg: c for c in intercept_counts(_stripes(width, 10, 17))}
    assert counts[0].intercept_px == width
    assert counts[45].intercept_px == pytest.approx(width * math.sqrt(2), rel=1e-12)
    assert counts[135].intercept_px == pytest.approx(width * math.sqrt(2), rel=1e-12)
    assert counts[90].intersections == 0 and math.isinf(counts[90].intercept_px)


def test_diagonal_end_exactly_on_a_boundary_scores_one_half():
    # 3 x 4 frame, boundary at x = 2: three 45-degree lines cross it (its length 3 times
    # cos 45 over the line spacing 1/sqrt 2); two cross inside, two more end on it (1/2 each).
    labels = np.array([[1, 1, 2, 2]] * 3, dtype=np.int32)
    counts = {c.direction_deg: c for c in intercept_counts(labels)}
    assert counts[45].intersections == 3.0
    assert counts[135].intersections == 3.0
    assert counts[45].length_px == pytest.approx(12 * math.sqrt(2))


@pytest.mark.parametrize("k", [4, 7, 10], ids=lambda k: f"k{k}")
def test_square_grid_gives_intercept_k_and_one_grain_per_k2(k):
    labels = _grid(k, 9)
    counts = {c.direction_deg: c for c in intercept_counts(labels)}
    assert counts[0].intercept_px == k and counts[90].intercept_px == k
    truth = grain_truth(labels, 1.0)
    assert truth.grains_per_mm2 == pytest.approx(1e6 / k**2, rel=1e-12)
    assert truth.ecd_mean_um == pytest.approx(2 * k / math.sqrt(math.pi))
    assert truth.ecd_std_um == pytest.approx(0.0, abs=1e-9)
    assert truth.mean_aspect_ratio == pytest.approx(1.0)


def test_jeffries_rectangle_count_by_hand():
    # 8 x 8 px, squares of 4 px shifted by 2: one whole grain, four halves, four quarters.
    labels = _grid(4, 2)
    assert labels.shape == (8, 8) and np.unique(labels).size == 9
    count = jeffries_count(labels)
    assert (count.inside, count.intercepted, count.corners) == (1, 4, 4)
    assert count.equivalent == 1 + 0.5 * 4 + 1 == 4
    truth = grain_truth(labels, 10.0)  # 80 x 80 µm = 0.0064 mm^2
    assert truth.grains_per_mm2 == pytest.approx(4 / 0.0064) == 625.0
    assert truth.mean_grain_area_um2 == pytest.approx(40.0**2)


def test_a_single_grain_filling_the_frame():
    truth = grain_truth(np.ones((20, 30), dtype=np.int32), 2.0)
    assert truth.jeffries.equivalent == 1.0  # four corner quarters of one grain
    assert truth.n_grains == 1 and truth.n_interior == 0
    assert math.isinf(truth.mean_intercept_um) and truth.g_intercept == -math.inf


def test_truth_rejects_untiled_pixels_and_bad_pixel_sizes():
    with pytest.raises(ValueError, match="labels >= 1"):
        grain_truth(np.zeros((4, 4), dtype=np.int32), 1.0)
    with pytest.raises(ValueError, match="um_per_px"):
        grain_truth(np.ones((4, 4), dtype=np.int32), 0.0)


@pytest.mark.parametrize(
    ("g", "intercept_um", "grains_per_mm2"),
    [(0.0, 320.0, 7.75), (5.0, 56.6, 248.0), (8.0, 20.0, 1984.0), (10.0, 10.0, 7937.0)],
    ids=["G0", "G5", "G8", "G10"],
)
def test_e112_formulas_at_table_points(g, intercept_um, grains_per_mm2):
    # E112 defines n = 2**(G - 1) grains per in^2 at 100x; Table 4 lists these rounded values.
    assert grains_per_mm2 == pytest.approx(2 ** (g - 1) / MM2_PER_IN2_AT_100X, rel=2e-3)
    assert g_from_grains_per_mm2(grains_per_mm2) == pytest.approx(g, abs=0.005)
    assert g_from_intercept_mm(intercept_um / 1e3) == pytest.approx(g, abs=0.01)
    assert grains_per_mm2_for_g(g) == pytest.approx(grains_per_mm2, rel=2e-3)
    assert intercept_mm_for_g(g) * 1e3 == pytest.approx(intercept_um, rel=2e-3)


def test_shape_axes_match_skimage_regionprops():
    labels = _generate(3, aspect_ratio=2.0, elongation_deg=20.0).labels
    _, major, minor, _ = grain_shapes(labels)
    props = regionprops(labels)
    assert np.allclose([p.axis_major_length for p in props], major[1:], atol=1e-9)
    assert np.allclose([p.axis_minor_length for p in props], minor[1:], atol=1e-9)


# --- truth of a Poisson-Voronoi tessellation: 2-D stereology ------------------------------


def test_poisson_voronoi_matches_stereology():
    # Seeds of density lam: mean cell area 1/lam, boundary length per area L_A = 2 sqrt(lam),
    # P_L = (2/pi) L_A, so the mean intercept is pi / (4 sqrt(lam)) (and l^2 N_A = pi^2/16).
    d = 28.0
    spec = MicrostructureSpec(1536, 1536, d)
    truth = grain_truth(generate_microstructure(spec, np.random.default_rng(11)).labels, 1.0)
    # The seed count is Poisson (~3000 here, 1.8 % spread): N_A and l each within 6 %; their
    # combination l^2 N_A does not depend on it (pixels add ~1 % to l at l = 22 px).
    grains_per_px2 = truth.grains_per_mm2 * 1e-6
    assert grains_per_px2 * d**2 == pytest.approx(1.0, rel=0.06)
    assert truth.mean_intercept_um == pytest.approx(math.pi / 4 * d, rel=0.06)
    assert truth.mean_intercept_um**2 * grains_per_px2 == pytest.approx(math.pi**2 / 16, rel=0.035)
    for intercept in truth.intercept_by_direction_um:
        assert intercept == pytest.approx(truth.mean_intercept_um, rel=0.04)
    # E112's two formulas agree for l^2 N_A = 0.7935; Poisson-Voronoi gives G 0.36 higher.
    assert truth.g_intercept - truth.g_planimetric == pytest.approx(
        3.321928 * math.log10(0.7935 / (math.pi**2 / 16)), abs=0.06)
    # Cell areas of 2-D Poisson-Voronoi have CV 0.529, so ECD CV is about half of it.
    assert truth.ecd_std_um / truth.ecd_mean_um == pytest.approx(0.26, abs=0.04)


# --- generator ---------------------------------------------------------------------------


def test_tessellate_matches_brute_force_power_diagram():
    rng = np.random.default_rng(5)
    seeds = rng.uniform(-60, 60, (40, 2))
    weights = rng.uniform(0, 150, 40)
    transform = np.linalg.inv(stretch_matrix(2.5, 35.0))
    labels = tessellate((45, 70), seeds, weights, transform)
    rows, cols = np.mgrid[0:45, 0:70]
    p = np.stack([cols + 0.5 - 35.0, rows + 0.5 - 22.5], axis=-1) @ transform.T
    power = ((p[..., None, :] - seeds) ** 2).sum(-1) - weights
    assert np.array_equal(labels, power.argmin(-1))


def test_stretch_keeps_areas_and_scales_lengths_by_root_aspect():
    s = stretch_matrix(4.0, 90.0)  # up on screen is -y in pixel coordinates
    assert np.allclose(s @ [0.0, -1.0], [0.0, -2.0]) and np.allclose(s @ [1.0, 0.0], [0.5, 0.0])
    assert np.linalg.det(stretch_matrix(3.0, 17.0)) == pytest.approx(1.0)


@pytest.mark.parametrize("tessellation", ["voronoi", "laguerre"])
def test_labels_tile_the_frame_and_repeat_with_the_seed(tessellation):
    sigma = 0.5 if tessellation == "laguerre" else 0.0
    changes = {"tessellation": tessellation, "size_sigma": sigma, "twin_fraction": 0.3,
               "second_phase_fraction": 0.2}
    a, b, c = _generate(7, **changes), _generate(7, **changes), _generate(8, **changes)
    assert a.labels.dtype == np.int32 and a.labels.shape == (384, 512)
    assert a.labels.min() == 1 and np.unique(a.labels).size == a.n_grains
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.twins, b.twins)
    assert np.array_equal(a.grain_phase, b.grain_phase)
    assert not np.array_equal(a.labels, c.labels)


def _fabric(labels: np.ndarray) -> tuple[float, float]:
    """sqrt of the eigenvalue ratio of the summed grain second-moment tensors, and the major
    direction (degrees, display convention): an isotropic structure stretched by a gives a."""
    total = np.zeros((2, 2))
    for region in regionprops(labels):
        xy = region.coords[:, ::-1] * [1.0, -1.0]  # x right, y up
        total += np.cov(xy.T, bias=True) * region.area
    values, vectors = np.linalg.eigh(total)
    angle = math.degrees(math.atan2(vectors[1, 1], vectors[0, 1])) % 180.0
    return math.sqrt(values[1] / values[0]), angle


@pytest.mark.parametrize(("aspect", "angle"), [(2.5, 0.0), (3.0, 30.0), (2.0, 120.0)],
                         ids=["a2.5-0deg", "a3-30deg", "a2-120deg"])
def test_stretched_grains_have_the_stretch_as_aspect_ratio(aspect, angle):
    m = generate_microstructure(MicrostructureSpec(768, 768, 22.0, aspect_ratio=aspect,
                                                   elongation_deg=angle), np.random.default_rng(2))
    ratio, direction = _fabric(m.labels)
    assert ratio == pytest.approx(aspect, rel=0.08)
    assert min(abs(direction - angle), 180 - abs(direction - angle)) < 4.0
    truth = grain_truth(m.labels, 1.0)
    assert truth.mean_aspect_ratio > aspect
    if angle == 0.0:  # intercepts along / across the stretch scale by sqrt(a) and 1/sqrt(a)
        along, _, across, _ = truth.intercept_by_direction_um
        assert along / across == pytest.approx(aspect, rel=0.06)


def test_laguerre_sigma_widens_the_size_distribution_at_the_same_grain_density():
    cv, density = [], []
    for sigma in (0.0, 0.4, 0.8):
        spec = MicrostructureSpec(768, 768, 20.0, tessellation="laguerre", size_sigma=sigma)
        truth = grain_truth(generate_microstructure(spec, np.random.default_rng(4)).labels, 1.0)
        cv.append(truth.ecd_std_um / truth.ecd_mean_um)
        density.append(truth.grains_per_mm2 * 1e-6 * 20.0**2)
    assert cv[0] < 0.15 < cv[1] < cv[2]
    assert density == pytest.approx([1.0, 1.0, 1.0], rel=0.1)  # Poisson seed count


def test_twins_are_a_separate_mask_that_leaves_the_grains_alone():
    plain, twinned = _generate(9), _generate(9, twin_fraction=0.6)
    assert np.array_equal(plain.labels, twinned.labels)
    assert grain_truth(plain.labels, 1.0) == grain_truth(twinned.labels, 1.0)
    assert not plain.twins.any() and 0.02 < twinned.twins.mean() < 0.5
    with_twins = np.unique(twinned.labels[twinned.twins])
    share = ndimage.mean(twinned.twins, twinned.labels, with_twins)
    assert np.all(share < 1.0)  # a band never fills its parent grain
    assert 0.3 < with_twins.size / twinned.n_grains <= 0.6 + 0.1


@pytest.mark.parametrize("fraction", [0.0, 0.3, 0.55, 1.0])
def test_second_phase_fraction_is_reached_and_reported_exactly(fraction):
    m = _generate(6, second_phase_fraction=fraction)
    phase = m.phase_map
    assert set(np.unique(phase)) <= {1, 2} and m.grain_phase[0] == 0
    assert m.second_phase_fraction == np.mean(phase == 2)
    largest = np.bincount(m.labels.ravel()).max() / m.labels.size
    assert abs(m.second_phase_fraction - fraction) <= largest / 2
    truth = grain_truth(m.labels, 0.5, grain_phase=m.grain_phase)
    assert truth.second_phase_fraction == m.second_phase_fraction


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"grain_size_px": 1.0}, "grain_size_px"), ({"size_sigma": 0.3}, "laguerre"),
     ({"aspect_ratio": 0.5}, "aspect_ratio"), ({"twin_fraction": 1.5}, "twin_fraction"),
     ({"tessellation": "hexagonal"}, "tessellation")],
    ids=["tiny-grains", "sigma-voronoi", "aspect-below-1", "twin-fraction", "tessellation"],
)
def test_spec_rejects_bad_values(changes, message):
    base = MicrostructureSpec(64, 64, 10.0)
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(base, **changes)


# --- renders -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def structure():
    return _generate(1, tessellation="laguerre", size_sigma=0.4, twin_fraction=0.3,
                     second_phase_fraction=0.25)


def _render(m, style, seed=3):
    return render_microstructure(m.labels, style, np.random.default_rng(seed), twins=m.twins,
                                 grain_phase=m.grain_phase)


@pytest.mark.parametrize("style", RENDER_STYLES)
def test_render_is_uint8_and_repeats_with_the_seed(structure, style):
    image = _render(structure, style)
    assert image.dtype == np.uint8 and image.shape == structure.labels.shape
    assert image.tobytes() == _render(structure, style).tobytes()
    assert image.tobytes() != _render(structure, style, seed=4).tobytes()
    assert int(image.max()) - int(image.min()) > 150


def _boundary_and_interior(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    change = np.zeros(labels.shape, dtype=bool)
    change[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    change[1:, :] |= labels[1:, :] != labels[:-1, :]
    far = ndimage.distance_transform_edt(~change) >= 5
    return change, far


@pytest.mark.parametrize("style", ["etched_optical", "ebsd_band_contrast"])
def test_boundaries_are_darker_than_grain_interiors(structure, style):
    image = _render(structure, style).astype(float)
    boundary, interior = _boundary_and_interior(structure.labels)
    interior &= ~structure.twins
    assert image[boundary].mean() < image[interior].mean() - 60


def test_sem_shows_grain_to_grain_contrast(structure):
    image = _render(structure, "sem").astype(float)
    _, interior = _boundary_and_interior(structure.labels)
    interior &= ~structure.twins
    grains, pixels = structure.labels[interior], image[interior]
    count = np.bincount(grains)
    present = count > 0
    means = np.bincount(grains, pixels)[present] / count[present]
    spread = np.sqrt(np.bincount(grains, pixels**2)[present] / count[present] - means**2)
    assert means.std() > 2.5 * np.median(spread)


def test_render_rejects_unknown_style_and_mismatched_twins(structure):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="style"):
        render_microstructure(structure.labels, "xray", rng)
    with pytest.raises(ValueError, match="twins"):
        render_microstructure(structure.labels, "sem", rng, twins=np.zeros((3, 3), bool))


def test_specimen_composes_with_a_scale_bar(structure):
    specimen = microstructure_specimen(structure.labels, "etched_optical",
                                       np.random.default_rng(2), twins=structure.twins)
    assert specimen.dtype == np.float64 and 0.0 <= specimen.min() <= specimen.max() <= 1.0
    design = random_design(np.random.default_rng(0), width_px=512, modality="optical")
    micrograph = render_micrograph(specimen, design, "optical")
    assert micrograph.specimen_bbox == (0, 0, 512, 384)
    truth = grain_truth(structure.labels, micrograph.nm_per_pixel / 1e3)
    assert truth.um_per_px == design.nm_per_pixel / 1e3
