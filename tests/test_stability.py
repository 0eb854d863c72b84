import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sgdcheck import InvalidArgumentError, criterion, critical_lr, mean_square_rate, minibatch_second_moment
from sgdcheck.stability import (brute_force_operator, brute_force_second_moment, exact_mean_square, necessary_box,
                                second_moment_operator, sharpness_nonuniformity, simulate_linearized_sgd)
from sgdcheck.strategies import stability_cases, symmetric_hessians


@pytest.mark.property
@given(stability_cases(max_n=6, max_d=3))
def test_operator_matches_brute_force_over_all_batches(case):
    h, lr, batch = case
    exact, brute = second_moment_operator(h, lr, batch), brute_force_operator(h, lr, batch)
    assert np.abs(exact - brute).max() <= 1e-10 * max(1.0, np.abs(brute).max())


@pytest.mark.property
@given(stability_cases(max_n=6, max_d=3))
def test_rate_is_spectral_radius_of_brute_force_and_below_criterion(case):
    h, lr, batch = case
    brute_rate = np.abs(np.linalg.eigvals(brute_force_operator(h, lr, batch))).max()
    rate = mean_square_rate(h, lr, batch)
    assert abs(rate - brute_rate) <= 1e-10 * max(1.0, brute_rate)
    assert rate <= criterion(h, lr, batch) * (1 + 1e-12) + 1e-12


@pytest.mark.property
@given(stability_cases(d=1, max_n=8))
def test_rate_equals_criterion_in_one_dimension(case):
    assert mean_square_rate(*case) == pytest.approx(criterion(*case), rel=1e-12, abs=1e-12)


@pytest.mark.property
@given(symmetric_hessians(max_n=7), st.data())
def test_minibatch_second_moment_matches_enumeration(h, data):
    batch = data.draw(st.integers(1, h.shape[0]))
    assert np.allclose(minibatch_second_moment(h, batch), brute_force_second_moment(h, batch), atol=1e-10, rtol=0)


def test_escape_toy_values():
    h1 = np.array([[[0.2]], [[3.8]]])
    assert sharpness_nonuniformity(h1) == pytest.approx((2.0, 1.8))
    assert criterion(h1, 0.7, 1) == pytest.approx((1 - 1.4) ** 2 + 0.49 * 3.24)
    assert criterion(h1, 0.7, 2) == pytest.approx(0.16)  # B = n is GD


def test_critical_lr_sits_on_the_boundary():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(5, 3, 3))
    h = f @ f.transpose(0, 2, 1)
    lr = critical_lr(h, 2)
    assert criterion(h, lr, 2) == pytest.approx(1.0, abs=1e-9)
    a, s = sharpness_nonuniformity(h)
    a_max, s_max = necessary_box(lr, 2, 5)
    assert a <= a_max and s <= s_max


def test_monte_carlo_tracks_exact_second_moment():
    h = np.diag([1.0, 0.5])[None] + 0.1 * np.eye(2)[None] * np.arange(1, 5)[:, None, None]
    norms = simulate_linearized_sgd(h, 0.8, 2, [1.0, 1.0], 10, 40000, np.random.default_rng(0))
    exact = exact_mean_square(h, 0.8, 2, [1.0, 1.0], 10)
    assert np.allclose(norms.mean(0), exact, rtol=0.03)


@pytest.mark.parametrize("kwargs, message", [
    ({"lr": 0.0, "batch_size": 1}, "lr must be"),
    ({"lr": -1.0, "batch_size": 1}, "lr must be"),
    ({"lr": 0.1, "batch_size": 4}, "batch_size must be an integer in 1..n = 1..3"),
    ({"lr": 0.1, "batch_size": 0}, "batch_size"),
])
def test_bad_arguments_name_the_problem(kwargs, message):
    h = np.stack([np.eye(2)] * 3)
    with pytest.raises(InvalidArgumentError, match=message):
        criterion(h, **kwargs)


def test_bad_hessians_name_the_problem():
    with pytest.raises(InvalidArgumentError, match="symmetric"):
        mean_square_rate(np.array([[[1.0, 2.0], [0.0, 1.0]]]), 0.1, 1)
    with pytest.raises(InvalidArgumentError, match=r"shape \[n, d, d\]"):
        criterion(np.ones((2, 3)), 0.1, 1)
    with pytest.raises(InvalidArgumentError, match="NaN"):
        criterion(np.full((1, 1, 1), np.nan), 0.1, 1)


def _with_replacement_operator(h, lr, batch):
    """E[A_b (x) A_b] over all n^B ordered draws with replacement (brute force)."""
    import itertools
    n, d = h.shape[:2]
    total = np.zeros((d * d, d * d))
    for draw in itertools.product(range(n), repeat=batch):
        step = np.eye(d) - lr * h[list(draw)].mean(axis=0)
        total += np.einsum("ij,kl->ikjl", step, step).reshape(d * d, d * d)
    return total / n**batch


@pytest.mark.property
@given(stability_cases(max_n=4, max_d=2))
def test_with_replacement_the_factor_is_one_over_b(case):
    h, lr, batch = case
    batch = min(batch, 3)
    exact = second_moment_operator(h, lr, batch, sampling="replacement")
    brute = _with_replacement_operator(h, lr, batch)
    assert np.abs(exact - brute).max() <= 1e-10 * max(1.0, np.abs(brute).max())
    rate = mean_square_rate(h, lr, batch, sampling="replacement")
    assert rate <= criterion(h, lr, batch, sampling="replacement") * (1 + 1e-12) + 1e-12


def test_the_formulas_name_their_sampling_and_refuse_reshuffling():
    from sgdcheck.stability import batch_factor, escape_predicted, nonuniformity_bound
    assert batch_factor(10, 2) == pytest.approx(8 / 18) and batch_factor(10, 2, "replacement") == pytest.approx(0.5)
    assert nonuniformity_bound(0.5, 4, 100, "replacement") == pytest.approx(2 / 0.5)
    with pytest.raises(InvalidArgumentError, match="random reshuffling has no such formula"):
        escape_predicted(1.0, 1.0, 0.1, 4, 100, sampling="reshuffling")


def test_simulated_rates_follow_the_sampling_they_name():
    h = np.array([[[0.5]], [[2.6]], [[1.0]]])
    for sampling in ("subsets", "replacement"):
        norms = simulate_linearized_sgd(h, 1.0, 2, [1.0], 4, 40000, np.random.default_rng(0), sampling=sampling)
        exact = exact_mean_square(h, 1.0, 2, [1.0], 4, sampling=sampling)
        assert norms.mean(axis=0) == pytest.approx(exact, rel=0.05)
    assert exact_mean_square(h, 1.0, 2, [1.0], 4)[-1] != pytest.approx(exact[-1], rel=0.05)
