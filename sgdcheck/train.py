"""Train one model until a loss goal or a step budget. Divergence (NaN, infinity, or a loss above
`blowup`) ends the run and is recorded in the result, never raised.

The empirical risk is the mean of loss_fn's per-sample losses over the whole training set; minibatch
steps use the mean over the batch. Batches are drawn in one of sgdcheck.sampling.SAMPLINGS from a seeded
generator, so a run is a pure function of its arguments.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch.func import functional_call

from . import progress
from .errors import InvalidArgumentError
from .loop import BLOWUP, BatchStream, check_budget, checked_batch_size, close_history, diverged


BATCH_CHUNK = 64                 # minibatch indices drawn at a time


@dataclass
class TrainResult:
    params: dict
    steps: int
    loss: float
    converged: bool
    diverged: bool
    history: list = field(default_factory=list)      # (step, full-batch loss)

    def load_into(self, model: torch.nn.Module) -> torch.nn.Module:
        model.load_state_dict({**model.state_dict(), **self.params})
        return model


def full_loss(model, params, x, y, loss_fn, chunk_size: int = 4096) -> float:
    buffers = dict(model.named_buffers())
    with torch.no_grad():
        total = sum(loss_fn(functional_call(model, (params, buffers), (x[i:i + chunk_size],)),
                            y[i:i + chunk_size]).sum() for i in range(0, len(x), chunk_size))
    return float(total) / len(x)


def fits_every_sample(model, params, x, y, chunk_size: int = 4096) -> bool:
    """Zero training error: every sample's largest output is its target's largest entry (one-hot y)."""
    buffers = dict(model.named_buffers())
    with torch.no_grad():
        return all(bool((functional_call(model, (params, buffers), (x[i:i + chunk_size],)).argmax(1)
                         == y[i:i + chunk_size].argmax(1)).all()) for i in range(0, len(x), chunk_size))


def train(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn, optimizer, *, max_steps: int,
          batch_size: int | None = None, sampling: str = "reshuffling", loss_goal: float | None = None,
          eval_every: int = 100, seed: int = 0, blowup: float = BLOWUP, zero_error: bool = False) -> TrainResult:
    """Run `optimizer` (sgdcheck.optim) from the model's current parameters; the model is not modified.
    With zero_error the goal is the loss goal *and* zero training error (one-hot targets): a small mean
    loss does not imply that every sample is fit, and Zhang et al. (2017) train to 100% training accuracy.

    Gradients come from plain reverse-mode autograd on the functional model. With full batches the
    step's own loss is the training loss at the current parameters, so the goal, the divergence rule and
    the history read it and no second forward pass is made; with minibatches the full-batch loss is
    evaluated every step while a goal is set (so a run stops at the first step that reaches it), else at
    the history steps. `sampling` is how minibatches are drawn (sgdcheck.sampling.SAMPLINGS). A run stops at the
    first step whose loss fails the divergence rule (sgdcheck.loop.diverged)."""
    n = len(x)
    batch_size = checked_batch_size(batch_size, n)
    if zero_error and (loss_goal is None or y.dim() != 2):
        raise InvalidArgumentError("zero_error needs a loss goal and one-hot targets [n, classes]")
    check_budget(max_steps, eval_every)
    params = {k: v.detach().clone() for k, v in model.named_parameters()}
    buffers = dict(model.named_buffers())
    generator = torch.Generator().manual_seed(seed)
    state = optimizer.init(params)
    full = batch_size == n

    def value_and_grad(p, xb, yb):
        leaves = {k: v.detach().requires_grad_() for k, v in p.items()}
        with torch.enable_grad():
            value = loss_fn(functional_call(model, (leaves, buffers), (xb,)), yb).mean()
            grads = torch.autograd.grad(value, list(leaves.values()))
        return float(value.detach()), dict(zip(leaves, grads))

    def reached(loss, p):
        return (loss_goal is not None and loss <= loss_goal
                and (not zero_error or fits_every_sample(model, p, x, y)))

    if full:
        return _train_full_batch(params, state, optimizer, value_and_grad, reached, x, y, max_steps, eval_every,
                                 generator, blowup, lambda p: full_loss(model, p, x, y, loss_fn))
    batches = BatchStream(n, batch_size, sampling, seed)
    history, loss, step = [], full_loss(model, params, x, y, loss_fn), 0
    history.append((0, loss))
    queued = torch.empty(0, batch_size, dtype=torch.long)
    failed = diverged(loss, blowup)
    for step in range(1, max_steps + 1):
        if failed or reached(loss, params):
            step -= 1
            break
        if not len(queued):
            queued = batches.take(BATCH_CHUNK)         # drawn in bulk: the same indices as one at a time
        index, queued = queued[0], queued[1:]
        xb, yb = x[index], y[index]
        params, state, step_loss = optimizer.step(params, lambda p: value_and_grad(p, xb, yb), state, step - 1,
                                                  generator)
        if diverged(step_loss, blowup):               # the batch loss at the weights before this step
            failed = True
            loss = full_loss(model, params, x, y, loss_fn)
            break
        if step % eval_every == 0 or step == max_steps or loss_goal is not None:
            loss = full_loss(model, params, x, y, loss_fn)
            failed = diverged(loss, blowup)
            if step % eval_every == 0 or step == max_steps:
                history.append((step, loss))
                progress.step(step, max_steps, loss)
    close_history(history, step, loss)
    failed = failed or diverged(loss, blowup)
    return TrainResult(params, step, loss, (not failed) and reached(loss, params), failed, history)


def _train_full_batch(params, state, optimizer, value_and_grad, reached, x, y, max_steps, eval_every, generator,
                      blowup, evaluate) -> TrainResult:
    """Full-batch steps: the gradient evaluation at w_t also gives L(w_t), which decides whether to stop
    before stepping, and is the history's value at step t."""
    cache = {}

    def grad_fn(p):
        key = tuple(map(id, p.values()))
        if key not in cache:                                   # the first call of a step is at the current w
            cache.clear()
            cache[key] = value_and_grad(p, x, y)
        return cache[key]

    history, loss, step = [], None, 0
    for step in range(max_steps + 1):
        loss, _ = grad_fn(params)
        if step % eval_every == 0 or step == 0:
            if not history or history[-1][0] != step:
                history.append((step, loss))
            if step:
                progress.step(step, max_steps, loss)
        if step == max_steps or reached(loss, params) or diverged(loss, blowup):
            break
        params, state, _ = optimizer.step(params, grad_fn, state, step, generator)
        cache.clear()
    close_history(history, step, loss)
    failed = diverged(loss, blowup)
    return TrainResult(params, step, loss, (not failed) and reached(loss, params), failed, history)


def train_lbfgs(model: torch.nn.Module, x, y, loss_fn, *, max_steps: int = 500, loss_goal: float | None = None,
                lr: float = 1.0, history_size: int = 20, inner: int = 20, line_search: bool = True,
                blowup: float = BLOWUP) -> TrainResult:
    """Full-batch L-BFGS with a strong-Wolfe line search (torch.optim.LBFGS) on a copy of the model.
    Steps count L-BFGS iterations; the loss goal is checked every `inner` iterations (torch's LBFGS keeps
    its curvature pairs across calls only when each call runs several iterations). line_search=False takes
    fixed steps of size lr along the quasi-Newton direction, as the source code of Wu, Ma & E does. The run
    stops when its loss fails the divergence rule (sgdcheck.loop.diverged), as every loop's does."""
    import copy

    clone = copy.deepcopy(model)
    params = list(clone.parameters())
    optimizer = torch.optim.LBFGS(params, lr=lr, history_size=history_size, max_iter=inner,
                                  line_search_fn="strong_wolfe" if line_search else None, tolerance_grad=0.0, tolerance_change=0.0)

    def closure():
        optimizer.zero_grad()
        value = loss_fn(clone(x), y).mean()
        value.backward()
        return value

    current = lambda: full_loss(clone, dict(clone.named_parameters()), x, y, loss_fn)
    loss, steps = current(), 0
    history = [(0, loss)]
    while steps < max_steps and not diverged(loss, blowup) and not (loss_goal is not None and loss <= loss_goal):
        optimizer.param_groups[0]["max_iter"] = min(inner, max_steps - steps)
        optimizer.step(closure)
        steps = optimizer.state[params[0]].get("n_iter", steps + 1)
        loss = current()
        history.append((steps, loss))
    params = {k: v.detach() for k, v in clone.named_parameters()}
    failed = diverged(loss, blowup)
    return TrainResult(params, steps, loss, (not failed) and loss_goal is not None and loss <= loss_goal,
                       failed, history)
