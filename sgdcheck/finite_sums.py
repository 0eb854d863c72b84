"""Finite sums of quadratics whose SGD noise depends on the state, with exact moments.

Wu, Ma & E (NeurIPS 2018), Sec. 2-3: near a global minimum the loss is f(x) = (1/n) sum_i f_i(x) with
per-sample Hessians H_i, and a batch b's gradient differs from the full gradient by a term that depends on
where SGD is. For f_i(x) = 1/2 (x - c_i)^T H_i (x - c_i) and the minimum x* of f,

    grad f_b(x) - grad f(x) = (H_b - H)(x - x*) + g_b,    g_b = mean_{i in b} H_i (x* - c_i),

where H_b is the batch mean of the H_i. The first term grows with the distance from x* and with the spread of
the H_i (the non-uniformity s); the second is present only where the components do not share their minimum.
:class:`QuadraticSum` is this sum in both kinds: interpolating (every c_i = x*: the noise vanishes at the
minimum and scales with a and s nearby, the over-parameterised case of the paper) and non-interpolating (an
additive part g_b besides). The Langevin reading of SGD (Poggio & Liao Sec. 7; Chaudhari's notes Sec. 3)
keeps only an additive noise of fixed covariance; these sums are where the two pictures differ.

Sums with several minima are in :mod:`sgdcheck.minima_sums`, noise placed around chosen points of a smooth
potential in :mod:`sgdcheck.local_noise`.

The exact moments of the error e_t = x_t - x* follow from the batch being drawn afresh at every step,
independently of e_t (the samplings of :mod:`sgdcheck.stability`):

    m_{t+1} = (I - eta H) m_t,
    M_{t+1} = T(M_t) + eta^2 c (K(m_t) + K(m_t)^T) + eta^2 c G,

T the second-moment map of :func:`sgdcheck.stability.second_moment_operator`, c the batch factor
((n-B)/(B(n-1)) for uniform B-subsets, 1/B with replacement), K(m) = (1/n) sum_i H_i m g_i^T and
G = (1/n) sum_i g_i g_i^T with g_i = H_i (x* - c_i) (sum_i g_i = 0).
"""
from __future__ import annotations

import numpy as np

from . import stability
from .errors import InvalidArgumentError
from .landscapes import _as_points as _points
from .samplers import draw_batches

def _psd(hessians, what: str) -> np.ndarray:
    h = stability.validate(hessians)
    smallest = np.linalg.eigvalsh(h).min()
    if smallest < -1e-10 * max(1.0, np.abs(h).max()):
        raise InvalidArgumentError(f"{what} must be positive semi-definite; an eigenvalue is {smallest:.3g}")
    return h

class QuadraticSum:
    """f(x) = (1/n) sum_i 1/2 (x - c_i)^T H_i (x - c_i), points x of shape [chains, d].

    hessians: [n, d, d], each symmetric positive semi-definite; centers: [n, d], or None for every c_i = 0
    (the interpolating kind). The mean Hessian H must be positive definite, so that the minimum
    x* = H^{-1} mean_i H_i c_i is unique.
    """

    def __init__(self, hessians, centers=None):
        self.hessians = _psd(hessians, "the component Hessians")
        self.n, self.dim = self.hessians.shape[:2]
        if self.n < 2:
            raise InvalidArgumentError(f"a finite sum needs n >= 2 components, got {self.n}")
        self.centers = (np.zeros((self.n, self.dim)) if centers is None
                        else np.asarray(centers, dtype=np.float64))
        if self.centers.shape != (self.n, self.dim) or not np.all(np.isfinite(self.centers)):
            raise InvalidArgumentError(
                f"centers must be finite with shape [n, d] = [{self.n}, {self.dim}], got {self.centers.shape}")
        mean = self.hessians.mean(axis=0)
        if np.linalg.eigvalsh(mean)[0] <= 1e-12 * max(1.0, np.abs(mean).max()):
            raise InvalidArgumentError("the mean Hessian H must be positive definite (a unique minimum)")
        self.mean_hessian = mean
        self.minimum = np.linalg.solve(mean, np.einsum("nij,nj->i", self.hessians, self.centers) / self.n)
        # g_i = H_i (x* - c_i): each component's gradient at the minimum (they sum to zero)
        self.offsets = np.einsum("nij,nj->ni", self.hessians, self.minimum - self.centers)

    def additive_twin(self) -> "QuadraticSum":
        """The sum whose components all have the mean Hessian H and the same gradients g_i at the minimum: the
        same minimum, the same noise there (G), and no state-dependent part (H_b = H for every batch). SGD on
        it is the Langevin-type model with additive noise of constant covariance."""
        return QuadraticSum(np.broadcast_to(self.mean_hessian, self.hessians.shape).copy(),
                            self.minimum - np.linalg.solve(self.mean_hessian, self.offsets.T).T)

    @property
    def interpolating(self) -> bool:
        """Whether every component is minimised at x* (SGD's noise vanishes there)."""
        return bool(np.abs(self.offsets).max() <= 1e-12 * max(1.0, np.abs(self.hessians).max()))

    def component_grads(self, x) -> np.ndarray:
        """[chains, n, d]: grad f_i(x) = H_i (x - c_i)."""
        x = _points(x, self.dim)
        return np.einsum("nij,cnj->cni", self.hessians, x[:, None, :] - self.centers[None])

    def value(self, x) -> np.ndarray:
        diff = _points(x, self.dim)[:, None, :] - self.centers[None]
        return 0.5 * np.einsum("cni,nij,cnj->c", diff, self.hessians, diff) / self.n

    def grad(self, x) -> np.ndarray:
        return self.component_grads(x).mean(axis=1)

    def batch_grad(self, x, batch: np.ndarray) -> np.ndarray:
        """[chains, d]: the mean gradient of each chain's batch (indices [chains, B]), computed for the batch only."""
        x, batch = _points(x, self.dim), np.asarray(batch)
        return np.einsum("cbij,cbj->ci", self.hessians[batch], x[:, None, :] - self.centers[batch]) / batch.shape[1]

    def sharpness_nonuniformity(self) -> tuple[float, float]:
        """(a, s) at the minimum (Wu 2018, Definition 3)."""
        return stability.sharpness_nonuniformity(self.hessians)

    def mean_square_rate(self, lr: float, batch_size: int, sampling: str = "subsets") -> float:
        """The growth factor per step of E||x_t - x*||^2 in its homogeneous part (Theorem 1's map)."""
        return stability.mean_square_rate(self.hessians, lr, batch_size, sampling)

    def noise_covariance(self, x, batch_size: int, sampling: str = "subsets") -> np.ndarray:
        """[chains, d, d]: the covariance of the batch gradient at each point x, c Cov_i(grad f_i(x)).

        Zero at the minimum of an interpolating sum; quadratic in the distance from it."""
        stability.validate(self.hessians, batch_size=batch_size)
        factor = stability.batch_factor(self.n, batch_size, sampling)
        grads = self.component_grads(x)
        centred = grads - grads.mean(axis=1, keepdims=True)
        return factor * np.einsum("cni,cnj->cij", centred, centred) / self.n

    def _check(self, lr: float, batch_size: int) -> None:
        stability.validate(self.hessians, lr, batch_size)

    def _noise_at_minimum(self, factor: float) -> np.ndarray:
        """c G, G = (1/n) sum_i g_i g_i^T: the batch gradient's covariance at the minimum."""
        return factor * np.einsum("ni,nj->ij", self.offsets, self.offsets) / self.n

    def moments(self, lr: float, batch_size: int, x0, steps: int, sampling: str = "subsets"):
        """Exact (E[e_t], E[e_t e_t^T]) for t = 0..steps, e_t = x_t - x*, from x_0 = x0: shapes
        [steps + 1, d] and [steps + 1, d, d] (the recursion in the module docstring)."""
        self._check(lr, batch_size)
        if not (np.isfinite(steps) and int(steps) == steps and steps >= 0):
            raise InvalidArgumentError(f"steps must be an integer >= 0, got {steps!r}")
        d = self.dim
        factor = stability.batch_factor(self.n, batch_size, sampling)
        operator = stability.second_moment_operator(self.hessians, lr, batch_size, sampling)
        step = np.eye(d) - lr * self.mean_hessian
        additive = lr**2 * self._noise_at_minimum(factor)
        x0 = np.asarray(x0, dtype=np.float64)
        if x0.size != d or not np.all(np.isfinite(x0)):
            raise InvalidArgumentError(f"x0 must be a finite point of dimension {d}, got {x0.tolist()}")
        mean = x0.reshape(d) - self.minimum
        second = np.outer(mean, mean)
        means, seconds = [mean], [second]
        for _ in range(steps):
            cross = np.einsum("nij,j,nk->ik", self.hessians, mean, self.offsets) / self.n
            second = (operator @ second.ravel()).reshape(d, d) + lr**2 * factor * (cross + cross.T) + additive
            mean = step @ mean
            means.append(mean)
            seconds.append(second)
        return np.array(means), np.array(seconds)

    def mean_square(self, lr: float, batch_size: int, x0, steps: int, sampling: str = "subsets") -> np.ndarray:
        """Exact E||x_t - x*||^2 for t = 0..steps."""
        return np.trace(self.moments(lr, batch_size, x0, steps, sampling)[1], axis1=1, axis2=2)

    def stationary_second_moment(self, lr: float, batch_size: int, sampling: str = "subsets") -> np.ndarray:
        """The limit of E[e_t e_t^T]: the solution of M = T(M) + eta^2 c G, which exists when the mean-square
        rate is below 1 (zero for an interpolating sum)."""
        self._check(lr, batch_size)
        rate = self.mean_square_rate(lr, batch_size, sampling)
        if not rate < 1:
            raise InvalidArgumentError(
                f"no stationary law: SGD (lr {lr}, batch {batch_size}) is mean-square unstable here "
                f"(rate {rate:.6g} >= 1)")
        d = self.dim
        factor = stability.batch_factor(self.n, batch_size, sampling)
        additive = lr**2 * self._noise_at_minimum(factor)
        operator = stability.second_moment_operator(self.hessians, lr, batch_size, sampling)
        moment = np.linalg.solve(np.eye(d * d) - operator, additive.ravel()).reshape(d, d)
        return 0.5 * (moment + moment.T)

    def stationary_excess_loss(self, lr: float, batch_size: int, sampling: str = "subsets") -> float:
        """E f(x) - f(x*) in the stationary law: 1/2 tr(H M) (f is exactly quadratic with Hessian H)."""
        return 0.5 * float(np.trace(self.mean_hessian @ self.stationary_second_moment(lr, batch_size, sampling)))

def simulate_moments(finite_sum: QuadraticSum, lr: float, batch_size: int, x0, steps: int, chains: int,
                     rng: np.random.Generator, sampling: str = "subsets") -> np.ndarray:
    """Monte Carlo of ||x_t - x*||^2 for each chain, t = 0..steps: [chains, steps + 1] (for tests against
    :meth:`QuadraticSum.mean_square`)."""
    finite_sum._check(lr, batch_size)
    stability.batch_factor(finite_sum.n, batch_size, sampling)
    for name, value in (("steps", steps), ("chains", chains)):
        if not (np.isfinite(value) and int(value) == value and value >= (0 if name == "steps" else 1)):
            raise InvalidArgumentError(f"{name} must be a whole number (chains >= 1, steps >= 0), got {value!r}")
    x = np.broadcast_to(np.asarray(x0, float), (chains, finite_sum.dim)).copy()
    out = np.empty((chains, steps + 1))
    out[:, 0] = ((x - finite_sum.minimum) ** 2).sum(axis=1)
    for t in range(steps):
        batch = draw_batches(rng, chains, finite_sum.n, batch_size, replacement=sampling == "replacement")
        x = x - lr * finite_sum.batch_grad(x, batch)
        out[:, t + 1] = ((x - finite_sum.minimum) ** 2).sum(axis=1)
    return out
