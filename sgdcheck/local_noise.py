"""A finite sum over a smooth potential whose noise is multiplicative around one point and additive
around another.

The Langevin reading of SGD (Chaudhari's notes, Assumption 14; Poggio & Liao Sec. 7) gives the noise one
covariance everywhere; SGD's own noise at an interpolating minimum vanishes there and grows with the
non-uniformity s nearby (Wu, Ma & E 2018, Sec. 2-3), and at a minimum that not every sample fits it does
not vanish. :class:`LocalNoiseSum` keeps the mean potential U fixed, so the Gibbs law exp(-U/T) is the same
for every choice, and places each kind of noise where a claim needs it.
"""
from __future__ import annotations

import numpy as np

from .errors import InvalidArgumentError
from .landscapes import _as_points as _points
from .minima_sums import MENU_PATTERNS, _pattern


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
        if n < 2 or n % 2:
            raise InvalidArgumentError(f"LocalNoiseSum needs an even n >= 2, got n={n}")
        for name, value in (("nonuniformity", nonuniformity), ("additive", additive), ("width", width)):
            if not (np.isfinite(value) and value >= 0 and (value > 0 or name != "width")):
                raise InvalidArgumentError(f"LocalNoiseSum needs a finite {name} >= 0 (width > 0), got {value!r}")
        if pattern not in MENU_PATTERNS:
            raise InvalidArgumentError(f"pattern must be one of {', '.join(MENU_PATTERNS)}, got {pattern!r}")
        self.potential, self.n, self.dim = potential, n, potential.dim
        self.centre, self.noisy = (np.asarray(point, float).ravel() for point in (multiplicative_at, additive_at))
        for name, point in (("multiplicative_at", self.centre), ("additive_at", self.noisy)):
            if point.shape != (self.dim,) or not np.all(np.isfinite(point)):
                raise InvalidArgumentError(
                    f"{name} must be a finite point of dimension {self.dim}, got {point.tolist()}")
            slope = np.abs(potential.grad(point[None])).max()
            if slope > 1e-6:
                raise InvalidArgumentError(f"{name} must be a critical point of the potential (grad U = 0 there, so "
                                           f"the noise does not move it); |grad U| = {slope:.3g}")
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
