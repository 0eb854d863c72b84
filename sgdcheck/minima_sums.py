"""Finite sums with several minima, each component the smallest of its quadratics around them.

Wu, Ma & E (NeurIPS 2018), Sec. 2: f = (f1 + f2)/2 with f_i = min(x^2, c_i (x - 1)^2) has two global minima of
equal depth, equally sharp, one uniform (s = 0) and one not (s = 1.8), and SGD with eta = 0.7 leaves the second.
:class:`MinimaSum` is that construction in d dimensions with any number of minima: every component is zero at
every minimum (all of them global, of equal depth, each interpolating: SGD's noise vanishes there and grows
with a and s nearby), unless shifts or depths make one non-interpolating or shallower. The factories build
the landscapes the claims use: minima that differ in a only, in s only, a wide non-uniform minimum against a
narrow uniform one, and a menu of minima whose a and s are uncorrelated.
"""
from __future__ import annotations

import numpy as np

from . import stability
from .errors import InvalidArgumentError
from .finite_sums import QuadraticSum, _psd
from .landscapes import _as_points as _points

MENU_PATTERNS = ("halves", "outlier")


def _pattern(kind: str, n: int) -> np.ndarray:
    """n offsets with mean 0 and mean square 1: +-1 in halves, or one sample at sqrt(n-1) and the others at
    -1/sqrt(n-1) (the non-uniformity carried by a single sample, as by one hard or mislabelled example)."""
    if kind not in MENU_PATTERNS:
        raise InvalidArgumentError(f"pattern must be one of {', '.join(MENU_PATTERNS)}, got {kind!r}")
    if kind == "halves":
        return np.tile([1.0, -1.0], n // 2)
    return np.array([np.sqrt(n - 1)] + [-1 / np.sqrt(n - 1)] * (n - 1))


class MinimaSum:
    """Components f_i(x) = min_k [1/2 (x - m_k - e_ki)^T H_ki (x - m_k - e_ki) + depth_k] over minima m_k.

    Without shifts e and depths (the default) every component is zero at every m_k: all of them are global
    minima of equal depth, each interpolating, with its own sharpness a_k and non-uniformity s_k (Wu 2018,
    Sec. 2, in d dimensions). Shifts e_ki (with sum_i H_ki e_ki = 0, so that the minimum stays at m_k) make
    minimum k non-interpolating: SGD's noise there no longer vanishes; depths raise it.

    minima: [K, d]; hessians: [K, n, d, d], symmetric positive semi-definite, each minimum's mean Hessian
    positive definite, except at the minima named in `degenerate`: there every component may share a null space
    and the minimum is a flat valley through m_k along it (degenerate in Poggio & Liao's sense, Theory II,
    Sec. 7.2), the points of the valley all global minima; shifts: [K, n, d]; depths: [K]. Near m_k (where each
    component's k-th quadratic is its smallest), SGD is exactly the linear map of Theorem 1 with the H_ki, plus
    the shifts' additive noise.
    """

    def __init__(self, minima, hessians, shifts=None, depths=None, degenerate=()):
        self.minima = np.asarray(minima, dtype=np.float64)
        if not np.all(np.isfinite(self.minima)):
            raise InvalidArgumentError("the minima must be finite points")
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
        self.degenerate = tuple(sorted({int(k) for k in degenerate}))
        if any(not 0 <= k < self.count for k in self.degenerate):
            raise InvalidArgumentError(f"degenerate names minima by index 0..{self.count - 1}, got {degenerate}")
        self._ranges = []                   # per minimum: an orthonormal basis of its mean Hessian's range [d, r]
        for k in range(self.count):
            mean = self.hessians[k].mean(axis=0)
            values, vectors = np.linalg.eigh(mean)
            positive = values > 1e-12 * max(1.0, np.abs(mean).max())
            if k not in self.degenerate and not positive.all():
                raise InvalidArgumentError(f"the mean Hessian at minimum {k} must be positive definite (or name it "
                                           f"in degenerate)")
            if not positive.any():
                raise InvalidArgumentError(f"the mean Hessian at minimum {k} is zero: the sum would be flat there")
            self._ranges.append(vectors[:, positive])
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
        # per-sample layouts for the batch gradient: [n, K, d, d] and [n, K, d]
        self._by_sample = (np.ascontiguousarray(self.hessians.transpose(1, 0, 2, 3)),
                           np.ascontiguousarray(self.shifts.transpose(1, 0, 2)))
        at_minima = self._quadratics(self.minima)                                 # [K (point), K, n]
        for k in range(self.count):
            others = np.delete(at_minima[k], k, axis=0)
            if np.any(others <= at_minima[k, k]):
                raise InvalidArgumentError(
                    f"at minimum {k} some component's quadratic around another minimum is as small as its own: the "
                    f"minimum's Hessians would not be the ones given (move the minima apart or shrink the shifts)")

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
        h = self._by_sample[0][components]                                       # [chains, m, K, d, d]
        diff = x[:, None, None, :] - self.minima - self._by_sample[1][components]  # [chains, m, K, d]
        if self.dim == 1:
            values = 0.5 * h[..., 0, 0] * diff[..., 0] ** 2 + self.depths
        else:
            values = 0.5 * np.einsum("cmki,cmkij,cmkj->cmk", diff, h, diff) + self.depths
        active = values.argmin(axis=2)[..., None]                                # [chains, m, 1]
        h_active = np.take_along_axis(h, active[..., None, None], axis=2)[:, :, 0]     # [chains, m, d, d]
        diff_active = np.take_along_axis(diff, active[..., None], axis=2)[:, :, 0]      # [chains, m, d]
        return np.einsum("cmij,cmj->cmi", h_active, diff_active)

    def component_grads(self, x) -> np.ndarray:
        """[chains, n, d]: the gradient of each component's active (smallest) quadratic."""
        x = _points(x, self.dim)
        return self._grads(x, np.broadcast_to(np.arange(self.n), (x.shape[0], self.n)))

    def grad(self, x) -> np.ndarray:
        return self.component_grads(x).mean(axis=1)

    def batch_grad(self, x, batch: np.ndarray) -> np.ndarray:
        """[chains, d]: the mean gradient of each chain's batch (indices [chains, B]), computed for the batch only."""
        return self._grads(_points(x, self.dim), np.asarray(batch)).mean(axis=1)

    def distances(self, x) -> np.ndarray:
        """[chains, K]: each point's distance to each minimum (to a degenerate minimum's valley: along the
        directions its mean Hessian curves only)."""
        x = _points(x, self.dim)
        return np.stack([np.linalg.norm((x - m) @ basis, axis=1) for m, basis in zip(self.minima, self._ranges)], 1)

    def nearest_minimum(self, x) -> np.ndarray:
        """[chains]: the index of the nearest minimum (-1 for a point that is not finite)."""
        x = _points(x, self.dim)
        distance = self.distances(x)
        return np.where(np.isfinite(x).all(axis=1), np.nan_to_num(distance, nan=np.inf).argmin(axis=1), -1)

    def component_hessians(self, k: int) -> np.ndarray:
        if not 0 <= k < self.count:
            raise InvalidArgumentError(f"minimum index must be in 0..{self.count - 1}, got {k}")
        return self.hessians[k]

    def curved_hessians(self, k: int) -> np.ndarray:
        """[n, r, r]: minimum k's component Hessians on the range of its mean Hessian (all of them but at a
        degenerate minimum, where SGD's map is the identity along the valley and its stability is decided here)."""
        basis = self._ranges[k]
        return np.einsum("ia,nij,jb->nab", basis, self.component_hessians(k), basis)

    def sharpness_nonuniformity(self, k: int) -> tuple[float, float]:
        return stability.sharpness_nonuniformity(self.component_hessians(k))

    def mean_square_rate(self, k: int, lr: float, batch_size: int, sampling: str = "subsets") -> float:
        """Theorem 1's mean-square rate at minimum k (across a degenerate minimum's valley)."""
        return stability.mean_square_rate(self.curved_hessians(k), lr, batch_size, sampling)

    def local_sum(self, k: int) -> QuadraticSum:
        """The quadratic sum that equals this one near minimum k."""
        return QuadraticSum(self.component_hessians(k), self.minima[k] + self.shifts[k])


def wu2018_section2() -> MinimaSum:
    """f = (f1 + f2)/2, f1 = min(x^2, 0.1 (x-1)^2), f2 = min(x^2, 1.9 (x-1)^2) as written in Wu 2018, Sec. 2:
    the component curvatures are 2, 2 at x = 0 and 0.2, 3.8 at x = 1, so a = 2 at both minima, s = 0 at 0 and
    s = 1.8 at 1 (the text's f'' = 1 and f_i'' = 0.1, 1.9 halve the curvatures; its s = 1.8 is the written f_i's)."""
    return MinimaSum([[0.0], [1.0]], [[[[2.0]], [[2.0]]], [[[0.2]], [[3.8]]]])


def _component_spread(a: float, s: float) -> np.ndarray:
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
    :func:`_component_spread` (non-uniformity s, 0 < s <= a)."""
    if not (a > 0 and 0 < s <= a and separation > 0):
        raise InvalidArgumentError(
            f"equal_sharpness_2d needs a > 0, 0 < s <= a and separation > 0, got a={a}, s={s}, "
            f"separation={separation}")
    return MinimaSum([[0.0, 0.0], [separation, 0.0]], [np.stack([a * np.eye(2)] * 4), _component_spread(a, s)])


def equal_nonuniformity_2d(a_flat: float = 2.0, a_sharp: float = 3.0, s: float = 1.8,
                           separation: float = 2.0) -> MinimaSum:
    """Two global minima in d = 2 with the same non-uniformity s (:func:`_component_spread` at both) and sharpness
    a_flat at (0, 0), a_sharp at (separation, 0); 0 < s <= a_flat <= a_sharp."""
    if not (0 < s <= a_flat <= a_sharp and separation > 0):
        raise InvalidArgumentError(
            f"equal_nonuniformity_2d needs 0 < s <= a_flat <= a_sharp and separation > 0, got "
            f"a_flat={a_flat}, a_sharp={a_sharp}, s={s}, separation={separation}")
    return MinimaSum([[0.0, 0.0], [separation, 0.0]], [_component_spread(a, s) for a in (a_flat, a_sharp)])


def wide_nonuniform_vs_narrow_2d(a_wide: float = 1.0, s_wide: float = 0.95, a_narrow: float = 1.5,
                                 separation: float = 3.0) -> MinimaSum:
    """Two global minima in d = 2 of equal depth: a wide one at (0, 0) (mean Hessian a_wide I, its four
    components spread by :func:`_component_spread`, non-uniformity s_wide < a_wide) and a narrow uniform one at
    (separation, 0) (every component a_narrow I, s = 0). At low temperature the Boltzmann law puts the share
    a_narrow / (a_narrow + a_wide) of its mass on the wide one (mass ~ det(H)^(-1/2)); linear stability lets
    SGD stay at it only while (8) holds, which s_wide decides for B < n."""
    if not (0 < s_wide < a_wide < a_narrow and separation > 0):
        raise InvalidArgumentError(
            f"wide_nonuniform_vs_narrow_2d needs 0 < s_wide < a_wide < a_narrow and separation > 0, got "
            f"a_wide={a_wide}, s_wide={s_wide}, a_narrow={a_narrow}, separation={separation}")
    return MinimaSum([[0.0, 0.0], [separation, 0.0]],
                            [_component_spread(a_wide, s_wide), np.stack([a_narrow * np.eye(2)] * 4)])


def degenerate_vs_isolated_2d(a: float = 1.0, s_valley: float = 0.0, s_isolated: float = 0.95,
                              separation: float = 2.0) -> MinimaSum:
    """A degenerate and an isolated global minimum of equal depth (zero) in d = 2 (Poggio & Liao, Theory II,
    Fig. 9-11, with SGD's own noise): the valley x_1 = -separation/2, flat along x_2, whose four components have
    curvature a + s_valley v_i across it (v = +-1 in halves: sharpness a, non-uniformity s_valley), and the
    isolated minimum (separation/2, 0), mean Hessian a I, its components spread by :func:`_component_spread`
    (non-uniformity s_isolated). Both interpolate: SGD's noise vanishes on the valley and at the point."""
    if not (a > 0 and 0 <= s_valley < a and 0 <= s_isolated <= a and separation > 0):
        raise InvalidArgumentError(
            f"degenerate_vs_isolated_2d needs a > 0, 0 <= s_valley < a, 0 <= s_isolated <= a and separation > 0, got "
            f"a={a}, s_valley={s_valley}, s_isolated={s_isolated}, separation={separation}")
    valley = np.stack([np.diag([a + s_valley * v, 0.0]) for v in _pattern("halves", 4)])
    return MinimaSum([[-separation / 2, 0.0], [separation / 2, 0.0]], [valley, _component_spread(a, s_isolated)],
                     degenerate=(0,))


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
