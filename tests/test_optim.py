import math

import pytest
import torch

from sgdcheck import InvalidArgumentError, optim


def quadratic_grad_fn(params):
    loss = 0.5 * sum((w**2).sum() for w in params.values())
    return float(loss), {k: w.clone() for k, w in params.items()}


def run(opt, steps=50, seed=0):
    params = {"w": torch.ones(3, dtype=torch.float64)}
    state, generator = opt.init(params), torch.Generator().manual_seed(seed)
    for t in range(steps):
        params, state, _ = opt.step(params, quadratic_grad_fn, state, t, generator)
    return params["w"]


def test_gd_contracts_at_the_exact_rate():
    assert torch.allclose(run(optim.GD(0.1), 10), torch.full((3,), 0.9**10, dtype=torch.float64))


def test_langevin_noise_levels_and_seeding():
    assert optim.Langevin(0.02, temperature=0.5).std == pytest.approx(math.sqrt(2 * 0.02 * 0.5))
    assert torch.equal(run(optim.Langevin(0.1, noise=0.1), seed=3), run(optim.Langevin(0.1, noise=0.1), seed=3))
    assert not torch.equal(run(optim.Langevin(0.1, noise=0.1), seed=3), run(optim.Langevin(0.1, noise=0.1), seed=4))


def test_adam_and_entropy_sgd_descend():
    assert run(optim.Adam(0.1), 200).abs().max() < 0.05
    assert run(optim.EntropySGD(1.0, gamma=0.5, inner_steps=5, noise=0.0), 100).abs().max() < 0.5


@pytest.mark.parametrize("make", [lambda: optim.GD(0.0), lambda: optim.GD(float("nan")), lambda: optim.Adam(-1),
                                  lambda: optim.Langevin(0.1), lambda: optim.EntropySGD(0.1, inner_steps=0)])
def test_bad_hyperparameters(make):
    with pytest.raises(InvalidArgumentError):
        make()
