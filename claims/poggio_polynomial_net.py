"""A network with a polynomial activation approximating ReLU behaves like the ReLU network.

Poggio & Liao (Theory II), Sec. 3, Fig. 2: replacing ReLU by a polynomial fitted to it on a bounded range
gives training and test curves indistinguishable from the ReLU net's, which lets Bezout-type counting
arguments about polynomial systems speak for ReLU networks. Checked on the FashionMNIST FNN with a
degree-8 least-squares fit of ReLU on [-4, 4], the same SGD and the same step budget.
"""
from dataclasses import replace

import numpy as np
import pytest

from sgdcheck import (Claim, Deviation, Quote, Source, Threshold, at_most, combine, effect, known_refutation,
                     precondition, shown)
from sgdcheck.figures import figure, panel, series
from sgdcheck.runs import cached_run, trained_model
from sgdcheck.setups import accuracy, held_out, label_runs

CLAIM = Claim(
    id="poggio.polynomial-net",
    source=Source("Poggio & Liao (Theory of deep learning II)", "Sec. 3, Fig. 2"),
    quote=Quote("As long as the nonlinearity approximates ReLU well (especially near 0), the \"polynomial net\" "
                "performs similarly to a ReLU net.",
                "Fig. 2 caption, Sec. 3 (seed 001, line 65); cf. the abstract, line 10"),
    statement="A network whose ReLUs are replaced by a polynomial approximation trains and generalises like the "
              "ReLU network.",
    paper={"training and test curves": "performs similarly to a ReLU net (Fig. 2)"},
    deviations=(
        Deviation("model",
                  "Fig. 2 names no network (default: the 6-layer DCNN with BN on CIFAR-10, line 81); here the "
                  "FashionMNIST FNN at 1/5 (smoke) / 2/5 (full) width on the first 500 / 1000 images",
                  "no reason given; shares the label-run setup"),
        Deviation("loss", "the paper's experiments use cross-entropy (line 79); here MSE on one-hot targets",
                  "the shared label-run setup"),
        Deviation("model",
                  "degree and fitting range are not in the seed; here a degree-8 least-squares fit to ReLU on 400 "
                  "Chebyshev nodes in [-4, 4]",
                  "no reason given: to be revisited"),
        Deviation("optimizer",
                  "not given in the source; here SGD, B = 20, at eta = 0.1 for both nets instead of the label runs' "
                  "0.5",
                  "the polynomial net diverges at eta = 0.5 (recorded as a finding)"),
        Deviation("sizes",
                  "the source shows curves; here a fixed budget of 4000 (smoke) / 8000 (full) steps, not run to "
                  "convergence; 3 (smoke) / 5 (full) seeds, paired",
                  "the CPU budget of the scales"),
        Deviation("definition",
                  "'performs similarly' (Fig. 2) / 'indistinguishable' (abstract); here two paired equivalence "
                  "tests at the budget: test accuracy (10,000 held-out images) within ±2 points and final training "
                  "loss within a factor 2",
                  "the module's reading of 'indistinguishable curves'; the loss part is a standard the source never "
                  "states"),
    ),
    thresholds=(
        Threshold("test accuracy, polynomial minus ReLU, within ±0.02 (effect none)", "tuned",
                  "the notes say Fig. 2's curves allow no larger gap, but Fig. 2's content is not in the seed; "
                  "confirmed on seeds 1000+ (smoke)"),
        Threshold("log(final training loss, polynomial / ReLU) within ±log 2 (effect none)", "tuned",
                  "the same unsupported appeal to Fig. 2; this part refutes (about 2.5x); confirmed on seeds 1000+ "
                  "(smoke)"),
        Threshold("control: test accuracy difference <= -0.1", "tuned",
                  "no stated origin; a gap no theory predicts; confirmed on seeds 1000+ (smoke)"),
        Threshold("precondition: no run diverges at eta = 0.1", "argument",
                  "a diverged run has no loss or accuracy to compare"),
        Threshold("95% two-sided Student t interval of the mean over seeds (Bonferroni over parts when a refutation "
                  "rests on one of several parts)",
                  "argument",
                  "conventional level; each false verdict has probability <= 2.5% at the bound "
                  "(docs/error-rates.md)"),
    ),
    notes="Same data, initialisation, SGD (B = 20, eta = 0.1) and step budget. Alike: no difference of 2 points "
          "of test accuracy or more, and none of a factor 2 or more in the final training loss, paired by seed "
          "(equivalence tests; 'indistinguishable curves' in Fig. 2 allow no larger gap).",
)
LR = 0.1


def _configs(scale, device):
    """Per seed, the ReLU and degree-8 polynomial nets at the common step LR for a fixed budget; and the
    polynomial net at the label runs' own step size."""
    budget = scale.pick(smoke=4000, full=8000, paper=50000)
    pairs = [{activation: replace(base, lr=LR, loss_goal=None, zero_error=False, max_steps=budget,
                                  model_options=(("activation", activation),)) for activation in ("relu", "poly8")}
             for base in label_runs(scale, device)]
    large_step = replace(label_runs(scale, device)[0], model_options=(("activation", "poly8"),))
    return pairs, large_step


def planned_runs(scale, device):
    pairs, large_step = _configs(scale, device)
    return [c for pair in pairs for c in pair.values()] + [large_step]


@pytest.mark.gpu
@known_refutation("refuted at smoke scale: with the same SGD the degree-8 polynomial net trains about 2.5x slower "
                  "(training loss 2.2e-2 vs 8.8e-3 after 4000 steps; test accuracy 1.3 points lower, within 2) and "
                  "diverges at eta = 0.5, where the ReLU net trains")
def test_polynomial_net(scale, device, evidence):
    evidence.device = device
    pairs, large_step_config = _configs(scale, device)
    budget = pairs[0]["relu"].max_steps
    rows, curves = [], {}
    for pair in pairs:
        results = {}
        for activation, config in pair.items():
            record = cached_run(config)
            results[activation] = (record, accuracy(trained_model(record, config), *held_out(config)))
            curves.setdefault(activation, record.history)
        (relu, relu_test), (poly, poly_test) = results["relu"], results["poly8"]
        rows.append({"seed": pair["relu"].seed, "relu_loss": relu.loss, "poly_loss": poly.loss, "relu_test": relu_test,
                     "poly_test": poly_test, "diverged": relu.diverged or poly.diverged})
    large_step = cached_run(large_step_config)
    if large_step.diverged:
        evidence.finding(f"At eta = {label_runs(scale, device)[0].lr} (where the ReLU net trains, see "
                         f"zhang.random-labels) the polynomial net diverged after {large_step.steps} steps: outside "
                         f"the fitted range [-4, 4] the polynomial grows like x^8, so it is not a drop-in replacement "
                         f"for large steps.")
    finite = precondition(not any(r["diverged"] for r in rows), f"no run diverges at eta = {LR}")
    diff = [r["poly_test"] - r["relu_test"] for r in rows]
    ratio = [np.log(r["poly_loss"] / r["relu_loss"]) for r in rows]
    verdict = combine([effect(diff, 0.02, "none", what="test accuracy, polynomial minus ReLU"),
                       effect(ratio, np.log(2), "none", what="log(final training loss, polynomial / ReLU)")],
                      preconditions=[finite])
    control = combine([at_most(diff, -0.1, what="test accuracy, polynomial minus ReLU")], preconditions=[finite])
    evidence.record(**{"training and test curves": shown(
        {"test polynomial": np.mean([r['poly_test'] for r in rows]), "test ReLU": np.mean([r['relu_test'] for r in rows]),
         "loss polynomial": np.mean([r['poly_loss'] for r in rows]), "loss ReLU": np.mean([r['relu_loss'] for r in rows])},
        f"after {budget} steps: test {np.mean([r['poly_test'] for r in rows]):.1%}"
        f" (polynomial) vs {np.mean([r['relu_test'] for r in rows]):.1%} "
        f"(ReLU); training loss {np.mean([r['poly_loss'] for r in rows]):.2e} vs "
        f"{np.mean([r['relu_loss'] for r in rows]):.2e}")})
    evidence.detail(runs=rows, lr=LR, budget=budget, large_step_diverged=large_step.diverged)
    evidence.figure("curves", figure("ReLU and polynomial activations, same SGD (first seed)", [
        panel("training loss", "step", "loss", [series("line", [s for s, _ in h], [v for _, v in h], name)
                                                 for name, h in curves.items()], yscale="log"),
    ]))
    evidence.conclude(CLAIM, verdict, seeds=[r["seed"] for r in rows],
                      negative_control=("the polynomial net's test accuracy is 10 points below the ReLU net's",
                                        control))
