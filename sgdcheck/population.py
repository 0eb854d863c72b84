"""Exact population risk of two-layer ReLU networks with inputs uniform on the sphere, and GD on it.

Wu 2020 lectures (seed 004, eqs. 13-15), after Ma, Wu & E (2020), "The quenching-activation behavior
of the gradient descent dynamics for two-layer neural network models": for x ~ Uniform(S^{d-1}),

    k(b, b') = E[relu(b . x) relu(b' . x)] = |b| |b'| (sin t + (pi - t) cos t) / (2 pi d),  t = angle(b, b'),

the arc-cosine kernel of Cho & Saul (2009) for Gaussian inputs divided by E|g|^2 = d (relu is positively
homogeneous and |g| is independent of g / |g|). The risk of f(x) = c sum_j a_j relu(b_j . x) against a
target made of neurons, R = E[(f - f*)^2], is then a quadratic form in the kernel: the n = infinity
dynamics of the lectures with no sampling error. Everything is batched over independent networks
(leading dimension: seeds) so that one GD loop trains them all.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .errors import InvalidArgumentError

SCALINGS = ("conventional", "mean-field")


class _ArcCosine(torch.autograd.Function):
    """J(c) = sqrt(1 - c^2) + (pi - arccos c) c with its derivative pi - arccos c written out: autograd
    through sqrt and arccos would give inf - inf at c = +-1, where an aligned neuron sits."""

    @staticmethod
    def forward(ctx, cosine):
        cosine = cosine.clamp(-1.0, 1.0)
        ctx.save_for_backward(cosine)
        return torch.sqrt(1 - cosine * cosine) + (math.pi - torch.arccos(cosine)) * cosine

    @staticmethod
    def backward(ctx, grad):
        (cosine,) = ctx.saved_tensors
        return grad * (math.pi - torch.arccos(cosine))


def relu_kernel(inner1: torch.Tensor, inner2: torch.Tensor) -> torch.Tensor:
    """E[relu(b . x) relu(b' . x)] for x uniform on S^{d-1}, for every pair of rows: [..., m1, d] x
    [..., m2, d] -> [..., m1, m2]."""
    dim = inner1.shape[-1]
    norm1, norm2 = inner1.norm(dim=-1), inner2.norm(dim=-1)
    outer_norms = norm1[..., :, None] * norm2[..., None, :]
    cosine = (inner1 @ inner2.transpose(-1, -2)) / outer_norms.clamp_min(torch.finfo(inner1.dtype).tiny)
    return outer_norms * _ArcCosine.apply(cosine) / (2 * math.pi * dim)


@dataclass(frozen=True)
class NeuronTarget:
    """f*(x) = sum_k a*_k relu(b*_k . x)."""

    outer: torch.Tensor     # [m*]
    inner: torch.Tensor     # [m*, d]

    @classmethod
    def single_neuron(cls, dim: int, dtype=torch.float64) -> "NeuronTarget":
        """f*(x) = relu(x_1), the lectures' single-neuron target."""
        inner = torch.zeros(1, dim, dtype=dtype)
        inner[0, 0] = 1.0
        return cls(torch.ones(1, dtype=dtype), inner)

    def norm2(self) -> torch.Tensor:
        """E[f*(x)^2]: the risk of the zero function."""
        return self.outer @ relu_kernel(self.inner, self.inner) @ self.outer


def output_scale(scaling: str, width: int) -> float:
    """c in f = c sum_j a_j relu(b_j . x): 1 (conventional) or 1/m (mean-field)."""
    if scaling not in SCALINGS:
        raise InvalidArgumentError(f"scaling must be one of {', '.join(SCALINGS)}, got {scaling!r}")
    return 1.0 if scaling == "conventional" else 1.0 / width


def population_risk(outer: torch.Tensor, inner: torch.Tensor, target: NeuronTarget, scale: float) -> torch.Tensor:
    """E_x[(c sum_j a_j relu(b_j . x) - f*(x))^2] for each network: outer [S, m], inner [S, m, d] -> [S]."""
    a = outer[..., None, :]
    model = scale * scale * (a @ relu_kernel(inner, inner) @ a.transpose(-1, -2))[..., 0, 0]
    cross = scale * (a @ relu_kernel(inner, target.inner.expand(*inner.shape[:-2], *target.inner.shape))
                     @ target.outer[:, None])[..., 0, 0]
    return model - 2 * cross + target.norm2()


def neuron_magnitudes(outer: torch.Tensor, inner: torch.Tensor, scale: float) -> torch.Tensor:
    """c |a_j| |b_j|: how much neuron j contributes to the function (the lectures' neuron magnitude)."""
    return scale * outer.abs() * inner.norm(dim=-1)


def effective_neurons(magnitudes: torch.Tensor) -> torch.Tensor:
    """Participation number (sum w)^2 / sum w^2 over the last dimension: m for equal magnitudes, 1 when one
    neuron carries everything."""
    return magnitudes.sum(-1) ** 2 / (magnitudes * magnitudes).sum(-1)


def default_outer_std(scaling: str, width: int) -> float:
    """beta of a_j(0) ~ N(0, beta^2): 1/sqrt(m) (conventional, Xavier-type) or 1 (mean-field)."""
    return width ** -0.5 if output_scale(scaling, width) == 1.0 else 1.0


def initial_networks(width: int, dim: int, seeds, outer_std: float, dtype=torch.float64):
    """One network per seed (lectures eq. 8): b_j ~ N(0, I/d), a_j ~ N(0, outer_std^2); outer [S, m] and inner
    [S, m, d], both requiring gradients."""
    outers, inners = [], []
    for seed in seeds:
        generator = torch.Generator().manual_seed(int(seed))
        inners.append(torch.randn(width, dim, generator=generator, dtype=dtype) / math.sqrt(dim))
        outers.append(torch.randn(width, generator=generator, dtype=dtype) * outer_std)
    return torch.stack(outers).requires_grad_(), torch.stack(inners).requires_grad_()


@dataclass
class PopulationRun:
    scaling: str
    outer: torch.Tensor          # [S, m] at the end
    inner: torch.Tensor          # [S, m, d] at the end
    risk: list                   # (step, [S] relative risk R / E[f*^2]) along the run
    magnitudes: list             # (step, [S, m] neuron magnitudes) along the run

    @property
    def final_relative_risk(self) -> torch.Tensor:
        return self.risk[-1][1]


def train_population_gd(width: int, dim: int, seeds, *, scaling: str, lr: float, steps: int,
                        target: NeuronTarget | None = None, outer_std: float | None = None,
                        record_every: int | None = None, dtype=torch.float64) -> PopulationRun:
    """Full-batch GD on the exact population risk for one network per seed, all at once.

    Initialisation (lectures eq. 8): b_j ~ N(0, I/d); a_j ~ N(0, beta^2) with beta = 1/sqrt(m)
    (conventional, Xavier-type) or 1 (mean-field) unless outer_std is given. Mean-field GD takes steps
    of lr * m: the gradient flow of eq. 18 run on the time scale on which each neuron moves at O(1)
    speed; the path is that of eq. 18."""
    if lr <= 0:
        raise InvalidArgumentError(f"learning rate must be positive, got {lr}")
    if steps < 1 or width < 1 or dim < 2:
        raise InvalidArgumentError(f"need steps >= 1, width >= 1 and dim >= 2, got {steps}, {width}, {dim}")
    scale = output_scale(scaling, width)
    target = target or NeuronTarget.single_neuron(dim, dtype)
    beta = outer_std if outer_std is not None else default_outer_std(scaling, width)
    outer, inner = initial_networks(width, dim, seeds, beta, dtype)
    step_size = lr if scaling == "conventional" else lr * width
    reference = float(target.norm2())
    every = record_every or max(1, steps // 50)
    risks, magnitudes = [], []
    for step in range(steps + 1):
        risk = population_risk(outer, inner, target, scale)
        finite = bool(torch.isfinite(risk).all())
        if step % every == 0 or step == steps or not finite:
            risks.append((step, risk.detach() / reference))
            magnitudes.append((step, neuron_magnitudes(outer, inner, scale).detach()))
        if step == steps or not finite:
            break
        grad_outer, grad_inner = torch.autograd.grad(risk.sum(), (outer, inner))
        with torch.no_grad():
            outer -= step_size * grad_outer
            inner -= step_size * grad_inner
    return PopulationRun(scaling, outer.detach(), inner.detach(), risks, magnitudes)


def sphere_inputs(n: int, dim: int, seed: int, dtype=torch.float64) -> torch.Tensor:
    """n points uniform on S^{d-1}: the lectures' input law, drawn from `seed`."""
    x = torch.randn(n, dim, generator=torch.Generator().manual_seed(int(seed)), dtype=dtype)
    return x / x.norm(dim=1, keepdim=True)


@dataclass
class SampleRun:
    """GD on n samples per seed: the steps taken, and per seed the relative training risk at the end, the exact
    relative test (population) risk, and whether the run diverged."""
    scaling: str
    width: int
    lr: float
    steps: int
    train: torch.Tensor          # [S] training risk / mean f*(x_i)^2
    test: torch.Tensor           # [S] population risk / E f*^2 (exact)
    diverged: torch.Tensor       # [S] bool


def train_sample_gd(width: int, dim: int, n: int, seeds, *, scaling: str, lr: float, max_steps: int,
                    goal: float = 1e-5, target: NeuronTarget | None = None, stop_on_divergence: bool = False,
                    data_seed_offset: int = 10_000, dtype=torch.float64) -> SampleRun:
    """Full-batch GD on the empirical risk (1/n) sum_i (f(x_i) - f*(x_i))^2 of n inputs uniform on the sphere, one
    sample (drawn from data_seed_offset + seed) and one network (initialised as in :func:`train_population_gd`)
    per seed, all at once; each network stops when its relative training risk is below `goal` (the lectures stop
    GD at a training error of 1e-5). The test risk is the exact population risk, so generalisation is measured
    without a test sample (Wu 2020 lectures, 'Comparison between two scalings'; Ma, Wu & E 2020)."""
    if not (lr > 0 and max_steps >= 1 and width >= 1 and dim >= 2 and n >= 1 and goal > 0):
        raise InvalidArgumentError(f"need lr > 0, max_steps >= 1, width >= 1, dim >= 2, n >= 1 and goal > 0; got lr "
                                   f"{lr}, max_steps {max_steps}, width {width}, dim {dim}, n {n}, goal {goal}")
    scale = output_scale(scaling, width)
    target = target or NeuronTarget.single_neuron(dim, dtype)
    beta = default_outer_std(scaling, width)
    x = torch.stack([sphere_inputs(n, dim, data_seed_offset + int(seed), dtype) for seed in seeds])   # [S, n, d]
    y = torch.relu(x @ target.inner.T) @ target.outer                                                  # [S, n]
    outer, inner = initial_networks(width, dim, seeds, beta, dtype)
    step_size = lr if scaling == "conventional" else lr * width
    reference = (y * y).mean(1)
    diverged = torch.zeros(len(x), dtype=torch.bool)
    steps = 0
    while True:
        fitted = scale * (torch.relu(x @ inner.transpose(1, 2)) @ outer[..., None])[..., 0]
        risk = ((fitted - y) ** 2).mean(1)
        relative = risk.detach() / reference
        diverged |= ~torch.isfinite(relative) | (relative > 1e6)
        active = ~diverged & (relative >= goal)
        if steps == max_steps or not bool(active.any()) or (stop_on_divergence and bool(diverged.any())):
            break
        grad_outer, grad_inner = torch.autograd.grad(torch.where(active, risk, 0.0).sum(), (outer, inner))
        with torch.no_grad():
            outer -= step_size * grad_outer
            inner -= step_size * grad_inner
        steps += 1
    with torch.no_grad():
        test = population_risk(outer, inner, target, scale) / target.norm2()
    test = torch.where(diverged, torch.tensor(float("nan"), dtype=dtype), test)
    return SampleRun(scaling, width, lr, steps, torch.where(diverged, float("nan"), relative), test, diverged)
