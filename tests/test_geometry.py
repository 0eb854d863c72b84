import numpy as np
import pytest
import torch

from sgdcheck import InvalidArgumentError
from sgdcheck.curvature import Problem
from sgdcheck.losses import mse_loss
from sgdcheck.geometry import (classical_mds, exit_radius, flatness_radius, interpolation_path, simplex_surface,
                               spectral_density)


class Scalar(torch.nn.Module):
    """f(x) = w x with one parameter: the loss along the only direction is a known parabola."""

    def __init__(self, w):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor([w], dtype=torch.float64))

    def forward(self, x):
        return x * self.w


def test_flatness_radius_matches_brute_force_in_one_dimension():
    x = torch.tensor([[1.0], [2.0], [-1.0]], dtype=torch.float64)
    y = 1.5 * x
    model = Scalar(1.3)
    with torch.no_grad():
        base = float(mse_loss(model(x), y).mean())
    grid = np.linspace(0, 3, 300001)
    # the only unit directions are +1 and -1; along each, the first r with |I(w + r d) - I(w)| > eps
    losses = lambda s: ((x.numpy() * (1.3 + s * grid[None, :]) - y.numpy()) ** 2).mean(0)
    brute = [grid[np.argmax(np.abs(losses(s) - base) > 0.05)] for s in (1, -1)]
    measured = flatness_radius(model, x, y, mse_loss, eps=0.05, directions=40, rtol=1e-6)
    assert set(np.round(measured.radii, 4)) <= set(np.round(brute, 4))


def test_exit_radius_and_layer_restriction():
    assert exit_radius(lambda r: r**2, 0.25, rtol=1e-9) == pytest.approx(0.5, rel=1e-6)
    assert exit_radius(lambda r: 0.0, 1.0, r_max=100) == 100
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)).double()
    x, y = torch.randn(20, 4, dtype=torch.float64), torch.randn(20, 2, dtype=torch.float64)
    top = flatness_radius(model, x, y, mse_loss, layer="2", directions=5)
    assert top > 0 and top.layer == "2" and len(top.radii) == 5
    with pytest.raises(InvalidArgumentError, match="no parameter named"):
        flatness_radius(model, x, y, mse_loss, layer="fc9")


def test_interpolation_and_simplex_hit_their_endpoints():
    torch.manual_seed(0)
    models = [torch.nn.Linear(3, 2).double() for _ in range(3)]
    x, y = torch.randn(10, 3, dtype=torch.float64), torch.randn(10, 2, dtype=torch.float64)
    own = [float(mse_loss(m(x), y).mean().detach()) for m in models]
    ts, path = interpolation_path(models[0], models[:2], x, y, mse_loss, ts=[0, 0.5, 1])
    assert path[0] == pytest.approx(own[0]) and path[-1] == pytest.approx(own[1])
    weights, surface = simplex_surface(models[0], models, x, y, mse_loss, resolution=4)
    assert len(weights) == 15 and np.allclose(weights.sum(1), 1)
    for k in range(3):
        corner = np.argmax(weights[:, k])
        assert surface[corner] == pytest.approx(own[k])


def test_classical_mds_recovers_a_planar_configuration():
    rng = np.random.default_rng(0)
    plane = rng.normal(size=(12, 2))
    embedded = plane @ rng.normal(size=(2, 50))
    coords = classical_mds(embedded, metric="euclidean")
    distance = lambda p: np.linalg.norm(p[:, None] - p[None], axis=-1)
    assert np.allclose(distance(coords), distance(embedded), atol=1e-8)
    assert classical_mds(embedded).shape == (12, 2)


def test_slq_recovers_the_exact_spectrum_with_full_lanczos():
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1)).double()
    x, y = torch.randn(8, 2, dtype=torch.float64), torch.randn(8, 1, dtype=torch.float64)
    problem = Problem(model, x, y, mse_loss)
    risk = lambda w: sum(problem.chunk_loss(w, xc, yc) for xc, yc in problem.chunks()) / problem.n
    exact = np.linalg.eigvalsh(torch.func.hessian(risk)(problem.w).numpy())
    nodes, weights = spectral_density(model, x, y, mse_loss, steps=problem.dim, probes=3)
    for theta, tau in zip(nodes, weights):
        assert tau.sum() == pytest.approx(1.0)
        assert theta.max() == pytest.approx(exact.max(), rel=1e-6) and theta.min() == pytest.approx(exact.min(), abs=1e-6)
