"""Claim declarations: who said what, where, in their own words; what is predicted; how the test differs from
the source; and where every number that decides the verdict comes from.

A claim module states its claim as data, validated when the module is imported:

    CLAIM = Claim(
        id="wu2018.theorem1",
        source=Source("Wu, Ma & E 2018", "Theorem 1, eq. 8"),
        quote=Quote("The global minimum x* is linearly stable for SGD with learning rate eta and batch size B "
                    "if the following condition is satisfied", "Sec. 3.1, Theorem 1 (seed 003, line 231)"),
        statement="...",
        paper={"criterion": "lambda_max(...) <= 1"},
        deviations=(Deviation("instances", "any PSD H_i; here n <= 6, d <= 3", "the search's budget"),),
        thresholds=(Threshold("rate <= criterion + 1e-12", "argument", "float64 round-off"),),
    )

A claim without a quote, like one without a source, is an error at import.
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
        """The tolerance's fields as the report's JSON stores them."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Quote:
    """The source's own words for the claim, short, and where they stand (section, table, equation, or the line
    of the source text)."""

    text: str
    where: str

    def __post_init__(self):
        if not str(self.text).strip() or not str(self.where).strip():
            raise ClaimDeclarationError(
                f"Quote needs the source's words and where they stand; got text={self.text!r}, where={self.where!r}")

    def as_dict(self) -> dict:
        """The quote as the report's JSON stores it: the source's words and where they stand."""
        return {"text": self.text, "where": self.where}


DEVIATION_ASPECTS = ("data", "model", "loss", "optimizer", "sampling", "sizes", "definition", "threshold",
                     "smallest effect", "setup", "scope", "statistics")


@dataclass(frozen=True)
class Deviation:
    """One way the test differs from its source: the aspect (one of DEVIATION_ASPECTS), how it differs (what the
    source does, what the test does), and why."""

    aspect: str
    differs: str
    why: str

    def __post_init__(self):
        if self.aspect not in DEVIATION_ASPECTS:
            raise ClaimDeclarationError(f"Deviation aspect must be one of {', '.join(DEVIATION_ASPECTS)}, "
                                        f"got {self.aspect!r}")
        if not str(self.differs).strip() or not str(self.why).strip():
            raise ClaimDeclarationError(f"a {self.aspect} deviation says how the test differs and why; got "
                                        f"differs={self.differs!r}, why={self.why!r}")

    def as_dict(self) -> dict:
        """The deviation as the report's JSON stores it: the aspect, how the test differs, and why."""
        return {"aspect": self.aspect, "differs": self.differs, "why": self.why}


THRESHOLD_ORIGINS = {
    "source": "the source's own number",
    "argument": "a physical or statistical argument",
    "tuned": "chosen after a first run, confirmed on other seeds",
}


@dataclass(frozen=True)
class Threshold:
    """A threshold, tolerance or smallest effect that decides a verdict, and where it comes from: the source's
    own numbers ("source"), an argument ("argument"), or a first run ("tuned", whose reason must name the seeds
    it was confirmed on)."""

    what: str
    origin: str
    reason: str

    def __post_init__(self):
        if self.origin not in THRESHOLD_ORIGINS:
            raise ClaimDeclarationError(f"Threshold origin must be one of {', '.join(THRESHOLD_ORIGINS)}, "
                                        f"got {self.origin!r}")
        if not str(self.what).strip() or not str(self.reason).strip():
            raise ClaimDeclarationError(f"a threshold names what it is and why it is that; got what={self.what!r}, "
                                        f"reason={self.reason!r}")
        if self.origin == "tuned" and "seed" not in self.reason:
            raise ClaimDeclarationError(f"the threshold {self.what!r} was chosen after a first run: its reason must "
                                        f"say on which seeds it was confirmed")

    def as_dict(self) -> dict:
        """The threshold as the report's JSON stores it: what it is, where it comes from, and the reason."""
        return {"what": self.what, "origin": self.origin, "reason": self.reason}


_REGISTRY: dict[str, tuple[str, str]] = {}


@dataclass(frozen=True, init=False)
class Claim:
    """One claim of one paper. Unknown fields and a missing source are errors at import."""

    id: str
    source: Source
    quote: Quote
    statement: str
    paper: Mapping[str, Any] = field(default_factory=dict)
    deviations: tuple = ()
    thresholds: tuple = ()
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
        for required in ("id", "source", "quote", "statement"):
            if declared.get(required) in (None, ""):
                raise ClaimDeclarationError(
                    f"claim {claim_id!r} has no {required}: every claim states its "
                    + {"source": "paper and place in it (Source(work, where))",
                       "quote": "source's own words and where they stand (Quote(text, where))"}.get(required, required))
        if not isinstance(declared["id"], str) or not CLAIM_ID.match(declared["id"]):
            raise ClaimDeclarationError(
                f"claim id {declared['id']!r} must look like 'author2018.keyword' "
                f"(lower case, one dot, hyphens allowed)")
        if not isinstance(declared["source"], Source):
            raise ClaimDeclarationError(
                f"claim {claim_id!r}: source must be a Source(work, where), got {declared['source']!r}")
        if not isinstance(declared["quote"], Quote):
            raise ClaimDeclarationError(
                f"claim {claim_id!r}: quote must be a Quote(text, where), got {declared['quote']!r}")
        for name, kind in (("deviations", Deviation), ("thresholds", Threshold)):
            items = declared.get(name, ())
            if not isinstance(items, (tuple, list)) or not all(isinstance(item, kind) for item in items):
                raise ClaimDeclarationError(
                    f"claim {claim_id!r}: {name} must be a tuple of {kind.__name__}(...), got {items!r}")
            declared[name] = tuple(items)
        tolerance = declared.get("tolerance", Tolerance())
        if not isinstance(tolerance, Tolerance):
            raise ClaimDeclarationError(
                f"claim {claim_id!r}: tolerance must be a Tolerance(...), got {tolerance!r}")
        values = {"paper": {}, "notes": "", "deviations": (), "thresholds": (), **declared, "tolerance": tolerance}
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
            "quote": self.quote.as_dict(),
            "statement": self.statement,
            "paper": dict(self.paper),
            "deviations": [d.as_dict() for d in self.deviations],
            "thresholds": [t.as_dict() for t in self.thresholds],
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
