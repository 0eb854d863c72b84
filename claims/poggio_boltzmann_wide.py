"""Langevin GD prefers the wider of two equally deep minima, more so in higher dimension, as the
Boltzmann distribution predicts.

Poggio & Liao, "Theory II: Deep learning and optimization", Sec. 7.2, Fig. 8.
"""
import numpy as np

from sgdcheck import Claim, Source, Tolerance, at_least, combine, shown, within
from sgdcheck.figures import figure, panel, series
from sgdcheck.landscapes import TwoBasin
from sgdcheck.samplers import langevin

CLAIM = Claim(
    id="poggio.boltzmann-wide",
    source=Source("Poggio & Liao 2018", "Sec. 7.2, Fig. 8"),
    statement="Langevin GD on a potential with two minima of equal depth, one wider by 2x in every dimension, "
              "puts more stationary mass in the wide basin as d grows (1..5), matching the Boltzmann distribution "
              "(about 2^d/(1 + 2^d) at low temperature).",
    paper={f"wide mass d={d}": f"{2**d / (1 + 2**d):.3f} (2^d/(1+2^d), low-T limit)" for d in range(1, 6)},
    tolerance=Tolerance(atol=0.03, note="Langevin discretisation and finite-time bias"),
)
TEMPERATURE, LR, SEPARATION = 0.5, 0.01, 2.0


def test_boltzmann_wide(scale, evidence):
    dims = [1, 2, 3, 4, 5]
    chains = scale.pick(smoke=500, full=4000, paper=10000)
    steps, burn = scale.pick(smoke=3000, full=10000), scale.pick(smoke=1000, full=3000)
    fractions, exact = {}, {}
    for d in dims:
        pot = TwoBasin(d, ratio=2.0, separation=SEPARATION)
        exact[d] = float(pot.boltzmann_fractions(TEMPERATURE)[0])
        per_seed = []
        for seed in scale.seeds:
            rng = np.random.default_rng(seed)
            x0 = pot.centres[rng.integers(0, 2, chains)] + 0.1 * rng.standard_normal((chains, d))
            run = langevin(pot, x0, LR, TEMPERATURE, steps, rng, record_every=20, burn_in=burn)
            per_seed.append(float((pot.basin(run.samples.reshape(-1, d)) == 0).mean()))
        fractions[d] = per_seed
    tol = CLAIM.tolerance.atol
    evidence.record(**{f"wide mass d={d}": float(np.mean(fractions[d])) for d in dims},
                    **{f"Boltzmann exact d={d}": exact[d] for d in dims})
    evidence.record(**{f"wide mass d={d}": shown(float(np.mean(fractions[d])),
                                                 f"{np.mean(fractions[d]):.3f} (Boltzmann exact {exact[d]:.3f})")
                       for d in dims})
    evidence.figure("wide-mass", figure("Mass of the wide basin vs dimension", [
        panel(f"T = {TEMPERATURE}, eta = {LR}", "dimension d", "stationary mass of the wide basin",
              [series("line", dims, [np.mean(fractions[d]) for d in dims], "Langevin GD", marker="o"),
               series("line", dims, [exact[d] for d in dims], "Boltzmann (exact)", ls="--", color="k"),
               series("line", dims, [2**d / (1 + 2**d) for d in dims], "2^d/(1+2^d)", ls=":")]),
    ]))
    verdict = combine([
        *[within(fractions[d], exact[d] - tol, exact[d] + tol, what=f"d={d} wide mass") for d in dims],
        *[at_least(np.subtract(fractions[d + 1], fractions[d]), 0.0, what=f"increase d={d}->{d + 1}")
          for d in dims[:-1]],
    ])
    control = combine([within(fractions[d], 0.5 - tol, 0.5 + tol, what=f"d={d} wide mass") for d in dims])
    evidence.conclude(CLAIM, verdict, seeds=scale.seeds,
                      negative_control=("volume does not matter: each basin holds half the mass", control))
