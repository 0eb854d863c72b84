"""E[H_b^2] = H^2 + (n-B)/(B(n-1)) Sigma for batches drawn uniformly without replacement.

Wu, Ma & E (NeurIPS 2018), Appendix A; Wu 2020 slides. Checked against brute force over all
C(n, B) batches.
"""
import numpy as np

from sgdcheck import (Claim, Deviation, Quote, Source, Threshold, Tolerance, holds_for_all, minibatch_second_moment, shown)
from sgdcheck.search import search_counterexample
from sgdcheck.stability import brute_force_second_moment, mean_and_sigma
from sgdcheck.strategies import symmetric_hessians
from hypothesis import strategies as st

CLAIM = Claim(
    id="wu2018.minibatch-variance",
    source=Source("Wu, Ma & E 2018", "Appendix A (proof of Theorem 1)", note="also Wu 2020 slides"),
    quote=Quote("\\mathbb{E}\\|x_{t+1}\\|^2 &= \\mathbb{E}x_t^T \\left[(I - \\eta H)^2 + "
                "\\frac{\\eta^2(n-B)}{B(n-1)} \\Sigma \\right] x_t,",
                "Wu 2020 slides, linearized SGD with batch size B (seed 004, line 643; H, Sigma defined at line "
                "645); the paper's proof (Appendix A, cited by the module) is not in seed 003"),
    statement="For batches of size B drawn uniformly without replacement, "
              "E[H_b^2] = H^2 + (n-B)/(B(n-1)) Sigma.",
    paper={"factor": "(n-B)/(B(n-1))"},
    deviations=(
        Deviation("scope",
                  "the source's H_i are PSD Hessians; the test uses arbitrary symmetric matrices with entries in "
                  "[-2, 2], n <= 9, d <= 3, B in 1..n, 300/3000/10000 examples",
                  "the identity is algebraic and holds for any symmetric H_i; no reason stated for the sizes"),
        Deviation("definition",
                  "the slides state the one-step second moment E x^T[(I - eta H)^2 + eta^2 (n-B)/(B(n-1)) Sigma] x; "
                  "the test checks E[H_b^2] = H^2 + (n-B)/(B(n-1)) Sigma against enumeration of all C(n, B) batches",
                  "equivalent given E[H_b] = H: the part of the formula that carries the batch factor"),
    ),
    thresholds=(
        Threshold("max |closed form - brute force| <= 1e-10 x max(1, max |brute force|)", "argument",
                  "float64 round-off"),
        Threshold("zero counterexamples in 300/3000/10000 examples (holds_for_all)", "argument",
                  "a universal identity: one counterexample refutes it; N clean examples bound the failure rate "
                  "below 3/N at 95%"),
    ),
    tolerance=Tolerance(atol=1e-10, note="relative to the largest entry"),
)


@st.composite
def cases(draw):
    h = draw(symmetric_hessians(min_n=1, max_n=9, max_d=3))
    return h, draw(st.integers(1, h.shape[0]))


def _agrees(case, factor=None) -> bool:
    h, batch = case
    brute = brute_force_second_moment(h, batch)
    if factor is None:
        closed = minibatch_second_moment(h, batch)
    else:
        mean, sigma = mean_and_sigma(h)
        closed = mean @ mean + factor(h.shape[0], batch) * sigma
    return np.abs(closed - brute).max() <= 1e-10 * max(1.0, np.abs(brute).max())


def test_minibatch_variance(scale, evidence):
    examples = scale.pick(smoke=300, full=3000, paper=10000)
    seed = scale.seeds[0]
    exact = search_counterexample(cases(), _agrees, max_examples=examples, seed=seed)
    with_replacement = search_counterexample(cases(), lambda c: _agrees(c, lambda n, b: 1 / b),
                                             max_examples=examples, seed=seed)
    evidence.record(examples=exact.examples, factor=shown(not exact.found, "(n-B)/(B(n-1)) matches enumeration"
                                                          if not exact.found else "mismatch", unit="matches"))
    evidence.detail(counterexample=repr(exact.counterexample) if exact.found else None,
                    with_replacement_counterexample=repr(with_replacement.counterexample))
    evidence.conclude(
        CLAIM, holds_for_all(exact.examples, exact.counterexample, "closed form == brute force to 1e-10"),
        seeds=[seed],
        negative_control=("the with-replacement factor 1/B", holds_for_all(
            with_replacement.examples, with_replacement.counterexample, "factor 1/B == brute force")))
