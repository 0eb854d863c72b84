"""Linear models as finite sums, with the closed forms the claims compare against.

Least squares f(x) = (1/n) sum_i (a_i . x - b_i)^2 / 2 (Chaudhari's notes, Sec. 2; Wu 2020 slides)
and L2-regularised logistic regression, both convex. Points are batched: x has shape [chains, d].
"""
from __future__ import annotations

import numpy as np

from .errors import InvalidArgumentError


class LeastSquares:
    """f_i(x) = (a_i . x - b_i)^2 / 2, f = mean f_i. Hessian H = A^T A / n."""

    def __init__(self, features, targets):
        a = np.asarray(features, float)
        b = np.asarray(targets, float)
        if a.ndim != 2 or b.shape != (a.shape[0],):
            raise InvalidArgumentError(f"features [n, d] and targets [n] expected, got {a.shape} and {b.shape}")
        self.a, self.b = a, b
        self.n, self.dim = a.shape
        self.hessian = a.T @ a / self.n

    def value(self, x) -> np.ndarray:
        r = np.atleast_2d(x) @ self.a.T - self.b
        return 0.5 * (r**2).mean(axis=1)

    def grad(self, x) -> np.ndarray:
        r = np.atleast_2d(x) @ self.a.T - self.b
        return r @ self.a / self.n

    def batch_grad(self, x, batch: np.ndarray) -> np.ndarray:
        rows = self.a[batch]                                   # [chains, B, d]
        r = np.einsum("cbd,cd->cb", rows, x) - self.b[batch]
        return np.einsum("cb,cbd->cd", r, rows) / batch.shape[1]

    def minimizer(self) -> np.ndarray:
        """The minimum-norm minimiser A^+ b."""
        return np.linalg.pinv(self.a) @ self.b

    def optimum(self) -> float:
        return float(self.value(self.minimizer()[None])[0])

    def smoothness(self) -> tuple[float, float]:
        """(L, m): the largest and smallest eigenvalues of H."""
        w = np.linalg.eigvalsh(self.hessian)
        return float(w[-1]), float(w[0])

    def noise_constants(self, sigma_factor: float = 2.0) -> tuple[float, float]:
        """(sigma_0, sigma) with E_i ||grad f_i(x)||^2 <= sigma_0 + sigma ||grad f(x)||^2 for all x
        (Chaudhari's notes, the assumption of Theorem 7), for single-sample SGD.

        With r = x - x*, E||grad f_i||^2 = r^T Q r + 2 r^T c + g and ||grad f||^2 = r^T H^2 r, where
        Q = E[(a a^T)^2], c = E[a a^T g_i], g = E||g_i||^2, g_i = grad f_i(x*). Taking
        sigma = sigma_factor * lambda_max(H^-1 Q H^-1) makes P = sigma H^2 - Q positive definite and
        the smallest valid sigma_0 is g + c^T P^-1 c. Needs H invertible (strong convexity)."""
        _, m = self.smoothness()
        if m <= 0:
            raise InvalidArgumentError("noise constants need a strongly convex least squares (n >= d, full rank)")
        xstar = self.minimizer()
        residual = self.a @ xstar - self.b
        g_i = residual[:, None] * self.a
        norms2 = (self.a**2).sum(1)
        q = np.einsum("i,ij,ik->jk", norms2, self.a, self.a) / self.n
        c = np.einsum("ij,ik,ik->j", self.a, self.a, g_i) / self.n
        g = float((g_i**2).sum(1).mean())
        h_inv = np.linalg.inv(self.hessian)
        sigma = sigma_factor * float(np.linalg.eigvalsh(h_inv @ q @ h_inv)[-1])
        p = sigma * self.hessian @ self.hessian - q
        sigma0 = g + float(c @ np.linalg.solve(p, c))
        return sigma0, sigma


def random_least_squares(rng: np.random.Generator, n: int, d: int, noise: float = 0.5) -> LeastSquares:
    """Gaussian features with unequal column scales and noisy targets (a non-interpolating instance)."""
    a = rng.normal(size=(n, d)) * np.linspace(0.5, 1.5, d)
    b = a @ rng.normal(size=d) + noise * rng.normal(size=n)
    return LeastSquares(a, b)


def theorem7_bound(t, alpha, L, m, sigma0, initial_gap):
    """alpha L sigma0/(2m) + (1 - alpha m)^t (f(x0) - f* - alpha L sigma0/(2m)) (Chaudhari, Thm 7)."""
    floor = alpha * L * sigma0 / (2 * m)
    return floor + (1 - alpha * m) ** np.asarray(t, float) * (initial_gap - floor)


def gd_limit(features, targets, beta0) -> np.ndarray:
    """Where GD on least squares converges (Wu 2020 slides, Theorem): V S^-1 U^T y plus the
    projection of beta_0 on the null space of X."""
    x = np.asarray(features, float)
    pinv = np.linalg.pinv(x)
    beta0 = np.asarray(beta0, float)
    return pinv @ np.asarray(targets, float) + beta0 - pinv @ (x @ beta0)


def run_gd_least_squares(features, targets, beta0, lr: float, steps: int) -> np.ndarray:
    """beta <- beta - (eta/n) X^T (X beta - y), iterated; beta0 may be [d] or [d, R] (R problems)."""
    x = np.asarray(features, float)
    beta = np.array(beta0, float, copy=True)
    y = np.asarray(targets, float)
    n = x.shape[0]
    for _ in range(steps):
        beta -= lr / n * (x.T @ (x @ beta - y))
    return beta


class RidgeLogistic:
    """(1/n) sum_i log(1 + exp(-y_i w . x_i)) + (lam/2) ||w||^2: convex, with a unique minimiser."""

    def __init__(self, features, labels, lam: float):
        self.x, self.y, self.lam = np.asarray(features, float), np.asarray(labels, float), lam
        self.n, self.dim = self.x.shape
        self.smooth = float(np.linalg.eigvalsh(self.x.T @ self.x / self.n)[-1] / 4 + lam)

    def grad(self, w) -> np.ndarray:
        margins = self.y * (self.x @ w)
        weights = -self.y / (1 + np.exp(margins))
        return self.x.T @ weights / self.n + self.lam * w

    def minimizer(self, tol: float = 1e-12) -> np.ndarray:
        """Newton's method to machine precision."""
        w = np.zeros(self.dim)
        for _ in range(100):
            p = 1 / (1 + np.exp(-self.y * (self.x @ w)))
            hess = (self.x.T * (p * (1 - p))) @ self.x / self.n + self.lam * np.eye(self.dim)
            step = np.linalg.solve(hess, self.grad(w))
            w -= step
            if np.linalg.norm(step) < tol:
                break
        return w


def early_stopping_curve(singular_values, n: int, lr: float, steps, noise_std: float,
                         signal_coordinates) -> np.ndarray:
    """E||beta_k - beta*||^2 for discrete GD from 0 on y = X beta* + xi, xi ~ N(0, eps^2 I), with
    beta* = V a* (Wu 2020 slides): sum_j a*_j^2 r_j^{2k} + eps^2 sum_j (1 - r_j^k)^2 / s_j^2,
    r_j = 1 - eta s_j^2 / n."""
    s = np.asarray(singular_values, float)
    k = np.asarray(steps, float)[:, None]
    r = 1 - lr * s**2 / n
    a = np.asarray(signal_coordinates, float)
    return (a**2 * r ** (2 * k)).sum(1) + noise_std**2 * (((1 - r**k) ** 2) / s**2).sum(1)
