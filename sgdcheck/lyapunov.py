"""The typical growth rate of linearised SGD at a minimum: its top Lyapunov exponent.

Theorem 1 of Wu, Ma & E (2018) is about the mean square: E||x_t||^2 grows like rate^t
(:func:`sgdcheck.stability.mean_square_rate`). A single run follows the product of its random maps
x_t = (I - eta H_{b_t}) ... (I - eta H_{b_1}) x_0, whose norm grows like exp(lambda t) almost surely
(Furstenberg & Kesten 1960), lambda the top Lyapunov exponent. By Jensen's inequality
lambda <= log(rate) / 2, and it can be strictly smaller: a minimum can be mean-square unstable (rate > 1:
rare runs blow up and carry the mean) while almost every run converges to it (lambda < 0). Whether SGD
*typically* leaves a minimum is decided by lambda; the paper's condition by the rate.

In d = 1 the exponent is exact: lambda = E_b log|1 - eta h_b| over every batch. In d > 1 it is estimated
from runs of the product, renormalised at every step, with a standard error over independent runs.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from . import stability
from .errors import InvalidArgumentError
from .samplers import draw_batches

MAX_ENUMERATED = 200_000


@dataclass(frozen=True)
class Exponent:
    """lambda per step (of log ||x_t||), its standard error (0 when exact), and whether it is exact."""

    value: float
    standard_error: float
    exact: bool

    @property
    def interval(self) -> tuple[float, float]:
        """A 95% interval (the value itself when exact)."""
        return (self.value - 1.96 * self.standard_error, self.value + 1.96 * self.standard_error)


def _batch_means(hessians: np.ndarray, batch_size: int, sampling: str) -> np.ndarray | None:
    """The mean of every batch, each with equal weight (B-subsets, or ordered B-tuples with replacement), or
    None when there are too many to list."""
    n = hessians.shape[0]
    if sampling == "subsets":
        if math.comb(n, batch_size) > MAX_ENUMERATED:
            return None
        return stability.enumerate_batch_means(hessians, batch_size)
    if n**batch_size > MAX_ENUMERATED:
        return None
    return hessians[np.array(list(itertools.product(range(n), repeat=batch_size)))].mean(axis=1)


def top_exponent(hessians, lr: float, batch_size: int, sampling: str = "subsets", *,
                 rng: np.random.Generator | None = None, steps: int = 4000, runs: int = 64) -> Exponent:
    """The top Lyapunov exponent of x <- (I - eta H_b) x, batches drawn afresh at every step.

    d = 1 with listable batches: exact. Otherwise `runs` independent products of `steps` maps (after a
    tenth of them as burn-in), each renormalised at every step; the mean of the runs' growth rates and its
    standard error. A batch map that is exactly singular in d = 1 gives -inf (the run lands on the minimum)."""
    h = stability.validate(hessians, lr, batch_size)
    stability.batch_factor(h.shape[0], batch_size, sampling)
    n, d = h.shape[:2]
    if not (np.isfinite(steps) and np.isfinite(runs) and int(steps) == steps and steps >= 10 and int(runs) == runs
            and runs >= 2):
        raise InvalidArgumentError(f"steps must be an integer >= 10 and runs an integer >= 2, got {steps}, {runs}")
    means = _batch_means(h, batch_size, sampling) if d == 1 else None
    if means is not None:
        factors = np.abs(1 - lr * means[:, 0, 0])
        with np.errstate(divide="ignore"):
            return Exponent(float(np.log(factors).mean()), 0.0, True)
    rng = np.random.default_rng(0) if rng is None else rng
    x = rng.normal(size=(runs, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    burn_in = steps // 10
    total = np.zeros(runs)
    for t in range(steps):
        batch = draw_batches(rng, runs, n, batch_size, replacement=sampling == "replacement")
        x = x - lr * np.einsum("rij,rj->ri", h[batch].mean(axis=1), x)
        norms = np.linalg.norm(x, axis=1)
        if np.any(norms == 0):
            return Exponent(-math.inf, 0.0, False)
        if t >= burn_in:
            total += np.log(norms)
        x /= norms[:, None]
    rates = total / (steps - burn_in)
    return Exponent(float(rates.mean()), float(rates.std(ddof=1) / math.sqrt(runs)), False)
