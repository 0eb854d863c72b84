import itertools

import numpy as np
import pytest

from sgdcheck import stability
from sgdcheck.errors import InvalidArgumentError
from sgdcheck.finite_sums import (LocalNoiseSum, MinimaSum, QuadraticSum, equal_nonuniformity_2d, equal_sharpness_2d,
                                  minima_menu, wide_nonuniform_vs_narrow_2d, simulate_moments, wu2018_section2)
from sgdcheck.landscapes import EscapeToy1D
from sgdcheck.samplers import sgd


def _random_sum(n=5, d=3, seed=0, interpolating=False):
    rng = np.random.default_rng(seed)
    roots = rng.normal(size=(n, d, d)) / np.sqrt(d)
    hessians = np.einsum("nij,nkj->nik", roots, roots) + 0.1 * np.eye(d)
    centers = None if interpolating else rng.normal(size=(n, d))
    return QuadraticSum(hessians, centers)


def _all_batches(n, batch_size, sampling):
    if sampling == "subsets":
        return np.array(list(itertools.combinations(range(n), batch_size)))
    return np.array(list(itertools.product(range(n), repeat=batch_size)))


def test_minimum_is_where_the_full_gradient_vanishes():
    f = _random_sum()
    assert np.abs(f.grad(f.minimum[None])).max() < 1e-12
    assert not f.interpolating and _random_sum(interpolating=True).interpolating


def test_value_is_the_quadratic_of_the_mean_hessian_around_the_minimum():
    f = _random_sum(seed=3)
    points = np.random.default_rng(1).normal(size=(7, f.dim))
    e = points - f.minimum
    expected = f.value(f.minimum[None])[0] + 0.5 * np.einsum("ci,ij,cj->c", e, f.mean_hessian, e)
    np.testing.assert_allclose(f.value(points), expected, rtol=1e-12, atol=1e-12)


def test_noise_vanishes_at_an_interpolating_minimum_and_grows_with_the_square_of_the_distance():
    f = _random_sum(interpolating=True)
    direction = np.array([[0.3, -0.2, 0.5]])
    assert np.abs(f.noise_covariance(f.minimum[None], 2)).max() < 1e-14
    near, far = f.noise_covariance(direction, 2)[0], f.noise_covariance(2 * direction, 2)[0]
    np.testing.assert_allclose(far, 4 * near, rtol=1e-12)
    assert np.trace(near) > 0
    # the non-interpolating kind keeps an additive part at its minimum
    assert np.trace(_random_sum().noise_covariance(_random_sum().minimum[None], 2)[0]) > 1e-3


@pytest.mark.parametrize("sampling", ["subsets", "replacement"])
def test_noise_covariance_matches_every_batch(sampling):
    f = _random_sum(n=5, seed=2)
    x = np.array([[0.4, -1.0, 0.2]])
    batches = _all_batches(5, 2, sampling)
    grads = np.array([f.batch_grad(x, b[None])[0] for b in batches])
    centred = grads - grads.mean(axis=0)
    np.testing.assert_allclose(f.noise_covariance(x, 2, sampling)[0], centred.T @ centred / len(batches),
                               rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("sampling", ["subsets", "replacement"])
def test_exact_moments_match_every_pair_of_batches(sampling):
    """Two steps from a fixed start, averaged over every pair of batches: the recursion's mean and
    second moment, cross term included, are exact."""
    f, lr, batch_size = _random_sum(n=5, seed=4), 0.3, 2
    x0 = np.array([1.0, -0.5, 0.7])
    batches = _all_batches(5, batch_size, sampling)
    errors = []
    for first, second in itertools.product(batches, repeat=2):
        x = x0[None]
        for b in (first, second):
            x = x - lr * f.batch_grad(x, b[None])
        errors.append(x[0] - f.minimum)
    errors = np.array(errors)
    means, seconds = f.moments(lr, batch_size, x0, 2, sampling)
    np.testing.assert_allclose(means[2], errors.mean(axis=0), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(seconds[2], errors.T @ errors / len(errors), rtol=1e-10, atol=1e-13)


def test_interpolating_moments_are_theorem_1s_map():
    f = _random_sum(interpolating=True, seed=5)
    x0 = np.array([0.2, 0.1, -0.3])
    np.testing.assert_allclose(f.mean_square(0.4, 2, x0, 25),
                               stability.exact_mean_square(f.hessians, 0.4, 2, x0, 25), rtol=1e-10)


@pytest.mark.parametrize("sampling", ["subsets", "replacement"])
def test_simulated_sgd_agrees_with_the_exact_mean_square(sampling):
    f, lr, batch_size = _random_sum(n=6, seed=6), 0.3, 2
    x0 = f.minimum + np.array([1.0, 1.0, -1.0])
    simulated = simulate_moments(f, lr, batch_size, x0, 30, 20_000, np.random.default_rng(0), sampling)
    exact = f.mean_square(lr, batch_size, x0, 30, sampling)
    standard_error = simulated.std(axis=0) / np.sqrt(simulated.shape[0])
    assert np.all(np.abs(simulated.mean(axis=0) - exact) <= 5 * standard_error + 1e-12)


def test_the_stationary_second_moment_is_the_limit_of_the_exact_recursion():
    f, lr, batch_size = _random_sum(n=6, seed=7), 0.3, 2
    assert f.mean_square_rate(lr, batch_size) < 1
    stationary = f.stationary_second_moment(lr, batch_size)
    limit = f.moments(lr, batch_size, f.minimum + 1.0, 3000)[1][-1]
    np.testing.assert_allclose(stationary, limit, rtol=1e-8, atol=1e-14)
    assert f.stationary_excess_loss(lr, batch_size) == pytest.approx(0.5 * np.trace(f.mean_hessian @ stationary))
    # more noise with smaller batches; none for GD (B = n) and at an interpolating minimum
    assert np.trace(f.stationary_second_moment(lr, 1)) > np.trace(stationary)
    assert np.abs(f.stationary_second_moment(lr, 6)).max() < 1e-14
    assert np.abs(_random_sum(n=6, seed=7, interpolating=True).stationary_second_moment(lr, 2)).max() == 0


def test_simulated_stationary_spread_agrees_with_the_exact_one():
    f, lr, batch_size = _random_sum(n=6, seed=8), 0.3, 2
    run = simulate_moments(f, lr, batch_size, f.minimum, 400, 10_000, np.random.default_rng(1))
    late = run[:, 200:].mean(axis=1)                 # time average per chain after burn-in
    exact = np.trace(f.stationary_second_moment(lr, batch_size))
    assert abs(late.mean() - exact) <= 5 * late.std() / np.sqrt(late.size)


def test_no_stationary_law_where_sgd_is_mean_square_unstable():
    f = _random_sum(n=6, seed=9)
    a, _ = f.sharpness_nonuniformity()
    with pytest.raises(InvalidArgumentError, match="mean-square unstable"):
        f.stationary_second_moment(2.5 / a, 1)


@pytest.mark.parametrize("kwargs, message", [
    (dict(hessians=np.eye(2)[None].repeat(3, 0), centers=np.zeros((2, 2))), "centers"),
    (dict(hessians=np.stack([np.diag([1.0, -1.0])] * 3)), "positive semi-definite"),
    (dict(hessians=np.stack([np.diag([1.0, 0.0])] * 3)), "positive definite"),
    (dict(hessians=np.eye(2)[None]), "n >= 2"),
    (dict(hessians=np.eye(2)[None].repeat(3, 0), centers=np.full((3, 2), np.nan)), "finite"),
])
def test_bad_sums_are_named(kwargs, message):
    with pytest.raises(InvalidArgumentError, match=message):
        QuadraticSum(**kwargs)


@pytest.mark.parametrize("lr, batch_size, steps, message", [
    (0.0, 2, 3, "lr"), (-1.0, 2, 3, "lr"), (float("nan"), 2, 3, "lr"), (0.1, 7, 3, "batch_size"),
    (0.1, 0, 3, "batch_size"), (0.1, 2, -1, "steps")])
def test_bad_runs_are_named(lr, batch_size, steps, message):
    with pytest.raises(InvalidArgumentError, match=message):
        _random_sum(n=6).moments(lr, batch_size, np.zeros(3), steps)


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


def test_batch_gradients_are_the_means_of_the_component_gradients():
    rng = np.random.default_rng(5)
    for f in (_random_sum(n=6, seed=5), equal_sharpness_2d(), minima_menu([1.0, 2.0], [0.0, 0.5], n=4)):
        x = rng.normal(size=(7, f.dim)) + (f.minima[1] if hasattr(f, "minima") else 0)
        batch = np.argsort(rng.random((7, f.n)), axis=1)[:, :3]
        expected = np.take_along_axis(f.component_grads(x), batch[:, :, None], axis=1).mean(axis=1)
        np.testing.assert_allclose(f.batch_grad(x, batch), expected, rtol=1e-12, atol=1e-15)


def test_additive_twin_keeps_the_minimum_and_its_noise_and_drops_the_state_dependent_part():
    f = _random_sum(n=6, seed=11)
    twin = f.additive_twin()
    np.testing.assert_allclose(twin.minimum, f.minimum, atol=1e-12)
    np.testing.assert_allclose(twin.offsets, f.offsets, atol=1e-12)
    np.testing.assert_allclose(twin.noise_covariance(f.minimum[None], 2), f.noise_covariance(f.minimum[None], 2),
                               atol=1e-12)
    assert twin.sharpness_nonuniformity()[1] < 1e-6 < f.sharpness_nonuniformity()[1]
    away = f.minimum[None] + 1.0
    at_minimum = twin.noise_covariance(f.minimum[None], 2)[0]
    np.testing.assert_allclose(twin.noise_covariance(away, 2)[0], at_minimum, atol=1e-12)


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


def _local_noise_sum(**options):
    from sgdcheck.landscapes import DoubleWell
    well = DoubleWell(1, tilt=0.6)
    deep, shallow = well.minima()
    return LocalNoiseSum(well, 8, multiplicative_at=[deep], nonuniformity=30.0, additive_at=[shallow],
                         additive=10.0, **options), deep, shallow


def test_local_noise_sum_gradients_match_its_components():
    f, deep, shallow = _local_noise_sum()
    x = np.linspace(-2, 2, 9)[:, None]
    step = 1e-6
    numeric = (f.component_values(x + step) - f.component_values(x - step)) / (2 * step)   # [chains, n]
    for i in range(f.n):
        batch = np.full((x.shape[0], 1), i)
        np.testing.assert_allclose(f.batch_grad(x, batch)[:, 0], numeric[:, i], rtol=1e-6, atol=1e-6)
    every = np.broadcast_to(np.arange(f.n), (x.shape[0], f.n))
    np.testing.assert_allclose(f.batch_grad(x, every), f.grad(x), atol=1e-10)          # the mean is U's
    np.testing.assert_allclose(f.component_values(x).mean(axis=1), f.value(x), atol=1e-10)


def test_local_noise_sum_is_multiplicative_at_one_minimum_and_additive_at_the_other():
    f, deep, shallow = _local_noise_sum()
    everyone = np.arange(f.n)[:, None]
    at_deep = np.array([f.batch_grad(np.array([[deep]]), b[None])[0, 0] for b in everyone])
    at_shallow = np.array([f.batch_grad(np.array([[shallow]]), b[None])[0, 0] for b in everyone])
    assert np.abs(at_deep).max() < 1e-9 and at_shallow.std() == pytest.approx(10.0, rel=1e-6)
    hessians = f.component_hessians_at_centre()
    a, s = stability.sharpness_nonuniformity(hessians)
    assert a == pytest.approx(12 * deep**2 - 4, rel=1e-6) and s == pytest.approx(30.0)
    with pytest.raises(InvalidArgumentError, match="even n"):
        _local_noise_sum(width=-1.0)
