"""The sequential design of a claim's seeds: run with few seeds, look, and run again with more only where
the verdict is undecided or decided by less than a stated margin.

The first look runs a share of every seed count a claim asks for (FIRST_SHARE, or the claim's FIRST_LOOK), and
look j 2^(j-1) times that (sgdcheck.scale: the seeds of the earlier looks first, so their cached runs are
reused), up to the claim's cap. The claim stops at the first look that decides with at least `min_margin`
half-widths (or whose rules are exact, or whose preconditions failed), at the cap, where its verdict stands as
measured and the report says so, or for futility: when, taking the measured estimate and spread as the truth,
the chance that the seeds left up to the cap decide the claim or its control, whichever is undecided, is below
FUTILITY for each of them (conditional power, the stochastic curtailment of group-sequential trials: Lan, Simon &
Halperin 1982; Jennison & Turnbull 2000, ch. 10), judged only on MIN_FUTILITY_SEEDS or more. Stopping for futility
never decides anything, so it cannot raise either error rate; it spends fewer seeds on claims more seeds would not
decide.

Looking again until something is decided inflates both error rates: a true claim at its bound is refuted
at some look more often than at one. Each look therefore spends 1/K of the error rate, K the planned
looks (Bonferroni over the looks: every interval of look j is built at 1 - (1 - c)/K, sgdcheck.stats
.alpha_share), so that the chance of a false verdict over all looks is at most that of one fixed-seed test,
whatever the stopping rule. sgdcheck.error_rates measures both the naive rule's inflation and this rule's
level (docs/error-rates.md).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import InvalidArgumentError
from .stats import INCONCLUSIVE, Verdict, _leaves, _statistical

DESIGNS = ("sequential", "fixed")
# The default since the smoke suite's training time under it was measured against fixed seeds, cold, on one machine
# (docs/error-rates.md for its error rates; the notes of the issue that made it the default for the times).
DEFAULT_DESIGN = "sequential"
LOOKS = {"smoke": 3, "full": 3, "paper": 2}          # planned looks per scale: k, 2k, 4k seeds (k, 2k at paper)
MAX_SEEDS = {"smoke": 20, "full": 40, "paper": 20}   # the default cap on a claim's seeds per scale
# The first look's share of the seeds a claim asks for: half at smoke and full (a claim decided by a wide margin
# stops there, at half the fixed design's cost; one that needs the fixed design's seeds gets them at look 2);
# all of them at paper scale, whose seeds are the papers' own.
FIRST_SHARE = {"smoke": 0.5, "full": 0.5, "paper": 1.0}
MIN_MARGIN = 1.0                                     # half-widths: a decision by less flips with another draw
FUTILITY = 0.10     # stop when the chance of deciding by the cap is below this (a common futility bound in trials)
# No futility stop on fewer seeds than this: with 2 degrees of freedom the spread is too unsure to judge the chance
# by (its 98.3% t quantile is 7.6 against 3.7 with 4); a 3-seed first look that replicated at 5 seeds stopped.
MIN_FUTILITY_SEEDS = 5

STOPS = {
    "decided": "decided with the minimum margin",
    "exact": "exact rules: more seeds change nothing",
    "precondition": "a precondition failed: more seeds do not repair it",
    "cap": "reached the cap on seeds",
    "futile": "stopped for futility: the seeds left to the cap were unlikely to decide",
    "fixed seeds": "the claim's seeds do not grow with the looks",
    "last look": "the last planned look",
    "fixed design": "fixed seeds (the sequential design is off)",
}


@dataclass(frozen=True)
class Design:
    """How a claim's seeds are chosen: `looks` planned looks of doubling seeds, stopping at `min_margin`
    half-widths, never past `max_seeds`; `sequential=False` is one look with the claim's seeds, at the
    full error rate (the design as it was before looks)."""

    sequential: bool = True
    looks: int = 3
    min_margin: float = MIN_MARGIN
    max_seeds: int = 20
    first_share: float = 1.0

    def __post_init__(self):
        if not (isinstance(self.looks, int) and 1 <= self.looks <= 8):
            raise InvalidArgumentError(f"a sequential design plans 1 to 8 looks, got {self.looks!r}")
        if not (math.isfinite(self.min_margin) and self.min_margin >= 0):
            raise InvalidArgumentError(f"the minimum margin must be a finite number >= 0 half-widths, got "
                                       f"{self.min_margin!r}")
        if not (isinstance(self.max_seeds, int) and self.max_seeds >= 1):
            raise InvalidArgumentError(f"the cap on seeds must be a whole number >= 1, got {self.max_seeds!r}")
        if not (isinstance(self.first_share, (int, float)) and 0 < self.first_share <= 1):
            raise InvalidArgumentError(f"the first look's share of the seeds must be in (0, 1], got "
                                       f"{self.first_share!r}")

    @property
    def planned(self) -> int:
        return self.looks if self.sequential else 1

    @property
    def seed_share(self) -> float:
        """The share of each seed count the first look runs (all of them under fixed seeds)."""
        return self.first_share if self.sequential else 1.0

    @property
    def share(self) -> float:
        """The share of the error rate each look spends: 1/K (Bonferroni over K planned looks)."""
        return 1.0 / self.planned

    def level(self, confidence: float = 0.95) -> float:
        """The confidence every look's intervals are built at, for a rule asked for `confidence`."""
        return 1 - (1 - confidence) * self.share

    def describe(self) -> dict:
        return {"rule": "sequential, Bonferroni over the looks" if self.sequential else "fixed seeds",
                "looks": self.planned, "share": self.share, "level": self.level(),
                "min_margin": self.min_margin if self.sequential else None,
                "max_seeds": self.max_seeds if self.sequential else None,
                "first_share": self.first_share if self.sequential else None,
                "futility": FUTILITY if self.sequential else None}


def design_for(scale_name: str, *, sequential: bool = True, looks: int | None = None,
               min_margin: float | None = None, max_seeds: int | None = None,
               first_share: float | None = None) -> Design:
    """The scale's design, with a claim's or the command line's choices where given."""
    return Design(sequential, LOOKS[scale_name] if looks is None else looks,
                  MIN_MARGIN if min_margin is None else min_margin,
                  MAX_SEEDS[scale_name] if max_seeds is None else max_seeds,
                  FIRST_SHARE[scale_name] if first_share is None else first_share)


def rests_on_statistics(verdict: Verdict) -> bool:
    """Whether any part of a verdict rests on a confidence interval (more seeds can move it)."""
    return any(_statistical(part) for part in _leaves([verdict]))


def precondition_failed(verdict: Verdict) -> bool:
    leaves = _leaves([verdict])
    return verdict.verdict == INCONCLUSIVE and bool(leaves) and all(p.rule == "precondition" for p in leaves)


def decided_with_margin(verdict: Verdict, min_margin: float) -> bool:
    """Decided (replicated or refuted), by at least `min_margin` half-widths where the verdict has a margin."""
    if verdict.verdict == INCONCLUSIVE:
        return False
    m = verdict.margin_halfwidths
    return m is None or math.isnan(m) or m >= min_margin


@dataclass(frozen=True)
class Look:
    """What one look measured: its seeds, the claim's and the control's verdicts, and the level it spent."""

    look: int
    seeds: int
    verdict: str
    margin_halfwidths: float | None
    control: str
    control_margin_halfwidths: float | None
    level: float

    def as_dict(self) -> dict:
        return {"look": self.look, "seeds": self.seeds, "verdict": self.verdict,
                "margin_halfwidths": self.margin_halfwidths, "control": self.control,
                "control_margin_halfwidths": self.control_margin_halfwidths, "level": self.level}


def reachable_seeds(design: Design, look: int, seeds: int) -> int:
    """The most seeds the looks left can reach from `seeds` at `look`: doubling at each, within the cap."""
    while look < design.planned and 2 * seeds <= design.max_seeds:
        look, seeds = look + 1, 2 * seeds
    return seeds


def conditional_power(margin_halfwidths: float | None, seeds: int, final_seeds: int, min_margin: float,
                      level: float) -> float | None:
    """The chance that a verdict measured at `seeds` decides by at least `min_margin` half-widths at
    `final_seeds`, if the measured estimate and spread were the truth (conditional power; Jennison & Turnbull
    2000, sec. 10.2). The interval is taken as a Student t interval at `level` on the seeds: the estimate sits
    (1 + m) half-widths from the bound that decides, the half-width shrinks as t_{N-1}/sqrt(N), and the final
    mean moves from the present one by a normal step of sd sigma sqrt(N - n) / N. None where it cannot be
    computed (no margin, fewer than two seeds, nothing left to run)."""
    if (margin_halfwidths is None or not math.isfinite(margin_halfwidths) or seeds < 2
            or final_seeds <= seeds):
        return None
    from scipy import stats as scipy_stats

    upper = 1 - (1 - level) / 2

    def quantile(n):
        return float(scipy_stats.t.ppf(upper, n - 1))

    distance_now = (1 + margin_halfwidths) * quantile(seeds) / math.sqrt(seeds)        # in units of sigma
    distance_needed = (1 + min_margin) * quantile(final_seeds) / math.sqrt(final_seeds)
    step = math.sqrt(final_seeds - seeds) / final_seeds
    return float(scipy_stats.norm.cdf((distance_now - distance_needed) / step))


def distance_halfwidths(verdict: Verdict) -> tuple[float | None, float]:
    """The interval's distance from the bound that decides, in half-widths (the margin a rule measured), and
    the margin the verdict must reach to count: 0, or the minimum `sgdcheck.stats.at_margin` held it to, whose
    stored margin is the margin it lacks (margin - minimum) and so not itself a distance from the bound."""
    held = verdict.held_to if verdict.held_to is not None else 0.0
    margin = verdict.margin_halfwidths
    if margin is None or not math.isfinite(margin):
        return margin, held
    return margin + held, held


def futile(design: Design, look: int, verdict: Verdict, control: Verdict, seeds: int) -> bool:
    """Whether the looks left are unlikely to decide anything: every part still undecided (the claim, its
    control, or both) whose chance can be judged has a conditional power below FUTILITY of being decided (by any
    margin, or by the minimum a verdict is held to: at the last look the verdict stands as measured) at the most
    seeds the design can still reach. One hopeless part does not stop the looks while the other may still be
    decided: a claim undecided on its bound says nothing, but a control that more seeds would refute still tells
    the claim from its rival."""
    final = reachable_seeds(design, look, seeds)
    pending = [part for part in (verdict, control) if part.verdict == INCONCLUSIVE]
    powers = [conditional_power(distance, seeds, final, needed, design.level())
              for distance, needed in map(distance_halfwidths, pending)]
    judged = [power for power in powers if power is not None]
    return bool(judged) and all(power < FUTILITY for power in judged)


def stop_reason(design: Design, look: int, verdict: Verdict, control: Verdict, seeds: int,
                previous_seeds: int | None) -> str | None:
    """Why the design stops after this look (a key of STOPS), or None to look again with twice the seeds."""
    if not design.sequential:
        return "fixed design"
    if previous_seeds is not None and seeds <= previous_seeds:
        return "fixed seeds"
    if precondition_failed(verdict) or precondition_failed(control):
        return "precondition"
    if not (rests_on_statistics(verdict) or rests_on_statistics(control)):
        return "exact"
    if decided_with_margin(verdict, design.min_margin) and control.verdict != INCONCLUSIVE:
        return "decided"
    if look >= design.planned:
        return "last look"
    if 2 * seeds > design.max_seeds:
        return "cap"
    if seeds >= MIN_FUTILITY_SEEDS and futile(design, look, verdict, control, seeds):
        return "futile"
    return None


def seeds_needed(margin_halfwidths: float | None, seeds: int, min_margin: float) -> int | None:
    """About how many seeds would decide with `min_margin` half-widths, from the spread measured at `seeds`:
    the interval's half-width h shrinks as 1/sqrt(n) while the estimate stays (1 + m) h from the bound that
    decides, so n' = n ((1 + min_margin) / (1 + m))^2 (the t quantile's fall with n ignored, so it errs high).
    None when the estimate sits on the undecided side of the bound (m <= -1): no number of seeds is implied."""
    if margin_halfwidths is None or not math.isfinite(margin_halfwidths) or margin_halfwidths <= -1:
        return None
    return max(seeds, math.ceil(seeds * ((1 + min_margin) / (1 + margin_halfwidths)) ** 2))


def seeds_to_decide(verdict: Verdict, seeds: int, min_margin: float) -> int | None:
    """seeds_needed for a verdict: from its interval's distance from the bound, to the larger of `min_margin`
    and the minimum the verdict is held to (sgdcheck.stats.at_margin)."""
    distance, held = distance_halfwidths(verdict)
    return seeds_needed(distance, seeds, max(min_margin, held))


def summary(looks: list[dict], design: dict, stop: str) -> str:
    """'decided at look 2 of 3, 10 seeds' and the like, for the reports."""
    if not looks:
        return ""
    last = looks[-1]
    planned = design.get("looks", len(looks))
    text = f"look {last['look']} of {planned}, {last['seeds']} seeds"
    if stop == "decided":
        return f"decided at {text}"
    if stop in ("fixed design", "exact", "fixed seeds") and len(looks) == 1:
        return f"{last['seeds']} seeds, one look ({STOPS[stop]})"
    return f"{STOPS.get(stop, stop)} at {text}"
