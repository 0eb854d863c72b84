import math

import numpy as np
import pytest
from hypothesis import given

from sgdcheck import stability
from sgdcheck.errors import InvalidArgumentError
from sgdcheck.minima_sums import equal_sharpness_2d
from sgdcheck.lyapunov import top_exponent
from sgdcheck.strategies import stability_cases


def test_one_dimensional_exponent_is_the_mean_log_factor_over_batches():
    h = np.array([[[0.2]], [[3.8]]])                     # Wu 2018, Sec. 2, at x = 1
    exponent = top_exponent(h, 0.7, 1)
    assert exponent.exact
    assert exponent.value == pytest.approx(0.5 * (math.log(abs(1 - 0.14)) + math.log(abs(1 - 2.66))))
    assert exponent.value > 0                             # SGD at eta = 0.7 leaves x = 1 (the paper's escape)


def test_simulated_exponent_agrees_with_the_exact_one():
    h = np.array([[[0.5]], [[1.0]], [[3.2]]])
    exact = top_exponent(h, 0.9, 1)
    # a 1x1 case run through the d > 1 estimator: embed it with a second, strongly contracting coordinate
    embedded = np.zeros((3, 2, 2))
    embedded[:, 0, 0], embedded[:, 1, 1] = h[:, 0, 0], 1.0
    simulated = top_exponent(embedded, 0.9, 1, rng=np.random.default_rng(1), steps=3000, runs=64)
    assert not simulated.exact
    assert abs(simulated.value - exact.value) <= 4 * simulated.standard_error


@given(stability_cases(max_d=1))
def test_exponent_never_exceeds_half_the_log_mean_square_rate(case):
    """Jensen: E log|1 - eta h_b| <= log E (1 - eta h_b)^2 / 2."""
    exponent = top_exponent(*case)
    rate = stability.mean_square_rate(*case)
    assert exponent.value <= 0.5 * math.log(rate) + 1e-9 if rate > 0 else exponent.value == -math.inf


def test_a_minimum_can_be_mean_square_unstable_yet_almost_surely_stable():
    """h = (0.9, 2.9), eta = 1, B = 1: E x^2 grows by 1.81 a step, yet log|x| falls by 0.83 a step, and
    almost every SGD run converges to the minimum."""
    h = np.array([[[0.9]], [[2.9]]])
    assert stability.mean_square_rate(h, 1.0, 1) == pytest.approx(1.81)
    exponent = top_exponent(h, 1.0, 1)
    assert exponent.value == pytest.approx(0.5 * (math.log(0.1) + math.log(1.9)))
    norms = stability.simulate_linearized_sgd(h, 1.0, 1, [1.0], 200, 2000, np.random.default_rng(0))
    assert np.mean(norms[:, -1] < 1e-12) > 0.95                          # almost every run has converged


def test_two_dimensional_exponent_decides_like_the_runs():
    f = equal_sharpness_2d(a=2.0, s=1.8)
    leaves = top_exponent(f.component_hessians(1), 0.6, 1, rng=np.random.default_rng(2))
    stays = top_exponent(f.component_hessians(1), 0.6, 2, rng=np.random.default_rng(2))
    assert leaves.interval[0] > 0 > stays.interval[1]


def test_singular_batch_map_gives_minus_infinity():
    assert top_exponent(np.array([[[1.0]], [[2.0]]]), 1.0, 1).value == -math.inf


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=0.0), "lr"), (dict(batch_size=3), "batch_size"), (dict(steps=5), "steps"),
    (dict(runs=1), "runs"), (dict(sampling="reshuffling"), "random reshuffling")])
def test_bad_input_is_named(kwargs, message):
    arguments = dict(hessians=np.eye(2)[None].repeat(2, 0), lr=0.5, batch_size=1) | kwargs
    with pytest.raises(InvalidArgumentError, match=message):
        top_exponent(**arguments)


def test_simulated_exponent_respects_jensen_for_maps_that_do_not_commute():
    f = equal_sharpness_2d(a=2.0, s=1.8)
    hessians = f.component_hessians(1)
    for lr, batch_size in ((0.3, 1), (0.6, 1), (0.6, 2)):
        estimate = top_exponent(hessians, lr, batch_size, rng=np.random.default_rng(3))
        assert estimate.interval[0] <= 0.5 * math.log(stability.mean_square_rate(hessians, lr, batch_size))
