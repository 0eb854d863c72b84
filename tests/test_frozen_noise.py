import pytest
import torch

from sgdcheck.errors import InvalidArgumentError
from sgdcheck.escape import escape_probe
from sgdcheck.frozen_noise import frozen_noise_escape
from sgdcheck.losses import mse_loss
from sgdcheck.optim import GD
from sgdcheck.train import train


def _net(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))


def _data(n=24, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 4, generator=g), torch.randn(n, 2, generator=g)


def test_with_the_full_batch_the_noise_vanishes_and_the_chains_are_gd():
    model, (x, y) = _net(), _data()
    steps = 40
    result = frozen_noise_escape(model, x, y, 0.1, len(x), steps, chains=3, burst_factor=1e6)
    gd = train(model, x, y, mse_loss, GD(0.1), max_steps=steps, eval_every=1)
    assert result.noise_power == pytest.approx(0.0, abs=1e-12)
    assert result.left == 0 and result.steps == steps
    # final_losses: each chain's loss before its last step, i.e. GD's loss after steps - 1 steps
    assert all(v == pytest.approx(gd.history[steps - 1][1], rel=1e-5) for v in result.final_losses)


def test_the_noise_has_sgds_law_at_the_start():
    """E||g_B - g||^2 = (n - B) / (B (n - 1)) tr(Sigma) for uniform B-subsets (Sigma: the per-sample gradients'
    covariance, 1/n normalised), measured over many draws."""
    model, (x, y) = _net(), _data()
    n, b = len(x), 4
    per_sample = []
    for i in range(n):
        model.zero_grad()
        mse_loss(model(x[i:i + 1]), y[i:i + 1]).mean().backward()
        per_sample.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    g = torch.stack(per_sample)
    trace = float((g - g.mean(0)).pow(2).sum(1).mean())
    exact = (n - b) / (b * (n - 1)) * trace
    result = frozen_noise_escape(model, x, y, 1e-6, b, 3000, chains=4, burst_factor=1e6)
    assert result.noise_power == pytest.approx(exact, rel=0.05)


def test_at_an_interpolating_minimum_frozen_noise_stays_where_sgd_leaves():
    """Linear regression that fits every sample: the per-sample gradients vanish at the minimum, so the frozen
    noise at the minimum is zero, and a little off it small and fixed: the chains stay within a bounded loss.
    SGD with B = 1 at a step that is unstable for it (though GD is stable) leaves, its loss growing
    exponentially by orders of magnitude from the same start."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(6, 10, generator=g) * torch.tensor([3.0] + [0.3] * 9)
    model = torch.nn.Linear(10, 1, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.randn(1, 10, generator=g))
    y = model(x).detach()                       # the weights fit every sample
    with torch.no_grad():
        model.weight.add_(1e-4 * torch.randn(1, 10, generator=g))
    hessian = 2 * x.T @ x / len(x)              # the mean-square loss's Hessian (one output)
    lr = 1.5 / float(torch.linalg.eigvalsh(hessian)[-1])     # GD is stable: eta a = 1.5 < 2
    frozen = frozen_noise_escape(model, x, y, lr, 1, 400, chains=5, burst_factor=1e4)
    sgd = escape_probe(model, x, y, lr, 1, 400, loss_goal=1e-12, budget=400, burst_factor=1e4, eval_every=1)
    assert frozen.left == 0 and max(frozen.bursts) < 1e4 and max(frozen.steps_above) == 0
    assert sgd.left


def test_bad_arguments_are_named():
    model, (x, y) = _net(), _data()
    with pytest.raises(InvalidArgumentError, match="lr > 0"):
        frozen_noise_escape(model, x, y, 0.0, 4, 10)
    with pytest.raises(InvalidArgumentError):
        frozen_noise_escape(model, x, y, 0.1, 100, 10)
