"""Declared runs trained up front: executor parameters, shared run sets, and --executor local end to end."""
import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest

from sgdcheck.errors import InvalidArgumentError
from sgdcheck.runs import Ensemble, RunConfig, compute, is_done, run_count, run_many
from sgdcheck.runs_plan import executor_parameters, planned_jobs, train_planned
from sgdcheck.scale import get_scale

pytest_plugins = ["pytester"]
CLAIMS = Path(__file__).resolve().parents[1] / "claims"
DIGITS = RunConfig(dataset="digits", n=60, model="fnn", model_options=(("inputs", 64), ("hidden", (8,))),
                   lr=0.5, max_steps=5, eval_every=5)


def test_slurm_parameters_come_from_the_file_then_the_options(tmp_path):
    config = tmp_path / "slurm.toml"
    config.write_text('slurm_account = "lab"\nslurm_partition = "cpu"\ntimeout_min = 30\ncpus_per_task = 4\n')
    params = executor_parameters("slurm", {"config": str(config), "partition": "gpu", "gpus_per_task": 1})
    assert params == {"slurm_account": "lab", "slurm_partition": "gpu", "timeout_min": 30, "cpus_per_task": 4,
                      "slurm_gpus_per_task": 1}
    assert executor_parameters("slurm", {"time": 90})["timeout_min"] == 90
    assert executor_parameters("local", {"time": 5}) == {"timeout_min": 5}


@pytest.mark.parametrize("options, message", [
    ({"config": "/nonexistent/slurm.toml"}, "no such file"),
    ({"time": 0}, "--slurm-time must be positive"),
])
def test_bad_executor_options_are_named(options, message):
    with pytest.raises(InvalidArgumentError, match=message):
        executor_parameters("slurm", options)
    if "time" in options:
        with pytest.raises(InvalidArgumentError, match=message):
            executor_parameters("local", options)
    with pytest.raises(InvalidArgumentError, match="--executor must be one of"):
        executor_parameters("kubernetes", {})


def test_a_slurm_config_that_is_not_toml_is_named(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("slurm_partition = [unclosed\n")
    with pytest.raises(InvalidArgumentError, match="not valid TOML"):
        executor_parameters("slurm", {"config": str(bad)})


def test_shared_run_sets_are_planned_once():
    scale = get_scale("smoke")
    shared = [Ensemble(DIGITS, (0, 1), (0.5,))]
    modules = [SimpleNamespace(planned_runs=lambda s, d: shared + [DIGITS]),
               SimpleNamespace(planned_runs=lambda s, d: shared)]
    assert planned_jobs(modules, scale, "cpu") == [shared[0], DIGITS]
    assert run_count(planned_jobs(modules, scale, "cpu")) == 3


def _claim_module(name):
    spec = importlib.util.spec_from_file_location(f"planned_{name}", CLAIMS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.usefixtures("fashion_mnist")
def test_the_gd_minima_are_one_run_set_for_three_claims():
    scale = get_scale("smoke")
    sharpness, escape, noise = (_claim_module(n) for n in ("wu2018_gd_sharpness", "wu2018_escape",
                                                            "poggio_gaussian_noise"))
    minima = set(sharpness.planned_runs(scale, "cpu"))
    assert set(escape.planned_runs(scale, "cpu")) <= minima and set(noise.planned_runs(scale, "cpu")) <= minima
    jobs = planned_jobs([sharpness, escape, noise], scale, "cpu")
    assert len(jobs) == len(minima) == 3 and run_count(jobs) == 15


@pytest.mark.usefixtures("fashion_mnist")
def test_gd_sharpness_runs_every_step_of_table_2_at_paper_scale_only():
    claim = _claim_module("wu2018_gd_sharpness")
    budgets = {job.lrs[0]: job.config.max_steps for job in claim.planned_runs(get_scale("paper"), "cpu")}
    assert sorted(budgets) == [0.01, 0.05, 0.1, 0.5, 1.0, 5.0] and budgets[0.01] == 400000
    assert all(0.01 not in job.lrs for name in ("smoke", "full") for job in claim.planned_runs(get_scale(name), "cpu"))


def test_an_ensemble_job_through_the_local_executor_equals_the_serial_one(tmp_path):
    pytest.importorskip("submitit")
    job = Ensemble(DIGITS, (0, 1), (0.5, 0.1))
    (remote,) = run_many([job], executor="local", location=tmp_path / "a")
    serial = compute(job, tmp_path / "b")
    assert [r.loss for r in remote] == [r.loss for r in serial]
    assert is_done(job, tmp_path / "a") and not is_done(job, tmp_path / "c")


def test_train_planned_trains_only_what_is_missing(tmp_path):
    pytest.importorskip("submitit")
    lines = []
    jobs = [DIGITS, RunConfig(**{**DIGITS.__dict__, "seed": 1})]
    compute(jobs[0], tmp_path)
    assert train_planned(jobs, "local", {}, write=lines.append, location=tmp_path) == 1
    assert "training 1 declared runs (1 jobs; 1 cached) with the local executor" in lines[0]
    assert train_planned(jobs, "local", {}, write=lines.append, location=tmp_path) == 0
    assert "all 2 declared runs are in the run cache" in lines[-1]


NETWORK_CLAIM = '''
import pytest
from sgdcheck import Claim, Quote, Source, holds
from sgdcheck.runs import RunConfig, cached_run, is_done

CLAIM = Claim(id="demo2020.trained", source=Source("Demo 2020", "Sec. 1"), quote=Quote("trained", "Sec. 1"), statement="trained")
CONFIGS = [RunConfig(dataset="digits", n=60, model="fnn", model_options=(("inputs", 64), ("hidden", (8,))),
                     lr=0.5, max_steps=20, eval_every=5, seed=s) for s in (0, 1)]


def planned_runs(scale, device):
    return CONFIGS


@pytest.mark.gpu
def test_trained(scale, evidence):
    trained_before = all(is_done(c) for c in CONFIGS)
    records = [cached_run(c) for c in CONFIGS]
    evidence.record(trained_before=trained_before, loss=max(r.loss for r in records))
    evidence.conclude(CLAIM, holds(trained_before, "the declared runs were trained before the claim ran"),
                      seeds=[0, 1], negative_control=("never", holds(False, "control")))
'''


def test_executor_local_trains_a_network_claims_runs_before_it_runs(pytester, monkeypatch, tmp_path):
    pytest.importorskip("submitit")
    monkeypatch.setenv("SGDCHECK_CACHE", str(tmp_path / "cache"))
    pytester.makepyfile(test_trained=NETWORK_CLAIM)
    result = pytester.runpytest_subprocess("--executor", "local", "--report-dir", "out")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*training 2 declared runs (2 jobs; 0 cached) with the local executor*",
                                 "*sgdcheck: run 1 of 2 done: fnn x1 digits n=60 gd lr=0.5 seed *local job*",
                                 "*sgdcheck: run 2 of 2 done*"])
    assert list((tmp_path / "cache" / "submitit").glob("*_log.out"))          # submitit's own job logs
    monkeypatch.setenv("SGDCHECK_CACHE", str(tmp_path / "cold"))
    pytester.runpytest_subprocess("--report-dir", "out").assert_outcomes(failed=1)   # serial: trained in the claim


def test_bad_executor_input_is_a_usage_error(pytester):
    pytester.makepyfile(test_trained=NETWORK_CLAIM)
    result = pytester.runpytest_subprocess("--executor", "slurm", "--slurm-config", "missing.toml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--slurm-config missing.toml: no such file*"])
