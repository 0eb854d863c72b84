"""A decaying step alpha_t = alpha_0/(t + t_0), alpha_0 > 1/m, gives E f(x_t) - f* = O(1/t).

Chaudhari, lecture notes "Stochastic gradient descent, Entropy-SGD" (2019), Theorem 8
(after Bottou, Curtis & Nocedal 2018, Thm 4.7).
"""
import numpy as np

from sgdcheck import (Claim, Deviation, Quote, Source, Threshold, Tolerance, at_most, combine, precondition, shown, within)
from sgdcheck.convergence import mean_gaps, strongly_convex_instance
from sgdcheck.figures import figure, panel, series
from sgdcheck.stats import fit_loglog_slope

CLAIM = Claim(
    id="chaudhari.decaying-step",
    source=Source("Chaudhari 2019 lecture notes", "Theorem 8"),
    quote=Quote("If we pick a step-size schedule $$\\alpha_t = \\frac{\\alpha_0}{(t + t_0)} \\quad \\text{where} "
                "\\quad \\alpha_0 > 1/m, \\quad t_0 \\text{ is such that } \\alpha_1 < \\frac{1}{L\\sigma} < "
                "\\frac{1}{L}.$$ then the expected optimality gap satisfies $$\\mathbb{E}_{\\omega_1, \\dots, "
                "\\omega_t} \\left[ f(x^{(t+1)}) - f(x^*) \\right] \\leq \\mathcal{O} \\left( \\frac{1}{t + t_0} "
                "\\right).$$",
                "Theorem 8 (seed 002, lines 152-158; italic markers dropped); 'converge only at a sub-linear rate' "
                "at line 160"),
    statement="SGD with alpha_t = alpha_0/(t + t_0), alpha_0 > 1/m and alpha_1 < 1/(L sigma), has "
              "E f(x_t) - f* = O(1/(t + t_0)).",
    paper={"bound": "O(1/(t + t_0)) (Theorem 8); the explicit nu/(t + t_0) is Bottou, Curtis & Nocedal's Thm 4.7",
           "asymptotic log-log slope": "-1 (derived from Theorem 8's O(1/t))"},
    deviations=(
        Deviation("definition",
                  "the notes give an upper bound O(1/(t + t_0)), which a faster decay also meets; the test requires "
                  "the fitted log-log slope from x* to be -1 +- 0.2, i.e. a Theta(1/t) rate",
                  "the module's notes: 1/t is the noise-driven asymptote; loosely line 160's 'only at a sub-linear "
                  "rate'"),
        Deviation("setup",
                  "the notes bound the gap from any x^0; the slope is measured from x_0 = x* only (from x* + 3 the "
                  "curve falls faster, slope about -2 to -2.6 over the window); the bound is checked from x* + 3",
                  "the module's notes: the transient decays faster than 1/t"),
        Deviation("definition",
                  "the notes give no constant; the test uses Bottou, Curtis & Nocedal 2018 Thm 4.7's nu = "
                  "max(alpha_0^2 L sigma_0/(2(alpha_0 m - 1)), (t_0 + 1) gap_0), not in the seed, as nu/(t + t_0) "
                  "after t steps (Bottou: nu/(t + t_0 + 1), one step tighter)",
                  "the notes refer to Bottou et al. (2018) Thm 4.7 for the proof (line 160); the offset is "
                  "negligible"),
        Deviation("data",
                  "the notes state it for any L-smooth, m-strongly convex finite sum; the test uses the single "
                  "least-squares instance of chaudhari.sgd-rate (seed 7, n = 50, d = 5, kappa = 15.5, sigma factor "
                  "2)",
                  "no reason given: to be revisited"),
        Deviation("setup",
                  "the notes allow any alpha_0 > 1/m and t_0 meeting alpha_1 < 1/(L sigma); the test uses alpha_0 = "
                  "2/m and t_0 = ceil(alpha_0 L sigma) + 1 = 1830, horizon 30 t_0 = 54,900 steps",
                  "no reason given for the factor 2, the +1 or the horizon"),
        Deviation("sampling",
                  "the notes pick the datum 'randomly' (line 40); the test samples i.i.d. with replacement",
                  "with replacement meets the theorem's assumptions exactly (mean_gaps)"),
        Deviation("statistics",
                  "the notes bound the exact expectation; the test averages 200 (smoke) / 5000 (full) chains per "
                  "seed, checks the bound at ~60 checkpoints and the slope over all ~60 (t + t_0 from ~1.5 t_0 to "
                  "31 t_0) with 95% Student t intervals over seeds",
                  "a Monte Carlo estimate of the expectation"),
    ),
    thresholds=(
        Threshold("alpha_0 > 1/m and alpha_1 < 1/(L sigma)", "source", "Theorem 8's conditions (seed 002, line 154)"),
        Threshold("alpha_0 = 2/m and t_0 = ceil(alpha_0 L sigma) + 1 = 1830", "argument",
                  "no stated origin; values that meet line 154's conditions with a margin (factor 2 on 1/m, one "
                  "extra step on t_0)"),
        Threshold("mean gap from x* + 3 <= nu/(t + t_0) at every checkpoint (nu = 4.49e4)", "argument",
                  "Bottou, Curtis & Nocedal 2018 Thm 4.7's constants, not the notes'; nu is set by (t_0 + 1) gap_0 "
                  "and is more than 58x the measured asymptotic (t + t_0) gap (about 2.24), so this part cannot "
                  "fail"),
        Threshold("fitted slope from x* within -1 +- 0.2 (Tolerance atol 0.2)", "tuned",
                  "no stated origin (measured -1.001); it also accepts alpha_0 m = 0.25 (slope -0.87) and 0.5 "
                  "(-0.96), which violate alpha_0 > 1/m (review's check); confirmed on seeds 1000+ (smoke)"),
        Threshold("steps = 30 t_0", "argument",
                  "no stated origin; t + t_0 spans about 1.5 decades (t_0 to 31 t_0) for the slope fit"),
        Threshold("control: fitted slope from x* within -1/2 +- 0.2 (gap falls like 1/sqrt(t))", "argument",
                  "the rival rate of SGD on a convex risk without strong convexity, O(1/sqrt(t)) with steps "
                  "~ 1/sqrt(t) (Nemirovski et al. 2009; Bottou, Curtis & Nocedal 2018, Sec. 4), which a reader "
                  "who doubts that alpha_0 > 1/m buys the faster rate would predict; the claim's tolerance"),
    ),
    tolerance=Tolerance(atol=0.2, note="on the slope fitted from a transient-free start (x_0 = x*)"),
    notes="From a distant start the transient decays faster than 1/t (slope about -2 over the first decades); "
          "the 1/t rate is the noise-driven asymptote, so the slope is measured from x_0 = x*, and the bound "
          "with explicit constants (Bottou, Curtis & Nocedal 2018, Thm 4.7) is checked from x_0 = x* + 3.",
)


def test_decaying_step(scale, evidence):
    chains = scale.pick(smoke=200, full=5000, paper=20000)
    problem, big_l, m, sigma0, sigma = strongly_convex_instance()
    alpha0 = 2 / m
    t0 = int(np.ceil(alpha0 * big_l * sigma)) + 1
    steps = 30 * t0
    schedule = lambda t: alpha0 / (t + 1 + t0)
    x0 = problem.minimizer() + 3.0
    gap0 = float(problem.value(x0[None])[0] - problem.optimum())
    nu = max(alpha0**2 * big_l * sigma0 / (2 * (alpha0 * m - 1)), (t0 + 1) * gap0)
    slopes, curves, from_minimum = [], [], []
    for seed in scale.seeds:
        t, gaps = mean_gaps(problem, x0, schedule, 1, steps, chains, seed, record_every=max(1, steps // 60))
        curves.append(gaps)
        _, stationary = mean_gaps(problem, problem.minimizer(), schedule, 1, steps, chains, seed + 1000,
                                  record_every=max(1, steps // 60))
        from_minimum.append(stationary)
        slopes.append(fit_loglog_slope(t + t0, stationary)[0] if np.all(np.isfinite(stationary)) else np.nan)
    curves = np.array(curves)
    bound = nu / (t + t0)
    evidence.record(alpha0=alpha0, t0=t0, steps=steps, nu=nu, max_gap_times_t=float((curves.mean(0) * (t + t0)).max()),
                    final_gap_times_t=float(curves.mean(0)[-1] * (steps + t0)), asymptotic_slopes=slopes)
    evidence.record(bound=shown(float(curves.mean(0)[-1] * (steps + t0)),
                                f"holds; (t + t_0) gap ends at {curves.mean(0)[-1] * (steps + t0):.2f} vs nu = {nu:.3g}"),
                    **{"asymptotic log-log slope": float(np.mean(slopes))})
    evidence.figure("gap", figure("Decaying step alpha_0/(t + t_0)", [
        panel("random least squares, n = 50, d = 5", "t + t_0", "E f(x_t) - f*",
              [series("line", (t + t0).tolist(), curves.mean(0).tolist(), "SGD from x* + 3"),
               series("line", (t + t0).tolist(), np.mean(from_minimum, 0).tolist(), "SGD from x* (noise-driven)"),
               series("line", (t + t0).tolist(), (np.mean(from_minimum, 0)[-1] * (steps + t0) / (t + t0)).tolist(),
                      "C/(t + t_0)", ls=":", color="gray"),
               series("line", (t + t0).tolist(), bound.tolist(), "nu/(t + t_0) (Thm 4.7 constants)",
                      ls="--", color="k")],
              xscale="log", yscale="log"),
    ]))
    ok = precondition(bool(np.isfinite(curves).all() and np.isfinite(slopes).all()), "some SGD runs diverged")
    tol = CLAIM.tolerance.atol
    verdict = combine([*[at_most(curves[:, i], bound[i], what=f"gap at t = {t[i]}") for i in range(len(t))],
                       within(slopes, -1 - tol, -1 + tol, what="asymptotic slope from x*")], preconditions=[ok])
    control = combine([within(slopes, -0.5 - tol, -0.5 + tol, what="asymptotic slope from x*")], preconditions=[ok])
    evidence.conclude(CLAIM, verdict, seeds=scale.seeds,
                      negative_control=("the gap falls like 1/sqrt(t), the general convex rate", control))
