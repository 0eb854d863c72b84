import math

import pytest
import torch

from sgdcheck.errors import InvalidArgumentError
from sgdcheck.population import (NeuronTarget, effective_neurons, neuron_magnitudes, output_scale, population_risk,
                                 relu_kernel, sphere_inputs, train_population_gd, train_sample_gd)


def test_kernel_matches_monte_carlo_on_the_sphere():
    dim = 5
    gen = torch.Generator().manual_seed(1)
    b1, b2 = torch.randn(4, dim, generator=gen, dtype=torch.float64), torch.randn(3, dim, generator=gen, dtype=torch.float64)
    b2[0] = 2.5 * b1[0]                  # an aligned pair (t = 0) and its exact value |b||b'| / (2d)
    x = sphere_inputs(400_000, dim, 0)
    empirical = torch.relu(x @ b1.T).T @ torch.relu(x @ b2.T) / len(x)
    exact = relu_kernel(b1, b2)
    assert torch.allclose(exact, empirical, rtol=0.02, atol=2e-4)
    assert exact[0, 0] == pytest.approx(float(b1[0].norm() * b2[0].norm()) / (2 * dim), rel=1e-12)


def test_kernel_gradient_is_finite_and_right_at_alignment():
    """At t = 0 the naive autograd of arccos gives NaN; the custom backward gives the true derivative."""
    dim = 4
    inner = torch.tensor([[1.0, 0, 0, 0], [0.3, -0.2, 0.5, 0.1]], dtype=torch.float64, requires_grad=True)
    target = torch.tensor([[1.0, 0, 0, 0]], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda b: relu_kernel(b, target), (inner,))
    grad, = torch.autograd.grad(relu_kernel(inner, target).sum(), inner)
    assert torch.isfinite(grad).all()
    # k(b, e1) for b = e1 + h e2: |b| J(t) / (2 pi d) with cos t = 1/|b|; d/dh at 0 is 0 by symmetry, d/db1 = 1/(2d)
    assert grad[0, 1].item() == pytest.approx(0.0, abs=1e-12)
    assert grad[0, 0].item() == pytest.approx(1 / (2 * dim), rel=1e-9)


@pytest.mark.parametrize("scaling", ["conventional", "mean-field"])
def test_population_risk_matches_monte_carlo_of_the_network(scaling):
    dim, width = 6, 5
    gen = torch.Generator().manual_seed(2)
    outer = torch.randn(2, width, generator=gen, dtype=torch.float64)
    inner = torch.randn(2, width, dim, generator=gen, dtype=torch.float64)
    target = NeuronTarget.single_neuron(dim)
    c = output_scale(scaling, width)
    x = sphere_inputs(400_000, dim, 3)
    for k in range(2):
        f = c * torch.relu(x @ inner[k].T) @ outer[k]
        empirical = ((f - torch.relu(x[:, 0])) ** 2).mean()
        assert population_risk(outer, inner, target, c)[k].item() == pytest.approx(empirical.item(), rel=0.02)


def test_risk_is_zero_at_the_target_and_target_norm_is_exact():
    dim = 7
    target = NeuronTarget.single_neuron(dim)
    assert target.norm2().item() == pytest.approx(1 / (2 * dim), rel=1e-12)    # E[relu(x1)^2] = E[x1^2]/2
    outer = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    inner = torch.stack([target.inner[0], torch.randn(dim, dtype=torch.float64)])[None]
    assert population_risk(outer, inner, target, 1.0).item() == pytest.approx(0.0, abs=1e-14)


def test_effective_neurons():
    assert effective_neurons(torch.ones(10)).item() == pytest.approx(10)
    assert effective_neurons(torch.tensor([1.0, 0, 0, 0])).item() == pytest.approx(1)
    assert neuron_magnitudes(torch.tensor([-2.0]), torch.tensor([[3.0, 4.0]]), 0.5).item() == pytest.approx(5.0)


def test_batched_gd_equals_one_network_at_a_time_and_lowers_the_risk():
    together = train_population_gd(20, 10, [0, 1], scaling="conventional", lr=1.0, steps=60, record_every=20)
    alone = train_population_gd(20, 10, [1], scaling="conventional", lr=1.0, steps=60, record_every=20)
    assert torch.allclose(together.outer[1], alone.outer[0], atol=1e-12)
    assert torch.allclose(together.inner[1], alone.inner[0], atol=1e-12)
    assert [s for s, _ in together.risk] == [0, 20, 40, 60]
    assert (together.final_relative_risk < together.risk[0][1]).all()


def test_mean_field_steps_are_rescaled_by_width():
    """Mean-field GD with step lr * m: one step moves the outer weights by lr * m * grad."""
    run = train_population_gd(8, 4, [0], scaling="mean-field", lr=0.1, steps=1)
    generator = torch.Generator().manual_seed(0)
    inner = (torch.randn(8, 4, generator=generator, dtype=torch.float64) / 2)[None].requires_grad_()
    outer = torch.randn(8, generator=generator, dtype=torch.float64)[None].requires_grad_()   # beta = 1
    grad, = torch.autograd.grad(population_risk(outer, inner, NeuronTarget.single_neuron(4), 1 / 8).sum(), outer)
    assert torch.allclose(run.outer, outer.detach() - 0.1 * 8 * grad, atol=1e-12)


@pytest.mark.parametrize("kwargs, message", [
    (dict(scaling="conventional", lr=0.0, steps=10), "learning rate"),
    (dict(scaling="ntk", lr=0.1, steps=10), "scaling"),
    (dict(scaling="conventional", lr=0.1, steps=0), "steps"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(InvalidArgumentError, match=message):
        train_population_gd(4, 3, [0], **kwargs)


def test_divergence_stops_the_run():
    run = train_population_gd(10, 5, [0], scaling="conventional", lr=1e4, steps=200)
    assert not math.isfinite(run.final_relative_risk.item()) and run.risk[-1][0] < 200


def test_sample_gd_takes_gd_steps_on_the_empirical_risk_and_measures_the_exact_test_risk():
    one = train_sample_gd(6, 4, 30, [3], scaling="mean-field", lr=0.5, max_steps=1, goal=1e-12)
    x = sphere_inputs(30, 4, 10_003)
    y = torch.relu(x[:, 0])
    g = torch.Generator().manual_seed(3)
    inner = (torch.randn(6, 4, generator=g, dtype=torch.float64) / 2).requires_grad_()
    outer = torch.randn(6, generator=g, dtype=torch.float64).requires_grad_()
    risk = ((torch.relu(x @ inner.T) @ outer / 6 - y) ** 2).mean()
    grad_outer, grad_inner = torch.autograd.grad(risk, (outer, inner))
    outer, inner = outer.detach() - 0.5 * 6 * grad_outer, inner.detach() - 0.5 * 6 * grad_inner
    after = ((torch.relu(x @ inner.T) @ outer / 6 - y) ** 2).mean() / (y * y).mean()
    assert one.steps == 1 and one.train[0].item() == pytest.approx(after.item(), rel=1e-12)
    target = NeuronTarget.single_neuron(4)
    assert one.test[0].item() == pytest.approx((population_risk(outer[None], inner[None], target, 1 / 6)
                                                / target.norm2()).item(), rel=1e-12)


def test_sample_gd_stops_each_network_at_the_goal_and_marks_divergence():
    run = train_sample_gd(40, 5, 40, [0, 1], scaling="conventional", lr=1.0, max_steps=20000, goal=1e-4)
    assert bool((run.train < 1e-4).all()) and run.steps < 20000 and not bool(run.diverged.any())
    wild = train_sample_gd(10, 5, 40, [0, 1], scaling="conventional", lr=1e4, max_steps=50, stop_on_divergence=True)
    assert bool(wild.diverged.any()) and wild.steps < 50 and math.isnan(wild.test[wild.diverged][0].item())


def test_sample_gd_refuses_bad_arguments():
    with pytest.raises(InvalidArgumentError, match="lr > 0"):
        train_sample_gd(4, 3, 10, [0], scaling="conventional", lr=-1.0, max_steps=10)
    with pytest.raises(InvalidArgumentError, match="scaling"):
        train_sample_gd(4, 3, 10, [0], scaling="ntk", lr=0.1, max_steps=10)
