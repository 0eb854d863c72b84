"""Quantities recorded along a training run, in one pass: the sharpness every hundred steps of GD (Cohen et al.
2021's edge of stability), the parameters at the marks a branch starts from (Poggio & Liao's basins), the loss
while an escape converges again (Wu, Ma & E 2018, Sec. 4.4).

A :class:`Measure` is a named function of a model, its training inputs and targets. :func:`track` trains an
ensemble (sgdcheck.ensemble) and measures at chosen steps through its checkpoints, and at each run's last step;
it may stop a run at the first checkpoint where a measure is at or below a value. :class:`Tracked` is the
cached job: an Ensemble with its steps and measures, keyed by the members' run keys, the steps, the measures
(each by its function's code) and the engine code, so a claim declares it in ``planned_runs`` like any run and a
rerun reads it. A trajectory's values at step k equal the measure of a run of the same configuration trained
for k steps (tests/test_trajectories.py), without training that run again.
"""
from __future__ import annotations

import hashlib
import inspect
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

import joblib
import torch

from . import progress
from .curvature import sharpness
from .ensemble import train_ensemble
from .figures import panel, series
from .errors import InvalidArgumentError
from .fingerprint import code_digest, source_fingerprint
from .losses import mse_loss
from .runs import Ensemble, RunRecord, _cached, _record, _served, _through_cache, initial_model, memory, training_data
from .train import TrainResult, full_loss


def function_key(function: Callable) -> str:
    """A measure's function as a cache key sees it: its qualified name and a hash of its code (docstrings and
    comments left out), so that editing what it computes measures again."""
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        raise InvalidArgumentError(f"a measure's function must be defined in a source file, got {function!r}") from None
    digest = hashlib.sha256(code_digest(inspect.cleandoc("\n" + source))).hexdigest()[:12]
    return f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', '?')}:{digest}"


@dataclass(frozen=True)
class Measure:
    """A quantity recorded along a run: function(model, x, y, **options) -> a picklable value (a number, a list,
    a dict of tensors). The model is in eval mode, on the run's device; the function must not modify it."""

    name: str
    function: Callable = field(compare=False)
    options: tuple = ()

    def __post_init__(self):
        if not (isinstance(self.name, str) and self.name):
            raise InvalidArgumentError(f"a measure needs a name, got {self.name!r}")
        if not callable(self.function):
            raise InvalidArgumentError(f"measure {self.name!r}: function must be callable, got {self.function!r}")
        object.__setattr__(self, "options", tuple(sorted(dict(self.options).items())))

    def key(self) -> tuple:
        """What the cache keys the measure by: its name, its function's code and its options."""
        return self.name, function_key(self.function), self.options

    def __call__(self, model, x, y):
        return self.function(model, x, y, **dict(self.options))


def _loss(model, x, y):
    return full_loss(model, dict(model.named_parameters()), x, y, mse_loss)


def _error(model, x, y):
    with torch.no_grad():
        return float((model(x).argmax(1) != y.argmax(1)).double().mean())


def _sharpness(model, x, y, tol):
    return float(sharpness(model, x, y, mse_loss, tol=tol, chunk_size=len(x)))


def _parameters(model, x, y):
    return {k: v.detach().cpu().clone() for k, v in model.named_parameters()}


LOSS = Measure("loss", _loss)                      # the full-batch training loss (MSE on one-hot targets)
ERROR = Measure("error", _error)                   # the training error: the share of samples misclassified
PARAMETERS = Measure("parameters", _parameters)    # the parameters themselves, on the CPU


def sharpness_measure(tol: float = 1e-3) -> Measure:
    """The sharpness a = lambda_max of the training loss's Hessian (Wu, Ma & E 2018, Definition 3), by Lanczos
    on Hessian-vector products to relative tolerance `tol` (sgdcheck.curvature.sharpness)."""
    return Measure("sharpness", _sharpness, (("tol", float(tol)),))


@dataclass
class Trajectory:
    """One run and what was measured along it: `steps` (increasing, the checkpoints the run reached and its last
    step) and, per measure, the values at those steps. `result` is the run as training ended (a RunRecord when
    it came through the cache)."""

    result: RunRecord | TrainResult
    steps: list
    values: dict

    def __getitem__(self, name: str) -> list:
        if name not in self.values:
            raise KeyError(f"no measure {name!r} was recorded; recorded: {', '.join(self.values)}")
        return self.values[name]

    def at(self, step: int, name: str):
        """The value of measure `name` at `step` (a checkpoint or the last step)."""
        if step not in self.steps:
            raise KeyError(f"step {step} was not recorded; recorded steps {self.steps[0]}..{self.steps[-1]}")
        return self[name][self.steps.index(step)]

    @property
    def seed(self) -> int:
        return self.result.seed if isinstance(self.result, RunRecord) else None


def checked_steps(at: Sequence[int], max_steps: int) -> tuple:
    """The checkpoints as sorted distinct ints in 0..max_steps, or an error naming the first one out of range."""
    steps = sorted({int(s) for s in at})
    bad = [s for s in steps if not 0 <= s <= max_steps]
    if bad or any(int(s) != s for s in at):
        raise InvalidArgumentError(f"checkpoints must be integer steps in 0..max_steps = 0..{max_steps}, got {bad or list(at)}")
    return tuple(steps)


def track(build_model: Callable[[int], torch.nn.Module], seeds, lrs, x, y, *, at: Sequence[int],
          measures: Sequence[Measure], max_steps: int, stop_below: tuple | None = None, loss_fn=mse_loss,
          **train_options) -> list[Trajectory]:
    """Train GD or SGD for every (seed, lr) pair at once (sgdcheck.ensemble.train_ensemble, whose options
    `train_options` are: batch_size, sampling, loss_goal, eval_every) and measure every measure at each step of
    `at` a run reaches, and at its last step unless it diverged. stop_below = (name, value) stops a run at the
    first checkpoint where that measure is <= value. Trajectories seeds-major, like the ensemble's results."""
    measures = tuple(measures)
    names = [m.name for m in measures]
    if not measures or len(set(names)) != len(names):
        raise InvalidArgumentError(f"track needs measures with distinct names, got {names}")
    if stop_below is not None and stop_below[0] not in names:
        raise InvalidArgumentError(f"stop_below names measure {stop_below[0]!r}, which is not recorded ({names})")
    steps = checked_steps(at, max_steps)
    pairs = [(seed, lr) for seed in seeds for lr in lrs]
    models = [build_model(seed).eval() for seed, _ in pairs]       # the measured copies; training builds its own
    logs = [{"steps": [], "values": {name: [] for name in names}} for _ in pairs]

    def measure_into(m, step, params):
        model = models[m]
        model.load_state_dict({**model.state_dict(), **params})
        log = logs[m]
        log["steps"].append(step)
        for item in measures:
            log["values"][item.name].append(item(model, x, y))

    def at_checkpoint(step, params, reached):
        stop = torch.zeros(len(pairs), dtype=torch.bool)
        for m in torch.nonzero(reached.cpu()).flatten().tolist():
            measure_into(m, step, {k: v[m].detach() for k, v in params.items()})
            if stop_below is not None:
                value = logs[m]["values"][stop_below[0]][-1]
                stop[m] = bool(value <= stop_below[1])
        return stop.to(reached.device)

    results = train_ensemble(build_model, seeds, lrs, x, y, loss_fn, max_steps=max_steps, checkpoints=steps, at_checkpoint=at_checkpoint,
                             **train_options)
    trajectories = []
    for m, result in enumerate(results):
        if not result.diverged and (not logs[m]["steps"] or logs[m]["steps"][-1] != result.steps):
            measure_into(m, result.steps, result.params)
        trajectories.append(Trajectory(result, logs[m]["steps"], logs[m]["values"]))
    return trajectories


@dataclass(frozen=True)
class Tracked:
    """A cached trajectory job: the runs of `ensemble` (GD or SGD, every seed and learning rate) with `measures`
    recorded at the steps `at` and at each run's last step, optionally stopped by stop_below = (measure, value).
    Declare it in a claim's planned_runs like an Ensemble; sgdcheck.runs.compute returns its Trajectories, each
    holding the RunRecord the plain ensemble would give."""

    ensemble: Ensemble
    at: tuple
    measures: tuple
    stop_below: tuple | None = None

    def __post_init__(self):
        if not isinstance(self.ensemble, Ensemble):
            raise InvalidArgumentError(f"Tracked takes an Ensemble, got {type(self.ensemble).__name__}")
        if self.ensemble.config.optimizer not in ("gd", "sgd") or self.ensemble.config.zero_error:
            raise InvalidArgumentError("trajectories train with gd or sgd, without zero_error (sgdcheck.ensemble)")
        object.__setattr__(self, "at", checked_steps(self.at, self.ensemble.config.max_steps))
        object.__setattr__(self, "measures", tuple(self.measures))
        if self.stop_below is not None:
            object.__setattr__(self, "stop_below", (str(self.stop_below[0]), float(self.stop_below[1])))

    def parts(self) -> list["Tracked"]:
        """One job per block of seeds a sequential design's looks added (see Ensemble.parts)."""
        return [Tracked(part, self.at, self.measures, self.stop_below) for part in self.ensemble.parts()]

    def recorded(self) -> str:
        """The steps, measures and stop rule as one short hash: the part of the cache key beyond the runs."""
        return joblib.hash((self.at, tuple(m.key() for m in self.measures), self.stop_below))[:16]

    def __len__(self) -> int:
        return len(self.ensemble)

    def label(self) -> str:
        names = ", ".join(m.name for m in self.measures)
        return f"{self.ensemble.label()}, tracking {names} at {len(self.at)} steps"

    def compute(self, location=None) -> list[Trajectory]:
        """The trajectories, trained once per (runs, steps, measures, engine code) and then read from the cache."""
        store = memory(location)
        return [t for part in self.parts() for t in _served_trajectories(
            _through_cache(store, _tracked_at, part.ensemble.keys(), part, code=part.code()))]

    def is_done(self, location=None) -> bool:
        store = memory(location)
        return all(_cached(store, _tracked_at).check_call_in_cache(part.ensemble.keys(), part, code=part.code())
                   for part in self.parts())

    def code(self) -> str:
        return f"{source_fingerprint('trajectories')}-{self.recorded()}"


def _served_trajectories(trajectories):
    _served([t.result for t in trajectories])
    return trajectories


def _tracked_at(keys: tuple, job: Tracked, code: str) -> list[Trajectory]:
    """track() of the job's ensemble; the cache key is the members' keys and `code` (engine code and what is
    recorded)."""
    config, seeds, lrs = job.ensemble.config, job.ensemble.seeds, job.ensemble.lrs
    start = time.perf_counter()
    x, y = training_data(config)
    with progress.running(job.label()):
        trajectories = track(lambda seed: initial_model(replace(config, seed=seed)), seeds, lrs, x, y, at=job.at,
                             measures=job.measures, max_steps=config.max_steps, stop_below=job.stop_below,
                             batch_size=None if config.full_batch else config.batch_size, sampling=config.sampling,
                             loss_goal=config.loss_goal, eval_every=config.eval_every)
    for trajectory, member in zip(trajectories, job.ensemble.members()):
        trajectory.result = _record(member, trajectory.result)
    progress.run_finished(job.label(), seconds=time.perf_counter() - start, runs=len(trajectories),
                          steps=max(t.result.steps for t in trajectories),
                          loss=max(t.result.loss for t in trajectories))
    return trajectories


def trajectory_panel(trajectories: Sequence[Trajectory], name: str, title: str, *, ylabel: str | None = None,
                     bounds: Sequence[tuple] = (), yscale: str = "linear") -> dict:
    """A figure panel (sgdcheck.figures) of measure `name` against the step, one line per run labelled by its seed,
    with horizontal bounds as (value, label) pairs: the standard picture of a quantity along training."""
    lines = [series("line", t.steps, t[name], f"seed {t.seed}" if t.seed is not None else f"run {k + 1}")
             for k, t in enumerate(trajectories)]
    return panel(title, "step", ylabel or name, lines, yscale=yscale, hlines=list(bounds))
