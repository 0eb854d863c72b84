"""Training runs as pure functions of (config, seed), cached on disk and spread over machines.

A :class:`RunConfig` names everything a run depends on; :func:`run` builds the data and the model,
trains, and returns a :class:`RunRecord`. :func:`cached_run` memoises runs with joblib.Memory keyed by
:meth:`RunConfig.key` (and nothing else of the configuration: not where the data files live, not which GPU
of a machine trained it) and a fingerprint of the engine sources the run depends on (sgdcheck.fingerprint),
so a rerun or a report regeneration does not retrain, and an edit of the training code does not serve stale
runs; joblib writes each entry through a temporary file and a rename, so a killed run leaves no corrupt
entry. An entry is served only when the configuration stored in it is the one asked for; an entry that
cannot be read, or holds another configuration, is named in a warning and computed again. Every record
names the commit it was computed at (`computed_at`); the commits of the records a process read are kept
for its report (:func:`served_commits`).
:func:`run_many` spreads configurations serially, over local processes, or over a SLURM cluster
(submitit), all sharing the same cache.
"""
from __future__ import annotations

import math
import os
import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from . import data as data_module
from . import optim, progress
from .losses import mse_loss
from .errors import CacheError, InvalidArgumentError
from .fingerprint import code_commit, source_fingerprint
from .sampling import checked as checked_sampling, note as note_sampling
from .models import build
from .stats import Verdict, precondition
from .ensemble import train_ensemble
from .train import TrainResult, train, train_lbfgs

EXECUTORS = ("serial", "local", "slurm")
FULL_BATCH_OPTIMIZERS = ("gd", "lbfgs")
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
    label_seed: int | None = None       # random labels drawn with this seed (default: the data seed)
    data_seed: int | None = None        # draws balanced subsets, random labels, corrupted extras (default: seed)
    corrupt_extra: int = 0
    standardize: bool = True
    model: str = "fnn"
    model_options: tuple = ()
    width_scale: float = 1.0
    optimizer: str = "gd"
    lr: float = 0.1
    optimizer_options: tuple = ()
    batch_size: int | None = None
    sampling: str | None = "reshuffling"   # how minibatches are drawn: sgdcheck.sampling.SAMPLINGS
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
        if self.sampling is not None or not self.full_batch:        # None: a full-batch run draws no batches
            checked_sampling(self.sampling)
        if self.optimizer in FULL_BATCH_OPTIMIZERS and self.batch_size not in (None, self.training_size):
            raise InvalidArgumentError(
                f"optimizer {self.optimizer!r} trains on the full batch of {self.training_size} samples, but "
                f"batch_size={self.batch_size} asks for minibatches: use optimizer='sgd' (or leave batch_size None)")

    @property
    def training_size(self) -> int:
        """How many samples the run trains on: n, plus the corrupted extras."""
        return self.n + self.corrupt_extra

    @property
    def full_batch(self) -> bool:
        return self.optimizer in FULL_BATCH_OPTIMIZERS or self.batch_size in (None, self.training_size)

    @property
    def effective_data_seed(self) -> int:
        """The seed that draws this run's data: data_seed, by default the run's seed."""
        return self.seed if self.data_seed is None else self.data_seed

    @property
    def data_seed_used(self) -> int | None:
        """The seed that picks this run's samples (a balanced subset, the labels of corrupted extras), or None
        when its samples do not depend on a seed."""
        depends = self.subset != "first" or self.corrupt_extra > 0
        return self.effective_data_seed if depends else None

    @property
    def label_seed_used(self) -> int | None:
        """The seed of the random labels (by default the data seed), or None without random labels."""
        if not self.random_labels > 0:
            return None
        return self.effective_data_seed if self.label_seed is None else self.label_seed

    def key(self) -> dict:
        """The configuration as the cache sees it: what can change the run's result, each in one spelling.
        Left out: where the data files live and which GPU of a machine trained it; seeds that draw nothing
        (the label seed without random labels, the data seed of seed-free data); the batch size and sampling
        of a full-batch run."""
        values = asdict(self)
        values.pop("data_root")
        values["device"] = self.device.split(":")[0]     # which GPU of a machine trained it is not a result
        values["data_seed"], values["label_seed"] = self.data_seed_used, self.label_seed_used
        if self.full_batch:
            values["batch_size"], values["sampling"] = None, None
        return values


def training_data(config: RunConfig):
    """Inputs and one-hot targets (MSE), with the subset, labels and corruption the config asks for."""
    pool = data_module.load(config.dataset, root=config.data_root)
    if config.classes is not None:
        pool = pool.select_classes(config.classes)
    if config.corrupt_extra:
        ds = data_module.corrupted(pool, config.n, config.corrupt_extra, seed=config.effective_data_seed)
    else:
        ds = pool.subset(config.n, config.subset, seed=config.effective_data_seed)
    if config.random_labels:
        ds = ds.with_random_labels(config.random_labels, seed=config.label_seed_used)
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
        result = train(model, x, y, mse_loss, optimizer, max_steps=config.max_steps,
                       batch_size=None if config.full_batch else config.batch_size, sampling=config.sampling,
                       loss_goal=config.loss_goal, eval_every=config.eval_every, seed=config.seed,
                       zero_error=config.zero_error)
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


def ensemble_members(config: RunConfig, seeds, lrs) -> list[RunConfig]:
    """The single runs an ensemble stands for, seeds-major: `config` with each seed and learning rate, on the
    data of `config` (its seed draws subsets, random labels and corrupted extras for every member, and each
    member's data_seed says so), so that record k equals run(member k)."""
    return [replace(config, seed=int(seed), lr=float(lr), data_seed=config.effective_data_seed)
            for seed in seeds for lr in lrs]


def run_ensemble(config: RunConfig, seeds, lrs) -> list[RunRecord]:
    """GD or SGD runs for every (seed, lr) pair trained at once (sgdcheck.ensemble), seeds-major: the records
    of :func:`ensemble_members`."""
    if config.optimizer not in ("gd", "sgd"):
        raise InvalidArgumentError(f"ensembles train with gd or sgd, got {config.optimizer!r}")
    if config.zero_error:
        raise InvalidArgumentError("ensembles stop at the loss goal; zero_error runs train one at a time")
    x, y = training_data(config)
    results = train_ensemble(lambda seed: initial_model(replace(config, seed=seed)), seeds, lrs, x, y, mse_loss,
                             max_steps=config.max_steps, batch_size=None if config.full_batch else config.batch_size,
                             sampling=config.sampling, loss_goal=config.loss_goal, eval_every=config.eval_every)
    return [_record(member, result) for member, result in zip(ensemble_members(config, seeds, lrs), results)]


def _ensemble_at(keys: tuple, job: "Ensemble", code: str) -> list[RunRecord]:
    """run_ensemble of `job`; the cache key is the members' keys and `code` (the source fingerprint)."""
    start = time.perf_counter()
    with progress.running(job.label()):
        records = run_ensemble(job.config, job.seeds, job.lrs)
    progress.run_finished(job.label(), seconds=time.perf_counter() - start, runs=len(records),
                          steps=max(r.steps for r in records), loss=max(r.loss for r in records))
    return records


def cached_ensemble(config: RunConfig, seeds, lrs, location=None) -> list[RunRecord]:
    """run_ensemble, computed once per (members, engine code) and then read from the cache; seeds in the blocks
    of a sequential design's looks (sgdcheck.scale.Seeds) are computed and cached block by block."""
    return [record for part in Ensemble(config, seeds, lrs).parts()
            for record in _served(_through_cache(memory(location), _ensemble_at, part.keys(), part))]


def trained_model(record: RunRecord, config: RunConfig) -> torch.nn.Module:
    """The model of a run record, on the config's device, in eval mode."""
    return record.result().load_into(initial_model(config)).eval()


def reached_goal(records) -> Verdict | None:
    """The precondition of every claim on trained runs: each reached its loss goal without diverging. Takes
    run records, or rows derived from them that keep their `converged` and `diverged` (a claim's table,
    the points of the stability diagram)."""
    usable = [r.ok if isinstance(r, RunRecord) else bool(r["converged"] and not r["diverged"]) for r in records]
    if not usable:
        return precondition(False, "there are runs to judge (none was given)")
    return precondition(all(usable),
                        "every run reaches the loss goal without diverging")


def run_of(item):
    """The run an item stands for: a RunRecord or a TrainResult as it is, a trajectory's run (its `result`)."""
    return item if isinstance(item, (RunRecord, TrainResult)) or not hasattr(item, "result") else item.result


def loss_fell(runs, factor: float) -> Verdict | None:
    """The precondition of claims on runs that need not reach a loss goal: no run diverged, and every run ended at
    a training loss at most 1/factor of its loss at the start (the first value of its history). Takes run records,
    training results or trajectories (sgdcheck.trajectories)."""
    if not (math.isfinite(factor) and factor >= 1):
        raise InvalidArgumentError(f"loss_fell needs a factor >= 1, got {factor!r}")
    runs = [run_of(r) for r in runs]
    if not runs:
        return precondition(False, "there are runs to judge (none was given)")
    diverged = [k for k, r in enumerate(runs) if r.diverged or not math.isfinite(r.loss)]
    ratios = [r.history[0][1] / r.loss if r.loss > 0 else math.inf for r in runs]
    short = [k for k, q in enumerate(ratios) if not q >= factor]
    worst = min(ratios)
    return precondition(not diverged and not short,
                        f"no run diverges and every run's training loss falls {factor:g}-fold or more (least: "
                        f"{worst:.3g}-fold" + (f"; diverged: runs {diverged}" if diverged else "") + ")")


DEFAULT_CACHE = Path.home() / ".cache" / "sgdcheck" / "runs"


def cache_dir(location=None) -> Path:
    """The run cache folder: `location`, else $SGDCHECK_CACHE, else ~/.cache/sgdcheck/runs. A SGDCHECK_CACHE
    that is set but empty is an error (it would put the cache in the current folder)."""
    if location:
        return Path(location)
    chosen = os.environ.get("SGDCHECK_CACHE")
    if chosen is None:
        return DEFAULT_CACHE
    if not chosen.strip():
        raise CacheError("SGDCHECK_CACHE is set but empty; set it to a folder, or unset it for the default "
                         f"{DEFAULT_CACHE}")
    return Path(chosen)


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
        note_sampling(record.config.get("sampling"))
    return records


def served_commits(clear: bool = True) -> list[str]:
    """The commits at which the runs read since the last call were computed."""
    commits = sorted(_SERVED)
    if clear:
        _SERVED.clear()
    return commits


def _run_at(key: dict, config: RunConfig, code: str) -> RunRecord:
    """run(config); the cache key is config.key() and `code` (the source fingerprint)."""
    start = time.perf_counter()
    with progress.running(describe(config)):
        record = run(config)
    progress.run_finished(describe(config), seconds=time.perf_counter() - start, steps=record.steps,
                          loss=record.loss)
    return record


class CacheWarning(UserWarning):
    """A run cache entry could not be served (unreadable, or another configuration) and was computed again."""


def _cached(store, function):
    return store.cache(function, ignore=["config" if function is _run_at else "job"])


def _stored_configs(value) -> list | None:
    records = value if isinstance(value, list) else [value]
    records = [run_of(r) for r in records]                           # a trajectory holds its run's record
    if not all(isinstance(r, RunRecord) for r in records):
        return None
    return [r.config for r in records]


def _through_cache(store, function, key, job, code: str | None = None):
    """function(key, job, code) through the joblib store: the stored value when it holds exactly the
    configuration(s) `key` names; an entry that cannot be read or holds something else is named in a
    CacheWarning, cleared and computed again. `code` defaults to the fingerprint of the run code."""
    cached = _cached(store, function)
    code = code or source_fingerprint("runs")
    shelved = cached.call_and_shelve(key, job, code=code)
    expected = list(key) if isinstance(key, tuple) else [key]
    try:
        value = shelved.get()
        stored = _stored_configs(value)
        problem = (None if stored == expected else
                   f"holds {type(value).__name__}, not run records" if stored is None else
                   "holds the run of another configuration")
    except Exception as error:                 # any way an entry can fail to load: pickle, EOF, missing files
        problem = f"cannot be read ({type(error).__name__}: {error})"
    if problem is None:
        return value
    entry = Path(shelved.store_backend.location) / shelved.func_id / shelved.args_id
    warnings.warn(f"run cache entry {entry} {problem}; computing it again", CacheWarning, stacklevel=3)
    shelved.clear()
    return cached.call_and_shelve(key, job, code=code).get()


def cached_run(config: RunConfig, location=None) -> RunRecord:
    """run(config), computed once per configuration (its key()) and engine code, then read from the cache."""
    return _served(_through_cache(memory(location), _run_at, config.key(), config))


def is_cached(config: RunConfig, location=None) -> bool:
    return _cached(memory(location), _run_at).check_call_in_cache(config.key(), config,
                                                                  code=source_fingerprint("runs"))


@dataclass(frozen=True)
class Ensemble:
    """GD or SGD runs for every (seed, lr) pair of one configuration, trained at once and cached as one
    entry (:func:`cached_ensemble`); a job that a claim can declare beside single RunConfigs."""

    config: RunConfig
    seeds: tuple
    lrs: tuple
    blocks: tuple = field(default=(), compare=False)

    def __post_init__(self):
        blocks = tuple(tuple(int(s) for s in block) for block in getattr(self.seeds, "blocks", ()))
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        object.__setattr__(self, "lrs", tuple(float(lr) for lr in self.lrs))
        if len(blocks) > 1 and sum(blocks, ()) == self.seeds:
            object.__setattr__(self, "blocks", blocks)
        else:
            object.__setattr__(self, "blocks", ())

    def parts(self) -> list["Ensemble"]:
        """The ensembles it is trained and cached as: one per block of seeds a sequential design's looks added
        (sgdcheck.scale.Seeds), so a later look reuses the earlier looks' runs; itself when it has no blocks."""
        if not self.blocks:
            return [self]
        return [Ensemble(self.config, block, self.lrs) for block in self.blocks]

    def __len__(self) -> int:
        return len(self.seeds) * len(self.lrs)

    def members(self) -> list[RunConfig]:
        return ensemble_members(self.config, self.seeds, self.lrs)

    def keys(self) -> tuple:
        """The cache key: the keys of the single runs the ensemble stands for."""
        return tuple(member.key() for member in self.members())

    def label(self) -> str:
        return f"{describe(self.config, with_run=False)}, seeds {list(self.seeds)}, lr {list(self.lrs)}"


def describe(config: RunConfig, with_run: bool = True) -> str:
    """A short name of a run for progress lines: 'fnn x0.2 fashion-mnist n=1000 sgd lr=0.5 B=20 seed 3'
    (without lr and seed for an ensemble, which names its own)."""
    batch = f" B={config.batch_size}" if config.batch_size and config.optimizer != "gd" else ""
    run = f" lr={config.lr:g}{batch} seed {config.seed}" if with_run else batch
    return f"{config.model} x{config.width_scale:g} {config.dataset} n={config.n} {config.optimizer}{run}"


def compute(job, location=None):
    """A job through the cache: a RunConfig's record, an Ensemble's records, or what a job with its own
    `compute(location)` gives (sgdcheck.trajectories.Tracked: trajectories)."""
    if hasattr(job, "compute"):
        return job.compute(location)
    if isinstance(job, Ensemble):
        return [record for part in job.parts() for record in cached_ensemble(part.config, part.seeds, part.lrs,
                                                                              location)]
    return cached_run(job, location)


def is_done(job, location=None) -> bool:
    """Whether a job's result is in the cache already."""
    if hasattr(job, "is_done"):
        return job.is_done(location)
    if isinstance(job, Ensemble):
        return all(_cached(memory(location), _ensemble_at).check_call_in_cache(part.keys(), part,
                                                                               code=source_fingerprint("runs"))
                   for part in job.parts())
    return is_cached(job, location)


def run_count(jobs) -> int:
    """How many training runs a list of jobs holds (an ensemble, tracked or not, counts each of its models)."""
    return sum(1 if isinstance(job, RunConfig) else len(job) for job in jobs)


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
    return describe(job) if isinstance(job, RunConfig) else job.label()

