"""The spectral density of a Hessian by stochastic Lanczos quadrature, and how much of it lies near zero.

Lin, Saad & Yang (2016), "Approximating spectral densities of large matrices" (SIAM Review 58); Ghorbani,
Krishnan & Xiao (2019) for network Hessians. For a random probe v (Rademacher entries, unit norm), m Lanczos
steps give a tridiagonal T_m with eigenpairs (theta_j, u_j); sum_j u_j[0]^2 delta(theta_j) is the m-point Gauss
quadrature of v^T delta(H) v, and its mean over probes estimates the density (1/P) sum_i delta(lambda_i). The
share of eigenvalues with |lambda| <= t is read as the quadrature mass at nodes with |theta_j| <= t; per probe it
has variance at most 2 N(t) / P^2 for N(t) such eigenvalues (Hutchinson's bound with Rademacher probes), and
the quadrature cannot resolve the spectrum finer than its nodes near t (Chebyshev-Markov-Stieltjes).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from .curvature import LossFn, _problem, _tridiagonal, evaluation_mode, lanczos
from .errors import InvalidArgumentError


@dataclass(frozen=True)
class SpectralDensity:
    """Gauss quadrature nodes and weights of each probe ([probes, m]; each row's weights sum to 1)."""
    nodes: np.ndarray
    weights: np.ndarray
    dim: int

    def masses_below(self, threshold: float) -> np.ndarray:
        """[probes]: each probe's estimate of the share of eigenvalues with |lambda| <= threshold."""
        if not (np.isfinite(threshold) and threshold >= 0):
            raise InvalidArgumentError(f"threshold must be a finite number >= 0, got {threshold!r}")
        return (self.weights * (np.abs(self.nodes) <= threshold)).sum(axis=1)

    def mass_below(self, threshold: float) -> float:
        """The share of eigenvalues with |lambda| <= threshold (mean over probes)."""
        return float(self.masses_below(threshold).mean())

    @property
    def largest(self) -> float:
        """The largest node: the top eigenvalue, to Lanczos' accuracy after m steps."""
        return float(self.nodes.max())


def spectral_density(matvec: Callable[[torch.Tensor], torch.Tensor], dim: int, *, probes: int = 10,
                     steps: int = 80, seed: int = 0, dtype=torch.float64, device="cpu") -> SpectralDensity:
    """Stochastic Lanczos quadrature of the symmetric operator `matvec` on R^dim."""
    if probes < 1 or steps < 2 or dim < 1:
        raise InvalidArgumentError(f"need probes >= 1, steps >= 2 and dim >= 1, got {probes}, {steps}, {dim}")
    generator = torch.Generator().manual_seed(int(seed))
    rows_nodes, rows_weights = [], []
    for _ in range(probes):
        start = (torch.randint(0, 2, (dim,), generator=generator) * 2 - 1).to(dtype=dtype, device=device)
        alphas, betas = lanczos(matvec, start, min(steps, dim))
        values, vectors = np.linalg.eigh(_tridiagonal(alphas, betas))
        weights = vectors[0] ** 2
        rows_nodes.append(np.pad(values, (0, steps - len(values))))
        rows_weights.append(np.pad(weights / weights.sum(), (0, steps - len(values))))
    return SpectralDensity(np.array(rows_nodes), np.array(rows_weights), dim)


def hessian_spectral_density(model, X, Y, loss_fn: LossFn, *, probes: int = 10, steps: int = 80,
                             chunk_size: int = 256, seed: int = 0) -> SpectralDensity:
    """The spectral density of the Hessian of the empirical risk at the model's parameters."""
    with evaluation_mode(model):
        problem = _problem(model, X, Y, loss_fn, chunk_size)
        return spectral_density(problem.hvp, problem.dim, probes=probes, steps=steps, seed=seed,
                                dtype=problem.dtype, device=problem.device)
