"""Counterexample search for universal statements, driven by hypothesis (shrinks what it finds)."""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis.errors import NoSuchExample


@dataclass
class SearchResult:
    """How many cases were evaluated and the (shrunk) counterexample, if one was found."""

    examples: int
    counterexample: Any = None

    @property
    def found(self) -> bool:
        return self.counterexample is not None


def search_counterexample(strategy, holds: Callable[[Any], bool], *, max_examples: int,
                          seed: int = 0, shrink: bool = True) -> SearchResult:
    """Look for a case where `holds(case)` is false. Seeded, so the same seed finds the same case."""
    count = 0

    def fails(case) -> bool:
        nonlocal count
        count += 1
        return not holds(case)

    phases = [Phase.generate, Phase.shrink] if shrink else [Phase.generate]
    config = settings(max_examples=max_examples, database=None, deadline=None, phases=phases,
                      suppress_health_check=list(HealthCheck))
    try:
        example = find(strategy, fails, settings=config, random=random.Random(seed))
    except NoSuchExample:
        return SearchResult(examples=count)
    return SearchResult(examples=count, counterexample=example)
