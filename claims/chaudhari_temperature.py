"""The SGD stationary spread depends on alpha/l: doubling batch and learning rate together leaves it
unchanged, doubling one alone changes it.

Chaudhari, lecture notes "Stochastic gradient descent, Entropy-SGD" (2019), Remark 16
(temperature beta^-1 = alpha/(2l)). Two cases: the noise the notes assume (Assumption 14: covariance
independent of x), and SGD's own noise on a finite sum of quadratics whose curvatures differ, where the
noise grows with the distance from the minimum (Wu, Ma & E 2018), with its exact stationary law.
"""
import numpy as np
import pytest

from sgdcheck import Claim, Deviation, Quote, Source, Threshold, Tolerance, at_least, combine, within
from sgdcheck.figures import figure, panel, series
from sgdcheck.finite_sums import QuadraticSum
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
              "doubles the variance). Case 'additive': noise of constant covariance (the notes' Assumption 14). "
              "Case 'state-dependent': SGD's own noise on a sum of quadratics whose curvatures differ; the "
              "report adds, from the exact stationary law, how far in alpha the rule holds there and on the "
              "same sum without its state-dependent part, and what happens at an interpolating minimum.",
    paper={"spread(2a, 2l)/spread(a, l)": "1 (derived: the Gibbs law depends on alpha/(2l), Remark 16)",
           "spread(2a, l)/spread(a, l)": "!= 1 (derived; 2 on a quadratic is this module's computation)"},
    deviations=(
        Deviation("model",
                  "the alpha/l temperature is derived under Assumption 14 (noise covariance independent of x, "
                  "identity; 'quite brutal', line 228); case 'additive' meets it by construction: f_i = (x - b_i)^2/2 "
                  "and U + xi_i x have noise independent of x",
                  "the setting the notes assume; case 'state-dependent' drops it"),
        Deviation("data",
                  "case 'state-dependent': not in the notes. A finite sum (sgdcheck.finite_sums.QuadraticSum, seed 3) of n = "
                  "100 quadratics in d = 2, f_i = (x - c_i)^T H_i (x - c_i)/2 with H_i = diag of two exponential(1) "
                  "curvatures (a = 1.22, s = 1.02) and c_i ~ N(0, I): a batch's noise is (H_b - H)(x - x*) + g_b, "
                  "growing with the distance from the minimum. Its additive twin (every H_i replaced by H, the same "
                  "g_i: the same noise at the minimum, none of the state-dependent part) and its interpolating "
                  "version (every c_i = 0) are computed exactly beside it",
                  "the smallest sum whose noise depends on the state and still has a stationary spread; the exact "
                  "stationary second moment (sgdcheck.finite_sums) separates the discrete step's O(alpha) departure, "
                  "which the twin shares, from the state-dependent part"),
        Deviation("scope",
                  "case 'state-dependent': at the claim's settings the state-dependent part barely moves the ratio "
                  "(exact 1.01147 against the twin's 1.01142 at alpha = 0.02), so its verdict would be the same with "
                  "additive noise; where the two differ (alpha >= 0.2; 1.87 against 1.65 at 0.5) both are outside "
                  "the rule's band already, by the discrete step's departure: reported, not judged",
                  "the notes' rule is for small steps; the exact sweep shows that the state dependence of SGD's "
                  "noise is not what breaks it there"),
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
        Threshold("case 'state-dependent': the claim's settings and rules (the quadratic's), simulated with "
                  "replacement like case 'additive'; the exact ratios reported for alpha from 0.02 up to the "
                  "mean-square edge", "argument",
                  "the same test on the other kind of noise; the sweep shows where the rule's 10% band is left, "
                  "not judged"),
    ),
    notes="Spread = stationary excess loss E f(x) - min f. On the quadratic it is half the variance, exactly "
          "alpha v/(2 l (2 - alpha)), so the ratios are 1 and 2 up to O(alpha). In the double well it is not linear in "
          "the temperature, so there the check is only that doubling alpha alone changes it.",
    tolerance=Tolerance(rtol=0.1, note="on the ratios of stationary excess losses"),
)
SETTINGS = [(0.02, 2), (0.04, 4), (0.04, 2)]


def _spread(problem, lr, batch, scale, seed, chains=None):
    chains = chains or scale.pick(smoke=2000, full=10000, paper=20000)
    rng = np.random.default_rng(seed)
    dim = np.size(problem.start)
    start = np.broadcast_to(np.reshape(problem.start, -1), (chains, dim))
    run = sgd(problem, start, lr, batch, scale.pick(smoke=3000, full=10000), rng, replacement=True,
              record_every=25, burn_in=1000)
    return float(problem.value(run.samples.reshape(-1, dim)).mean() - problem.floor)


STATE_SEED, STATE_N = 3, 100
SWEEP = tuple(round(0.01 * k, 2) for k in range(2, 81))     # alpha of the exact (alpha, 2) vs (2 alpha, 4)


def _state_dependent_sum() -> QuadraticSum:
    rng = np.random.default_rng(STATE_SEED)
    hessians = np.zeros((STATE_N, 2, 2))
    hessians[:, 0, 0], hessians[:, 1, 1] = rng.exponential(1.0, size=(2, STATE_N))
    problem = QuadraticSum(hessians, rng.normal(size=(STATE_N, 2)))
    problem.start, problem.floor = problem.minimum, float(problem.value(problem.minimum[None])[0])
    return problem


def _exact_ratios(problem: QuadraticSum) -> dict:
    """alpha -> spread(2 alpha, 4)/spread(alpha, 2) from the exact stationary law (None past the mean-square edge)."""
    ratios = {}
    for lr in SWEEP:
        if max(problem.mean_square_rate(lr, 2, "replacement"), problem.mean_square_rate(2 * lr, 4, "replacement")) >= 1:
            ratios[lr] = None
            continue
        ratios[lr] = (problem.stationary_excess_loss(2 * lr, 4, "replacement")
                      / problem.stationary_excess_loss(lr, 2, "replacement"))
    return ratios


def _band_left(ratios: dict, tol: float):
    """The smallest alpha of the sweep whose ratio leaves 1 +- tol (or the edge), or None."""
    return next((lr for lr, r in ratios.items() if r is None or abs(r - 1) > tol), None)


def _state_dependent(scale, evidence):
    problem = _state_dependent_sum()
    twin = problem.additive_twin()
    a, s = problem.sharpness_nonuniformity()
    chains = scale.pick(smoke=500, full=10000, paper=20000)    # the CI budget (margin +5.6 hw on seeds 0-4)
    per_seed = np.array([[_spread(problem, lr, b, scale, seed, chains) for lr, b in SETTINGS] for seed in scale.seeds])
    same, double = per_seed[:, 1] / per_seed[:, 0], per_seed[:, 2] / per_seed[:, 0]
    exact = {f"spread({lr}, {b}) exact": problem.stationary_excess_loss(lr, b, "replacement") for lr, b in SETTINGS}
    evidence.record(**{f"spread({lr}, {b}) measured": float(per_seed[:, i].mean())
                       for i, (lr, b) in enumerate(SETTINGS)},
                    **exact, sharpness=a, non_uniformity=s)
    evidence.record(**{"spread(2a, 2l)/spread(a, l)": {"state-dependent sum": float(np.mean(same))},
                       "spread(2a, l)/spread(a, l)": {"state-dependent sum": float(np.mean(double))}})
    sweep = {"state-dependent": _exact_ratios(problem), "additive twin": _exact_ratios(twin)}
    tol = CLAIM.tolerance.rtol
    left = {k: _band_left(v, tol) for k, v in sweep.items()}
    edge = {k: next((lr for lr, r in v.items() if r is None), None) for k, v in sweep.items()}
    interpolating = QuadraticSum(problem.hessians)
    evidence.record(**{f"alpha where the exact ratio leaves 1 +- {tol:g}, {k}": v for k, v in left.items()},
                    **{f"exact ratio at alpha = 0.5, {k}": v[0.5] for k, v in sweep.items()},
                    **{f"alpha past the mean-square edge, {k}": v for k, v in edge.items() if v is not None},
                    exact_spread_at_an_interpolating_minimum=float(
                        interpolating.stationary_excess_loss(SETTINGS[0][0], SETTINGS[0][1], "replacement")))
    evidence.detail(exact_ratio_sweep={k: {str(lr): r for lr, r in v.items()} for k, v in sweep.items()})
    evidence.finding(
        f"With the noise depending on the state, the alpha/l rule holds at the notes' small steps (exact ratio "
        f"{sweep['state-dependent'][0.02]:.3f} at alpha = 0.02) and leaves its 10% band from alpha = "
        f"{left['state-dependent']} on; the same sum with additive noise only (its twin) leaves it from alpha = "
        f"{left['additive twin']}: most of the departure is the discrete step's, which both share; the "
        f"state-dependent part adds to it (at alpha = 0.5: {sweep['state-dependent'][0.5]:.2f} against "
        f"{sweep['additive twin'][0.5]:.2f}) and brings the mean-square edge closer (the sweep's first unstable "
        f"alpha: {edge['state-dependent']} against {edge['additive twin'] or f'none up to {SWEEP[-1]}'}). At an "
        f"interpolating minimum (every c_i "
        f"= 0) the stationary spread is 0 for every stable (alpha, l): SGD converges and no temperature alpha/l "
        f"describes it.")
    points = [lr for lr in SWEEP if sweep["state-dependent"][lr] is not None]
    twin_points = [lr for lr in SWEEP if sweep["additive twin"][lr] is not None]
    evidence.figure("state-dependent", figure("spread(2 alpha, 4)/spread(alpha, 2), exact", [
        panel("the alpha/l rule along alpha", "alpha", "ratio of stationary excess losses",
              [series("line", points, [sweep["state-dependent"][lr] for lr in points], "state-dependent noise"),
               series("line", twin_points, [sweep["additive twin"][lr] for lr in twin_points], "additive twin")],
              hlines=[(1 + tol, "1 + tol"), (1 - tol, "1 - tol")], yscale="log"),
    ]))
    verdict = combine([within(same, 1 - tol, 1 + tol, what="state-dependent sum: spread(2a,2l)/spread(a,l)"),
                       within(double, 2 * (1 - tol), 2 * (1 + tol),
                              what="state-dependent sum: spread(2a,l)/spread(a,l)")])
    control = within(same, np.sqrt(2) * (1 - tol), np.sqrt(2) * (1 + tol),
                     what="state-dependent sum: spread(2a,2l)/spread(a,l) against sqrt(2)")
    evidence.conclude(CLAIM, verdict, seeds=scale.seeds, case="state-dependent",
                      negative_control=("a temperature alpha/sqrt(l): doubling alpha and l together multiplies the "
                                        "spread by sqrt(2)", control))


@pytest.mark.parametrize("noise", ["additive", "state-dependent"])
def test_temperature(noise, scale, evidence):
    if noise == "state-dependent":
        _state_dependent(scale, evidence)
        return
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
    evidence.conclude(CLAIM, verdict, seeds=scale.seeds, case="additive",
                      negative_control=("a temperature alpha/sqrt(l): doubling alpha and l together multiplies the "
                                        "spread by sqrt(2)", control))
