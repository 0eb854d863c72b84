"""Curvature of the empirical risk R(w) = mean_i loss_fn(f(x_i; w), y_i) of a torch model.

Hessian-vector products are forward-over-reverse (torch.func.jvp of torch.func.grad), summed over
chunks of the data so any n fits in memory. Per-sample products are vectorized with torch.func.vmap:
they give non-uniformity (Wu, Ma & E 2018, Definition 3) exactly, without a Python loop over samples.

Batch norm: the per-sample Hessians H_i exist only if the loss is a sum over samples, so the model is
evaluated in eval mode (running statistics) by every function here, and restored afterwards.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch.func import functional_call, grad, jvp, vjp, vmap

from .errors import InvalidArgumentError

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (outputs [n, ...], targets [n, ...]) -> [n]


class Measurement(float):
    """A float that also says how it was obtained (method, number of operator products, ...)."""

    def __new__(cls, value: float, **info):
        obj = super().__new__(cls, value)
        obj.info = info
        return obj

    def __getattr__(self, name):
        try:
            return self.__dict__["info"][name]
        except KeyError:
            raise AttributeError(name) from None


@contextmanager
def evaluation_mode(model: torch.nn.Module):
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


@dataclass
class Problem:
    """A model, its data and loss as pure functions of a flat parameter vector."""

    model: torch.nn.Module
    x: torch.Tensor
    y: torch.Tensor
    loss_fn: LossFn
    chunk_size: int = 256

    def __post_init__(self):
        if len(self.x) != len(self.y) or len(self.x) == 0:
            raise InvalidArgumentError(f"X and Y must have the same positive length, got {len(self.x)}, {len(self.y)}")
        if self.chunk_size < 1:
            raise InvalidArgumentError(f"chunk_size must be >= 1, got {self.chunk_size}")
        self.names = [name for name, _ in self.model.named_parameters()]
        self.shapes = [p.shape for _, p in self.model.named_parameters()]
        self.sizes = [p.numel() for _, p in self.model.named_parameters()]
        self.buffers = dict(self.model.named_buffers())
        first = next(self.model.parameters())
        self.dtype, self.device = first.dtype, first.device
        self.w = torch.cat([p.detach().reshape(-1) for p in self.model.parameters()])
        self.n = len(self.x)

    @property
    def dim(self) -> int:
        return self.w.numel()

    def unflatten(self, vector: torch.Tensor) -> dict:
        return {name: piece.view(shape) for name, piece, shape in
                zip(self.names, torch.split(vector, self.sizes), self.shapes)}

    def outputs(self, w, x):
        return functional_call(self.model, (self.unflatten(w), self.buffers), (x,))

    def chunk_loss(self, w, x, y):
        """Sum of per-sample losses over a chunk."""
        return self.loss_fn(self.outputs(w, x), y).sum()

    def sample_loss(self, w, x, y):
        return self.loss_fn(self.outputs(w, x[None]), y[None])[0]

    def chunks(self):
        for start in range(0, self.n, self.chunk_size):
            yield self.x[start:start + self.chunk_size], self.y[start:start + self.chunk_size]

    def as_tensor(self, vector) -> torch.Tensor:
        return torch.as_tensor(vector, dtype=self.dtype, device=self.device).reshape(-1)

    def loss(self) -> float:
        with torch.no_grad():
            return float(sum(self.chunk_loss(self.w, x, y) for x, y in self.chunks()) / self.n)

    def gradient(self) -> torch.Tensor:
        return sum(grad(self.chunk_loss)(self.w, x, y) for x, y in self.chunks()) / self.n

    def hvp(self, v: torch.Tensor) -> torch.Tensor:
        """H v for the empirical risk, forward-over-reverse, chunk by chunk."""
        total = torch.zeros_like(self.w)
        for x, y in self.chunks():
            total += jvp(lambda w: grad(self.chunk_loss)(w, x, y), (self.w,), (v,))[1]
        return total / self.n

    def _sample_hvp(self, w, x, y, v):
        return jvp(lambda u: grad(self.sample_loss)(u, x, y), (w,), (v,))[1]

    def second_moment_product(self, v: torch.Tensor) -> torch.Tensor:
        """mean_i H_i (H_i v), with per-sample HVPs vectorized over each chunk."""
        shared = vmap(self._sample_hvp, in_dims=(None, 0, 0, None))
        own = vmap(self._sample_hvp, in_dims=(None, 0, 0, 0))
        total = torch.zeros_like(self.w)
        for x, y in self.chunks():
            first = shared(self.w, x, y, v)                       # [chunk, P]: H_i v
            total += own(self.w, x, y, first).sum(0)            # sum_i H_i (H_i v)
        return total / self.n


def _problem(model, X, Y, loss_fn, chunk_size) -> Problem:
    if not callable(loss_fn):
        raise InvalidArgumentError("loss_fn must map (outputs, targets) to per-sample losses [n]")
    problem = Problem(model, X, Y, loss_fn, chunk_size)
    with torch.no_grad():
        probe = loss_fn(problem.outputs(problem.w, X[:2]), Y[:2])
    if probe.shape != (min(2, len(X)),):
        raise InvalidArgumentError(f"loss_fn must return one loss per sample, shape [n]; got {tuple(probe.shape)}")
    return problem


def lanczos(matvec: Callable[[torch.Tensor], torch.Tensor], start: torch.Tensor, max_steps: int, stop=None):
    """Lanczos with full reorthogonalisation (twice, for float32). Returns the tridiagonal's diagonal and
    off-diagonal as float64 arrays. `stop(alphas, betas, beta_next)` may end the iteration early."""
    basis = [start / start.norm()]
    alphas, betas = [], []
    for j in range(max_steps):
        w = matvec(basis[j])
        alphas.append(float(w @ basis[j]))
        stacked = torch.stack(basis)
        for _ in range(2):
            w = w - stacked.T @ (stacked @ w)
        beta = float(w.norm())
        if j == max_steps - 1 or beta <= 1e-12 * max(abs(alphas[-1]), 1e-30) or (stop and stop(alphas, betas, beta)):
            break
        betas.append(beta)
        basis.append(w / beta)
    return np.array(alphas), np.array(betas)


def _tridiagonal(alphas, betas):
    k = len(alphas)
    return np.diag(alphas) + np.diag(betas[: k - 1], 1) + np.diag(betas[: k - 1], -1)


def top_eigenvalue(matvec: Callable[[torch.Tensor], torch.Tensor], problem: Problem, *, tol: float = 1e-4,
                   seed: int = 0, max_steps: int = 300) -> Measurement:
    """The largest eigenvalue of a symmetric operator on the parameters by Lanczos, stopped when the
    a-posteriori error estimate of the top Ritz value, min(r, r^2 / gap) with r = beta |s_last| the
    residual and gap the distance to the next Ritz value (Parlett, The Symmetric Eigenvalue Problem,
    Sec. 11.7), falls below tol |theta| and the top Ritz value moved by less than that in the last step
    (early Ritz gaps overestimate the true gap). Counts the products it used."""
    count = 0
    estimate = {"previous": None}

    def counted(v):
        nonlocal count
        count += 1
        return matvec(v)

    def converged(alphas, betas, beta):
        if len(alphas) < 2:
            return False
        values, vectors = np.linalg.eigh(_tridiagonal(alphas, betas))
        residual = beta * abs(vectors[-1, -1])
        gap = values[-1] - values[-2]
        error = min(residual, residual**2 / gap) if gap > 0 else residual
        previous, estimate["previous"] = estimate["previous"], values[-1]
        estimate.update(error=error)
        settled = previous is not None and abs(values[-1] - previous) <= tol * abs(values[-1])
        return error <= tol * abs(values[-1]) and settled

    generator = torch.Generator().manual_seed(seed)
    start = problem.as_tensor(torch.randn(problem.dim, generator=generator, dtype=torch.float64))
    alphas, betas = lanczos(counted, start, min(max_steps, problem.dim), converged)
    value = np.linalg.eigvalsh(_tridiagonal(alphas, betas))[-1]
    return Measurement(float(value), products=count, tol=tol, error_estimate=estimate.get("error"))


def sharpness(model, X, Y, loss_fn: LossFn, *, tol: float = 1e-4, chunk_size: int = 256, seed: int = 0) -> Measurement:
    """a = lambda_max of the Hessian of the empirical risk (Wu, Ma & E 2018, Definition 3)."""
    with evaluation_mode(model):
        problem = _problem(model, X, Y, loss_fn, chunk_size)
        value = top_eigenvalue(problem.hvp, problem, tol=tol, seed=seed)
    return Measurement(value, method="lanczos on HVPs", **value.info)


def _gauss_newton_error(problem: Problem, probes: int, seed: int) -> float:
    """max over random v of ||(H - G) v|| / ||H v||, G the Gauss-Newton matrix: the part of the Hessian
    that the Gauss-Newton path drops, measured rather than assumed."""
    generator = torch.Generator(device="cpu").manual_seed(seed)
    worst = 0.0
    for _ in range(probes):
        v = problem.as_tensor(torch.randn(problem.dim, generator=generator, dtype=torch.float64))
        exact, approx = problem.hvp(v), gauss_newton_product(problem, v)
        worst = max(worst, float((exact - approx).norm() / exact.norm().clamp_min(1e-300)))
    return worst


def _output_hessians(problem: Problem, outputs, y):
    """d^2 loss_i / d f_i^2 per sample: [chunk, k, k]."""
    def one(out, target):
        flat = lambda o: problem.loss_fn(o.reshape(out.shape)[None], target[None])[0]
        return torch.func.hessian(flat)(out.reshape(-1))
    return vmap(one)(outputs, y)


def gauss_newton_product(problem: Problem, v: torch.Tensor) -> torch.Tensor:
    """G v = mean_i J_i^T Lambda_i J_i v, one jvp and one vjp per chunk."""
    total = torch.zeros_like(problem.w)
    for x, y in problem.chunks():
        outputs, jv = jvp(lambda w: problem.outputs(w, x), (problem.w,), (v,))
        lam = _output_hessians(problem, outputs.detach(), y)
        cotangent = torch.einsum("nij,nj->ni", lam, jv.reshape(len(x), -1)).reshape(outputs.shape)
        total += vjp(lambda w: problem.outputs(w, x), problem.w)[1](cotangent)[0]
    return total / problem.n


def _linear_kernels(problem: Problem, x: torch.Tensor) -> torch.Tensor | None:
    """Per-sample kernels K_i = J_i J_i^T [n, k, k] without forming J, for models whose parameters all
    sit in nn.Linear layers applied to [n, features] inputs: the Jacobian of output k for a Linear layer
    is delta_k a^T (and delta_k for its bias), so K_i[k, k'] = sum_layers (||a_i||^2 + [bias]) <delta_ik,
    delta_ik'> (the per-example gradient trick of Goodfellow 2015). Returns None for other models."""
    linears = [m for m in problem.model.modules() if isinstance(m, torch.nn.Linear)]
    owned = sum(p.numel() for m in linears for p in m.parameters(recurse=False))
    if not linears or owned != problem.dim:
        return None
    inputs, outputs = {}, {}

    def record(module, args, out):
        inputs[module], outputs[module] = args[0], out

    hooks = [m.register_forward_hook(record) for m in linears]
    try:
        with torch.enable_grad():
            result = problem.model(x.detach().requires_grad_(True)).reshape(len(x), -1)
    finally:
        for hook in hooks:
            hook.remove()
    if any(inputs[m].dim() != 2 for m in linears):
        return None  # a Linear shared across positions: the outer-product factorisation does not apply
    layer_outputs = [outputs[m] for m in linears]
    signals = [torch.autograd.grad(result[:, k].sum(), layer_outputs, retain_graph=True, allow_unused=True)
               for k in range(result.shape[1])]
    kernel = torch.zeros(len(x), result.shape[1], result.shape[1], dtype=result.dtype, device=result.device)
    for index, m in enumerate(linears):
        if any(signal[index] is None for signal in signals):
            continue
        delta = torch.stack([signal[index] for signal in signals], 1)          # [n, k, out]
        scale = (inputs[m] ** 2).sum(-1) + (1.0 if m.bias is not None else 0.0)  # [n]
        kernel += scale[:, None, None] * (delta @ delta.transpose(1, 2))
    return kernel.detach()


def _gauss_newton_sigma(problem: Problem):
    """v -> mean_i G_i^2 v - G^2 v for G_i = J_i^T Lambda_i J_i, in two jvps and two vjps per chunk:
    Sigma v = mean_i J_i^T [Lambda K_i Lambda J_i v - Lambda_i J_i (G v)], with the per-sample kernels
    K_i = J_i J_i^T [k, k] computed once, chunk by chunk (from layer inputs and backpropagated signals
    for Linear-layer models, else with vmapped jacrev)."""
    lams, middles = [], []
    for x, y in problem.chunks():
        lam = _output_hessians(problem, problem.outputs(problem.w, x).detach(), y)
        kernel = _linear_kernels(problem, x)
        if kernel is None:
            jac = vmap(torch.func.jacrev(lambda w, xi: problem.outputs(w, xi[None])[0].reshape(-1)),
                       in_dims=(None, 0))(problem.w, x)                 # [chunk, k, P]
            kernel = jac @ jac.transpose(1, 2)
            del jac
        lams.append(lam)
        middles.append(lam @ kernel @ lam)                              # Lambda K Lambda

    def pullback(cotangents):
        total = torch.zeros_like(problem.w)
        for (x, _), cotangent in zip(problem.chunks(), cotangents):
            total += vjp(lambda w: problem.outputs(w, x), problem.w)[1](cotangent)[0]
        return total / problem.n

    def tangents(v):
        return [jvp(lambda w: problem.outputs(w, x), (problem.w,), (v,))[1] for x, _ in problem.chunks()]

    def product(v):
        jv = tangents(v)
        shape = lambda t: t.reshape(len(t), -1)
        gv = pullback([torch.einsum("nij,nj->ni", lam, shape(t)).reshape(t.shape) for lam, t in zip(lams, jv)])
        jgv = tangents(gv)
        return pullback([(torch.einsum("nij,nj->ni", mid, shape(t)) - torch.einsum("nij,nj->ni", lam, shape(u)))
                         .reshape(t.shape) for mid, lam, t, u in zip(middles, lams, jv, jgv)])
    return product


@dataclass(frozen=True)
class HessianOperators:
    """The full-batch Hessian product and the gradient-noise product Sigma v = mean_i H_i^2 v - H^2 v of one
    problem, by the method chosen (Wu, Ma & E 2018, Definition 3), with the Gauss-Newton probe's error."""

    method: str
    hessian: Callable
    sigma: Callable
    probe_error: float | None


def hessian_operators(problem: Problem, method: str = "auto", gauss_newton_tolerance: float = 1e-3, *,
                      seed: int = 0) -> HessianOperators:
    """H and Sigma as products: method "exact" (per-sample HVPs), "gauss-newton" (H_i = J_i^T Lambda_i J_i,
    accurate near interpolation where the dropped residual-weighted term vanishes), or "auto" (Gauss-Newton
    when the dropped part, measured on two random probes, is at most gauss_newton_tolerance)."""
    if method not in ("auto", "exact", "gauss-newton"):
        raise InvalidArgumentError(f"method must be 'auto', 'exact' or 'gauss-newton', got {method!r}")
    probe_error = None
    if method == "auto":
        probe_error = _gauss_newton_error(problem, probes=2, seed=seed)
        method = "gauss-newton" if probe_error <= gauss_newton_tolerance else "exact"
    if method == "exact":
        return HessianOperators(method, problem.hvp,
                                lambda v: problem.second_moment_product(v) - problem.hvp(problem.hvp(v)),
                                probe_error)
    return HessianOperators(method, lambda v: gauss_newton_product(problem, v), _gauss_newton_sigma(problem),
                            probe_error)


def non_uniformity(model, X, Y, loss_fn: LossFn, *, method: str = "auto", tol: float = 1e-4,
                   gauss_newton_tolerance: float = 1e-3, chunk_size: int = 256, seed: int = 0) -> Measurement:
    """s = sqrt(lambda_max(mean_i H_i^2 - H^2)) (Wu, Ma & E 2018, Definition 3).

    method="exact" uses vectorized per-sample HVPs (2 per sample and product, in vmapped chunks).
    method="gauss-newton" replaces H_i by J_i^T Lambda_i J_i (accurate near interpolation, where the
    dropped term, weighted by the residual, vanishes). method="auto" measures that dropped part on
    random probes and takes the Gauss-Newton path only if it is below gauss_newton_tolerance.
    The result says which method was used and how many operator products it took."""
    with evaluation_mode(model):
        problem = _problem(model, X, Y, loss_fn, chunk_size)
        operators = hessian_operators(problem, method, gauss_newton_tolerance, seed=seed)
        method, probe_error = operators.method, operators.probe_error
        value = top_eigenvalue(operators.sigma, problem, tol=tol, seed=seed)
    return Measurement(float(np.sqrt(max(float(value), 0.0))), method=method, sigma_max=float(value),
                       gauss_newton_probe_error=probe_error, products=value.products, tol=tol)


def hessian_trace(model, X, Y, loss_fn: LossFn, *, probes: int = 100, chunk_size: int = 256,
                  seed: int = 0) -> Measurement:
    """Hutchinson's estimate tr(H) = E[v^T H v] with Rademacher v; returns the mean and its standard error."""
    if probes < 2:
        raise InvalidArgumentError(f"probes must be >= 2 for a standard error, got {probes}")
    with evaluation_mode(model):
        problem = _problem(model, X, Y, loss_fn, chunk_size)
        generator = torch.Generator(device="cpu").manual_seed(seed)
        samples = []
        for _ in range(probes):
            v = problem.as_tensor(torch.randint(0, 2, (problem.dim,), generator=generator) * 2.0 - 1)
            samples.append(float(v @ problem.hvp(v)))
    samples = np.array(samples)
    return Measurement(float(samples.mean()), stderr=float(samples.std(ddof=1) / np.sqrt(probes)), probes=probes)
