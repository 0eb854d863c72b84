"""Quantities along a run: one tracked pass against the naive way, one run trained from step 0 per checkpoint.

Run: .venv/bin/python -m pytest benchmarks/test_trajectories.py --benchmark-only --benchmark-group-by=group
"""
import pytest
import torch

from sgdcheck import data
from sgdcheck.ensemble import train_ensemble
from sgdcheck.losses import mse_loss
from sgdcheck.trajectories import Measure, track
from sgdcheck.train import full_loss

SEEDS, LR, STEPS, CHECKPOINTS = (0, 1, 2), 0.1, 400, tuple(range(50, 401, 50))
GROUP = "3 MLPs 40-64-64-10, GD, training loss at 8 checkpoints of 400 steps on mnist1d"


def _mlp(seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(40, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(),
                               torch.nn.Linear(64, 10))


def _loss(model, x, y):
    return full_loss(model, dict(model.named_parameters()), x, y, mse_loss)


LOSS = Measure("loss", _loss)


@pytest.fixture(scope="module")
def mnist1d():
    ds = data.load("mnist1d")
    return ds.x[:1000], ds.one_hot()[:1000]


def _tracked(x, y):
    return [t["loss"] for t in track(_mlp, SEEDS, (LR,), x, y, at=CHECKPOINTS, measures=(LOSS,), max_steps=STEPS,
                                     eval_every=STEPS)]


def _one_run_per_checkpoint(x, y):
    per_checkpoint = []
    for step in CHECKPOINTS:
        results = train_ensemble(_mlp, SEEDS, (LR,), x, y, mse_loss, max_steps=step, eval_every=step)
        per_checkpoint.append([_loss(r.load_into(_mlp(seed)), x, y) for seed, r in zip(SEEDS, results)])
    return [list(values) for values in zip(*per_checkpoint)]


@pytest.mark.benchmark(group=GROUP)
def test_one_tracked_pass(benchmark, mnist1d):
    x, y = mnist1d
    tracked = benchmark.pedantic(_tracked, args=(x, y), rounds=3, iterations=1)
    naive = _one_run_per_checkpoint(x, y)
    assert all(t == pytest.approx(n, rel=1e-5) for t, n in zip(tracked, naive, strict=True))


@pytest.mark.benchmark(group=GROUP)
def test_one_run_per_checkpoint_baseline(benchmark, mnist1d):
    x, y = mnist1d
    benchmark.pedantic(_one_run_per_checkpoint, args=(x, y), rounds=3, iterations=1)
