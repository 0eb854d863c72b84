"""Hypothesis strategies for the stability theorem, for the claims and for users' own tests.

    from hypothesis import given
    from sgdcheck.strategies import stability_cases

    @given(stability_cases(max_d=3))
    def test_rate_below_criterion(case):
        assert mean_square_rate(*case) <= criterion(*case) + 1e-12
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

ENTRY = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False, width=64)


@dataclass(frozen=True)
class StabilityCase:
    """Per-sample Hessians [n, d, d], a learning rate and a batch size; unpacks as (h, lr, B)."""

    hessians: np.ndarray
    lr: float
    batch_size: int

    def __iter__(self):
        return iter((self.hessians, self.lr, self.batch_size))

    def __repr__(self) -> str:
        n, d, _ = self.hessians.shape
        h = np.array2string(np.round(self.hessians, 4), separator=", ").replace("\n", "")
        return f"StabilityCase(n={n}, d={d}, B={self.batch_size}, lr={self.lr:.6g}, hessians={h})"


@st.composite
def psd_hessians(draw, min_n=1, max_n=6, min_d=1, max_d=3, d=None):
    """n PSD matrices H_i = F_i F_i^T with entries of F_i in [-2, 2]."""
    n = draw(st.integers(min_n, max_n))
    dim = d if d is not None else draw(st.integers(min_d, max_d))
    factors = draw(arrays(np.float64, (n, dim, dim), elements=ENTRY))
    return factors @ factors.transpose(0, 2, 1)


@st.composite
def stability_cases(draw, min_n=1, max_n=6, min_d=1, max_d=3, d=None, lr_range=(0.05, 1.5)):
    """(hessians, lr, B) with lr = u * 2/a for u in lr_range, so both sides of stability occur."""
    h = draw(psd_hessians(min_n=min_n, max_n=max_n, min_d=min_d, max_d=max_d, d=d))
    n = h.shape[0]
    a = float(np.linalg.eigvalsh(h.mean(0))[-1])
    if a < 1e-6:
        h = h + np.eye(h.shape[1])[None]
        a = float(np.linalg.eigvalsh(h.mean(0))[-1])
    u = draw(st.floats(*lr_range))
    batch = draw(st.integers(1, n))
    return StabilityCase(h, 2.0 * u / a, batch)


@st.composite
def symmetric_hessians(draw, min_n=1, max_n=6, max_d=3):
    """Symmetric (not necessarily PSD) per-sample matrices."""
    n = draw(st.integers(min_n, max_n))
    dim = draw(st.integers(1, max_d))
    raw = draw(arrays(np.float64, (n, dim, dim), elements=ENTRY))
    return 0.5 * (raw + raw.transpose(0, 2, 1))


def random_psd(rng: np.random.Generator, n: int, d: int, rank: int | None = None) -> np.ndarray:
    """n random PSD matrices (numpy, for figures and Monte Carlo instances)."""
    factors = rng.normal(size=(n, d, rank or d))
    return factors @ factors.transpose(0, 2, 1)


@st.composite
def near_critical_cases(draw, min_n=2, max_n=6, min_d=2, max_d=3, above=(1e-3, 0.3)):
    """Cases with lr slightly above the critical lr of condition (8), where (8) fails but the exact
    rate may still be below 1: the place to look for counterexamples to necessity."""
    from .stability import critical_lr

    h = draw(psd_hessians(min_n=min_n, max_n=max_n, min_d=min_d, max_d=max_d))
    if float(np.linalg.eigvalsh(h.mean(0))[-1]) < 1e-6:
        h = h + np.eye(h.shape[1])[None]
    batch = draw(st.integers(1, h.shape[0]))
    factor = 1 + draw(st.floats(*above))
    return StabilityCase(h, critical_lr(h, batch) * factor, batch)
