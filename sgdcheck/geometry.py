"""Geometry of the loss landscape around trained models.

- flatness_radius: Poggio & Liao (Sec. 8, Table 1): r(w, d, eps) = sup{r : |I(w) - I(w + r d)| <= eps}
  over random unit directions d, of all parameters or of one layer. Computed as the first radius at
  which the loss change exceeds eps (the extent of the connected eps-region along d), by doubling then
  bisection.
- interpolation paths and the three-point simplex surface w = l1 w1 + l2 w2 + l3 w3 (team-13 report).
- classical (strain) MDS of trajectories with 1 - cosine similarity (Poggio & Liao, Sec. 4).
- the Hessian's spectral density by stochastic Lanczos quadrature (Ghorbani, Krishnan & Xiao 2019).
"""
from __future__ import annotations

import numpy as np
import torch

from .curvature import Measurement, Problem, _problem, _tridiagonal, evaluation_mode, lanczos
from .errors import InvalidArgumentError


def _loss_at(problem: Problem, w: torch.Tensor) -> float:
    with torch.no_grad():
        return float(sum(problem.chunk_loss(w, x, y) for x, y in problem.chunks()) / problem.n)


def _direction(problem: Problem, layer: str | None, generator: torch.Generator) -> torch.Tensor:
    d = torch.randn(problem.dim, generator=generator, dtype=torch.float64)
    if layer is not None:
        mask = torch.zeros(problem.dim, dtype=torch.bool)
        start, matched = 0, False
        for name, size in zip(problem.names, problem.sizes):
            if name == layer or name.startswith(layer + "."):
                mask[start:start + size], matched = True, True
            start += size
        if not matched:
            raise InvalidArgumentError(f"no parameter named {layer!r}; parameters: {', '.join(problem.names)}")
        d = torch.where(mask, d, torch.zeros_like(d))
    return problem.as_tensor(d / d.norm())


def exit_radius(change, eps: float, *, start: float = 1e-3, r_max: float = 1e4, rtol: float = 1e-3) -> float:
    """The first r at which change(r) > eps: double r until it does, then bisect. r_max if never."""
    if change(start) > eps:
        low, high = 0.0, start
    else:
        low, high = start, 2 * start
        while change(high) <= eps:
            low, high = high, 2 * high
            if high > r_max:
                return r_max
    while high - low > rtol * high:
        middle = 0.5 * (low + high)
        low, high = (middle, high) if change(middle) <= eps else (low, middle)
    return 0.5 * (low + high)


def flatness_radius(model, X, Y, loss_fn, *, eps: float = 0.05, directions: int = 20, layer: str | None = None,
                    seed: int = 0, chunk_size: int = 1024, rtol: float = 1e-3) -> Measurement:
    """Mean flatness radius over random unit directions (of all parameters, or of the parameters whose
    names start with `layer`), with its standard error and the per-direction radii."""
    if eps <= 0 or directions < 1:
        raise InvalidArgumentError(f"eps must be > 0 and directions >= 1, got {eps}, {directions}")
    with evaluation_mode(model):
        problem = _problem(model, X, Y, loss_fn, chunk_size)
        base = _loss_at(problem, problem.w)
        generator = torch.Generator().manual_seed(seed)
        radii = []
        for _ in range(directions):
            d = _direction(problem, layer, generator)
            radii.append(exit_radius(lambda r: abs(_loss_at(problem, problem.w + r * d) - base), eps, rtol=rtol))
    radii = np.array(radii)
    stderr = float(radii.std(ddof=1) / np.sqrt(len(radii))) if len(radii) > 1 else float("nan")
    return Measurement(float(radii.mean()), stderr=stderr, radii=radii.tolist(), eps=eps, layer=layer)


def _flat(model_or_params, problem: Problem) -> torch.Tensor:
    if isinstance(model_or_params, torch.nn.Module):
        return torch.cat([p.detach().reshape(-1) for p in model_or_params.parameters()])
    if isinstance(model_or_params, dict):
        return torch.cat([model_or_params[name].detach().reshape(-1) for name in problem.names])
    return problem.as_tensor(model_or_params)


def interpolation_path(model, endpoints, X, Y, loss_fn, *, ts=None, chunk_size: int = 1024):
    """Loss along (1 - t) w_a + t w_b; endpoints are two models, state dicts or flat vectors."""
    ts = np.linspace(0, 1, 21) if ts is None else np.asarray(ts, float)
    with evaluation_mode(model):
        problem = _problem(model, X, Y, loss_fn, chunk_size)
        a, b = (_flat(e, problem) for e in endpoints)
        return ts, np.array([_loss_at(problem, (1 - t) * a + t * b) for t in ts])


def simplex_surface(model, corners, X, Y, loss_fn, *, resolution: int = 10, chunk_size: int = 1024):
    """Loss at w = l1 w1 + l2 w2 + l3 w3 for barycentric l on a triangular grid (resolution + 1 per side).
    Returns the weights [m, 3] and the losses [m]."""
    if len(corners) != 3 or resolution < 1:
        raise InvalidArgumentError("simplex_surface needs three corners and resolution >= 1")
    with evaluation_mode(model):
        problem = _problem(model, X, Y, loss_fn, chunk_size)
        w = [_flat(c, problem) for c in corners]
        weights = np.array([(i, j, resolution - i - j) for i in range(resolution + 1)
                            for j in range(resolution + 1 - i)], float) / resolution
        losses = np.array([_loss_at(problem, sum(float(l) * c for l, c in zip(lam, w))) for lam in weights])
    return weights, losses


def classical_mds(points, dims: int = 2, metric: str = "cosine") -> np.ndarray:
    """Torgerson's classical (strain) MDS: double-centre the squared dissimilarities, keep the top
    eigenvectors. metric 'cosine' uses 1 - cosine similarity (robust to the scale that batch norm removes)."""
    x = np.asarray(points, float)
    if x.ndim != 2 or len(x) < dims + 1:
        raise InvalidArgumentError(f"points must be [m, P] with m > dims, got {x.shape}")
    if metric == "cosine":
        unit = x / np.linalg.norm(x, axis=1, keepdims=True).clip(1e-300)
        d = 1 - unit @ unit.T
    elif metric == "euclidean":
        d = np.linalg.norm(x[:, None] - x[None], axis=-1)
    else:
        raise InvalidArgumentError(f"metric must be 'cosine' or 'euclidean', got {metric!r}")
    m = len(x)
    centring = np.eye(m) - 1.0 / m
    gram = -0.5 * centring @ (d**2) @ centring
    values, vectors = np.linalg.eigh(gram)
    order = np.argsort(values)[::-1][:dims]
    return vectors[:, order] * np.sqrt(np.clip(values[order], 0, None))


def spectral_density(model, X, Y, loss_fn, *, steps: int = 40, probes: int = 4, seed: int = 0,
                     chunk_size: int = 256):
    """Stochastic Lanczos quadrature: for each random unit probe, `steps` Lanczos iterations (full
    reorthogonalisation) on HVPs give Ritz values theta and weights tau (squared first components);
    sum_k tau_k delta(lambda - theta_k), averaged over probes, approximates the spectral density.
    Returns (nodes [probes, k], weights [probes, k])."""
    with evaluation_mode(model):
        problem = _problem(model, X, Y, loss_fn, chunk_size)
        generator = torch.Generator().manual_seed(seed)
        steps = min(steps, problem.dim)
        all_nodes, all_weights = [], []
        for _ in range(probes):
            v = problem.as_tensor(torch.randn(problem.dim, generator=generator, dtype=torch.float64))
            alphas, betas = lanczos(problem.hvp, v, steps)
            nodes, vectors = np.linalg.eigh(_tridiagonal(alphas, betas))
            all_nodes.append(nodes)
            all_weights.append(vectors[0] ** 2)
    return all_nodes, all_weights


def smooth_density(nodes, weights, grid, width: float) -> np.ndarray:
    """Gaussian-smoothed density on a grid from SLQ nodes and weights (averaged over probes)."""
    grid = np.asarray(grid, float)
    out = np.zeros_like(grid)
    for theta, tau in zip(nodes, weights):
        out += (tau[None] * np.exp(-((grid[:, None] - theta[None]) ** 2) / (2 * width**2))).sum(1)
    return out / (len(nodes) * width * np.sqrt(2 * np.pi))
