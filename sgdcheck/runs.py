"""Training runs as pure functions of (config, seed), cached on disk and spread over machines.

A :class:`RunConfig` names everything a run depends on; :func:`run` builds the data and the model,
trains, and returns a :class:`RunRecord`. :func:`cached_run` memoises runs with joblib.Memory keyed by the full
configuration and a fingerprint of the engine sources the run depends on (sgdcheck.fingerprint), so a
rerun or a report regeneration does not retrain, and an edit of the training code does not serve stale
runs; joblib writes each entry through a temporary file and a rename, so a killed run leaves no corrupt
entry. Every record names the commit it was computed at (`computed_at`); the commits of the records a
process read are kept for its report (:func:`served_commits`).
:func:`run_many` spreads configurations serially, over local processes, or over a SLURM cluster
(submitit), all sharing the same cache.
"""
from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from . import data as data_module
from . import optim, progress
from .curvature import mse_loss
from .errors import CacheError, InvalidArgumentError
from .fingerprint import code_commit, source_fingerprint
from .models import build
from .stats import Verdict, precondition
from .ensemble import train_ensemble
from .train import TrainResult, train, train_lbfgs

EXECUTORS = ("serial", "local", "slurm")
POLL_S = 1.0                        # how often run_many looks at its submitted jobs
OPTIMIZERS = {"gd": optim.GD, "sgd": optim.SGD, "langevin": optim.Langevin, "adam": optim.Adam,
              "entropy-sgd": optim.EntropySGD}


@dataclass(frozen=True)
class RunConfig:
    """Everything one training run depends on. Options are tuples of (name, value) pairs so that
    a configuration is hashable and its cache key stable."""

    dataset: str = "fashion-mnist"
    n: int = 1000
    subset: str = "first"
    classes: tuple | None = None
    random_labels: float = 0.0
    label_seed: int | None = None       # random labels drawn with this seed (default: the run's seed)
    corrupt_extra: int = 0
    standardize: bool = True
    model: str = "fnn"
    model_options: tuple = ()
    width_scale: float = 1.0
    optimizer: str = "gd"
    lr: float = 0.1
    optimizer_options: tuple = ()
    batch_size: int | None = None
    replacement: bool = False
    max_steps: int = 1000
    loss_goal: float | None = None
    zero_error: bool = False            # goal also requires every training sample classified correctly
    eval_every: int = 100
    seed: int = 0
    dtype: str = "float32"
    device: str = "cpu"
    data_root: str | None = field(default=None, compare=False)

    def __post_init__(self):
        if self.optimizer not in (*OPTIMIZERS, "lbfgs"):
            raise InvalidArgumentError(f"unknown optimizer {self.optimizer!r}; known: {', '.join([*OPTIMIZERS, 'lbfgs'])}")
        if self.dtype not in ("float32", "float64"):
            raise InvalidArgumentError(f"dtype must be float32 or float64, got {self.dtype!r}")
        if self.zero_error and self.optimizer == "lbfgs":
            raise InvalidArgumentError("zero_error is a goal of the first-order trainer, not of L-BFGS")

    def key(self) -> dict:
        """The configuration as the cache sees it (where the data files live is not part of it)."""
        values = asdict(self)
        values.pop("data_root")
        values["device"] = self.device.split(":")[0]     # which GPU of a machine trained it is not a result
        return values


def training_data(config: RunConfig):
    """Inputs and one-hot targets (MSE), with the subset, labels and corruption the config asks for."""
    pool = data_module.load(config.dataset, root=config.data_root)
    if config.classes is not None:
        pool = pool.select_classes(config.classes)
    if config.corrupt_extra:
        ds = data_module.corrupted(pool, config.n, config.corrupt_extra, seed=config.seed)
    else:
        ds = pool.subset(config.n, config.subset, seed=config.seed)
    if config.random_labels:
        label_seed = config.seed if config.label_seed is None else config.label_seed
        ds = ds.with_random_labels(config.random_labels, seed=label_seed)
    if config.standardize:
        ds = ds.standardized()
    dtype = getattr(torch, config.dtype)
    ds = ds.to(config.device, dtype)
    return ds.x, ds.one_hot() if ds.num_classes is not None else ds.y


def initial_model(config: RunConfig) -> torch.nn.Module:
    torch.manual_seed(config.seed)
    model = build(config.model, width_scale=config.width_scale, **dict(config.model_options))
    return model.to(config.device, getattr(torch, config.dtype))


def run(config: RunConfig) -> RunRecord:
    """Train one configuration; returns its record (parameters on the CPU), fit for a cache."""
    x, y = training_data(config)
    model = initial_model(config)
    if config.optimizer == "lbfgs":
        result = train_lbfgs(model, x, y, mse_loss, max_steps=config.max_steps, loss_goal=config.loss_goal,
                             **dict(config.optimizer_options))
    else:
        optimizer = OPTIMIZERS[config.optimizer](lr=config.lr, **dict(config.optimizer_options))
        result = train(model, x, y, mse_loss, optimizer, max_steps=config.max_steps, batch_size=config.batch_size,
                       replacement=config.replacement, loss_goal=config.loss_goal, eval_every=config.eval_every,
                       seed=config.seed, zero_error=config.zero_error)
    return _record(config, result)


@dataclass(frozen=True)
class RunRecord:
    """One training run as the cache keeps it: the configuration as the cache key sees it, the final
    parameters (on the CPU), the steps taken, the final training loss, whether the run reached its goal,
    whether it diverged, the (step, full-batch loss) history, and the commit it was computed at."""

    config: dict
    params: dict
    steps: int
    loss: float
    converged: bool
    diverged: bool
    history: list
    computed_at: str = "before provenance was recorded"

    @property
    def ok(self) -> bool:
        """Reached its goal without diverging: the precondition of every claim on trained runs."""
        return self.converged and not self.diverged

    @property
    def seed(self) -> int:
        return self.config["seed"]

    @property
    def lr(self) -> float:
        return self.config["lr"]

    def result(self) -> TrainResult:
        return TrainResult(self.params, self.steps, self.loss, self.converged, self.diverged, self.history)


def _record(config: RunConfig, result: TrainResult) -> RunRecord:
    return RunRecord(config.key(), {k: v.detach().cpu() for k, v in result.params.items()}, result.steps,
                     result.loss, result.converged, result.diverged, result.history, code_commit())


def run_ensemble(config: RunConfig, seeds, lrs) -> list[RunRecord]:
    """GD or SGD runs for every (seed, lr) pair trained at once (sgdcheck.ensemble), seeds-major.

    The data are those of `config` (its seed picks subsets and random labels); each model starts from
    initial_model(config with that seed), so record k equals run(config with that seed and lr)."""
    if config.optimizer not in ("gd", "sgd"):
        raise InvalidArgumentError(f"ensembles train with gd or sgd, got {config.optimizer!r}")
    if config.zero_error:
        raise InvalidArgumentError("ensembles stop at the loss goal; zero_error runs train one at a time")
    x, y = training_data(config)
    batch_size = None if config.optimizer == "gd" else config.batch_size
    results = train_ensemble(lambda seed: initial_model(replace(config, seed=seed)), seeds, lrs, x, y, mse_loss,
                             max_steps=config.max_steps, batch_size=batch_size, replacement=config.replacement,
                             loss_goal=config.loss_goal, eval_every=config.eval_every)
    pairs = [(seed, lr) for seed in seeds for lr in lrs]
    return [_record(replace(config, seed=seed, lr=lr), result) for (seed, lr), result in zip(pairs, results)]


def _ensemble_at(config: RunConfig, seeds, lrs, code: str) -> list[RunRecord]:
    """run_ensemble; `code` (the source fingerprint) is only there to be part of the cache key."""
    job = Ensemble(config, seeds, lrs)
    start = time.perf_counter()
    with progress.running(job.label()):
        records = run_ensemble(config, seeds, lrs)
    progress.run_finished(job.label(), seconds=time.perf_counter() - start, runs=len(records),
                          steps=max(r.steps for r in records), loss=max(r.loss for r in records))
    return records


def cached_ensemble(config: RunConfig, seeds, lrs, location=None) -> list[RunRecord]:
    """run_ensemble, computed once per (configuration, seeds, learning rates, engine code) and then read from
    the cache."""
    records = memory(location).cache(_ensemble_at)(config, tuple(seeds), tuple(float(lr) for lr in lrs),
                                                    code=source_fingerprint("runs"))
    return _served(records)


def trained_model(record: RunRecord, config: RunConfig) -> torch.nn.Module:
    """The model of a run record, on the config's device, in eval mode."""
    return record.result().load_into(initial_model(config)).eval()


def reached_goal(records) -> Verdict | None:
    """The precondition of every claim on trained runs: each reached its loss goal without diverging. Takes
    run records, or rows derived from them that keep their `converged` and `diverged` (a claim's table,
    the points of the stability diagram)."""
    usable = [r.ok if isinstance(r, RunRecord) else bool(r["converged"] and not r["diverged"]) for r in records]
    return precondition(all(usable),
                        "every run reaches the loss goal without diverging")


def cache_dir(location=None) -> Path:
    return Path(location or os.environ.get("SGDCHECK_CACHE", Path.home() / ".cache" / "sgdcheck" / "runs"))


def check_cache_dir(location=None) -> Path:
    """The cache folder, created if need be; a clear error naming it (and SGDCHECK_CACHE) when it cannot be
    written, before any training starts."""
    folder = cache_dir(location)
    origin = "" if location else (" (set by SGDCHECK_CACHE)" if "SGDCHECK_CACHE" in os.environ
                                  else " (the default; set SGDCHECK_CACHE to choose another)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise CacheError(f"the run cache {folder}{origin} is not a writable folder: "
                          f"{error.strerror or error}") from None
    return folder


def memory(location=None):
    """The joblib store of the run cache (after check_cache_dir)."""
    from joblib import Memory

    return Memory(str(check_cache_dir(location)), verbose=0)


_SERVED: set[str] = set()


def _served(records):
    """Note the commits the records were computed at (for the report), and return them."""
    for record in records if isinstance(records, list) else [records]:
        _SERVED.add(record.computed_at)
    return records


def served_commits(clear: bool = True) -> list[str]:
    """The commits at which the runs read since the last call were computed."""
    commits = sorted(_SERVED)
    if clear:
        _SERVED.clear()
    return commits


def _run_at(config: RunConfig, code: str) -> RunRecord:
    """run(config); `code` (the source fingerprint) is only there to be part of the cache key."""
    start = time.perf_counter()
    with progress.running(describe(config)):
        record = run(config)
    progress.run_finished(describe(config), seconds=time.perf_counter() - start, steps=record.steps,
                          loss=record.loss)
    return record


def cached_run(config: RunConfig, location=None) -> RunRecord:
    """run(config), computed once per configuration and engine code, then read from the cache."""
    return _served(memory(location).cache(_run_at)(config, code=source_fingerprint("runs")))


def is_cached(config: RunConfig, location=None) -> bool:
    return memory(location).cache(_run_at).check_call_in_cache(config, code=source_fingerprint("runs"))


@dataclass(frozen=True)
class Ensemble:
    """GD or SGD runs for every (seed, lr) pair of one configuration, trained at once and cached as one
    entry (:func:`cached_ensemble`); a job that a claim can declare beside single RunConfigs."""

    config: RunConfig
    seeds: tuple
    lrs: tuple

    def __post_init__(self):
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        object.__setattr__(self, "lrs", tuple(float(lr) for lr in self.lrs))

    def __len__(self) -> int:
        return len(self.seeds) * len(self.lrs)

    def label(self) -> str:
        return f"{describe(self.config, with_run=False)}, seeds {list(self.seeds)}, lr {list(self.lrs)}"


def describe(config: RunConfig, with_run: bool = True) -> str:
    """A short name of a run for progress lines: 'fnn x0.2 fashion-mnist n=1000 sgd lr=0.5 B=20 seed 3'
    (without lr and seed for an ensemble, which names its own)."""
    batch = f" B={config.batch_size}" if config.batch_size and config.optimizer != "gd" else ""
    run = f" lr={config.lr:g}{batch} seed {config.seed}" if with_run else batch
    return f"{config.model} x{config.width_scale:g} {config.dataset} n={config.n} {config.optimizer}{run}"


def compute(job, location=None):
    """A job (a RunConfig or an Ensemble) through the cache: its record(s)."""
    if isinstance(job, Ensemble):
        return cached_ensemble(job.config, job.seeds, job.lrs, location)
    return cached_run(job, location)


def is_done(job, location=None) -> bool:
    """Whether a job's result is in the cache already."""
    if isinstance(job, Ensemble):
        return memory(location).cache(_ensemble_at).check_call_in_cache(job.config, job.seeds, job.lrs,
                                                                         code=source_fingerprint("runs"))
    return is_cached(job, location)


def run_count(jobs) -> int:
    """How many training runs a list of jobs holds (an ensemble counts each of its models)."""
    return sum(len(job) if isinstance(job, Ensemble) else 1 for job in jobs)


def run_many(jobs, *, executor: str = "serial", location=None, folder=None, **slurm) -> list:
    """Run jobs (RunConfigs or Ensembles) through the cache: serially, as local processes, or as one SLURM
    job array (submitit). Every worker reads and writes the same cache, so finished runs are never repeated.
    `slurm` holds submitit's parameters (slurm_partition, timeout_min, gpus_per_node, ...)."""
    jobs = list(jobs)
    if executor == "serial":
        return [compute(job, location) for job in jobs]
    if executor not in EXECUTORS:
        raise InvalidArgumentError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    import submitit

    folder = Path(folder or cache_dir(location) / "submitit")
    if executor == "local":
        pool = submitit.LocalExecutor(folder=str(folder))
        pool.update_parameters(timeout_min=slurm.pop("timeout_min", 60))
    else:
        pool = submitit.AutoExecutor(folder=str(folder), cluster="slurm")
        pool.update_parameters(**slurm)
    submitted = pool.map_array(compute, jobs, [str(cache_dir(location))] * len(jobs))
    results, waiting = [None] * len(jobs), set(range(len(jobs)))
    while waiting:
        for i in sorted(waiting):
            if submitted[i].done():
                results[i] = submitted[i].result()             # raises the job's error, with its log
                waiting.discard(i)
                progress.run_finished(_label(jobs[i]), runs=run_count([jobs[i]]),
                                      where=f"{executor} job {submitted[i].job_id}")
        if waiting:
            time.sleep(POLL_S)
    return results


def _label(job) -> str:
    return job.label() if isinstance(job, Ensemble) else describe(job)

