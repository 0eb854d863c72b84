"""Named scales: how big every experiment is at smoke (CI), full (CPU, hours) and paper scale.

A scale also names its seeds. ``seed_offset`` moves every seed of every claim to a disjoint set (seed k
becomes k + offset): the same experiments on fresh seeds, to check that a verdict does not hang on the
seeds it was first seen with (``pytest claims --seed-offset 1000``). ``look`` is the look of a sequential
design (sgdcheck.looks): its first look runs ``first_share`` of every seed count a claim asks for (never fewer
than MIN_FIRST_SEEDS), and look j runs 2^(j-1) times that, the seeds of the earlier looks first, so that look j
repeats look j - 1 and adds as many new seeds again.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .errors import InvalidArgumentError

SCALE_NAMES = ("smoke", "full", "paper")
MAX_SEED_OFFSET = 10**9      # seeds, and the seeds claims derive from them (seed * 1000 + k), stay far below 2^63
SEED_COUNTS = {"smoke": 5, "full": 10, "paper": 5}
MAX_LOOKS = 8                # 2^7 times a claim's first seeds: far past any cap
MIN_FIRST_SEEDS = 3          # a first look with fewer seeds than this has intervals too wide to decide anything


def first_look_seeds(count: int, share: float) -> int:
    """The seeds a first look runs for a claim that asks for `count`: `share` of them, rounded, but never fewer
    than MIN_FIRST_SEEDS (nor more than `count`)."""
    return min(count, max(MIN_FIRST_SEEDS, math.floor(count * share + 0.5)))


class Seeds(tuple):
    """Seeds in the blocks the looks of a sequential design added them in (one block at the first look): an
    ensemble of these seeds is trained and cached block by block, so a later look reuses the earlier ones'
    runs (sgdcheck.runs.Ensemble). A slice is a plain tuple."""

    blocks: tuple = ()

    def __new__(cls, start: int, sizes):
        bounds, blocks = start, []
        for size in sizes:
            blocks.append(tuple(range(bounds, bounds + size)))
            bounds += size
        seeds = super().__new__(cls, range(start, bounds))
        seeds.blocks = tuple(blocks)
        return seeds

    def __reduce__(self):                       # pickles (to xdist workers, submitit jobs) as a plain tuple
        return tuple, (tuple(self),)


@dataclass(frozen=True)
class Scale:
    """A scale names its seeds and picks sizes per experiment with :meth:`pick`."""

    name: str
    seed_count: int
    seed_offset: int = 0
    look: int = 1
    first_share: float = 1.0

    def __post_init__(self):
        if self.seed_count < 1:
            raise InvalidArgumentError(f"a scale needs at least one seed, got {self.seed_count}")
        if not 0 <= self.seed_offset <= MAX_SEED_OFFSET:
            raise InvalidArgumentError(f"the seed offset must be in 0..{MAX_SEED_OFFSET:,}, got {self.seed_offset}")
        if not 1 <= self.look <= MAX_LOOKS:
            raise InvalidArgumentError(f"the look must be in 1..{MAX_LOOKS}, got {self.look}")
        if not 0 < self.first_share <= 1:
            raise InvalidArgumentError(f"the first look's share of the seeds must be in (0, 1], got {self.first_share}")

    @property
    def seed_factor(self) -> int:
        """How many times the seeds of the first look each seed count stands for at this look: 2^(look-1)."""
        return 2 ** (self.look - 1)

    def at_look(self, look: int) -> "Scale":
        """The same scale at another look of a sequential design."""
        return replace(self, look=look)

    def with_first_share(self, share: float) -> "Scale":
        """The same scale for a sequential design whose first look runs `share` of each seed count."""
        return replace(self, first_share=share)

    @property
    def seeds(self) -> tuple[int, ...]:
        """The scale's default seeds: seed_count of them from seed_offset on."""
        return self.seed_range(self.seed_count)

    def seed_range(self, count: int) -> Seeds:
        """`count` seeds from seed_offset on, for experiments that need more (or fewer) than the default; under a
        sequential design the first look's share of them (first_look_seeds) times seed_factor, in the blocks the
        looks added them in."""
        if count < 1:
            raise InvalidArgumentError(f"need at least one seed, got {count}")
        first = first_look_seeds(count, self.first_share)
        return Seeds(self.seed_offset, [first] + [first * 2 ** j for j in range(self.look - 1)])

    def pick(self, smoke, full=None, paper=None):
        """The size for this scale; a missing larger scale falls back to the next smaller one."""
        by_name = {"smoke": smoke, "full": full if full is not None else smoke}
        by_name["paper"] = paper if paper is not None else by_name["full"]
        return by_name[self.name]

    def __str__(self) -> str:
        text = self.name if not self.seed_offset else f"{self.name} (seeds from {self.seed_offset})"
        return text if self.look == 1 else f"{text}, look {self.look}"


SCALES = {name: Scale(name, count) for name, count in SEED_COUNTS.items()}


def get_scale(name: str, seed_offset: int = 0) -> Scale:
    """The scale called `name` (smoke, full or paper: sizes, steps and seed counts that claims pick from with
    Scale.pick), its seeds shifted by `seed_offset` (a disjoint set of seeds for a replication check); an unknown
    name is an error that lists the known ones."""
    if name not in SCALES:
        raise InvalidArgumentError(f"unknown scale {name!r}; choose one of {', '.join(SCALE_NAMES)}")
    return Scale(name, SEED_COUNTS[name], int(seed_offset))
