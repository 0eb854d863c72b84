"""Condition (8) on a network against the dense per-sample Hessians of tiny models."""
import pytest
from test_curvature import dense_per_sample, tiny

from sgdcheck import InvalidArgumentError
from sgdcheck.losses import mse_loss
from sgdcheck.network_stability import stability_criterion
from sgdcheck.stability import criterion


@pytest.mark.parametrize("seed, lr, batch, sampling", [(0, 0.3, 1, "subsets"), (1, 1.5, 3, "subsets"),
                                                       (2, 0.8, 2, "replacement"), (0, 0.3, 7, "subsets")])
def test_stability_criterion_matches_the_dense_condition_8(seed, lr, batch, sampling):
    model, x, y = tiny(seed)
    dense = criterion(dense_per_sample(model, x, y), lr, batch, sampling)
    measured = stability_criterion(model, x, y, mse_loss, lr, batch, sampling=sampling, method="exact", tol=1e-12,
                                   chunk_size=3)
    assert float(measured) == pytest.approx(dense, rel=1e-6) and measured.upper >= float(measured)
    assert measured.method == "exact" and measured.batch_size == batch and model.training


def test_stability_criterion_takes_the_gauss_newton_path_at_interpolation():
    model, x, y = tiny(3, interpolating=True)
    dense = criterion(dense_per_sample(model, x, y), 0.5, 2)
    measured = stability_criterion(model, x, y, mse_loss, 0.5, 2, tol=1e-12)
    assert measured.method == "gauss-newton" and float(measured) == pytest.approx(dense, rel=1e-6)
    with pytest.raises(InvalidArgumentError, match="lr must be"):
        stability_criterion(model, x, y, mse_loss, -1.0, 2)
    with pytest.raises(InvalidArgumentError, match="batch_size must be in 1..n"):
        stability_criterion(model, x, y, mse_loss, 0.5, 8)


def test_the_prediction_measures_eq_8_only_inside_eq_9s_box():
    from sgdcheck.network_stability import predict_escape_at
    from sgdcheck.stability import sharpness_nonuniformity
    model, x, y = tiny(3, interpolating=True)
    a, s = sharpness_nonuniformity(dense_per_sample(model, x, y))
    outside = predict_escape_at(model, x, y, mse_loss, a, s, 3.0 / a, 7, criterion_slack=1e-9)
    assert outside.escapes and outside.rule == "eq. 9: a > 2/eta"
    inside = predict_escape_at(model, x, y, mse_loss, a, s, 0.5 / a, 7, criterion_slack=1e-6)
    assert inside.outcome == "stays" and inside.rule == "eq. 8 holds"
