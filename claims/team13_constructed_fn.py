"""Adjudication: the team-13 report found SGDL preferring the "sharp" minimum of its function (3),
"contrary to the paper".

Team 13 report on Poggio & Liao, Sec. 2.1, eq. 3, Fig. 2. The function has a valley of depth -1
along x = 4 (degenerate in y) and a local minimum of depth ~0 near (8, 5): the depths differ,
so it does not test the equal-depth claim. Measured here: where SGD/SGDL end on the box
[0, 12] x [0, 10] (eq. 1's projection), next to the Boltzmann masses of each region.
"""
import numpy as np
from scipy import optimize

from sgdcheck import Claim, Source, combine, known_refutation, proportion, shown, within
from sgdcheck.figures import figure, panel, series
from sgdcheck.landscapes import Box, Team13Function
from sgdcheck.samplers import gd, langevin

CLAIM = Claim(
    id="team13.constructed-fn",
    source=Source("Team 13 report (2018)", "Sec. 2.1, eq. 3, Fig. 2"),
    statement="On the report's function (3), SGD and SGDL end more often in the 'sharp' minimum near (8, 5) than "
              "in the flat valley along x = 4.",
    paper={"report": "sharp minimum more popular than the flat one", "valley depth": -1.0},
)
BOX = Box(0.0, 10.0)
TEMPERATURE, LR = 0.1, 0.05


def _boltzmann_masses(f, temperature):
    x = np.linspace(BOX.low, BOX.high, 801)
    xx, yy = np.meshgrid(x, x, indexing="ij")
    pts = np.c_[xx.ravel(), yy.ravel()]
    w = np.exp(-(f.value(pts) - f.value(pts).min()) / temperature)
    basin = f.basin(pts)
    return [float(w[basin == k].sum() / w.sum()) for k in range(3)]


@known_refutation("refuted: the valley (depth -1, degenerate) takes almost all runs of GD and SGDL and "
                          "almost all Boltzmann mass; the point minimum near (8, 5) is ~1 shallower")
def test_constructed_function(scale, evidence):
    f = Team13Function()
    chains = scale.pick(smoke=2000, full=20000, paper=50000)
    steps = scale.pick(smoke=4000, full=20000)
    point_min = optimize.minimize(lambda p: f.value(p[None])[0], [8.0, 5.0], jac=lambda p: f.grad(p[None])[0])
    counts = {"GD": np.zeros(3, int), "SGDL": np.zeros(3, int)}
    for seed in scale.seeds:
        rng = np.random.default_rng(seed)
        x0 = rng.uniform(BOX.low, BOX.high, size=(chains, 2))
        counts["GD"] += np.bincount(f.basin(gd(f, x0, LR, steps, domain=BOX).x), minlength=3)
        counts["SGDL"] += np.bincount(f.basin(langevin(f, x0, LR, TEMPERATURE, steps, rng, domain=BOX).x), minlength=3)
    boltzmann = _boltzmann_masses(f, TEMPERATURE)
    area = _boltzmann_masses(f, 1e6)
    total = chains * len(scale.seeds)
    evidence.record(valley_depth=float(f.value(np.array([[4.0, 5.0]]))[0]), point_min_location=point_min.x,
                    point_min_depth=float(point_min.fun),
                    **{f"{k} ends in valley / point / elsewhere": (c / total).tolist() for k, c in counts.items()},
                    boltzmann_valley_point_elsewhere=boltzmann, area_valley_point_elsewhere=area)
    evidence.record(report=shown({"valley SGDL": counts['SGDL'][0] / total, "valley GD": counts['GD'][0] / total,
                                  "point SGDL": counts['SGDL'][1] / total, "point GD": counts['GD'][1] / total},
                                 f"valley: SGDL {counts['SGDL'][0] / total:.1%}, GD {counts['GD'][0] / total:.1%}; "
                                 f"point (8, 5): SGDL {counts['SGDL'][1] / total:.1%}, GD {counts['GD'][1] / total:.1%}"),
                    **{"valley depth": float(f.value(np.array([[4.0, 5.0]]))[0])})
    evidence.finding(f"The two minima differ in depth by {point_min.fun + 1:.3f} (valley -1 vs {point_min.fun:.2e} "
                     f"near {np.round(point_min.x, 3).tolist()}): function (3) cannot test the paper's equal-depth "
                     f"claim. Both dynamics and the Boltzmann distribution favour the deeper, degenerate valley.")
    xs = np.linspace(0, 10, 101)
    evidence.figure("ends", figure("Team 13's function (3): where runs end", [
        panel("f(x, 5) and f(4, y)", "coordinate", "f",
              [series("line", xs.tolist(), f.value(np.c_[xs, np.full_like(xs, 5.0)]).tolist(), "f(x, 5)"),
               series("line", xs.tolist(), f.value(np.c_[np.full_like(xs, 4.0), xs]).tolist(), "f(4, y)")]),
        panel(f"fractions (T = {TEMPERATURE})", "", "fraction",
              [series("bar", ["valley x=4", "point (8,5)", "elsewhere"], (counts["GD"] / total).tolist(), "GD",
                      width=0.27, offset=-0.27),
               series("bar", ["valley x=4", "point (8,5)", "elsewhere"], (counts["SGDL"] / total).tolist(), "SGDL",
                      width=0.27, offset=0.0),
               series("bar", ["valley x=4", "point (8,5)", "elsewhere"], boltzmann, "Boltzmann", width=0.27,
                      offset=0.27)]),
    ]))
    verdict = combine([proportion(int(c[1]), int(c[0] + c[1]), low=0.5, what=f"{k}: point share of valley+point")
                       for k, c in counts.items()])
    control = within([counts["SGDL"][0] / total] * 2, area[0] - 0.05, area[0] + 0.05,
                     what="SGDL valley fraction vs the valley's area share")
    evidence.conclude(CLAIM, verdict, seeds=scale.seeds,
                      negative_control=("SGDL spreads uniformly: the valley's share equals its area share", control))
