import numpy as np
import pytest

from sgdcheck import InvalidArgumentError, shown
from sgdcheck.evidence import Evidence
from sgdcheck.jsonable import jsonable
from sgdcheck.quantity import display, is_quantity, non_numeric, numbers
from sgdcheck.scale import get_scale


def test_headline_values_must_be_numbers():
    evidence = Evidence(None, get_scale("smoke"))
    evidence.record(rate=0.5, per_seed=[1, 2.5], table={"a": np.float64(1.0), "b": True})
    with pytest.raises(InvalidArgumentError, match=r"record\(ratio=...\) takes numbers.*shown\(value, text\)"):
        evidence.record(ratio="1.25 (paper 6.6)")
    with pytest.raises(InvalidArgumentError, match="numbers"):
        shown("1.25", "text")
    assert non_numeric({"a": [1, "x"]}) == "str 'x'"


def test_a_quantity_keeps_its_number_and_shows_its_text():
    value = jsonable({"ratio": shown({"natural": 12.6, "random": 10.2}, "natural 12.6 vs random 10.2")})["ratio"]
    assert is_quantity(value) and value["value"] == {"natural": 12.6, "random": 10.2}
    assert display(value) == "natural 12.6 vs random 10.2"
    assert display(jsonable(shown(0.25, unit="share"))) == "0.25 share"
    assert numbers(value) == {"natural": 12.6, "random": 10.2}
    assert numbers({"x": [1.0, 2.0], "y": "inf"}) == {"x.0": 1.0, "x.1": 2.0, "y": float("inf")}


def test_a_headline_can_show_the_numbers_a_verdict_was_decided_on():
    from sgdcheck import at_least, holds, mean_interval

    gains = [0.01, 0.02, 0.015, 0.012]
    verdict = at_least(gains, 0.0, what="gain")
    quantity = shown(verdict, "{estimate:+.2%} [{low:+.2%}, {high:+.2%}], {margin:.1f} half-widths")
    interval = verdict.interval
    assert quantity.value == interval.estimate == pytest.approx(np.mean(gains))
    assert quantity.text == (f"{interval.estimate:+.2%} [{interval.low:+.2%}, {interval.high:+.2%}], "
                             f"{verdict.margin_halfwidths:.1f} half-widths")
    assert shown(mean_interval(gains)).text.startswith(f"{np.mean(gains):.4g} [")
    with pytest.raises(InvalidArgumentError, match="no interval"):
        shown(holds(True, "a plain statement"))


def test_seed_offsets_give_disjoint_seed_sets():
    plain, other = get_scale("full"), get_scale("full", 1000)
    assert plain.seeds == tuple(range(10)) and other.seeds == tuple(range(1000, 1010))
    assert other.seed_range(30)[0] == 1000 and not set(plain.seed_range(30)) & set(other.seed_range(30))
    with pytest.raises(InvalidArgumentError, match="seed offset"):
        get_scale("smoke", -1)
