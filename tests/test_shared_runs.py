"""The runs wu2018.generalization says it shares with the stability diagram and wu2018.lr-batch-roles are the
same run-cache entries: under fixed seeds every one, under the sequential design none (each claim blocks its
seeds by its own looks, and the cache keys an ensemble by its block)."""
import importlib
from dataclasses import replace

import pytest

from sgdcheck.runs import Ensemble
from sgdcheck.sampling import THEORY_SAMPLING
from sgdcheck.scale import get_scale
from sgdcheck.setups import fashion_fnn


pytestmark = pytest.mark.usefixtures("fashion_mnist")


def _entries(jobs) -> set:
    """The run-cache entries of some jobs: one per block of an ensemble."""
    return {repr(part.keys()) for job in jobs for part in job.parts()}


def _claim_entries(module: str, scale) -> set:
    return _entries(importlib.import_module(f"claims.{module}").planned_runs(scale, "cpu"))


def _diagram_jobs(scale) -> list[Ensemble]:
    """The ensembles sgdcheck.stability_diagram trains (eta = 0.5, GD and its SGD batches, seed_range(5))."""
    setup = fashion_fnn(scale, "cpu", n=scale.pick(smoke=500, full=1000, paper=1000))
    n = setup.config.n
    return [Ensemble(replace(setup.config, optimizer="gd" if batch == n else "sgd", batch_size=batch,
                             sampling=THEORY_SAMPLING, max_steps=scale.pick(smoke=20000, full=40000, paper=200000)),
                     scale.seed_range(5), (0.5,))
            for batch in scale.pick(smoke=(n, 50, 10), full=(n, 100, 25, 10), paper=(n, 100, 25, 10, 4))]


@pytest.mark.parametrize("scale_name", ["smoke", "full"])
def test_generalization_reads_the_diagram_and_lr_batch_roles_runs_under_fixed_seeds(scale_name):
    scale = get_scale(scale_name)
    generalization = _claim_entries("wu2018_generalization", scale)
    assert _entries(_diagram_jobs(scale)) <= generalization
    assert _claim_entries("wu2018_lr_batch_roles", scale) <= generalization


@pytest.mark.parametrize("look", [1, 2, 3])
def test_under_the_sequential_design_the_blocks_differ_and_nothing_is_shared(look):
    """What wu2018.generalization's docstring says; a change that makes the cache share these runs again should
    say so there."""
    scale = get_scale("full").with_first_share(0.5).at_look(look)
    generalization = _claim_entries("wu2018_generalization", scale)
    assert not _entries(_diagram_jobs(scale)) & generalization
    assert not _claim_entries("wu2018_lr_batch_roles", scale) & generalization
