import math

import numpy as np
import pytest

from sgdcheck.errors import InvalidArgumentError
from sgdcheck.looks import Design, decided_with_margin, design_for, seeds_needed, stop_reason, summary
from sgdcheck.stats import alpha_share, at_least, combine, holds, mean_interval, precondition, proportion


def test_design_spends_one_share_of_the_error_rate_per_look():
    design = Design(looks=3)
    assert design.share == pytest.approx(1 / 3) and design.level() == pytest.approx(1 - 0.05 / 3)
    fixed = Design(sequential=False, looks=3)
    assert fixed.planned == 1 and fixed.share == 1 and fixed.level() == pytest.approx(0.95)
    assert design_for("smoke").looks == 3 and design_for("smoke", max_seeds=7).max_seeds == 7


@pytest.mark.parametrize("bad", [dict(looks=0), dict(looks=9), dict(min_margin=-1), dict(min_margin=math.nan),
                                 dict(max_seeds=0), dict(max_seeds=2.5)])
def test_a_design_rejects_bad_numbers(bad):
    with pytest.raises(InvalidArgumentError):
        Design(**bad)


def test_alpha_share_widens_every_interval_and_verdicts_keep_the_asked_level():
    x = np.random.default_rng(0).normal(1.0, 1.0, 8)
    plain = mean_interval(x)
    with alpha_share(1 / 3):
        spent = mean_interval(x)
        verdict = at_least(x, 0.0)
    assert spent.confidence == pytest.approx(1 - 0.05 / 3) and spent.asked == 0.95
    assert spent.half_width > plain.half_width and spent.at(0.95).confidence == pytest.approx(0.95)   # outside
    assert verdict.level == 0.95 and verdict.interval.confidence == pytest.approx(1 - 0.05 / 3)
    assert mean_interval(x).confidence == 0.95                                 # the share ends with the block
    with pytest.raises(InvalidArgumentError):
        with alpha_share(0):
            pass


def test_a_family_correction_inside_a_look_divides_the_share_once():
    with alpha_share(0.5):
        refuted = [at_least(np.full(6, -1.0) + np.arange(6) * 0.01, 0.0), at_least(-np.arange(1, 7.0), 0.0)]
        whole = combine(refuted)
    levels = [p.interval.confidence for p in whole.parts]
    assert all(level == pytest.approx(1 - 0.05 * 0.5 / 2) for level in levels)


def test_stop_reasons():
    design = Design(looks=3, max_seeds=20, min_margin=1.0)
    wide = proportion(95, 100, low=0.5)                      # decided by many half-widths
    thin = proportion(60, 100, low=0.5)                      # 0.6 [0.497, 0.697]: undecided
    control = proportion(5, 100, low=0.5)                    # refuted
    assert stop_reason(design, 1, wide, control, 5, None) == "decided"
    assert stop_reason(design, 1, thin, control, 5, None) is None
    assert stop_reason(design, 2, thin, control, 10, 5) is None
    assert stop_reason(design, 3, thin, control, 20, 10) == "last look"
    assert stop_reason(design, 2, thin, control, 12, 6) == "cap"             # 24 seeds would pass 20
    assert stop_reason(design, 2, thin, control, 5, 5) == "fixed seeds"
    assert stop_reason(design, 1, holds(True, "x"), holds(False, "y"), 1, None) == "exact"
    failed = combine([thin], preconditions=[precondition(False, "runs converge")])
    assert stop_reason(design, 1, failed, control, 5, None) == "precondition"
    assert stop_reason(Design(sequential=False), 1, thin, control, 5, None) == "fixed design"
    assert stop_reason(design, 1, wide, proportion(56, 100, low=0.5), 5, None) is None   # control undecided


def test_conditional_power_grows_with_the_margin_and_with_the_seeds_left():
    from sgdcheck.looks import conditional_power

    level = 1 - 0.05 / 3
    powers = [conditional_power(m, 5, 20, 0.0, level) for m in (-0.99, -0.8, -0.5, -0.2)]
    assert powers == sorted(powers) and powers[0] < 0.01 and powers[-1] > 0.9
    assert conditional_power(-0.5, 5, 10, 0.0, level) < conditional_power(-0.5, 5, 20, 0.0, level)
    assert conditional_power(-0.5, 5, 20, 1.0, level) < conditional_power(-0.5, 5, 20, 0.0, level)
    assert conditional_power(None, 5, 20, 0.0, level) is None and conditional_power(-0.5, 5, 5, 0.0, level) is None
    assert conditional_power(-0.5, 1, 20, 0.0, level) is None                  # no spread from one seed


def test_a_hopeless_look_stops_for_futility_and_a_promising_one_goes_on():
    from sgdcheck.looks import futile, reachable_seeds

    design = Design(looks=3, max_seeds=20, min_margin=1.0)
    control = proportion(5, 100, low=0.5)
    assert reachable_seeds(design, 1, 5) == 20 and reachable_seeds(design, 2, 12) == 12
    assert reachable_seeds(design, 3, 5) == 5
    on_the_bound = proportion(50, 100, low=0.5)          # the estimate sits on the bound: m = -1
    assert futile(design, 1, on_the_bound, control, 5)
    assert stop_reason(design, 1, on_the_bound, control, 5, None) == "futile"
    assert futile(design, 1, on_the_bound, control, 3)
    assert stop_reason(design, 1, on_the_bound, control, 3, None) is None      # 3 seeds: too few to judge by
    assert not futile(design, 1, proportion(60, 100, low=0.5), control, 5)
    assert not futile(design, 1, proportion(95, 100, low=0.5), control, 5)   # decided: nothing pending
    assert stop_reason(design, 1, proportion(95, 100, low=0.5), on_the_bound, 5, None) == "futile"   # the control


def test_one_hopeless_part_does_not_stop_the_looks_while_the_other_may_still_decide():
    """A claim undecided on its bound beside a control 0.26 half-widths short of refuted (the smoke entry of
    wu2018.nonuniformity-tightness at seeds 0-4, whose control 5 more seeds refuted), and the other way round."""
    from sgdcheck.looks import FUTILITY, conditional_power, futile

    design = Design(looks=2, max_seeds=20, min_margin=1.0)
    x = np.random.default_rng(5).normal(1.0, 1.0, 5)
    hw = at_least(x, 0.0).interval.half_width
    on_bound = at_least(x, float(at_least(x, 0.0).interval.estimate))                # m = -1: power 0
    nearly = at_least(x, float(at_least(x, 0.0).interval.low) + 0.26 * hw)         # m = -0.26
    assert on_bound.verdict == nearly.verdict == "inconclusive"
    assert nearly.margin_halfwidths == pytest.approx(-0.26)
    assert conditional_power(nearly.margin_halfwidths, 5, 10, 0.0, design.level()) > 0.9 > FUTILITY
    assert not futile(design, 1, on_bound, nearly, 5) and not futile(design, 1, nearly, on_bound, 5)
    assert stop_reason(design, 1, on_bound, nearly, 5, None) is None                # look again, for the control
    assert futile(design, 1, on_bound, on_bound, 5)                                  # nothing left to decide
    assert stop_reason(design, 1, on_bound, on_bound, 5, None) == "futile"


def test_decided_with_margin_and_seeds_needed():
    assert decided_with_margin(holds(True, "x"), 1.0)
    assert not decided_with_margin(proportion(60, 100, low=0.5), 0.0)
    assert seeds_needed(0.0, 5, 1.0) == 20              # (2 / 1)^2 x 5
    assert seeds_needed(-0.5, 10, 1.0) == 160
    assert seeds_needed(-1.5, 10, 1.0) is None and seeds_needed(None, 10, 1.0) is None


def _held_by_a_twentieth_of_a_halfwidth():
    """A verdict replicated by +0.05 half-widths on 5 seeds, and the same held to 1 half-width by at_margin."""
    from sgdcheck.stats import at_margin

    x = np.random.default_rng(3).normal(1.0, 1.0, 5)
    raw = at_least(x, 0.0)
    raw = at_least(x, float(raw.interval.low) - 0.05 * raw.interval.half_width)
    return raw, at_margin(raw, 1.0)


def test_a_verdict_held_to_a_minimum_margin_is_judged_by_its_distance_from_the_bound():
    from sgdcheck.looks import FUTILITY, conditional_power, distance_halfwidths, futile, seeds_to_decide

    design = Design(looks=3, max_seeds=20, min_margin=1.0)
    raw, held = _held_by_a_twentieth_of_a_halfwidth()
    assert raw.margin_halfwidths == pytest.approx(0.05)
    assert held.verdict == "inconclusive" and held.held_to == 1.0 and held.margin_halfwidths == pytest.approx(-0.95)
    assert distance_halfwidths(held) == (pytest.approx(0.05), 1.0) and distance_halfwidths(raw) == (raw.margin_halfwidths, 0.0)
    control = proportion(5, 100, low=0.5)
    power = conditional_power(raw.margin_halfwidths, 5, 20, 1.0, design.level())
    assert power >= FUTILITY and not futile(design, 1, held, control, 5)      # ~1 at 20 seeds: look again
    # the margin it lacks, read as a distance from the bound, made the same verdict look hopeless
    assert conditional_power(held.margin_halfwidths, 5, 20, 0.0, design.level()) < FUTILITY
    assert seeds_to_decide(held, 5, 1.0) == seeds_needed(raw.margin_halfwidths, 5, 1.0) == 19   # 5 (2 / 1.05)^2
    assert seeds_needed(held.margin_halfwidths, 5, 1.0) > 19 * 20             # what the shifted margin implied
    assert seeds_to_decide(held, 5, 0.0) == 19                                # the held minimum, not the design's 0


def test_a_held_verdict_far_below_its_minimum_is_still_futile():
    from sgdcheck.looks import futile, seeds_to_decide
    from sgdcheck.stats import at_margin

    design = Design(looks=3, max_seeds=20, min_margin=1.0)
    x = np.random.default_rng(4).normal(1.0, 1.0, 10)
    raw = at_least(x, 0.0)
    on_bound = at_margin(at_least(x, float(raw.interval.low)), 1.0)            # replicated by 0 half-widths
    assert on_bound.held_to == 1.0 and on_bound.margin_halfwidths == pytest.approx(-1.0)
    assert futile(design, 2, on_bound, proportion(5, 100, low=0.5), 10)       # power 0.06 of reaching 1 at 20
    assert seeds_to_decide(on_bound, 10, 1.0) == 40                            # 10 (2 / 1)^2


def test_a_held_verdict_reads_back_from_a_report():
    from sgdcheck.stats import Verdict

    _, held = _held_by_a_twentieth_of_a_halfwidth()
    data = held.as_dict()
    assert data["held_to"] == 1.0 and Verdict.from_dict(data).held_to == 1.0
    assert "held_to" not in _held_by_a_twentieth_of_a_halfwidth()[0].as_dict()


def test_summary_reads_like_the_report():
    looks = [{"look": 1, "seeds": 5}, {"look": 2, "seeds": 10}]
    assert summary(looks, {"looks": 3}, "decided") == "decided at look 2 of 3, 10 seeds"
    assert summary(looks[:1], {"looks": 1}, "fixed design").startswith("5 seeds, one look")
    assert summary(looks, {"looks": 3}, "cap") == "reached the cap on seeds at look 2 of 3, 10 seeds"


def test_a_scale_at_a_later_look_doubles_every_seed_count_and_keeps_the_earlier_seeds_first():
    from sgdcheck.scale import get_scale

    scale = get_scale("smoke", 1000)
    assert scale.seeds == tuple(range(1000, 1005)) and scale.seed_factor == 1 and str(scale.at_look(2)).endswith("look 2")
    later = scale.at_look(3)
    assert later.seeds == tuple(range(1000, 1020)) and later.seeds[:3] == (1000, 1001, 1002)
    assert later.seed_range(2).blocks == ((1000, 1001), (1002, 1003), (1004, 1005, 1006, 1007))
    with pytest.raises(InvalidArgumentError):
        scale.at_look(0)


def test_a_first_look_runs_its_share_of_the_seeds_never_fewer_than_three():
    from sgdcheck.scale import first_look_seeds, get_scale

    assert [first_look_seeds(n, 0.5) for n in (1, 2, 3, 4, 5, 6, 10, 20)] == [1, 2, 3, 3, 3, 3, 5, 10]
    assert first_look_seeds(5, 1.0) == 5 and first_look_seeds(7, 0.5) == 4      # halves round up
    scale = get_scale("smoke").with_first_share(0.5)
    assert scale.seeds == (0, 1, 2) and scale.seed_range(10) == tuple(range(5))
    assert scale.at_look(2).seeds.blocks == ((0, 1, 2), (3, 4, 5))
    assert scale.at_look(3).seed_range(10).blocks == (tuple(range(5)), tuple(range(5, 10)), tuple(range(10, 20)))
    assert get_scale("smoke").seeds == tuple(range(5))                          # the fixed design: all of them
    with pytest.raises(InvalidArgumentError):
        get_scale("smoke").with_first_share(0)
    with pytest.raises(InvalidArgumentError):
        Design(first_share=1.5)


def test_the_scales_first_shares_and_a_claims_own():
    assert design_for("smoke").seed_share == 0.5 and design_for("paper").seed_share == 1.0
    assert design_for("smoke", first_share=0.8).seed_share == 0.8
    assert design_for("smoke", sequential=False).seed_share == 1.0


def test_every_interval_of_the_rules_is_built_at_the_looks_level():
    from sgdcheck.stats import correlation_difference_interval, effect, slope_interval, within_group_correlation

    rng = np.random.default_rng(2)
    u = rng.normal(size=20)
    v = u + rng.normal(size=20)
    with alpha_share(1 / 3):
        built = [effect(u + 1, 0.2, "greater").interval, slope_interval(u, v), proportion(8, 10, low=0.5).interval,
                 within_group_correlation(u, v, np.arange(20) % 2), correlation_difference_interval(u, v, u, -v)]
        none = effect(u, 0.2, "none").interval
    assert all(i.confidence == pytest.approx(1 - 0.05 / 3) and i.asked == 0.95 for i in built)
    assert none.confidence == pytest.approx(1 - 0.05 / 6) or none.confidence == pytest.approx(1 - 0.05 / 3)
