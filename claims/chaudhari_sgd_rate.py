"""SGD on an L-smooth, m-strongly convex finite sum with alpha <= 1/(L sigma):
E f(x_t) - f* <= alpha L sigma_0/(2m) + (1 - alpha m)^t (f(x_0) - f* - alpha L sigma_0/(2m)).

Chaudhari, lecture notes "Stochastic gradient descent, Entropy-SGD" (2019), Theorem 7
(after Bottou, Curtis & Nocedal 2018, Thm 4.6).
"""
import numpy as np

from sgdcheck import Claim, Deviation, Quote, Source, Threshold, at_most, combine, precondition, shown
from sgdcheck.convergence import mean_gaps, strongly_convex_instance
from sgdcheck.figures import figure, panel, series
from sgdcheck.linear import theorem7_bound

CLAIM = Claim(
    id="chaudhari.sgd-rate",
    source=Source("Chaudhari 2019 lecture notes", "Theorem 7"),
    quote=Quote("If we pick a step-size $$\\alpha \\leq \\frac{1}{L\\sigma}$$ then the expected optimality gap "
                "satisfies $$\\mathbb{E}_{\\omega_1, \\omega_2, \\dots, \\omega_t} \\left[ f(x^{(t+1)}) \\right] - "
                "f(x^*) \\leq \\frac{\\alpha L \\sigma_0}{2m} + (1 - \\alpha m)^t \\left( f(x^0) - f(x^*) - "
                "\\frac{\\alpha L \\sigma_0}{2m} \\right).$$",
                "Theorem 7 (seed 002, lines 133-139; italic markers dropped); its assumptions at lines 109-117"),
    statement="With alpha <= 1/(L sigma), the mean optimality gap of single-sample SGD stays below "
              "alpha L sigma_0/(2m) + (1 - alpha m)^t (f(x_0) - f* - alpha L sigma_0/(2m)).",
    paper={"bound": "alpha L sigma_0/(2m) + (1 - alpha m)^t (gap_0 - alpha L sigma_0/(2m))"},
    deviations=(
        Deviation("data",
                  "the theorem holds for any L-smooth, m-strongly convex finite sum meeting the assumptions of "
                  "lines 109-117; the test uses one random least-squares instance (seed 7, n = 50, d = 5, column "
                  "scales 0.5-1.5, target noise 0.5), kappa = L/m = 15.5",
                  "no reason given in the module: to be revisited"),
        Deviation("data",
                  "on this instance the bound's floor alpha L sigma_0/(2m) = 3.58e-2 is about 31x (2 kappa) the "
                  "measured floor 1.17e-3, so only an SGD 31x noisier than the variance (OU) prediction could fail "
                  "the check",
                  "the instance (kappa = 15.5) was not chosen for a tight bound; no reason given: to be revisited"),
        Deviation("definition",
                  "the notes take any sigma, sigma_0 meeting line 117; the test sets sigma = 2 lambda_max(H^-1 Q "
                  "H^-1) and the smallest valid sigma_0 for it; the factor 2 also sets alpha = 1/(L sigma) = 0.0075 "
                  "and so the bound",
                  "a factor > 1 keeps P = sigma H^2 - Q positive definite (LeastSquares.noise_constants); no reason "
                  "for 2 itself"),
        Deviation("scope",
                  "the theorem covers every alpha <= 1/(L sigma); the test checks the single step alpha = 1/(L "
                  "sigma), the edge of the allowed range",
                  "no reason given: to be revisited"),
        Deviation("sampling",
                  "the notes pick the datum 'randomly' (eq. 1, line 40) and leave with/without replacement open "
                  "(Remark 3, line 55); the test draws i.i.d. indices with replacement",
                  "with replacement meets the theorem's unbiasedness and second-moment assumptions exactly "
                  "(mean_gaps)"),
        Deviation("definition",
                  "the notes bound x^{(t+1)} with the factor (1 - alpha m)^t from x^0; the test bounds x_t after t "
                  "steps with (1 - alpha m)^t (Bottou et al.'s indexing), one factor (1 - alpha m) = 0.9989 "
                  "stricter",
                  "no reason given; negligible"),
        Deviation("statistics",
                  "the notes bound the exact expectation; the test uses the mean over 400 (smoke) / 5000 (full) "
                  "chains per seed and a 95% Student t interval over seeds, at about 40 checkpoints (each an "
                  "at_most, refutations Bonferroni-checked)",
                  "a Monte Carlo estimate of the expectation"),
        Deviation("setup",
                  "the notes allow any start; the test starts at x* + 3 (every coordinate) and runs int(12/(alpha "
                  "m)) = 10,970 steps",
                  "no reason given in the module; the horizon lets the transient decay by about e^-12"),
    ),
    thresholds=(
        Threshold("mean gap <= alpha L sigma_0/(2m) + (1 - alpha m)^t (gap_0 - alpha L sigma_0/(2m)) at every "
                  "checkpoint",
                  "source",
                  "Theorem 7's bound (seed 002, line 139)"),
        Threshold("alpha = 1/(L sigma) = 0.0075", "source", "the largest step Theorem 7 allows (line 135)"),
        Threshold("sigma_factor = 2 (sigma = 2 lambda_max(H^-1 Q H^-1) = 59.1, sigma_0 = 0.618)", "argument",
                  "a factor > 1 is needed for a valid smallest sigma_0 (P positive definite); the value 2 has no "
                  "stated reason, and it sets alpha and the bound"),
        Threshold("start x_0 = x* + 3 in every coordinate (gap_0 far above the floor)", "argument",
                  "no stated origin; a start whose gap dwarfs the floor, so the checkpoints span the transient and "
                  "the floor"),
        Threshold("steps = int(12/(alpha m)); checkpoints every steps//40", "argument",
                  "no stated origin; the transient (1 - alpha m)^t falls by about e^-12 over the horizon"),
        Threshold("confidence 0.95 (Student t over seeds)", "argument",
                  "the harness's default level; refutations checked at the family-wise level across checkpoints"),
        Threshold("control: mean gap <= (1 - alpha m)^t gap_0 on the late half of the checkpoints", "argument",
                  "the rival is full-batch GD's linear rate with no noise floor (the deterministic theory a reader "
                  "would carry over to SGD); early on both predictions agree (the transient decays at that rate), "
                  "so only the late half, where the floor should show, can tell them apart"),
    ),
)


def test_sgd_rate(scale, evidence):
    chains = scale.pick(smoke=400, full=5000, paper=20000)
    problem, big_l, m, sigma0, sigma = strongly_convex_instance()
    alpha = 1 / (big_l * sigma)
    steps = int(12 / (alpha * m))
    x0 = problem.minimizer() + 3.0
    gap0 = float(problem.value(x0[None])[0] - problem.optimum())
    per_seed = []
    for seed in scale.seeds:
        t, gaps = mean_gaps(problem, x0, alpha, 1, steps, chains, seed, record_every=max(1, steps // 40))
        per_seed.append(gaps)
    per_seed = np.array(per_seed)
    bound = theorem7_bound(t, alpha, big_l, m, sigma0, gap0)
    no_floor = (1 - alpha * m) ** t * gap0
    evidence.record(L=big_l, m=m, sigma0=sigma0, sigma=sigma, alpha=alpha, steps=steps,
                    floor_bound=alpha * big_l * sigma0 / (2 * m), measured_final_gap=float(per_seed[:, -1].mean()),
                    max_gap_over_bound=float((per_seed.mean(0) / bound).max()))
    evidence.record(bound=shown(float((per_seed.mean(0) / bound).max()),
                                f"holds at every checkpoint (max gap/bound {(per_seed.mean(0) / bound).max():.3f}); "
                                f"floor {per_seed[:, -1].mean():.2e} vs bound's {alpha * big_l * sigma0 / (2 * m):.2e}",
                                unit="max gap / bound"))
    evidence.figure("gap", figure("Theorem 7 on random least squares (n = 50, d = 5)", [
        panel("", "step t", "E f(x_t) - f*",
              [series("line", t.tolist(), per_seed.mean(0).tolist(), "SGD, mean over chains and seeds"),
               series("line", t.tolist(), bound.tolist(), "Theorem 7 bound", ls="--", color="k"),
               series("line", t.tolist(), no_floor.tolist(), "(1 - alpha m)^t gap_0 (no noise floor)", ls=":")],
              yscale="log"),
    ]))
    ok = precondition(bool(np.isfinite(per_seed).all()), "some SGD runs diverged")
    verdict = combine([at_most(per_seed[:, i], bound[i], what=f"gap at t = {t[i]}") for i in range(len(t))],
                      preconditions=[ok])
    late = slice(len(t) // 2, None)
    control = combine([at_most(per_seed[:, i], no_floor[i], what=f"gap at t = {t[i]}")
                       for i in range(len(t))[late]], preconditions=[ok])
    evidence.conclude(CLAIM, verdict, seeds=scale.seeds,
                      negative_control=("the rival of full-batch GD: the gap decays like (1 - alpha m)^t with no noise floor",
                                        control))
