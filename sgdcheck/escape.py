"""Escape of GD / SGD from a minimum (Wu, Ma & E 2018, Sec. 4.4 and 5): run from the minimum and see
whether the dynamics leave it for a flatter region."""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from .curvature import mse_loss, sharpness
from .sampling import THEORY_SAMPLING
from .optim import GD
from .train import TrainResult, train


@dataclass
class Escape:
    escaped: bool
    sharpness_after: float     # NaN when the run diverged
    burst: float               # largest training loss along the run / the loss at the start
    result: TrainResult


def escape_probe(model: torch.nn.Module, x, y, lr: float, batch_size: int, steps: int, *, a_start: float,
                 seed: int = 0, drop: float = 0.2, eval_every: int = 20, sampling: str = THEORY_SAMPLING) -> Escape:
    """GD (batch_size = n) or SGD from the model's parameters for `steps` steps, minibatches drawn as
    `sampling` says (by default the independent uniform subsets that Wu, Ma & E's stability theory assumes).
    Escaped: the run diverged, or the sharpness at the end has fallen below (1 - drop) a_start (it left for a
    flatter region). The model is not modified."""
    result = train(model, x, y, mse_loss, GD(lr), max_steps=steps, batch_size=batch_size, eval_every=eval_every,
                   seed=seed, sampling=sampling)
    after = float("nan")
    if not result.diverged:
        probe = result.load_into(copy.deepcopy(model))
        after = float(sharpness(probe, x, y, mse_loss, tol=1e-3, chunk_size=len(x)))
    burst = max(v for _, v in result.history) / result.history[0][1]
    return Escape(bool(result.diverged or after < (1 - drop) * a_start), after, burst, result)

