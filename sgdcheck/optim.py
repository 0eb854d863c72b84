"""Optimizers as pure functions over a params dict: state = init(params); params, state = step(...).

A step receives `grad_fn(params) -> (loss, grads)` on the current batch, so methods that need
several gradients per step (Entropy-SGD's inner Langevin loop) use the same interface. Noise is
drawn from an explicit torch.Generator: runs are pure functions of (config, seed).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.utils._pytree import tree_map

from .errors import InvalidArgumentError


def _check_lr(lr: float) -> None:
    if not (math.isfinite(lr) and lr > 0):
        raise InvalidArgumentError(f"lr must be a finite number > 0, got {lr!r}")


def _noise_like(params: dict, generator: torch.Generator) -> dict:
    return {k: torch.randn(v.shape, generator=generator, dtype=v.dtype, device="cpu").to(v.device)
            for k, v in params.items()}


@dataclass(frozen=True)
class GD:
    """w <- w - lr grad (GD with full batches, SGD with minibatches: the loop picks the batch)."""

    lr: float

    def __post_init__(self):
        _check_lr(self.lr)

    def init(self, params):
        return {}

    def step(self, params, grad_fn, state, t, generator):
        loss, grads = grad_fn(params)
        keys = list(params)
        moved = torch._foreach_add([params[k] for k in keys], [grads[k] for k in keys], alpha=-self.lr)
        return dict(zip(keys, moved)), state, loss


SGD = GD


@dataclass(frozen=True)
class Langevin:
    """SGDL / Langevin: w <- w - lr grad + noise W, W ~ N(0, I) (Poggio & Liao eq. 5). Give either
    `noise` (gamma') or `temperature` T, which sets noise = sqrt(2 lr T)."""

    lr: float
    noise: float | None = None
    temperature: float | None = None

    def __post_init__(self):
        _check_lr(self.lr)
        if (self.noise is None) == (self.temperature is None):
            raise InvalidArgumentError("Langevin needs exactly one of noise or temperature")

    @property
    def std(self) -> float:
        return self.noise if self.noise is not None else math.sqrt(2 * self.lr * self.temperature)

    def init(self, params):
        return {}

    def step(self, params, grad_fn, state, t, generator):
        loss, grads = grad_fn(params)
        noise = _noise_like(params, generator)
        return tree_map(lambda w, g, z: w - self.lr * g + self.std * z, params, grads, noise), state, loss


@dataclass(frozen=True)
class Adam:
    lr: float
    betas: tuple = (0.9, 0.999)
    eps: float = 1e-8

    def __post_init__(self):
        _check_lr(self.lr)

    def init(self, params):
        zeros = tree_map(torch.zeros_like, params)
        return {"m": zeros, "v": tree_map(torch.zeros_like, params)}

    def step(self, params, grad_fn, state, t, generator):
        loss, grads = grad_fn(params)
        b1, b2 = self.betas
        m = tree_map(lambda m, g: b1 * m + (1 - b1) * g, state["m"], grads)
        v = tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, state["v"], grads)
        c1, c2 = 1 - b1 ** (t + 1), 1 - b2 ** (t + 1)
        new = tree_map(lambda w, m, v: w - self.lr * (m / c1) / ((v / c2).sqrt() + self.eps), params, m, v)
        return new, {"m": m, "v": v}, loss


@dataclass(frozen=True)
class EntropySGD:
    """Entropy-SGD (Chaudhari et al. 2017, Alg. 1): an inner Langevin loop of L steps on
    f(w') + gamma/2 ||w' - w||^2 estimates mu = E[w'], then w <- w - lr gamma (w - mu)."""

    lr: float
    gamma: float = 0.03
    inner_steps: int = 20
    inner_lr: float = 0.1
    noise: float = 1e-4
    alpha: float = 0.75

    def __post_init__(self):
        _check_lr(self.lr)
        _check_lr(self.inner_lr)
        if self.inner_steps < 1 or self.gamma <= 0:
            raise InvalidArgumentError("EntropySGD needs inner_steps >= 1 and gamma > 0")

    def init(self, params):
        return {}

    def step(self, params, grad_fn, state, t, generator):
        inner, mu, loss = dict(params), dict(params), None
        for _ in range(self.inner_steps):
            value, grads = grad_fn(inner)
            loss = value if loss is None else loss
            noise = _noise_like(inner, generator)
            inner = tree_map(lambda x, g, w, z: x - self.inner_lr * (g + self.gamma * (x - w))
                             + math.sqrt(self.inner_lr) * self.noise * z, inner, grads, params, noise)
            mu = tree_map(lambda m, x: self.alpha * m + (1 - self.alpha) * x, mu, inner)
        return tree_map(lambda w, m: w - self.lr * self.gamma * (w - m), params, mu), state, loss
