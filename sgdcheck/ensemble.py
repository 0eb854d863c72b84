"""Many models at once: seeds x learning rates trained in one vectorized program.

The models' parameters are stacked with torch.func.stack_module_state and one functional step is
vmapped over them, each model with its own learning rate and its own seeded batches (the same
batches `sgdcheck.train.train` would draw for that seed), so an ensemble run equals the sequential
runs: the same steps, the same divergence rule (sgdcheck.loop.diverged, applied to every step's loss on the
device, with no look from the host), the same history. A model that diverges is frozen and reported, the
others go on. At chosen steps a callback sees every model's parameters and may stop some of them
(sgdcheck.trajectories records quantities along a run this way).
"""
from __future__ import annotations

import copy
import math
from typing import Callable, Sequence

import torch
from torch.func import functional_call, grad_and_value, stack_module_state, vmap

from . import progress
from .errors import InvalidArgumentError
from .loop import BLOWUP, BatchStream, check_budget, checked_batch_size, close_history, diverged, healthy
from .train import TrainResult

CHUNK_STEPS = 32                 # on an accelerator, steps between the host's looks at the models' state


def train_ensemble(build_model: Callable[[int], torch.nn.Module], seeds: Sequence[int], lrs: Sequence[float],
                   x: torch.Tensor, y: torch.Tensor, loss_fn, *, max_steps: int, batch_size: int | None = None,
                   sampling: str = "reshuffling", loss_goal: float | None = None, eval_every: int = 100,
                   blowup: float = BLOWUP, chunk_steps: int | None = None, checkpoints: Sequence[int] = (),
                   at_checkpoint: Callable[[int, dict, torch.Tensor], torch.Tensor | None] | None = None
                   ) -> list[TrainResult]:
    """GD (batch_size None) or SGD for every (seed, lr) pair; results in the order seeds-major.

    build_model(seed) must return a fresh model whose initialisation depends only on the seed. On an
    accelerator the host looks at the models' state (all done?) once every `chunk_steps` steps (default
    CHUNK_STEPS; 1 on the CPU) and draws that many batches at once: models that are done are frozen on
    the device in between, so the results do not depend on the chunk.

    at_checkpoint(step, params, at) is called once `step` steps are taken, for every step in `checkpoints` (0 is
    the start): `params` are the stacked parameters of all models, `at` the mask of the models that have taken
    exactly `step` steps (the others stopped earlier). It may return a mask of models to stop there: they are
    frozen like a model at its loss goal. Checkpoints change nothing else of a run."""
    pairs = [(seed, lr) for seed in seeds for lr in lrs]
    if not pairs:
        raise InvalidArgumentError("train_ensemble needs at least one seed and one learning rate")
    for _, lr in pairs:
        if not (math.isfinite(lr) and lr > 0):
            raise InvalidArgumentError(f"lr must be a finite number > 0, got {lr!r}")
    n = len(x)
    batch_size = checked_batch_size(batch_size, n)
    check_budget(max_steps, eval_every)
    models = [build_model(seed) for seed, _ in pairs]
    params, buffers = stack_module_state(models)
    params = {k: v.detach().clone() for k, v in params.items()}
    base = copy.deepcopy(models[0]).to("meta")
    first = next(iter(params.values()))
    rates = torch.tensor([lr for _, lr in pairs], dtype=first.dtype, device=first.device)
    full = batch_size == n
    streams = [] if full else [BatchStream(n, batch_size, sampling, seed) for seed, _ in pairs]
    chunk = chunk_steps or (CHUNK_STEPS if first.device.type != "cpu" else 1)
    queued = torch.empty(0, len(pairs), batch_size, dtype=torch.long, device=x.device)
    marks = {int(c) for c in checkpoints} if at_checkpoint is not None else set()
    stopped = torch.zeros(len(pairs), dtype=torch.bool, device=first.device)

    def checkpoint(step, at):
        nonlocal stopped
        stop = at_checkpoint(step, params, at)
        if stop is not None:
            stopped = stopped | (torch.as_tensor(stop, dtype=torch.bool, device=stopped.device) & at)

    def batch_loss(p, b, xb, yb):
        return loss_fn(functional_call(base, (p, b), (xb,)), yb).mean()

    def losses(p):
        with torch.no_grad():
            return vmap(lambda pi, bi: loss_fn(functional_call(base, (pi, bi), (x,)), y).mean())(p, buffers)

    def finite(values):
        return healthy(values, blowup)

    step_fn = vmap(grad_and_value(batch_loss), in_dims=(0, 0, None, None) if full else (0, 0, 0, 0))
    current = losses(params)
    active = finite(current)
    steps = torch.zeros(len(pairs), dtype=torch.long, device=first.device)
    history = [[(0, float(v))] for v in current]
    if 0 in marks:
        checkpoint(0, torch.ones_like(stopped))
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
        done = ~active | stopped | (current <= loss_goal if loss_goal is not None else torch.zeros_like(active))
        if (step - 1) % chunk == 0 and bool(done.all()):        # the host looks once per chunk of steps
            break
        if not full:
            if not len(queued):                                  # a chunk of batches, moved to the device at once
                queued = torch.stack([s.take(chunk) for s in streams], 1).to(x.device)
            index, queued = queued[0], queued[1:]
            grads, values = step_fn(params, buffers, x[index], y[index])
        moving = ~done
        for k in params:
            shape = (-1,) + (1,) * (params[k].dim() - 1)
            update = rates.view(shape) * grads[k]
            params[k] = torch.where(moving.view(shape), params[k] - update, params[k])
        steps += moving.long()
        if step in marks:
            checkpoint(step, moving)
        if not full:
            stepped = moving & finite(values.detach())         # the batch loss at the weights before this step
            active &= ~moving | stepped
            evaluated = step % eval_every == 0 or step == max_steps
            if evaluated or loss_goal is not None:
                current = torch.where(stepped, losses(params), current)
                active &= ~stepped | finite(current)
            if evaluated:
                progress.step(step, max_steps, float(current.max()), models=len(pairs))
                for m in range(len(pairs)):
                    if stepped[m]:
                        history[m].append((step, float(current[m])))
    final = losses(params)                                       # every run's loss at its last weights
    if full:
        final = torch.where(active, final, current)             # a diverged run keeps the loss that stopped it
    results = []
    for m in range(len(pairs)):
        loss = float(final[m])
        close_history(history[m], int(steps[m]), loss)
        failed = not bool(active[m]) or diverged(loss, blowup)
        results.append(TrainResult({k: v[m].clone() for k, v in params.items()}, int(steps[m]), loss,
                                   (not failed) and loss_goal is not None and loss <= loss_goal, failed,
                                   history[m]))
    return results
