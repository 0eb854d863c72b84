"""Exact linear-stability math of SGD at a quadratic minimum, in float64.

Wu, Ma & E (NeurIPS 2018), "How SGD selects the global minima in over-parameterized learning":
near a global minimum x* = 0 with per-sample Hessians H_i, SGD with learning rate eta and batches
of size B is the random linear map x <- (I - eta H_b) x, H_b the mean of the batch's H_i (eq. 7), with a
batch drawn afresh at every step, independently of the last. Notation: H = mean H_i,
Sigma = mean H_i^2 - H^2, sharpness a = lambda_max(H), non-uniformity s = sqrt(lambda_max(Sigma)).

The formulas hold for the two samplings whose batches are independent from step to step (the
`sampling` argument, as in sgdcheck.sampling.SAMPLINGS): "subsets", a uniform B-subset without replacement
(the paper's; the batch mean's variance is (n-B)/(B(n-1)) Sigma), and "replacement", B i.i.d. indices
(variance Sigma / B). Random reshuffling ("reshuffling") draws batches that depend on each other within
an epoch; no formula here applies to it, and asking for one is an error.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from .errors import InvalidArgumentError
from .samplers import draw_batches

MAX_ENUMERATED_BATCHES = 2_000_000


def validate(hessians, lr: float | None = None, batch_size: int | None = None) -> np.ndarray:
    """Per-sample Hessians as float64 [n, d, d], checked symmetric; lr > 0 and 1 <= B <= n."""
    h = np.asarray(hessians, dtype=np.float64)
    if h.ndim != 3 or h.shape[1] != h.shape[2] or h.shape[0] < 1 or h.shape[1] < 1:
        raise InvalidArgumentError(
            f"hessians must have shape [n, d, d] with n, d >= 1, got {tuple(h.shape)}")
    if not np.all(np.isfinite(h)):
        raise InvalidArgumentError("hessians contain NaN or infinity")
    asym = np.abs(h - h.transpose(0, 2, 1)).max()
    if asym > 1e-10 * max(1.0, np.abs(h).max()):
        raise InvalidArgumentError(f"hessians must be symmetric; the largest |H - H^T| entry is {asym:.3g}")
    if lr is not None and not (np.isfinite(lr) and lr > 0):
        raise InvalidArgumentError(f"lr must be a finite number > 0, got {lr!r}")
    if batch_size is not None:
        n = h.shape[0]
        if int(batch_size) != batch_size or not 1 <= batch_size <= n:
            raise InvalidArgumentError(f"batch_size must be an integer in 1..n = 1..{n}, got {batch_size!r}")
    return 0.5 * (h + h.transpose(0, 2, 1))


INDEPENDENT_SAMPLINGS = ("subsets", "replacement")


def batch_factor(n: int, batch_size: int, sampling: str = "subsets") -> float:
    """The variance of a batch mean per unit of Sigma: (n - B) / (B (n - 1)) for a uniform B-subset (without
    replacement), 1 / B for B indices drawn with replacement."""
    if not 1 <= batch_size <= n:
        raise InvalidArgumentError(f"batch_size must be in 1..n = 1..{n}, got {batch_size}")
    if sampling == "replacement":
        return 1.0 / batch_size
    if sampling != "subsets":
        raise InvalidArgumentError(
            f"the stability formulas assume batches drawn independently at every step (sampling 'subsets' or "
            f"'replacement'), got {sampling!r}: random reshuffling has no such formula")
    return 0.0 if n == 1 else (n - batch_size) / (batch_size * (n - 1))


def mean_and_sigma(hessians) -> tuple[np.ndarray, np.ndarray]:
    """H = mean H_i and Sigma = mean H_i^2 - H^2 (Definition 3)."""
    h = validate(hessians)
    mean = h.mean(axis=0)
    sigma = np.einsum("nij,njk->ik", h, h) / h.shape[0] - mean @ mean
    return mean, 0.5 * (sigma + sigma.T)


def sharpness_nonuniformity(hessians) -> tuple[float, float]:
    """(a, s) = (lambda_max(H), sqrt(lambda_max(Sigma))) (Definition 3)."""
    mean, sigma = mean_and_sigma(hessians)
    a = float(np.linalg.eigvalsh(mean)[-1])
    s = float(math.sqrt(max(np.linalg.eigvalsh(sigma)[-1], 0.0)))
    return a, s


def minibatch_second_moment(hessians, batch_size: int, sampling: str = "subsets") -> np.ndarray:
    """E[H_b^2] = H^2 + (n-B)/(B(n-1)) Sigma for uniform B-subsets (Wu 2018, App. A); H^2 + Sigma/B with
    replacement."""
    h = validate(hessians, batch_size=batch_size)
    mean, sigma = mean_and_sigma(h)
    return mean @ mean + batch_factor(h.shape[0], batch_size, sampling) * sigma


def criterion(hessians, lr: float, batch_size: int, sampling: str = "subsets") -> float:
    """lambda_max((I - eta H)^2 + eta^2 (n-B)/(B(n-1)) Sigma): condition (8) of Theorem 1 asks <= 1 (with
    replacement the factor is 1/B)."""
    h = validate(hessians, lr, batch_size)
    mean, sigma = mean_and_sigma(h)
    step = np.eye(h.shape[1]) - lr * mean
    matrix = step @ step + lr**2 * batch_factor(h.shape[0], batch_size, sampling) * sigma
    return float(np.linalg.eigvalsh(0.5 * (matrix + matrix.T))[-1])


def necessary_box(lr: float, batch_size: int, n: int, sampling: str = "subsets") -> tuple[float, float]:
    """The bounds (a_max, s_max) of condition (9): a <= 2/eta, s <= sqrt(B(n-1)/(n-B))/eta (sqrt(B)/eta with
    replacement)."""
    if not (np.isfinite(lr) and lr > 0):
        raise InvalidArgumentError(f"lr must be a finite number > 0, got {lr!r}")
    factor = batch_factor(n, batch_size, sampling)
    return 2.0 / lr, (math.inf if factor == 0 else 1.0 / (lr * math.sqrt(factor)))


def nonuniformity_bound(lr: float, batch_size: int, n: int, sampling: str = "subsets") -> float:
    """The non-uniformity side of condition (9): sqrt(B(n-1)/(n-B))/eta (infinite for GD, B = n)."""
    return necessary_box(lr, batch_size, n, sampling)[1]


ESCAPES, STAYS, NOT_PREDICTED = "escapes", "stays", "not predicted"
TIE = 1e-9          # relative slack for comparisons at a bound: at eta = 2/a exactly, GD's rate is 1 (it stays)


@dataclass(frozen=True)
class Prediction:
    """What linear stability predicts for SGD (lr, B) started at a minimum, before it runs.

    outcome: "escapes", "stays" or "not predicted"; rule: the condition that decided it; value: the number
    that rule compared with 1 (a eta / 2, s / s_max, a rate or the criterion of eq. 8)."""

    outcome: str
    rule: str
    value: float

    @property
    def escapes(self) -> bool:
        return self.outcome == ESCAPES

    @property
    def decided(self) -> bool:
        return self.outcome != NOT_PREDICTED


def predict_escape(a: float, s: float, lr: float, batch_size: int, n: int, sampling: str = "subsets", *,
                   criterion: float | None = None, criterion_slack: float = TIE, exact_rate: float | None = None,
                   dimension: int | None = None) -> Prediction:
    """Three-way prediction of Wu, Ma & E (2018) for SGD started at a minimum of sharpness a and non-uniformity s.

    In order:
    - exact_rate given (the spectral radius of the second-moment map, sgdcheck.stability.mean_square_rate, where
      the per-sample Hessians are known): escapes iff it exceeds 1 (Definition 2 is then an iff).
    - dimension = 1: Theorem 1's condition is then exact, (1 - eta a)^2 + eta^2 f s^2 <= 1 (eq. 3), f the batch
      factor: escapes iff it fails.
    - a > 2/eta: escapes; E[A_b^2] >= (I - eta H)^2 in the PSD order, so the mean square grows at least like
      (1 - eta a)^{2t}, for any d.
    - s > sqrt(B(n-1)/(n-B))/eta (eq. 9's other side): escapes, the paper's reading (Sec. 4.4); eq. 9 is
      necessary for the sufficient condition (8), and for stability itself when d = 1 (for d > 1 a minimum can be
      stable a little above it, see tests/test_stability.py).
    - criterion (the largest eigenvalue of E[(I - eta H_b)^2], eq. 8, e.g. from
      sgdcheck.curvature.stability_criterion) at most 1 + criterion_slack: stays, since
      E||x_{t+1}||^2 <= criterion E||x_t||^2 (eq. 8 is sufficient). criterion_slack is the growth per step the
      caller tolerates (for a probe of T steps, ln(2)/T lets the mean square at most double).
    - otherwise: not predicted (inside eq. 9's box, eq. 8 not shown).
    """
    for name, value in (("a", a), ("s", s)):
        if not np.isfinite(value):
            raise InvalidArgumentError(f"{name} must be a finite number, got {value!r}")
    if s < 0:
        raise InvalidArgumentError(f"s must be >= 0, got {s!r}")
    a_max, s_max = necessary_box(lr, batch_size, n, sampling)
    if exact_rate is not None:
        return Prediction(ESCAPES if exact_rate > 1 + TIE else STAYS, "exact mean-square rate", float(exact_rate))
    if dimension == 1:
        factor = batch_factor(n, batch_size, sampling)
        value = (1 - lr * a) ** 2 + lr**2 * factor * s**2
        return Prediction(ESCAPES if value > 1 + TIE else STAYS, "Theorem 1 in d = 1 (exact)", float(value))
    if a / a_max > 1 + TIE:
        return Prediction(ESCAPES, "eq. 9: a > 2/eta", a / a_max)
    if s / s_max > 1 + TIE:
        return Prediction(ESCAPES, "eq. 9: s > sqrt(B(n-1)/(n-B))/eta", s / s_max)
    if criterion is not None and np.isfinite(criterion) and criterion <= 1 + criterion_slack:
        return Prediction(STAYS, "eq. 8 holds", float(criterion))
    return Prediction(NOT_PREDICTED, "inside eq. 9, eq. 8 not shown",
                      float("nan") if criterion is None else float(criterion))


def second_moment_operator(hessians, lr: float, batch_size: int, sampling: str = "subsets") -> np.ndarray:
    """The exact map M -> E_b[(I - eta H_b) M (I - eta H_b)] as a [d^2, d^2] matrix acting on vec(M).

    Closed form: E[A_b (x) A_b] = I - eta (H (x) I + I (x) H) + eta^2 E[H_b (x) H_b], with
    E[H_b (x) H_b] = H (x) H + (n-B)/(B(n-1)) (mean H_i (x) H_i - H (x) H) for uniform B-subsets (the
    Kronecker analogue of the minibatch variance identity; 1/B in place of the factor with replacement).
    """
    h = validate(hessians, lr, batch_size)
    n, d = h.shape[:2]
    mean = h.mean(axis=0)
    eye = np.eye(d)
    kron_mean = np.kron(mean, mean)
    kron_each = np.einsum("nij,nkl->ikjl", h, h).reshape(d * d, d * d) / n
    second = kron_mean + batch_factor(n, batch_size, sampling) * (kron_each - kron_mean)
    operator = np.eye(d * d) - lr * (np.kron(mean, eye) + np.kron(eye, mean)) + lr**2 * second
    return 0.5 * (operator + operator.T)


def mean_square_rate(hessians, lr: float, batch_size: int, sampling: str = "subsets") -> float:
    """Spectral radius of the exact second-moment map: E||x_t||^2 grows like rate^t.

    The map is self-adjoint in the Frobenius inner product and preserves the PSD cone, so its
    spectral radius is its largest eigenvalue (Perron-Frobenius / Krein-Rutman). SGD is linearly
    stable in the mean-square sense of Definition 2 iff the rate is <= 1.
    """
    eigenvalues = np.linalg.eigvalsh(second_moment_operator(hessians, lr, batch_size, sampling))
    return float(np.abs(eigenvalues).max())


def critical_lr(hessians, batch_size: int, tol: float = 1e-12) -> float:
    """The largest eta with criterion <= 1. The criterion's matrix is convex in eta and equals I
    at eta = 0, so {eta : criterion <= 1} is an interval [0, eta*]; bisection finds eta*."""
    h = validate(hessians, batch_size=batch_size)
    a, _ = sharpness_nonuniformity(h)
    if a <= 0:
        raise InvalidArgumentError("critical_lr needs a positive sharpness (H with a positive eigenvalue)")
    low, high = 0.0, 2.0 / a + 1e-12
    while high - low > tol * high:
        middle = 0.5 * (low + high)
        low, high = (middle, high) if criterion(h, middle, batch_size) <= 1 else (low, middle)
    return low


def enumerate_batch_means(hessians, batch_size: int) -> np.ndarray:
    """H_b for every batch of size B (all C(n, B) subsets), for brute-force references."""
    h = validate(hessians, batch_size=batch_size)
    count = math.comb(h.shape[0], batch_size)
    if count > MAX_ENUMERATED_BATCHES:
        raise InvalidArgumentError(
            f"C(n, B) = {count} batches is too many to enumerate (limit {MAX_ENUMERATED_BATCHES})")
    subsets = np.array(list(itertools.combinations(range(h.shape[0]), batch_size)))
    return h[subsets].mean(axis=1)


def brute_force_second_moment(hessians, batch_size: int) -> np.ndarray:
    """E[H_b^2] averaged over all batches."""
    means = enumerate_batch_means(hessians, batch_size)
    return np.einsum("bij,bjk->ik", means, means) / means.shape[0]


def brute_force_operator(hessians, lr: float, batch_size: int) -> np.ndarray:
    """E[A_b (x) A_b] averaged over all batches, A_b = I - eta H_b."""
    means = enumerate_batch_means(validate(hessians, lr, batch_size), batch_size)
    d = means.shape[1]
    steps = np.eye(d) - lr * means
    return np.einsum("bij,bkl->ikjl", steps, steps).reshape(d * d, d * d) / means.shape[0]


def simulate_linearized_sgd(hessians, lr: float, batch_size: int, x0, steps: int, chains: int,
                            rng: np.random.Generator, sampling: str = "subsets") -> np.ndarray:
    """Monte Carlo of eq. 7: ||x_t||^2 for each chain and t = 0..steps, shape [chains, steps + 1].

    Each chain draws its own batch at every step: B distinct indices uniformly ("subsets"), or B i.i.d.
    indices ("replacement").
    """
    batch_factor(1, 1, sampling)                         # the formulas' samplings only
    h = validate(hessians, lr, batch_size)
    n, d = h.shape[:2]
    x = np.broadcast_to(np.asarray(x0, float), (chains, d)).copy()
    norms = np.empty((chains, steps + 1))
    norms[:, 0] = (x**2).sum(axis=1)
    for t in range(steps):
        batch = draw_batches(rng, chains, n, batch_size, replacement=sampling == "replacement")
        h_b = h[batch].mean(axis=1)
        x = x - lr * np.einsum("cij,cj->ci", h_b, x)
        norms[:, t + 1] = (x**2).sum(axis=1)
    return norms


def exact_mean_square(hessians, lr: float, batch_size: int, x0, steps: int, sampling: str = "subsets") -> np.ndarray:
    """E||x_t||^2 for t = 0..steps from the exact operator: <I, T^t(x0 x0^T)>."""
    operator = second_moment_operator(hessians, lr, batch_size, sampling)
    x0 = np.asarray(x0, float)
    d = x0.size
    moment = np.outer(x0, x0).ravel()
    out = [float(np.trace(moment.reshape(d, d)))]
    for _ in range(steps):
        moment = operator @ moment
        out.append(float(np.trace(moment.reshape(d, d))))
    return np.array(out)


def preconditioned_gd_rate(hessian, preconditioner, lr: float) -> float:
    """Spectral radius of x <- x - eta D^{-1} H x; stable iff <= 1 iff lambda_max(D^{-1} H) <= 2/eta
    for SPD D and PSD H (Wu 2020 slides, quasi-Newton extension)."""
    if not (np.isfinite(lr) and lr > 0):
        raise InvalidArgumentError(f"lr must be a finite number > 0, got {lr!r}")
    h, dmat = np.asarray(hessian, float), np.asarray(preconditioner, float)
    step = np.eye(h.shape[0]) - lr * np.linalg.solve(dmat, h)
    return float(np.abs(np.linalg.eigvals(step)).max())


def preconditioned_sharpness(hessian, preconditioner) -> float:
    """lambda_max(D^{-1} H), via the symmetric D^{-1/2} H D^{-1/2} (real spectrum)."""
    dmat = np.asarray(preconditioner, float)
    w, v = np.linalg.eigh(dmat)
    if w.min() <= 0:
        raise InvalidArgumentError("the preconditioner D must be symmetric positive definite")
    root_inv = (v / np.sqrt(w)) @ v.T
    return float(np.linalg.eigvalsh(root_inv @ np.asarray(hessian, float) @ root_inv)[-1])
