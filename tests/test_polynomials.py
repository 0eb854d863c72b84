import numpy as np
import pytest
import torch

from sgdcheck.errors import InvalidArgumentError
from sgdcheck.models import PolynomialReLU
from sgdcheck.polynomials import ChebyshevActivation, minimax_relu


def test_minimax_error_equioscillates_and_beats_least_squares():
    fit = minimax_relu(8, 4.0)
    x = np.linspace(-4, 4, 20001)
    error = fit(x) - np.maximum(x, 0)
    assert abs(np.abs(error).max() - fit.max_error) < 1e-3
    # Chebyshev's theorem: the best error is attained with alternating signs at least degree + 2 times
    peaks = x[np.abs(error) > fit.max_error * (1 - 1e-3)]
    signs = np.sign(error[np.abs(error) > fit.max_error * (1 - 1e-3)])
    alternations = 1 + np.count_nonzero(np.diff(signs[np.r_[True, np.diff(peaks) > 1e-2]]))
    assert alternations >= 8 + 2
    least_squares = PolynomialReLU(8, 4.0)(torch.tensor(x, dtype=torch.float64)).numpy() - np.maximum(x, 0)
    assert fit.max_error < np.abs(least_squares).max()


def test_minimax_error_scales_with_the_radius():
    # relu(R u) = R relu(u): the best error on [-R, R] is R times the best error on [-1, 1]
    assert minimax_relu(6, 3.0).max_error == pytest.approx(3 * minimax_relu(6, 1.0).max_error, rel=1e-6)


def test_activation_evaluates_the_fitted_polynomial_everywhere():
    fit = minimax_relu(5, 2.0)
    x = np.linspace(-3, 3, 101)
    out = ChebyshevActivation(fit)(torch.tensor(x, dtype=torch.float64)).numpy()
    assert np.allclose(out, fit(x), atol=1e-5)


@pytest.mark.parametrize("degree, radius, grid", [(0, 1.0, 100), (4, 0.0, 100), (4, float("inf"), 100), (4, 1.0, 5)])
def test_bad_fits_are_named(degree, radius, grid):
    with pytest.raises(InvalidArgumentError, match="minimax_relu"):
        minimax_relu(degree, radius, grid)
