"""SGDL, SGD plus Gaussian noise of constant power, trains like SGD and validates slightly better.

Poggio & Liao, "Theory II: Deep learning and optimization" (2018), eq. 5 and Fig. 7:
w <- w - gamma grad V(w, z_t) + gamma' W_t with W_t ~ N(0, I); on CIFAR-10 the training curves of SGDL
follow those of SGD and its validation accuracy is slightly higher. Here: the FashionMNIST FNN of the
label claims (natural labels, SGD eta = 0.5, B = 20), SGDL with the same steps plus noise of constant
power gamma' per coordinate.
"""
from dataclasses import replace

import numpy as np
import pytest

from sgdcheck import Claim, Source, combine, effect, known_refutation, shown
from sgdcheck.figures import figure, panel, series
from sgdcheck.runs import cached_run, reached_goal, trained_model
from sgdcheck.setups import accuracy, held_out, label_runs

CLAIM = Claim(
    id="poggio.sgdl-like-sgd",
    source=Source("Poggio & Liao 2018", "eq. 5, Fig. 7"),
    statement="SGD with added Gaussian noise of constant power (SGDL) trains like SGD, with slightly better "
              "validation accuracy.",
    paper={"training": "SGDL's training curve follows SGD's (CIFAR-10)",
           "validation": "SGDL slightly better than SGD"},
    notes="gamma' = 3e-4 per coordinate (noise norm ~0.1 a step at smoke, ~1/5 of the SGD step at the start); "
          "the paper does not give its gamma'. 'Trains like' = the training loss at step T, the last evaluation "
          "before any SGD run reached the loss goal, within a factor 2 of SGD's, and both reach the goal. "
          "Validation = test accuracy at the loss goal on the 10,000 held-out images. The control runs SGDL "
          "with ten times the noise (gamma' = 3e-3) for T steps. 'Trains like' is an equivalence test: no factor of 2 "
          "or more between the losses. 'Slightly better' needs a smallest effect that counts, which the paper does "
          "not give: half a point of test accuracy, the smallest gap between two validation curves that Fig. 7's "
          "axis (tens of points) lets a reader see, and about the seed-to-seed spread of one run's test accuracy "
          "here. The difference is paired by seed; an interval below half a point is evidence against 'slightly "
          "better' (the claim's control asks for 2 points).",
)
NOISE, LOUD = 3e-4, 3e-3
SLIGHTLY = 0.005         # half a point of test accuracy: the smallest validation gain that counts


def _configs(scale, device):
    base = label_runs(scale, device)[0]
    seeds = scale.seed_range(10)               # the difference in validation is a few tenths of a point
    sgd = [replace(base, seed=s) for s in seeds]
    sgdl = [replace(c, optimizer="langevin", optimizer_options=(("noise", NOISE),)) for c in sgd]
    return sgd, sgdl


def planned_runs(scale, device):
    """The SGD and SGDL runs; the loud-noise SGDL runs of the training part stop at a step read from these
    runs, so they are trained when the claim runs."""
    return [c for part in _configs(scale, device) for c in part]


def _loss_at(record, step):
    return dict(record.history).get(step, np.nan)


@pytest.mark.gpu
@pytest.mark.xdist_group("fashion-sgd")
@pytest.mark.parametrize("part", [
    "training",
    pytest.param("validation", marks=known_refutation(
        "no gain of half a point: SGDL's test accuracy minus SGD's has intervals of a few tenths of a point on "
        "either side of zero (smoke, 10 seeds: -0.16 points [-0.30, -0.05] on one CPU, -0.11 [-0.23, +0.01] on "
        "another; full: +0.05 [-0.05, +0.18]), all below the half point that 'slightly better' needs. Its sign "
        "changes with the machine, the scale and the stopping rule; that it stays under half a point does not")),
])
def test_sgdl_like_sgd(part, scale, device, evidence):
    evidence.device = device
    sgd_configs, sgdl_configs = _configs(scale, device)
    sgd, sgdl = [cached_run(c) for c in sgd_configs], [cached_run(c) for c in sgdl_configs]
    trained = reached_goal(sgd + sgdl)
    every = sgd_configs[0].eval_every
    horizon = (min(r.steps for r in sgd) - 1) // every * every
    if part == "training":
        loud = [cached_run(replace(c, optimizer_options=(("noise", LOUD),), max_steps=horizon, loss_goal=None, zero_error=False))
                for c in sgdl_configs]
        ratio = lambda runs: [float(np.log(_loss_at(r, horizon) / _loss_at(s, horizon))) for r, s in zip(runs, sgd)]
        steps = [float(np.log(r.steps / s.steps)) for r, s in zip(sgdl, sgd)]
        verdict = combine([effect(ratio(sgdl), np.log(2), "none", what=f"log(SGDL loss / SGD loss) at step {horizon}")],
                          preconditions=[trained])
        control = combine([effect(ratio(loud), np.log(2), "none",
                                  what=f"log(SGDL loss / SGD loss) at step {horizon}, gamma' = {LOUD:g}")])
        evidence.record(training=shown(
            {"loss ratio": np.exp(np.mean(ratio(sgdl))), "loss ratio, 10x noise": np.exp(np.mean(ratio(loud))),
             "steps ratio": np.exp(np.mean(steps))},
            f"loss at step {horizon}: SGDL / SGD = {np.exp(np.mean(ratio(sgdl))):.2f} "
            f"(gamma' = {NOISE:g}), {np.exp(np.mean(ratio(loud))):.2f} (gamma' = {LOUD:g}); "
            f"steps to the loss goal SGDL / SGD = {np.exp(np.mean(steps)):.2f}"))
        evidence.detail(horizon=horizon, steps_sgd=[r.steps for r in sgd], steps_sgdl=[r.steps for r in sgdl])
        evidence.figure("training", figure("Training loss, FashionMNIST FNN (every seed)", [
            panel("training loss", "step", "loss",
                  [series("line", [t for t, _ in r.history], [v for _, v in r.history],
                          name if k == 0 else "", color=color, alpha=0.6)
                   for name, runs, color in (("SGD", sgd, "C0"), (f"SGDL gamma'={NOISE:g}", sgdl, "C1"),
                                             (f"SGDL gamma'={LOUD:g}", loud, "C3"))
                   for k, r in enumerate(runs)], yscale="log", vlines=[(horizon, "T")]),
        ]))
        statement = f"SGDL with ten times the noise (gamma' = {LOUD:g}) also trains like SGD"
    else:
        test_x, test_y = held_out(sgd_configs[0])
        acc = lambda record, config: accuracy(trained_model(record, config), test_x, test_y)
        gains = [acc(r, c) - acc(s, b) for r, c, s, b in zip(sgdl, sgdl_configs, sgd, sgd_configs)]
        verdict = combine([effect(gains, SLIGHTLY, "greater", what="test accuracy SGDL minus SGD")],
                          preconditions=[trained])
        control = combine([effect(gains, 0.02, "greater", what="test accuracy SGDL minus SGD")], preconditions=[trained])
        evidence.record(validation=shown(np.mean(gains), f"SGDL minus SGD: {np.mean(gains):+.2%} test accuracy "
                                                         f"(per seed: {', '.join(f'{g:+.2%}' for g in gains)})"))
        evidence.detail(gains=gains)
        statement = "SGDL validates better than SGD by at least 2 points"
    evidence.conclude(CLAIM, verdict, seeds=[c.seed for c in sgd_configs], case=part,
                      negative_control=(statement, control))
