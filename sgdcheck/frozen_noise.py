"""SGD's minibatch noise frozen at one point: the additive-noise (diffusion) reading of SGD near a minimum.

The diffusion view of SGD near a minimum theta* (the 'SGD as SDE' of the papers Wu, Ma & E 2018 cite in Sec. 4.4,
whose escape rates take the noise covariance at the minimum) keeps SGD's noise but not its dependence on the
state. `frozen_noise_escape` runs chains of

    theta <- theta - eta (grad L(theta) + g_B(theta*) - grad L(theta*)),

g_B the gradient of a fresh uniform B-subset at every step: the noise has SGD's law at theta* exactly, and does
not grow as theta moves away, as SGD's own noise does (the non-uniformity of Wu, Ma & E 2018, Definition 3).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch.func import functional_call, grad, grad_and_value, vmap

from .errors import InvalidArgumentError
from .loop import BatchStream, checked_batch_size, healthy
from .losses import mse_loss
from .sampling import THEORY_SAMPLING


@dataclass(frozen=True)
class FrozenNoiseEscape:
    """Chains of the frozen-noise dynamics from one point. leave_steps[k]: the first step at which chain k's
    full-batch loss had been at least burst_factor x its start on burst_steps steps (a non-finite loss counts as
    leaving at once), or None when it had not within `steps`. start_loss: the loss at the point; noise_power:
    E||g_B(theta*) - grad L(theta*)||^2, the noise the chains receive (each step's draw, averaged); history:
    (step, the largest loss over the chains still running) every record_every steps."""

    leave_steps: tuple
    steps: int
    start_loss: float
    noise_power: float
    final_losses: tuple
    history: tuple = ()
    bursts: tuple = ()           # per chain: its largest loss / the start loss, up to its leaving step or the end
    steps_above: tuple = ()      # per chain: the steps its loss was at burst_factor x the start or more

    @property
    def left(self) -> int:
        return sum(step is not None for step in self.leave_steps)


def frozen_noise_escape(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, lr: float, batch_size: int,
                        steps: int, *, chains: int = 1, seed: int = 0, burst_factor: float = 10.0,
                        burst_steps: int = 1, sampling: str = THEORY_SAMPLING, loss_fn=mse_loss,
                        record_every: int = 10) -> FrozenNoiseEscape:
    """`chains` runs of the frozen-noise dynamics from the model's parameters for `steps` steps (all chains at
    once; chain k draws its batches from seed + k). The model is not modified."""
    n = len(x)
    batch_size = checked_batch_size(batch_size, n)
    if not (lr > 0 and steps >= 1 and chains >= 1 and burst_factor > 1 and burst_steps >= 1):
        raise InvalidArgumentError(f"frozen_noise_escape needs lr > 0, steps >= 1, chains >= 1, burst_factor > 1 and "
                                   f"burst_steps >= 1; got lr={lr!r}, steps={steps}, chains={chains}, "
                                   f"burst_factor={burst_factor!r}, burst_steps={burst_steps}")
    base = copy.deepcopy(model).to("meta")
    start = {k: v.detach().clone() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def loss(p, xb, yb):
        return loss_fn(functional_call(base, (p, buffers), (xb,)), yb).mean()

    full_at_start, start_loss = grad_and_value(loss)(start, x, y)
    batch_grad = vmap(grad(loss), in_dims=(None, 0, 0))             # g_B at the start, one per chain
    step_fn = vmap(grad_and_value(loss), in_dims=(0, None, None))    # the full gradient at each chain's theta
    params = {k: v.unsqueeze(0).repeat(chains, *([1] * v.dim())) for k, v in start.items()}
    streams = [BatchStream(n, batch_size, sampling, seed + k) for k in range(chains)]
    threshold = burst_factor * float(start_loss)
    above = torch.zeros(chains, dtype=torch.long)
    leave = [None] * chains
    moving = torch.ones(chains, dtype=torch.bool)
    power, final, history = [], torch.full((chains,), float(start_loss)), []
    highest = torch.full((chains,), float(start_loss))
    for step in range(1, steps + 1):
        index = torch.stack([next(s) for s in streams]).to(x.device)
        noise = batch_grad(start, x[index], y[index])
        noise = {k: noise[k] - full_at_start[k] for k in noise}
        power.append(float(sum(v.pow(2).flatten(1).sum(1) for v in noise.values()).mean()))
        grads, values = step_fn(params, x, y)                        # values: the loss before this step
        values = values.detach()
        final = torch.where(moving, values, final)
        highest = torch.where(moving, torch.maximum(highest, values), highest)
        if (step - 1) % record_every == 0:
            history.append((step - 1, float(values[moving].max())))
        broken = ~healthy(values) & moving
        above += ((values >= threshold) & (values > 0) & moving).long()
        for k in range(chains):
            if moving[k] and (broken[k] or above[k] >= burst_steps):
                leave[k] = step - 1
        moving &= ~(broken | (above >= burst_steps))
        if not bool(moving.any()):
            break
        for k in params:
            shape = (-1,) + (1,) * (params[k].dim() - 1)
            params[k] = torch.where(moving.view(shape), params[k] - lr * (grads[k] + noise[k]), params[k])
    return FrozenNoiseEscape(tuple(leave), step, float(start_loss), sum(power) / len(power),
                             tuple(float(v) for v in final), tuple(history),
                             tuple(float(v) / float(start_loss) for v in highest), tuple(int(v) for v in above))
