"""SGD runs on least-squares finite sums, summarised the way the convergence theorems speak:
the mean optimality gap E f(x_t) - f* over chains, at checkpoints."""
from __future__ import annotations

import numpy as np

from .linear import LeastSquares, random_least_squares
from .samplers import sgd


def strongly_convex_instance(seed: int = 7, n: int = 50, d: int = 5):
    """The random least-squares instance of the convergence claims, with (L, m, sigma_0, sigma)."""
    problem: LeastSquares = random_least_squares(np.random.default_rng(seed), n=n, d=d)
    big_l, m = problem.smoothness()
    sigma0, sigma = problem.noise_constants()
    return problem, big_l, m, sigma0, sigma


def mean_gaps(problem, x0, lr, batch_size: int, steps: int, chains: int, seed: int, record_every: int):
    """(checkpoint steps, mean gap over chains at each); SGD with replacement (i.i.d. samples)."""
    start = np.broadcast_to(np.asarray(x0, float), (chains, problem.dim))
    run = sgd(problem, start, lr, batch_size, steps, np.random.default_rng(seed), replacement=True,
              record_every=record_every, record_values=True)
    if run.diverged.any():
        return np.array(run.record_steps), np.full(len(run.record_steps), np.nan)
    return np.array(run.record_steps), run.values.mean(axis=1) - problem.optimum()
