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

:class:`MinimaSum` has several global minima of equal depth (zero), every component being the smallest of
its quadratics around the minima: the minima share their depth and differ in a or s only (Sec. 2's f1, f2 is
the one-dimensional case, :func:`wu2018_section2`).

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
        factor = stability.batch_factor(self.n, batch_size, sampling)
        grads = self.component_grads(x)
        centred = grads - grads.mean(axis=1, keepdims=True)
        return factor * np.einsum("cni,cnj->cij", centred, centred) / self.n

    def _check(self, lr: float, batch_size: int) -> None:
        stability.validate(self.hessians, lr, batch_size)

    def moments(self, lr: float, batch_size: int, x0, steps: int, sampling: str = "subsets"):
        """Exact (E[e_t], E[e_t e_t^T]) for t = 0..steps, e_t = x_t - x*, from x_0 = x0: shapes
        [steps + 1, d] and [steps + 1, d, d] (the recursion in the module docstring)."""
        self._check(lr, batch_size)
        if int(steps) != steps or steps < 0:
            raise InvalidArgumentError(f"steps must be an integer >= 0, got {steps!r}")
        d = self.dim
        factor = stability.batch_factor(self.n, batch_size, sampling)
        operator = stability.second_moment_operator(self.hessians, lr, batch_size, sampling)
        step = np.eye(d) - lr * self.mean_hessian
        additive = lr**2 * factor * np.einsum("ni,nj->ij", self.offsets, self.offsets) / self.n
        mean = np.asarray(x0, dtype=np.float64).reshape(d) - self.minimum
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
        additive = lr**2 * factor * np.einsum("ni,nj->ij", self.offsets, self.offsets) / self.n
        operator = stability.second_moment_operator(self.hessians, lr, batch_size, sampling)
        moment = np.linalg.solve(np.eye(d * d) - operator, additive.ravel()).reshape(d, d)
        return 0.5 * (moment + moment.T)

    def stationary_excess_loss(self, lr: float, batch_size: int, sampling: str = "subsets") -> float:
        """E f(x) - f(x*) in the stationary law: 1/2 tr(H M) (f is exactly quadratic with Hessian H)."""
        return 0.5 * float(np.trace(self.mean_hessian @ self.stationary_second_moment(lr, batch_size, sampling)))


class MinimaSum:
    """Components f_i(x) = min_k [1/2 (x - m_k - e_ki)^T H_ki (x - m_k - e_ki) + depth_k] over minima m_k.

    Without shifts e and depths (the default) every component is zero at every m_k: all of them are global
    minima of equal depth, each interpolating, with its own sharpness a_k and non-uniformity s_k (Wu 2018,
    Sec. 2, in d dimensions). Shifts e_ki (with sum_i H_ki e_ki = 0, so that the minimum stays at m_k) make
    minimum k non-interpolating: SGD's noise there no longer vanishes; depths raise it.

    minima: [K, d]; hessians: [K, n, d, d], symmetric positive semi-definite, each minimum's mean Hessian
    positive definite; shifts: [K, n, d]; depths: [K]. Near m_k (where each component's k-th quadratic is its
    smallest), SGD is exactly the linear map of Theorem 1 with the H_ki, plus the shifts' additive noise.
    """

    def __init__(self, minima, hessians, shifts=None, depths=None):
        self.minima = np.asarray(minima, dtype=np.float64)
        h = np.asarray(hessians, dtype=np.float64)
        if self.minima.ndim != 2 or h.ndim != 4 or h.shape[0] != self.minima.shape[0] or \
                h.shape[2:] != (self.minima.shape[1],) * 2 or self.minima.shape[0] < 2:
            raise InvalidArgumentError(
                f"minima [K, d] and hessians [K, n, d, d] with K >= 2 must agree, got {self.minima.shape} "
                f"and {h.shape}")
        self.hessians = np.stack([_psd(hk, f"the Hessians at minimum {k}") for k, hk in enumerate(h)])
        self.count, self.n, self.dim = h.shape[0], h.shape[1], h.shape[2]
        if self.n < 2:
            raise InvalidArgumentError(f"a finite sum needs n >= 2 components, got {self.n}")
        for k in range(self.count):
            if np.linalg.eigvalsh(self.hessians[k].mean(axis=0))[0] <= 0:
                raise InvalidArgumentError(f"the mean Hessian at minimum {k} must be positive definite")
        self.shifts = np.zeros((self.count, self.n, self.dim)) if shifts is None else np.asarray(shifts, float)
        self.depths = np.zeros(self.count) if depths is None else np.asarray(depths, float).ravel()
        if self.shifts.shape != (self.count, self.n, self.dim) or self.depths.shape != (self.count,) or \
                not (np.all(np.isfinite(self.shifts)) and np.all(np.isfinite(self.depths))):
            raise InvalidArgumentError(
                f"shifts must be finite [K, n, d] = [{self.count}, {self.n}, {self.dim}] and depths finite [K], got "
                f"{self.shifts.shape} and {self.depths.shape}")
        pull = np.abs(np.einsum("knij,knj->ki", self.hessians, self.shifts)).max()
        if pull > 1e-9 * max(1.0, np.abs(self.hessians).max() * np.abs(self.shifts).max()):
            raise InvalidArgumentError("the shifts must satisfy sum_i H_ki e_ki = 0 at every minimum (so that it "
                                       f"stays at m_k); the largest entry of the sum is {pull:.3g}")

    def minimum_values(self) -> np.ndarray:
        """[K]: f(m_k) = depth_k + mean_i e_ki^T H_ki e_ki / 2 (where every component's k-th quadratic is its
        smallest)."""
        return self.depths + 0.5 * np.einsum("kni,knij,knj->k", self.shifts, self.hessians, self.shifts) / self.n

    def _quadratics(self, x) -> np.ndarray:
        """[chains, K, n]: each component's quadratic around each minimum."""
        diff = _points(x, self.dim)[:, None, None, :] - self.minima[None, :, None, :] - self.shifts[None]
        return 0.5 * np.einsum("ckni,knij,cknj->ckn", diff, self.hessians, diff) + self.depths[None, :, None]

    def component_values(self, x) -> np.ndarray:
        return self._quadratics(x).min(axis=1)

    def value(self, x) -> np.ndarray:
        return self.component_values(x).mean(axis=1)

    def _grads(self, x: np.ndarray, components: np.ndarray) -> np.ndarray:
        """[chains, m, d]: the gradients of the components [chains, m] at each chain's point, each from its
        active (smallest) quadratic."""
        h = self.hessians[:, components].transpose(1, 2, 0, 3, 4)               # [chains, m, K, d, d]
        e = self.shifts[:, components].transpose(1, 2, 0, 3)                     # [chains, m, K, d]
        diff = x[:, None, None, :] - self.minima[None, None] - e                 # [chains, m, K, d]
        values = 0.5 * np.einsum("cmki,cmkij,cmkj->cmk", diff, h, diff) + self.depths[None, None]
        active = values.argmin(axis=2)                                           # [chains, m]
        chains, members = np.arange(x.shape[0])[:, None], np.arange(components.shape[1])[None, :]
        return np.einsum("cmij,cmj->cmi", h[chains, members, active], diff[chains, members, active])

    def component_grads(self, x) -> np.ndarray:
        """[chains, n, d]: the gradient of each component's active (smallest) quadratic."""
        x = _points(x, self.dim)
        return self._grads(x, np.broadcast_to(np.arange(self.n), (x.shape[0], self.n)))

    def grad(self, x) -> np.ndarray:
        return self.component_grads(x).mean(axis=1)

    def batch_grad(self, x, batch: np.ndarray) -> np.ndarray:
        """[chains, d]: the mean gradient of each chain's batch (indices [chains, B]), computed for the batch only."""
        return self._grads(_points(x, self.dim), np.asarray(batch)).mean(axis=1)

    def nearest_minimum(self, x) -> np.ndarray:
        """[chains]: the index of the nearest minimum (-1 for a point that is not finite)."""
        x = _points(x, self.dim)
        distance = np.linalg.norm(x[:, None, :] - self.minima[None], axis=2)
        return np.where(np.isfinite(x).all(axis=1), np.nan_to_num(distance, nan=np.inf).argmin(axis=1), -1)

    def component_hessians(self, k: int) -> np.ndarray:
        if not 0 <= k < self.count:
            raise InvalidArgumentError(f"minimum index must be in 0..{self.count - 1}, got {k}")
        return self.hessians[k]

    def sharpness_nonuniformity(self, k: int) -> tuple[float, float]:
        return stability.sharpness_nonuniformity(self.component_hessians(k))

    def mean_square_rate(self, k: int, lr: float, batch_size: int, sampling: str = "subsets") -> float:
        return stability.mean_square_rate(self.component_hessians(k), lr, batch_size, sampling)

    def local_sum(self, k: int) -> QuadraticSum:
        """The quadratic sum that equals this one near minimum k."""
        return QuadraticSum(self.component_hessians(k), np.broadcast_to(self.minima[k], (self.n, self.dim)))


class LocalNoiseSum:
    """A finite sum over a smooth potential U whose noise has a chosen kind in each place:

        f_i(x) = U(x) + s v_i |x - m|^2 psi(x) / 2 + xi_i . (x - c) chi(x),

    with mean-zero offsets v_i (mean square 1; :func:`_pattern`) and xi_i (sum zero, standard deviation
    `additive` per coordinate), and bumps psi, chi around m and c that are 1 at their centre and vanish from
    the distance `width` on (psi = (1 - |x - m|^2 / width^2)^2 inside). The mean is U
    whatever s and xi, so the Gibbs law exp(-U/T) of the Langevin reading is the same for every choice; near m
    the noise is multiplicative (the per-sample curvatures at m differ by s v_i: non-uniformity s, and the
    noise vanishes at m, as at an interpolating minimum), near c it is additive. Away from both bumps there is
    no noise. U must have critical points at m and c (grad U = 0) for them to stay put."""

    def __init__(self, potential, n: int, *, multiplicative_at, nonuniformity: float, additive_at, additive: float,
                 width: float = 0.9, pattern: str = "halves", seed: int = 0):
        if n < 2 or n % 2 or not (nonuniformity >= 0 and additive >= 0 and width > 0):
            raise InvalidArgumentError(
                f"LocalNoiseSum needs an even n >= 2, non-uniformity >= 0, additive >= 0 and width > 0, got n={n}, "
                f"{nonuniformity}, {additive}, {width}")
        if pattern not in MENU_PATTERNS:
            raise InvalidArgumentError(f"pattern must be one of {', '.join(MENU_PATTERNS)}, got {pattern!r}")
        self.potential, self.n, self.dim = potential, n, potential.dim
        self.centre = np.asarray(multiplicative_at, float).reshape(self.dim)
        self.noisy = np.asarray(additive_at, float).reshape(self.dim)
        self.spread = nonuniformity * _pattern(pattern, n)                       # [n]
        shifts = np.random.default_rng(seed).normal(size=(n, self.dim))
        shifts -= shifts.mean(axis=0)
        self.shifts = additive * shifts / shifts.std(axis=0) if additive > 0 else np.zeros((n, self.dim))
        self.width = width
        if np.linalg.norm(self.centre - self.noisy) < 2 * width:
            raise InvalidArgumentError(
                f"the two bumps overlap: their centres are {np.linalg.norm(self.centre - self.noisy):.3g} apart, "
                f"less than twice the width {width}")

    def value(self, x) -> np.ndarray:
        return self.potential.value(x)

    def grad(self, x) -> np.ndarray:
        return self.potential.grad(x)

    def component_values(self, x) -> np.ndarray:
        """[chains, n]: f_i(x)."""
        x = _points(x, self.dim)
        diff, q = self._bump(x, self.centre)
        offset, p = self._bump(x, self.noisy)
        return (self.potential.value(x)[:, None] + 0.5 * self.spread[None] * ((diff**2).sum(axis=1) * q**2)[:, None]
                + (offset @ self.shifts.T) * (p**2)[:, None])

    def _bump(self, x, centre):
        """(x - centre, q) with q = max(1 - |x - centre|^2 / w^2, 0): the bump is q^2, zero (with its gradient)
        from the distance w on, so the two kinds of noise do not overlap."""
        diff = x - centre
        return diff, np.maximum(1 - (diff**2).sum(axis=1) / self.width**2, 0.0)

    def batch_grad(self, x, batch: np.ndarray) -> np.ndarray:
        x, batch = _points(x, self.dim), np.asarray(batch)
        w2 = self.width**2
        diff, q = self._bump(x, self.centre)
        square = (diff**2).sum(axis=1)
        # grad of s v |x - m|^2 q^2 / 2 = s v (x - m) (q^2 - 2 q |x - m|^2 / w^2)
        curvature = self.spread[batch].mean(axis=1)
        multiplicative = (curvature * (q**2 - 2 * q * square / w2))[:, None] * diff
        offset, p = self._bump(x, self.noisy)
        xi = self.shifts[batch].mean(axis=1)                                      # [chains, d]
        # grad of xi . (x - c) p^2 = xi p^2 - 4 p (xi . (x - c)) (x - c) / w^2
        additive = (p**2)[:, None] * xi - (4 * p * (xi * offset).sum(axis=1) / w2)[:, None] * offset
        return self.potential.grad(x) + multiplicative + additive

    def component_hessians_at_centre(self) -> np.ndarray:
        """[n, d, d]: the per-sample Hessians at m, grad^2 U(m) + s v_i I (grad^2 U by central differences)."""
        step, eye = 1e-5, np.eye(self.dim)
        columns = [(self.potential.grad((self.centre + step * e)[None]) -
                    self.potential.grad((self.centre - step * e)[None]))[0] / (2 * step) for e in eye]
        hessian = np.array(columns).T
        hessian = 0.5 * (hessian + hessian.T)
        return hessian[None] + self.spread[:, None, None] * eye[None]


def wu2018_section2() -> MinimaSum:
    """f = (f1 + f2)/2, f1 = min(x^2, 0.1 (x-1)^2), f2 = min(x^2, 1.9 (x-1)^2) (Wu 2018, Sec. 2): a = 2 at both
    minima, s = 0 at x = 0 and s = 1.8 at x = 1."""
    return MinimaSum([[0.0], [1.0]], [[[[2.0]], [[2.0]]], [[[0.2]], [[3.8]]]])


def _spread(a: float, s: float) -> np.ndarray:
    """Four 2x2 component Hessians a I + D_i with D = s diag(1, -1), -s diag(1, -1), s [[0, 1], [1, 0]] and its
    negative: their mean is a I (sharpness a), Sigma = mean D_i^2 = s^2 I (non-uniformity s in every
    direction), and each component has curvatures a + s and a - s along its own axes (convex for s <= a).
    With a = 2, s = 1.8 each component has Sec. 2's curvatures 3.8 and 0.2."""
    flip, swap = np.diag([1.0, -1.0]), np.array([[0.0, 1.0], [1.0, 0.0]])
    base = a * np.eye(2)
    return np.stack([base + s * flip, base - s * flip, base + s * swap, base - s * swap])


def equal_sharpness_2d(a: float = 2.0, s: float = 1.8, separation: float = 2.0) -> MinimaSum:
    """Two global minima in d = 2, (0, 0) and (separation, 0), with the same mean Hessian a I (sharpness a at
    both) and four components: at (0, 0) they agree (s = 0), at (separation, 0) they differ by
    :func:`_spread` (non-uniformity s, 0 < s <= a)."""
    if not (a > 0 and 0 < s <= a and separation > 0):
        raise InvalidArgumentError(
            f"equal_sharpness_2d needs a > 0, 0 < s <= a and separation > 0, got a={a}, s={s}, "
            f"separation={separation}")
    return MinimaSum([[0.0, 0.0], [separation, 0.0]], [np.stack([a * np.eye(2)] * 4), _spread(a, s)])


def equal_nonuniformity_2d(a_flat: float = 2.0, a_sharp: float = 3.0, s: float = 1.8,
                           separation: float = 2.0) -> MinimaSum:
    """Two global minima in d = 2 with the same non-uniformity s (:func:`_spread` at both) and sharpness
    a_flat at (0, 0), a_sharp at (separation, 0); 0 < s <= a_flat <= a_sharp."""
    if not (0 < s <= a_flat <= a_sharp and separation > 0):
        raise InvalidArgumentError(
            f"equal_nonuniformity_2d needs 0 < s <= a_flat <= a_sharp and separation > 0, got "
            f"a_flat={a_flat}, a_sharp={a_sharp}, s={s}, separation={separation}")
    return MinimaSum([[0.0, 0.0], [separation, 0.0]], [_spread(a, s) for a in (a_flat, a_sharp)])


def wide_nonuniform_vs_narrow_2d(a_wide: float = 1.0, s_wide: float = 0.95, a_narrow: float = 1.5,
                                 separation: float = 3.0) -> MinimaSum:
    """Two global minima in d = 2 of equal depth: a wide one at (0, 0) (mean Hessian a_wide I, its four
    components spread by :func:`_spread`, non-uniformity s_wide < a_wide) and a narrow uniform one at
    (separation, 0) (every component a_narrow I, s = 0). At low temperature the Boltzmann law puts the share
    a_narrow / (a_narrow + a_wide) of its mass on the wide one (mass ~ det(H)^(-1/2)); linear stability lets
    SGD stay at it only while (8) holds, which s_wide decides for B < n."""
    if not (0 < s_wide < a_wide < a_narrow and separation > 0):
        raise InvalidArgumentError(
            f"wide_nonuniform_vs_narrow_2d needs 0 < s_wide < a_wide < a_narrow and separation > 0, got "
            f"a_wide={a_wide}, s_wide={s_wide}, a_narrow={a_narrow}, separation={separation}")
    return MinimaSum([[0.0, 0.0], [separation, 0.0]],
                            [_spread(a_wide, s_wide), np.stack([a_narrow * np.eye(2)] * 4)])


MENU_PATTERNS = ("halves", "outlier")


def _pattern(kind: str, n: int) -> np.ndarray:
    """n offsets with mean 0 and mean square 1: +-1 in halves, or one sample at sqrt(n-1) and the others at
    -1/sqrt(n-1) (the non-uniformity carried by a single sample, as by one hard or mislabelled example)."""
    if kind == "halves":
        return np.tile([1.0, -1.0], n // 2)
    return np.array([np.sqrt(n - 1)] + [-1 / np.sqrt(n - 1)] * (n - 1))


def minima_menu(sharpness, nonuniformity, n: int = 8, pattern: str = "halves", spacing: float = 1.0,
                seed: int = 0) -> MinimaSum:
    """Global minima of equal depth on a line, one for every pair (a, s) of the two grids, so that a and s are
    uncorrelated over the menu. The n components have curvature a + s v_i, v a :func:`_pattern` (mean a,
    spread s); they are strictly convex when s < a ("halves") or s < a sqrt(n - 1) ("outlier"). The minima stand
    `spacing` apart in an order drawn from `seed`, so that no trend of a or s along the line favours a
    basin."""
    if pattern not in MENU_PATTERNS:
        raise InvalidArgumentError(f"pattern must be one of {', '.join(MENU_PATTERNS)}, got {pattern!r}")
    if n < 2 or n % 2 or not spacing > 0:
        raise InvalidArgumentError(f"minima_menu needs an even n >= 2 and spacing > 0, got n={n}, spacing={spacing}")
    sharpness, spreads = np.asarray(sharpness, float).ravel(), np.asarray(nonuniformity, float).ravel()
    offsets = _pattern(pattern, n)
    limit = sharpness.min() / -offsets.min() if sharpness.size else 0.0
    if sharpness.size < 1 or spreads.size < 1 or np.any(sharpness <= 0) or np.any(spreads < 0) or \
            spreads.max() >= limit:
        raise InvalidArgumentError(
            f"minima_menu needs sharpness > 0 and non-uniformities in [0, {limit:.4g}) (every component strictly "
            f"convex with the {pattern!r} pattern: a component flat around one minimum would be zero everywhere "
            f"and change the others), got sharpness {sharpness.tolist()} and non-uniformity {spreads.tolist()}")
    pairs = [(a, s) for a in sharpness for s in spreads]
    order = np.random.default_rng(seed).permutation(len(pairs))
    hessians = np.array([[[[a + s * v]] for v in offsets] for a, s in (pairs[k] for k in order)])
    minima = spacing * np.arange(len(pairs), dtype=float)[:, None]
    return MinimaSum(minima, hessians)


def simulate_moments(finite_sum: QuadraticSum, lr: float, batch_size: int, x0, steps: int, chains: int,
                     rng: np.random.Generator, sampling: str = "subsets") -> np.ndarray:
    """Monte Carlo of ||x_t - x*||^2 for each chain, t = 0..steps: [chains, steps + 1] (for tests against
    :meth:`QuadraticSum.mean_square`)."""
    finite_sum._check(lr, batch_size)
    stability.batch_factor(finite_sum.n, batch_size, sampling)
    x = np.broadcast_to(np.asarray(x0, float), (chains, finite_sum.dim)).copy()
    out = np.empty((chains, steps + 1))
    out[:, 0] = ((x - finite_sum.minimum) ** 2).sum(axis=1)
    for t in range(steps):
        batch = draw_batches(rng, chains, finite_sum.n, batch_size, replacement=sampling == "replacement")
        x = x - lr * finite_sum.batch_grad(x, batch)
        out[:, t + 1] = ((x - finite_sum.minimum) ** 2).sum(axis=1)
    return out
