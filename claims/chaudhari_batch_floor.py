"""The noise floor of SGD shrinks by 1/l with batch size l: alpha L sigma_0 / (2 m l).

Chaudhari, lecture notes "Stochastic gradient descent, Entropy-SGD" (2019), Remark 9.
"""
import numpy as np

from sgdcheck import Claim, Deviation, Quote, Source, Threshold, Tolerance, combine, precondition, within
from sgdcheck.convergence import mean_gaps, strongly_convex_instance
from sgdcheck.figures import figure, panel, series
from sgdcheck.stats import fit_loglog_slope

CLAIM = Claim(
    id="chaudhari.batch-floor",
    source=Source("Chaudhari 2019 lecture notes", "Remark 9 (mini-batching)"),
    quote=Quote("the variance of the stochastic gradients decreases by a factor of $\\mathcal{B}$ . The constants "
                "$\\sigma$ and $\\sigma_0$ therefore decrease by a factor of $\\mathcal{B}$ as well",
                "Remark 9 (seed 002, line 166; the bound with floor \\frac{\\alpha L \\sigma_0}{2m\\ell} at line "
                "170)"),
    statement="Mini-batches of size l divide sigma_0 and sigma by l, so the stationary optimality gap of SGD "
              "at a fixed step size falls like 1/l.",
    paper={"log-log slope of floor vs l": "-1 (derived from Remark 9's floor alpha L sigma_0/(2 m l))"},
    deviations=(
        Deviation("definition",
                  "the notes say the constants sigma, sigma_0, and so the bound's floor alpha L sigma_0/(2 m l) "
                  "(line 170), shrink by 1/l; the test fits the log-log slope of SGD's measured stationary gap "
                  "against l",
                  "no reason given: to be revisited"),
        Deviation("scope",
                  "the statement about sigma and sigma_0 and the modified bound (line 170) is not checked; for "
                  "sigma it conflicts with Remark 10's sigma >= 1 (line 178): only sigma_0 and sigma - 1 shrink by "
                  "1/l",
                  "no reason given: to be revisited"),
        Deviation("sampling",
                  "Remark 9 does not say; the test samples i.i.d. with replacement (Assumption 13, line 220); "
                  "without replacement the factor (n - l)/(l (n - 1)) gives slope -1.125 at n = 50, inside the band",
                  "no reason given; with replacement matches Assumption 13"),
        Deviation("data",
                  "the notes state it for any finite sum; the test uses the single least-squares instance of "
                  "chaudhari.sgd-rate (seed 7, n = 50, d = 5, kappa = 15.5, sigma factor 2)",
                  "no reason given: to be revisited"),
        Deviation("sizes",
                  "batches l = 1, 2, 4, 8, 16 at one fixed alpha = 1/(L sigma) (l = 1) = 0.0075 for every l (as "
                  "line 170 keeps alpha); 300 (smoke) / 5000 (full) chains",
                  "no reason given for the batch set; the chain counts are the CPU budget of the smoke and full "
                  "scales"),
        Deviation("setup",
                  "start at x*, int(5/(alpha m)) steps, the first quarter of ~50 checkpoints discarded and the rest "
                  "averaged as the floor; the slowest mode is still ~8% short of stationarity where the window "
                  "starts, equally for every l",
                  "the module's 'stationary: discard the first quarter'"),
        Deviation("statistics",
                  "one slope per seed from 5 points; the mean's 95% Student t interval over seeds must lie in the "
                  "band",
                  "the harness's rule for a band"),
    ),
    thresholds=(
        Threshold("predicted slope -1 (floor proportional to 1/l)", "argument",
                  "derived: the bound's floor scales as 1/l (line 170) and, with replacement, the gradient noise "
                  "covariance as 1/l (line 226); the notes give no slope of the measured gap"),
        Threshold("fitted slope within -1 +- 0.15 (Tolerance atol 0.15)", "tuned",
                  "no stated origin (measured -1.01 +- 0.006); wide enough to accept the without-replacement slope "
                  "-1.125; confirmed on seeds 1000+ (smoke)"),
        Threshold("steps int(5/(alpha m)) and burn-in of the first quarter", "argument",
                  "no stated origin; a relaxation argument: the retained window starts at 1.25/(alpha m), the same "
                  "for every l, so the slope is unaffected"),
        Threshold("control: fitted slope within -0.5 +- 0.15 (floor proportional to 1/sqrt(l))", "argument",
                  "the claim's exponent moved by 1/2: the reading in which the gradient noise's standard deviation, "
                  "not its variance, falls like 1/l (a common slip between the two), with the claim's tolerance"),
    ),
    tolerance=Tolerance(atol=0.15, note="on the fitted slope"),
)
BATCHES = [1, 2, 4, 8, 16]


def test_batch_floor(scale, evidence):
    chains = scale.pick(smoke=300, full=5000, paper=20000)
    problem, big_l, m, _, sigma = strongly_convex_instance()
    alpha = 1 / (big_l * sigma)
    steps = int(5 / (alpha * m))
    x0 = problem.minimizer()
    floors, slopes = [], []
    for seed in scale.seeds:
        row = []
        for batch in BATCHES:
            _, gaps = mean_gaps(problem, x0, alpha, batch, steps, chains, seed, record_every=max(1, steps // 50))
            row.append(float(np.mean(gaps[len(gaps) // 4:])))   # stationary: discard the first quarter
        floors.append(row)
        slopes.append(fit_loglog_slope(BATCHES, row)[0] if np.all(np.isfinite(row)) else np.nan)
    floors = np.array(floors)
    evidence.record(alpha=alpha, floors_by_batch=dict(zip(map(str, BATCHES), floors.mean(0))),
                    fitted_slopes=slopes)
    evidence.record(**{"log-log slope of floor vs l": float(np.mean(slopes))})
    evidence.figure("floor", figure("Stationary gap vs batch size", [
        panel("random least squares, n = 50, d = 5", "batch size l", "stationary E f - f*",
              [series("line", BATCHES, floors.mean(0).tolist(), "measured", marker="o"),
               series("line", BATCHES, (floors.mean(0)[0] / np.array(BATCHES)).tolist(), "1/l", ls="--", color="k")],
              xscale="log", yscale="log"),
    ]))
    ok = precondition(bool(np.isfinite(slopes).all()), "some SGD runs diverged")
    tol = CLAIM.tolerance.atol
    verdict = combine([within(slopes, -1 - tol, -1 + tol, what="fitted slope")], preconditions=[ok])
    control = combine([within(slopes, -0.5 - tol, -0.5 + tol, what="fitted slope")], preconditions=[ok])
    evidence.conclude(CLAIM, verdict, seeds=scale.seeds,
                      negative_control=("the floor falls like 1/sqrt(l) (slope -1/2)", control))
