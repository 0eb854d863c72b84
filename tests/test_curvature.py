"""Curvature against dense float64 references: torch.func.hessian + eigh on tiny models."""
import numpy as np
import pytest
import torch

from sgdcheck import InvalidArgumentError
from sgdcheck.curvature import Problem, hessian_trace, non_uniformity, sharpness
from sgdcheck.losses import mse_loss
from sgdcheck.stability import sharpness_nonuniformity


def tiny(seed=0, interpolating=False, batch_norm=False):
    torch.manual_seed(seed)
    layers = [torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)]
    if batch_norm:
        layers.insert(1, torch.nn.BatchNorm1d(5, affine=False))
    model = torch.nn.Sequential(*layers).double()
    x = torch.randn(7, 3, dtype=torch.float64)
    if batch_norm:
        model.train()
        model(torch.randn(64, 3, dtype=torch.float64))   # running statistics differ from the batch's
    with torch.no_grad():
        model.eval()
        y = model(x) if interpolating else torch.randn(7, 2, dtype=torch.float64)
        model.train()
    return model, x, y


def dense_per_sample(model, x, y):
    model.eval()
    problem = Problem(model, x, y, mse_loss)
    hessians = torch.stack([torch.func.hessian(lambda w: problem.sample_loss(w, x[i], y[i]))(problem.w)
                            for i in range(len(x))])
    model.train()
    return hessians.numpy()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sharpness_and_non_uniformity_match_dense_reference(seed):
    model, x, y = tiny(seed)
    a, s = sharpness_nonuniformity(dense_per_sample(model, x, y))
    assert float(sharpness(model, x, y, mse_loss, tol=1e-12)) == pytest.approx(a, rel=1e-6)
    measured = non_uniformity(model, x, y, mse_loss, method="exact", tol=1e-12, chunk_size=3)
    assert float(measured) == pytest.approx(s, rel=1e-6) and measured.method == "exact"


def test_gauss_newton_path_is_taken_only_when_accurate():
    model, x, y = tiny(3, interpolating=True)
    _, s = sharpness_nonuniformity(dense_per_sample(model, x, y))
    at_interpolation = non_uniformity(model, x, y, mse_loss, tol=1e-12)
    assert at_interpolation.method == "gauss-newton" and float(at_interpolation) == pytest.approx(s, rel=1e-6)
    model, x, y = tiny(3)
    far = non_uniformity(model, x, y, mse_loss, tol=1e-12)
    assert far.method == "exact" and far.gauss_newton_probe_error > 1e-3


def test_batch_norm_uses_running_statistics_and_restores_the_mode():
    model, x, y = tiny(4, batch_norm=True)
    a, s = sharpness_nonuniformity(dense_per_sample(model, x, y))
    assert float(sharpness(model, x, y, mse_loss, tol=1e-12)) == pytest.approx(a, rel=1e-6)
    assert float(non_uniformity(model, x, y, mse_loss, method="exact", tol=1e-12)) == pytest.approx(s, rel=1e-6)
    assert model.training


def test_hutchinson_trace_is_unbiased():
    model, x, y = tiny(5)
    exact = np.trace(dense_per_sample(model, x, y).mean(0))
    estimate = hessian_trace(model, x, y, mse_loss, probes=400, seed=1)
    assert abs(float(estimate) - exact) < 4 * estimate.stderr


def test_float32_models_stay_float32_and_chunks_agree():
    model, x, y = tiny(6)
    model, x, y = model.float(), x.float(), y.float()
    whole = float(sharpness(model, x, y, mse_loss, tol=1e-8, chunk_size=256))
    pieces = float(sharpness(model, x, y, mse_loss, tol=1e-8, chunk_size=2))
    assert whole == pytest.approx(pieces, rel=1e-4)


def test_bad_input_is_named():
    model, x, y = tiny(7)
    with pytest.raises(InvalidArgumentError, match="one loss per sample"):
        sharpness(model, x, y, lambda out, target: ((out - target) ** 2).mean())
    with pytest.raises(InvalidArgumentError, match="same positive length"):
        sharpness(model, x, y[:3], mse_loss)
    with pytest.raises(InvalidArgumentError, match="method"):
        non_uniformity(model, x, y, mse_loss, method="fast")


def test_linear_layer_kernels_match_jacobians():
    from torch.func import jacrev, vmap

    from sgdcheck.curvature import _linear_kernels

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 5), torch.nn.ReLU(),
                                torch.nn.Linear(5, 4, bias=False), torch.nn.Tanh(), torch.nn.Linear(4, 3)).double()
    x, y = torch.randn(7, 2, 3, dtype=torch.float64), torch.randn(7, 3, dtype=torch.float64)
    problem = Problem(model, x, y, mse_loss)
    jac = vmap(jacrev(lambda w, xi: problem.outputs(w, xi[None])[0]), in_dims=(None, 0))(problem.w, x)
    assert torch.allclose(_linear_kernels(problem, x), jac @ jac.transpose(1, 2), atol=1e-12)
    conv = torch.nn.Sequential(torch.nn.Conv1d(2, 2, 2), torch.nn.Flatten(), torch.nn.Linear(4, 3)).double()
    assert _linear_kernels(Problem(conv, x, y, mse_loss), x) is None
