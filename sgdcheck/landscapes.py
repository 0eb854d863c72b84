"""Analytic potentials of the source papers, vectorized over chains: x has shape [chains, d].

Each potential gives value(x) -> [chains] and grad(x) -> [chains, d]. Finite sums also give the
gradient of a batch of components, so SGD can run on them; potentials with two basins name the
basin of each point and give the exact Boltzmann mass of each basin.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import integrate, special
from scipy import stats as sps

from .errors import InvalidArgumentError

LN2 = math.log(2.0)


def _as_points(x, dim: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1 and dim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != dim:
        raise InvalidArgumentError(f"points must have shape [chains, {dim}], got {tuple(x.shape)}")
    return x


@dataclass(frozen=True)
class Box:
    """An axis-aligned box; chains that step outside are reflected back (reflected diffusion keeps
    the Boltzmann density of the box as its stationary law)."""

    low: float
    high: float

    def __post_init__(self):
        if not self.high > self.low:
            raise InvalidArgumentError(f"a box needs high > low, got [{self.low}, {self.high}]")

    def reflect(self, x: np.ndarray) -> np.ndarray:
        width = self.high - self.low
        y = np.mod(x - self.low, 2 * width)
        reflected = self.low + np.where(y > width, 2 * width - y, y)
        return np.where((x >= self.low) & (x <= self.high), x, reflected)

    def volume(self, dim: int) -> float:
        return (self.high - self.low) ** dim


class EscapeToy1D:
    """f = (f1 + f2)/2, f1 = min(x^2, 0.1 (x-1)^2), f2 = min(x^2, 1.9 (x-1)^2) (Wu 2018, Sec. 2).

    Two global minima, x = 0 and x = 1. Component curvatures f_i'' are 2, 2 at x = 0 and 0.2, 3.8
    at x = 1, so a = 2 at both minima while s = 0 at 0 and s = 1.8 at 1.
    """

    dim, n = 1, 2
    coefficients = (0.1, 1.9)

    def component_values(self, x) -> np.ndarray:
        x = _as_points(x, 1)[:, 0]
        return np.stack([np.minimum(x**2, c * (x - 1) ** 2) for c in self.coefficients], axis=1)

    def value(self, x) -> np.ndarray:
        return self.component_values(x).mean(axis=1)

    def component_grads(self, x) -> np.ndarray:
        """[chains, n, 1]: the gradient of each component."""
        x = _as_points(x, 1)[:, 0]
        grads = [np.where(x**2 <= c * (x - 1) ** 2, 2 * x, 2 * c * (x - 1)) for c in self.coefficients]
        return np.stack(grads, axis=1)[:, :, None]

    def grad(self, x) -> np.ndarray:
        return self.component_grads(x).mean(axis=1)

    def batch_grad(self, x, batch: np.ndarray) -> np.ndarray:
        grads = self.component_grads(x)
        return np.take_along_axis(grads, batch[:, :, None], axis=1).mean(axis=1)

    def component_hessians(self, minimum: float) -> np.ndarray:
        """Per-component Hessians [n, 1, 1] at the minimum x = 0 or x = 1."""
        if minimum == 0:
            return np.array([[[2.0]], [[2.0]]])
        if minimum == 1:
            return np.array([[[2 * c]] for c in self.coefficients])
        raise InvalidArgumentError(f"the minima are x = 0 and x = 1, got {minimum}")


class _MinOfQuadratics:
    """U = min over two quadratics q_k; a point's basin is the index of the smaller one."""

    def _quadratics(self, x) -> np.ndarray:  # [chains, 2]
        raise NotImplementedError

    def value(self, x) -> np.ndarray:
        return self._quadratics(x).min(axis=1)

    def basin(self, x) -> np.ndarray:
        return self._quadratics(x).argmin(axis=1)


class TwoBasin(_MinOfQuadratics):
    """Two minima of equal depth 0, the first wider by `ratio` in every direction (Poggio Fig. 8):
    U(x) = min(|x - c_w|^2 / (2 w^2), |x - c_n|^2 / (2 (w/ratio)^2)), centres on the first axis."""

    def __init__(self, dim: int, ratio: float = 2.0, width: float = 1.0, separation: float = 3.0):
        if dim < 1 or ratio <= 0 or width <= 0 or separation <= 0:
            raise InvalidArgumentError("TwoBasin needs dim >= 1 and positive ratio, width, separation")
        self.dim, self.ratio = dim, ratio
        self.widths = (width, width / ratio)
        self.centres = np.zeros((2, dim))
        self.centres[0, 0], self.centres[1, 0] = -separation / 2, separation / 2

    def _quadratics(self, x) -> np.ndarray:
        x = _as_points(x, self.dim)
        """Basin 0 is the wide one, basin 1 the narrow one."""
        return np.stack([((x - c) ** 2).sum(1) / (2 * w**2) for c, w in zip(self.centres, self.widths)], 1)

    def grad(self, x) -> np.ndarray:
        x = _as_points(x, self.dim)
        which = self.basin(x)
        centres, widths = self.centres[which], np.asarray(self.widths)[which][:, None]
        return (x - centres) / widths**2

    def boltzmann_fractions(self, temperature: float) -> np.ndarray:
        """Exact mass of each basin under exp(-U/T) on R^d.

        {x : q_w(x) < q_n(x)} is the outside of an Apollonius sphere, and a Gaussian's mass outside
        a sphere is a noncentral chi-square tail, so both masses are closed-form."""
        if temperature <= 0:
            raise InvalidArgumentError(f"temperature must be > 0, got {temperature}")
        (cw, cn), (ww, wn) = self.centres, self.widths
        r2 = (ww / wn) ** 2
        centre = (cw - r2 * cn) / (1 - r2)
        radius2 = centre @ centre - (cw @ cw - r2 * cn @ cn) / (1 - r2)
        masses = []
        for c, w, outside in ((cw, ww, True), (cn, wn, False)):
            var = temperature * w**2
            inside = sps.ncx2.cdf(radius2 / var, self.dim, ((c - centre) ** 2).sum() / var)
            masses.append((2 * math.pi * var) ** (self.dim / 2) * ((1 - inside) if outside else inside))
        masses = np.array(masses)
        return masses / masses.sum()


class DegenerateVsIsolated(_MinOfQuadratics):
    """Two minima of depth 0 in a box: an isolated one at (+sep/2, 0, ...) and a degenerate valley
    x_1 = -sep/2, flat in x_2..x_d (Poggio Fig. 9-10):
    U(x) = min(|x - c|^2, (x_1 + sep/2)^2) / (2 w^2)."""

    def __init__(self, dim: int, width: float = 0.5, separation: float = 1.0, half_width: float = 2.0):
        if dim < 1 or width <= 0 or separation <= 0:
            raise InvalidArgumentError("DegenerateVsIsolated needs dim >= 1 and positive width, separation")
        if 2 * separation * half_width > half_width**2:
            raise InvalidArgumentError("need separation <= half_width / 2 so the basin boundary stays in the box")
        self.dim, self.width, self.separation = dim, width, separation
        self.box = Box(-half_width, half_width)

    def _quadratics(self, x) -> np.ndarray:
        x = _as_points(x, self.dim)
        isolated = (x[:, 0] - self.separation / 2) ** 2 + (x[:, 1:] ** 2).sum(1)
        degenerate = (x[:, 0] + self.separation / 2) ** 2
        return np.stack([degenerate, isolated], 1) / (2 * self.width**2)  # basin 0: the valley

    def grad(self, x) -> np.ndarray:
        x = _as_points(x, self.dim)
        isolated = self.basin(x) == 1
        g = np.zeros_like(x)
        g[:, 0] = np.where(isolated, x[:, 0] - self.separation / 2, x[:, 0] + self.separation / 2)
        g[:, 1:] = np.where(isolated[:, None], x[:, 1:], 0.0)
        return g / self.width**2

    def boltzmann_fractions(self, temperature: float) -> np.ndarray:
        """Mass of each basin under exp(-U/T) on the box, by 1-D quadrature over x_1.

        The isolated basin is {x_1 > 0, |y|^2 < 2 sep x_1}: its inner integral is a chi-square
        CDF; the valley gets the box's y-volume minus that ball (inside the box by construction).
        The isolated Gaussian's tails beyond the box are neglected (documented: keep the box
        several standard deviations wide)."""
        if temperature <= 0:
            raise InvalidArgumentError(f"temperature must be > 0, got {temperature}")
        var, k, sep = temperature * self.width**2, self.dim - 1, self.separation
        low, high = self.box.low, self.box.high
        side = high - low
        ball = math.pi ** (k / 2) / special.gamma(k / 2 + 1)

        def isolated(x1):
            weight = math.exp(-((x1 - sep / 2) ** 2) / (2 * var))
            inner = (2 * math.pi * var) ** (k / 2) * sps.chi2.cdf(2 * sep * x1 / var, k) if k else 1.0
            return weight * inner

        def degenerate(x1):
            weight = math.exp(-((x1 + sep / 2) ** 2) / (2 * var))
            removed = ball * (2 * sep * x1) ** (k / 2) if (x1 > 0 and k) else (side**k if x1 > 0 else 0.0)
            return weight * (side**k - removed)

        z_iso = integrate.quad(isolated, 0, high, limit=200, points=[sep / 2])[0]
        z_deg = integrate.quad(degenerate, low, high, limit=200, points=[-sep / 2, 0.0])[0]
        masses = np.array([z_deg, z_iso])
        return masses / masses.sum()


class NoisyFiniteSum:
    """A finite sum U_i(x) = U(x) + xi_i . x with sum_i xi_i = 0: its mean is U, and a batch
    gradient is grad U plus the batch mean of xi, so SGD on it carries genuine minibatch noise."""

    def __init__(self, potential, n: int, noise_scale: float, seed: int = 0):
        if n < 2 or noise_scale < 0:
            raise InvalidArgumentError("NoisyFiniteSum needs n >= 2 and noise_scale >= 0")
        self.potential, self.n, self.dim = potential, n, potential.dim
        shifts = np.random.default_rng(seed).normal(size=(n, potential.dim))
        shifts -= shifts.mean(axis=0)
        shifts *= noise_scale / shifts.std(axis=0)
        self.shifts = shifts
        for name in ("basin", "boltzmann_fractions", "box"):
            if hasattr(potential, name):
                setattr(self, name, getattr(potential, name))

    def value(self, x) -> np.ndarray:
        return self.potential.value(x)

    def grad(self, x) -> np.ndarray:
        return self.potential.grad(x)

    def batch_grad(self, x, batch: np.ndarray) -> np.ndarray:
        return self.potential.grad(x) + self.shifts[batch].mean(axis=1)

    def langevin_temperature(self, lr: float, batch_size: int) -> float:
        """T = eta Var(batch mean of xi) / 2 per coordinate, batches with replacement."""
        return lr * float(self.shifts.var(axis=0).mean()) / (2 * batch_size)


class Team13Function:
    """Eq. (3) of the team-13 report:
    f(x, y) = [0.1 (x-4)^2 - 1] 2^-(x-4)^2 + [0.1 (x-8)^2 + 0.1 (y-5)^2 - c] 2^-((x-8)^2 + (y-5)^2), c = 0.
    A valley of depth -1 along x = 4 (flat in y: Hessian eigenvalues 0.2 + 2 ln 2 = 1.586 and 0) and a local
    minimum of depth ~1e-5 near (8, 5) (eigenvalues 0.2, 0.2). With point_depth c = 1 (not the report's) the point
    is a bowl of depth -1 with the valley's cross-section in every direction (eigenvalues 1.586, 1.586): the two
    minima then differ only in degeneracy, not in depth or largest eigenvalue."""

    dim = 2

    def __init__(self, point_depth: float = 0.0):
        self.point_depth = float(point_depth)

    def value(self, x) -> np.ndarray:
        x = _as_points(x, 2)
        u, vx, vy = x[:, 0] - 4, x[:, 0] - 8, x[:, 1] - 5
        r2 = vx**2 + vy**2
        return (0.1 * u**2 - 1) * np.exp(-LN2 * u**2) + (0.1 * r2 - self.point_depth) * np.exp(-LN2 * r2)

    def grad(self, x) -> np.ndarray:
        x = _as_points(x, 2)
        u, vx, vy = x[:, 0] - 4, x[:, 0] - 8, x[:, 1] - 5
        r2 = vx**2 + vy**2
        eu, er = np.exp(-LN2 * u**2), np.exp(-LN2 * r2)
        du = 0.2 * u * eu - 2 * LN2 * u * (0.1 * u**2 - 1) * eu
        common = er * (0.2 - 0.2 * LN2 * r2 + 2 * LN2 * self.point_depth)
        return np.stack([du + vx * common, vy * common], axis=1)

    def hessian(self, point, step: float = 1e-5) -> np.ndarray:
        """The Hessian at a point, by central differences of the exact gradient."""
        point = np.asarray(point, float)
        columns = [(self.grad((point + step * e)[None])[0] - self.grad((point - step * e)[None])[0]) / (2 * step)
                   for e in np.eye(2)]
        hessian = np.array(columns).T
        return 0.5 * (hessian + hessian.T)

    def basin(self, x) -> np.ndarray:
        """0: the valley along x = 4 (|x - 4| < 1.5); 1: the minimum near (8, 5) (radius 1.2); 2: elsewhere."""
        x = _as_points(x, 2)
        valley = np.abs(x[:, 0] - 4) < 1.5
        point = (x[:, 0] - 8) ** 2 + (x[:, 1] - 5) ** 2 < 1.2**2
        return np.where(valley, 0, np.where(point, 1, 2))


class Rosenbrock:
    """f(x, y) = (1 - x)^2 + 100 (y - x^2)^2: one minimum, at (1, 1), Hessian [[802, -400], [-400, 200]]."""

    dim = 2

    def value(self, x) -> np.ndarray:
        x = _as_points(x, 2)
        return (1 - x[:, 0]) ** 2 + 100 * (x[:, 1] - x[:, 0] ** 2) ** 2

    def grad(self, x) -> np.ndarray:
        x = _as_points(x, 2)
        inner = x[:, 1] - x[:, 0] ** 2
        return np.stack([-2 * (1 - x[:, 0]) - 400 * x[:, 0] * inner, 200 * inner], axis=1)

    @staticmethod
    def hessian(point=(1.0, 1.0)) -> np.ndarray:
        x, y = point
        return np.array([[2 - 400 * (y - x**2) + 800 * x**2, -400 * x], [-400 * x, 200.0]])


class DoubleWell:
    """f(x) = (x^2 - 1)^2 + tilt x, summed over coordinates, plus coupling x_1 x_2 in 2-D:
    a non-convex potential whose wells have unequal depth when tilt != 0."""

    def __init__(self, dim: int = 1, tilt: float = 0.0, coupling: float = 0.0):
        if dim not in (1, 2):
            raise InvalidArgumentError(f"DoubleWell is defined for dim 1 or 2, got {dim}")
        self.dim, self.tilt, self.coupling = dim, tilt, coupling

    def value(self, x) -> np.ndarray:
        x = _as_points(x, self.dim)
        out = ((x**2 - 1) ** 2 + self.tilt * x).sum(1)
        return out + (self.coupling * x[:, 0] * x[:, 1] if self.dim == 2 else 0.0)

    def grad(self, x) -> np.ndarray:
        x = _as_points(x, self.dim)
        g = 4 * x * (x**2 - 1) + self.tilt
        if self.dim == 2:
            g = g + self.coupling * x[:, ::-1]
        return g

    def minima(self) -> np.ndarray:
        """The local minima of the 1-D well (real roots of f' with f'' > 0)."""
        roots = np.roots([4.0, 0.0, -4.0, self.tilt])
        roots = np.sort(roots[np.abs(roots.imag) < 1e-12].real)
        return roots[12 * roots**2 - 4 > 0]


def gibbs_density_1d(potential, beta: float, grid: np.ndarray) -> np.ndarray:
    """exp(-beta f) normalised on a fine 1-D grid (trapezoid rule)."""
    logp = -beta * potential.value(grid[:, None])
    p = np.exp(logp - logp.max())
    return p / np.trapezoid(p, grid)


def gibbs_cdf_1d(potential, beta: float, grid: np.ndarray) -> np.ndarray:
    density = gibbs_density_1d(potential, beta, grid)
    cdf = integrate.cumulative_trapezoid(density, grid, initial=0.0)
    return cdf / cdf[-1]
