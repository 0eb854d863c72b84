"""Small-batch training generalises better than large-batch training, and large-batch minima are sharper.

Keskar, Mudigere, Nocedal, Smelyanskiy & Tang (ICLR 2017), Tables 1-2, as shown in the reading list (seed
004): on networks F1..C4, small-batch (SB) ADAM reaches higher test accuracy than large-batch (LB), e.g.
F1 98.03% vs 97.81%, C1 80.04% vs 77.26%, and the LB minima are sharper. Checked with GD (B = n) against
SGD with small batches at one learning rate on the FashionMNIST FNN (the stability diagram's runs).
"""
import numpy as np
import pytest

from sgdcheck import Claim, Deviation, Quote, Source, Threshold, at_most, combine, effect, shown
from sgdcheck.runs import reached_goal
from sgdcheck.stability_diagram import by_batch, diagram_figure, stability_diagram

CLAIM = Claim(
    id="keskar.small-vs-large-batch",
    source=Source("Keskar et al. 2017 (ICLR), via the reading list (seed 004)", "Table 2"),
    quote=Quote("Table 2: Performance of small-batch (SB) and large-batch (LB) variants of ADAM on the 6 networks "
                "listed in Table 1 ... F_1 99.66% \\pm 0.05% 99.92% \\pm 0.01% 98.03% \\pm 0.07% 97.81% \\pm 0.07%",
                "slide \"SGD v.s. GD\", Table 2 from [Keskar et al., ICLR2017] (seed 004, lines 502-506; columns "
                "training accuracy SB, LB and testing accuracy SB, LB, lines 504-505); 'LB minima sharper' has no "
                "text in seed 004, only 'Flatness' figures (lines 515-521)"),
    statement="Small-batch training reaches higher test accuracy than large-batch training at equal training "
              "performance, and the large-batch minima are sharper.",
    paper={"test accuracy SB vs LB": "F1 98.03% vs 97.81%; C1 80.04% vs 77.26%; C4 63.08% vs 57.81% (ADAM)",
           "sharpness": "LB minima sharper (Keskar et al.; seed 004 shows only their flatness figures)"},
    deviations=(
        Deviation("optimizer",
                  "ADAM with small vs large batches (line 502); here plain SGD with B = 10 against full-batch GD, "
                  "both at eta = 0.5",
                  "the runs are the stability diagram's, shared with three claims and paid for once in CI; ADAM "
                  "was tried by hand (smoke, seeds 0-4, lr 1e-3, B = 10 against the full batch, to MSE 1e-3, "
                  "2026-12-01): the large batch's minima 10x sharper (a 8.8 vs 0.88, against ~3x for SGD/GD here) "
                  "and test accuracy +0.67 points [0.19, 1.15] for the small batch, the same direction as this "
                  "module's runs; adding it as a case costs ~2.5 CPU minutes at smoke, past CI's budget"),
        Deviation("sampling",
                  "the seed does not say how Keskar's minibatches are drawn (ADAM with the usual data loading); "
                  "here SGD draws an independent uniform B-subset of the n samples at every step",
                  "the stability diagram's runs, whose sampling is the one the Wu, Ma & E (2018) stability bound "
                  "assumes (sgdcheck.stability_diagram)"),
        Deviation("setup",
                  "Keskar's LB is a large but partial batch (its size is not in the seed); here LB is B = n, i.e. "
                  "GD",
                  "reuse of the stability diagram's GD runs; no other reason given"),
        Deviation("data",
                  "networks F1..C4 on their data sets (Table 1, not in the seed); here the first 500 (smoke) / "
                  "1,000 (full, paper) FashionMNIST images, tested on the FashionMNIST test set",
                  "the stability-diagram setup of Wu, Ma & E 2018 (module docstring)"),
        Deviation("model",
                  "F1..C4 (Table 1, not in the seed); here an FNN 784-100-100-100-10 (smoke) / 784-200-200-200-10 "
                  "(full) / 784-500-500-500-10 (paper)",
                  "the stability-diagram setup of Wu, Ma & E 2018"),
        Deviation("loss", "Keskar's loss is not given in the seed; here MSE on one-hot targets",
                  "the stability-diagram setup of Wu, Ma & E 2018"),
        Deviation("definition",
                  "Keskar's sharpness is not defined in seed 004 (figures only); here lambda_max of the "
                  "training-loss Hessian (power iteration, tol 1e-3); at eta = 0.5 GD sits near 2/eta = 4 (measured "
                  "3.59), so the gap is the linear-stability mechanism of Wu 2018",
                  "no reason given"),
        Deviation("scope",
                  "Table 2 covers six networks and the slide's framing is SGD vs GD (line 498); here one network, "
                  "one eta and one small batch (B = 10; the diagram's other batch sizes are not used)",
                  "no reason given"),
        Deviation("statistics",
                  "Table 2 gives mean +- sd per network; here per-seed paired differences over 5 seeds, judged by a "
                  "95% Student t interval against the smallest effect that counts",
                  "the harness's effect rule"),
    ),
    thresholds=(
        Threshold("ACCURACY_EFFECT = 0.002: SB minus GD test accuracy, paired by seed, must exceed 0.2 points",
                  "source",
                  "the smallest SB-LB gap in Table 2, F1 98.03% vs 97.81% (seed 004 line 506), rounded down: the "
                  "most lenient row (the others are 2-5 points, lines 507-511)"),
        Threshold("SHARPNESS_EFFECT = log 1.1: log(a_GD / a_SB) must exceed 10%", "argument",
                  "a gap below 10% is not called 'sharper' (module notes); its premise, that the paper's gaps are "
                  "several-fold, is not in any seed"),
        Threshold("5 seeds asked at every scale; under the sequential design 3, 6 and 12 at smoke's three looks",
                  "tuned",
                  "with 3 fixed seeds the accuracy gain replicated on seeds 0-2 and was undecided on seeds "
                  "1000-1002 (module notes); with 5, confirmed on seeds 1000+ (smoke); the looks add seeds where "
                  "the margin stays under the minimum"),
        Threshold("precondition: every run reaches the loss goal 1e-3 without diverging (max 20,000 smoke / 40,000 "
                  "full steps)",
                  "argument",
                  "'equal training performance': both batch sizes trained to the same training loss"),
        Threshold("eta = 0.5, SB = B 10, LB = B n", "tuned",
                  "the stability diagram's setup (Wu 2018), not Keskar's; confirmed on seeds 1000+ (smoke)"),
        Threshold("control: test accuracy of B = 10 minus GD at most 0 (Student t interval)", "argument",
                  "the rival of Hoffer, Hubara & Soudry (2017, 'Train longer, generalize better'): the large batch's "
                  "generalization gap comes from its fewer updates and closes when it is trained as long as it "
                  "needs; here GD is run to the same training loss as SGD (up to 40,000 steps), so the rival "
                  "predicts no gain for the small batch. Their other adaptations (learning-rate scaling, ghost batch "
                  "norm) have no counterpart in this FNN without batch norm. It replaced the edge-of-stability "
                  "control (small and large batch equally sharp, within 10%), which was refuted whenever part 2 "
                  "replicated, on the same numbers"),
    ),
    notes="SB: the smallest SGD batch of the diagram; LB: GD (B = n); both at eta = 0.5 and the same loss goal. "
          "The paper uses ADAM and different networks; this checks the direction, paired by seed. Smallest effects "
          "that count: 0.2 points of test accuracy (the smallest gap in the paper's Table 2, F1: 98.03% vs 97.81%) "
          "and 10% of sharpness (log ratio log 1.1; the paper's sharpness gaps are several-fold). The diagram has "
          "5 seeds at every scale: with 3 at smoke the accuracy gain replicated on seeds 0-2 and was undecided on "
          "seeds 1000-1002 (+0.63 points [-0.17, +1.43]).",
)
ACCURACY_EFFECT, SHARPNESS_EFFECT = 0.002, float(np.log(1.1))


# The sequential design of the seeds (sgdcheck.looks): three looks at smoke (3, 6, 12 seeds of the stability
# diagram). Until the diagram was keyed by the look's seeds it stayed at 5 seeds on every look and the accuracy
# gain stopped at +0.21 half-widths; the third look costs a few CPU minutes of the diagram's networks.
LOOKS = {"smoke": 3}


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
    # The rival (Hoffer et al. 2017): trained as long as it needs, to the same training loss, the large batch
    # generalises as well as the small one; the small batch's gain is then at most 0.
    control = combine([at_most(gain, 0.0, what=f"test accuracy, B={small} minus GD (the rival: at most 0)")],
                      preconditions=[converged])
    evidence.record(**{"test accuracy SB vs LB": shown({"SB": np.mean(acc[small]), "LB": np.mean(acc[n])},
                                                       f"B={small} {np.mean(acc[small]):.2%} vs GD {np.mean(acc[n]):.2%} "
                                                       f"(FashionMNIST FNN, n = {n})"),
                       "sharpness": shown({"SB": np.mean(a[small]), "LB": np.mean(a[n])},
                                          f"B={small} {np.mean(a[small]):.2f} vs GD {np.mean(a[n]):.2f}")})
    evidence.detail(**diagram)
    evidence.figure("diagram", diagram_figure(diagram))
    evidence.conclude(CLAIM, verdict, seeds=sorted({p["seed"] for p in diagram["points"]}),
                      negative_control=("the generalization gap closes when the large batch is trained to the same loss "
                                        "(Hoffer et al. 2017): the small batch gains nothing", control))
