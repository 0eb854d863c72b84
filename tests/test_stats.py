import numpy as np
import pytest

from sgdcheck import InvalidArgumentError
from sgdcheck.stats import (INCONCLUSIVE, REFUTED, REPLICATED, Interval, Verdict, binomial_interval, combine, compare,
                            fit_loglog_slope, holds, holds_for_all, mean_interval, precondition, proportion, within)


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
