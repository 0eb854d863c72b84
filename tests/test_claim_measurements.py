"""The claims whose measurements take minutes cache them per seed: a later look of the sequential design
measures only the seeds it adds (the expensive parts are replaced here by fakes that note the seed)."""
import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from sgdcheck.runs import RunRecord
from sgdcheck.scale import SCALES

CLAIMS = Path(__file__).resolve().parents[1] / "claims"
SEQUENTIAL = SCALES["smoke"].with_first_share(0.5)


def _claim(name):
    spec = importlib.util.spec_from_file_location(f"claim_{name}", CLAIMS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SGDCHECK_CACHE", str(tmp_path / "cache"))


def _record(seed):
    """A run record as a cache read returns it: its own tensors each time (equal content, another storage)."""
    return RunRecord(config={"seed": seed, "lr": 0.5}, params={"w": torch.full((3,), float(seed))}, steps=1,
                     loss=1e-3, converged=True, diverged=False, history=[])


class _Minima:
    """The GD minima's ensemble as the claim reads it: seeds and one member (a run's config) per seed."""

    def __init__(self, seeds):
        self.seeds = tuple(seeds)

    def members(self):
        return [SimpleNamespace(seed=s, loss_goal=1e-3) for s in self.seeds]


def _looks(measure, measured):
    """The seeds measured at look 1, then the seeds look 2 added to them."""
    measure(SEQUENTIAL.at_look(1))
    first = list(measured)
    measure(SEQUENTIAL.at_look(2))
    return first, measured[len(first):]


def test_escape_speed_measures_each_seed_once(monkeypatch):
    claim, measured = _claim("wu2018_escape_speed"), []
    monkeypatch.setattr(claim, "gd_minima", lambda scale, device, lrs: [_Minima(scale.seed_range(5))])
    monkeypatch.setattr(claim, "compute", lambda job: [_record(s) for s in job.seeds])
    monkeypatch.setattr(claim, "training_data", lambda member: (None, None))
    monkeypatch.setattr(claim, "trained_model", lambda record, member: record.seed)
    monkeypatch.setattr(claim, "polished", lambda seed, *a, **k: (measured.append(seed) or seed,
                                                                  SimpleNamespace(converged=True, loss=1e-4, steps=9)))
    probe = SimpleNamespace(left=True, leave_step=10, peak_step=12, return_step=200, burst=300.0, diverged=False,
                            history=[])
    monkeypatch.setattr(claim, "escape_probe", lambda *a, **k: probe)
    frozen = SimpleNamespace(leave_steps=[None], bursts=[2.0], steps_above=[0], noise_power=1.0, start_loss=1e-4,
                             history=[])
    monkeypatch.setattr(claim, "frozen_noise_escape", lambda *a, **k: frozen)
    first, added = _looks(lambda scale: claim._network_escapes(scale, "cpu"), measured)
    assert first == [0, 1, 2] and added == [3, 4, 5]
    assert [row["seed"] for row in claim._network_escapes(SEQUENTIAL.at_look(2), "cpu")] == list(range(6))
    assert measured == list(range(6))


def test_sgd_degenerate_bias_measures_each_seed_once(monkeypatch):
    claim, measured = _claim("poggio_sgd_degenerate_bias"), []
    monkeypatch.setattr(claim, "_network_configs", lambda scale, device: {"GD": "gd", "SGD": "sgd"})
    monkeypatch.setattr(claim, "cached_ensemble", lambda config, seeds, lrs: [_record(s) for s in seeds])
    monkeypatch.setattr(claim, "training_data", lambda config: (np.zeros(3), None))
    monkeypatch.setattr(claim, "trained_model", lambda record, config: None)

    def density(model, x, y, loss, seed, **kwargs):
        measured.append(seed)
        return SimpleNamespace(largest=2.0, dim=3, nodes=np.zeros(2), weights=np.ones(2),
                               masses_below=lambda level: np.array([0.5, 0.5]))

    monkeypatch.setattr(claim, "hessian_spectral_density", density)
    first, added = _looks(lambda scale: claim._flat_shares(scale, "cpu"), measured)
    assert sorted(first) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]         # GD and SGD: 5 of the 10 seeds at look 1
    assert sorted(added) == sorted(2 * list(range(5, 10)))


def test_basins_measures_each_seed_once(monkeypatch):
    claim, measured = _claim("poggio_basins"), []
    monkeypatch.setattr(claim, "training_data", lambda config: measured.append(config.seed) or (None, None))
    monkeypatch.setattr(claim, "initial_model", lambda config: None)
    monkeypatch.setattr(claim, "_detached", lambda model: {})
    monkeypatch.setattr(claim, "_perturbed", lambda params, size, generator: {})
    monkeypatch.setattr(claim, "_gd", lambda model, params, x, y, lr, start, marks: ({m: {} for m in marks}, False))
    pair = {"path_error": [0.0], "excess": 0.0, "averaged_excess": {}, "end_errors": [0.0, 0.0], "distance": 0.1}
    monkeypatch.setattr(claim, "_pair", lambda *args: pair)
    first, added = _looks(lambda scale: claim._experiment(scale, "cpu"), measured)
    assert first == [0, 1, 2] and added == [3, 4, 5]
    seeds, rows, _, trajectories = claim._experiment(SEQUENTIAL.at_look(2), "cpu")
    assert list(seeds) == [row["seed"] for row in rows] == list(range(6)) and "main" in trajectories


def test_polynomial_net_trains_each_seed_once(monkeypatch):
    claim, measured = _claim("poggio_polynomial_net"), []
    monkeypatch.setattr(claim, "training_data", lambda config: measured.append(config.seed) or (None, None))
    monkeypatch.setattr(claim, "held_out", lambda config: None)
    monkeypatch.setattr(claim, "initial_model", lambda config: None)
    monkeypatch.setattr(claim, "_trained", lambda model, config, x, y, test, budget: ([(1.0, 0.5)], 0.1, None))
    monkeypatch.setattr(claim, "_preactivation_radius", lambda model, x: 1.0)
    monkeypatch.setattr(claim, "minimax_relu", lambda degree, radius: SimpleNamespace(max_error=0.01))
    monkeypatch.setattr(claim, "ChebyshevActivation", lambda fit: None)
    monkeypatch.setattr(claim, "_swapped", lambda model, activation: None)
    first, added = _looks(lambda scale: claim._rows(scale, "cpu", "fnn", 40), measured)
    assert first == [0, 1, 2] and added == [3, 4, 5]


def test_flatness_labels_measures_each_run_once(monkeypatch):
    claim, measured = _claim("poggio_flatness_labels"), []
    monkeypatch.setattr(claim, "cached_run", lambda config: _record(config.seed))
    monkeypatch.setattr(claim, "training_data", lambda config: (None, None))
    monkeypatch.setattr(claim, "trained_model", lambda record, config: None)
    monkeypatch.setattr(claim, "flatness_radius", lambda model, x, y, loss, seed, **k: measured.append(seed) or 1.0)
    first, added = _looks(lambda scale: claim._radii(scale, "cpu", 0.0, None), measured)
    assert first == [0, 1, 2] and added == [3, 4, 5]


class _Evidence:
    """What a claim's test hands its evidence: kept here to look at, the verdict included."""

    def __init__(self):
        self.recorded, self.verdicts = {}, []

    def record(self, **values):
        self.recorded.update(values)

    def detail(self, **details):
        pass

    def figure(self, name, spec):
        pass

    def conclude(self, claim, verdict, *, negative_control, seeds, case=""):
        self.verdicts.append((verdict, negative_control[1]))


def test_escape_speed_reports_a_diverged_sgd_run_instead_of_crashing(monkeypatch):
    claim = _claim("wu2018_escape_speed")
    row = dict(minimum=True, polished=True, start_loss=1e-4, left=True, peak_step=12, history=[(0, 1e-4), (10, 1e-2)],
               frozen_steps=400, frozen_leave_steps=[None] * 3, frozen_bursts=[2.0] * 3, frozen_steps_above=[0] * 3,
               frozen_noise_power=1.0, frozen_history=[(0, 1e-4)])
    rows = [dict(row, seed=0, leave_step=10, return_step=300, burst=300.0, diverged=False),
            dict(row, seed=1, leave_step=20, return_step=None, burst=float("inf"), diverged=True),
            dict(row, seed=2, leave_step=10, return_step=250, burst=200.0, diverged=False)]
    monkeypatch.setattr(claim, "_network_escapes", lambda scale, device: rows)
    evidence = _Evidence()
    claim._network(SEQUENTIAL, "cpu", evidence)
    assert "SGD's at 300x, diverged, 200x (" in evidence.recorded["diffusion escape (network)"].text
    assert len(evidence.verdicts) == 1
