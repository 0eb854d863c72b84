import numpy as np
import pytest

from sgdcheck import stability
from sgdcheck.errors import InvalidArgumentError
from sgdcheck.landscapes import EscapeToy1D
from sgdcheck.minima_sums import (MinimaSum, degenerate_vs_isolated_2d, equal_nonuniformity_2d, equal_sharpness_2d,
                                  minima_menu, wide_nonuniform_vs_narrow_2d, wu2018_section2)
from sgdcheck.samplers import sgd


def test_section_2_example_is_the_one_dimensional_case():
    f, toy = wu2018_section2(), EscapeToy1D()
    grid = np.linspace(-1.5, 2.5, 81)[:, None]
    np.testing.assert_allclose(f.value(grid), toy.value(grid), rtol=1e-12)
    np.testing.assert_allclose(f.grad(grid), toy.grad(grid), rtol=1e-12, atol=1e-15)
    assert f.sharpness_nonuniformity(0) == pytest.approx((2.0, 0.0))
    assert f.sharpness_nonuniformity(1) == pytest.approx((2.0, 1.8))
    assert np.all(f.value(f.minima) == 0)


def test_two_dimensional_minima_differ_in_s_or_in_a_only():
    same_a = equal_sharpness_2d(a=2.0, s=1.8)
    assert same_a.sharpness_nonuniformity(0) == pytest.approx((2.0, 0.0), abs=1e-12)
    assert same_a.sharpness_nonuniformity(1) == pytest.approx((2.0, 1.8))
    same_s = equal_nonuniformity_2d(a_flat=2.0, a_sharp=3.0, s=1.8)
    assert same_s.sharpness_nonuniformity(0) == pytest.approx((2.0, 1.8))
    assert same_s.sharpness_nonuniformity(1) == pytest.approx((3.0, 1.8))
    for f in (same_a, same_s):
        assert np.all(np.abs(f.value(f.minima)) < 1e-15)                 # equal depth: both global
        sigma = stability.mean_and_sigma(f.component_hessians(1))[1]
        assert np.linalg.eigvalsh(sigma)[0] == pytest.approx(np.linalg.eigvalsh(sigma)[-1])  # s in every direction


def test_sgd_leaves_the_minimum_that_is_unstable_for_it_and_stays_at_the_other():
    """Equal depth and equal sharpness, only s differs (Sec. 2 in two dimensions): at eta = 0.6, B = 1 the
    uniform minimum is stable and SGD leaves the non-uniform one for it; with B = 2 it stays at both."""
    f = equal_sharpness_2d(a=2.0, s=1.8)
    lr = 0.6
    assert f.mean_square_rate(0, lr, 1) < 1 < f.mean_square_rate(1, lr, 1)
    assert f.mean_square_rate(1, lr, 2) < 1
    rng = np.random.default_rng(3)
    for k, batch_size, expected in ((0, 1, 0), (1, 1, 0), (1, 2, 1)):
        start = f.minima[k] + 1e-3 * rng.normal(size=(400, 2))
        run = sgd(f, start, lr, batch_size, 400, rng)
        assert np.all(f.nearest_minimum(run.x) == expected)
        assert np.linalg.norm(run.x - f.minima[expected], axis=1).max() < 1e-6


def test_near_a_minimum_sgd_is_the_linear_map_of_its_local_sum():
    f = equal_sharpness_2d(a=2.0, s=1.8)
    local = f.local_sum(1)
    x = f.minima[1] + 1e-4 * np.random.default_rng(4).normal(size=(50, 2))
    np.testing.assert_allclose(f.component_grads(x), local.component_grads(x), rtol=1e-12)
    assert local.interpolating and np.allclose(local.minimum, f.minima[1])


def test_nearest_minimum_marks_points_that_are_not_finite():
    f = wu2018_section2()
    assert list(f.nearest_minimum(np.array([[0.1], [0.9], [np.nan]]))) == [0, 1, -1]


@pytest.mark.parametrize("build, message", [
    (lambda: MinimaSum([[0.0]], [[[[1.0]], [[1.0]]]]), "K >= 2"),
    (lambda: MinimaSum([[0.0], [1.0]], [[[[1.0]]], [[[1.0]]]]), "n >= 2"),
    (lambda: MinimaSum([[0.0], [1.0]], [[[[1.0]], [[-2.0]]], [[[1.0]], [[1.0]]]]), "semi-definite"),
    (lambda: equal_sharpness_2d(a=2.0, s=2.5), "s <= a"),
    (lambda: equal_nonuniformity_2d(a_flat=3.0, a_sharp=2.0), "a_flat <= a_sharp"),
    (lambda: wu2018_section2().sharpness_nonuniformity(2), "minimum index"),
])
def test_bad_landscapes_are_named(build, message):
    with pytest.raises(InvalidArgumentError, match=message):
        build()


def test_menu_pairs_every_sharpness_with_every_non_uniformity():
    menu = minima_menu([1.0, 2.0, 3.0], [0.0, 0.5], n=4, seed=1)
    pairs = sorted(tuple(round(v, 12) for v in menu.sharpness_nonuniformity(k)) for k in range(menu.count))
    assert pairs == sorted((a, s) for a in (1.0, 2.0, 3.0) for s in (0.0, 0.5))
    assert np.all(menu.value(menu.minima) == 0)
    with pytest.raises(InvalidArgumentError, match="non-uniformities in"):
        minima_menu([1.0, 2.0], [1.0])                  # a - s = 0: a flat component
    with pytest.raises(InvalidArgumentError, match="even n"):
        minima_menu([1.0], [0.5], n=3)
    with pytest.raises(InvalidArgumentError, match="pattern"):
        minima_menu([1.0], [0.5], pattern="spikes")
    outlier = minima_menu([1.0, 2.0], [0.0, 2.6], n=8, pattern="outlier")
    found = sorted(tuple(round(v, 9) for v in outlier.sharpness_nonuniformity(k)) for k in range(outlier.count))
    assert found == [(1.0, 0.0), (1.0, 2.6), (2.0, 0.0), (2.0, 2.6)]
    assert outlier.hessians.min() >= 0


def test_wide_non_uniform_minimum_against_a_narrow_uniform_one():
    f = wide_nonuniform_vs_narrow_2d(a_wide=1.0, s_wide=0.95, a_narrow=1.5)
    assert f.sharpness_nonuniformity(0) == pytest.approx((1.0, 0.95))
    assert f.sharpness_nonuniformity(1) == pytest.approx((1.5, 0.0), abs=1e-12)
    # at eta = 1.2 both are stable for GD (a < 2/eta), only the narrow one for SGD with B = 1
    assert f.mean_square_rate(1, 1.2, 1) < 1 < f.mean_square_rate(0, 1.2, 1)
    assert f.mean_square_rate(0, 1.2, 4) < 1
    with pytest.raises(InvalidArgumentError, match="s_wide < a_wide < a_narrow"):
        wide_nonuniform_vs_narrow_2d(a_wide=2.0, a_narrow=1.5)


def test_shifted_minimum_keeps_its_place_and_gains_additive_noise():
    hessians = [np.stack([np.eye(1) * 2.0] * 4), np.stack([np.eye(1) * 4.0] * 4)]
    shifts = [np.zeros((4, 1)), np.array([[0.5], [-0.5], [0.5], [-0.5]])]
    f = MinimaSum([[0.0], [2.0]], hessians, shifts=shifts, depths=[0.0, 0.1])
    np.testing.assert_allclose(f.minimum_values(), [0.0, 0.1 + 0.5 * 4 * 0.25])
    np.testing.assert_allclose(f.value(f.minima), f.minimum_values(), atol=1e-12)
    np.testing.assert_allclose(f.grad(f.minima), 0.0, atol=1e-12)
    grads = f.component_grads(f.minima)
    assert np.abs(grads[0]).max() == 0 and np.abs(grads[1]).max() == pytest.approx(2.0)    # noise at m_1 only
    with pytest.raises(InvalidArgumentError, match="sum_i H_ki e_ki = 0"):
        MinimaSum([[0.0], [2.0]], hessians, shifts=[np.zeros((4, 1)), np.full((4, 1), 0.5)])
    with pytest.raises(InvalidArgumentError, match="shifts must be finite"):
        MinimaSum([[0.0], [2.0]], hessians, shifts=np.zeros((2, 3, 1)))


def test_the_local_sum_of_a_shifted_minimum_keeps_its_shifts():
    hessians = [np.stack([np.eye(1) * 2.0] * 4), np.stack([np.eye(1) * 4.0] * 4)]
    shifts = [np.zeros((4, 1)), np.array([[0.5], [-0.5], [0.5], [-0.5]])]
    f = MinimaSum([[0.0], [3.0]], hessians, shifts=shifts)
    local = f.local_sum(1)
    x = np.array([[3.01], [2.9]])
    np.testing.assert_allclose(local.component_grads(x), f.component_grads(x), rtol=1e-12)
    assert not local.interpolating and local.minimum == pytest.approx([3.0])


def test_a_minimum_whose_components_are_taken_by_another_quadratic_is_refused():
    flat_far = [np.stack([np.eye(1) * 2.0] * 2), np.stack([np.eye(1) * 2.0] * 2)]
    with pytest.raises(InvalidArgumentError, match="as small as its own"):
        MinimaSum([[0.0], [1.0]], flat_far, depths=[0.0, -5.0])
    with pytest.raises(InvalidArgumentError, match="finite points"):
        MinimaSum([[0.0], [np.nan]], flat_far)


def test_a_degenerate_minimum_is_a_flat_valley_of_global_minima():
    f = degenerate_vs_isolated_2d(a=1.0, s_valley=0.3, s_isolated=0.95)
    valley = np.column_stack([np.full(7, -1.0), np.linspace(-3, 3, 7)])
    assert np.all(np.abs(f.value(valley)) < 1e-15) and np.all(np.abs(f.component_grads(valley)) < 1e-15)
    assert f.value(np.array([[1.0, 0.0]]))[0] == 0.0
    assert f.sharpness_nonuniformity(0) == pytest.approx((1.0, 0.3))
    assert f.sharpness_nonuniformity(1) == pytest.approx((1.0, 0.95))
    # distance to the valley is across it only: points far along it are still at the valley
    assert f.nearest_minimum(valley).tolist() == [0] * 7
    np.testing.assert_allclose(f.distances(np.array([[-0.5, 2.0]])), [[0.5, np.hypot(1.5, 2.0)]])
    assert f.curved_hessians(0)[:, 0, 0] == pytest.approx([1.3, 0.7, 1.3, 0.7])


def test_stability_across_a_valley_is_the_one_dimensional_rate():
    f = degenerate_vs_isolated_2d(a=1.0, s_valley=0.95, s_isolated=0.0)
    for lr in (0.5, 1.5):
        across = stability.mean_square_rate(np.array([[[1.95]], [[0.05]], [[1.95]], [[0.05]]]), lr, 1)
        assert f.mean_square_rate(0, lr, 1) == pytest.approx(across)
        assert f.mean_square_rate(0, lr, 1) == pytest.approx((1 - lr) ** 2 + lr**2 * 0.95**2)


def test_sgd_leaves_the_non_uniform_valley_where_it_is_unstable_and_never_moves_along_it():
    f = degenerate_vs_isolated_2d(a=1.0, s_valley=0.95, s_isolated=0.0)
    start = np.column_stack([np.full(200, -1.0 + 1e-3), np.linspace(-2, 2, 200)])
    stays = sgd(f, start, 0.5, 1, 400, np.random.default_rng(0))
    assert np.all(f.nearest_minimum(stays.x) == 0)
    np.testing.assert_allclose(stays.x[:, 1], start[:, 1])               # no force, no noise along the valley
    leaves = sgd(f, start, 1.5, 1, 400, np.random.default_rng(0))
    assert np.mean(f.nearest_minimum(leaves.x) == 1) > 0.95


@pytest.mark.parametrize("build, message", [
    (lambda: MinimaSum([[0.0, 0.0], [2.0, 0.0]], [np.stack([np.diag([1.0, 0.0])] * 2), np.stack([np.eye(2)] * 2)]),
     "positive definite"),
    (lambda: MinimaSum([[0.0, 0.0], [2.0, 0.0]], [np.zeros((2, 2, 2)), np.stack([np.eye(2)] * 2)], degenerate=(0,)),
     "is zero"),
    (lambda: MinimaSum([[0.0], [2.0]], [[[[1.0]], [[1.0]]]] * 2, degenerate=(2,)), "by index"),
    (lambda: degenerate_vs_isolated_2d(a=1.0, s_valley=1.0), "s_valley < a"),
])
def test_bad_degenerate_landscapes_are_named(build, message):
    with pytest.raises(InvalidArgumentError, match=message):
        build()
