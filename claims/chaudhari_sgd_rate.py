"""SGD on an L-smooth, m-strongly convex finite sum with alpha <= 1/(L sigma):
E f(x_t) - f* <= alpha L sigma_0/(2m) + (1 - alpha m)^t (f(x_0) - f* - alpha L sigma_0/(2m)).

Chaudhari, lecture notes "Stochastic gradient descent, Entropy-SGD" (2019), Theorem 7
(after Bottou, Curtis & Nocedal 2018, Thm 4.6).
"""
import numpy as np

from sgdcheck import Claim, Source, at_most, combine, precondition, shown
from sgdcheck.convergence import mean_gaps, strongly_convex_instance
from sgdcheck.figures import figure, panel, series
from sgdcheck.linear import theorem7_bound

CLAIM = Claim(
    id="chaudhari.sgd-rate",
    source=Source("Chaudhari 2019 lecture notes", "Theorem 7"),
    statement="With alpha <= 1/(L sigma), the mean optimality gap of single-sample SGD stays below "
              "alpha L sigma_0/(2m) + (1 - alpha m)^t (f(x_0) - f* - alpha L sigma_0/(2m)).",
    paper={"bound": "alpha L sigma_0/(2m) + (1 - alpha m)^t (gap_0 - alpha L sigma_0/(2m))"},
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
                      negative_control=("the gap decays like (1 - alpha m)^t with no noise floor", control))
