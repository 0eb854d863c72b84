"""Langevin GD prefers a degenerate minimum (flat in some directions) to an isolated one of the
same depth, more so in higher dimension.

Poggio & Liao, "Theory II: Deep learning and optimization", Sec. 7.2, Fig. 9-10.
"""
import numpy as np

from sgdcheck import Claim, Deviation, Quote, Source, Threshold, Tolerance, at_least, combine, shown, within
from sgdcheck.figures import figure, panel, series
from sgdcheck.landscapes import DegenerateVsIsolated
from sgdcheck.samplers import gd, langevin

CLAIM = Claim(
    id="poggio.degenerate",
    source=Source("Poggio & Liao 2018", "Sec. 7.2, Fig. 9-10"),
    quote=Quote("As expected from the form of the Boltzman distribution, the Langevin dynamics prefers degenerate "
                "minima to non-degenerate minima of the same depth. In high dimensions we expect the asymptotic "
                "distribution to concentrate strongly around the degenerate minima as confirmed by Fig. 10",
                "Fig. 9 caption, Sec. 7.2 (seed 001, line 263)"),
    statement="Langevin GD puts more stationary mass on a degenerate minimum (a valley flat in d-1 directions) "
              "than on an isolated minimum of the same depth, and more so as d grows, as the Boltzmann "
              "distribution predicts.",
    paper={"prefers": "degenerate minimum", "trend": "stronger in higher dimension"},
    deviations=(
        Deviation("model",
                  "the source uses a '2D potential' (Fig. 9) and a higher-dimensional one (Fig. 10, line 272), "
                  "forms not given; here U = min(|x-(0.5,0,..)|^2, (x_1+0.5)^2)/(2*0.25): an isolated minimum and a "
                  "valley x_1 = -0.5 flat in x_2..x_d",
                  "no reason given: to be revisited (the figures' potentials are not in the seed)"),
        Deviation("setup",
                  "no box in the source; here a reflecting box [-2, 2]^d, which cuts off the valley's flat "
                  "directions: the valley/isolated mass ratio grows about as (4/sqrt(2 pi T w^2))^(d-1) ~ 7^(d-1), "
                  "so the box size sets the strength of the preference",
                  "the valley's mass is infinite without a box; the half-width 2 is not argued"),
        Deviation("sizes",
                  "the source shows 2D and 'high dimensions'; here d = 1..4, and d = 1 (no flat direction, exact "
                  "mass 0.5) is part of the verdict",
                  "no reason given: to be revisited"),
        Deviation("setup",
                  "temperature, step and initial state are not given in the source; here Langevin GD at T = 0.2, "
                  "eta = 0.01, chains started uniformly in the box",
                  "no reason given: to be revisited"),
        Deviation("sizes",
                  "chains and steps not given in the source; here 500 chains x 5 seeds, 4000 steps, burn-in 1500 "
                  "(smoke) and 4000 chains x 10 seeds, 15000 steps, burn-in 5000 (full)",
                  "the CPU budget of the smoke and full scales"),
        Deviation("definition",
                  "the source shows a histogram of a one-dimensional slice; here the share of post-burn-in samples "
                  "in the valley's region (argmin of the two quadratics)",
                  "a scalar to compare with the Boltzmann mass; not stated in the module"),
        Deviation("threshold",
                  "the source's claim is qualitative; here each d's mass must also lie within ±0.04 of the exact "
                  "Boltzmann mass on the box at T = 0.2",
                  "the module's reading of 'as expected from the form of the Boltzman distribution'"),
        Deviation("scope",
                  "the 'prefers' and 'increase' parts are already met by the uniform start (the valley's share of "
                  "the box is 0.67, 0.80, 0.90 at d = 2, 3, 4), i.e. without noise; only the within-exact part "
                  "separates, and its d = 3, 4 windows include mass 1.0",
                  "the parts were written against the Boltzmann prediction only; not discussed in the module"),
    ),
    thresholds=(
        Threshold("|valley mass - exact Boltzmann mass| <= 0.04 at each d = 1..4 (within)", "tuned",
                  "the module's note names Langevin discretisation and finite-time bias but derives no value (0.04 "
                  "here, 0.03 in poggio.boltzmann-wide, no reason for the difference); confirmed on seeds 1000+ "
                  "(smoke)"),
        Threshold("valley mass >= 0.5 + 0.04 at d = 2..4 (at_least)", "argument",
                  "'prefers' read as more than half the mass, with the claim's tolerance as margin"),
        Threshold("increase of the valley mass from d to d+1 >= 0, paired per seed, d = 1..3", "source",
                  "loosely, Fig. 9 caption: 'In high dimensions we expect the asymptotic distribution to "
                  "concentrate strongly around the degenerate minima' (seed 001, line 263)"),
        Threshold("exact Boltzmann valley mass on the box at T = 0.2 (0.5, 0.879, 0.981, 0.997 for d = 1..4)",
                  "argument",
                  "eq. 9 (seed 001, line 251) by 1-D quadrature; the isolated Gaussian's tails beyond the box are "
                  "neglected, as the code documents"),
        Threshold("control: valley mass within ± 0.03 of noiseless GD's basin share at d = 2..4", "argument",
                  "the rival 'geometry alone' predicts the basin-of-attraction share; ±0.03 is the claim's own "
                  "tolerance"),
        Threshold("95% two-sided Student t interval of the mean over seeds (Bonferroni over parts when a refutation "
                  "rests on one of several parts)",
                  "argument",
                  "conventional level; each false verdict has probability <= 2.5% at the bound "
                  "(docs/error-rates.md)"),
    ),
    tolerance=Tolerance(atol=0.04, note="Langevin discretisation and finite-time bias"),
)
TEMPERATURE, LR = 0.2, 0.01


def test_degenerate(scale, evidence):
    dims = [1, 2, 3, 4]
    chains = scale.pick(smoke=500, full=4000, paper=10000)
    steps, burn = scale.pick(smoke=4000, full=15000), scale.pick(smoke=1500, full=5000)
    fractions, exact, basins = {}, {}, {}
    for d in dims:
        pot = DegenerateVsIsolated(d)
        exact[d] = float(pot.boltzmann_fractions(TEMPERATURE)[0])
        per_seed, noiseless = [], []
        for seed in scale.seeds:
            rng = np.random.default_rng(seed)
            x0 = rng.uniform(pot.box.low, pot.box.high, size=(chains, d))
            run = langevin(pot, x0, LR, TEMPERATURE, steps, rng, record_every=20, burn_in=burn, domain=pot.box)
            per_seed.append(float((pot.basin(run.samples.reshape(-1, d)) == 0).mean()))
            noiseless.append(float((pot.basin(gd(pot, x0, LR, steps, domain=pot.box).x) == 0).mean()))
        fractions[d], basins[d] = per_seed, float(np.mean(noiseless))
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
    # The rival: the preference is geometry alone, not Boltzmann weight: noiseless GD from the same uniform start
    # ends in the valley as often as its basin of attraction is large (0.67 to 0.90 for d = 2..4), which already
    # passes 'prefers' and 'grows with d'; only the stationary masses tell the two apart.
    evidence.detail(gd_basin_share=basins)
    control = combine([within(fractions[d], basins[d] - tol, basins[d] + tol, what=f"d={d} valley mass vs GD's basin")
                       for d in dims[1:]])
    evidence.conclude(CLAIM, verdict, seeds=scale.seeds,
                      negative_control=("geometry alone: the valley's mass is its basin-of-attraction share, where "
                                        "noiseless GD from the same start ends", control))
