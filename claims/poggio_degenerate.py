"""Langevin GD prefers a degenerate minimum (flat in some directions) to an isolated one of the
same depth, more so in higher dimension.

Poggio & Liao, "Theory II: Deep learning and optimization", Sec. 7.2, Fig. 9-10.
"""
import numpy as np

from sgdcheck import Claim, Source, Tolerance, at_least, combine, shown, within
from sgdcheck.figures import figure, panel, series
from sgdcheck.landscapes import DegenerateVsIsolated
from sgdcheck.samplers import langevin

CLAIM = Claim(
    id="poggio.degenerate",
    source=Source("Poggio & Liao 2018", "Sec. 7.2, Fig. 9-10"),
    statement="Langevin GD puts more stationary mass on a degenerate minimum (a valley flat in d-1 directions) "
              "than on an isolated minimum of the same depth, and more so as d grows, as the Boltzmann "
              "distribution predicts.",
    paper={"prefers": "degenerate minimum", "trend": "stronger in higher dimension"},
    tolerance=Tolerance(atol=0.04, note="Langevin discretisation and finite-time bias"),
)
TEMPERATURE, LR = 0.2, 0.01


def test_degenerate(scale, evidence):
    dims = [1, 2, 3, 4]
    chains = scale.pick(smoke=500, full=4000, paper=10000)
    steps, burn = scale.pick(smoke=4000, full=15000), scale.pick(smoke=1500, full=5000)
    fractions, exact = {}, {}
    for d in dims:
        pot = DegenerateVsIsolated(d)
        exact[d] = float(pot.boltzmann_fractions(TEMPERATURE)[0])
        per_seed = []
        for seed in scale.seeds:
            rng = np.random.default_rng(seed)
            x0 = rng.uniform(pot.box.low, pot.box.high, size=(chains, d))
            run = langevin(pot, x0, LR, TEMPERATURE, steps, rng, record_every=20, burn_in=burn, domain=pot.box)
            per_seed.append(float((pot.basin(run.samples.reshape(-1, d)) == 0).mean()))
        fractions[d] = per_seed
    tol = CLAIM.tolerance.atol
    evidence.record(**{f"degenerate mass d={d}": float(np.mean(fractions[d])) for d in dims},
                    **{f"Boltzmann exact d={d}": exact[d] for d in dims})
    lowest = min(np.mean(fractions[d]) for d in dims[1:])
    evidence.record(prefers=shown(float(lowest), "degenerate" if lowest > 0.5 else "isolated",
                                  unit="lowest valley mass for d >= 2"),
                    trend={f"d={d}": float(np.mean(fractions[d])) for d in dims})
    evidence.figure("degenerate-mass", figure("Mass of the degenerate minimum vs dimension", [
        panel(f"T = {TEMPERATURE}, eta = {LR}, box [-2, 2]^d", "dimension d", "stationary mass of the valley",
              [series("line", dims, [np.mean(fractions[d]) for d in dims], "Langevin GD", marker="o"),
               series("line", dims, [exact[d] for d in dims], "Boltzmann (exact)", ls="--", color="k")]),
    ]))
    verdict = combine([
        *[within(fractions[d], exact[d] - tol, exact[d] + tol, what=f"d={d} valley mass") for d in dims],
        *[at_least(fractions[d], 0.5 + tol, what=f"d={d} valley mass") for d in dims[1:]],
        *[at_least(np.subtract(fractions[d + 1], fractions[d]), 0.0, what=f"increase d={d}->{d + 1}")
          for d in dims[:-1]],
    ])
    control = combine([at_least(1 - np.array(fractions[d]), 0.5, what=f"d={d} isolated mass") for d in dims[1:]])
    evidence.conclude(CLAIM, verdict, seeds=scale.seeds,
                      negative_control=("the isolated minimum holds more than half the mass", control))
