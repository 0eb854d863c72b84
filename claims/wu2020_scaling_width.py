"""Conventional-scaling GD is very sensitive to the width of a two-layer net; mean-field GD is robust to it.

Wu 2020 lectures (seed 004), "Comparison between two scalings", after Ma, Wu & E (2020): the two-layer ReLU net
f = c sum_j a_j relu(b_j . x), c = 1 (conventional, a_j(0) ~ N(0, 1/m)) or c = 1/m (mean-field, a_j(0) ~ N(0, 1)),
learns f*(x) = relu(x_1) from n samples uniform on the sphere by full-batch GD until the training error is below
1e-5. Under conventional scaling the lectures find a transition with the width m, from 'NN-like' solutions
(m ~ n/d, no curse of dimensionality) to 'kernel-like' ones (m ~ n and beyond); under mean-field scaling no such
transition. The test risk is computed exactly (the population risk of sgdcheck.population).
"""
import numpy as np

from sgdcheck import (Claim, Deviation, Quote, Source, Threshold, at_least, at_most, combine, effect,
                      known_inconclusive, precondition)
from sgdcheck import shown
from sgdcheck.figures import figure, panel, series
from sgdcheck.population import SCALINGS, train_sample_gd

STEPS = (2.0, 1.0, 0.5, 0.2, 0.1, 0.05)   # the step rule: the largest at which no network diverges
DECADE = 1.0                               # a factor 10 in test risk across the widths
FIT = 1e-3                                 # precondition: every run fits its sample to this relative risk

CLAIM = Claim(
    id="wu2020.scaling-width",
    source=Source("Wu 2020 lectures", "Comparison between two scalings; mildly over-parameterized regime"),
    quote=Quote("GD-conventional is very sensitive to the network widths, while GD-MF is quite robust.",
                "slide \"Comparison between two scalings\" (seed 004, line 485); the regimes it refers to: "
                "'a transition happens as m increases: m ~ n/d, the training behaves like NN ... m ~ n, the training "
                "behaves like kernel and the gen-err suffers CoD' (lines 454-456)"),
    statement="Trained by full-batch GD to the lectures' training error on n samples, the test risk of the "
              "conventional-scaling two-layer net changes by more than a decade across widths from n/d to about n (at "
              "full scale to 3n), by at least a decade more than that of the mean-field net, whose own test risk "
              "stays within a decade.",
    paper={"conventional": "very sensitive to the width", "mean-field": "quite robust to the width"},
    deviations=(
        Deviation("sizes",
                  "the slide gives no sizes for this comparison (its regimes: m < n/d, n/d <= m <~ n, m >> n, lines "
                  "393-395 and 453-458); here d = 20, n = 200 and widths m = 10, 40, 160 (n/d to 0.8 n; smoke) and "
                  "10 to 640 (n/d to 3.2 n) by factors of 2 (full and paper)",
                  "n/d = 10 is the start of the mildly over-parameterised regime, 0.8 n its kernel-like end; the "
                  "smoke scale stops there because wider conventional nets need steps of 0.1 and below (minutes "
                  "each), which the full scale affords"),
        Deviation("optimizer",
                  "the lectures' gradient flow (eqs. 6-7; eq. 18 with its 1/(mn) factor for mean-field); here "
                  "discrete full-batch GD on the mean squared error (no factor 1/2: twice the gradient of eqs. 6-7), "
                  "step eta (conventional) and eta m (mean-field, the flow's time scale), eta the largest of 2, 1, "
                  "0.5, 0.2, 0.1, 0.05 at which no network diverges, chosen per scaling and width (on divergence "
                  "alone: a step that neither diverges nor fits within the cap fails the precondition)",
                  "the step of a flow is not given; a fixed step would diverge for conventional nets wider than "
                  "~100 (their tangent kernel grows with m), so each width gets the usual tuning"),
        Deviation("setup",
                  "a_j(0) ~ N(0, beta^2), beta not given (eq. 8); here beta = 1/sqrt(m) (conventional) and 1 "
                  "(mean-field), b_j(0) ~ N(0, I/d), as wu2020.two-layer-sparse",
                  "the Xavier-type and mean-field initialisations of the lectures' two scalings"),
        Deviation("definition",
                  "'very sensitive' and 'quite robust' read from the range of log10 test risk over the widths, "
                  "per seed: conventional at least 1 decade, mean-field at most 1, and the difference at least 1; "
                  "the lectures' 'training error' is read as the training risk relative to the mean of f*(x_i)^2",
                  "a factor 10 in test risk is the change a reader sees on the slides' log scales; see the "
                  "thresholds"),
        Deviation("scope",
                  "'GD-conventional with the optimal hyperparameter performs similar as GD-MF' (line 486) is "
                  "reported (each scaling's best width), not judged",
                  "the slide does not say which hyperparameter"),
    ),
    thresholds=(
        Threshold("range of log10 test risk over the widths, per seed: conventional >= 1 (at_least), mean-field "
                  "<= 1 (at_most), conventional minus mean-field > 0 and not below 1 (effect greater, smallest 1)",
                  "argument",
                  "a factor 10 separates 'very sensitive' from 'quite robust' on a log axis; the source gives no "
                  "number"),
        Threshold("control: the scaling does not change how test risk depends on the width (the two ranges "
                  "within 1 decade of each other: effect none)", "argument",
                  "the rival that over-parameterised GD is in its kernel regime under either scaling (Jacot et al. "
                  "2018; the lectures' own m >> n limit, line 458), so width affects both alike"),
        Threshold("training to a relative error of 1e-5 (step caps 20,000 smoke / 50,000 full); precondition: every "
                  "run below 1e-3", "source",
                  "'The GD is stopped when the training error becomes smaller than 10^{-5}' (seed 004, line 449, "
                  "said of the circle-neuron target; the same stop is used here for relu(x_1)); a run that stops at "
                  "the cap above 1e-5 is kept when below 1e-3 (100x the stop: fitted, not yet stopped), one that has "
                  "not fitted its sample is not a GD solution of the kind compared"),
        Threshold("4 seeds (smoke), 10 (full)", "argument",
                  "first run (3 seeds, by hand): ranges of about 4 decades against 0.8; four seeds decide such a "
                  "gap, ten give the full report its intervals"),
        Threshold("95% two-sided Student t interval of the mean over seeds (Bonferroni over parts)", "argument",
                  "conventional level (docs/error-rates.md)"),
    ),
)


def _trained(width, dim, n, seeds, scaling, max_steps):
    """The step rule: the run at the largest step of STEPS at which no network diverges."""
    for lr in STEPS:
        run = train_sample_gd(width, dim, n, seeds, scaling=scaling, lr=lr, max_steps=max_steps,
                              stop_on_divergence=True)
        if not bool(run.diverged.any()):
            return run
    return run


MEAN_FIELD_UNDECIDED = known_inconclusive(
    "at both scales (d = 20, n = 200; smoke m = 10, 40, 160, full m = 10 to 640) conventional GD's test risk ranges "
    "over 2.9 (smoke, seeds 0-5) and 3.8 (full) decades, mean-field's over 0.91 [0.44, 1.38] and 0.98 [0.34, 1.63]: whether "
    "mean-field stays within a decade is undecided, nearly all of its range coming from the narrowest nets (m = n/d = "
    "10 reaches a median relative test risk of 8e-4 at full, the nets from m = 40 on 5e-3 to 6e-3, flat); the contrast "
    "itself (conventional minus mean-field, 2.0 [1.0, 3.1] decades at smoke) holds")


@MEAN_FIELD_UNDECIDED
def test_scaling_width(scale, evidence):
    dim, n = 20, 200
    widths = scale.pick(smoke=(10, 40, 160), full=(10, 20, 40, 80, 160, 320, 640))
    seeds = scale.seed_range(scale.pick(smoke=4, full=10))
    max_steps = scale.pick(smoke=20000, full=50000)
    runs = {(scaling, m): _trained(m, dim, n, seeds, scaling, max_steps) for scaling in SCALINGS for m in widths}
    worst = max(float(np.nan_to_num(r.train.max().item(), nan=np.inf)) for r in runs.values())
    fitted = precondition(worst <= FIT and not any(bool(r.diverged.any()) for r in runs.values()),
                          f"every run fits its sample to a relative training risk <= {FIT:g} without diverging "
                          f"(worst {worst:.2g})")
    log_test = {s: np.log10(np.stack([runs[(s, m)].test.numpy() for m in widths])) for s in SCALINGS}   # [m, S]
    spread = {s: (log_test[s].max(0) - log_test[s].min(0)).tolist() for s in SCALINGS}
    difference = [c - f for c, f in zip(spread["conventional"], spread["mean-field"])]
    median = {s: {m: float(10 ** np.median(log_test[s][i])) for i, m in enumerate(widths)} for s in SCALINGS}
    evidence.record(**{
        "conventional": shown(float(np.mean(spread["conventional"])),
                              f"test risk over m = {widths[0]}-{widths[-1]} ranges over "
                              f"{np.mean(spread['conventional']):.1f} decades (mean over seeds)", unit="decades"),
        "mean-field": shown(float(np.mean(spread["mean-field"])),
                            f"test risk over m = {widths[0]}-{widths[-1]} ranges over "
                            f"{np.mean(spread['mean-field']):.1f} decades (mean over seeds)", unit="decades"),
        "median relative test risk per width": {s: median[s] for s in SCALINGS},
        "steps chosen": {s: {m: runs[(s, m)].lr for m in widths} for s in SCALINGS},
        "best width's test risk": {s: min(median[s].values()) for s in SCALINGS}})
    evidence.detail(runs={f"{s}, m={m}": {"lr": r.lr, "steps": r.steps, "train": r.train.tolist(),
                                          "test": r.test.tolist()} for (s, m), r in runs.items()},
                    dim=dim, n=n, widths=list(widths))
    evidence.finding("Median relative test risk by width: " + "; ".join(
        f"{s}: " + ", ".join(f"m={m} {median[s][m]:.2g}" for m in widths) for s in SCALINGS) + ".")
    evidence.figure("widths", figure(f"Test risk of GD solutions against the width (d = {dim}, n = {n})", [
        panel("relative population risk (median over seeds)", "width m", "test risk",
              [series("line", list(widths), [median[s][m] for m in widths], s, marker="o") for s in SCALINGS],
              xscale="log", yscale="log", vlines=[(n / dim, "n/d"), (n, "n")]),
    ]))
    verdict = combine([at_least(spread["conventional"], DECADE, what="conventional: decades of test risk over widths"),
                       at_most(spread["mean-field"], DECADE, what="mean-field: decades of test risk over widths"),
                       effect(difference, DECADE, "greater",
                              what="decades of test risk over widths, conventional minus mean-field")],
                      preconditions=[fitted])
    control = combine([effect(difference, DECADE, "none",
                              what="decades of test risk over widths, conventional minus mean-field")],
                      preconditions=[fitted])
    evidence.conclude(CLAIM, verdict, seeds=list(seeds),
                      negative_control=("the scaling does not change how test risk depends on the width (both "
                                        "kernel-like once over-parameterised)", control))
