"""The noise floor of SGD shrinks by 1/l with batch size l: alpha L sigma_0 / (2 m l).

Chaudhari, lecture notes "Stochastic gradient descent, Entropy-SGD" (2019), Remark 9.
"""
import numpy as np

from sgdcheck import Claim, Source, Tolerance, combine, precondition, within
from sgdcheck.convergence import mean_gaps, strongly_convex_instance
from sgdcheck.figures import figure, panel, series
from sgdcheck.stats import fit_loglog_slope

CLAIM = Claim(
    id="chaudhari.batch-floor",
    source=Source("Chaudhari 2019 lecture notes", "Remark 9 (mini-batching)"),
    statement="Mini-batches of size l divide sigma_0 and sigma by l, so the stationary optimality gap of SGD "
              "at a fixed step size falls like 1/l.",
    paper={"log-log slope of floor vs l": -1.0},
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
