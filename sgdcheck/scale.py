"""Named scales: how big every experiment is at smoke (CI), full (CPU, hours) and paper scale.

A scale also names its seeds. ``seed_offset`` moves every seed of every claim to a disjoint set (seed k
becomes k + offset): the same experiments on fresh seeds, to check that a verdict does not hang on the
seeds it was first seen with (``pytest claims --seed-offset 1000``).
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import InvalidArgumentError

SCALE_NAMES = ("smoke", "full", "paper")
MAX_SEED_OFFSET = 10**9      # seeds, and the seeds claims derive from them (seed * 1000 + k), stay far below 2^63
SEED_COUNTS = {"smoke": 5, "full": 10, "paper": 5}


@dataclass(frozen=True)
class Scale:
    """A scale names its seeds and picks sizes per experiment with :meth:`pick`."""

    name: str
    seed_count: int
    seed_offset: int = 0

    def __post_init__(self):
        if self.seed_count < 1:
            raise InvalidArgumentError(f"a scale needs at least one seed, got {self.seed_count}")
        if not 0 <= self.seed_offset <= MAX_SEED_OFFSET:
            raise InvalidArgumentError(f"the seed offset must be in 0..{MAX_SEED_OFFSET:,}, got {self.seed_offset}")

    @property
    def seeds(self) -> tuple[int, ...]:
        """The scale's default seeds: seed_count of them from seed_offset on."""
        return self.seed_range(self.seed_count)

    def seed_range(self, count: int) -> tuple[int, ...]:
        """`count` seeds from seed_offset on, for experiments that need more (or fewer) than the default."""
        if count < 1:
            raise InvalidArgumentError(f"need at least one seed, got {count}")
        return tuple(range(self.seed_offset, self.seed_offset + count))

    def pick(self, smoke, full=None, paper=None):
        """The size for this scale; a missing larger scale falls back to the next smaller one."""
        by_name = {"smoke": smoke, "full": full if full is not None else smoke}
        by_name["paper"] = paper if paper is not None else by_name["full"]
        return by_name[self.name]

    def __str__(self) -> str:
        return self.name if not self.seed_offset else f"{self.name} (seeds from {self.seed_offset})"


SCALES = {name: Scale(name, count) for name, count in SEED_COUNTS.items()}


def get_scale(name: str, seed_offset: int = 0) -> Scale:
    if name not in SCALES:
        raise InvalidArgumentError(f"unknown scale {name!r}; choose one of {', '.join(SCALE_NAMES)}")
    return Scale(name, SEED_COUNTS[name], int(seed_offset))
