"""Linear stability of SGD at a quadratic minimum: condition (8) is sufficient, and iff in d = 1.

Wu, Ma & E (NeurIPS 2018), Theorem 1, eq. 8. The exact mean-square rate (spectral radius of the
second-moment map, sgdcheck.stability) is the ground truth the criterion is checked against.
"""
import numpy as np

from sgdcheck import Claim, Source, Tolerance, combine, criterion, holds_for_all, mean_square_rate
from sgdcheck import shown
from sgdcheck.figures import figure, panel, series
from sgdcheck.search import search_counterexample
from sgdcheck.strategies import near_critical_cases, random_psd, stability_cases

CLAIM = Claim(
    id="wu2018.theorem1",
    source=Source("Wu, Ma & E 2018", "Theorem 1, eq. 8"),
    statement="SGD (lr eta, batch B without replacement) at a quadratic minimum is mean-square stable if "
              "lambda_max((I - eta H)^2 + eta^2 (n-B)/(B(n-1)) Sigma) <= 1; for d = 1 the condition is "
              "also necessary.",
    paper={"sufficient (all d)": True, "necessary (d = 1)": True, "necessary (d > 1)": "not claimed"},
    tolerance=Tolerance(atol=1e-12, rtol=1e-12, note="float64 round-off"),
)
SLACK = 1e-12


def _rate_below_criterion(case) -> bool:
    return mean_square_rate(*case) <= criterion(*case) * (1 + SLACK) + SLACK


def _rate_equals_criterion(case) -> bool:
    return abs(mean_square_rate(*case) - criterion(*case)) <= SLACK * max(1.0, criterion(*case))


def _necessary(case) -> bool:
    """'criterion > 1 implies unstable' -- with a margin, so round-off cannot make a counterexample."""
    return not (criterion(*case) > 1 + 1e-9 and mean_square_rate(*case) < 1 - 1e-9)


def test_theorem1(scale, evidence):
    examples = scale.pick(smoke=300, full=3000, paper=10000)
    seed = scale.seeds[0]
    sufficiency = search_counterexample(stability_cases(max_d=3), _rate_below_criterion,
                                        max_examples=examples, seed=seed)
    one_dim = search_counterexample(stability_cases(d=1, max_n=8), _rate_equals_criterion,
                                    max_examples=examples, seed=seed)
    higher = search_counterexample(near_critical_cases(min_d=2, max_d=3), _necessary,
                                   max_examples=examples, seed=seed)

    rng = np.random.default_rng(seed)
    points = []
    for _ in range(400):
        n, d = rng.integers(2, 7), rng.integers(2, 4)
        h = random_psd(rng, n, d)
        lr = rng.uniform(0.05, 1.5) * 2 / np.linalg.eigvalsh(h.mean(0))[-1]
        b = int(rng.integers(1, n + 1))
        points.append((criterion(h, lr, b), mean_square_rate(h, lr, b)))
    crit, rate = np.array(points).T
    gap = int(((crit > 1) & (rate < 1)).sum())

    evidence.record(
        sufficiency_examples=sufficiency.examples,
        d1_examples=one_dim.examples,
        random_cases_stable_but_criterion_above_1=shown(gap / len(points), f"{gap}/{len(points)}"),
    )
    evidence.detail(
        sufficiency_counterexample=repr(sufficiency.counterexample) if sufficiency.found else None,
        d1_max_gap="<= 1e-12 relative" if not one_dim.found else repr(one_dim.counterexample),
        d_gt_1_necessity_counterexample=repr(higher.counterexample) if higher.found else None,
    )
    if higher.found:
        case = higher.counterexample
        evidence.finding(
            f"Condition (8) is not necessary for d > 1: {case!r} has criterion "
            f"{criterion(*case):.6f} > 1 but exact mean-square rate {mean_square_rate(*case):.6f} < 1 "
            f"(stable). Among 400 random d = 2..3 cases, {gap} are stable although (8) fails.")
    evidence.figure("criterion-vs-rate", figure("Theorem 1: criterion (8) vs exact mean-square rate", [
        panel("random PSD cases, d = 2..3", "criterion lambda_max(E[(I - eta H_b)^2])",
              "exact rate rho(E[A_b (x) A_b])",
              [series("scatter", crit.tolist(), rate.tolist(), "cases"),
               series("line", [0, float(crit.max())], [0, float(crit.max())], "rate = criterion", color="k")],
              xscale="log", yscale="log", hlines=[(1.0, "rate = 1")], vlines=[(1.0, "criterion = 1")]),
    ]))
    evidence.record(**{
        "sufficient (all d)": shown(not sufficiency.found, "no counterexample" if not sufficiency.found
                                    else "counterexample found", unit="holds"),
        "necessary (d = 1)": shown(not one_dim.found, "rate == criterion in every case" if not one_dim.found
                                   else "differs", unit="holds"),
        "necessary (d > 1)": shown(not higher.found, "false: stable cases with criterion > 1 exist" if higher.found
                                   else "no counterexample", unit="holds")})
    verdict = combine([
        holds_for_all(sufficiency.examples, sufficiency.counterexample, "rate <= criterion (sufficiency, d <= 3)"),
        holds_for_all(one_dim.examples, one_dim.counterexample, "rate == criterion in d = 1 (iff)"),
    ])
    control = holds_for_all(higher.examples, higher.counterexample,
                            "criterion > 1 implies instability for d = 2..3")
    evidence.conclude(CLAIM, verdict, seeds=[seed],
                      negative_control=("condition (8) is also necessary for d = 2..3", control))
