"""Named sets of training runs that several claims read, declared once.

A claim that trains declares its runs with a module-level ``planned_runs(scale, device)`` returning
jobs (RunConfigs and Ensembles); the plugin can then train them all up front, spread over processes
or a SLURM cluster (``--executor``), before the claims read them from the shared run cache. The sets
here are the runs that more than one claim reads, so that sharing them is declared, not a coincidence
of equal arguments.
"""
from __future__ import annotations

from .runs import Ensemble, RunConfig
from .scale import Scale
from .setups import fashion_fnn, label_runs

GD_SHARPNESS_PAPER_LRS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0)     # Wu, Ma & E (2018), Table 2
MINIMA_SEEDS = 5


def gd_sharpness_lrs(scale: Scale) -> tuple:
    """The step sizes of wu2018.gd-sharpness at this scale (Table 2's at paper scale, but eta = 0.01; see the claim)."""
    return scale.pick(smoke=(0.5, 1.0, 2.0), full=(0.5, 1.0, 2.0), paper=GD_SHARPNESS_PAPER_LRS[1:])


def gd_minima(scale: Scale, device: str = "cpu", lrs=None) -> list[Ensemble]:
    """GD on the FashionMNIST FNN of Wu, Ma & E (2018) to the loss goal, 5 seeds, one ensemble per step size:
    the minima of wu2018.gd-sharpness, from which wu2018.escape starts SGD and poggio.gaussian-noise
    samples minibatch gradients (both at eta = 0.5)."""
    config = fashion_fnn(scale, device).config
    return [Ensemble(config, scale.seeds[:MINIMA_SEEDS], (lr,)) for lr in (lrs or gd_sharpness_lrs(scale))]


def labelled_runs(scale: Scale, device: str = "cpu", fractions=(0.0, 1.0)) -> list[RunConfig]:
    """SGD on FashionMNIST with natural and random labels to zero training error (sgdcheck.setups.label_runs),
    read by zhang.random-labels and the two flatness-labels claims."""
    return [config for fraction in fractions for config in label_runs(scale, device, fraction)]
