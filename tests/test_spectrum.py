import numpy as np
import pytest
import torch
from torch.func import functional_call, hessian

from sgdcheck.errors import InvalidArgumentError
from sgdcheck.losses import mse_loss
from sgdcheck.spectrum import hessian_spectral_density, spectral_density


def _rotated(eigenvalues, seed=0):
    q, _ = torch.linalg.qr(torch.randn(len(eigenvalues), len(eigenvalues), generator=torch.Generator().manual_seed(seed),
                                       dtype=torch.float64))
    return lambda v: q @ (eigenvalues * (q.T @ v))


def test_the_share_near_zero_of_a_half_singular_operator():
    eigenvalues = torch.cat([torch.zeros(200), torch.linspace(1.0, 10.0, 200)]).double()
    density = spectral_density(_rotated(eigenvalues), 400, probes=20, steps=60)
    # per probe the share has sd <= sqrt(2 N) / P = 0.05; over 20 probes 0.011
    assert density.mass_below(1e-6) == pytest.approx(0.5, abs=0.045)
    assert density.largest == pytest.approx(10.0, rel=1e-6)
    assert np.allclose(density.weights.sum(axis=1), 1.0)
    assert density.mass_below(100.0) == pytest.approx(1.0)


def test_with_as_many_steps_as_dimensions_the_quadrature_is_the_spectrum():
    eigenvalues = torch.tensor([0.0, 0.0, 0.5, 2.0, 3.0]).double()
    density = spectral_density(_rotated(eigenvalues, 1), 5, probes=4000, steps=5, seed=1)
    for threshold, share in ((1e-9, 0.4), (1.0, 0.6), (2.5, 0.8)):
        assert density.mass_below(threshold) == pytest.approx(share, abs=0.02)


def test_the_hessian_density_of_a_small_network_is_the_quadrature_of_its_exact_hessian():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.Tanh(), torch.nn.Linear(6, 2)).double()
    x, y = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 2, dtype=torch.float64)
    names = [name for name, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])

    def risk(w):
        params = dict(zip(names, (piece.view(shape) for piece, shape in
                                  zip(torch.split(w, [s.numel() for s in shapes]), shapes))))
        return mse_loss(functional_call(model, params, (x,)), y).mean()

    matrix = hessian(risk)(flat)
    density = hessian_spectral_density(model, x, y, mse_loss, probes=5, steps=len(flat), seed=2)
    reference = spectral_density(lambda v: matrix @ v, len(flat), probes=5, steps=len(flat), seed=2)
    np.testing.assert_allclose(density.nodes, reference.nodes, atol=1e-8)
    np.testing.assert_allclose(density.weights, reference.weights, atol=1e-8)
    assert density.largest == pytest.approx(float(torch.linalg.eigvalsh(matrix).max()), rel=1e-6)


@pytest.mark.parametrize("kwargs, message", [(dict(probes=0), "probes"), (dict(steps=1), "steps")])
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(InvalidArgumentError, match=message):
        spectral_density(lambda v: v, 4, **kwargs)


def test_a_threshold_that_is_not_a_number_is_refused():
    density = spectral_density(lambda v: v, 4, probes=2, steps=3)
    with pytest.raises(InvalidArgumentError, match="threshold"):
        density.mass_below(float("nan"))
