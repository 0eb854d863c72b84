import numpy as np
import pytest

from sgdcheck import InvalidArgumentError
from sgdcheck.landscapes import DoubleWell, EscapeToy1D, TwoBasin
from sgdcheck.linear import LeastSquares
from sgdcheck.samplers import anneal, draw_batches, gd, langevin, sgd


class Quadratic:
    dim = 1

    def value(self, x):
        return 2.0 * x[:, 0] ** 2

    def grad(self, x):
        return 4.0 * x


def test_langevin_variance_is_temperature_over_curvature():
    run = langevin(Quadratic(), np.zeros((4000, 1)), 0.005, 0.5, 2000, np.random.default_rng(0))
    # exact for the discrete chain: var = 2 eta T / (1 - (1 - 4 eta)^2)
    assert run.x.var() == pytest.approx(2 * 0.005 * 0.5 / (1 - (1 - 0.02) ** 2), rel=0.05)


def test_seeded_runs_are_identical_and_divergence_is_a_result():
    pot = TwoBasin(2)
    x0 = np.zeros((10, 2))
    a = langevin(pot, x0, 0.01, 0.3, 50, np.random.default_rng(1)).x
    b = langevin(pot, x0, 0.01, 0.3, 50, np.random.default_rng(1)).x
    assert np.array_equal(a, b)
    run = gd(Quadratic(), np.ones((3, 1)), 1.0, 200)  # |1 - 4| = 3: diverges
    assert run.diverged.all() and np.isnan(run.x).all()


def test_batches_without_replacement_are_distinct_and_uniform():
    batches = draw_batches(np.random.default_rng(0), 20000, 5, 3, replacement=False)
    assert all(len(set(b)) == 3 for b in batches[:200])
    assert np.allclose(np.bincount(batches.ravel(), minlength=5) / batches.size, 0.2, atol=0.01)


def test_sgd_full_batch_without_replacement_is_gd():
    problem = LeastSquares(np.random.default_rng(0).normal(size=(6, 2)), np.arange(6.0))
    x0 = np.ones((2, 2))
    assert np.allclose(sgd(problem, x0, 0.1, 6, 30, np.random.default_rng(0)).x, gd(problem, x0, 0.1, 30).x)


def test_recording_and_schedules():
    run = sgd(EscapeToy1D(), np.full((5, 1), 0.5), lambda t: 0.1 / (1 + t), 1, 40, np.random.default_rng(0),
              record_every=10, burn_in=10, record_values=True)
    assert run.record_steps == [20, 30, 40] and run.samples.shape == (3, 5, 1) and run.values.shape == (3, 5)
    annealed = anneal(DoubleWell(1, tilt=0.5), np.ones((20, 1)), [0.05, 0.01], 100, np.random.default_rng(0),
                      temperature_per_lr=5.0)
    assert annealed.x.shape == (20, 1)


@pytest.mark.parametrize("call, message", [
    (lambda: gd(Quadratic(), np.zeros((1, 1)), 0.0, 5), "lr must be"),
    (lambda: gd(Quadratic(), np.zeros((1, 1)), -0.1, 5), "lr must be"),
    (lambda: sgd(EscapeToy1D(), np.zeros((1, 1)), 0.1, 3, 5, np.random.default_rng(0)), r"batch_size .* 1\.\.2"),
    (lambda: langevin(Quadratic(), np.zeros((1, 1)), 0.1, -1.0, 5, np.random.default_rng(0)), "temperature"),
    (lambda: gd(Quadratic(), np.zeros((1, 2)), 0.1, 5), r"shape \[chains, 1\]"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises(InvalidArgumentError, match=message):
        call()
