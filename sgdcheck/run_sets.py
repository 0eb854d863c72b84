"""Named sets of training runs that several claims read, declared once.

A claim that trains declares its runs with a module-level ``planned_runs(scale, device)`` returning
jobs (RunConfigs and Ensembles); the plugin can then train them all up front, spread over processes
or a SLURM cluster (``--executor``), before the claims read them from the shared run cache. The sets
here are the runs that more than one claim reads, so that sharing them is declared, not a coincidence
of equal arguments.
"""
from __future__ import annotations

from dataclasses import replace

from .runs import Ensemble, RunConfig
from .scale import Scale
from .setups import fashion_fnn, label_runs

GD_SHARPNESS_PAPER_LRS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0)     # Wu, Ma & E (2018), Table 2
MINIMA_SEEDS = 5
SMALL_STEP, SMALL_STEP_BUDGET = 0.1, 4000.0   # below eta = 0.1, GD's step budget is at least 4000 / eta


def gd_sharpness_lrs(scale: Scale) -> tuple:
    """The step sizes of the shared GD minima at this scale: wu2018.gd-sharpness's at smoke and full; at paper scale
    Table 2's but eta = 0.01, which that claim adds to its own runs (about 30 minutes of one H100)."""
    return scale.pick(smoke=(0.5, 1.0, 2.0), full=(0.05, 0.5, 1.0, 2.0), paper=GD_SHARPNESS_PAPER_LRS[1:])


def gd_step_budget(scale: Scale, lr: float) -> int:
    """The step cap of a GD run at step size lr: the setup's, raised to 4000 / lr below eta = 0.1. GD on the
    FashionMNIST FNN needs about 1800 / lr steps to the loss goal 1e-3 (smoke and full widths: 3,550 / 2,000 /
    1,200 steps at eta = 0.5 / 1 / 2), more than the setup's cap for small steps; the steps of 0.1 and up keep
    the setup's cap and with it their cached runs."""
    cap = fashion_fnn(scale).config.max_steps
    return max(cap, int(round(SMALL_STEP_BUDGET / lr))) if lr < SMALL_STEP else cap


def gd_minima(scale: Scale, device: str = "cpu", lrs=None) -> list[Ensemble]:
    """GD on the FashionMNIST FNN of Wu, Ma & E (2018) to the loss goal, 5 seeds, one ensemble per step size
    (each with its step budget, gd_step_budget): the minima of wu2018.gd-sharpness, from which wu2018.escape
    starts SGD and poggio.gaussian-noise samples minibatch gradients (both at eta = 0.5)."""
    config = fashion_fnn(scale, device).config
    return [Ensemble(replace(config, max_steps=gd_step_budget(scale, lr)), scale.seed_range(MINIMA_SEEDS), (lr,))
            for lr in (lrs or gd_sharpness_lrs(scale))]


def labelled_runs(scale: Scale, device: str = "cpu", fractions=(0.0, 1.0)) -> list[RunConfig]:
    """SGD on FashionMNIST with natural and random labels to zero training error (sgdcheck.setups.label_runs),
    read by zhang.random-labels and the two flatness-labels claims."""
    return [config for fraction in fractions for config in label_runs(scale, device, fraction)]
