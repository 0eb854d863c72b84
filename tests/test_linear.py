import numpy as np
import pytest

from sgdcheck.linear import (RidgeLogistic, early_stopping_curve, gd_limit, random_least_squares,
                             run_gd_least_squares, theorem7_bound)


def test_noise_constants_bound_the_stochastic_gradient_everywhere():
    problem = random_least_squares(np.random.default_rng(0), 30, 4)
    sigma0, sigma = problem.noise_constants()
    rng = np.random.default_rng(1)
    for scale in (0.0, 0.1, 1.0, 100.0):
        x = problem.minimizer() + scale * rng.normal(size=(50, 4))
        per_sample = problem.a[None] * (x @ problem.a.T - problem.b)[:, :, None]
        second = (per_sample**2).sum(2).mean(1)
        assert np.all(second <= sigma0 + sigma * (problem.grad(x) ** 2).sum(1) + 1e-9)


def test_gd_limit_matches_long_gd_run():
    rng = np.random.default_rng(0)
    x, y, beta0 = rng.normal(size=(3, 7)), rng.normal(size=3), rng.normal(size=7)
    lr = 3 / np.linalg.eigvalsh(x @ x.T)[-1]
    assert np.allclose(run_gd_least_squares(x, y, beta0, lr, 20000), gd_limit(x, y, beta0), atol=1e-8)


def test_ridge_logistic_minimiser_has_zero_gradient():
    rng = np.random.default_rng(0)
    model = RidgeLogistic(rng.normal(size=(40, 3)), np.sign(rng.normal(size=40)), lam=0.01)
    assert np.linalg.norm(model.grad(model.minimizer())) < 1e-10


def test_early_stopping_curve_limits():
    s = np.array([2.0, 1.0])
    curve = early_stopping_curve(s, 4, 0.5, [0, 10**6], 0.1, [1.0, 0.0])
    assert curve[0] == pytest.approx(1.0)
    assert curve[1] == pytest.approx(0.01 * (1 / 4 + 1 / 1))


def test_theorem7_bound_starts_at_the_initial_gap():
    assert theorem7_bound([0], 0.1, 2.0, 0.5, 1.0, 3.0)[0] == pytest.approx(3.0)
