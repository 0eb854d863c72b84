import torch

from sgdcheck import data, optim
from sgdcheck.curvature import mse_loss, sharpness
from sgdcheck.escape import escape_probe
from sgdcheck.train import train


def _minimum():
    ds = data.load("digits").subset(40)
    x, y = ds.x.flatten(1).double(), ds.one_hot().double()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.Tanh(), torch.nn.Linear(32, 10)).double()
    result = train(model, x, y, mse_loss, optim.GD(0.5), max_steps=20000, loss_goal=1e-5)
    assert result.converged
    return result.load_into(model), x, y


def test_gd_leaves_a_minimum_sharper_than_two_over_eta_and_stays_at_a_flatter_one():
    model, x, y = _minimum()
    a = float(sharpness(model, x, y, mse_loss))
    before = [p.clone() for p in model.parameters()]
    unstable = escape_probe(model, x, y, 3.0 / a, len(x), 400, a_start=a)
    stable = escape_probe(model, x, y, 1.0 / a, len(x), 400, a_start=a)
    assert unstable.escaped and (unstable.result.diverged or unstable.sharpness_after < 0.8 * a)
    assert not stable.escaped and abs(stable.sharpness_after / a - 1) < 0.2
    assert all(torch.equal(p, q) for p, q in zip(before, model.parameters()))
