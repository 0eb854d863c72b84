import math
from dataclasses import replace

import pytest

from sgdcheck.escape_table import GD_PAST_EDGE, probe_minimum
from sgdcheck.runs import RunConfig, run
from sgdcheck.stability import ESCAPES, NOT_PREDICTED, STAYS

CONFIG = RunConfig(dataset="digits", n=60, model="fnn", model_options=(("inputs", 64), ("hidden", (16,))), lr=0.5,
                   max_steps=6000, eval_every=100, loss_goal=1e-2)


@pytest.fixture(scope="module")
def rows():
    record = run(CONFIG)
    assert record.converged
    return probe_minimum(record, CONFIG, "digits", (2, 60 // 2), 200, 2000, math.log(2) / 200, lr=0.5,
                         polish_goal=1e-5, polish_steps=20000, burst_steps=1, reshuffled_batch=2)


def test_one_row_per_probe_with_its_prediction_made_before_it_ran(rows):
    assert [r["run"] for r in rows] == ["SGD B=2", "SGD B=30", "GD eta=2.5/a", "SGD B=2, reshuffling"]
    assert all(r["polished"] and r["start_loss"] <= 1e-5 for r in rows)
    assert len({(r["a"], r["s"]) for r in rows}) == 1                     # one minimum, measured once
    gd = rows[2]
    assert gd["batch"] == gd["n"] == 60 and gd["lr"] == pytest.approx(GD_PAST_EDGE / gd["a"])
    assert gd["predicted"] == ESCAPES and gd["rule_value"] == pytest.approx(GD_PAST_EDGE / 2)
    assert all(r["predicted"] in (ESCAPES, STAYS, NOT_PREDICTED) for r in rows)
    assert [r["sampling"] for r in rows] == ["subsets", "subsets", None, "reshuffling"]


def test_a_row_says_what_the_run_did(rows):
    for r in rows:
        assert r["escaped"] == (r["left"] and r["returned"])
        assert (r["leave_step"] is not None) == r["left"]
        assert r["history"][0][0] == 0 and r["steps"] == r["history"][-1][0]
        if r["returned"]:
            assert r["leave_step"] < r["return_step"] and math.isfinite(r["a_after"])
        if r["escaped"] and r["batch"] < r["n"]:
            assert math.isfinite(r["s_after"])
    assert rows[2]["escaped"] and rows[0]["left"]          # GD a quarter past its edge and SGD B = 2 leave


def test_the_rows_are_a_pure_function_of_the_run_and_the_probe(rows):
    record = run(CONFIG)
    again = probe_minimum(record, CONFIG, "digits", (60 // 2,), 200, 2000, math.log(2) / 200, lr=0.5,
                          polish_goal=1e-5, polish_steps=20000, burst_steps=1)
    assert [r["run"] for r in again] == ["SGD B=30", "GD eta=2.5/a"]
    for mine, theirs in zip(again, rows[1:3]):
        assert mine["history"] == theirs["history"] and mine["left"] == theirs["left"]
