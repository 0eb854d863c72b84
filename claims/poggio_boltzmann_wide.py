"""Langevin GD prefers the wider of two equally deep minima, more so in higher dimension, as the
Boltzmann distribution predicts.

Poggio & Liao, "Theory II: Deep learning and optimization", Sec. 7.2, Fig. 8.
"""
import numpy as np

from sgdcheck import Claim, Deviation, Quote, Source, Threshold, Tolerance, at_least, combine, shown, within
from sgdcheck.figures import figure, panel, series
from sgdcheck.landscapes import TwoBasin
from sgdcheck.samplers import langevin

CLAIM = Claim(
    id="poggio.boltzmann-wide",
    source=Source("Poggio & Liao 2018", "Sec. 7.2, Fig. 8"),
    quote=Quote("The figures show – as expected from the Boltzman distribution – that noisy gradient descent "
                "selects with high probability larger volume minimizers among minima of the same depth. As "
                "expected, higher dimensionality implies higher probability of selecting the flatter minimum",
                "Fig. 8 caption, Sec. 7.2 (seed 001, line 258)"),
    statement="Langevin GD on a potential with two minima of equal depth, one wider by 2x in every dimension, "
              "puts more stationary mass in the wide basin as d grows (1..5), matching the Boltzmann distribution "
              "(about 2^d/(1 + 2^d) at low temperature).",
    paper={f"wide mass d={d}": f"{2**d / (1 + 2**d):.3f} (derived: 2^d/(1+2^d), the low-T limit of Fig. 8's factor 2 per "
                                 f"dimension)" for d in range(1, 6)},
    deviations=(
        Deviation("model",
                  "the source's potential has 'two minima with the same depth', one 'wider (by a factor 2 in each "
                  "dimension)', form not given; here U = min(|x-c_w|^2/2, |x-c_n|^2/(2*0.25)) with centres -1 and "
                  "+1 on axis 1 (separation 2, overriding TwoBasin's default 3)",
                  "no reason given: to be revisited (the figure's potential is not in the seed)"),
        Deviation("setup",
                  "temperature and step are not given in the source; here Euler-Maruyama Langevin GD at T = 0.5, "
                  "eta = 0.01",
                  "no reason given: to be revisited"),
        Deviation("setup",
                  "the initial state is not given in the source; here chains start half at each centre plus N(0, "
                  "0.1^2) noise per coordinate",
                  "no reason given: to be revisited"),
        Deviation("definition",
                  "the source shows a histogram of the first weight coordinate; here the share of post-burn-in "
                  "samples (every 20th step) in the wide quadratic's region (argmin of the two quadratics)",
                  "a scalar to compare with the Boltzmann mass; not stated in the module"),
        Deviation("sizes",
                  "d = 1..5 as in the source; chains and steps are not given there; here 500 chains x 5 seeds, 3000 "
                  "steps, burn-in 1000 (smoke) and 4000 chains x 10 seeds, 10000 steps, burn-in 3000 (full)",
                  "the CPU budget of the smoke and full scales"),
        Deviation("threshold",
                  "the source's claim is qualitative (mass grows with d); here each d's mass must also lie within "
                  "±0.03 of the exact Boltzmann mass at T = 0.5, which the source implies only through eq. 9",
                  "the module's reading of 'as expected from the Boltzman distribution'"),
        Deviation("scope",
                  "the exact masses (0.667-0.973) lie within 0.005 of 2^d/(1+2^d), so the test cannot tell the "
                  "exact law from its low-T limit; and the ±0.03 window at d = 5 ([0.943, 1.003]) admits a sampler "
                  "that never visits the narrow basin",
                  "the absolute tolerance on masses near 1; not discussed in the module"),
    ),
    thresholds=(
        Threshold("|wide mass - exact Boltzmann mass| <= 0.03 at each d = 1..5 (within)", "tuned",
                  "the module's note names Langevin discretisation and finite-time bias but derives no value; the "
                  "Euler bias at eta k <= 0.04 moves the mass by <= 0.003, so 0.03 is about 10x looser; confirmed "
                  "on seeds 1000+ (smoke)"),
        Threshold("increase of the wide mass from d to d+1 >= 0, paired per seed (at_least), d = 1..4", "source",
                  "Fig. 8 caption: 'higher dimensionality implies higher probability of selecting the flatter "
                  "minimum' (seed 001, line 258)"),
        Threshold("exact Boltzmann wide mass at T = 0.5: 0.667, 0.804, 0.894, 0.946, 0.973 for d = 1..5", "argument",
                  "eq. 9 (seed 001, line 251) on this potential: each basin's mass is a noncentral chi-square tail, "
                  "in closed form"),
        Threshold("control: wide mass within ± 0.03 of the Boltzmann mass for a width ratio of 1.5 at every d",
                  "argument",
                  "the source's key number ('a factor 2 in each dimension') moved a little; ±0.03 is the claim's "
                  "own tolerance, so the control asks whether the test resolves the factor"),
        Threshold("95% two-sided Student t interval of the mean over seeds (Bonferroni over parts when a refutation "
                  "rests on one of several parts)",
                  "argument",
                  "conventional level; each false verdict has probability <= 2.5% at the bound "
                  "(docs/error-rates.md)"),
    ),
    tolerance=Tolerance(atol=0.03, note="Langevin discretisation and finite-time bias"),
)
TEMPERATURE, LR, SEPARATION = 0.5, 0.01, 2.0
RIVAL_RATIO = 1.5


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
    # The claim's key number moved a little: a basin wider by 1.5 (not 2) in every direction has Boltzmann masses
    # 0.07 to 0.12 below these; the test must tell the two apart.
    rival = {d: float(TwoBasin(d, ratio=RIVAL_RATIO, separation=SEPARATION).boltzmann_fractions(TEMPERATURE)[0])
             for d in dims}
    evidence.detail(rival_ratio=RIVAL_RATIO, rival_boltzmann=rival)
    control = combine([within(fractions[d], rival[d] - tol, rival[d] + tol, what=f"d={d} wide mass, ratio 1.5")
                       for d in dims])
    evidence.conclude(CLAIM, verdict, seeds=scale.seeds,
                      negative_control=("the wide basin is 1.5 times wider per dimension, not 2: its Boltzmann masses",
                                        control))
