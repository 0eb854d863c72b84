"""Curvature and training kernels on the paper's FNN (784-500-500-500-10, 898,510 parameters) with
n = 1000 FashionMNIST samples, each beside its naive baseline, at equal accuracy.

Run: .venv/bin/python -m pytest benchmarks/test_curvature_kernels.py --benchmark-only -s
The non-uniformity baseline (the source code's loop of single-sample double-backprops inside power
iteration) takes several minutes.
"""
import time

import numpy as np
import pytest
import torch
from torch.func import grad, jvp

from sgdcheck import data
from sgdcheck.curvature import Problem, non_uniformity, sharpness, top_eigenvalue
from sgdcheck.losses import mse_loss
from sgdcheck.ensemble import train_ensemble
from sgdcheck.models import FNN
from sgdcheck.optim import GD
from sgdcheck.train import train

pytestmark = pytest.mark.skipif(not data.DEBIAN_FASHION_MNIST.exists() and not (data.default_root() / "FashionMNIST").exists(),
                                reason="FashionMNIST files are not available")


@pytest.fixture(scope="module")
def fashion():
    torch.set_num_threads(2)
    ds = data.load("fashion-mnist").subset(1000).standardized()
    return ds.x.flatten(1), ds.one_hot()


@pytest.fixture(scope="module")
def fnn():
    torch.manual_seed(0)
    return FNN().eval()


def test_hvp_costs_at_most_three_gradients(benchmark, fashion, fnn):
    x, y = fashion
    problem = Problem(fnn, x, y, mse_loss, chunk_size=1000)
    v = torch.randn(problem.dim)
    timings = {}
    for name, call in (("gradient", problem.gradient), ("hvp", lambda: problem.hvp(v))):
        call()
        start = time.perf_counter()
        for _ in range(5):
            call()
        timings[name] = (time.perf_counter() - start) / 5
    benchmark.extra_info.update(gradient_s=timings["gradient"], hvp_s=timings["hvp"],
                                ratio=timings["hvp"] / timings["gradient"])
    benchmark.pedantic(lambda: problem.hvp(v), rounds=3, iterations=1)
    assert timings["hvp"] <= 3 * timings["gradient"]


def power_iteration(matvec, dim, reference, rtol, seed=0, limit=500):
    """The baseline eigensolver: v <- A v / ||A v||, Rayleigh quotient; products until within rtol."""
    v = torch.randn(dim, generator=torch.Generator().manual_seed(seed))
    v /= v.norm()
    for count in range(1, limit + 1):
        w = matvec(v)
        estimate = float(v @ w)
        if abs(estimate - reference) <= rtol * abs(reference):
            return estimate, count
        v = w / w.norm()
    return estimate, limit


def test_sharpness_lanczos_vs_power_iteration(benchmark, fashion, fnn):
    x, y = fashion
    problem = Problem(fnn, x, y, mse_loss, chunk_size=1000)
    reference = float(top_eigenvalue(problem.hvp, problem, tol=1e-10))
    ours = benchmark.pedantic(lambda: sharpness(fnn, x, y, mse_loss, tol=1e-3, chunk_size=1000), rounds=1, iterations=1)
    _, power_count = power_iteration(problem.hvp, problem.dim, reference, 1e-3)
    benchmark.extra_info.update(reference=reference, lanczos_value=float(ours), lanczos_hvps=ours.products,
                                power_iteration_hvps=power_count)
    print(f"\nsharpness {reference:.6g}: Lanczos {ours.products} HVPs (error {abs(ours / reference - 1):.1e}), "
          f"power iteration {power_count} HVPs to 1e-3")
    assert abs(float(ours) / reference - 1) <= 1e-3 and ours.products <= 30


def test_non_uniformity_vs_per_sample_loop(benchmark, fashion, fnn):
    """At an interpolating point (targets = the network's own outputs) the Gauss-Newton identity
    H_i = J_i^T Lambda J_i is exact, so both methods estimate the same s."""
    x, _ = fashion
    with torch.no_grad():
        y = fnn(x)
    problem = Problem(fnn, x, y, mse_loss, chunk_size=1000)
    reference = non_uniformity(fnn, x, y, mse_loss, tol=1e-8, chunk_size=1000)
    ours = benchmark.pedantic(lambda: non_uniformity(fnn, x, y, mse_loss, tol=1e-3, chunk_size=1000),
                              rounds=1, iterations=1)
    ours_s = benchmark.stats.stats.min

    def single(i, v):
        return jvp(lambda w: grad(problem.sample_loss)(w, x[i], y[i]), (problem.w,), (v,))[1]

    def sigma_loop(v):          # the source code's way: 2n single-sample HVPs per product
        hv = problem.hvp(v)
        second = sum(single(i, single(i, v)) for i in range(len(x))) / len(x)
        return second - problem.hvp(hv)

    start = time.perf_counter()
    value, count = power_iteration(sigma_loop, problem.dim, reference.sigma_max, 0.02)   # s within 1%
    baseline_s = time.perf_counter() - start
    benchmark.extra_info.update(reference_s=float(reference), ours_value=float(ours), ours_seconds=ours_s,
                                method=ours.method, baseline_products=count, baseline_seconds=baseline_s,
                                speedup=baseline_s / ours_s)
    print(f"\nnon-uniformity {float(reference):.5g}: ours {float(ours):.5g} ({ours.method}) in {ours_s:.1f} s; "
          f"loop + power iteration {np.sqrt(max(value, 0)):.5g} after {count} products in {baseline_s:.0f} s: "
          f"{baseline_s / ours_s:.0f}x")
    assert abs(float(ours) / float(reference) - 1) <= 0.01
    assert baseline_s / ours_s >= 30


def _mlp(seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(40, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(),
                               torch.nn.Linear(64, 10))


@pytest.fixture(scope="module")
def mnist1d():
    ds = data.load("mnist1d")
    return ds.x, ds.one_hot()


@pytest.mark.benchmark(group="8 MLPs 40-64-64-10, SGD batch 100, 200 steps on mnist1d")
def test_vmap_ensemble(benchmark, mnist1d):
    x, y = mnist1d
    benchmark.pedantic(lambda: train_ensemble(_mlp, range(8), [0.05], x, y, mse_loss, max_steps=200,
                                              batch_size=100, eval_every=200), rounds=3, iterations=1)


@pytest.mark.benchmark(group="8 MLPs 40-64-64-10, SGD batch 100, 200 steps on mnist1d")
def test_sequential_loop_baseline(benchmark, mnist1d):
    x, y = mnist1d
    benchmark.pedantic(lambda: [train(_mlp(s), x, y, mse_loss, GD(0.05), max_steps=200, batch_size=100,
                                      eval_every=200, seed=s) for s in range(8)], rounds=3, iterations=1)
