"""Small-batch training generalises better than large-batch training, and large-batch minima are sharper.

Keskar, Mudigere, Nocedal, Smelyanskiy & Tang (ICLR 2017), Tables 1-2, as shown in the reading list (seed
004): on networks F1..C4, small-batch (SB) ADAM reaches higher test accuracy than large-batch (LB), e.g.
F1 98.03% vs 97.81%, C1 80.04% vs 77.26%, and the LB minima are sharper. Checked with GD (B = n) against
SGD with small batches at one learning rate on the FashionMNIST FNN (the stability diagram's runs).
"""
import numpy as np
import pytest

from sgdcheck import Claim, Source, combine, effect, shown
from sgdcheck.runs import reached_goal
from sgdcheck.stability_diagram import by_batch, diagram_figure, stability_diagram

CLAIM = Claim(
    id="keskar.small-vs-large-batch",
    source=Source("Keskar et al. 2017 (ICLR), via the reading list (seed 004)", "Table 2"),
    statement="Small-batch training reaches higher test accuracy than large-batch training at equal training "
              "performance, and the large-batch minima are sharper.",
    paper={"test accuracy SB vs LB": "F1 98.03% vs 97.81%; C1 80.04% vs 77.26%; C4 63.08% vs 57.81% (ADAM)",
           "sharpness": "LB minima sharper"},
    notes="SB: the smallest SGD batch of the diagram; LB: GD (B = n); both at eta = 0.5 and the same loss goal. "
          "The paper uses ADAM and different networks; this checks the direction, paired by seed. Smallest effects "
          "that count: 0.2 points of test accuracy (the smallest gap in the paper's Table 2, F1: 98.03% vs 97.81%) "
          "and 10% of sharpness (log ratio log 1.1; the paper's sharpness gaps are several-fold). The diagram has "
          "5 seeds at every scale: with 3 at smoke the accuracy gain replicated on seeds 0-2 and was undecided on "
          "seeds 1000-1002 (+0.63 points [-0.17, +1.43]).",
)
ACCURACY_EFFECT, SHARPNESS_EFFECT = 0.002, float(np.log(1.1))


@pytest.mark.gpu
@pytest.mark.xdist_group("stability-diagram")
def test_small_vs_large_batch(scale, device, evidence):
    evidence.device = device
    diagram = stability_diagram(scale, device)
    n = diagram["n"]
    small = min(diagram["batches"])
    acc, a = by_batch(diagram, "test_accuracy"), by_batch(diagram, "a")
    converged = reached_goal(diagram["points"])
    gain = np.array(acc[small]) - np.array(acc[n])
    sharper = np.log(np.array(a[n]) / np.array(a[small]))
    verdict = combine([effect(gain, ACCURACY_EFFECT, "greater", what=f"test accuracy, B={small} minus GD"),
                       effect(sharper, SHARPNESS_EFFECT, "greater", what=f"log(a of GD / a at B={small})")],
                      preconditions=[converged])
    # The control predicts no effect on the quantity the diagram resolves best: with 3-5 seeds an accuracy
    # difference of half a point can be shown neither equal nor different.
    control = combine([effect(sharper, SHARPNESS_EFFECT, "none", what=f"log(a of GD / a at B={small})")],
                      preconditions=[converged])
    evidence.record(**{"test accuracy SB vs LB": shown({"SB": np.mean(acc[small]), "LB": np.mean(acc[n])},
                                                       f"B={small} {np.mean(acc[small]):.2%} vs GD {np.mean(acc[n]):.2%} "
                                                       f"(FashionMNIST FNN, n = {n})"),
                       "sharpness": shown({"SB": np.mean(a[small]), "LB": np.mean(a[n])},
                                          f"B={small} {np.mean(a[small]):.2f} vs GD {np.mean(a[n]):.2f}")})
    evidence.detail(**diagram)
    evidence.figure("diagram", diagram_figure(diagram))
    evidence.conclude(CLAIM, verdict, seeds=sorted({p["seed"] for p in diagram["points"]}),
                      negative_control=("the batch size does not change the sharpness of the minimum found (within 10%)",
                                        control))
