"""Simulated SGD on a quadratic: E||x_t||^2 grows iff the exact second-moment rate exceeds 1,
and at that rate.

Wu, Ma & E (NeurIPS 2018), Definition 2 / eq. 6-7: linear stability is boundedness of E||x_t||^2
under x <- (I - eta H_b) x. Monte Carlo over many chains per seed; the growth rate is the slope of
log E||x_t||^2 over the second half of the run, with E||x_t||^2 estimated by the median of the means
of 10 blocks of chains: ||x_t||^2 is a product of random matrices, heavy-tailed, and a plain mean
over chains is carried by a few of them.
"""
import numpy as np

from sgdcheck import (Claim, Deviation, Quote, Source, Threshold, Tolerance, at_least, at_most, combine, mean_square_rate,
                     shown, within)
from sgdcheck.stats import median_of_means
from sgdcheck.figures import figure, panel, series
from sgdcheck.stability import exact_mean_square, sharpness_nonuniformity, simulate_linearized_sgd
from sgdcheck.strategies import random_psd

CLAIM = Claim(
    id="wu2018.monte-carlo",
    source=Source("Wu, Ma & E 2018", "Definition 2, eq. 6-7"),
    quote=Quote("We say that x* is linearly stable if there exists a constant C such that, E[‖x̃_t‖^2] ≤ C‖x̃_0‖^2, "
                "for all t > 0.",
                "Sec. 3, Definition 2, eq. 6 (seed 003, lines 197 and 202; eq. 5 interleaved by the extraction; "
                "extraction glyphs restored)"),
    statement="For SGD on a quadratic, E||x_t||^2 grows exponentially iff the spectral radius of the exact "
              "second-moment map exceeds 1, with per-step growth factor equal to it.",
    paper={"growth factor": "(1 - eta a)^2 + eta^2 s^2 in d = 1 (eq. 3); the d > 1 spectral radius is derived here"},
    deviations=(
        Deviation("definition",
                  "the source defines stability as bounded E||x_t||^2 and gives a growth factor only in d = 1 ([(1 "
                  "- eta a)^2 + eta^2 s^2]^t, seed 004 line 605); the test asserts E||x_t||^2 grows at exactly the "
                  "spectral radius of E[A_b (x) A_b] in d = 3, B = 2",
                  "no reason given: the harness's own (correct, standard) derivation, checked as a self-consistency "
                  "test of its simulator against its exact operator"),
        Deviation("setup",
                  "one hand-picked instance: n = 6, d = 3, B = 2, H_i = diag(1, 0.6, 0.3) + 0.3 randPSD/3 (seed "
                  "123), s/a ~ 0.2, x0 = ones/sqrt(3), 40 steps, eta set for exact rates 1.05 and 0.95; the "
                  "strongly non-uniform regime (NN minima here: s/a ~ 3-4) is not judged",
                  "module notes: there the mean is carried by rare chains (finding: s/a = 0.67, fitted log rate "
                  "-0.131 vs exact +0.049 at smoke)"),
        Deviation("statistics",
                  "the definition's expectation E||x_t||^2 vs the median of 10 block means over "
                  "100,000/200,000/400,000 chains per seed, log rate fitted by least squares over steps 20-40; the "
                  "plain-mean fit is kept in the details only",
                  "module notes: ||x_t||^2 is heavy-tailed; block and chain counts chosen after runs"),
    ),
    thresholds=(
        Threshold("fitted log rate within log(rho) +- 0.005 (mean's 95% Student t interval over seeds)", "tuned",
                  "no stated origin; the notes set it beside seed spreads of 0.003-0.004 seen on seeds 1000-1004 "
                  "and 2000-2004; confirmed on seeds 1000+ (smoke)"),
        Threshold("target exact rates rho = 1.05 and 0.95", "argument",
                  "5% either side of the stability edge: log rates of about +-0.05 per step, ten times the "
                  "tolerance"),
        Threshold("fitted log rate >= 0 (unstable) and <= 0 (stable)", "source",
                  "Definition 2: stable iff E||x_t||^2 stays bounded (seed 003, lines 197-202)"),
        Threshold("BLOCKS = 10; chains 100,000/200,000/400,000 (smoke/full/paper)", "tuned",
                  "module notes: 20 blocks of 1,000 chains fitted 0.002-0.003 low; blocks of 10,000 biased under "
                  "0.001 on seeds 0-4, 1000-1004 and 2000-2004; confirmed on seeds 1000+ (smoke)"),
        Threshold("STEPS = 40, fit over the second half (steps 20-40)", "argument",
                  "not stated in the module: the first half lets the top mode of the operator dominate the start x0"),
        Threshold("control: fitted log rate within log(GD-only factor max (1 - eta lambda)^2) +- 0.005", "argument",
                  "the same tolerance applied to the noise-free (sharpness-only) rate, a real rival"),
    ),
    tolerance=Tolerance(atol=0.005, note="on the fitted log growth rate per step"),
    notes="The instance has moderate non-uniformity (s/a ~ 0.2). With strongly non-uniform Hessians the "
          "mean of ||x_t||^2 is carried by rare chains (a heavy-tailed product of random matrices), so a "
          "finite Monte Carlo sees the typical (Lyapunov) rate instead; the evidence records one such case. Even "
          "at s/a ~ 0.2 the tail shows with many chains: at full scale (100,000 chains, 10 seeds) the plain mean "
          "over chains fitted -0.0493 [-0.0509, -0.0458] for the stable case against log 0.95 = -0.0513 +- 0.005, "
          "nine seeds within 0.003 and one (-0.039) carried by a rare chain; the rate is therefore fitted to the "
          "median of 10 block means (median-of-means), and the plain-mean fit is kept in the details. A median of "
          "block means is biased low by the skew of the block means, which shrinks with the block: 20 blocks of "
          "1,000 chains (smoke, 20,000 chains, tried first) fitted 0.002-0.003 below the exact rate on seeds "
          "1000-1004 and 2000-2004, and 5 seeds of 20,000 chains spread by 0.003-0.004, as wide as the "
          "tolerance; the smoke scale therefore runs 100,000 chains (blocks of 10,000: bias under 0.001 on seeds "
          "0-4, 1000-1004 and 2000-2004) and full 200,000.",
)
N, D, BATCH, STEPS = 6, 3, 2, 40
BLOCKS = 10


def _lr_for_rate(h, target):
    """The lr on the increasing branch where the exact rate equals target (rate is convex in lr)."""
    a, _ = sharpness_nonuniformity(h)
    low, high = 0.0, 4.0 / a
    grid = np.linspace(low, high, 400)[1:]
    rates = np.array([mean_square_rate(h, lr, BATCH) for lr in grid])
    start = grid[int(np.argmin(rates))]
    low, high = start, high
    for _ in range(80):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if mean_square_rate(h, mid, BATCH) < target else (low, mid)
    return 0.5 * (low + high)


def instance(noise=0.3, seed=123):
    """H_i = diag(1, 0.6, 0.3) + noise * (random PSD) / 3: a minimum with moderate non-uniformity."""
    return np.diag([1.0, 0.6, 0.3])[None] + noise * random_psd(np.random.default_rng(seed), N, D) / D


def _fitted_log_rate(norms, robust=True):
    """Slope of log E||x_t||^2 over the second half; E by the median of block means (or the plain mean)."""
    t = np.arange(norms.shape[1])
    half = t >= STEPS // 2
    mean = median_of_means(norms, BLOCKS) if robust else norms.mean(0)
    return float(np.polyfit(t[half], np.log(mean[half]), 1)[0])


def test_monte_carlo_growth(scale, evidence):
    chains = scale.pick(smoke=100000, full=200000, paper=400000)
    h = instance()
    x0 = np.ones(D) / np.sqrt(D)
    cases, verdicts, controls, panels = {}, [], [], []
    for label, target in (("unstable", 1.05), ("stable", 0.95)):
        lr = _lr_for_rate(h, target)
        rho = mean_square_rate(h, lr, BATCH)
        gd_factor = float(np.max((1 - lr * np.linalg.eigvalsh(h.mean(0))) ** 2))
        fitted, plain, finals = [], [], []
        for seed in scale.seeds:
            norms = simulate_linearized_sgd(h, lr, BATCH, x0, STEPS, chains, np.random.default_rng(seed))
            fitted.append(_fitted_log_rate(norms))
            plain.append(_fitted_log_rate(norms, robust=False))
            finals.append(float(norms[:, -1].mean()))
            if seed == scale.seeds[0]:
                curve = norms.mean(0)
        exact = exact_mean_square(h, lr, BATCH, x0, STEPS)
        cases[label] = {"lr": lr, "exact_rate": rho, "predicted_log_rate": float(np.log(rho)),
                        "fitted_log_rates": fitted, "plain_mean_log_rates": plain, "mean_final_norm2": float(np.mean(finals)),
                        "exact_final_norm2": float(exact[-1]), "gd_only_factor": gd_factor}
        tol = CLAIM.tolerance.atol
        verdicts.append(within(fitted, np.log(rho) - tol, np.log(rho) + tol, what=f"{label}: fitted log rate"))
        controls.append(within(fitted, np.log(gd_factor) - tol, np.log(gd_factor) + tol,
                               what=f"{label}: fitted log rate vs GD-only factor"))
        t = list(range(STEPS + 1))
        panels.append(panel(f"{label}: rho = {rho:.3f}, eta = {lr:.3f}", "step t", "E ||x_t||^2",
                            [series("line", t, curve.tolist(), f"Monte Carlo ({chains} chains)"),
                             series("line", t, exact.tolist(), "exact operator", ls="--", color="k")],
                            yscale="log"))
    heavy = random_psd(np.random.default_rng(123), N, D)
    lr = _lr_for_rate(heavy, 1.05)
    typical = _fitted_log_rate(simulate_linearized_sgd(heavy, lr, BATCH, x0, STEPS, chains,
                                                       np.random.default_rng(scale.seeds[0])))
    evidence.finding(
        f"Heavy tails: on unscaled random PSD Hessians (s/a = {np.divide(*sharpness_nonuniformity(heavy)[::-1]):.2f}) "
        f"with exact rate 1.05 (log 0.049), {chains} chains fit a log rate of {typical:.3f}: the mean is "
        f"carried by rare chains, so the typical chain decays while E||x_t||^2 grows.")
    evidence.record(**cases)
    evidence.record(**{"growth factor": shown(
        {k: float(np.exp(np.mean(v['fitted_log_rates']))) for k, v in cases.items()},
        "; ".join(f"{k}: fitted {np.exp(np.mean(v['fitted_log_rates'])):.4f} vs exact {v['exact_rate']:.4f}"
                  for k, v in cases.items()))})
    evidence.figure("growth", figure("Mean-square growth of linearised SGD", panels))
    verdicts += [at_least(cases["unstable"]["fitted_log_rates"], 0.0, what="unstable: fitted log rate"),
                 at_most(cases["stable"]["fitted_log_rates"], 0.0, what="stable: fitted log rate")]
    evidence.conclude(CLAIM, combine(verdicts), seeds=scale.seeds,
                      negative_control=("growth at the GD-only factor max (1 - eta lambda)^2 (noise ignored)",
                                        combine(controls)))
