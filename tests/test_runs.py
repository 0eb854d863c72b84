import pytest

from sgdcheck import InvalidArgumentError
from dataclasses import replace

import torch

from sgdcheck.runs import (RunConfig, cache_dir, cached_ensemble, cached_run, is_cached, run, run_ensemble, run_many,
                           trained_model, training_data)

CONFIG = RunConfig(dataset="digits", n=100, model="fnn", model_options=(("inputs", 64), ("hidden", (16,))),
                   lr=0.5, max_steps=30, eval_every=10)


def test_a_run_is_a_pure_function_of_its_config():
    one, two = run(CONFIG), run(CONFIG)
    assert one.loss == two.loss and one.seed == 0


def test_an_ensemble_record_equals_the_single_run_of_its_seed_and_lr(tmp_path):
    config = replace(CONFIG, dtype="float64", loss_goal=0.2, max_steps=200)
    records = cached_ensemble(config, [0, 1], [0.3, 0.5], tmp_path)
    assert [r.lr for r in records] == [0.3, 0.5, 0.3, 0.5]
    single = run(replace(config, seed=1, lr=0.5))
    assert records[3].config == single.config and records[3].steps == single.steps
    assert all(torch.allclose(records[3].params[k], single.params[k], atol=1e-10) for k in single.params)
    assert cached_ensemble(config, [0, 1], [0.3, 0.5], tmp_path)[0].loss == records[0].loss
    with pytest.raises(InvalidArgumentError, match="ensembles"):
        run_ensemble(replace(config, optimizer="adam"), [0], [0.1])
    with pytest.raises(InvalidArgumentError, match="zero_error"):
        run_ensemble(replace(config, zero_error=True), [0], [0.1])


def test_cache_hits_and_a_failed_run_leaves_no_entry(tmp_path, monkeypatch):
    assert not is_cached(CONFIG, tmp_path)
    first = cached_run(CONFIG, tmp_path)
    assert is_cached(CONFIG, tmp_path) and cached_run(CONFIG, tmp_path).loss == first.loss
    other = RunConfig(**{**CONFIG.__dict__, "seed": 1})

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("sgdcheck.runs.train", killed)
    with pytest.raises(KeyboardInterrupt):
        cached_run(other, tmp_path)
    assert not is_cached(other, tmp_path)


def test_a_zero_error_run_fits_every_training_sample():
    config = replace(CONFIG, loss_goal=0.02, max_steps=3000, zero_error=True)
    record = run(config)
    model = trained_model(record, config)
    x, y = training_data(config)
    assert record.converged and record.loss <= 0.02
    assert bool((model(x).argmax(1) == y.argmax(1)).all())


def test_a_corrupt_cache_entry_is_recomputed(tmp_path):
    first = cached_run(CONFIG, tmp_path)
    entries = list(tmp_path.rglob("output.pkl"))
    for entry in entries:
        entry.write_bytes(b"truncated")
    again = cached_run(CONFIG, tmp_path)
    assert again.loss == first.loss
    assert all(entry.read_bytes() != b"truncated" for entry in entries)  # rewritten, not read


def test_submitit_local_executor_shares_the_cache(tmp_path):
    pytest.importorskip("submitit")
    configs = [CONFIG, RunConfig(**{**CONFIG.__dict__, "seed": 1})]
    results = run_many(configs, executor="local", location=tmp_path)
    assert [r.seed for r in results] == [0, 1]
    assert all(is_cached(c, tmp_path) for c in configs)
    assert run_many(configs, location=tmp_path)[1].loss == results[1].loss


def test_bad_configs_are_named(tmp_path):
    with pytest.raises(InvalidArgumentError, match="unknown optimizer"):
        RunConfig(optimizer="rmsprop")
    with pytest.raises(InvalidArgumentError, match="zero_error"):
        RunConfig(optimizer="lbfgs", loss_goal=1e-3, zero_error=True)
    with pytest.raises(InvalidArgumentError, match="executor"):
        run_many([CONFIG], executor="kubernetes", location=tmp_path)
    assert cache_dir(tmp_path) == tmp_path


def test_a_run_record_is_typed_and_says_whether_it_is_usable():
    from sgdcheck.runs import RunRecord

    record = run(replace(CONFIG, loss_goal=10.0))
    assert isinstance(record, RunRecord) and record.ok and record.converged and not record.diverged
    assert record.seed == CONFIG.seed and record.lr == CONFIG.lr and record.history[0][0] == 0
    assert record.result().steps == record.steps
    failed = replace(record, diverged=True)
    assert not failed.ok
