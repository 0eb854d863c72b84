import pytest
import torch

from sgdcheck import InvalidArgumentError, data, optim
from sgdcheck.curvature import sharpness
from sgdcheck.losses import mse_loss
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


@pytest.fixture(scope="module")
def minimum():
    return _minimum()


def test_gd_past_two_over_eta_leaves_in_a_burst_and_converges_elsewhere(minimum):
    model, x, y = minimum
    a = float(sharpness(model, x, y, mse_loss))
    before = [p.clone() for p in model.parameters()]
    probe = escape_probe(model, x, y, 3.0 / a, len(x), 400, loss_goal=1e-2, budget=4000)
    assert probe.left and probe.burst >= 10 and probe.leave_step <= probe.peak_step < probe.return_step
    assert probe.escaped and not probe.diverged
    assert probe.history[0] == (0, pytest.approx(probe.history[0][1])) and probe.steps == probe.history[-1][0]
    assert probe.sharpness_after <= (2 / (3.0 / a)) * 1.05           # it settled where GD at this eta is stable
    end = probe.end_model(model)
    assert float(sharpness(end, x, y, mse_loss)) == pytest.approx(probe.sharpness_after, rel=1e-2)
    assert all(torch.equal(p, q) for p, q in zip(before, model.parameters()))


def test_gd_below_two_over_eta_stays(minimum):
    model, x, y = minimum
    a = float(sharpness(model, x, y, mse_loss))
    probe = escape_probe(model, x, y, 1.0 / a, len(x), 400, loss_goal=1e-5)
    assert not probe.left and not probe.escaped and probe.leave_step is None and probe.steps == 400
    assert abs(probe.sharpness_after / a - 1) < 0.01


def test_bad_probe_arguments_are_named(minimum):
    model, x, y = minimum
    with pytest.raises(InvalidArgumentError, match="loss_goal > 0"):
        escape_probe(model, x, y, 0.1, len(x), 10, loss_goal=0.0)
    with pytest.raises(InvalidArgumentError, match="budget >= steps"):
        escape_probe(model, x, y, 0.1, len(x), 10, loss_goal=1e-3, budget=5)
