"""Many models at once: seeds x learning rates trained in one vectorized program.

The models' parameters are stacked with torch.func.stack_module_state and one functional step is
vmapped over them, each model with its own learning rate and its own seeded batches (the same
batches `sgdcheck.train.train` would draw for that seed), so an ensemble run equals the sequential
runs. A model that diverges is frozen and reported, the others go on.
"""
from __future__ import annotations

import copy
import math
from typing import Callable, Sequence

import torch
from torch.func import functional_call, grad_and_value, stack_module_state, vmap

from .errors import InvalidArgumentError
from . import progress
from .train import TrainResult, sample_batches


def train_ensemble(build_model: Callable[[int], torch.nn.Module], seeds: Sequence[int], lrs: Sequence[float],
                   x: torch.Tensor, y: torch.Tensor, loss_fn, *, max_steps: int, batch_size: int | None = None,
                   replacement: bool = False, loss_goal: float | None = None, eval_every: int = 100,
                   blowup: float = 1e8) -> list[TrainResult]:
    """GD (batch_size None) or SGD for every (seed, lr) pair; results in the order seeds-major.

    build_model(seed) must return a fresh model whose initialisation depends only on the seed."""
    pairs = [(seed, lr) for seed in seeds for lr in lrs]
    if not pairs:
        raise InvalidArgumentError("train_ensemble needs at least one seed and one learning rate")
    for _, lr in pairs:
        if not (math.isfinite(lr) and lr > 0):
            raise InvalidArgumentError(f"lr must be a finite number > 0, got {lr!r}")
    n = len(x)
    batch_size = n if batch_size is None else batch_size
    if int(batch_size) != batch_size or not 1 <= batch_size <= n:
        raise InvalidArgumentError(f"batch_size must be an integer in 1..n = 1..{n}, got {batch_size!r}")
    models = [build_model(seed) for seed, _ in pairs]
    params, buffers = stack_module_state(models)
    params = {k: v.detach().clone() for k, v in params.items()}
    base = copy.deepcopy(models[0]).to("meta")
    first = next(iter(params.values()))
    rates = torch.tensor([lr for _, lr in pairs], dtype=first.dtype, device=first.device)
    streams = [sample_batches(n, batch_size, replacement, torch.Generator().manual_seed(seed)) for seed, _ in pairs]
    full = batch_size == n

    def batch_loss(p, b, xb, yb):
        return loss_fn(functional_call(base, (p, b), (xb,)), yb).mean()

    def losses(p):
        with torch.no_grad():
            return vmap(lambda pi, bi: loss_fn(functional_call(base, (pi, bi), (x,)), y).mean())(p, buffers)

    def finite(values):
        return torch.isfinite(values) & (values <= blowup)

    step_fn = vmap(grad_and_value(batch_loss), in_dims=(0, 0, None, None) if full else (0, 0, 0, 0))
    current = losses(params)
    active = finite(current)
    steps = torch.zeros(len(pairs), dtype=torch.long, device=first.device)
    history = [[(0, float(v))] for v in current]
    for step in range(1, max_steps + 1):
        if full:
            # Full batch: the step's own loss value is the risk at the current parameters, so the
            # loss goal is checked without an extra forward pass and no step is taken past it.
            grads, values = step_fn(params, buffers, x, y)
            if step > 1:
                current = torch.where(active, values.detach(), current)
                active &= finite(current)
                if (step - 1) % eval_every == 0:
                    progress.step(step - 1, max_steps, float(current.max()), models=len(pairs))
                    for m in range(len(pairs)):
                        if int(steps[m]) == step - 1:
                            history[m].append((step - 1, float(current[m])))
        done = ~active | (current <= loss_goal if loss_goal is not None else torch.zeros_like(active))
        if bool(done.all()):
            break
        if not full:
            index = torch.stack([next(s) for s in streams]).to(x.device)
            grads, _ = step_fn(params, buffers, x[index], y[index])
        moving = ~done
        for k in params:
            shape = (-1,) + (1,) * (params[k].dim() - 1)
            update = rates.view(shape) * grads[k]
            params[k] = torch.where(moving.view(shape), params[k] - update, params[k])
        steps += moving.long()
        if not full and (step % eval_every == 0 or step == max_steps or loss_goal is not None):
            current = torch.where(moving, losses(params), current)
            active &= finite(current)
            if step % eval_every == 0 or step == max_steps:
                progress.step(step, max_steps, float(current.max()), models=len(pairs))
                for m in range(len(pairs)):
                    if moving[m]:
                        history[m].append((step, float(current[m])))
    if full:
        final = losses(params)
        current = torch.where(active, final, current)
        for m in range(len(pairs)):
            if history[m][-1][0] != int(steps[m]):
                history[m].append((int(steps[m]), float(current[m])))
    results = []
    for m in range(len(pairs)):
        loss = float(current[m])
        diverged = not math.isfinite(loss) or loss > blowup
        results.append(TrainResult({k: v[m].clone() for k, v in params.items()}, int(steps[m]), loss,
                                   (not diverged) and loss_goal is not None and loss <= loss_goal, diverged,
                                   history[m]))
    return results
