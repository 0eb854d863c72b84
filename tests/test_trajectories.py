from dataclasses import replace

import pytest
import torch

from sgdcheck import InvalidArgumentError
from sgdcheck import trajectories as trajectories_module
from sgdcheck.curvature import sharpness
from sgdcheck.losses import mse_loss
from sgdcheck.runs import Ensemble, RunConfig, compute, is_done, run, run_count, run_ensemble, trained_model, training_data
from sgdcheck.trajectories import (ERROR, LOSS, PARAMETERS, Measure, Tracked, function_key, sharpness_measure,
                                   track)
from sgdcheck.train import full_loss

CONFIG = RunConfig(dataset="digits", n=100, model="fnn", model_options=(("inputs", 64), ("hidden", (16,))),
                   lr=0.5, max_steps=60, eval_every=10, dtype="float64")


def _norm(model, x, y):
    return float(sum(p.detach().pow(2).sum() for p in model.parameters()))


NORM = Measure("norm", _norm)


@pytest.mark.parametrize("batch_size", [None, 10])
def test_values_along_a_run_equal_those_of_runs_trained_to_each_checkpoint(batch_size, tmp_path):
    """One tracked run per seed gives what separately trained checkpoints give: step k's values are those of the
    run of the same configuration stopped after k steps (GD, and SGD: the same batches are drawn)."""
    config = replace(CONFIG, optimizer="gd" if batch_size is None else "sgd", batch_size=batch_size)
    job = Tracked(Ensemble(config, (0, 1), (0.5,)), at=(0, 20, 45), measures=(LOSS, sharpness_measure(1e-6), NORM))
    found = compute(job, tmp_path)
    assert [t.steps for t in found] == [[0, 20, 45, 60], [0, 20, 45, 60]]           # and the last step
    x, y = training_data(config)
    for trajectory in found:
        for step in (20, 45, 60):
            alone = run(replace(config, seed=trajectory.seed, max_steps=step))
            model = trained_model(alone, replace(config, seed=trajectory.seed))
            assert trajectory.at(step, "loss") == pytest.approx(full_loss(model, dict(model.named_parameters()),
                                                                          x, y, mse_loss), rel=1e-9)
            assert trajectory.at(step, "norm") == pytest.approx(_norm(model, x, y), rel=1e-9)
            assert trajectory.at(step, "sharpness") == pytest.approx(
                float(sharpness(model, x, y, mse_loss, tol=1e-6, chunk_size=len(x))), rel=1e-4)
    plain = run_ensemble(config, (0, 1), (0.5,))
    assert [t.result.loss for t in found] == pytest.approx([r.loss for r in plain], rel=1e-12)   # checkpoints change nothing
    assert found[0].result.config == plain[0].config


def test_a_trajectory_is_cached_and_keyed_by_what_it_records(tmp_path, monkeypatch):
    job = Tracked(Ensemble(CONFIG, (0,), (0.5,)), at=range(0, 61, 30), measures=(LOSS,))
    assert not is_done(job, tmp_path) and run_count([job, CONFIG]) == 2
    first = compute(job, tmp_path)
    assert is_done(job, tmp_path)
    calls = []
    real = trajectories_module.track
    monkeypatch.setattr(trajectories_module, "track", lambda *a, **k: calls.append(k["at"]) or real(*a, **k))
    assert compute(job, tmp_path)[0].values == first[0].values and calls == []
    compute(Tracked(job.ensemble, at=(0, 10), measures=(LOSS,)), tmp_path)             # other steps
    compute(Tracked(job.ensemble, at=(0, 30, 60), measures=(ERROR,)), tmp_path)      # another measure
    compute(Tracked(job.ensemble, at=(0, 30, 60), measures=(LOSS,), stop_below=("loss", 0.1)), tmp_path)
    assert len(calls) == 3


def test_a_measure_is_keyed_by_its_code():
    def one(model, x, y):
        return 1.0

    def documented():
        def one(model, x, y):
            """Documented."""
            return 1.0   # the same code
        return one

    def two(model, x, y):
        return 2.0

    assert function_key(one).split(":")[1] == function_key(documented()).split(":")[1]
    assert function_key(one).split(":")[1] != function_key(two).split(":")[1]
    assert Measure("a", one).key() != Measure("a", one, (("k", 2),)).key()
    with pytest.raises(InvalidArgumentError, match="source file"):
        function_key(len)


def test_stop_below_ends_a_run_at_the_first_checkpoint_that_meets_it():
    x, y = training_data(CONFIG)
    build = lambda seed: trained_model(run(replace(CONFIG, seed=seed, max_steps=0)), replace(CONFIG, seed=seed))
    full = track(build, (0,), (0.5,), x, y, at=range(0, 61, 10), measures=(LOSS,), max_steps=60)[0]
    goal = full.at(30, "loss") * 1.0000001
    stopped = track(build, (0,), (0.5,), x, y, at=range(0, 61, 10), measures=(LOSS,), max_steps=60,
                    stop_below=("loss", goal))[0]
    assert stopped.steps == [0, 10, 20, 30] and stopped.result.steps == 30
    assert stopped["loss"] == full["loss"][:4]


def test_a_diverged_run_is_not_measured_after_it_diverged():
    x, y = training_data(CONFIG)
    build = lambda seed: trained_model(run(replace(CONFIG, seed=seed, max_steps=0)), replace(CONFIG, seed=seed))
    good, bad = track(build, (0,), (0.5, 1e3), x, y, at=(0, 5), measures=(LOSS, PARAMETERS), max_steps=40)
    assert good.steps == [0, 5, 40] and not good.result.diverged
    assert bad.result.diverged and bad.steps[-1] <= 5 and set(bad["parameters"][0]) == set(good["parameters"][0])


def test_bad_trajectory_requests_are_named():
    ensemble = Ensemble(CONFIG, (0,), (0.5,))
    with pytest.raises(InvalidArgumentError, match="0..max_steps = 0..60"):
        Tracked(ensemble, at=(0, 61), measures=(LOSS,))
    with pytest.raises(InvalidArgumentError, match="gd or sgd"):
        Tracked(Ensemble(replace(CONFIG, optimizer="adam"), (0,), (0.5,)), at=(0,), measures=(LOSS,))
    x, y = training_data(CONFIG)
    with pytest.raises(InvalidArgumentError, match="distinct names"):
        track(lambda s: None, (0,), (0.5,), x, y, at=(0,), measures=(LOSS, LOSS), max_steps=10)
    with pytest.raises(InvalidArgumentError, match="not recorded"):
        track(lambda s: None, (0,), (0.5,), x, y, at=(0,), measures=(LOSS,), max_steps=10, stop_below=("error", 0))
    with pytest.raises(InvalidArgumentError, match="needs a name"):
        Measure("", _norm)
    with pytest.raises(KeyError, match="no measure 'error'"):
        compute(Tracked(ensemble, at=(0,), measures=(LOSS,)), None)[0]["error"]
