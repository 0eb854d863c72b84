"""GD on over-parameterised least squares converges to V S^-1 U^T y plus the null-space part of
beta_0; from beta_0 = 0, to the minimum-norm solution.

Wu 2020 slides (SJTU summer school), Theorem on GD for linear regression.
"""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sgdcheck import Claim, Source, Tolerance, combine, holds_for_all
from sgdcheck import shown
from sgdcheck.linear import gd_limit, run_gd_least_squares
from sgdcheck.search import search_counterexample

CLAIM = Claim(
    id="wu2020.gd-min-norm",
    source=Source("Wu 2020 slides", "Theorem (GD for over-parameterised linear regression)"),
    statement="GD on least squares with d > n converges to V S^-1 U^T y + (projection of beta_0 on the null "
              "space of X); from beta_0 = 0 this is the minimum-norm solution.",
    paper={"limit": "V S^-1 U^T y + P_null beta_0"},
    tolerance=Tolerance(atol=1e-8, note="max |beta_T - predicted| after the contraction reaches 1e-14"),
)
ENTRY = st.floats(-3, 3, allow_nan=False, width=64)


@st.composite
def problems(draw, zero_start=False):
    """X = U diag(s) V^T with s in [1, 3] (well conditioned, so GD's run length is bounded)."""
    n = draw(st.integers(1, 5))
    d = draw(st.integers(n + 1, 10))
    u, _ = np.linalg.qr(draw(arrays(np.float64, (n, n), elements=ENTRY)) + 4 * np.eye(n))
    v, _ = np.linalg.qr(draw(arrays(np.float64, (d, n), elements=ENTRY)) + np.eye(d, n) * 4)
    s = np.array(draw(st.lists(st.floats(1, 3), min_size=n, max_size=n)))
    x = (u * s) @ v.T * np.sqrt(n)
    y = draw(arrays(np.float64, n, elements=ENTRY))
    beta0 = np.zeros(d) if zero_start else draw(arrays(np.float64, d, elements=ENTRY))
    return x, y, beta0


def _converges_to(case, predict) -> bool:
    x, y, beta0 = case
    n = x.shape[0]
    eigs = np.linalg.eigvalsh(x @ x.T / n)
    lr = 1 / eigs[-1]
    contraction = 1 - lr * eigs[0]          # per-step factor of the slowest direction in the row space
    steps = 10 if contraction <= 1e-12 else int(np.ceil(np.log(1e-14) / np.log(contraction))) + 10
    beta = run_gd_least_squares(x, y, beta0, lr, steps)
    return np.abs(beta - predict(x, y, beta0)).max() <= 1e-8 * max(1, np.abs(beta).max())


def test_gd_min_norm(scale, evidence):
    examples = scale.pick(smoke=200, full=2000, paper=5000)
    seed = scale.seeds[0]
    general = search_counterexample(problems(), lambda c: _converges_to(c, gd_limit), max_examples=examples, seed=seed)
    from_zero = search_counterexample(problems(zero_start=True),
                                      lambda c: _converges_to(c, lambda x, y, b: np.linalg.pinv(x) @ y),
                                      max_examples=examples, seed=seed)
    wrong = search_counterexample(problems(), lambda c: _converges_to(c, lambda x, y, b: np.linalg.pinv(x) @ y),
                                  max_examples=examples, seed=seed)
    evidence.record(general_examples=general.examples, zero_start_examples=from_zero.examples,
                    limit=shown(not general.found, "matches to 1e-8" if not general.found else "mismatch", unit="holds"))
    evidence.detail(counterexample=repr(general.counterexample) if general.found else None)
    verdict = combine([
        holds_for_all(general.examples, general.counterexample, "GD limit == X^+ y + P_null beta_0"),
        holds_for_all(from_zero.examples, from_zero.counterexample, "GD from 0 -> minimum-norm solution"),
    ])
    control = holds_for_all(wrong.examples, wrong.counterexample, "GD from any beta_0 -> X^+ y")
    evidence.conclude(CLAIM, verdict, seeds=[seed],
                      negative_control=("GD reaches the minimum-norm solution from any beta_0", control))
