import numpy as np
import pytest

from sgdcheck import InvalidArgumentError
from sgdcheck.stats import (INCONCLUSIVE, REFUTED, REPLICATED, Interval, Verdict, at_least, at_most, binomial_interval, combine, compare, effect, equals,
                            correlation_interval, fit_loglog_slope, holds, holds_for_all, mean_interval, precondition,
                            proportion, within, within_group_correlation)


def _interval(low, high):
    return Interval((low + high) / 2, low, high, 0.95, "test")


@pytest.mark.parametrize("low, high, verdict", [
    (0.4, 0.6, REPLICATED), (1.2, 1.5, REFUTED), (0.9, 1.2, INCONCLUSIVE), (-0.5, -0.1, REFUTED)])
def test_compare_inside_outside_straddle(low, high, verdict):
    assert compare(_interval(low, high), 0.0, 1.0).verdict == verdict


def test_exact_binomial_interval_matches_clopper_pearson():
    ci = binomial_interval(0, 10)
    assert ci.low == 0 and ci.high == pytest.approx(1 - 0.025 ** (1 / 10))
    assert proportion(95, 100, low=0.5).verdict == REPLICATED
    assert proportion(10, 100, low=0.5).verdict == REFUTED


def test_mean_interval_covers_the_mean_most_of_the_time():
    rng = np.random.default_rng(0)
    for n in (5, 30):
        hits = sum(mean_interval(rng.normal(1.0, 1.0, n), seed=i).low <= 1.0 <= mean_interval(
            rng.normal(1.0, 1.0, n), seed=i).high for i in range(50))
        assert hits >= 38  # loose: about 95% of 50, allowing for BCa's small-sample undercoverage


def test_mean_interval_of_equal_samples_and_bad_samples():
    assert mean_interval([2.0, 2.0, 2.0]).low == 2.0
    with pytest.raises(InvalidArgumentError, match="NaN"):
        mean_interval([1.0, np.nan])
    with pytest.raises(InvalidArgumentError, match="at least 2"):
        mean_interval([1.0])


def test_too_few_or_diverged_samples_make_the_rule_inconclusive():
    assert within([1.0], 0, 2).verdict == INCONCLUSIVE
    verdict = within([1.0, float("nan"), 1.2], 0, 2, what="sharpness")
    assert verdict.verdict == INCONCLUSIVE and "sharpness" in verdict.reason and "NaN" in verdict.reason


def test_universal_statements_and_combination():
    assert holds_for_all(100).verdict == REPLICATED
    assert holds_for_all(100, counterexample="x = 3").verdict == REFUTED
    assert holds(True, "a").verdict == REPLICATED and holds(False, "a").verdict == REFUTED
    parts = [Verdict(REPLICATED, "a"), Verdict(INCONCLUSIVE, "b"), Verdict(REFUTED, "c")]
    assert combine(parts).verdict == REFUTED
    assert combine(parts[:2]).verdict == INCONCLUSIVE
    gated = combine(parts, preconditions=[precondition(False, "runs diverged")])
    assert gated.verdict == INCONCLUSIVE and "runs diverged" in gated.reason
    assert precondition(True, "fine") is None


def test_loglog_slope():
    x = np.array([1, 2, 4, 8.0])
    assert fit_loglog_slope(x, 3 / x)[0] == pytest.approx(-1.0)


def test_verdict_names_are_checked():
    with pytest.raises(InvalidArgumentError):
        Verdict("confirmed", "")


def test_verdicts_carry_their_numbers_and_margin():
    inside = compare(_interval(0.4, 0.6), 0.0, 1.0, what="x")
    assert inside.margin == pytest.approx(0.4) and inside.margin_halfwidths == pytest.approx(4.0)
    assert inside.as_dict()["interval"]["low"] == 0.4 and inside.as_dict()["predicted"] == {"low": 0.0, "high": 1.0}
    outside = compare(_interval(1.2, 1.5), 0.0, 1.0)
    assert outside.verdict == REFUTED and outside.margin == pytest.approx(0.2)
    on_bound = compare(_interval(-0.225, 0.006), low=0.0)
    assert on_bound.verdict == INCONCLUSIVE and on_bound.margin == pytest.approx(-0.006)
    assert Verdict.from_dict(inside.as_dict()).margin == inside.margin


@pytest.mark.parametrize("low, high, claimed, verdict", [
    (0.1, 2.0, "greater", REPLICATED),      # above 0, reaches the size that counts
    (0.1, 0.9, "greater", REFUTED),         # real but smaller than the size that counts
    (-0.5, 0.5, "greater", REFUTED),        # inside +-1: no effect of the claimed size
    (-2.0, -1.5, "greater", REFUTED),       # the other sign
    (-0.5, 1.5, "greater", INCONCLUSIVE),   # holds both 0 and the size that counts
    (-2.0, -0.1, "less", REPLICATED),
    (-0.5, 0.5, "none", REPLICATED),
    (0.2, 1.5, "none", REFUTED),
    (-0.5, 1.5, "none", INCONCLUSIVE),
])
def test_effect_with_a_smallest_size_that_counts(low, high, claimed, verdict, monkeypatch):
    import sgdcheck.stats as stats
    monkeypatch.setattr(stats, "mean_interval", lambda values, confidence=0.95: _interval(low, high))     # any level
    result = stats.effect([0.0, 1.0], 1.0, claimed, what="gain")
    assert result.verdict == verdict
    assert (result.margin > 0) == (verdict != INCONCLUSIVE)


def test_effect_rejects_a_missing_size_or_direction():
    from sgdcheck.stats import effect
    with pytest.raises(InvalidArgumentError, match="smallest effect"):
        effect([1.0, 2.0], 0.0, "greater")
    with pytest.raises(InvalidArgumentError, match="claimed"):
        effect([1.0, 2.0], 0.1, "better")


def test_combine_corrects_refutations_for_the_family():
    barely = [1.02, 1.10, 1.06, 1.14, 1.08]        # t interval just above 1
    single = at_most(barely, 1.0)
    assert single.verdict == REFUTED
    many = combine([single] + [at_most([0.1, 0.2, 0.15], 1.0)] * 9)
    assert many.verdict == INCONCLUSIVE and many.correction == "Bonferroni over 10 parts"
    assert combine([single, holds(True, "exact")]).verdict == REFUTED      # exact parts need no correction
    nested = combine([combine([single]), at_most([0.1, 0.2, 0.15], 1.0)])
    assert len(nested.parts) == 2 and nested.rule == "combine"


def test_median_of_means_is_not_carried_by_one_extreme_sample():
    from sgdcheck.stats import median_of_means
    x = np.ones((100, 3))
    x[7] = 1e6                                  # one rare chain
    assert np.allclose(median_of_means(x, 10), 1.0) and x.mean(0)[0] > 1e4
    with pytest.raises(InvalidArgumentError, match="blocks"):
        median_of_means(x, 0)


# --- non-finite input, margins and levels ---------------------------------------------------------------------

def test_effect_none_undecided_outside_the_band_is_inconclusive_not_a_crash():
    from sgdcheck.stats import effect
    verdict = effect([4.5, 6.5, 8.5], 1.0, "none")            # 95% interval clear of +-1, 97.5% interval holds 0
    assert verdict.verdict == INCONCLUSIVE and verdict.margin < 0
    assert combine([verdict, at_most([0.1, 0.2, 0.15], 1.0)]).verdict == INCONCLUSIVE


def test_a_refuted_none_part_is_retested_inside_combine_without_a_crash():
    from sgdcheck.stats import effect
    refuted = effect([1.5, 2.5, 2.0, 1.8, 2.2], 1.0, "none")
    assert refuted.verdict == REFUTED
    combined = combine([refuted, at_most([0.1, 0.2, 0.15], 1.0)])
    assert combined.verdict in (REFUTED, INCONCLUSIVE) and combined.correction == "Bonferroni over 2 parts"


@pytest.mark.parametrize("verdict", [
    lambda: compare(Interval(np.nan, np.nan, np.nan, 0.95, "least squares"), 0.5, 2.0),
    lambda: compare(_interval(0.1, 0.2), low=np.nan),
    lambda: equals(5.0, np.inf, rtol=0.1),
    lambda: equals(5.0, np.nan),
    lambda: equals(np.inf, 5.0),
    lambda: holds_for_all(np.nan),
    lambda: at_most([1.0, 2.0, 3.0], np.nan),
    lambda: at_least([1.0, 2.0, 3.0], np.nan),
    lambda: within([1.0, 2.0, 3.0], np.nan, 4.0),
    lambda: proportion(np.nan, 10, low=0.5),
    lambda: proportion(3, np.nan, low=0.5),
    lambda: holds(np.nan, "x"),
    lambda: effect([1.0, 2.0, 3.0], np.nan, "greater"),
])
def test_non_finite_predictions_bounds_counts_and_values_are_inconclusive(verdict):
    result = verdict()
    assert result.verdict == INCONCLUSIVE and result.reason


def _shifted(rule, values, shift):
    return rule(np.asarray(values) + shift).verdict


MARGIN_RULES = {
    "at_most": lambda v: at_most(v, 1.0),
    "within": lambda v: within(v, 0.0, 1.0),
    "greater": lambda v: effect(v, 0.5, "greater"),
    "less": lambda v: effect(v, 0.5, "less"),
    "none": lambda v: effect(v, 0.5, "none"),
}


@pytest.mark.parametrize("name", sorted(MARGIN_RULES))
def test_the_margin_is_the_shift_that_changes_the_verdict(name):
    """A decided verdict survives any shift of the data smaller than its margin and changes at a shift just
    beyond it; an undecided one stays undecided below |margin| and decides just beyond."""
    rule = MARGIN_RULES[name]
    rng = np.random.default_rng(1)
    for _ in range(300):
        values = rng.normal(rng.uniform(-1.5, 2.5), rng.uniform(0.05, 1.0), rng.integers(3, 12))
        verdict = rule(values)
        m = abs(verdict.margin)
        if not np.isfinite(m) or m < 1e-9:
            continue
        assert all(_shifted(rule, values, s * m * (1 - 1e-7)) == verdict.verdict for s in (-1, 1)), (values, verdict)
        assert any(_shifted(rule, values, s * m * (1 + 1e-7)) != verdict.verdict for s in (-1, 1)), (values, verdict)


def test_a_refuted_none_margin_counts_the_band_not_only_zero():
    from sgdcheck.stats import effect
    values = np.array([0.9, 1.1, 1.0, 0.95, 1.05])          # clearly non-zero, reaching only just beyond 1
    verdict = effect(values, 1.0, "none")
    assert verdict.verdict == REFUTED
    assert verdict.margin <= verdict.interval.high - 1.0 + 1e-12        # not the distance to 0 (about 0.87)
    assert verdict.margin < 0.2 < verdict.interval.low


def test_a_none_part_is_corrected_once_and_nested_combinations_once_for_the_whole_family():
    from sgdcheck.stats import effect
    refuted = effect([1.5, 2.5, 2.0, 1.8, 2.2], 1.0, "none")
    assert refuted.interval.confidence == pytest.approx(0.975)
    combined = combine([refuted, at_most([0.1, 0.2, 0.15], 1.0)])
    part = next(p for p in combined.parts if p.what == refuted.what)
    assert part.interval.confidence == pytest.approx(1 - 0.05 / 4)        # k = 2, two directions
    barely = at_most([1.5, 1.7, 1.6, 1.8, 1.55], 1.0)
    assert barely.verdict == REFUTED
    nested = combine([combine([barely, at_most([0.1, 0.2, 0.15], 1.0)]), at_most([0.1, 0.3, 0.2], 1.0)])
    part = next(p for p in nested.parts if p.verdict == REFUTED or p.interval.estimate > 1)
    assert part.interval.confidence == pytest.approx(1 - 0.05 / 3)        # three parts, corrected once


def test_every_statistical_part_goes_through_the_correction():
    from sgdcheck.stats import slope_interval
    by_hand = compare(Interval(1.0, 0.8, 1.2, 0.95, "least squares ± 1.96 se"), 0.5, 2.0)
    with pytest.raises(InvalidArgumentError, match="cannot be recomputed"):
        combine([by_hand, at_most([0.1, 0.2, 0.15], 1.0)])
    x = np.array([1.0, 2, 3, 4, 5, 6])
    y = 3 * x + np.array([0.1, -0.2, 0.05, 0.3, -0.1, 0.0])
    slope = slope_interval(x, y)
    from scipy import stats as sps
    fit = sps.linregress(x, y)
    assert slope.half_width == pytest.approx(sps.t.ppf(0.975, 4) * fit.stderr)      # 2.78 se, not 1.96
    too_steep = compare(slope, 0.5, 2.0, what="slope")
    assert too_steep.verdict == REFUTED
    combined = combine([too_steep, at_most([0.1, 0.2, 0.15], 1.0)])
    assert combined.correction == "Bonferroni over 2 parts"
    assert combined.parts[0].interval.confidence == pytest.approx(0.975)


def test_infinite_margins_stay_numbers_through_json():
    import json
    from sgdcheck.jsonable import jsonable
    exact = compare(Interval(1.0, 1.0, 1.0, 0.95, "all samples equal"), 0.0, 2.0)
    assert exact.margin_halfwidths == np.inf
    back = Verdict.from_dict(json.loads(json.dumps(jsonable(exact.as_dict()))))
    assert back.margin_halfwidths == np.inf and isinstance(back.margin_halfwidths, float)
    from sgdcheck.stats import decided_by
    other = compare(_interval(0.4, 0.6), 0.0, 1.0)
    assert decided_by(REPLICATED, "", "cases", [back, other], min, [back, other]).margin == other.margin


def test_within_group_correlation_removes_a_correlation_that_lives_between_groups():
    rng = np.random.default_rng(0)
    groups = np.repeat([0, 1, 2], 20)
    x = groups * 10.0 + rng.normal(size=60)
    y = groups * 10.0 + rng.normal(size=60)          # correlated only through the groups
    assert correlation_interval(x, y).estimate > 0.95
    inside = within_group_correlation(x, y, groups)
    assert inside.low < 0 < inside.high
    assert "3 groups" in inside.method


def test_within_group_correlation_matches_the_partial_correlation_and_its_degrees_of_freedom():
    rng = np.random.default_rng(1)
    groups = np.repeat(["a", "b"], 15)
    x = rng.normal(size=30) + (groups == "a") * 5
    y = 0.8 * x + rng.normal(scale=0.5, size=30)
    dx = x - np.where(groups == "a", x[groups == "a"].mean(), x[groups == "b"].mean())
    dy = y - np.where(groups == "a", y[groups == "a"].mean(), y[groups == "b"].mean())
    r = within_group_correlation(x, y, groups)
    assert r.estimate == pytest.approx(np.corrcoef(dx, dy)[0, 1])
    half = 1.959964 / np.sqrt(30 - 2 - 2)
    assert r.high == pytest.approx(np.tanh(np.arctanh(r.estimate) + half), rel=1e-5)


@pytest.mark.parametrize("x, y, groups, match", [
    ([1, 2, 3], [1, 2, 3], [0, 0], "equal lengths"),
    ([1, 2, 3, 4], [1, 2, 3, 4], [0, 0, 1, 1], "3 pairs more than groups"),
    ([1, 2, np.nan, 4, 5, 6], [1, 2, 3, 4, 5, 6], [0] * 6, "NaN"),
    ([1, 1, 1, 2, 2, 2], [1, 2, 3, 4, 5, 6], [0, 0, 0, 1, 1, 1], "does not vary"),
])
def test_within_group_correlation_rejects_bad_input(x, y, groups, match):
    with pytest.raises(InvalidArgumentError, match=match):
        within_group_correlation(x, y, groups)


def test_correlation_difference_interval_covers_the_true_difference_at_its_level():
    """Zou's interval for r1 - r2 of two independent samples: coverage near 95% by simulation, for a difference
    near the boundary (r1 = 0.9) where a normal interval on r1 - r2 would be off."""
    from sgdcheck.stats import correlation_difference_interval
    rng = np.random.default_rng(2)
    rho1, rho2, n1, n2 = 0.9, 0.3, 25, 30

    def draw(rho, n):
        x = rng.normal(size=n)
        return x, rho * x + np.sqrt(1 - rho**2) * rng.normal(size=n)

    covered = 0
    trials = 2000
    for _ in range(trials):
        interval = correlation_difference_interval(*draw(rho1, n1), *draw(rho2, n2))
        covered += interval.low <= rho1 - rho2 <= interval.high
    assert 0.93 <= covered / trials <= 0.97


def test_correlation_difference_interval_is_antisymmetric_and_recomputes_at_another_level():
    from sgdcheck.stats import correlation_difference_interval
    rng = np.random.default_rng(3)
    x1, x2 = rng.normal(size=20), rng.normal(size=40)
    y1, y2 = x1 + rng.normal(size=20), -x2 + 2 * rng.normal(size=40)
    forward, backward = correlation_difference_interval(x1, y1, x2, y2), correlation_difference_interval(x2, y2, x1, y1)
    assert forward.estimate == pytest.approx(-backward.estimate)
    assert (forward.low, forward.high) == pytest.approx((-backward.high, -backward.low))
    wider = forward.at(0.99)
    assert wider.low < forward.low < forward.estimate < forward.high < wider.high
    with pytest.raises(InvalidArgumentError):
        correlation_difference_interval(x1[:3], y1[:3], x2, y2)


def test_at_margin_counts_a_decision_by_a_hair_as_undecided():
    from sgdcheck.stats import at_margin
    wide = compare(_interval(0.5, 0.9), low=0.0)              # 0.5 from the bound, half-width 0.2: +2.5 hw
    thin = compare(_interval(0.02, 0.42), low=0.0)            # +0.1 hw
    assert at_margin(wide, 1.0) is wide
    undecided = at_margin(thin, 1.0)
    assert undecided.verdict == INCONCLUSIVE and thin.verdict == REPLICATED
    assert undecided.margin_halfwidths == pytest.approx(0.1 - 1.0) and undecided.margin < 0
    assert "by +0.10 half-widths only" in undecided.reason and undecided.interval == thin.interval
    refuted = compare(_interval(-0.42, -0.02), low=0.0)
    assert at_margin(refuted, 1.0).verdict == INCONCLUSIVE and at_margin(refuted, 0.0) is refuted
    open_ = compare(_interval(-0.1, 0.3), low=0.0)
    assert at_margin(open_, 1.0) is open_
    with pytest.raises(InvalidArgumentError):
        at_margin(wide, -1.0)
