"""SGD minima satisfy the non-uniformity bound s <= sqrt(B (n-1)/(n-B))/eta; s falls with B.

Wu, Ma & E (NeurIPS 2018), Sec. 4.2-4.3, Fig. 5a and 6: the linear-stability condition of SGD bounds the
non-uniformity of the minima it can stay at; smaller batches find more uniform minima, GD (B = n) far
less uniform ones. Measured on the FashionMNIST FNN at eta = 0.5 (the paper's FashionMNIST rate).
"""
import numpy as np
import pytest

from sgdcheck import Claim, Source, at_least, at_most, combine, effect, shown
from sgdcheck.runs import reached_goal
from sgdcheck.stability import nonuniformity_bound
from sgdcheck.stability_diagram import by_batch, diagram_figure, stability_diagram

CLAIM = Claim(
    id="wu2018.sgd-nonuniformity",
    source=Source("Wu, Ma & E 2018", "Sec. 4.2-4.3, Fig. 5a, 6"),
    statement="SGD minima satisfy s <= sqrt(B(n-1)/(n-B))/eta; s falls as B falls; GD (B = n) reaches minima with "
              "far larger s.",
    paper={"bound": "s <= sqrt(B(n-1)/(n-B))/eta for every SGD minimum",
           "CIFAR-10, eta = 0.01": "GD s ~ 350; SGD B = 4 s ~ 100 (bound 200)",
           "s against B": "falls as B falls"},
    notes="Per-seed comparisons are paired (same initialisation). The bound is checked on the mean of s / bound "
          "for each batch size. The control's 'no difference' is an equivalence test with a smallest effect of 5% "
          "of s (log ratio 0.05).",
)


@pytest.mark.gpu
@pytest.mark.xdist_group("stability-diagram")
def test_sgd_nonuniformity(scale, device, evidence):
    evidence.device = device
    diagram = stability_diagram(scale, device)
    n, lr = diagram["n"], diagram["lr"]
    s = by_batch(diagram, "s")
    sgd_batches = [b for b in diagram["batches"] if b < n]
    smallest = min(sgd_batches)
    converged = reached_goal(diagram["points"])
    under = [at_most(np.array(s[b]) / nonuniformity_bound(lr, b, n), 1.0, what=f"s / bound at B={b}") for b in sgd_batches]
    falls = at_most(np.log(np.array(s[smallest]) / np.array(s[max(sgd_batches)])), 0.0,
                    what=f"log(s at B={smallest} / s at B={max(sgd_batches)})")
    gd_larger = at_least(np.log(np.array(s[n]) / np.array(s[smallest])), 0.0,
                         what=f"log(s of GD / s at B={smallest})")
    verdict = combine([*under, falls, gd_larger], preconditions=[converged])
    control = combine([effect(np.log(np.array(s[smallest]) / np.array(s[n])), 0.05, "none",
                              what=f"log(s at B={smallest} / s of GD)")], preconditions=[converged])
    evidence.record(**{"bound": shown({f"B={b}": np.mean(s[b]) / nonuniformity_bound(lr, b, n) for b in sgd_batches},
                                      "; ".join(f"B={b}: s = {np.mean(s[b]):.2f} <= {nonuniformity_bound(lr, b, n):.2f}"
                                                for b in sgd_batches), unit="s / bound"),
                       "s against B": shown({f"B={b}": np.mean(s[b]) for b in diagram["batches"]},
                                            ", ".join(f"B={b}: {np.mean(s[b]):.2f}" for b in diagram["batches"]))})
    evidence.detail(**diagram)
    evidence.figure("diagram", diagram_figure(diagram))
    evidence.conclude(CLAIM, verdict, seeds=sorted({p["seed"] for p in diagram["points"]}),
                      negative_control=("s does not depend on the batch size (GD and the smallest B within 5%)",
                                        control))
