"""The engine's training step beside a hand-written torch loop of the same model, data and batches.

FashionMNIST FNN of Wu, Ma & E (2018) at the width of the smoke scale (784-100-100-100-10) on the first
n = 1000 training images (pixels in [0, 1]), lr = 0.5, 200 steps; GD (full batch) and SGD (B = 50), with
and without a loss goal (one that is never reached, so every step checks it). The baseline is what a
user would write: `torch.optim.SGD`, `loss.backward()`, the goal read from the step's own loss (GD) or
from a full-batch forward pass every step (SGD, as the engine does to stop at the first step that reaches
it). Times are the best of interleaved rounds, so both sides see the same machine state.

On CUDA (skipped elsewhere) the paper-width FNN: one model's GD step against the FLOP floor of the
device, and an ensemble of 30 models (5 seeds x 6 step sizes) against one model.

Run: .venv/bin/python -m pytest benchmarks/test_training_loop.py --benchmark-only -s
"""
import time

import pytest
import torch

from sgdcheck import data
from sgdcheck.losses import mse_loss
from sgdcheck.ensemble import train_ensemble
from sgdcheck.loop import BatchStream
from sgdcheck.models import build
from sgdcheck.optim import GD
from sgdcheck.train import train

pytestmark = pytest.mark.skipif(not data.DEBIAN_FASHION_MNIST.exists() and not (data.default_root() / "FashionMNIST").exists(),
                                reason="FashionMNIST files are not available")
STEPS, LR, ROUNDS = 200, 0.5, 5
UNREACHED = 1e-12
TARGET = {("gd", True): 1.1, ("sgd", True): 1.1, ("gd", False): 1.1, ("sgd", False): 1.25}


@pytest.fixture(scope="module")
def fashion():
    torch.set_num_threads(2)
    ds = data.load("fashion-mnist").subset(1000)
    return ds.x.flatten(1), ds.one_hot()


def _model(width=0.2, device="cpu"):
    torch.manual_seed(0)
    return build("fnn", width_scale=width).to(device)


def hand_written(x, y, batch, goal):
    """A torch.optim.SGD loop on the engine's batches (sgdcheck.loop.BatchStream, seed 0)."""
    model = _model(device=x.device)
    sgd = torch.optim.SGD(model.parameters(), lr=LR)
    batches = BatchStream(len(x), batch or len(x), "reshuffling", 0)
    for _ in range(STEPS):
        if batch is None:
            loss = mse_loss(model(x), y).mean()
            if goal is not None and float(loss) <= goal:
                break
        else:
            if goal is not None:
                with torch.no_grad():
                    if float(mse_loss(model(x), y).mean()) <= goal:
                        break
            index = next(batches)
            loss = mse_loss(model(x[index]), y[index]).mean()
        sgd.zero_grad()
        loss.backward()
        sgd.step()
    return model


def engine(x, y, batch, goal, sampling="reshuffling"):
    return train(_model(device=x.device), x, y, mse_loss, GD(LR), max_steps=STEPS, batch_size=batch,
                 loss_goal=goal, eval_every=100, sampling=sampling)


def _best_of_interleaved(calls: dict, rounds=ROUNDS) -> dict:
    times = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: min(values) for name, values in times.items()}


@pytest.mark.parametrize("method", ["gd", "sgd"])
@pytest.mark.parametrize("with_goal", [True, False], ids=["loss goal", "no goal"])
def test_engine_step_against_a_hand_written_loop(benchmark, fashion, method, with_goal):
    x, y = fashion
    batch, goal = (None if method == "gd" else 50), (UNREACHED if with_goal else None)
    engine(x, y, batch, goal), hand_written(x, y, batch, goal)               # warm-up
    best = _best_of_interleaved({"engine": lambda: engine(x, y, batch, goal),
                                 "hand": lambda: hand_written(x, y, batch, goal)})
    ratio = best["engine"] / best["hand"]
    benchmark.extra_info.update(engine_ms_per_step=1e3 * best["engine"] / STEPS,
                                hand_ms_per_step=1e3 * best["hand"] / STEPS, ratio=ratio)
    benchmark.pedantic(lambda: engine(x, y, batch, goal), rounds=1, iterations=1)
    print(f"\n{method} {'with' if with_goal else 'without'} a loss goal: engine {1e3 * best['engine'] / STEPS:.3f} "
          f"ms/step, hand-written {1e3 * best['hand'] / STEPS:.3f} ms/step, ratio {ratio:.2f}")
    assert ratio <= TARGET[(method, with_goal)]


def test_the_theory_sampler_costs_little_beside_reshuffling(benchmark, fashion):
    """A fresh uniform B-subset every step (a permutation of n per step) against random reshuffling (one
    permutation per epoch): SGD B = 50 without a goal, where the sampler's share of a step is largest."""
    x, y = fashion
    runs = {name: (lambda name=name: engine(x, y, 50, None, sampling=name)) for name in ("subsets", "reshuffling")}
    for run in runs.values():
        run()                                                                # warm-up
    best = _best_of_interleaved(runs)
    ratio = best["subsets"] / best["reshuffling"]
    benchmark.extra_info.update(subsets_ms_per_step=1e3 * best["subsets"] / STEPS,
                                reshuffling_ms_per_step=1e3 * best["reshuffling"] / STEPS, ratio=ratio)
    benchmark.pedantic(runs["subsets"], rounds=1, iterations=1)
    print(f"\nSGD B=50, no goal: subsets {1e3 * best['subsets'] / STEPS:.3f} ms/step, reshuffling "
          f"{1e3 * best['reshuffling'] / STEPS:.3f} ms/step, ratio {ratio:.2f}")
    assert ratio <= 1.1


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _fnn_flops(n, widths=(784, 500, 500, 500, 10)):
    """Forward + backward FLOPs of one full-batch step of the FNN: 3 x 2 n sum(fan_in x fan_out)."""
    return 6 * n * sum(a * b for a, b in zip(widths, widths[1:]))


@cuda
def test_paper_fnn_gd_step_on_cuda_against_the_flop_floor(benchmark, fashion):
    x, y = (t.cuda() for t in fashion)
    model = _model(width=1.0, device="cuda")
    run = lambda: train(model, x, y, mse_loss, GD(0.1), max_steps=STEPS, eval_every=1000)
    run()
    torch.cuda.synchronize()
    start = time.perf_counter()
    run()
    torch.cuda.synchronize()
    step_s = (time.perf_counter() - start) / STEPS
    matmul = torch.randn(8192, 8192, device="cuda")
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(10):
        matmul @ matmul
    torch.cuda.synchronize()
    rate = 10 * 2 * 8192 ** 3 / (time.perf_counter() - start)
    floor_s = _fnn_flops(len(x)) / rate
    benchmark.extra_info.update(step_ms=1e3 * step_s, floor_ms=1e3 * floor_s, device=torch.cuda.get_device_name(0))
    benchmark.pedantic(run, rounds=1, iterations=1)
    print(f"\npaper FNN GD step on {torch.cuda.get_device_name(0)}: {1e3 * step_s:.3f} ms "
          f"(FLOP floor at the measured fp32 matmul rate {rate / 1e12:.1f} TFLOP/s: {1e3 * floor_s:.3f} ms)")


@cuda
def test_ensemble_of_30_against_one_model_on_cuda(benchmark, fashion):
    x, y = (t.cuda() for t in fashion)
    lrs = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0)
    make = lambda seed: _model(width=1.0, device="cuda")
    times = {}
    for name, seeds, rates in (("one", [0], [0.1]), ("thirty", [0, 1, 2, 3, 4], lrs)):
        train_ensemble(make, seeds, rates, x, y, mse_loss, max_steps=20, eval_every=1000)
        torch.cuda.synchronize()
        start = time.perf_counter()
        train_ensemble(make, seeds, rates, x, y, mse_loss, max_steps=STEPS, eval_every=1000)
        torch.cuda.synchronize()
        times[name] = (time.perf_counter() - start) / STEPS
    ratio = times["thirty"] / times["one"]
    benchmark.extra_info.update(one_ms=1e3 * times["one"], thirty_ms=1e3 * times["thirty"], ratio=ratio)
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    print(f"\nensemble of 30 paper FNNs: {1e3 * times['thirty']:.2f} ms/step, one model {1e3 * times['one']:.2f} "
          f"ms/step, ratio {ratio:.2f}")
