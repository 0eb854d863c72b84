import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sgdcheck import InvalidArgumentError, criterion, critical_lr, mean_square_rate, minibatch_second_moment
from sgdcheck.stability import (NOT_PREDICTED, STAYS, brute_force_operator, predict_escape, brute_force_second_moment, exact_mean_square, necessary_box,
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
    from sgdcheck.stability import batch_factor, nonuniformity_bound, predict_escape
    assert batch_factor(10, 2) == pytest.approx(8 / 18) and batch_factor(10, 2, "replacement") == pytest.approx(0.5)
    assert nonuniformity_bound(0.5, 4, 100, "replacement") == pytest.approx(2 / 0.5)
    with pytest.raises(InvalidArgumentError, match="random reshuffling has no such formula"):
        predict_escape(1.0, 1.0, 0.1, 4, 100, sampling="reshuffling")


def test_simulated_rates_follow_the_sampling_they_name():
    h = np.array([[[0.5]], [[2.6]], [[1.0]]])
    for sampling in ("subsets", "replacement"):
        norms = simulate_linearized_sgd(h, 1.0, 2, [1.0], 4, 40000, np.random.default_rng(0), sampling=sampling)
        exact = exact_mean_square(h, 1.0, 2, [1.0], 4, sampling=sampling)
        assert norms.mean(axis=0) == pytest.approx(exact, rel=0.05)
    assert exact_mean_square(h, 1.0, 2, [1.0], 4)[-1] != pytest.approx(exact[-1], rel=0.05)


@pytest.mark.property
@given(stability_cases(max_n=6, max_d=3))
def test_a_decided_three_way_prediction_agrees_with_the_exact_rate(case):
    """'escapes' by a > 2/eta is always unstable, 'stays' by eq. 8 always stable; in d = 1 the prediction is exact."""
    h, lr, batch = case
    a, s = sharpness_nonuniformity(h)
    rate = mean_square_rate(h, lr, batch)
    prediction = predict_escape(a, s, lr, batch, h.shape[0], criterion=criterion(h, lr, batch))
    if prediction.rule == "eq. 9: a > 2/eta":
        assert rate > 1
    if prediction.outcome == STAYS:
        assert rate <= 1 + 1e-9
    if h.shape[1] == 1:
        assert predict_escape(a, s, lr, batch, h.shape[0], dimension=1).escapes == (rate > 1 + 1e-9)
    assert predict_escape(a, s, lr, batch, h.shape[0], exact_rate=rate).escapes == (rate > 1 + 1e-9)


def test_three_way_prediction_cases():
    # The toy of Sec. 2 at x = 1 (f'' = 0.2, 3.8: a = 2, s = 1.8): SGD eta = 0.7 escapes, GD at eta = 2/a stays.
    h1 = np.array([[[0.2]], [[3.8]]])
    a, s = sharpness_nonuniformity(h1)
    assert predict_escape(a, s, 0.7, 1, 2).rule == "eq. 9: s > sqrt(B(n-1)/(n-B))/eta"
    at_tie = predict_escape(a, s, 2 / a, 2, 2, criterion=criterion(h1, 2 / a, 2))
    assert at_tie.outcome == STAYS and mean_square_rate(h1, 2 / a, 2) == pytest.approx(1.0)
    assert predict_escape(a, s, 2 / a, 2, 2, dimension=1).outcome == STAYS
    # d = 1 inside eq. 9's box but unstable: the old box-only rule said 'stays'.
    h = np.array([[[1.0]], [[2.8]]])                                      # a = 1.9, s = 0.9: eta a / 2 = 0.95, s / s_max = 0.9
    a, s = sharpness_nonuniformity(h)
    assert not predict_escape(a, s, 1.0, 1, 2).decided                   # box holds, no criterion: not predicted
    assert predict_escape(a, s, 1.0, 1, 2, dimension=1).escapes           # the exact rate is 0.81 + 0.81 = 1.62
    assert predict_escape(a, s, 1.0, 1, 2, criterion=criterion(h, 1.0, 1)).outcome == NOT_PREDICTED
    # d = 2: stable (rate 0.997) with s 7.6% above eq. 9's bound, which the paper's reading calls an escape.
    h2 = np.array([[[1.39, 0.784], [0.784, 2.305]], [[0.729, -0.71], [-0.71, 1.664]],
                   [[2.292, 0.616], [0.616, 0.453]], [[1.034, -0.519], [-0.519, 0.391]]])
    a, s = sharpness_nonuniformity(h2)
    assert mean_square_rate(h2, 0.91, 1) < 1 and s > necessary_box(0.91, 1, 4)[1] * 1.07
    assert predict_escape(a, s, 0.91, 1, 4).escapes
    assert not predict_escape(a, s, 0.91, 1, 4, exact_rate=mean_square_rate(h2, 0.91, 1)).escapes
    with pytest.raises(InvalidArgumentError, match="s must be a finite number"):
        predict_escape(1.0, float("nan"), 0.1, 4, 100)
