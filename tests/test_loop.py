import math

import pytest
import torch

from sgdcheck.errors import InvalidArgumentError
from sgdcheck.loop import BatchStream, checked_batch_size, diverged, healthy


def sample_batches(n, batch_size, replacement, generator):
    """The reference: one draw per step (i.i.d. uniform, or epochs of a fresh permutation)."""
    if replacement:
        while True:
            yield torch.randint(n, (batch_size,), generator=generator)
    while True:
        order = torch.randperm(n, generator=generator)
        for start in range(0, n - batch_size + 1, batch_size):
            yield order[start:start + batch_size]


@pytest.mark.parametrize("replacement", [True, False])
@pytest.mark.parametrize("n, batch", [(10, 3), (100, 20), (7, 7)])
def test_batches_drawn_a_chunk_at_a_time_are_the_batches_drawn_one_by_one(n, batch, replacement):
    reference = sample_batches(n, batch, replacement, torch.Generator().manual_seed(5))
    one_by_one = torch.stack([next(reference) for _ in range(50)])
    stream = BatchStream(n, batch, replacement, 5)
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
