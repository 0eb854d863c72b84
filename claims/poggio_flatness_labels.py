"""Minima found by SGD are flatter for natural labels than for random labels.

Poggio & Liao (Theory II), Sec. 8, Table 1: the flatness radius r(w, d, eps) = sup{r : |I(w) - I(w + r d)|
<= eps}, eps = 0.05, averaged over random unit directions d of all parameters or of the top layer, is larger
at natural-label minima than at random-label ones (MNIST all 45.4 vs 6.9, top 15.0 vs 3.0; CIFAR-10 all
17.0 vs 5.7, top 19.5 vs 12.1). Checked with the FashionMNIST FNN trained by SGD on both label kinds.
"""
import numpy as np
import pytest
import torch

from sgdcheck import Claim, Deviation, Quote, Source, Threshold, combine, effect, known_refutation, precondition, shown
from sgdcheck.losses import mse_loss
from sgdcheck.figures import figure, panel, series
from sgdcheck.geometry import flatness_radius
from sgdcheck.measurement_cache import cached_measurement
from sgdcheck.runs import cached_run, initial_model, trained_model, training_data
from sgdcheck.run_sets import labelled_runs
from sgdcheck.setups import label_runs

CLAIM = Claim(
    id="poggio.flatness-labels",
    source=Source("Poggio & Liao (Theory of deep learning II)", "Sec. 8, Table 1"),
    quote=Quote("A larger margin is found for natural labels than for random labels as shown in Table 1 and in Fig. "
                "12 and Fig. 13.",
                "Sec. 8 (seed 001, line 283); radius: eq. 11, line 331; eps = 0.05: Table 1 caption, line 288; "
                "Table 1: lines 290-294"),
    statement="The flatness radius (eps = 0.05, random unit directions) of SGD minima is larger for natural "
              "labels than for random labels, over all parameters and over the top layer.",
    paper={"all parameters": "MNIST 45.4 ± 2.7 vs 6.9 ± 1.0; CIFAR-10 17.0 ± 2.4 vs 5.7 ± 1.0",
           "top layer": "MNIST 15.0 ± 1.7 vs 3.0 ± 0.1 (ratio 5.0); CIFAR-10 19.5 ± 4.0 vs 12.1 ± 2.6 (ratio 1.6)"},
    deviations=(
        Deviation("data",
                  "MNIST and CIFAR-10 (line 290), networks not stated for Table 1 (default: the 6-layer DCNN, line "
                  "81); here the first 500 (smoke) / 1000 (full) FashionMNIST images and the FNN at 1/5 / 2/5 width",
                  "shares the runs of zhang.random-labels"),
        Deviation("loss",
                  "'the objective function' (line 288), cross-entropy (line 79); here MSE over samples and classes, "
                  "where an all-zero output scores 0.1, so eps = 0.05 is half of it (under cross-entropy about 2% "
                  "of ln 10)",
                  "the shared MSE runs (the engine trains with MSE). The verdict keeps the source's 0.05; every "
                  "part also reports the radii at an eps of the same share of the loss at initialisation (0.05 / "
                  "ln 10 x the MSE at the start, ~0.0024 at smoke). Measuring cross-entropy at the MSE minima is "
                  "no substitute: there it is ~1.47, not a minimum of that loss"),
        Deviation("definition",
                  "the sup in eq. 11 ('furthest distance', line 288); here the first exit of the eps-region, by "
                  "doubling from r = 1e-3 then bisection (rtol 1e-3, cap 1e4)",
                  "documented in sgdcheck.geometry; a first-exit search is cheap"),
        Deviation("sizes",
                  "'T times' (line 333), no number; here 20 random unit directions per minimum, 3 (smoke) / 5 "
                  "(full) seeds, natural and random runs paired by seed (same images and initialisation)",
                  "the CPU budget of the scales"),
        Deviation("definition", "'top layer' is not defined further; here the last Linear's weight and bias",
                  "no reason given"),
        Deviation("optimizer",
                  "'found by SGD', settings not given; here SGD eta = 0.5, B = 20 to MSE 1e-3 and zero training "
                  "error, random labels on 100% of images with one fixed labelling",
                  "the label runs' setup"),
        Deviation("smallest effect",
                  "Table 1's natural/random ratios are 3.0-6.6 (all parameters) and 1.6-5.0 (top layer); here any "
                  "ratio above 1.1 counts, so e.g. 1.25 replicates the ordering but not the size",
                  "the module compares only the ordering and records the ratio"),
    ),
    thresholds=(
        Threshold("eps = 0.05 (EPS)", "source",
                  "Table 1 caption (seed 001, line 288), applied here to an MSE of a different scale"),
        Threshold("log(radius natural / radius random) > log 1.1 (effect greater, SMALLEST)", "argument",
                  "the module: below Table 1's ratios (1.6-6.6) and above the few-percent seed spread of a "
                  "20-direction mean"),
        Threshold("20 directions per minimum (DIRECTIONS)", "tuned",
                  "no stated origin (the source says 'T times'); confirmed on seeds 1000+ (smoke)"),
        Threshold("exit search: start 1e-3, rtol 1e-3, r_max 1e4", "argument",
                  "numerical resolution, far finer than the seed spread"),
        Threshold("control: |log ratio| < log 1.1 (effect none)", "argument",
                  "team 13's report of no clear flatness difference (seed 000, line 105), with the claim's smallest "
                  "effect"),
        Threshold("precondition: every run reaches the loss goal without diverging", "argument",
                  "a radius is defined only at a minimum"),
        Threshold("95% two-sided Student t interval of the mean over seeds (Bonferroni over parts when a refutation "
                  "rests on one of several parts)",
                  "argument",
                  "conventional level; each false verdict has probability <= 2.5% at the bound "
                  "(docs/error-rates.md)"),
    ),
    notes="I is the training risk (MSE, mean over samples and classes). Natural and random runs of a seed share "
          "images and initialisation; the verdict is on the per-seed log ratio natural/random of the mean radius "
          "over 20 directions. Absolute radii depend on the network and the loss scale, so only the ordering and "
          "the ratio are compared with the paper. Smallest effect that counts: a 10% difference of the radius (log ratio log 1.1): Table 1's ratios are 1.6 to 6.6, and the radius is a mean over 20 directions whose seed-to-seed spread is a few percent.",
)
SMALLEST = float(np.log(1.1))
EPS, DIRECTIONS = 0.05, 20
TOP_LAYER = "7"       # the FNN's last Linear


CROSS_ENTROPY_AT_START = float(np.log(10))    # the paper's loss at an uninformed start: eps = 0.05 is 2.2% of it


def relative_eps(config) -> float:
    """eps of the same share of the loss at initialisation as the paper's 0.05 of cross-entropy's ln 10."""
    x, y = training_data(config)
    with torch.no_grad():
        start = float(mse_loss(initial_model(config)(x), y).mean())
    return EPS / CROSS_ENTROPY_AT_START * start


def _radius(record, config, layer, eps, code: str = "") -> float:
    """One run's flatness radius (NaN where the run did not reach its goal). Cached per run (`code`: the measurement
    cache's fingerprint of this file), so a later look of the sequential design measures only its new seeds."""
    if not record.ok:
        return float("nan")
    x, y = training_data(config)
    return float(flatness_radius(trained_model(record, config), x, y, mse_loss, eps=eps, directions=DIRECTIONS,
                                 layer=layer, seed=config.seed))


def _radii(scale, device, fraction, layer, eps=EPS):
    return [cached_measurement(_radius, cached_run(config), config, layer, eps)
            for config in label_runs(scale, device, fraction)]


def planned_runs(scale, device):
    return labelled_runs(scale, device)


# The sequential design of the seeds (sgdcheck.looks): two looks at smoke, not three (the first look, then twice
# its seeds): this claim's networks cost minutes a look, and a third look would cost four times the first.
LOOKS = {"smoke": 2}


@pytest.mark.gpu
@pytest.mark.xdist_group("fashion-sgd")
@pytest.mark.parametrize("part", [
    "all parameters",
    pytest.param("top layer", marks=known_refutation(
        "refuted at smoke scale: along random directions of the top layer alone the random-label minima are "
        "flatter (radius ~5.3 vs ~4.2 for natural labels), the opposite of Table 1; over all parameters the "
        "paper's ordering holds. The inversion survives an eps relative to the loss scale (0.0024, the share of "
        "the starting loss that 0.05 is of cross-entropy's ln 10): random 1.15 vs natural 0.92, seeds 0-2")),
])
def test_flatness_labels(part, scale, device, evidence):
    evidence.device = device
    layer = None if part == "all parameters" else TOP_LAYER
    natural, random = _radii(scale, device, 0.0, layer), _radii(scale, device, 1.0, layer)
    trained = precondition(np.all(np.isfinite(natural + random)), "every run reaches the loss goal without diverging")
    ratios = [float(np.log(n / r)) for n, r in zip(natural, random)]
    eps = relative_eps(label_runs(scale, device)[0])
    natural_rel, random_rel = _radii(scale, device, 0.0, layer, eps), _radii(scale, device, 1.0, layer, eps)
    ratio_rel = float(np.exp(np.mean(np.log(np.divide(natural_rel, random_rel)))))
    evidence.finding(f"At an eps relative to the loss scale (eps = {eps:.2g}: the paper's 0.05 is 2.2% of cross-"
                     f"entropy's ln 10 at the start; this is the same share of the MSE at initialisation), {part}: "
                     f"natural {np.mean(natural_rel):.3g} vs random {np.mean(random_rel):.3g}, ratio {ratio_rel:.2f} "
                     f"(at eps = {EPS}: {np.exp(np.mean(ratios)):.2f}).")
    evidence.record(**{part: shown({"natural": np.mean(natural), "random": np.mean(random), "ratio": np.exp(np.mean(ratios))},
                                   f"natural {np.mean(natural):.2f} ± {np.std(natural, ddof=1):.2f} vs random "
                                   f"{np.mean(random):.2f} ± {np.std(random, ddof=1):.2f} "
                                   f"(ratio {np.exp(np.mean(ratios)):.2f}; paper MNIST {'6.6' if layer is None else '5.0'}, CIFAR-10 "
                                   f"{'3.0' if layer is None else '1.6'})")})
    evidence.detail(natural=natural, random=random, eps=EPS, directions=DIRECTIONS, layer=layer or "all",
                    relative_eps=eps, natural_relative_eps=natural_rel, random_relative_eps=random_rel)
    what = "log(radius natural / radius random)"
    verdict = combine([effect(ratios, SMALLEST, "greater", what=what)], preconditions=[trained])
    control = combine([effect(ratios, SMALLEST, "none", what=what)], preconditions=[trained])
    evidence.figure("radii", figure(f"Flatness radius (eps = {EPS}), {part}", [
        panel("per seed", "", "radius", [
            series("bar", [f"seed {i}" for i in range(len(natural))], natural, "natural labels", offset=-0.2, width=0.4),
            series("bar", [f"seed {i}" for i in range(len(random))], random, "random labels", offset=0.2, width=0.4),
        ]),
    ]))
    evidence.conclude(CLAIM, verdict, seeds=[c.seed for c in label_runs(scale, device)], case=part,
                      negative_control=("the radius does not depend on the labels (no difference of 10% or more)",
                                        control))
