"""Smaller batches find flatter minima: sharpness falls with the batch size at a fixed learning rate.

Wu, Ma & E (NeurIPS 2018), Fig. 5b. Measured on the FashionMNIST FNN at eta = 0.5, paired by seed.
"""
import numpy as np
import pytest

from sgdcheck import Claim, Source, at_most, combine, effect, shown
from sgdcheck.runs import reached_goal
from sgdcheck.stability_diagram import by_batch, diagram_figure, stability_diagram

CLAIM = Claim(
    id="wu2018.batch-sharpness",
    source=Source("Wu, Ma & E 2018", "Fig. 5b"),
    statement="At a fixed learning rate, SGD with a smaller batch converges to flatter minima (lower sharpness).",
    paper={"sharpness against B": "falls as B falls (below 2/eta for every B)"},
    notes="The control's 'no dependence' is an equivalence test with a smallest effect of 5% of the sharpness "
          "(log ratio 0.05), twice the seed-to-seed spread of a at one batch size.",
)


@pytest.mark.gpu
@pytest.mark.xdist_group("stability-diagram")
def test_batch_sharpness(scale, device, evidence):
    evidence.device = device
    diagram = stability_diagram(scale, device)
    a = by_batch(diagram, "a")
    batches = sorted(diagram["batches"])
    converged = reached_goal(diagram["points"])
    steps = [at_most(np.log(np.array(a[small]) / np.array(a[large])), 0.0,
                     what=f"log(a at B={small} / a at B={large})") for small, large in zip(batches, batches[1:])]
    verdict = combine(steps, preconditions=[converged])
    control = combine([effect(np.log(np.array(a[batches[0]]) / np.array(a[batches[-1]])), 0.05, "none",
                              what=f"log(a at B={batches[0]} / a at B={batches[-1]})")], preconditions=[converged])
    evidence.record(**{"sharpness against B": shown({f"B={b}": np.mean(a[b]) for b in batches},
                                                    ", ".join(f"B={b}: {np.mean(a[b]):.2f}" for b in batches)
                                                    + f" (2/eta = {2 / diagram['lr']:g})")})
    evidence.detail(**diagram)
    evidence.figure("diagram", diagram_figure(diagram))
    evidence.conclude(CLAIM, verdict, seeds=sorted({p["seed"] for p in diagram["points"]}),
                      negative_control=("the sharpness does not depend on the batch size (within 5%)", control))
