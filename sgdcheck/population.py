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
    beta = outer_std if outer_std is not None else (width ** -0.5 if scaling == "conventional" else 1.0)
    outers, inners = [], []
    for seed in seeds:
        generator = torch.Generator().manual_seed(int(seed))
        inners.append(torch.randn(width, dim, generator=generator, dtype=dtype) / math.sqrt(dim))
        outers.append(torch.randn(width, generator=generator, dtype=dtype) * beta)
    outer, inner = torch.stack(outers).requires_grad_(), torch.stack(inners).requires_grad_()
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
