"""Training the runs that claims declare, up front and off this process: `pytest claims --executor ...`.

A claim module may define ``planned_runs(scale, device)`` returning jobs (RunConfigs and Ensembles, see
sgdcheck.run_sets). Before any claim runs, the plugin gathers the jobs of the selected claims, drops those
already in the run cache, and trains the rest through :func:`sgdcheck.runs.run_many`: as local processes
(submitit's local executor, in waves of one job per core) or as one SLURM job array. The claims then read
every run from the shared cache, so a claim's own code path is the same with or without an executor.
"""
from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Callable

from . import progress
from .errors import InvalidArgumentError
from .runs import EXECUTORS, cache_dir, is_done, run_count, run_many

__all__ = ["EXECUTORS", "executor_parameters", "planned_jobs", "train_planned"]
SLURM_DEFAULT_TIME_MIN = 240


def executor_parameters(executor: str, options: dict) -> dict:
    """submitit's parameters from the command line: the TOML file of --slurm-config (if any), then
    --slurm-partition, --slurm-time (minutes) and --slurm-gpus-per-task over it. Errors name the option."""
    if executor not in EXECUTORS:
        raise InvalidArgumentError(f"--executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    params: dict = {}
    if options.get("config"):
        path = Path(options["config"])
        try:
            params.update(tomllib.loads(path.read_text()))
        except FileNotFoundError:
            raise InvalidArgumentError(f"--slurm-config {path}: no such file") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise InvalidArgumentError(f"--slurm-config {path} is not valid TOML: {error}") from None
    for key in ("time", "gpus_per_task"):
        value = options.get(key)
        if value is not None and value < (0 if key == "gpus_per_task" else 1):
            raise InvalidArgumentError(f"--slurm-{key.replace('_', '-')} must be positive, got {value}")
    if executor == "local":
        return {"timeout_min": options.get("time") or params.get("timeout_min", 60)}
    if options.get("partition"):
        params["slurm_partition"] = options["partition"]
    if options.get("time"):
        params["timeout_min"] = options["time"]
    if options.get("gpus_per_task") is not None:
        params["slurm_gpus_per_task"] = options["gpus_per_task"]
    params.setdefault("timeout_min", SLURM_DEFAULT_TIME_MIN)
    return params


def planned_jobs(modules, scale, device: str) -> list:
    """The jobs the claim modules declare at this scale, each once (claims that share a run set share jobs). A
    claim whose declaration skips (its data are not on this machine) declares nothing; it skips when it runs.
    `scale` is a Scale, or a function of the module giving its scale (a claim's first look under a sequential
    design runs its own share of the seeds)."""
    import pytest

    jobs = []
    for module in modules:
        try:
            declared = module.planned_runs(scale(module) if callable(scale) else scale, device)
        except pytest.skip.Exception:
            continue
        jobs.extend(declared)
    return list(dict.fromkeys(jobs))


def train_planned(jobs, executor: str, options: dict, *, write: Callable[[str], None] = print,
                  location=None) -> int:
    """Train the jobs not yet in the cache through the executor; returns how many runs were trained. Under a
    lock in the cache folder, so that pytest-xdist workers (each of which collects every claim) train once."""
    from filelock import FileLock

    params = executor_parameters(executor, options)
    with FileLock(str(cache_dir(location) / ".planned-runs.lock")):
        missing = [job for job in jobs if not is_done(job, location)]
        if not missing:
            write(f"sgdcheck: all {run_count(jobs)} declared runs are in the run cache")
            return 0
        runs = run_count(missing)
        write(f"sgdcheck: training {runs} declared runs ({len(missing)} jobs; {run_count(jobs) - runs} cached) "
              f"with the {executor} executor, logs in {cache_dir(location) / 'submitit'}")
        progress.plan(runs)
        if executor == "local":
            wave = max(1, os.cpu_count() or 1)
            previous = os.environ.get("OMP_NUM_THREADS")
            os.environ["OMP_NUM_THREADS"] = "1"          # one job per core: no oversubscription
            try:
                for start in range(0, len(missing), wave):
                    run_many(missing[start:start + wave], executor="local", location=location, **params)
            finally:
                if previous is None:
                    os.environ.pop("OMP_NUM_THREADS", None)
                else:
                    os.environ["OMP_NUM_THREADS"] = previous
        else:
            run_many(missing, executor=executor, location=location, **params)
        return runs
