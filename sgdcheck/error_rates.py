"""The error rates of the verdict rules, measured by simulation.

For every rule of sgdcheck.stats, at the sample sizes the claims use, samples are drawn where the
prediction holds exactly at its bound (the worst case for a false refutation, and the limit of the
worst case for a false replication), where it holds or fails by a stated amount (the power to
replicate or to refute), and the rates of each verdict are counted. A rate is reported with its
exact 95% upper bound, so "<= 5%" is claimed only where the simulation shows it.

    python -m sgdcheck.error_rates --trials 4000 --out table.md

(docs/error-rates.md holds the table with its reading.)

Data are Normal(mu, 1) unless stated (sd = 1, so shifts are in standard deviations); the skewed rows
use a centred Gamma(2) scaled to sd 1, which is where a bootstrap or a t interval can drift from its
nominal level.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import stats as sps

from . import stats
from .stats import INCONCLUSIVE, REFUTED, REPLICATED, Interval, compare

GOAL = 0.05
NOT_USED = ("BCa bootstrap", "uncorrected")


@dataclass(frozen=True)
class Row:
    rule: str
    interval: str
    n: int
    truth: str
    what: str                 # which rate this row measures
    rate: float               # the measured rate of `what`
    upper: float              # exact 95% upper bound of that rate
    trials: int
    is_error: bool            # a false refutation or false replication (else a power)
    mean_seeds: float | None = None     # sequential designs: the seeds used on average

    @property
    def within_goal(self) -> bool:
        return not self.is_error or self.upper <= GOAL

    @property
    def used(self) -> bool:
        """Whether the verdict rules work this way (BCa and the uncorrected combination are references)."""
        return self.interval not in NOT_USED and not self.interval.startswith("naive")


def _normal(rng, mu, n):
    return rng.normal(mu, 1.0, n)


def _skewed(rng, mu, n):
    return mu + (rng.gamma(2.0, 1.0, n) - 2.0) / np.sqrt(2.0)


def _t_interval(x, confidence=0.95) -> Interval:
    return stats.mean_interval(x, confidence, method="t")


def _bca_interval(x, confidence=0.95) -> Interval:
    return stats.mean_interval(x, confidence, method="bca")


INTERVALS = {"Student t": _t_interval, "BCa bootstrap": _bca_interval}


def _rates(decide: Callable[[np.random.Generator], str], trials: int, seed: int) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    counts = {REPLICATED: 0, REFUTED: 0, INCONCLUSIVE: 0}
    for _ in range(trials):
        counts[decide(rng)] += 1
    return counts


def _upper(count: int, trials: int) -> float:
    return float(sps.binomtest(count, trials).proportion_ci(0.95, method="exact").high)


def _row(rule, interval, n, truth, what, count, trials, is_error) -> Row:
    return Row(rule, interval, n, truth, what, count / trials, _upper(count, trials), trials, is_error)


def mean_rules(sizes=(3, 5, 10, 30), trials: int = 2000, bootstrap_trials: int | None = None,
               seed: int = 0) -> list[Row]:
    """within [-1, 1], at_most 0 and at_least 0 on the mean, with each interval at each size (the bootstrap
    from n = 10, where the claims use it)."""
    rows = []
    rules = {"within [-1, 1]": (-1.0, 1.0, 1.0, +1), "at_most 0": (None, 0.0, 0.0, +1),
             "at_least 0": (0.0, None, 0.0, -1)}
    for name, (low, high, edge, outward) in rules.items():
        for label, interval in INTERVALS.items():
            for n in sizes:
                if label == "BCa bootstrap" and n < 10:         # too few values to resample
                    continue
                count = trials if label == "Student t" else (bootstrap_trials or trials)
                for draw, dist in ((_normal, ""), (_skewed, ", skewed")):
                    if dist and n not in (10, 30):
                        continue
                    decide = lambda mu: (lambda rng: compare(interval(draw(rng, mu, n)), low, high).verdict)
                    at_edge = _rates(decide(edge), count, seed)
                    rows.append(_row(name, label, n, f"at the bound{dist}", "refuted", at_edge[REFUTED], count, True))
                    rows.append(_row(name, label, n, f"at the bound{dist}", "replicated", at_edge[REPLICATED], count,
                                     True))
                    if dist:
                        continue
                    inside = _rates(decide(edge - outward * 1.0), count, seed + 1)
                    outside = _rates(decide(edge + outward * 1.0), count, seed + 2)
                    rows.append(_row(name, label, n, "true by 1 sd", "replicated", inside[REPLICATED], count, False))
                    rows.append(_row(name, label, n, "false by 1 sd", "refuted", outside[REFUTED], count, False))
    return rows


def effect_rules(sizes=(5, 10, 30), smallest: float = 0.5, trials: int = 1000, seed: int = 0) -> list[Row]:
    """effect(greater) and effect(none) with a smallest effect of 0.5 sd: the error rates where the claim is
    clearly true or false, and the power at twice the smallest effect."""
    rows = []
    for n in sizes:
        def decide(mu, claimed):
            return lambda rng: stats.effect(_normal(rng, mu, n), smallest, claimed).verdict
        greater_true = _rates(decide(smallest, "greater"), trials, seed)
        greater_false = _rates(decide(0.0, "greater"), trials, seed + 1)
        greater_big = _rates(decide(2 * smallest, "greater"), trials, seed + 2)
        rows += [_row("effect greater", "mean interval", n, "effect = smallest", "refuted", greater_true[REFUTED],
                      trials, True),
                 _row("effect greater", "mean interval", n, "no effect", "replicated", greater_false[REPLICATED],
                      trials, True),
                 _row("effect greater", "mean interval", n, "effect = 2 x smallest", "replicated",
                      greater_big[REPLICATED], trials, False)]
        none_true = _rates(decide(0.0, "none"), trials, seed + 3)
        none_false = _rates(decide(smallest, "none"), trials, seed + 4)
        rows += [_row("effect none", "mean interval", n, "no effect", "refuted", none_true[REFUTED], trials, True),
                 _row("effect none", "mean interval", n, "effect = smallest", "replicated", none_false[REPLICATED],
                      trials, True),
                 _row("effect none", "mean interval", n, "no effect", "replicated", none_true[REPLICATED], trials,
                      False)]
    return rows


def proportion_rules(sizes=(10, 30, 100, 500), bound: float = 0.9, trials: int = 4000, seed: int = 0) -> list[Row]:
    """proportion(low = 0.9) with the exact Clopper-Pearson interval."""
    rows = []
    for n in sizes:
        def decide(p):
            return lambda rng: stats.proportion(int(rng.binomial(n, p)), n, low=bound).verdict
        edge = _rates(decide(bound), trials, seed)
        rows += [_row("proportion >= 0.9", "Clopper-Pearson", n, "at the bound", "refuted", edge[REFUTED], trials, True),
                 _row("proportion >= 0.9", "Clopper-Pearson", n, "at the bound", "replicated", edge[REPLICATED],
                      trials, True),
                 _row("proportion >= 0.9", "Clopper-Pearson", n, "p = 0.98", "replicated",
                      _rates(decide(0.98), trials, seed + 1)[REPLICATED], trials, False),
                 _row("proportion >= 0.9", "Clopper-Pearson", n, "p = 0.7", "refuted",
                      _rates(decide(0.7), trials, seed + 2)[REFUTED], trials, False)]
    return rows


def combine_rules(parts=(2, 5, 10), n: int = 5, trials: int = 2000, seed: int = 0) -> list[Row]:
    """combine of k at_most parts, every part exactly at its bound (the worst case for a false refutation of
    the whole): with the Bonferroni check of refutations and without it; and one part false at its bound with
    the others true by 2 sd (the worst case for a false replication)."""
    rows = []
    for k in parts:
        def all_at_edge(rng):
            verdicts = [stats.at_most(_normal(rng, 0.0, n), 0.0) for _ in range(k)]
            corrected = stats.combine(verdicts).verdict
            plain = REFUTED if any(v.verdict == REFUTED for v in verdicts) else corrected
            return corrected, plain

        rng = np.random.default_rng(seed)
        outcomes = [all_at_edge(rng) for _ in range(trials)]
        rows.append(_row(f"combine of {k}", "Bonferroni", n, "every part at its bound", "refuted",
                         sum(c == REFUTED for c, _ in outcomes), trials, True))
        rows.append(_row(f"combine of {k}", "uncorrected", n, "every part at its bound", "refuted",
                         sum(p == REFUTED for _, p in outcomes), trials, True))

        def one_false(rng):
            verdicts = [stats.at_most(_normal(rng, 0.0, n), 0.0)] + [stats.at_most(_normal(rng, -2.0, n), 0.0)
                                                                       for _ in range(k - 1)]
            return stats.combine(verdicts).verdict

        rows.append(_row(f"combine of {k}", "Bonferroni", n, "one part at its bound, others true", "replicated",
                         _rates(one_false, trials, seed + 1)[REPLICATED], trials, True))
    return rows


def case_rules(cases=(2, 3, 4), n: int = 5, trials: int = 2000, seed: int = 0) -> list[Row]:
    """The cases of one claim (parametrised tests, each concluding on its own) as the report aggregates them: each
    case's verdict is read back from its JSON (no data to retest) and the claim is refuted when any case is. With
    every case an at_most part exactly at its bound, the claim's false-refutation rate over k cases (the
    family-wise rate, which no correction holds down), and one case false with the others true replicated."""
    rows = []
    for k in cases:
        def claim_verdict(rng, shifts):
            read_back = [stats.Verdict.from_dict(stats.at_most(_normal(rng, mu, n), 0.0).as_dict()) for mu in shifts]
            return stats.combine(read_back, correct=False).verdict

        rows.append(_row(f"{k} cases of one claim", "uncorrected (report)", n, "every case at its bound", "refuted",
                         _rates(lambda rng: claim_verdict(rng, [0.0] * k), trials, seed)[REFUTED], trials, True))
        rows.append(_row(f"{k} cases of one claim", "uncorrected (report)", n, "one case at its bound, others true",
                         "replicated", _rates(lambda rng: claim_verdict(rng, [0.0] + [-2.0] * (k - 1)), trials,
                                              seed + 1)[REPLICATED], trials, True))
    return rows


def sequential_rules(firsts=(3, 5, 10), looks: int = 3, min_margin: float = 1.0, trials: int = 2000,
                     seed: int = 0) -> list[Row]:
    """at_most 0 on the mean (Student t) under the sequential design of sgdcheck.looks: k, 2k, 4k seeds, stopping
    at the first look decided by at least `min_margin` half-widths (at the last look the verdict stands as it
    is). Each truth is run, on the same draws, with every look at 95% and stopping at the first decision (the
    naive rule: looking again until something is decided), the same with the minimum margin, with every look
    at 1 - 0.05/K and the minimum margin (Bonferroni over the K looks), and the same with the futility stop of
    sgdcheck.looks (what the claims use: its stop_reason decides): the rates of the final verdicts and the seeds
    used on average. The naive rows are references, not what the rules use."""
    from .looks import Design, stop_reason

    rows = []
    truths = (("at the bound", 0.0, REFUTED, True), ("at the bound", 0.0, REPLICATED, True),
              ("true by 1 sd", -1.0, REPLICATED, False), ("false by 1 sd", 1.0, REFUTED, False),
              ("true by 3 sd", -3.0, REPLICATED, False))
    control = stats.Verdict(REFUTED, "a control that decided")
    designs = (("naive: 95% at every look, stop at the first decision", 1.0, 0.0, False),
               (f"naive: 95% at every look, minimum margin {min_margin:g} hw", 1.0, min_margin, False),
               (f"Bonferroni over {looks} looks, minimum margin {min_margin:g} hw", 1.0 / looks, min_margin, False),
               (f"Bonferroni over {looks} looks, minimum margin {min_margin:g} hw, futility stop", 1.0 / looks,
                min_margin, True))
    for k in firsts:
        sizes = [k * 2 ** j for j in range(looks)]
        schedule = "/".join(map(str, sizes))
        design = Design(True, looks, min_margin, sizes[-1])
        for label, share, margin, with_futility in designs:
            outcomes = {}
            for truth, mu, _, _ in truths:
                if mu in outcomes:
                    continue
                rng = np.random.default_rng(seed)
                finals, used = [], []
                for _ in range(trials):
                    x = _normal(rng, mu, sizes[-1])
                    with stats.alpha_share(share):
                        for look, n in enumerate(sizes, start=1):
                            verdict = stats.at_most(x[:n], 0.0)
                            if with_futility:
                                if stop_reason(design, look, verdict, control, n, None) is not None:
                                    break
                                continue
                            m = verdict.margin_halfwidths
                            if verdict.verdict != INCONCLUSIVE and (m is None or m >= margin):
                                break
                    finals.append(verdict.verdict)
                    used.append(n)
                outcomes[mu] = (finals, float(np.mean(used)))
            for truth, mu, what, is_error in truths:
                finals, mean_seeds = outcomes[mu]
                rows.append(Row(f"at_most 0, looks of {schedule} seeds", label, k, truth, what,
                                finals.count(what) / trials, _upper(finals.count(what), trials), trials, is_error,
                                mean_seeds))
    return rows


def sequential_table(rows: list[Row]) -> str:
    lines = ["| rule | looks | truth | rate of | measured | 95% upper bound | kind | seeds used (mean) | trials |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        kind = ("error, " + ("within 5%" if r.upper <= GOAL else "**above 5%**")) if r.is_error else "power"
        lines.append(f"| {r.rule} | {r.interval} | {r.truth} | {r.what} | {r.rate:.1%} | {r.upper:.1%} | {kind} | "
                     f"{r.mean_seeds:.1f} | {r.trials} |")
    return "\n".join(lines)


def table(rows: list[Row]) -> str:
    lines = ["| rule | interval | n | truth | rate of | measured | 95% upper bound | kind | trials |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        kind = ("error, " + ("within 5%" if r.within_goal else "**above 5%**")) if r.is_error else "power"
        kind += "" if r.used else " (reference: not what the rules use)"
        lines.append(f"| {r.rule} | {r.interval} | {r.n} | {r.truth} | {r.what} | {r.rate:.1%} | {r.upper:.1%} | "
                     f"{kind} | {r.trials} |")
    return "\n".join(lines)


def all_rows(trials: int, seed: int = 0) -> list[Row]:
    return (mean_rules(trials=trials, bootstrap_trials=max(200, trials // 2), seed=seed)
            + effect_rules(trials=max(200, trials // 2), seed=seed) + proportion_rules(trials=trials, seed=seed)
            + combine_rules(trials=max(200, trials // 2), seed=seed) + case_rules(trials=max(200, trials // 2), seed=seed))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sgdcheck.error_rates",
                                     description="Measure the verdict rules' error rates by simulation.")
    parser.add_argument("--trials", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="write the Markdown table here (default: print it)")
    args = parser.parse_args(argv)
    rows = all_rows(args.trials, args.seed)
    sequential = sequential_rules(trials=args.trials, seed=args.seed)
    text = table(rows) + "\n\n" + sequential_table(sequential)
    rows += sequential
    used = [r for r in rows if r.is_error and r.used]
    failing = [r for r in used if not r.within_goal]
    summary = (f"{len(used)} error rates of the rules as the claims use them; {len(failing)} with a 95% upper bound "
               f"above 5%: " + ("; ".join(f"{r.rule}, n = {r.n}, {r.truth}: {r.what} {r.rate:.1%}" for r in failing)
                                or "none") + ".")
    if args.out:
        from pathlib import Path
        Path(args.out).write_text(text + "\n\n" + summary + "\n")
    print(text if not args.out else summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
