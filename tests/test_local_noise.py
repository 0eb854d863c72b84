import numpy as np
import pytest

from sgdcheck import stability
from sgdcheck.errors import InvalidArgumentError
from sgdcheck.landscapes import DoubleWell
from sgdcheck.local_noise import LocalNoiseSum


def _local_noise_sum(**options):
    well = DoubleWell(1, tilt=0.6)
    deep, shallow = well.minima()
    options = dict(nonuniformity=30.0, additive=10.0) | options
    return LocalNoiseSum(well, 8, multiplicative_at=[deep], additive_at=[shallow], **options), deep, shallow


def test_local_noise_sum_gradients_match_its_components():
    f, deep, shallow = _local_noise_sum()
    x = np.linspace(-2, 2, 9)[:, None]
    step = 1e-6
    numeric = (f.component_values(x + step) - f.component_values(x - step)) / (2 * step)   # [chains, n]
    for i in range(f.n):
        batch = np.full((x.shape[0], 1), i)
        np.testing.assert_allclose(f.batch_grad(x, batch)[:, 0], numeric[:, i], rtol=1e-6, atol=1e-6)
    every = np.broadcast_to(np.arange(f.n), (x.shape[0], f.n))
    np.testing.assert_allclose(f.batch_grad(x, every), f.grad(x), atol=1e-10)          # the mean is U's
    np.testing.assert_allclose(f.component_values(x).mean(axis=1), f.value(x), atol=1e-10)


def test_local_noise_sum_is_multiplicative_at_one_minimum_and_additive_at_the_other():
    f, deep, shallow = _local_noise_sum()
    everyone = np.arange(f.n)[:, None]
    at_deep = np.array([f.batch_grad(np.array([[deep]]), b[None])[0, 0] for b in everyone])
    at_shallow = np.array([f.batch_grad(np.array([[shallow]]), b[None])[0, 0] for b in everyone])
    assert np.abs(at_deep).max() < 1e-9 and at_shallow.std() == pytest.approx(10.0, rel=1e-6)
    hessians = f.component_hessians_at_centre()
    a, s = stability.sharpness_nonuniformity(hessians)
    assert a == pytest.approx(12 * deep**2 - 4, rel=1e-6) and s == pytest.approx(30.0)



def test_two_dimensional_gradients_include_the_bumps_cross_terms():
    """In d = 2 the bumps' gradients couple the coordinates (xi . (x - c)) (x - c): checked by differences."""
    well = DoubleWell(2)                                   # critical points at (+-1, +-1)
    f = LocalNoiseSum(well, 4, multiplicative_at=[-1.0, -1.0], nonuniformity=3.0, additive_at=[1.0, 1.0],
                      additive=2.0, width=1.2)
    rng = np.random.default_rng(0)
    x = np.concatenate([[-1.0, -1.0] + 0.6 * rng.standard_normal((6, 2)),
                        [1.0, 1.0] + 0.6 * rng.standard_normal((6, 2))])
    step = 1e-6
    for i in range(f.n):
        batch = np.full((x.shape[0], 1), i)
        numeric = np.stack([(f.component_values(x + step * e)[:, i] - f.component_values(x - step * e)[:, i])
                            / (2 * step) for e in np.eye(2)], axis=1)
        np.testing.assert_allclose(f.batch_grad(x, batch), numeric, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("options, message", [
    (dict(width=-1.0), "finite width"), (dict(nonuniformity=float("inf")), "finite nonuniformity"),
    (dict(additive=-1.0), "finite additive"), (dict(width=1.5), "overlap")])
def test_bad_local_noise_is_named(options, message):
    with pytest.raises(InvalidArgumentError, match=message):
        _local_noise_sum(**options)


def test_noise_centres_must_be_critical_points():
    well = DoubleWell(1, tilt=0.6)
    with pytest.raises(InvalidArgumentError, match="critical point"):
        LocalNoiseSum(well, 8, multiplicative_at=[0.5], nonuniformity=1.0, additive_at=[well.minima()[0]], additive=1.0)
    with pytest.raises(InvalidArgumentError, match="dimension 1"):
        LocalNoiseSum(well, 8, multiplicative_at=[0.5, 0.5], nonuniformity=1.0, additive_at=[0.0], additive=1.0)
