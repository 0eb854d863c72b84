import itertools

import numpy as np
import pytest

from sgdcheck import stability
from sgdcheck.errors import InvalidArgumentError
from sgdcheck.finite_sums import QuadraticSum, simulate_moments
from sgdcheck.minima_sums import equal_sharpness_2d, minima_menu


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


def test_stationary_law_with_replacement_is_the_recursions_limit_and_simulated():
    f, lr, batch_size = _random_sum(n=6, seed=12), 0.3, 2
    stationary = f.stationary_second_moment(lr, batch_size, "replacement")
    limit = f.moments(lr, batch_size, f.minimum + 1.0, 3000, "replacement")[1][-1]
    np.testing.assert_allclose(stationary, limit, rtol=1e-8, atol=1e-14)
    subsets = f.stationary_second_moment(lr, batch_size, "subsets")
    assert np.trace(stationary) > np.trace(subsets)                     # 1/B > (n-B)/(B(n-1))


@pytest.mark.parametrize("x0, message", [([np.nan, 0.0, 0.0], "finite point"), ([1.0, 2.0], "dimension 3")])
def test_bad_starts_are_named(x0, message):
    with pytest.raises(InvalidArgumentError, match=message):
        _random_sum().moments(0.1, 2, x0, 3)


def test_a_batch_size_must_be_whole():
    with pytest.raises(InvalidArgumentError, match="integer"):
        _random_sum().noise_covariance(np.zeros((1, 3)), 1.5)
