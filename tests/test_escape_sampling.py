import math

import pytest

from sgdcheck.errors import InvalidArgumentError
from sgdcheck.escape_sampling import probes_with_sampling
from sgdcheck.escape_table import probe_minimum
from sgdcheck.runs import RunConfig, run

CONFIG = RunConfig(dataset="digits", n=60, model="fnn", model_options=(("inputs", 64), ("hidden", (16,))), lr=0.5,
                   max_steps=6000, eval_every=100, loss_goal=1e-2)
PROBE = dict(lr=0.5, polish_goal=1e-5, polish_steps=20000, burst_steps=1)


@pytest.fixture(scope="module")
def record():
    record = run(CONFIG)
    assert record.converged
    return record


def test_the_probes_start_where_the_table_s_probes_start_and_draw_batches_their_own_way(record):
    rows = probes_with_sampling(record, CONFIG, "digits", (2, 30), 200, 2000, sampling="reshuffling", **PROBE)
    table = probe_minimum(record, CONFIG, "digits", (30,), 200, 2000, math.log(2) / 200, reshuffled_batch=2, **PROBE)
    assert [r["run"] for r in rows] == ["SGD B=2, reshuffling", "SGD B=30, reshuffling"]
    assert all(r["sampling"] == "reshuffling" and r["polished"] for r in rows)
    theirs = next(r for r in table if r["run"] == "SGD B=2, reshuffling")
    mine = rows[0]
    assert mine["start_loss"] == theirs["start_loss"] and mine["a"] == theirs["a"]      # the same polished minimum
    assert mine["history"] == theirs["history"] and mine["left"] == theirs["left"]    # the same probe, same seed
    for r in rows:
        assert r["escaped"] == (r["left"] and r["returned"]) and (r["leave_step"] is not None) == r["left"]
        assert r["history"][0][0] == 0 and r["steps"] == r["history"][-1][0]


def test_the_theory_s_sampling_and_unknown_samplings_are_refused(record):
    with pytest.raises(InvalidArgumentError, match="escape_table"):
        probes_with_sampling(record, CONFIG, "digits", (2,), 200, 2000, sampling="subsets", **PROBE)
    with pytest.raises(InvalidArgumentError, match="sampling must be one of"):
        probes_with_sampling(record, CONFIG, "digits", (2,), 200, 2000, sampling="shuffled", **PROBE)
