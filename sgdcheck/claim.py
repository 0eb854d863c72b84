"""Claim declarations: who said what, where, what is predicted and how close counts.

A claim module states its claim as data, validated when the module is imported:

    CLAIM = Claim(
        id="wu2018.theorem1",
        source=Source("Wu, Ma & E 2018", "Theorem 1, eq. 8"),
        statement="...",
        paper={"criterion": "lambda_max(...) <= 1"},
        tolerance=Tolerance(atol=1e-10, note="exact arithmetic in float64"),
    )
"""
from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from .errors import ClaimDeclarationError

CLAIM_ID = re.compile(r"^[a-z][a-z0-9]*\.[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class Source:
    """Where a claim comes from: the work and the place in it (table, figure, theorem, equation)."""

    work: str
    where: str
    note: str = ""

    def __post_init__(self):
        if not str(self.work).strip() or not str(self.where).strip():
            raise ClaimDeclarationError(
                f"Source needs a work and a place in it (table, figure, theorem, equation); "
                f"got work={self.work!r}, where={self.where!r}"
            )

    def __str__(self) -> str:
        text = f"{self.work}, {self.where}"
        return f"{text} ({self.note})" if self.note else text


@dataclass(frozen=True)
class Tolerance:
    """How close a measurement must come to the prediction for the claim to count as replicated."""

    rtol: float | None = None
    atol: float | None = None
    confidence: float = 0.95
    note: str = ""

    def __post_init__(self):
        for name in ("rtol", "atol"):
            value = getattr(self, name)
            if value is not None and not value >= 0:
                raise ClaimDeclarationError(f"Tolerance.{name} must be >= 0, got {value!r}")
        if not 0.5 <= self.confidence < 1:
            raise ClaimDeclarationError(
                f"Tolerance.confidence must be in [0.5, 1), got {self.confidence!r}")

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


_REGISTRY: dict[str, tuple[str, str]] = {}


@dataclass(frozen=True, init=False)
class Claim:
    """One claim of one paper. Unknown fields and a missing source are errors at import."""

    id: str
    source: Source
    statement: str
    paper: Mapping[str, Any] = field(default_factory=dict)
    tolerance: Tolerance = field(default_factory=Tolerance)
    notes: str = ""

    def __init__(self, **declared: Any):
        known = [f.name for f in fields(Claim)]
        claim_id = declared.get("id", "<no id>")
        unknown = sorted(set(declared) - set(known))
        if unknown:
            raise ClaimDeclarationError(
                f"claim {claim_id!r}: unknown field(s) {', '.join(unknown)}; "
                f"a claim declares only {', '.join(known)}")
        for required in ("id", "source", "statement"):
            if declared.get(required) in (None, ""):
                raise ClaimDeclarationError(
                    f"claim {claim_id!r} has no {required}: every claim states its "
                    f"{'paper and place in it (Source(work, where))' if required == 'source' else required}")
        if not isinstance(declared["id"], str) or not CLAIM_ID.match(declared["id"]):
            raise ClaimDeclarationError(
                f"claim id {declared['id']!r} must look like 'author2018.keyword' "
                f"(lower case, one dot, hyphens allowed)")
        if not isinstance(declared["source"], Source):
            raise ClaimDeclarationError(
                f"claim {claim_id!r}: source must be a Source(work, where), got {declared['source']!r}")
        tolerance = declared.get("tolerance", Tolerance())
        if not isinstance(tolerance, Tolerance):
            raise ClaimDeclarationError(
                f"claim {claim_id!r}: tolerance must be a Tolerance(...), got {tolerance!r}")
        values = {"paper": {}, "notes": "", **declared, "tolerance": tolerance}
        if not isinstance(values["paper"], Mapping):
            raise ClaimDeclarationError(f"claim {claim_id!r}: paper must be a mapping of values")
        for name in known:
            object.__setattr__(self, name, values[name])
        caller = sys._getframe(1).f_globals
        _register(self, os.path.realpath(caller["__file__"]) if caller.get("__file__") else caller.get("__name__", ""))

    def describe(self) -> dict:
        """The declaration as JSON-ready data, as it appears in reports."""
        return {
            "id": self.id,
            "source": str(self.source),
            "statement": self.statement,
            "paper": dict(self.paper),
            "tolerance": self.tolerance.as_dict(),
            "notes": self.notes,
        }


def _register(claim: Claim, where: str) -> None:
    """Refuse one id declared by two modules, or twice with different statements (reports and history are keyed
    by it, so two claims under one id would merge silently into one entry)."""
    previous = _REGISTRY.get(claim.id)
    if previous is not None:
        statement, origin = previous
        if origin != where:
            raise ClaimDeclarationError(f"claim id {claim.id!r} is declared in {origin} and again in {where}: "
                                        f"give one of them another id")
        if statement != claim.statement:
            raise ClaimDeclarationError(f"claim id {claim.id!r} is declared twice with different statements")
    _REGISTRY[claim.id] = (claim.statement, where)
