"""Sharpness and non-uniformity of minima are strongly correlated, roughly proportional.

Wu, Ma & E (NeurIPS 2018), Fig. 6-7: across many minima (learning rates, batch sizes, initialisations)
a and s move together, s roughly proportional to a. Measured across the minima of the stability
diagram (GD and SGD of several batch sizes, several seeds) on the FashionMNIST FNN.
"""
import numpy as np
import pytest

from sgdcheck import Claim, Source, combine, precondition, shown
from sgdcheck.stats import compare, correlation_interval, slope_interval
from sgdcheck.stability_diagram import diagram_figure, stability_diagram

CLAIM = Claim(
    id="wu2018.a-s-correlation",
    source=Source("Wu, Ma & E 2018", "Fig. 6-7"),
    statement="Across minima found with different batch sizes and seeds, sharpness and non-uniformity are strongly "
              "correlated and roughly proportional.",
    paper={"correlation of log a and log s": "strong", "log-log slope of s on a": "~ 1 (roughly proportional)"},
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
