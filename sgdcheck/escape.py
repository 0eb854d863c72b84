"""Escape of GD / SGD from a minimum (Wu, Ma & E 2018, Sec. 2, Fig. 1 and 2, Sec. 4.4, Fig. 8): started at a
global minimum, the dynamics leave it in a burst of the training loss and then converge to another global
minimum ("a fast escape from that global minimum and subsequent convergence to another global minimum",
Fig. 1's caption). A probe runs a window of steps from the minimum, and, when the loss burst, goes on until
the loss is back under the goal or a step budget runs out."""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from .curvature import sharpness
from .losses import mse_loss
from .errors import InvalidArgumentError
from .optim import GD
from .sampling import THEORY_SAMPLING
from .train import TrainResult, train
from .trajectories import LOSS, track

BURST = 10.0     # left: the loss reached ten times its value at the minimum (an order of magnitude)
CHECK_EVERY = 50  # steps between looks at the full-batch loss while a probe converges again


@dataclass
class Escape:
    """One probe from a minimum.

    left: the training loss was at `burst_factor` times its start or more for `burst_steps` steps of the window
    (recorded steps count eval_every each; by default any recorded step), or the run diverged. returned: after leaving, the loss came back to the goal: the run converged to a global minimum
    again. escaped = left and returned, the paper's escape. Steps count from the start of the probe; the
    history is (step, full-batch training loss) over the whole probe."""

    left: bool
    returned: bool
    diverged: bool
    burst: float                 # the largest training loss / the loss at the start
    leave_step: int | None       # the first recorded step at which the loss reached burst_factor x its start
    peak_step: int | None        # the step of the largest loss, when it left
    return_step: int | None      # the first step after leaving with the loss at the goal
    steps: int                   # steps run in all
    sharpness_after: float       # at the end of the probe (NaN when it diverged)
    history: list
    final: TrainResult           # the last training phase; its params are the probe's end point

    @property
    def escaped(self) -> bool:
        return self.left and self.returned

    def end_model(self, model: torch.nn.Module) -> torch.nn.Module:
        """A copy of `model` holding the probe's end point."""
        return self.final.load_into(copy.deepcopy(model))


def escape_probe(model: torch.nn.Module, x, y, lr: float, batch_size: int, steps: int, *, loss_goal: float,
                 budget: int | None = None, seed: int = 0, burst_factor: float = BURST, burst_steps: int = 1,
                 eval_every: int = 10, sampling: str = THEORY_SAMPLING) -> Escape:
    """GD (batch_size = n) or SGD with minibatches drawn as `sampling` says (by default the independent uniform
    subsets that Wu, Ma & E's stability theory assumes), from the model's parameters: `steps` steps, then, if
    the loss burst and is not yet back at `loss_goal`, on until it is or `budget` steps have run in all (default:
    10 x steps). The loss is recorded every `eval_every` steps of the window. The model is not modified."""
    budget = 10 * steps if budget is None else budget
    if not (loss_goal > 0 and burst_factor > 1 and budget >= steps >= 1):
        raise InvalidArgumentError(f"escape_probe needs loss_goal > 0, burst_factor > 1 and budget >= steps >= 1; got "
                                   f"loss_goal={loss_goal!r}, burst_factor={burst_factor!r}, steps={steps}, "
                                   f"budget={budget}")
    window = train(model, x, y, mse_loss, GD(lr), max_steps=steps, batch_size=batch_size, eval_every=eval_every,
                   seed=seed, sampling=sampling)
    history = list(window.history)
    start = history[0][1]
    high = [s for s, v in history if v >= burst_factor * start]
    leave_step = high[0] if len(high) * eval_every >= burst_steps else None
    if window.diverged and leave_step is None:
        leave_step = history[-1][0]
    final = window
    returned_in_window = leave_step is not None and any(v <= loss_goal for s, v in history if s > leave_step)
    if leave_step is not None and not window.diverged and not returned_in_window:
        final = _converge(model, window, x, y, lr, batch_size, budget, loss_goal, seed, sampling, history,
                          check_every=max(eval_every, CHECK_EVERY))
    diverged = final.diverged or window.diverged
    peak_step, peak = max(history, key=lambda item: item[1])
    return_step = None
    if leave_step is not None and not diverged:
        return_step = next((s for s, v in history if s > leave_step and v <= loss_goal), None)
    after = float("nan")
    if not diverged:
        after = float(sharpness(final.load_into(copy.deepcopy(model)), x, y, mse_loss, tol=1e-3, chunk_size=len(x)))
    return Escape(left=leave_step is not None, returned=return_step is not None, diverged=diverged, burst=peak / start,
                  leave_step=leave_step, peak_step=peak_step if leave_step is not None else None,
                  return_step=return_step, steps=history[-1][0], sharpness_after=after, history=history, final=final)


def polished(model: torch.nn.Module, x, y, lr: float, loss_goal: float, max_steps: int,
             eval_every: int = 100) -> tuple[torch.nn.Module, TrainResult]:
    """The minimum a GD run reached, trained on by the same GD (step lr) to a lower loss: a start closer to a
    fixed point of GD and SGD (Wu, Ma & E 2018 start their escapes at minima of loss below 1e-4, Fig. 8). Returns
    a new model at the polished weights and the run that polished it (its `converged` says whether it got
    there within max_steps); the model is not modified."""
    result = train(model, x, y, mse_loss, GD(lr), loss_goal=loss_goal, eval_every=eval_every, max_steps=max_steps)
    return result.load_into(copy.deepcopy(model)), result


def _converge(model, window: TrainResult, x, y, lr, batch_size, budget, loss_goal, seed, sampling, history,
              check_every: int) -> TrainResult:
    """Go on from the window's end as one run (its batches from seed + 7919) whose trajectory records the full-batch
    loss once every `check_every` steps (sgdcheck.trajectories), stopped at the first record at the goal, at
    divergence, or when `budget` steps have run in all. Appends its (step, loss) records to `history`; returns the
    run."""
    steps = budget - window.steps
    (run,) = track(lambda _: window.load_into(copy.deepcopy(model)), (seed + 7919,), (lr,), x, y,
                   at=range(0, steps + 1, check_every), measures=(LOSS,), max_steps=steps, stop_below=("loss", loss_goal),
                   batch_size=batch_size, sampling=sampling, eval_every=max(steps, 1))
    history += [(window.steps + step, value) for step, value in zip(run.steps, run["loss"]) if step]
    if run.result.diverged and history[-1][0] < window.steps + run.result.steps:
        history.append((window.steps + run.result.steps, run.result.loss))
    return run.result
