"""Sharpness and non-uniformity of minima are strongly correlated, roughly proportional.

Wu, Ma & E (NeurIPS 2018), Fig. 6-7: across many minima (learning rates, batch sizes, initialisations)
a and s move together, s roughly proportional to a. Measured across the minima of the stability
diagram (GD and SGD of several batch sizes, several seeds) on the FashionMNIST FNN.
"""
import numpy as np
import pytest

from sgdcheck import Claim, Deviation, Quote, Source, Threshold, combine, precondition, shown
from sgdcheck.stats import compare, correlation_interval, slope_interval
from sgdcheck.stability_diagram import diagram_figure, stability_diagram

CLAIM = Claim(
    id="wu2018.a-s-correlation",
    source=Source("Wu, Ma & E 2018", "Fig. 6-7"),
    quote=Quote("Another interesting observation is that the non-uniformity and sharpness seems to be strongly "
                "correlated. ... Scatter plot of sharpness and non-uniformity, suggesting that the non-uniformity "
                "and sharpness are roughly proportional to each other for these models.",
                "Sec. 4.3 and Fig. 7 caption (seed 003, lines 466-467 and 484-485)"),
    statement="Across minima found with different batch sizes and seeds, sharpness and non-uniformity are strongly "
              "correlated and roughly proportional.",
    paper={"correlation of log a and log s": "strongly correlated (Sec. 4.3); on log scales here", "log-log slope of s on a": "roughly proportional (Fig. "
                                                                                      "7); a slope near 1 is this "
                                                                                      "module's reading"},
    deviations=(
        Deviation("model",
                  "FNN/FashionMNIST, VGG/CIFAR-10 and ResNet-14/CIFAR-10 with 10,000 examples (lines 479-482); here "
                  "the FashionMNIST FNN only, hidden widths 100/200/500, n = 500 at smoke (1000 full)",
                  "the CPU budget; the shared stability diagram"),
        Deviation("scope",
                  "'a variety of different learning rates, batch sizes and initialization' (line 479); here batch "
                  "size and seed only, at eta = 0.5 with torch's default init",
                  "module notes acknowledge the init scale is not varied; no reason given"),
        Deviation("sizes",
                  "many models in Fig. 7; here 15 (smoke) / 20 (full) converged minima in 3-4 batch-size clusters, "
                  "so r is largely between clusters (a and s both fall with B)",
                  "no reason given"),
        Deviation("definition",
                  "'strongly correlated' and 'roughly proportional' from linear-axis scatter plots; here Pearson r "
                  "of log a and log s and the least-squares slope of log s on log a (Student t, n - 2 df)",
                  "no reason given"),
        Deviation("sizes", "loss < 1e-4 vs goal 1e-3 at smoke/full", "the CPU budget"),
        Deviation("sampling",
                  "the paper's sampling is not stated in the seed; SGD here draws an independent uniform B-subset "
                  "every step",
                  "the theory's sampling (stability_diagram.py)"),
    ),
    thresholds=(
        Threshold("Pearson r of log a and log s >= 0.8 (95% Fisher-z interval)", "argument",
                  "not in the source or the module: a conventional cut-off for a 'strong' correlation"),
        Threshold("log-log slope of s on a in [0.5, 2] (95% Student t interval, n - 2 df)", "argument",
                  "not in the source: 'roughly proportional' read as a slope within a factor 2 of 1; loose (s ~ "
                  "a^0.5 or a^2 pass)"),
        Threshold("at least 6 converged minima (precondition)", "argument",
                  "not stated: the fewest points for informative Fisher-z and t intervals"),
        Threshold("control: |r| <= 0.3", "argument",
                  "a conventional 'weak or no correlation' band; a strawman refuted whenever a and s both depend on "
                  "B"),
    ),
    notes="Strong: Pearson r of log a and log s >= 0.8 (Fisher-z 95% interval). Roughly proportional: the "
          "log-log slope lies in [0.5, 2] (its 95% interval: Student t with n - 2 degrees of freedom). The paper also varies the initialisation scale; here only the batch "
          "size and the seed vary.",
)


@pytest.mark.gpu
@pytest.mark.xdist_group("stability-diagram")
def test_a_s_correlation(scale, device, evidence):
    evidence.device = device
    diagram = stability_diagram(scale, device)
    points = [p for p in diagram["points"] if p["converged"] and not p["diverged"]]
    enough = precondition(len(points) >= 6, f"at least 6 converged minima (got {len(points)})")
    la, ls = np.log([p["a"] for p in points]), np.log([p["s"] for p in points])
    r = correlation_interval(la, ls)
    slope = slope_interval([p["a"] for p in points], [p["s"] for p in points], loglog=True)
    verdict = combine([compare(r, low=0.8, what="Pearson r of log a and log s"),
                       compare(slope, 0.5, 2.0, what="log-log slope of s on a")], preconditions=[enough])
    control = combine([compare(r, -0.3, 0.3, what="Pearson r of log a and log s")], preconditions=[enough])
    evidence.record(**{"correlation of log a and log s": shown(r.estimate, f"r = {r.estimate:.3f} [{r.low:.3f}, {r.high:.3f}]"),
                       "log-log slope of s on a": shown(slope.estimate, f"{slope.estimate:.2f} [{slope.low:.2f}, "
                                                                        f"{slope.high:.2f}] ({slope.method})")})
    evidence.detail(**diagram)
    evidence.figure("diagram", diagram_figure(diagram))
    evidence.conclude(CLAIM, verdict, seeds=sorted({p["seed"] for p in points}),
                      negative_control=("a and s are uncorrelated (|r| <= 0.3)", control))
