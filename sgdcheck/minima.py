"""Sharpness and non-uniformity of the minima an ensemble of runs reached, measured once and cached on disk.

a = lambda_max(H) and s = sqrt(lambda_max(Sigma)) of the training loss at each converged run (Wu, Ma & E 2018,
Definition 3), from `sgdcheck.curvature` (Lanczos; the exact or Gauss-Newton Sigma that `hessian_operators`
chooses). The measurement is cached like the runs (joblib, keyed by the ensemble and the code of this module
and its dependencies), so claims that read the same minima, and reruns of one claim, measure them once.
"""
from __future__ import annotations

from .curvature import non_uniformity, sharpness
from .fingerprint import source_fingerprint
from .losses import mse_loss
from .runs import Ensemble, RunConfig, cached_ensemble, memory, trained_model, training_data

SHARPNESS_TOL, NON_UNIFORMITY_TOL = 1e-3, 1e-2        # the stability diagram's tolerances


def measured_minima(job: Ensemble, location=None) -> list[dict]:
    """One point per (seed, lr) of the ensemble: batch size, lr, seed, a, s (NaN unless the run reached its goal
    without diverging), and the run's convergence flags. Measured and cached per block of seeds of a sequential
    design's looks (sgdcheck.runs.Ensemble.parts), like the runs."""
    measure = memory(location).cache(_measure, ignore=["location"])
    return [point for part in job.parts()
            for point in measure(part.config, part.seeds, part.lrs, location, code=source_fingerprint("minima"))]


def _measure(config: RunConfig, seeds: tuple, lrs: tuple, location, code: str) -> list[dict]:
    job = Ensemble(config, seeds, lrs)
    x, y = training_data(config)
    points = []
    for record, member in zip(cached_ensemble(config, seeds, lrs, location), job.members()):
        a = s = float("nan")
        if record.ok:
            model = trained_model(record, member)
            a = float(sharpness(model, x, y, mse_loss, tol=SHARPNESS_TOL, chunk_size=len(x)))
            s = float(non_uniformity(model, x, y, mse_loss, tol=NON_UNIFORMITY_TOL, chunk_size=len(x)))
        points.append({"batch_size": config.batch_size if config.optimizer != "gd" else config.n,
                       "lr": record.lr, "seed": record.seed, "a": a, "s": s, "steps": record.steps,
                       "converged": record.converged, "diverged": record.diverged})
    return points
