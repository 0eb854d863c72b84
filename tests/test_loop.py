import math

import pytest
import torch

from sgdcheck.errors import InvalidArgumentError
from sgdcheck.loop import BatchStream, checked_batch_size, diverged, healthy
from sgdcheck.sampling import SAMPLINGS


def sample_batches(n, batch_size, sampling, generator):
    """The reference: one draw per step (i.i.d. uniform, a fresh uniform subset, or epochs of a permutation)."""
    if sampling == "replacement":
        while True:
            yield torch.randint(n, (batch_size,), generator=generator)
    if sampling == "subsets":
        while True:
            yield torch.randperm(n, generator=generator)[:batch_size]
    while True:
        order = torch.randperm(n, generator=generator)
        for start in range(0, n - batch_size + 1, batch_size):
            yield order[start:start + batch_size]


@pytest.mark.parametrize("sampling", sorted(SAMPLINGS))
@pytest.mark.parametrize("n, batch", [(10, 3), (100, 20), (7, 7)])
def test_batches_drawn_a_chunk_at_a_time_are_the_batches_drawn_one_by_one(n, batch, sampling):
    reference = sample_batches(n, batch, sampling, torch.Generator().manual_seed(5))
    one_by_one = torch.stack([next(reference) for _ in range(50)])
    stream = BatchStream(n, batch, sampling, 5)
    chunked = torch.cat([stream.take(7), stream.take(1), next(stream)[None], stream.take(41)])
    assert torch.equal(one_by_one, chunked)


def test_the_divergence_rule_is_one_rule_for_numbers_and_tensors():
    values = [0.5, 1e8, 1.1e8, math.inf, math.nan]
    assert [diverged(v) for v in values] == [False, False, True, True, True]
    assert healthy(torch.tensor(values, dtype=torch.float64)).tolist() == [not diverged(v) for v in values]


def test_batch_sizes_are_checked():
    assert checked_batch_size(None, 10) == 10
    for bad in (0, 11, 2.5):
        with pytest.raises(InvalidArgumentError, match="batch_size must be an integer in 1..n = 1..10"):
            checked_batch_size(bad, 10)


def test_the_theory_sampler_draws_independent_uniform_subsets_and_reshuffling_does_not():
    """Wu, Ma & E's Theorem 1 assumes a fresh uniform B-subset at every step, independent of the last. With
    n = 4, B = 2 each of the 6 subsets comes with probability 1/6 at every step, whatever came before;
    random reshuffling never repeats a batch's samples within an epoch (the second batch is the complement
    of the first)."""
    stream = BatchStream(4, 2, "subsets", 0)
    draws = [tuple(sorted(b.tolist())) for b in stream.take(6000)]
    assert all(len(set(d)) == 2 for d in draws)
    counts = {d: draws.count(d) for d in set(draws)}
    assert len(counts) == 6 and all(abs(c / 6000 - 1 / 6) < 0.02 for c in counts.values())
    complements = sum(set(a).isdisjoint(b) for a, b in zip(draws[::2], draws[1::2]))
    assert abs(complements / 3000 - 1 / 6) < 0.03               # independent: the complement comes 1 time in 6
    shuffled = [tuple(sorted(b.tolist())) for b in BatchStream(4, 2, "reshuffling", 0).take(200)]
    assert all(set(a).isdisjoint(b) for a, b in zip(shuffled[::2], shuffled[1::2]))


def test_an_unknown_sampling_is_named():
    with pytest.raises(InvalidArgumentError, match="sampling must be one of subsets, reshuffling, replacement"):
        BatchStream(10, 2, "shuffle", 0)
