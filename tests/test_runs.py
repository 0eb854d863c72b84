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
    from sgdcheck.runs import CacheWarning
    with pytest.warns(CacheWarning, match="cannot be read"):
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


def test_one_cache_key_for_every_path(tmp_path):
    """What does not change a run's result does not change its key: where the data files live, which GPU,
    a label seed without random labels, the sampling of a full-batch run."""
    cached_run(CONFIG, tmp_path)
    assert replace(CONFIG, device="cuda:1").key() == replace(CONFIG, device="cuda").key()
    for same in (replace(CONFIG, data_root=str(tmp_path / "elsewhere")), replace(CONFIG, label_seed=7), replace(CONFIG, data_seed=3), replace(CONFIG, sampling="subsets"),
                 replace(CONFIG, batch_size=CONFIG.n)):
        assert same.key() == CONFIG.key() and is_cached(same, tmp_path)
    sgd = replace(CONFIG, optimizer="sgd", batch_size=10)
    assert replace(sgd, sampling="subsets").key() != sgd.key()
    assert replace(CONFIG, random_labels=1.0, label_seed=7).key() != replace(CONFIG, random_labels=1.0).key()
    assert RunConfig(**CONFIG.key()).key() == CONFIG.key()                      # a record's config rebuilds its run


def test_the_sampler_is_part_of_the_config_and_of_the_record(tmp_path):
    sgd = replace(CONFIG, optimizer="sgd", batch_size=10, sampling="subsets")
    record = cached_run(sgd, tmp_path)
    assert record.config["sampling"] == "subsets" and not is_cached(replace(sgd, sampling="reshuffling"), tmp_path)
    with pytest.raises(InvalidArgumentError, match="sampling must be one of"):
        replace(sgd, sampling="epochs")


def test_gd_trains_on_the_full_batch_or_says_why_not():
    with pytest.raises(InvalidArgumentError, match="optimizer 'gd' trains on the full batch"):
        replace(CONFIG, batch_size=10)
    assert run(replace(CONFIG, batch_size=CONFIG.n)).loss == run(CONFIG).loss


def test_an_ensemble_member_equals_the_single_run_it_claims_to_be(tmp_path):
    """With a balanced subset and random labels drawn from the run's seed, every member of an ensemble trains on the data of the
    ensemble's seed, and its record says so (data_seed): rebuilt from the record, the run is the same."""
    config = replace(CONFIG, dtype="float64", random_labels=1.0, subset="balanced", max_steps=20)
    records = cached_ensemble(config, [0, 1], [0.5], tmp_path)
    member = records[1]
    assert member.config["seed"] == 1 and member.config["data_seed"] == 0 and member.config["label_seed"] == 0
    single = run(RunConfig(**member.config))
    assert single.config == member.config and single.steps == member.steps
    assert all(torch.allclose(single.params[k], member.params[k], atol=1e-10) for k in single.params)
    own_data = run(replace(config, seed=1, lr=0.5))
    assert own_data.config != member.config and own_data.loss != member.loss


def test_an_entry_of_another_config_or_unreadable_is_named_and_computed_again(tmp_path):
    from sgdcheck.runs import CacheWarning

    first, other = cached_run(CONFIG, tmp_path), cached_run(replace(CONFIG, seed=1), tmp_path)
    import joblib

    by_seed = {joblib.load(p).seed: p for p in tmp_path.rglob("output.pkl")}
    assert sorted(by_seed) == [0, 1]
    by_seed[0].write_bytes(by_seed[1].read_bytes())        # the stored config differs from the one asked for
    with pytest.warns(CacheWarning, match=f"{by_seed[0].parent}.*another configuration"):
        again = cached_run(CONFIG, tmp_path)
    assert again.seed == 0 and again.loss == first.loss
    joblib.dump(None, by_seed[0])
    with pytest.warns(CacheWarning, match=f"{by_seed[0].parent}.*NoneType"):
        assert cached_run(CONFIG, tmp_path).loss == first.loss
    assert other.seed == 1


def test_no_runs_are_not_runs_that_reached_their_goal():
    from sgdcheck.runs import reached_goal
    assert reached_goal([]).verdict == "inconclusive"


def test_a_later_look_trains_only_the_seeds_it_adds(tmp_path, monkeypatch):
    """Seeds of a sequential design's look come in blocks (sgdcheck.scale.Seeds): an ensemble of them is trained and
    cached block by block, so look 2 reads look 1's runs and trains only its new seeds."""
    from sgdcheck import runs
    from sgdcheck.runs import Ensemble, compute, is_done
    from sgdcheck.scale import get_scale

    config = replace(CONFIG, dtype="float64", max_steps=20)
    first, second = get_scale("smoke").seed_range(2), get_scale("smoke").at_look(2).seed_range(2)
    assert second == (0, 1, 2, 3) and second.blocks == ((0, 1), (2, 3))
    look1 = compute(Ensemble(config, first, (0.5,)), tmp_path)
    trained = []
    real = runs.run_ensemble
    monkeypatch.setattr(runs, "run_ensemble", lambda c, seeds, lrs: trained.append(tuple(seeds)) or real(c, seeds, lrs))
    job = Ensemble(config, second, (0.5,))
    assert job.seeds == (0, 1, 2, 3) and len(job.parts()) == 2 and not is_done(job, tmp_path)
    look2 = compute(job, tmp_path)
    assert trained == [(2, 3)] and [r.seed for r in look2] == [0, 1, 2, 3]
    assert [r.loss for r in look2[:2]] == [r.loss for r in look1] and is_done(job, tmp_path)
    assert [r.seed for r in cached_ensemble(config, second, [0.5], tmp_path)] == [0, 1, 2, 3] and trained == [(2, 3)]
    assert Ensemble(config, tuple(second), (0.5,)).parts() == [Ensemble(config, (0, 1, 2, 3), (0.5,))]   # a plain tuple


def test_loss_fell_is_the_precondition_of_runs_without_a_goal():
    from sgdcheck.runs import loss_fell
    from sgdcheck.train import TrainResult

    def result(start, end, diverged=False):
        return TrainResult({}, 10, end, False, diverged, [(0, start), (10, end)])

    assert loss_fell([result(1.0, 0.05), result(0.5, 0.01)], 10) is None
    stalled = loss_fell([result(1.0, 0.05), result(1.0, 0.5)], 10)
    assert stalled.verdict == "inconclusive" and "least: 2-fold" in stalled.reason
    assert loss_fell([result(1.0, float("nan"), diverged=True)], 10).verdict == "inconclusive"
    assert loss_fell([], 10).verdict == "inconclusive"
    with pytest.raises(InvalidArgumentError, match="factor >= 1"):
        loss_fell([result(1.0, 0.5)], 0.5)
