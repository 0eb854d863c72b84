"""What the training loops share (sgdcheck.train for one model and any optimizer, sgdcheck.ensemble for
many models at once): the batch-size check, the samplings of minibatches, the divergence rule, the seeded
batch streams drawn a chunk at a time, and the history bookkeeping.

Batches come from a seeded torch.Generator on the CPU, in one of the samplings of sgdcheck.sampling; a
stream drawn K steps at a time yields exactly the indices of K single draws, so chunking changes no run.
"""
from __future__ import annotations

import math

import torch

from .errors import InvalidArgumentError
from .sampling import checked as checked_sampling, note as note_sampling

BLOWUP = 1e8                     # a loss above this (or not finite) is divergence


def checked_batch_size(batch_size, n: int) -> int:
    """The batch size (n for None), or an error naming the allowed range."""
    batch_size = n if batch_size is None else batch_size
    if int(batch_size) != batch_size or not 1 <= batch_size <= n:
        raise InvalidArgumentError(f"batch_size must be an integer in 1..n = 1..{n}, got {batch_size!r}")
    return int(batch_size)


def check_budget(max_steps: int, eval_every: int) -> None:
    if max_steps < 0 or eval_every < 1:
        raise InvalidArgumentError(f"max_steps must be >= 0 and eval_every >= 1, got {max_steps}, {eval_every}")


def diverged(loss: float, blowup: float = BLOWUP) -> bool:
    """The divergence rule for one loss value: not finite, or above `blowup`.

    Every loop applies it to the loss of every step it takes: the full-batch loss of a GD step, and the batch
    loss of a minibatch step (a minibatch run stops at the first step whose batch loss fails it, and its final
    loss is the full-batch loss at its last weights); and to every full-batch loss it evaluates."""
    return not math.isfinite(loss) or loss > blowup


def healthy(losses: torch.Tensor, blowup: float = BLOWUP) -> torch.Tensor:
    """The same rule for a tensor of losses, on their device: True where the loss is finite and <= blowup."""
    return torch.isfinite(losses) & (losses <= blowup)


def close_history(history: list, step: int, loss: float) -> list:
    """End a (step, full-batch loss) history at the run's last step: every loop's history ends there."""
    if not history or history[-1][0] != step:
        history.append((step, loss))
    return history


class BatchStream:
    """An endless stream of batch indices from a seeded generator, in one of the SAMPLINGS. `take(k)` returns
    the next k batches as a [k, batch_size] tensor, equal to k calls of `next`."""

    def __init__(self, n: int, batch_size: int, sampling: str, seed: int):
        self.n, self.batch_size, self.sampling = n, batch_size, checked_sampling(sampling)
        note_sampling(sampling)
        self.generator = torch.Generator().manual_seed(seed)
        self._order, self._position = None, 0

    def __iter__(self):
        return self

    def __next__(self) -> torch.Tensor:
        return self.take(1)[0]

    def take(self, k: int) -> torch.Tensor:
        if k < 1:
            return torch.empty(0, self.batch_size, dtype=torch.long)
        if self.sampling == "replacement":
            return torch.randint(self.n, (k, self.batch_size), generator=self.generator)
        if self.sampling == "subsets":
            return torch.stack([torch.randperm(self.n, generator=self.generator)[:self.batch_size] for _ in range(k)])
        rows, per_epoch = [], self.n // self.batch_size
        while len(rows) < k:
            if self._order is None or self._position == per_epoch:
                self._order, self._position = torch.randperm(self.n, generator=self.generator), 0
            start = self._position * self.batch_size
            rows.append(self._order[start:start + self.batch_size])
            self._position += 1
        return torch.stack(rows)
