from dataclasses import replace

import math

import pytest

from sgdcheck import minima
from sgdcheck.curvature import non_uniformity, sharpness
from sgdcheck.losses import mse_loss
from sgdcheck.runs import Ensemble, RunConfig, cached_ensemble, trained_model, training_data

CONFIG = RunConfig(dataset="digits", n=60, model="fnn", model_options=(("inputs", 64), ("hidden", (8,))),
                   optimizer="sgd", batch_size=10, sampling="subsets", dtype="float64", lr=0.3, loss_goal=0.05,
                   max_steps=400, eval_every=20)


def test_measured_minima_are_the_curvature_of_each_run_and_measured_once(tmp_path, monkeypatch):
    job = Ensemble(CONFIG, (0, 1), (0.3,))
    points = minima.measured_minima(job, tmp_path)
    assert [(p["seed"], p["lr"], p["batch_size"]) for p in points] == [(0, 0.3, 10), (1, 0.3, 10)]
    records = cached_ensemble(CONFIG, [0, 1], [0.3], tmp_path)
    x, y = training_data(CONFIG)
    for point, record, member in zip(points, records, job.members()):
        if record.ok:
            model = trained_model(record, member)
            assert point["a"] == pytest.approx(float(sharpness(model, x, y, mse_loss, tol=1e-3, chunk_size=len(x))))
            assert point["s"] == pytest.approx(float(non_uniformity(model, x, y, mse_loss, tol=1e-2,
                                                                    chunk_size=len(x))))
        else:
            assert math.isnan(point["a"]) and math.isnan(point["s"])
    monkeypatch.setattr(minima, "sharpness", lambda *a, **k: pytest.fail("measured twice"))
    assert minima.measured_minima(job, tmp_path) == points


def test_gd_minima_carry_the_full_batch_size(tmp_path):
    job = Ensemble(replace(CONFIG, optimizer="gd", batch_size=None, sampling=None, max_steps=40), (0,), (0.3,))
    assert minima.measured_minima(job, tmp_path)[0]["batch_size"] == CONFIG.n
