"""Polynomial stand-ins for ReLU (Poggio & Liao, Theory II, Sec. 3 and Fig. 2).

The paper's argument needs a polynomial that approximates ReLU uniformly ("especially near 0") on the range
the network's pre-activations take. :func:`minimax_relu` finds the best uniform approximation of a given
degree on [-radius, radius], up to the grid it is checked on, as a linear programme (minimise t subject to
|p(x_i) - relu(x_i)| <= t, scipy's HiGHS); the coefficients are in the Chebyshev basis of the interval, so
the fit stays well conditioned at any radius. :class:`ChebyshevActivation` evaluates such a polynomial with
Clenshaw's recurrence.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linprog
from torch import nn

from .errors import InvalidArgumentError


@dataclass(frozen=True)
class PolynomialFit:
    """Chebyshev coefficients on [-radius, radius] and the largest error |p - relu| on the fitting grid."""
    coefficients: tuple[float, ...]
    radius: float
    max_error: float

    def __call__(self, x):
        return np.polynomial.chebyshev.chebval(np.asarray(x, float) / self.radius, self.coefficients)


def minimax_relu(degree: int, radius: float, grid: int = 4001) -> PolynomialFit:
    """The degree-`degree` polynomial closest to ReLU in the sup norm on `grid` points of [-radius, radius]."""
    if degree < 1 or not np.isfinite(radius) or radius <= 0 or grid <= degree + 1:
        raise InvalidArgumentError(f"minimax_relu needs degree >= 1, a finite radius > 0 and more grid points than "
                                   f"coefficients; got degree {degree}, radius {radius}, grid {grid}")
    u = np.cos(np.pi * np.arange(grid) / (grid - 1))            # Chebyshev extreme points: dense near the ends
    basis = np.polynomial.chebyshev.chebvander(u, degree)       # [grid, degree + 1]
    target = np.maximum(radius * u, 0.0)
    ones = np.ones((grid, 1))
    # variables: c_0..c_degree, t; minimise t with basis c - t <= target and -basis c - t <= -target
    a_ub = np.block([[basis, -ones], [-basis, -ones]])
    b_ub = np.concatenate([target, -target])
    cost = np.zeros(degree + 2)
    cost[-1] = 1.0
    result = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=[(None, None)] * (degree + 1) + [(0, None)],
                     method="highs")
    if not result.success:
        raise InvalidArgumentError(f"the minimax fit of degree {degree} on radius {radius} failed: {result.message}")
    coefficients = result.x[:-1]
    error = float(np.abs(basis @ coefficients - target).max())
    return PolynomialFit(tuple(float(c) for c in coefficients), float(radius), error)


class ChebyshevActivation(nn.Module):
    """An activation p(x) = sum_k c_k T_k(x / radius), evaluated with Clenshaw's recurrence (any x: outside the
    interval the polynomial grows like (x / radius)^degree)."""

    def __init__(self, fit: PolynomialFit):
        super().__init__()
        self.register_buffer("coefficients", torch.tensor(fit.coefficients, dtype=torch.float32))
        self.radius = fit.radius

    def forward(self, x):
        u = x / self.radius
        c = self.coefficients.to(x.dtype)
        b1, b2 = torch.zeros_like(x), torch.zeros_like(x)
        for k in range(len(c) - 1, 0, -1):
            b1, b2 = 2 * u * b1 - b2 + c[k], b1
        return u * b1 - b2 + c[0]
