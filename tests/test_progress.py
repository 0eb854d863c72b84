"""Progress of long work: the lines, the relay from pytest-xdist workers, and what a session prints."""
import json
import time

import pytest

from sgdcheck import progress

pytest_plugins = ["pytester"]


def test_lines_name_the_run_its_count_and_its_numbers():
    event = {"kind": "run", "label": "fnn x0.2 fashion-mnist n=1000 gd lr=0.5 seed 3", "seconds": 41.2, "steps": 2310,
             "loss": 9.8e-4, "runs": 1, "done": 3, "planned": 12, "where": ""}
    assert progress.run_line(event) == ("sgdcheck: run 3 of 12 done: fnn x0.2 fashion-mnist n=1000 gd lr=0.5 seed 3, "
                                        "2310 steps, loss 9.80e-04, 41 s")
    assert progress.run_line({**event, "planned": None, "done": None}).startswith("sgdcheck: run done: fnn")
    assert progress.run_line({**event, "done": 13}).startswith("sgdcheck: run done:")      # beyond the plan
    status = progress.status_line({"kind": "step", "label": "x", "step": 1200, "max_steps": 4000, "loss": 3.21e-3,
                                   "models": 15})
    assert status == "sgdcheck: x (15 models): step 1200/4000 (30%), loss 0.00321"


def test_events_reach_the_sink_and_steps_are_rate_limited():
    events = []
    progress.set_sink(events.append)
    try:
        progress.plan(2)
        with progress.running("demo"):
            for step in range(1, 1001):
                progress.step(step, 1000, 1.0 / step)
        progress.run_finished("demo", seconds=1.0, steps=1000, loss=1e-3)
    finally:
        progress.set_sink(None)
        progress.plan(0)
    steps = [e for e in events if e["kind"] == "step"]
    assert 1 <= len(steps) <= 3 and steps[-1]["step"] == 1000 and steps[0]["label"] == "demo"
    assert events[-1]["kind"] == "run" and events[-1]["done"] == 1 and events[-1]["planned"] == 2


def test_the_relay_passes_on_complete_lines_only(tmp_path):
    lines = []
    relay = progress.Relay(tmp_path, lines.append, interval_s=0.05)
    event = {"kind": "run", "label": "a", "runs": 1, "done": None, "planned": None}
    sink = progress.FileSink(tmp_path / "gw0.jsonl")
    sink(event)
    sink({"kind": "step", "label": "a", "step": 1, "max_steps": 2, "loss": 1.0})          # steps stay on the worker
    with open(tmp_path / "gw1.jsonl", "w") as partial:
        partial.write(json.dumps({**event, "label": "b"}))                              # no newline yet
    relay.start()
    time.sleep(0.3)
    assert lines == ["[gw0] sgdcheck: run done: a"]
    with open(tmp_path / "gw1.jsonl", "a") as partial:
        partial.write("\n")
    relay.stop()
    assert lines == ["[gw0] sgdcheck: run done: a", "[gw1] sgdcheck: run done: b"]


TRAINING_TEST = '''
from sgdcheck.runs import RunConfig, cached_run


def test_trains():
    config = RunConfig(dataset="digits", n=60, model="fnn", model_options=(("inputs", 64), ("hidden", (8,))),
                       lr=0.5, max_steps=20, eval_every=5, seed={seed})
    assert cached_run(config).steps == 20
'''


@pytest.mark.parametrize("workers", [0, 2])
def test_a_session_prints_one_line_per_finished_run(pytester, monkeypatch, tmp_path, workers):
    monkeypatch.setenv("SGDCHECK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CI", "true")
    for seed in (0, 1):
        pytester.makepyfile(**{f"test_train_{seed}": TRAINING_TEST.format(seed=seed)})
    result = pytester.runpytest_subprocess(*(["-n", str(workers)] if workers else []))
    result.assert_outcomes(passed=2)
    prefix = "[[]gw?[]] " if workers else ""
    result.stdout.fnmatch_lines([f"*{prefix}sgdcheck: run done: fnn x1 digits n=60 gd lr=0.5 seed ?, 20 steps, loss *"] * 2)
    assert "step 20/20" not in result.stdout.str()                                         # quiet under CI
