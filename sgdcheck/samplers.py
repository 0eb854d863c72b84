"""GD, SGD over finite sums, Langevin and SGDL, running many seeded chains at once (vectorized).

All samplers take points [chains, d] and a numpy Generator, and return a :class:`ChainRun`.
A learning rate may be a number or a schedule t -> eta_t. A chain that leaves the finite numbers
(or exceeds `blowup` in norm) is marked diverged and frozen, never a crash.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .errors import InvalidArgumentError
from .sampling import note as note_sampling

Schedule = Callable[[int], float]


@dataclass
class ChainRun:
    """Final points, diverged flags, and what was recorded along the way."""

    x: np.ndarray
    diverged: np.ndarray
    samples: np.ndarray | None = None          # [records, chains, d]
    values: np.ndarray | None = None           # [records, chains] potential values
    record_steps: list = field(default_factory=list)

    @property
    def converged_fraction(self) -> float:
        return float(1 - self.diverged.mean())


def _schedule(lr) -> Schedule:
    if callable(lr):
        return lr
    if not (np.isfinite(lr) and lr > 0):
        raise InvalidArgumentError(f"lr must be a finite number > 0 or a schedule, got {lr!r}")
    return lambda t: lr


def _iterate(potential, x0, steps: int, update, *, record_every: int | None, burn_in: int,
             domain, blowup: float, record_values: bool) -> ChainRun:
    if steps < 0 or int(steps) != steps:
        raise InvalidArgumentError(f"steps must be an integer >= 0, got {steps!r}")
    x = np.array(x0, dtype=np.float64, copy=True)
    if x.ndim != 2 or x.shape[1] != potential.dim:
        raise InvalidArgumentError(f"x0 must have shape [chains, {potential.dim}], got {tuple(x.shape)}")
    diverged = np.zeros(x.shape[0], bool)
    samples, values, record_steps = [], [], []
    for t in range(steps):
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging chain is a result, not an error
            new = update(x, t)
            if domain is not None:
                new = domain.reflect(new)
            bad = ~np.isfinite(new).all(1) | (np.abs(new).max(1) > blowup)
        diverged |= bad
        x = np.where(diverged[:, None], np.nan, new)
        if record_every and t + 1 > burn_in and (t + 1 - burn_in) % record_every == 0:
            samples.append(x.copy())
            record_steps.append(t + 1)
            if record_values:
                with np.errstate(invalid="ignore"):
                    values.append(potential.value(np.nan_to_num(x)) + np.where(diverged, np.nan, 0))
    return ChainRun(
        x=x, diverged=diverged,
        samples=np.array(samples) if samples else None,
        values=np.array(values) if values else None,
        record_steps=record_steps,
    )


def gd(potential, x0, lr, steps: int, *, record_every=None, burn_in=0, domain=None,
       blowup=1e12, record_values=False, preconditioner=None) -> ChainRun:
    """x <- x - eta_t D^{-1} grad U(x) (D = I unless a preconditioner matrix is given)."""
    eta = _schedule(lr)
    inverse = None if preconditioner is None else np.linalg.inv(np.asarray(preconditioner, float))

    def update(x, t):
        g = potential.grad(x)
        return x - eta(t) * (g if inverse is None else g @ inverse.T)

    return _iterate(potential, x0, steps, update, record_every=record_every, burn_in=burn_in,
                    domain=domain, blowup=blowup, record_values=record_values)


def langevin(potential, x0, lr, temperature: float, steps: int, rng: np.random.Generator, *,
             record_every=None, burn_in=0, domain=None, blowup=1e12, record_values=False) -> ChainRun:
    """Langevin GD (GDL): x <- x - eta grad U + sqrt(2 eta T) xi, xi ~ N(0, I).

    Its stationary law tends to the Boltzmann/Gibbs density exp(-U/T)/Z as eta -> 0
    (Poggio & Liao Sec. 7.2; Chaudhari's notes Sec. 3.3 with beta = 1/T)."""
    if not temperature >= 0:
        raise InvalidArgumentError(f"temperature must be >= 0, got {temperature!r}")
    eta = _schedule(lr)

    def update(x, t):
        step = eta(t)
        return x - step * potential.grad(x) + np.sqrt(2 * step * temperature) * rng.standard_normal(x.shape)

    return _iterate(potential, x0, steps, update, record_every=record_every, burn_in=burn_in,
                    domain=domain, blowup=blowup, record_values=record_values)


def draw_batches(rng: np.random.Generator, chains: int, n: int, batch_size: int,
                 replacement: bool) -> np.ndarray:
    """[chains, B] indices: uniform without replacement (distinct) or i.i.d. with replacement."""
    if replacement:
        return rng.integers(0, n, size=(chains, batch_size))
    return np.argpartition(rng.random((chains, n)), batch_size - 1, axis=1)[:, :batch_size]


def sgd(finite_sum, x0, lr, batch_size: int, steps: int, rng: np.random.Generator, *,
        replacement=False, noise: float = 0.0, record_every=None, burn_in=0, domain=None,
        blowup=1e12, record_values=False) -> ChainRun:
    """SGD on a finite sum; with noise > 0 it is SGDL: x <- x - eta grad U_b + noise W, W ~ N(0, I)
    (Poggio & Liao eq. 5, gamma' = noise). Every chain draws its batch afresh at every step: a uniform
    B-subset ("subsets", the default) or B i.i.d. indices (replacement=True)."""
    n = finite_sum.n
    if int(batch_size) != batch_size or not 1 <= batch_size <= n:
        raise InvalidArgumentError(f"batch_size must be an integer in 1..n = 1..{n}, got {batch_size!r}")
    if noise < 0:
        raise InvalidArgumentError(f"noise must be >= 0, got {noise!r}")
    eta = _schedule(lr)
    note_sampling("replacement" if replacement else "subsets")

    def update(x, t):
        batch = draw_batches(rng, x.shape[0], n, batch_size, replacement)
        new = x - eta(t) * finite_sum.batch_grad(x, batch)
        return new + noise * rng.standard_normal(x.shape) if noise else new

    return _iterate(finite_sum, x0, steps, update, record_every=record_every, burn_in=burn_in,
                    domain=domain, blowup=blowup, record_values=record_values)


def sgdl(finite_sum, x0, lr, batch_size: int, noise: float, steps: int, rng, **options) -> ChainRun:
    """SGDL (Poggio & Liao eq. 5): SGD plus Gaussian noise of constant power."""
    return sgd(finite_sum, x0, lr, batch_size, steps, rng, noise=noise, **options)


def anneal(potential, x0, lrs, steps_per_stage: int, rng, *, batch_size=None, temperature_per_lr=None,
           domain=None) -> ChainRun:
    """Equilibrate, lower the step, repeat (Chaudhari's notes, Remark 16).

    With a finite sum, each stage runs SGD at the stage's step; otherwise Langevin at temperature
    temperature_per_lr * eta (the SGD temperature is proportional to eta / batch)."""
    x = np.asarray(x0, float)
    diverged = np.zeros(x.shape[0], bool)
    for lr in lrs:
        if batch_size is not None:
            run = sgd(potential, x, lr, batch_size, steps_per_stage, rng, replacement=True, domain=domain)
        else:
            run = langevin(potential, x, lr, temperature_per_lr * lr, steps_per_stage, rng, domain=domain)
        x, diverged = run.x, diverged | run.diverged
    return ChainRun(x=x, diverged=diverged)
