"""The same network fits random labels: zero training error, test accuracy at chance.

Zhang, Bengio, Hardt, Recht & Vinyals (ICLR 2017), as cited by Poggio & Liao (Sec. 8) and in the
reading list (seed 004): CIFAR-10 Inception 100.0% train / 9.78% test on random labels. Checked with
the FashionMNIST FNN trained by SGD on natural and on random labels.
"""
from dataclasses import replace

import numpy as np
import pytest

from sgdcheck import Claim, Deviation, Quote, Source, Threshold, at_least, combine, holds, within
from sgdcheck import shown
from sgdcheck.figures import figure, panel, series
from sgdcheck.runs import cached_run, reached_goal, trained_model, training_data
from sgdcheck.stats import precondition
from sgdcheck.setups import accuracy, held_out, label_runs

CLAIM = Claim(
    id="zhang.random-labels",
    source=Source("Zhang et al. 2017 (ICLR), via Poggio & Liao Sec. 8", "random-label experiment"),
    quote=Quote("Inception 1,649,402 yes yes 100.0 89.05 ... (fitting random labels) no no 100.0 9.78",
                "slide \"CIFAR-10 dataset\", table from [Chiyuan Zhang, et al, ICLR2017] (seed 004, lines 64-74; "
                "columns: # params, random crop, weight decay, train accuracy, test accuracy); the module's route, "
                "seed 001 Sec. 8 (line 281), gives no numbers"),
    statement="A network that generalises on natural labels reaches zero training error on random labels too, "
              "while its test accuracy falls to chance.",
    paper={"train accuracy, random labels": "100.0% (CIFAR-10, Inception)",
           "test accuracy, random labels": "9.78% (CIFAR-10, Inception); chance is 10%"},
    deviations=(
        Deviation("data",
                  "CIFAR-10 (slide at line 62); here the first 500 (smoke) / 1,000 (full, paper) FashionMNIST "
                  "training images, tested on the FashionMNIST test set",
                  "the harness's FashionMNIST setup; no other reason given"),
        Deviation("model",
                  "Inception with 1,649,402 parameters (line 65), about 33 per CIFAR-10 training image; here an FNN "
                  "784-100-100-100-10 (~100k parameters, ~200 per image, smoke) / 784-200-200-200-10 (~240k, ~240 "
                  "per image, full), so memorising is far easier",
                  "no reason given"),
        Deviation("optimizer",
                  "not stated in the seed; here SGD with eta = 0.5, B = 20, MSE on one-hot targets, trained to loss "
                  "1e-3 and zero training error within 20,000 (smoke) / 40,000 (full) / 200,000 (paper) steps",
                  "no reason given (sgdcheck.setups.label_runs)"),
        Deviation("sampling",
                  "not stated in the seed; here random reshuffling (a fresh permutation every epoch cut into "
                  "batches of 20)",
                  "the harness's default sampling; no reason given"),
        Deviation("setup",
                  "one random labelling shared by all seeds (label_seed 0); natural- and random-label runs of a "
                  "seed share images and initialisation",
                  "so the minima of different seeds minimise the same training risk (label_runs docstring)"),
        Deviation("statistics",
                  "the source reports one run per row; here 3 (smoke) / 5 (full, paper) seeds per label kind, test "
                  "accuracies judged by a 95% Student t interval of the mean",
                  "the harness's within / at_least rules"),
    ),
    thresholds=(
        Threshold("zero training error on random labels in every run (train accuracy 1.0)", "source",
                  "train accuracy 100.0 on random labels (seed 004 line 69)"),
        Threshold("mean random-label test accuracy within [0.07, 0.13] (95% t interval)", "tuned",
                  "no stated origin; chance 0.10 is derived from ten classes (the source reports 9.78%); confirmed "
                  "on seeds 1000+ (smoke)"),
        Threshold("mean natural-label test accuracy >= 0.5 (95% t interval)", "tuned",
                  "no stated origin (the source's natural runs score 85.75-89.31%, lines 65-68); confirmed on seeds "
                  "1000+ (smoke)"),
        Threshold("step budget 20,000 (smoke) / 40,000 (full) / 200,000 (paper) for the natural labels, twice that "
                  "for the random labels: a random-label run short of zero error at its end counts against the claim",
                  "tuned",
                  "no stated origin for the natural budget (confirmed on seeds 1000+, smoke); the random labels get "
                  "RANDOM_BUDGET = 2 times it so that the control's ten-fold slowdown can be seen: the natural runs "
                  "end near 2,300 (smoke) / 4,600 (full) steps, and the common budget capped the measurable ratio "
                  "at 8.7, under the rival's 10"),
        Threshold("precondition: natural-label runs reach loss 1e-3 and zero training error; no random-label run "
                  "diverges",
                  "argument",
                  "the claim is about a network that generalises on natural labels, trained to fit"),
        Threshold("control: steps to fit random labels / natural labels >= 10, paired per seed (log ratio, 95% t "
                  "interval)",
                  "argument",
                  "Zhang et al. find random labels take a small constant factor longer; 'ten times or more' is the "
                  "capacity view's prediction, an order of magnitude. The random runs' budget (twice the natural "
                  "one) lets a ratio up to ~17 be measured, so the rival can pass"),
    ),
    notes="Chance is 10% (ten classes); 'at chance' means the mean test accuracy lies in [7%, 13%]. Every run "
          "trains to the loss goal and zero training error; a random-label run that ends its step budget (40,000 "
          "steps at smoke, 80,000 at full: twice the natural runs') with an image unfit counts against the claim.",
)


RANDOM_BUDGET = 2           # the random-label runs' step budget, in natural-label budgets


def label_configs(scale, device, kind: str):
    """The natural-label runs of sgdcheck.setups.label_runs, or its random-label runs with RANDOM_BUDGET times
    the step budget (the same runs up to where they stop: each stops at its goal)."""
    if kind == "natural":
        return label_runs(scale, device, 0.0)
    return [replace(config, max_steps=RANDOM_BUDGET * config.max_steps) for config in label_runs(scale, device, 1.0)]


def planned_runs(scale, device):
    return label_configs(scale, device, "natural") + label_configs(scale, device, "random")


@pytest.mark.gpu
@pytest.mark.xdist_group("fashion-sgd")
def test_random_labels(scale, device, evidence):
    evidence.device = device
    results = {}
    for kind in ("natural", "random"):
        rows = []
        for config in label_configs(scale, device, kind):
            record = cached_run(config)
            model = trained_model(record, config)
            x, y = training_data(config)
            tx, ty = held_out(config)
            rows.append({"seed": config.seed, "converged": record.converged, "diverged": record.diverged,
                         "steps": record.steps, "loss": record.loss,
                         "train": accuracy(model, x, y.argmax(1)), "test": accuracy(model, tx, ty),
                         "history": record.history})
        results[kind] = rows
    random, natural = results["random"], results["natural"]
    fitted = sum(r["train"] == 1.0 for r in random)
    evidence.record(**{"train accuracy, random labels": shown(
                           {"mean": float(np.mean([r['train'] for r in random])), "lowest": min(r['train'] for r in random),
                            "runs fitting every image": fitted},
                           f"{np.mean([r['train'] for r in random]):.2%}, lowest {min(r['train'] for r in random):.2%}; "
                           f"{fitted}/{len(random)} runs fit every image"),
                       "test accuracy, random labels": shown(
                           {"random": float(np.mean([r['test'] for r in random])),
                            "natural": float(np.mean([r['test'] for r in natural]))},
                           f"{np.mean([r['test'] for r in random]):.2%} "
                           f"(natural labels: {np.mean([r['test'] for r in natural]):.1%})")})
    evidence.detail(runs={k: [{c: v for c, v in r.items() if c != "history"} for r in rows]
                          for k, rows in results.items()}, setup=label_runs(scale, device)[0].key())
    # Fitting the random labels is the claim itself, so only the natural runs must reach their goal; a random
    # run that ends its step budget short of zero error counts against the claim.
    trained = [reached_goal(natural),
               precondition(not any(r["diverged"] for r in random), "no random-label run diverges")]
    verdict = combine([holds(fitted == len(random), f"zero training error on random labels in {fitted}/{len(random)} runs"),
                       within([r["test"] for r in random], 0.07, 0.13, what="test accuracy on random labels"),
                       at_least([r["test"] for r in natural], 0.5, what="test accuracy on natural labels")],
                      preconditions=trained)
    # The rival Zhang et al. set out to refute: capacity control (a small effective capacity, or SGD's implicit
    # regularisation) keeps the network from memorising noise; at the least it would take far longer than the
    # natural labels, here ten times the steps or more, paired by seed.
    slowdown = [float(np.log(r["steps"] / n["steps"])) for r, n in zip(random, natural)]
    evidence.detail(steps_random_over_natural=[float(np.exp(v)) for v in slowdown])
    control = combine([at_least(slowdown, float(np.log(10)), what="log(steps to fit random / natural labels)")],
                      preconditions=trained)
    evidence.figure("training", figure("SGD on natural and random labels (FashionMNIST)", [
        panel("training loss", "step", "loss",
              [series("line", [s for s, _ in r["history"]], [v for _, v in r["history"]], f"{kind}, seed {r['seed']}")
               for kind, rows in results.items() for r in rows], yscale="log"),
        panel("accuracy", "", "accuracy",
              [series("bar", ["train, natural", "test, natural", "train, random", "test, random"],
                      [np.mean([r[k] for r in rows]) for rows in (natural, random) for k in ("train", "test")], "")],
              hlines=[(0.1, "chance")]),
    ]))
    evidence.conclude(CLAIM, verdict, seeds=[r["seed"] for r in random],
                      negative_control=("capacity control: memorising random labels takes ten times the steps of "
                                        "the natural labels or more", control))
