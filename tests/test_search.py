from hypothesis import strategies as st

from sgdcheck.search import search_counterexample


def test_finds_and_shrinks_a_counterexample():
    result = search_counterexample(st.integers(0, 10**6), lambda k: k < 1000, max_examples=500, seed=0)
    assert result.found and result.counterexample == 1000


def test_reports_how_many_examples_held():
    result = search_counterexample(st.integers(0, 100), lambda k: k >= 0, max_examples=50, seed=0)
    assert not result.found and 1 <= result.examples <= 50


def test_same_seed_same_answer():
    run = lambda: search_counterexample(st.lists(st.integers()), lambda xs: sum(xs) < 50, max_examples=300, seed=3)
    assert run().counterexample == run().counterexample
