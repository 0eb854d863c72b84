"""The training loss of every run: mean squared error on one-hot targets.

Kept apart from the curvature code so that the run cache, keyed by the sources a run imports
(sgdcheck.fingerprint), does not retrain every run when a curvature routine changes.
"""
from __future__ import annotations

import torch


def mse_loss(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-sample squared error averaged over output coordinates, (1/k) ||f(x) - y||^2 (the convention of
    Wu, Ma & E's code: mean over samples and classes, no 1/2)."""
    return ((outputs - targets) ** 2).flatten(1).mean(1)
