"""SGD minima satisfy the non-uniformity bound s <= sqrt(B (n-1)/(n-B))/eta; s falls with B.

Wu, Ma & E (NeurIPS 2018), Sec. 4.2-4.3, Fig. 5a and 6: the linear-stability condition of SGD bounds the
non-uniformity of the minima it can stay at; smaller batches find more uniform minima, GD (B = n) far
less uniform ones. Measured on the FashionMNIST FNN at eta = 0.5 (the paper's FashionMNIST rate).
"""
import numpy as np
import pytest

from sgdcheck import Claim, Deviation, Quote, Source, Threshold, at_least, at_most, combine, effect, shown
from sgdcheck.runs import reached_goal
from sgdcheck.stability import nonuniformity_bound
from sgdcheck.stability_diagram import by_batch, diagram_figure, stability_diagram

CLAIM = Claim(
    id="wu2018.sgd-nonuniformity",
    source=Source("Wu, Ma & E 2018", "Sec. 4.2-4.3, Fig. 5a, 6"),
    quote=Quote("We see that the solutions found by SGD indeed have much lower non-uniformity than those found by "
                "GD. ... Also we observe that the non-uniformity almost drops monotonically as we decrease the "
                "batch size. ... As we can see, all the solutions lie within the area predicted by the theory.",
                "Sec. 4.2 and 4.3, Fig. 5a and 6 (seed 003, lines 435-436, 439-440 and 462)"),
    statement="SGD minima satisfy s <= sqrt(B(n-1)/(n-B))/eta; s falls as B falls; GD (B = n) reaches minima with "
              "far larger s.",
    paper={"bound": "s <= sqrt(B(n-1)/(n-B))/eta for every SGD minimum",
           "CIFAR-10, eta = 0.01": "GD s ~ 350; SGD B = 4 s ~ 100 (bound 200)",
           "s against B": "falls as B falls"},
    deviations=(
        Deviation("model",
                  "FashionMNIST FNN and CIFAR-10 VGG (Table 1, Fig. 5-6); here the FashionMNIST FNN only, hidden "
                  "widths 100 (smoke) / 200 (full) / 500 (paper)",
                  "the CPU budget; one shared stability diagram (sgdcheck.stability_diagram)"),
        Deviation("sizes",
                  "n = 1000 (seed 003, lines 350, 452) and loss < 1e-4; here n = 500 at smoke (1000 full/paper), "
                  "loss goal 1e-3 at smoke/full, step caps 20000/40000/200000",
                  "the CPU budget of the smoke scale; no reason given for n"),
        Deviation("scope",
                  "Fig. 5a uses eta = 0.05, 0.1, 0.5 and Fig. 6 init scales v = 1, 2, 3 (line 457); here eta = 0.5 "
                  "and torch's default init (v = 1) only",
                  "eta = 0.5 is the paper's FashionMNIST rate of Fig. 6 (line 458); no reason given for one init"),
        Deviation("sizes",
                  "Fig. 6 batches 4, 10, 25 and Fig. 5 up to B = 1000 (GD); here (500, 50, 10) at smoke, (1000, "
                  "100, 25, 10) at full, plus 4 at paper; 5 seeds",
                  "no reason given"),
        Deviation("statistics",
                  "'all the solutions lie within the area' (every minimum) vs the mean of s/bound per batch size "
                  "(95% Student t interval over 5 seeds)",
                  "module notes say so; no reason given"),
        Deviation("smallest effect",
                  "'much lower' than GD and 'almost drops monotonically' vs log(s_GD/s_Bmin) >= 0 (any difference) "
                  "and only the smallest vs the largest SGD batch",
                  "no reason given"),
        Deviation("sampling",
                  "the paper's code's sampling is not stated in the seed; SGD here draws an independent uniform "
                  "B-subset every step",
                  "the sampling Theorem 1 and eq. 9 assume (stability_diagram.py)"),
        Deviation("definition",
                  "the paper computes s by its Appendix C (absent from seed 003); here s = sqrt(lambda_max(Sigma)) "
                  "by power iteration (tol 1e-2), Gauss-Newton per-sample Hessians when the dropped part is below "
                  "1e-3",
                  "computational cost (curvature.non_uniformity); not checkable against the seeds"),
        Deviation("scope", "the CIFAR-10 values kept in paper={...} are not tested", "FashionMNIST only (budget)"),
    ),
    thresholds=(
        Threshold("mean s / (sqrt(B(n-1)/(n-B))/eta) <= 1 per SGD batch size", "source",
                  "eq. 9 and 'all the solutions lie within the area' (seed 003, line 462; seed 004, line 661), "
                  "weakened to the mean"),
        Threshold("log(s at smallest B / s at largest SGD B) <= 0", "source",
                  "direction of 'drops monotonically as we decrease the batch size' (lines 439-440); no smallest "
                  "effect"),
        Threshold("log(s of GD / s at smallest B) >= 0", "source",
                  "direction of 'much lower non-uniformity than ... GD' (lines 435-436); 'much' not quantified"),
        Threshold("eta = 0.5", "source", "Fig. 6's FashionMNIST rate (seed 003, line 458)"),
        Threshold("5 seeds per batch size", "source",
                  "'we trained 5 model with independent initializations' (line 459-460)"),
        Threshold("control: |log(s at smallest B / s of GD)| <= 0.05 (equivalence)", "tuned",
                  "the rival of wu2018.batch-sharpness carried to s: the step alone sets the minima, a ~ 2/eta at "
                  "every batch size (Cohen et al. 2021's edge of stability carried over to SGD), and with s "
                  "roughly proportional to a (Sec. 6; wu2018.a-s-correlation) s does not depend on B either. The "
                  "band: the 5% used for a in wu2018.batch-sharpness (twice the seed-to-seed spread of a, measured "
                  "on these runs); confirmed on seeds 1000+ (smoke)"),
    ),
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
                      negative_control=("the step alone sets the minima (a ~ 2/eta at every B, s proportional to a): s does "
                                        "not depend on the batch size (GD and the smallest B within 5%)",
                                        control))
