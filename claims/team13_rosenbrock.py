"""Adjudication: the team-13 report says SGD fails on Rosenbrock "because it has many local minima".

Team 13 report on Poggio & Liao, eq. 4, Fig. 3. Rosenbrock has one minimum, (1, 1), with Hessian
eigenvalues 1001.6 and 0.4; GD converges there iff eta < 2/1001.6 ~ 0.002: a stability matter.
"""
import numpy as np
from scipy import optimize

from sgdcheck import Claim, Source, Tolerance, combine, equals, holds, known_refutation, proportion, shown
from sgdcheck.figures import figure, panel, series
from sgdcheck.landscapes import Rosenbrock
from sgdcheck.samplers import gd

CLAIM = Claim(
    id="team13.rosenbrock",
    source=Source("Team 13 report (2018)", "Sec. 2.1, eq. 4, Sec. 3"),
    statement="Gradient methods fail on the Rosenbrock function because it has many local minima.",
    paper={"report": "many local minima", "catalog": "one minimum; Hessian eigenvalues 1001.6, 0.4 at (1, 1)"},
    tolerance=Tolerance(rtol=1e-3, note="on the Hessian eigenvalues"),
)


@known_refutation("refuted: Rosenbrock has a single minimum; GD converges for eta < 2/lambda_max = 0.0019968 "
                          "and diverges above it: the failure is a step-size stability matter")
def test_rosenbrock(scale, evidence):
    f = Rosenbrock()
    rng = np.random.default_rng(scale.seeds[0])
    starts = rng.uniform(-2, 2, size=(scale.pick(smoke=200, full=2000), 2))
    ends = np.array([optimize.minimize(lambda p: f.value(p[None])[0], s, jac=lambda p: f.grad(p[None])[0],
                                       method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 1e-15}).x for s in starts])
    distinct = np.unique(np.round(ends, 3), axis=0)
    lam = np.linalg.eigvalsh(Rosenbrock.hessian())
    threshold = 2 / lam[-1]
    near = np.array([1.0, 1.0]) + 0.05 * rng.standard_normal((500, 2))
    steps = scale.pick(smoke=60000, full=200000)
    below = gd(f, near, 0.95 * threshold, steps)
    above = gd(f, near, 1.05 * threshold, 30000)
    converged = int((np.linalg.norm(below.x - 1, axis=1) < 1e-3).sum())
    distance_above = np.linalg.norm(np.nan_to_num(above.x, nan=1e9) - 1, axis=1)
    escaped = int((above.diverged | (distance_above > 1e-3)).sum())
    evidence.record(distinct_minima_found=len(distinct), minima=distinct.tolist(), hessian_eigenvalues=lam.tolist(),
                    gd_threshold=threshold, gd_converged_below=converged / 500, gd_fails_above=escaped / 500)
    evidence.record(report=shown(len(distinct), f"{len(distinct)} minimum found from {len(starts)} starts"),
                    catalog=shown({"minima": len(distinct), "largest eigenvalue": float(lam[1]),
                                   "smallest eigenvalue": float(lam[0])},
                                  f"{len(distinct)} minimum; Hessian eigenvalues {lam[1]:.1f}, {lam[0]:.4f}"))
    evidence.finding(f"{len(starts)} L-BFGS starts in [-2, 2]^2 all end at {distinct.tolist()}; Hessian eigenvalues "
                     f"{lam[1]:.1f} and {lam[0]:.4f}: GD with eta = {0.95 * threshold:.5f} converges from "
                     f"{converged}/500 starts near (1, 1); with eta = {1.05 * threshold:.5f} {escaped}/500 do not converge "
                     f"(they settle into a period-2 orbit, median distance {np.median(distance_above):.3f} from (1, 1)).")
    traj = gd(f, near[:1], 0.95 * threshold, 20000, record_every=200)
    unstable = gd(f, near[:1], 1.05 * threshold, 20000, record_every=200)
    evidence.figure("gd", figure("GD on Rosenbrock near the stability threshold 2/1001.6", [
        panel("distance to (1, 1) along GD", "step", "||x - (1, 1)||",
              [series("line", traj.record_steps, np.linalg.norm(traj.samples[:, 0] - 1, axis=1).tolist(),
                      "eta = 0.95 x 2/lambda_max"),
               series("line", unstable.record_steps, np.linalg.norm(unstable.samples[:, 0] - 1, axis=1).tolist(),
                      "eta = 1.05 x 2/lambda_max")],
              yscale="log"),
    ]))
    stability = combine([
        equals(lam[1], 1001.6, rtol=1e-3, what="lambda_max"), equals(lam[0], 0.3994, rtol=1e-3, what="lambda_min"),
        proportion(converged, 500, low=0.95, what="GD converges below 2/lambda_max"),
        proportion(escaped, 500, low=0.95, what="GD fails above 2/lambda_max")])
    evidence.detail(stability_explanation=stability.as_dict())
    verdict = holds(len(distinct) > 1, f"more than one local minimum ({len(distinct)} found)")
    control = proportion(500 - escaped, 500, low=0.95,
                         what="GD converges with eta = 1.05 x 2/lambda_max")
    evidence.conclude(CLAIM, verdict, seeds=[scale.seeds[0]],
                      negative_control=("GD also converges above the stability threshold", control))
