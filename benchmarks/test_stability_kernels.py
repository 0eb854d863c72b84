"""Hot kernels of the stability math and the samplers, each beside its naive baseline.

Run: .venv/bin/python -m pytest benchmarks --benchmark-only --benchmark-group-by=group
"""
import numpy as np
import pytest

from sgdcheck.landscapes import TwoBasin
from sgdcheck.samplers import langevin
from sgdcheck.stability import brute_force_operator, second_moment_operator
from sgdcheck.strategies import random_psd

H = random_psd(np.random.default_rng(0), 14, 4)  # n = 14, B = 7: C(14, 7) = 3432 batches
LR, BATCH = 0.05, 7


@pytest.mark.benchmark(group="second-moment operator, n=14 B=7 d=4")
def test_closed_form_operator(benchmark):
    out = benchmark(second_moment_operator, H, LR, BATCH)
    assert np.allclose(out, brute_force_operator(H, LR, BATCH), atol=1e-10)


@pytest.mark.benchmark(group="second-moment operator, n=14 B=7 d=4")
def test_enumerated_operator_baseline(benchmark):
    benchmark(brute_force_operator, H, LR, BATCH)


POT, CHAINS, STEPS = TwoBasin(3), 256, 200


def _one_chain_at_a_time(x0, rng):
    return np.concatenate([langevin(POT, x0[i:i + 1], 0.01, 0.5, STEPS, rng).x for i in range(len(x0))])


@pytest.mark.benchmark(group="Langevin, 256 chains x 200 steps, d=3")
def test_vectorized_chains(benchmark):
    x0 = np.zeros((CHAINS, 3))
    benchmark(lambda: langevin(POT, x0, 0.01, 0.5, STEPS, np.random.default_rng(0)))


@pytest.mark.benchmark(group="Langevin, 256 chains x 200 steps, d=3")
def test_chain_loop_baseline(benchmark):
    x0 = np.zeros((CHAINS, 3))
    benchmark.pedantic(_one_chain_at_a_time, args=(x0, np.random.default_rng(0)), rounds=3, iterations=1)
