"""The neural-network setups of the papers, sized per scale, shared by the section C claims.

Wu, Ma & E (2018), Table 1 and Sec. 4: an FNN 784-500-500-500-10 (898,510 parameters) on the first
1000 FashionMNIST training images with pixels in [0, 1] as the source code feeds them (not
standardized: standardizing changes the curvature scale and with it which minima GD reaches), MSE on
one-hot targets (mean over samples and classes), trained to a loss below 1e-4. The smoke and full
scales keep the data and the loss, shrink the hidden widths to 1/5 and 2/5, stop at a loss of 1e-3 and
cap the steps so that a whole section runs on a 2-core CPU (15 minutes and 2 hours); the paper scale is
the paper's setup.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
import torch

from . import data
from .errors import DataError
from .models import build
from .runs import RunConfig
from .scale import Scale


@dataclass(frozen=True)
class FashionSetup:
    """What one scale trains: its RunConfig (without lr and seed) and a description for reports."""

    config: RunConfig

    @property
    def hidden(self) -> tuple:
        return tuple(max(2, int(round(500 * self.config.width_scale))) for _ in range(3))

    def describe(self) -> dict:
        c = self.config
        model = build(c.model, width_scale=c.width_scale)
        pixels = "standardized" if c.standardize else "pixels in [0, 1]"
        return {"data": f"first {c.n} FashionMNIST training images, {pixels}, one-hot MSE targets",
                "model": f"FNN 784-{'-'.join(map(str, self.hidden))}-10 "
                         f"({sum(p.numel() for p in model.parameters()):,} parameters)",
                "loss goal": c.loss_goal, "step budget": c.max_steps, "device": c.device}


def fashion_fnn(scale: Scale, device: str = "cpu", **overrides) -> FashionSetup:
    """The FashionMNIST FNN setup of Wu, Ma & E (2018) at this scale."""
    require("fashion-mnist")
    values = dict(dataset="fashion-mnist", n=1000, subset="first", standardize=False, model="fnn",
                  width_scale=scale.pick(smoke=0.2, full=0.4, paper=1.0),
                  loss_goal=scale.pick(smoke=1e-3, full=1e-3, paper=1e-4),
                  max_steps=scale.pick(smoke=4000, full=8000, paper=80000),
                  eval_every=scale.pick(smoke=50, full=50, paper=1000), device=device)
    values.update(overrides)
    return FashionSetup(RunConfig(**values))


def require(dataset: str) -> None:
    """Skip the calling claim, saying why, when a data set's files are not on this machine."""
    try:
        data.load(dataset)
    except DataError as error:
        pytest.skip(f"{dataset} is not available here: {error}")


def label_runs(scale: Scale, device: str = "cpu", random_labels: float = 0.0) -> list[RunConfig]:
    """SGD on FashionMNIST with natural or random labels, trained to the loss goal and zero training
    error (a mean loss of 1e-3 can leave one of 1000 random labels unfit), one RunConfig per seed (Zhang et al. 2017; Poggio & Liao, Sec. 8). Natural- and random-label runs of a
    seed share the images and the initialisation; all seeds share one random labelling of the images, so
    the minima of different seeds minimise the same training risk."""
    require("fashion-mnist")
    base = RunConfig(dataset="fashion-mnist", n=scale.pick(smoke=500, full=1000, paper=1000), subset="first",
                     standardize=False, model="fnn", width_scale=scale.pick(smoke=0.2, full=0.4, paper=1.0),
                     optimizer="sgd", lr=0.5, batch_size=20, loss_goal=1e-3, zero_error=True,
                     max_steps=scale.pick(smoke=20000, full=40000, paper=200000), eval_every=200,
                     random_labels=random_labels, label_seed=0, device=device)
    return [replace(base, seed=seed) for seed in scale.seed_range(scale.pick(smoke=3, full=5))]


def accuracy(model: torch.nn.Module, x: torch.Tensor, labels: torch.Tensor, chunk: int = 4096) -> float:
    """Fraction of samples whose largest output is the label."""
    with torch.no_grad():
        hits = sum(int((model(x[i:i + chunk]).argmax(1) == labels[i:i + chunk]).sum()) for i in range(0, len(x), chunk))
    return hits / len(x)


def held_out(config: RunConfig):
    """The held-out images and labels, preprocessed as the training data are."""
    test = data.load(config.dataset, split="test")
    return test.x.to(config.device, getattr(torch, config.dtype)), test.y.to(config.device)

