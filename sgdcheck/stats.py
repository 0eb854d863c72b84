"""Statistics that turn samples into a verdict: intervals, rules, preconditions.

Verdicts are ``replicated`` (the evidence supports the prediction at the stated confidence),
``refuted`` (it contradicts it) and ``inconclusive`` (it does neither, or a precondition such as
convergence failed). Every rule returns a :class:`Verdict` whose reason states the numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
from scipy import stats as sps

from .errors import InvalidArgumentError

REPLICATED, REFUTED, INCONCLUSIVE = "replicated", "refuted", "inconclusive"
VERDICTS = (REPLICATED, REFUTED, INCONCLUSIVE)


@dataclass(frozen=True)
class Verdict:
    verdict: str
    reason: str

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise InvalidArgumentError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")

    def as_dict(self) -> dict:
        return {"verdict": self.verdict, "reason": self.reason}


@dataclass(frozen=True)
class Interval:
    """A two-sided confidence interval around an estimate."""

    estimate: float
    low: float
    high: float
    confidence: float
    method: str

    def __str__(self) -> str:
        return (f"{_fmt(self.estimate)} [{_fmt(self.low)}, {_fmt(self.high)}] "
                f"({self.confidence:.0%} {self.method})")

    def as_dict(self) -> dict:
        return {"estimate": self.estimate, "low": self.low, "high": self.high,
                "confidence": self.confidence, "method": self.method}


def _fmt(x: float) -> str:
    return f"{x:.4g}" if np.isfinite(x) else str(x)


def _samples(values: Iterable[float], least: int = 2) -> np.ndarray:
    array = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, float).ravel()
    if array.size < least:
        raise InvalidArgumentError(f"need at least {least} samples for an interval, got {array.size}")
    if not np.all(np.isfinite(array)):
        raise InvalidArgumentError("samples contain NaN or infinity; gate them with a precondition")
    return array


def mean_interval(values, confidence: float = 0.95, seed: int = 0) -> Interval:
    """Interval for the mean: BCa bootstrap from 10 samples on, Student t below (too few to resample)."""
    x = _samples(values)
    mean = float(x.mean())
    if np.ptp(x) == 0:
        return Interval(mean, mean, mean, confidence, "all samples equal")
    if x.size < 10:
        half = sps.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
        return Interval(mean, mean - half, mean + half, confidence, f"Student t, n={x.size}")
    result = sps.bootstrap((x,), np.mean, confidence_level=confidence, method="BCa",
                           n_resamples=4999, rng=np.random.default_rng(seed))
    low, high = result.confidence_interval
    method = f"BCa bootstrap, n={x.size}"
    if not (np.isfinite(low) and np.isfinite(high)):
        low, high = np.quantile(result.bootstrap_distribution, [(1 - confidence) / 2, (1 + confidence) / 2])
        method = f"percentile bootstrap, n={x.size}"
    return Interval(mean, float(low), float(high), confidence, method)


def binomial_interval(successes: int, trials: int, confidence: float = 0.95) -> Interval:
    """Exact (Clopper-Pearson) interval for a proportion."""
    if trials < 1 or not 0 <= successes <= trials:
        raise InvalidArgumentError(f"need 0 <= successes <= trials and trials >= 1, got {successes}/{trials}")
    ci = sps.binomtest(int(successes), int(trials)).proportion_ci(confidence, method="exact")
    return Interval(successes / trials, float(ci.low), float(ci.high), confidence,
                    f"exact binomial, {successes}/{trials}")


def compare(interval: Interval, low: float | None = None, high: float | None = None,
            what: str = "value") -> Verdict:
    """Replicated if the interval lies inside [low, high], refuted if it lies outside, else inconclusive."""
    if low is None and high is None:
        raise InvalidArgumentError("compare needs a low or a high bound")
    lo = -np.inf if low is None else low
    hi = np.inf if high is None else high
    target = (f"in [{_fmt(lo)}, {_fmt(hi)}]" if low is not None and high is not None
              else f">= {_fmt(lo)}" if low is not None else f"<= {_fmt(hi)}")
    text = f"{what} {interval}, predicted {target}"
    if lo <= interval.low and interval.high <= hi:
        return Verdict(REPLICATED, text)
    if interval.high < lo or interval.low > hi:
        return Verdict(REFUTED, text)
    return Verdict(INCONCLUSIVE, text + ": the interval straddles the bound")


def _mean_rule(values, low, high, confidence: float, what: str) -> Verdict:
    """compare() on the mean's interval; too few or non-finite samples (diverged runs) are inconclusive."""
    try:
        interval = mean_interval(values, confidence)
    except InvalidArgumentError as error:
        return Verdict(INCONCLUSIVE, f"{what}: {error}")
    return compare(interval, low, high, what)


def within(values, low: float, high: float, confidence: float = 0.95, what: str = "mean") -> Verdict:
    return _mean_rule(values, low, high, confidence, what)


def at_most(values, bound: float, confidence: float = 0.95, what: str = "mean") -> Verdict:
    return _mean_rule(values, None, bound, confidence, what)


def at_least(values, bound: float, confidence: float = 0.95, what: str = "mean") -> Verdict:
    return _mean_rule(values, bound, None, confidence, what)


def proportion(successes: int, trials: int, low: float | None = None, high: float | None = None,
               confidence: float = 0.95, what: str = "proportion") -> Verdict:
    return compare(binomial_interval(successes, trials, confidence), low, high, what)


def holds_for_all(examples: int, counterexample=None, what: str = "statement") -> Verdict:
    """A universal statement: one counterexample refutes it; none in N examples replicates it.

    With no failure in N independent examples the failure rate is below 3/N at 95% (rule of three).
    """
    if counterexample is not None:
        return Verdict(REFUTED, f"{what} fails on a counterexample: {counterexample}")
    if examples < 1:
        return Verdict(INCONCLUSIVE, f"{what} was tried on no example")
    return Verdict(REPLICATED, f"{what} held on all {examples} examples "
                               f"(failure rate < {3 / examples:.2g} at 95%)")


def equals(measured: float, predicted: float, rtol: float = 0.0, atol: float = 0.0,
           what: str = "value") -> Verdict:
    """A deterministic quantity against its prediction."""
    tolerance = atol + rtol * abs(predicted)
    text = f"{what} {_fmt(measured)} vs predicted {_fmt(predicted)} (tolerance {_fmt(tolerance)})"
    if not np.isfinite(measured):
        return Verdict(INCONCLUSIVE, text + ": not finite")
    return Verdict(REPLICATED if abs(measured - predicted) <= tolerance else REFUTED, text)


def precondition(ok: bool, reason: str) -> Verdict | None:
    """None when the precondition holds, else an inconclusive verdict saying which one failed."""
    return None if ok else Verdict(INCONCLUSIVE, f"precondition failed: {reason}")


def combine(verdicts: Sequence[Verdict | None], preconditions: Sequence[Verdict | None] = ()) -> Verdict:
    """All parts must replicate: a failed precondition or any inconclusive part is inconclusive,
    any refuted part (with its preconditions met) refutes."""
    failed = [p for p in preconditions if p is not None]
    if failed:
        return Verdict(INCONCLUSIVE, "; ".join(p.reason for p in failed))
    parts = [v for v in verdicts if v is not None]
    if not parts:
        raise InvalidArgumentError("combine needs at least one verdict")
    for kind in (REFUTED, INCONCLUSIVE):
        hit = [v.reason for v in parts if v.verdict == kind]
        if hit:
            return Verdict(kind, "; ".join(hit))
    return Verdict(REPLICATED, "; ".join(v.reason for v in parts))


def fit_loglog_slope(x, y) -> tuple[float, float]:
    """Least-squares slope of log y on log x and its standard error."""
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    result = sps.linregress(lx, ly)
    return float(result.slope), float(result.stderr)


def holds(condition: bool, what: str) -> Verdict:
    """A deterministic statement about exact quantities: replicated if it holds, refuted if not."""
    return Verdict(REPLICATED if condition else REFUTED, f"{what}: {'holds' if condition else 'fails'}")
