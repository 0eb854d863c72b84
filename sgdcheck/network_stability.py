"""Condition (8) of Wu, Ma & E (2018), Theorem 1, on a network: the largest eigenvalue of E[(I - eta H_b)^2] at a
minimum, matrix-free, from the Hessian-vector products of sgdcheck.curvature."""
from __future__ import annotations

import numpy as np

from .curvature import LossFn, Measurement, _problem, evaluation_mode, hessian_operators, top_eigenvalue
from .errors import InvalidArgumentError
from .stability import NOT_PREDICTED, Prediction, batch_factor, predict_escape


def stability_criterion(model, X, Y, loss_fn: LossFn, lr: float, batch_size: int, *, sampling: str = "subsets",
                        method: str = "auto", tol: float = 1e-5, gauss_newton_tolerance: float = 1e-3,
                        chunk_size: int = 256, seed: int = 0) -> Measurement:
    """lambda_max(E[(I - eta H_b)^2]) = lambda_max((I - eta H)^2 + eta^2 f Sigma), the left side of condition (8)
    of Wu, Ma & E (2018), Theorem 1 (f the batch factor of sgdcheck.stability.batch_factor), matrix-free.

    The matrix is E[A_b^2] with A_b = I - eta H_b, so E||x_{t+1}||^2 <= criterion E||x_t||^2 for the linearised
    SGD: at most 1 means stable. It is positive semi-definite, so Lanczos finds its largest eigenvalue; in
    directions every H_i annihilates it is exactly 1, so over-parameterised minima sit at 1 or above. Hessians as
    in non_uniformity (method "exact", "gauss-newton" or "auto"); with Gauss-Newton the H_i are the positive
    semi-definite J_i^T Lambda_i J_i of the quadratic model the theory linearises. The result carries
    `upper` = value + the Lanczos error estimate (the Ritz value is a lower bound)."""
    if not (np.isfinite(lr) and lr > 0):
        raise InvalidArgumentError(f"lr must be a finite number > 0, got {lr!r}")
    factor = batch_factor(len(X), batch_size, sampling)
    with evaluation_mode(model):
        problem = _problem(model, X, Y, loss_fn, chunk_size)
        operators = hessian_operators(problem, method, gauss_newton_tolerance, seed=seed)
        method, probe_error = operators.method, operators.probe_error
        hessian, sigma = operators.hessian, operators.sigma

        def product(v):
            hv = hessian(v)
            step = v - lr * hv
            return step - lr * hessian(step) + lr**2 * factor * sigma(v)

        value = top_eigenvalue(product, problem, tol=tol, seed=seed)
    error = value.error_estimate if value.error_estimate is not None else float("inf")
    return Measurement(float(value), method=method, upper=float(value) + float(error), lr=lr, batch_size=batch_size,
                       sampling=sampling, gauss_newton_probe_error=probe_error, products=value.products, tol=tol)


def predict_escape_at(model, X, Y, loss_fn: LossFn, a: float, s: float, lr: float, batch_size: int, *,
                      criterion_slack: float, chunk_size: int = 256) -> Prediction:
    """predict_escape for SGD (lr, B) started at a network's minimum: eq. 9 from (a, s) first; inside its box,
    eq. 8 measured on the network (Gauss-Newton Hessians, the quadratic model the theory linearises; its upper
    estimate), with the growth per step the caller tolerates."""
    n = len(X)
    prediction = predict_escape(a, s, lr, batch_size, n)
    if prediction.outcome != NOT_PREDICTED:
        return prediction
    criterion = stability_criterion(model, X, Y, loss_fn, lr, batch_size, method="gauss-newton", tol=1e-5,
                                    chunk_size=chunk_size)
    return predict_escape(a, s, lr, batch_size, n, criterion=criterion.upper, criterion_slack=criterion_slack)
