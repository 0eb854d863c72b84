"""The SGD stationary spread depends on alpha/l: doubling batch and learning rate together leaves it
unchanged, doubling one alone changes it.

Chaudhari, lecture notes "Stochastic gradient descent, Entropy-SGD" (2019), Remark 16
(temperature beta^-1 = alpha/(2l)).
"""
import numpy as np

from sgdcheck import Claim, Deviation, Quote, Source, Threshold, Tolerance, at_least, combine, within
from sgdcheck.figures import figure, panel, series
from sgdcheck.landscapes import DoubleWell, NoisyFiniteSum
from sgdcheck.linear import LeastSquares
from sgdcheck.samplers import sgd

CLAIM = Claim(
    id="chaudhari.temperature",
    source=Source("Chaudhari 2019 lecture notes", "Remark 16"),
    quote=Quote("if we want the Gibbs distribution to remain the same we should ensure that $$\\beta^{-1} = "
                "\\frac{\\alpha}{2\\ell} \\text{ is a constant.}$$ If you increased the batch-size by two times, "
                "you should also double the learning rate if you desire that the solutions of SGD are qualitatively "
                "similar.",
                "Remark 16, third item (seed 002, lines 277-281); line 276 writes the temperature as alpha/l"),
    statement="The stationary distribution of SGD depends on alpha and the batch size l through alpha/l: "
              "(2 alpha, 2 l) gives the same spread as (alpha, l); (2 alpha, l) changes it (on a quadratic it "
              "doubles the variance).",
    paper={"spread(2a, 2l)/spread(a, l)": "1 (derived: the Gibbs law depends on alpha/(2l), Remark 16)", "spread(2a, l)/spread(a, l)": "!= 1 "
                                                                                                         "(derived; "
                                                                                                         "2 on a "
                                                                                                         "quadratic "
                                                                                                         "is this "
                                                                                                         "module's "
                                                                                                         "computation)"},
    deviations=(
        Deviation("model",
                  "the alpha/l temperature is derived under Assumption 14 (noise covariance independent of x, "
                  "identity; 'quite brutal', line 228); both instances meet it by construction: f_i = (x - b_i)^2/2 "
                  "and U + xi_i x have noise independent of x; none has SGD's state-dependent noise",
                  "no reason given: to be revisited"),
        Deviation("definition",
                  "the notes say the Gibbs distribution ('the solutions of SGD') stays the same; the test compares "
                  "one scalar, the stationary excess loss E f - min f, so two laws with equal mean excess loss "
                  "would pass",
                  "the module's notes define the spread so; no reason given"),
        Deviation("data",
                  "the notes state it for any f; the test uses a 1-D quadratic (least squares with a_i = 1, n = "
                  "100, b ~ N(0, 1), seed 3) and a symmetric 1-D double well with shift noise (NoisyFiniteSum, n = "
                  "100, noise_scale 7.7, seed 3)",
                  "no reason given: to be revisited"),
        Deviation("sizes",
                  "settings (alpha, l) = (0.02, 2), (0.04, 4), (0.04, 2); 2000 (smoke) / 10,000 (full) chains, 3000 "
                  "/ 10,000 steps, burn-in 1000, a sample every 25 steps",
                  "no reason given for the settings; the chain and step counts are the CPU budget of the scales"),
        Deviation("definition",
                  "the notes' rule is exact for the continuous model; the discrete chain departs at O(alpha): the "
                  "double well's same-alpha/l ratio is 1.085 (smoke and full), a resolved departure from 1 that "
                  "passes only through the 10% band",
                  "the module's notes: ratios are 1 and 2 'up to O(alpha)'"),
    ),
    thresholds=(
        Threshold("spread(2a, 2l)/spread(a, l) within 1 +- 0.1 on both instances (Tolerance rtol 0.1)", "tuned",
                  "no stated origin; it clears the double well's measured 1.085 by 1.5% (looks chosen after a run); "
                  "confirmed on seeds 1000+ (smoke), combined margin 0.011"),
        Threshold("quadratic: spread(2a, l)/spread(a, l) within 2 +- 10% ([1.8, 2.2])", "argument",
                  "the exact quadratic value alpha v/(2 l (2 - alpha)) gives 2.02 (module's derivation, not the "
                  "notes'); the claim's rtol reused"),
        Threshold("double well: spread(2a, l)/spread(a, l) >= 1.1", "argument",
                  "'changes it' read as at least the tolerance above 1; no stated origin for the level"),
        Threshold("noise_scale 7.7 (T about 0.30 at (0.02, 2)) and instance seed 3", "tuned",
                  "no stated origin (taken as chosen after a first run); the instances are fixed, the sampling "
                  "seeds vary; confirmed on seeds 1000+ (smoke)"),
        Threshold("burn-in 1000 steps, a sample every 25 steps", "argument",
                  "no stated origin; 1000 steps are >= 20 relaxation times within a well (1/alpha = 50 steps on the "
                  "quadratic at alpha = 0.02), and the symmetric well's excess loss is the same in either well"),
        Threshold("control: spread(2a, 2l)/spread(a, l) within sqrt(2) x (1 +- 0.1) on both instances", "argument",
                  "the rival temperature alpha/sqrt(l) with the claim's own tolerance"),
    ),
    notes="Spread = stationary excess loss E f(x) - min f. On the quadratic it is half the variance, exactly "
          "alpha v/(2 l (2 - alpha)), so the ratios are 1 and 2 up to O(alpha). In the double well it is not linear in "
          "the temperature, so there the check is only that doubling alpha alone changes it.",
    tolerance=Tolerance(rtol=0.1, note="on the ratios of stationary excess losses"),
)
SETTINGS = [(0.02, 2), (0.04, 4), (0.04, 2)]


def _spread(problem, lr, batch, scale, seed):
    chains = scale.pick(smoke=2000, full=10000, paper=20000)
    rng = np.random.default_rng(seed)
    start = np.broadcast_to(problem.start, (chains, 1))
    run = sgd(problem, start, lr, batch, scale.pick(smoke=3000, full=10000), rng, replacement=True,
              record_every=25, burn_in=1000)
    return float(problem.value(run.samples.reshape(-1, 1)).mean() - problem.floor)


def test_temperature(scale, evidence):
    rng = np.random.default_rng(3)
    quadratic = LeastSquares(np.ones((100, 1)), rng.normal(size=100))
    quadratic.start, quadratic.floor = quadratic.minimizer(), quadratic.optimum()
    well = NoisyFiniteSum(DoubleWell(1, tilt=0.0), 100, noise_scale=7.7, seed=3)
    well.start, well.floor = np.array([1.0]), 0.0
    ratios, exact = {}, {}
    v = float(quadratic.b.var())
    for name, problem in (("quadratic", quadratic), ("double well", well)):
        per_seed = np.array([[_spread(problem, lr, b, scale, seed) for lr, b in SETTINGS] for seed in scale.seeds])
        ratios[name] = {"same alpha/l": per_seed[:, 1] / per_seed[:, 0], "double alpha": per_seed[:, 2] / per_seed[:, 0]}
        if name == "quadratic":
            exact = {f"spread({lr}, {b}) exact": lr * v / (2 * b * (2 - lr)) for lr, b in SETTINGS}
            evidence.record(**{f"spread({lr}, {b}) measured": float(per_seed[:, i].mean())
                               for i, (lr, b) in enumerate(SETTINGS)}, **exact)
    evidence.record(**{f"{k}: {r}": float(np.mean(x)) for k, d in ratios.items() for r, x in d.items()})
    short = {"same alpha/l": "(2a, 2l)", "double alpha": "(2a, l)"}
    evidence.record(**{
        "spread(2a, 2l)/spread(a, l)": {k: float(np.mean(r['same alpha/l'])) for k, r in ratios.items()},
        "spread(2a, l)/spread(a, l)": {k: float(np.mean(r['double alpha'])) for k, r in ratios.items()}})
    labels = [f"{k}\n{short[r]}" for k in ratios for r in ratios[k]]
    evidence.figure("ratios", figure("Ratios of the stationary excess loss", [
        panel("(2a, 2l) vs (a, l) and (2a, l) vs (a, l)", "", "ratio of E f - min f",
              [series("bar", labels, [float(np.mean(ratios[k][r])) for k in ratios for r in ratios[k]], "measured")],
              hlines=[(1.0, "1"), (2.0, "2")]),
    ]))
    tol = CLAIM.tolerance.rtol
    verdict = combine([*[within(ratios[k]["same alpha/l"], 1 - tol, 1 + tol, what=f"{k}: spread(2a,2l)/spread(a,l)")
                         for k in ratios],
                       within(ratios["quadratic"]["double alpha"], 2 * (1 - tol), 2 * (1 + tol),
                              what="quadratic: spread(2a,l)/spread(a,l)"),
                       at_least(ratios["double well"]["double alpha"], 1 + tol, what="double well: spread(2a,l)/spread(a,l)")])
    # The key number moved a little: a temperature alpha/sqrt(l) (the noise's standard deviation, not its
    # variance, scaling with the batch) predicts spread(2a, 2l)/spread(a, l) = sqrt(2).
    control = combine([within(ratios[k]["same alpha/l"], np.sqrt(2) * (1 - tol), np.sqrt(2) * (1 + tol),
                              what=f"{k}: spread(2a,2l)/spread(a,l) against sqrt(2)") for k in ratios])
    evidence.conclude(CLAIM, verdict, seeds=scale.seeds,
                      negative_control=("a temperature alpha/sqrt(l): doubling alpha and l together multiplies the "
                                        "spread by sqrt(2)", control))
