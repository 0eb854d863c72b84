"""The chain x <- x - alpha grad f + sqrt(2/beta) zeta, zeta ~ N(0, alpha I), has stationary density
exp(-beta f)/Z for small alpha, on non-convex f.

Chaudhari, lecture notes "Stochastic gradient descent, Entropy-SGD" (2019), Sec. 3.3, eq. 4.
"""
import numpy as np
from scipy import integrate

from sgdcheck import Claim, Deviation, Quote, Source, Threshold, Tolerance, at_least, at_most, combine, shown
from sgdcheck.figures import figure, panel, series
from sgdcheck.landscapes import DoubleWell, gibbs_cdf_1d, gibbs_density_1d
from sgdcheck.samplers import langevin

CLAIM = Claim(
    id="chaudhari.gibbs",
    source=Source("Chaudhari 2019 lecture notes", "Sec. 3.3, eq. 4"),
    quote=Quote("If we have a Markov chain where each successive update is given by $$X^{(t+1)} = X^{(t)} - \\alpha "
                "\\nabla f(X^{(t)}) + \\sqrt{\\frac{2}{\\beta}} \\zeta^{(t)} \\quad (4)$$ and $\\zeta^{(t)}$ is a "
                "Gaussian random variable with mean zero and variance $\\alpha I$ , the Gibbs distribution is "
                "$$\\rho^\\infty(x) := \\lim_{t \\rightarrow \\infty} \\mathbb{P}(X^{(t+1)} = x) = "
                "\\frac{1}{Z(\\beta)} e^{-\\beta f(x)}.$$",
                "Sec. 3.3, eq. (4) (seed 002, lines 252-258); 'None of these conditions however require that $f(x)$ "
                "be convex.' at line 264"),
    statement="For small alpha the chain x <- x - alpha grad f + sqrt(2/beta) zeta, zeta ~ N(0, alpha I), has "
              "stationary density proportional to exp(-beta f), also for non-convex f.",
    paper={"stationary density": "exp(-beta f)/Z"},
    deviations=(
        Deviation("definition",
                  "the notes state the chain's stationary law is exactly Gibbs at any alpha (line 258); the test "
                  "claims it only for small alpha and requires the KS distance to grow from alpha = 0.005 to 0.05, "
                  "a discretisation bias the literal notes deny",
                  "the module's notes: the unadjusted discrete chain is Gibbs only as alpha -> 0"),
        Deviation("scope",
                  "the notes present eq. 4 as a model of SGD under Assumption 14 ('quite brutal', line 228; 'not "
                  "exactly SGD but only a model for it', line 250); the test simulates the Langevin chain only, "
                  "never SGD",
                  "eq. 4 itself is the statement checked"),
        Deviation("data",
                  "the notes give no instance (line 268's figure is missing); the test uses f = (x^2 - 1)^2 + 0.3 x "
                  "in 1-D and sum_i (x_i^2 - 1)^2 + 0.2 (x_1 + x_2) + 0.5 x_1 x_2 in 2-D, beta = 3",
                  "no reason given: to be revisited"),
        Deviation("statistics",
                  "the test takes the maximum KS distance over the 1-D law and the two 2-D marginals; the 2-D joint "
                  "law is never compared, so a wrong correlation would pass",
                  "no reason given: to be revisited"),
        Deviation("setup",
                  "the notes take t -> infinity; the test runs 5000 (smoke) / 20,000 (full) steps (time 25 / 100) "
                  "from U(-2, 2); inter-well relaxation takes ~10, so the smoke KS 0.026 is mostly an equilibration "
                  "deficit (review: 0.013 at 10,000 steps)",
                  "no reason given: to be revisited"),
        Deviation("setup",
                  "the coarse chain runs steps//4 steps at alpha = 0.05 (time 62.5 at smoke) against the fine "
                  "chain's time 25, so at smoke the 'bias grows with the step' difference also measures unequal "
                  "equilibration",
                  "no reason given: to be revisited"),
        Deviation("sizes", "10,000 (smoke) / 40,000 (full) independent chains per seed, end points only",
                  "the CPU budget of the smoke and full scales"),
    ),
    thresholds=(
        Threshold("max KS distance <= 0.04 (Tolerance atol 0.04)", "tuned",
                  "no stated origin beyond 'sampling noise about 0.01'; 1.5x the smoke value 0.026; it admits a 10% "
                  "temperature error (KS(beta, 1.1 beta) = 0.035, review's check); confirmed on seeds 1000+ "
                  "(smoke), combined margin 0.0035"),
        Threshold("KS(alpha = 0.05) - KS(alpha = 0.005) >= 0 on the 1-D well (smallest effect 0)", "argument",
                  "the discrete chain's bias grows with the step (module's notes); any positive difference counts"),
        Threshold("COARSE = 0.05", "tuned",
                  "0.02 came out undecided on seeds 1000-1004; 0.05 (still stable where exp(-beta f) matters) gave "
                  "0.024-0.025 on seeds 0-4, 1000-1004 and 2000-2004 (module's notes)"),
        Threshold("BETA = 3, ALPHA = 0.005", "argument",
                  "no stated origin; a small step (alpha f'' = 0.04 at the minima) and a temperature at which both "
                  "wells carry mass"),
        Threshold("steps 5000 / 20,000 and chains 10,000 / 40,000", "tuned",
                  "no stated origin (taken as chosen after a first run); the smoke horizon is short of equilibrium; "
                  "confirmed on seeds 1000+ (smoke)"),
        Threshold("control: max KS distance to exp(-2 beta f)/Z <= 0.04", "argument",
                  "a rival from the notes' own factor-2 inconsistency in the temperature (alpha/l at line 276 vs "
                  "alpha/(2l) at lines 266, 279), with the claim's tolerance; far outside it (KS 0.24-0.25)"),
    ),
    tolerance=Tolerance(atol=0.04, note="Kolmogorov-Smirnov distance of independent chains' end points; "
                                        "the sampling noise alone is about 0.01"),
    notes="'Small alpha' is checked by the bias growing with the step: the KS distance of the 1-D well at "
          "alpha = 0.05 minus that at alpha = 0.005, paired by seed. Until the disjoint-seed check the coarse step "
          "was 0.02 and its 1-D distance was compared with the maximum over the 1-D well and both 2-D marginals: "
          "on seeds 1000-1004 that came out undecided (0.007 [-0.002, 0.016]), and 1-D against 1-D at 0.02 was "
          "still within the KS sampling noise (~0.009 at 10,000 chains). At 0.05 (still stable: GD on this well "
          "needs alpha < 2/44 only beyond |x| = 2, where exp(-beta f) is ~1e-12) the difference is 0.024-0.025 on "
          "seeds 0-4, 1000-1004 and 2000-2004.",
)
BETA, ALPHA, COARSE = 3.0, 0.005, 0.05
GRID = np.linspace(-3, 3, 6001)


def _ks(samples, cdf):
    samples = np.sort(samples)
    model = np.interp(samples, GRID, cdf)
    ecdf = np.arange(1, samples.size + 1) / samples.size
    return float(np.max(np.maximum(np.abs(ecdf - model), np.abs(ecdf - 1 / samples.size - model))))


def _marginal_cdfs_2d(pot, beta):
    x = GRID[::20]
    xx, yy = np.meshgrid(x, x, indexing="ij")
    logp = -beta * pot.value(np.c_[xx.ravel(), yy.ravel()]).reshape(xx.shape)
    p = np.exp(logp - logp.max())
    out = []
    for axis in (1, 0):
        marginal = np.trapezoid(p, x, axis=axis)
        cdf = integrate.cumulative_trapezoid(marginal, x, initial=0)
        out.append(np.interp(GRID, x, cdf / cdf[-1]))
    return out


def test_gibbs(scale, evidence):
    chains = scale.pick(smoke=10000, full=40000, paper=100000)
    steps = scale.pick(smoke=5000, full=20000)
    one = DoubleWell(1, tilt=0.3)
    two = DoubleWell(2, tilt=0.2, coupling=0.5)
    cdf1, wrong1 = gibbs_cdf_1d(one, BETA, GRID), gibbs_cdf_1d(one, 2 * BETA, GRID)
    cdf2, wrong2 = _marginal_cdfs_2d(two, BETA), _marginal_cdfs_2d(two, 2 * BETA)
    ks, ks_wrong, ks_coarse, ks_fine = [], [], [], []
    for seed in scale.seeds:
        rng = np.random.default_rng(seed)
        end1 = langevin(one, rng.uniform(-2, 2, (chains, 1)), ALPHA, 1 / BETA, steps, rng).x[:, 0]
        end2 = langevin(two, rng.uniform(-2, 2, (chains, 2)), ALPHA, 1 / BETA, steps, rng).x
        coarse = langevin(one, rng.uniform(-2, 2, (chains, 1)), COARSE, 1 / BETA, steps // 4, rng).x[:, 0]
        ks.append(max(_ks(end1, cdf1), _ks(end2[:, 0], cdf2[0]), _ks(end2[:, 1], cdf2[1])))
        ks_wrong.append(max(_ks(end1, wrong1), _ks(end2[:, 0], wrong2[0]), _ks(end2[:, 1], wrong2[1])))
        ks_coarse.append(_ks(coarse, cdf1))
        ks_fine.append(_ks(end1, cdf1))
        if seed == scale.seeds[0]:
            hist, edges = np.histogram(end1, bins=60, range=(-2.5, 2.5), density=True)
    evidence.record(ks_distance=float(np.mean(ks)), ks_sampling_noise_scale=float(0.87 / np.sqrt(chains)),
                    ks_distance_at_coarse_alpha=float(np.mean(ks_coarse)), ks_distance_vs_wrong_beta=float(np.mean(ks_wrong)))
    evidence.record(**{"stationary density": shown(float(np.mean(ks)), f"KS distance {np.mean(ks):.4f} "
                                                                       f"(sampling noise ~{0.87 / np.sqrt(chains):.4f})")})
    evidence.finding(f"The discretisation bias grows with the step: on the 1-D well (beta = {BETA}) the KS distance "
                     f"is {np.mean(ks_fine):.4f} at alpha = {ALPHA} and {np.mean(ks_coarse):.4f} at alpha = {COARSE}.")
    centres = 0.5 * (edges[1:] + edges[:-1])
    evidence.figure("density", figure("Langevin chain vs Gibbs density exp(-beta f)/Z", [
        panel(f"f = (x^2 - 1)^2 + 0.3 x, beta = {BETA}, alpha = {ALPHA}", "x", "density",
              [series("step", centres.tolist(), hist.tolist(), f"{chains} chain end points"),
               series("line", GRID[::10].tolist(), gibbs_density_1d(one, BETA, GRID)[::10].tolist(),
                      "exp(-beta f)/Z", color="k")]),
    ]))
    tol = CLAIM.tolerance.atol
    verdict = combine([at_most(ks, tol, what="max KS distance (1-D, both 2-D marginals)"),
                       at_least(np.subtract(ks_coarse, ks_fine), 0.0,
                                what=f"1-D well: KS(alpha={COARSE}) - KS(alpha={ALPHA})")])
    evidence.conclude(CLAIM, verdict,
                      seeds=scale.seeds,
                      negative_control=("the stationary density is exp(-2 beta f)/Z",
                                        at_most(ks_wrong, tol, what="max KS distance to exp(-2 beta f)")))
