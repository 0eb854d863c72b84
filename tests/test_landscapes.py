import numpy as np
import pytest

from sgdcheck.landscapes import (Box, DegenerateVsIsolated, DoubleWell, EscapeToy1D, NoisyFiniteSum, Rosenbrock,
                                 Team13Function, TwoBasin, gibbs_cdf_1d)

POTENTIALS = [EscapeToy1D(), TwoBasin(3), DegenerateVsIsolated(3), Team13Function(), Rosenbrock(),
              DoubleWell(1, tilt=0.3), DoubleWell(2, tilt=0.2, coupling=0.5)]


@pytest.mark.parametrize("pot", POTENTIALS, ids=lambda p: type(p).__name__)
def test_gradients_match_finite_differences(pot):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.5, 1.5, size=(20, pot.dim)) + (np.array([4.0, 5.0]) if isinstance(pot, Team13Function) else 0)
    h = 1e-6
    numeric = np.stack([(pot.value(x + h * e) - pot.value(x - h * e)) / (2 * h) for e in np.eye(pot.dim)], 1)
    assert np.allclose(pot.grad(x), numeric, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("temperature", [0.1, 1.0])
def test_two_basin_boltzmann_mass_matches_grid_integral(temperature):
    pot = TwoBasin(2, separation=2.0)
    x = np.linspace(-12, 12, 1201)
    grid = np.stack(np.meshgrid(x, x), -1).reshape(-1, 2)
    w = np.exp(-pot.value(grid) / temperature)
    assert pot.boltzmann_fractions(temperature)[0] == pytest.approx(w[pot.basin(grid) == 0].sum() / w.sum(), abs=2e-3)


def test_degenerate_boltzmann_mass_matches_grid_integral():
    pot = DegenerateVsIsolated(2)
    x = np.linspace(-2, 2, 1601)
    grid = np.stack(np.meshgrid(x, x), -1).reshape(-1, 2)
    w = np.exp(-pot.value(grid) / 0.2)
    assert pot.boltzmann_fractions(0.2)[0] == pytest.approx(w[pot.basin(grid) == 0].sum() / w.sum(), abs=2e-3)


def test_low_temperature_limit_is_volume_ratio():
    for d in range(1, 6):
        assert TwoBasin(d, separation=6).boltzmann_fractions(0.05)[0] == pytest.approx(2**d / (1 + 2**d), abs=1e-6)


def test_known_values():
    assert np.linalg.eigvalsh(Rosenbrock.hessian()) == pytest.approx([0.39936, 1001.6006], rel=1e-5)
    toy = EscapeToy1D()
    assert toy.value(np.array([[0.0], [1.0]])) == pytest.approx([0, 0])
    assert np.allclose(toy.batch_grad(np.array([[1 - 1e-3]]), np.array([[1]])), 2 * 1.9 * -1e-3)
    assert Team13Function().value(np.array([[4.0, 123.0]]))[0] == pytest.approx(-1, abs=1e-6)
    cdf = gibbs_cdf_1d(DoubleWell(1), 1.0, np.linspace(-3, 3, 3001))
    assert cdf[0] == 0 and cdf[-1] == pytest.approx(1) and cdf[1500] == pytest.approx(0.5, abs=1e-6)


def test_box_reflection_stays_inside():
    box = Box(-1.0, 2.0)
    x = np.array([-1.5, 2.5, 7.9, -9.2, 0.3])
    y = box.reflect(x)
    assert np.all((y >= -1) & (y <= 2)) and y[4] == 0.3 and y[0] == pytest.approx(-0.5)


def test_noisy_finite_sum_has_mean_zero_shifts():
    s = NoisyFiniteSum(TwoBasin(2), 50, noise_scale=3.0, seed=0)
    assert np.allclose(s.shifts.mean(0), 0) and np.allclose(s.shifts.std(0), 3.0)
    x = np.zeros((1, 2))
    full = s.batch_grad(x, np.arange(50)[None])
    assert np.allclose(full, s.grad(x))


def test_team13_function_minima_and_the_equal_depth_variant():
    f = Team13Function()
    valley, point = np.linalg.eigvalsh(f.hessian([4.0, 0.0])), np.linalg.eigvalsh(f.hessian([8.0, 5.0]))
    assert valley == pytest.approx([0.0, 0.2 + 2 * np.log(2)], abs=1e-5)
    assert point == pytest.approx([0.2, 0.2], abs=1e-3)          # the minimum sits at (8.0002, 5)
    equal = Team13Function(point_depth=1.0)
    assert equal.value(np.array([[8.0, 5.0]]))[0] == pytest.approx(-1.0, abs=1e-4)      # the valley adds 9e-6 there
    assert np.linalg.eigvalsh(equal.hessian([8.0, 5.0])) == pytest.approx([0.2 + 2 * np.log(2)] * 2, abs=1e-3)
    x = np.random.default_rng(0).uniform(2, 10, size=(50, 2))
    numeric = np.array([[(equal.value(p[None] + h)[0] - equal.value(p[None] - h)[0]) / 2e-6 for h in np.eye(2) * 1e-6]
                        for p in x])
    assert np.allclose(numeric, equal.grad(x), atol=1e-6)
