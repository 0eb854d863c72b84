"""Named scales: how big every experiment is at smoke (CI), full (CPU, hours) and paper scale."""
from __future__ import annotations

from dataclasses import dataclass

from .errors import InvalidArgumentError

SCALE_NAMES = ("smoke", "full", "paper")


@dataclass(frozen=True)
class Scale:
    """A scale names its seeds and picks sizes per experiment with :meth:`pick`."""

    name: str
    seeds: tuple[int, ...]

    def pick(self, smoke, full=None, paper=None):
        """The size for this scale; a missing larger scale falls back to the next smaller one."""
        by_name = {"smoke": smoke, "full": full if full is not None else smoke}
        by_name["paper"] = paper if paper is not None else by_name["full"]
        return by_name[self.name]

    def __str__(self) -> str:
        return self.name


SCALES = {
    "smoke": Scale("smoke", seeds=tuple(range(5))),
    "full": Scale("full", seeds=tuple(range(10))),
    "paper": Scale("paper", seeds=tuple(range(5))),
}


def get_scale(name: str) -> Scale:
    try:
        return SCALES[name]
    except KeyError:
        raise InvalidArgumentError(
            f"unknown scale {name!r}; choose one of {', '.join(SCALE_NAMES)}") from None
