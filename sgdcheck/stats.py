"""Statistics that turn samples into a verdict: intervals, rules, preconditions.

Verdicts are ``replicated`` (the evidence supports the prediction at the stated confidence),
``refuted`` (it contradicts it) and ``inconclusive`` (it does neither, or a precondition such as
convergence failed). Every rule returns a :class:`Verdict` that holds its numbers as data (the
estimate, the interval and its method, the predicted range, the margin to the nearest verdict change)
and a reason that states them. The error rates of the rules are measured by simulation in
sgdcheck.error_rates.
"""
from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Sequence

import numpy as np
from scipy import stats as sps

from .errors import InvalidArgumentError

REPLICATED, REFUTED, INCONCLUSIVE = "replicated", "refuted", "inconclusive"
VERDICTS = (REPLICATED, REFUTED, INCONCLUSIVE)
CLAIMED_EFFECTS = ("greater", "less", "none")
_ALPHA_SHARE = contextvars.ContextVar("sgdcheck_alpha_share", default=1.0)


@contextlib.contextmanager
def alpha_share(share: float):
    """Every interval built inside is built at 1 - (1 - c) * share for the confidence c it is asked for: the
    share of the error rate one look of a sequential design may spend (sgdcheck.looks: Bonferroni over the
    looks, share = 1/K for K planned looks). A rule asked for 95% at share 1/3 decides on a 98.33% interval;
    its verdict keeps the level it was asked for, so a family-wise correction (:func:`combine`) divides what
    is left again, once."""
    if not (np.isfinite(share) and 0 < share <= 1):
        raise InvalidArgumentError(f"the share of the error rate must be in (0, 1], got {share!r}")
    token = _ALPHA_SHARE.set(float(share))
    try:
        yield share
    finally:
        _ALPHA_SHARE.reset(token)


def spent(confidence: float) -> float:
    """The confidence an interval asked for at `confidence` is built at under the current :func:`alpha_share`."""
    return 1 - (1 - confidence) * _ALPHA_SHARE.get()


@dataclass(frozen=True)
class Interval:
    """A two-sided confidence interval around an estimate, with the method that made it.

    ``at_level`` recomputes the same interval at another confidence (set by every interval function of this
    module); a rule needs it to correct the interval for a family of parts (:func:`combine`). An interval of
    confidence 1 is exact and needs no correction.
    """

    estimate: float
    low: float
    high: float
    confidence: float
    method: str
    at_level: Callable[[float], "Interval"] | None = field(default=None, compare=False, repr=False)
    nominal: float | None = field(default=None, compare=False)

    @property
    def asked(self) -> float:
        """The confidence the interval was asked for (before a sequential design's share; see alpha_share)."""
        return self.confidence if self.nominal is None else self.nominal

    @property
    def half_width(self) -> float:
        """Half the interval's width: the unit in which margins are stated."""
        return (self.high - self.low) / 2

    @property
    def exact(self) -> bool:
        """Whether the value is known exactly (confidence 1: a computed number, not a sample's estimate)."""
        return self.confidence >= 1

    @property
    def finite(self) -> bool:
        """Whether the estimate and both ends are finite numbers (a NaN or an infinity decides nothing)."""
        return all(np.isfinite(v) for v in (self.estimate, self.low, self.high))

    def at(self, confidence: float) -> "Interval":
        """The same interval asked for at another confidence (built at its share under alpha_share)."""
        if self.exact:
            return self
        if self.at_level is None:
            raise InvalidArgumentError(
                f"the interval '{self.method}' cannot be recomputed at another confidence: build it with a function "
                f"of sgdcheck.stats (mean_interval, binomial_interval, slope_interval, correlation_interval) or give "
                f"Interval(at_level=...)")
        return self.at_level(confidence)

    def __str__(self) -> str:
        return (f"{_fmt(self.estimate)} [{_fmt(self.low)}, {_fmt(self.high)}] "
                f"({self.confidence:.0%} {self.method})")

    def as_dict(self) -> dict:
        """The interval as the report's JSON stores it (the nominal confidence too when a rule widened it)."""
        data = {"estimate": self.estimate, "low": self.low, "high": self.high,
                "confidence": self.confidence, "method": self.method}
        if self.nominal is not None and self.nominal != self.confidence:
            data["asked"] = self.nominal
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Interval":
        return cls(*(number(data[k]) for k in ("estimate", "low", "high", "confidence")), data.get("method", ""),
                   nominal=number(data.get("asked")))


@dataclass(frozen=True)
class Verdict:
    """A verdict with the numbers that decided it.

    ``margin`` is how far the verdict is from changing, in the quantity's own units: for a decided verdict the
    distance from the interval to the nearest bound that would change it (> 0); for an inconclusive one minus
    the distance the nearest straddled bound sits inside the interval (< 0: how far the interval must move to
    decide). ``margin_halfwidths`` is the same in half-widths of the interval. A combined verdict keeps its
    parts. ``retest`` recomputes a statistical verdict at another confidence (for family-wise corrections).
    ``held_to`` is the minimum margin (half-widths) that :func:`at_margin` held an undecided verdict to: its
    margin is then the margin it lacks, and the interval's distance from the bound is margin + held_to.
    """

    verdict: str
    reason: str
    rule: str = ""
    what: str = ""
    interval: Interval | None = None
    predicted: tuple | None = None                # (low, high); None on an open side
    margin: float | None = None
    margin_halfwidths: float | None = None
    parts: tuple = ()
    correction: str = ""
    level: float | None = None
    retest: Callable[[float], "Verdict"] | None = field(default=None, compare=False, repr=False)
    uncorrected: "Verdict | None" = field(default=None, compare=False, repr=False)
    held_to: float | None = None

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise InvalidArgumentError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")

    def as_dict(self) -> dict:
        """The verdict, its reason and the numbers that decided it, as the report's JSON stores them."""
        data = {"verdict": self.verdict, "reason": self.reason}
        if self.rule:
            data["rule"] = self.rule
        if self.what:
            data["what"] = self.what
        if self.interval is not None:
            data["estimate"] = self.interval.estimate
            data["interval"] = self.interval.as_dict()
        if self.predicted is not None:
            data["predicted"] = {"low": self.predicted[0], "high": self.predicted[1]}
        if self.margin is not None:
            data["margin"] = self.margin
        if self.margin_halfwidths is not None:
            data["margin_halfwidths"] = self.margin_halfwidths
        if self.correction:
            data["correction"] = self.correction
        if self.level is not None:
            data["level"] = self.level
        if self.held_to is not None:
            data["held_to"] = self.held_to
        if self.parts:
            data["parts"] = [p.as_dict() for p in self.parts]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Verdict":
        """A verdict read back from a report (without retest); numbers written as text ("inf") read as numbers."""
        interval = data.get("interval")
        predicted = data.get("predicted")
        return cls(data["verdict"], data.get("reason", ""), data.get("rule", ""), data.get("what", ""),
                   Interval.from_dict(interval) if interval else None,
                   (number(predicted["low"]), number(predicted["high"])) if predicted else None,
                   number(data.get("margin")), number(data.get("margin_halfwidths")),
                   tuple(cls.from_dict(p) for p in data.get("parts", ())), data.get("correction", ""),
                   number(data.get("level")), held_to=number(data.get("held_to")))


def number(value):
    """A number read back from JSON, where non-finite floats are written as text ("inf", "-inf", "nan"); None
    stays None."""
    if value is None or isinstance(value, (int, float)):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"expected a number, got {value!r}") from None


def _finite(*values) -> bool:
    """Whether every value is a finite real number (None, for an open side, counts as finite)."""
    try:
        return all(v is None or np.isfinite(float(v)) for v in values)
    except (TypeError, ValueError):
        return False


def _fmt(x: float) -> str:
    try:
        return f"{x:.4g}" if np.isfinite(x) else str(x)
    except TypeError:
        return repr(x)


def _samples(values: Iterable[float], least: int = 2) -> np.ndarray:
    array = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, float).ravel()
    if array.size < least:
        raise InvalidArgumentError(f"need at least {least} samples for an interval, got {array.size}")
    if not np.all(np.isfinite(array)):
        raise InvalidArgumentError("samples contain NaN or infinity; gate them with a precondition")
    return array


def _check_confidence(confidence: float) -> None:
    if not (np.isfinite(confidence) and 0 < confidence < 1):
        raise InvalidArgumentError(f"confidence must be in (0, 1), got {confidence!r}")


INTERVAL_METHODS = ("t", "bca")


def mean_interval(values, confidence: float = 0.95, seed: int = 0, method: str = "t") -> Interval:
    """Interval for the mean: Student t (the rules' default), or a BCa bootstrap (method="bca").

    The rules use Student t at every sample size: simulated at the boundary of a prediction
    (sgdcheck.error_rates, docs/error-rates.md) its one-sided error on normal data stays at its nominal
    2.5% from n = 3 to 30, while BCa's reaches 5-5.6% at n = 10 (the bootstrap distribution of 10 values
    is too coarse). On strongly skewed per-seed values (skewness 1.4) both drift to 5-8% on one side.
    """
    if method not in INTERVAL_METHODS:
        raise InvalidArgumentError(f"method must be one of {INTERVAL_METHODS}, got {method!r}")
    _check_confidence(confidence)
    asked, confidence = confidence, spent(confidence)
    x = _samples(values)
    mean = float(x.mean())
    again = lambda level: mean_interval(x, level, seed, method)
    if np.ptp(x) == 0:
        return Interval(mean, mean, mean, confidence, "all samples equal", again, asked)
    if method == "t":
        half = sps.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
        return Interval(mean, mean - half, mean + half, confidence, f"Student t, n={x.size}", again, asked)
    result = sps.bootstrap((x,), np.mean, confidence_level=confidence, method="BCa",
                           n_resamples=4999, rng=np.random.default_rng(seed))
    low, high = result.confidence_interval
    name = f"BCa bootstrap, n={x.size}"
    if not (np.isfinite(low) and np.isfinite(high)):
        low, high = np.quantile(result.bootstrap_distribution, [(1 - confidence) / 2, (1 + confidence) / 2])
        name = f"percentile bootstrap, n={x.size}"
    return Interval(mean, float(low), float(high), confidence, name, again, asked)


def binomial_interval(successes: int, trials: int, confidence: float = 0.95) -> Interval:
    """Exact (Clopper-Pearson) interval for a proportion."""
    if not _finite(successes, trials) or trials < 1 or not 0 <= successes <= trials or int(successes) != successes:
        raise InvalidArgumentError(f"need 0 <= successes <= trials and trials >= 1, got {successes}/{trials}")
    _check_confidence(confidence)
    asked, confidence = confidence, spent(confidence)
    successes, trials = int(successes), int(trials)
    ci = sps.binomtest(successes, trials).proportion_ci(confidence, method="exact")
    return Interval(successes / trials, float(ci.low), float(ci.high), confidence,
                    f"exact binomial, {successes}/{trials}", lambda level: binomial_interval(successes, trials, level),
                    asked)


def slope_interval(x, y, confidence: float = 0.95, loglog: bool = False) -> Interval:
    """The least-squares slope of y on x (of log y on log x with loglog) with its Student t interval on n - 2
    degrees of freedom (the exact interval under normal errors)."""
    _check_confidence(confidence)
    x, y = np.asarray(x, float).ravel(), np.asarray(y, float).ravel()
    if x.size != y.size or x.size < 3:
        raise InvalidArgumentError(f"a slope interval needs at least 3 (x, y) pairs of equal length, got "
                                   f"{x.size} and {y.size}")
    if loglog:
        if np.any(x <= 0) or np.any(y <= 0):
            raise InvalidArgumentError("a log-log slope needs positive x and y")
        x, y = np.log(x), np.log(y)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise InvalidArgumentError("x or y contain NaN or infinity; gate them with a precondition")
    fit = sps.linregress(x, y)
    asked, confidence = confidence, spent(confidence)
    half = sps.t.ppf(0.5 + confidence / 2, x.size - 2) * fit.stderr
    return Interval(float(fit.slope), float(fit.slope - half), float(fit.slope + half), confidence,
                    f"least squares{' (log-log)' if loglog else ''}, Student t with {x.size - 2} df",
                    lambda level: slope_interval(x, y, level), asked)


def correlation_interval(x, y, confidence: float = 0.95) -> Interval:
    """Pearson's r with its Fisher-z interval (normal on arctanh r with variance 1/(n - 3))."""
    _check_confidence(confidence)
    x, y = np.asarray(x, float).ravel(), np.asarray(y, float).ravel()
    if x.size != y.size or x.size < 4:
        raise InvalidArgumentError(f"a correlation interval needs at least 4 (x, y) pairs of equal length, got "
                                   f"{x.size} and {y.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise InvalidArgumentError("x or y contain NaN or infinity; gate them with a precondition")
    r = float(np.corrcoef(x, y)[0, 1])
    asked, confidence = confidence, spent(confidence)
    half = sps.norm.ppf(0.5 + confidence / 2) / np.sqrt(x.size - 3)
    z = np.arctanh(np.clip(r, -0.999999, 0.999999))
    return Interval(r, float(np.tanh(z - half)), float(np.tanh(z + half)), confidence, f"Fisher z, n={x.size}",
                    lambda level: correlation_interval(x, y, level), asked)


def correlation_difference_interval(x1, y1, x2, y2, confidence: float = 0.95) -> Interval:
    """r1 - r2 for Pearson's r of two independent samples (x1, y1) and (x2, y2), with Zou's interval: the
    difference's limits from each r's own Fisher-z limits (Zou 2007, "Toward using confidence intervals to
    compare correlations", Psychological Methods 12, eq. 15), which, unlike a normal interval on r1 - r2,
    keeps the asymmetry of each r near +-1."""
    first, second = correlation_interval(x1, y1, confidence), correlation_interval(x2, y2, confidence)
    r1, l1, u1 = first.estimate, first.low, first.high
    r2, l2, u2 = second.estimate, second.low, second.high
    d = r1 - r2
    low = d - np.sqrt((r1 - l1) ** 2 + (u2 - r2) ** 2)
    high = d + np.sqrt((u1 - r1) ** 2 + (r2 - l2) ** 2)
    return Interval(float(d), float(low), float(high), first.confidence,
                    f"Zou's interval from two Fisher-z intervals, n={np.size(x1)} and {np.size(x2)}",
                    lambda level: correlation_difference_interval(x1, y1, x2, y2, level), confidence)


def within_group_correlation(x, y, groups, confidence: float = 0.95) -> Interval:
    """Pearson's r of x and y after each group's mean is taken out of both (the pooled within-group
    correlation), with its Fisher-z interval on the degrees of freedom the group means leave: variance
    1/(n - g - 2) for n pairs in g groups (the partial correlation given the group indicators). A correlation
    that lives only between groups is 0 here."""
    _check_confidence(confidence)
    x, y, groups = np.asarray(x, float).ravel(), np.asarray(y, float).ravel(), np.asarray(groups).ravel()
    if not (x.size == y.size == groups.size):
        raise InvalidArgumentError(f"x, y and groups must have equal lengths, got {x.size}, {y.size}, {groups.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise InvalidArgumentError("x or y contain NaN or infinity; gate them with a precondition")
    labels = np.unique(groups)
    if x.size - labels.size < 3:
        raise InvalidArgumentError(f"a within-group correlation interval needs at least 3 pairs more than groups, "
                                   f"got {x.size} pairs in {labels.size} groups")
    dx, dy = x.copy(), y.copy()
    for label in labels:
        members = groups == label
        dx[members] -= dx[members].mean()
        dy[members] -= dy[members].mean()
    if not (np.any(dx) and np.any(dy)):
        raise InvalidArgumentError("x or y does not vary within any group: no within-group correlation")
    r = float(np.sum(dx * dy) / np.sqrt(np.sum(dx**2) * np.sum(dy**2)))
    asked, confidence = confidence, spent(confidence)
    half = sps.norm.ppf(0.5 + confidence / 2) / np.sqrt(x.size - labels.size - 2)
    z = np.arctanh(np.clip(r, -0.999999, 0.999999))
    return Interval(r, float(np.tanh(z - half)), float(np.tanh(z + half)), confidence,
                    f"Fisher z, n={x.size} in {labels.size} groups",
                    lambda level: within_group_correlation(x, y, groups, level), asked)


def _in_halfwidths(margin: float, interval: Interval) -> float:
    if interval.half_width > 0:
        return margin / interval.half_width
    return 0.0 if margin == 0 else (np.inf if margin > 0 else -np.inf)


def _undecided(reason: str, rule: str, what: str, level: float | None = None) -> Verdict:
    return Verdict(INCONCLUSIVE, reason, rule, what, level=level)


def _shift_inside(low: float, high: float, lo: float, hi: float) -> float:
    """How far [low, high] must move to lie inside [lo, hi] (infinite when it is wider)."""
    if high - low > hi - lo:
        return np.inf
    return max(lo - low, high - hi, 0.0)


def compare(interval: Interval, low: float | None = None, high: float | None = None,
            what: str = "value", rule: str = "compare") -> Verdict:
    """Replicated if the interval lies inside [low, high], refuted if it lies outside, else inconclusive.

    The margin is how far the interval can move before the verdict changes; when it is inconclusive, minus how
    far it must move to decide either way. A non-finite interval or bound is inconclusive, with the reason.
    A statistical interval (confidence < 1) carries a retest at another confidence for :func:`combine`.
    """
    if low is None and high is None:
        raise InvalidArgumentError("compare needs a low or a high bound")
    level = None if interval.exact else interval.asked
    if (low is not None and (np.isnan(low) or low == np.inf)) or (high is not None and (np.isnan(high) or high == -np.inf)):
        return _undecided(f"{what}: the predicted bound is not a number ([{_fmt(low)}, {_fmt(high)}])", rule, what,
                          level)
    if not interval.finite:
        return _undecided(f"{what}: the interval is not finite ({interval}); a fit or a run failed", rule, what, level)
    lo = -np.inf if low is None else low
    hi = np.inf if high is None else high
    target = (f"in [{_fmt(lo)}, {_fmt(hi)}]" if low is not None and high is not None
              else f">= {_fmt(lo)}" if low is not None else f"<= {_fmt(hi)}")
    text = f"{what} {interval}, predicted {target}"
    if lo <= interval.low and interval.high <= hi:
        verdict, margin = REPLICATED, min(interval.low - lo, hi - interval.high)
    elif interval.high < lo or interval.low > hi:
        verdict, margin = REFUTED, max(lo - interval.high, interval.low - hi)
    else:
        verdict = INCONCLUSIVE
        margin = -min(_shift_inside(interval.low, interval.high, lo, hi), interval.high - lo, hi - interval.low)
        text += ": the interval straddles the bound"
    retest = None
    if not interval.exact and interval.at_level is not None:
        retest = lambda c: compare(interval.at(c), low, high, what, rule)
    return Verdict(verdict, text, rule, what, interval, (low, high), float(margin),
                   float(_in_halfwidths(margin, interval)), level=level, retest=retest)


def _mean_rule(values, low, high, confidence: float, what: str, rule: str) -> Verdict:
    """compare() on the mean's interval; too few or non-finite samples (diverged runs) are inconclusive."""
    try:
        interval = mean_interval(values, confidence)
    except InvalidArgumentError as error:
        return _undecided(f"{what}: {error}", rule, what, confidence)
    verdict = compare(interval, low, high, what, rule)
    return replace(verdict, level=confidence,
                   retest=lambda c: replace(_mean_rule(values, low, high, c, what, rule), level=confidence))


def within(values, low: float, high: float, confidence: float = 0.95, what: str = "mean") -> Verdict:
    """Replicated when the mean's Student t interval at `confidence` lies inside [low, high], refuted when it
    lies outside, else inconclusive (also on fewer than two or non-finite values, or a bound that is NaN)."""
    return _mean_rule(values, low, high, confidence, what, "within")


def at_most(values, bound: float, confidence: float = 0.95, what: str = "mean") -> Verdict:
    """Replicated when the mean's Student t interval lies at or below `bound`, refuted when it lies above it.
    A one-sided claim judged on the two-sided interval: each false verdict has probability <= (1 - c)/2 at
    the bound (docs/error-rates.md)."""
    return _mean_rule(values, None, bound, confidence, what, "at_most")


def at_least(values, bound: float, confidence: float = 0.95, what: str = "mean") -> Verdict:
    """The mirror image of :func:`at_most`: the mean's interval at or above `bound`."""
    return _mean_rule(values, bound, None, confidence, what, "at_least")


def effect(values, smallest: float, claimed: str, confidence: float = 0.95, what: str = "effect") -> Verdict:
    """A comparative claim about a difference (paired per seed, or a log ratio) with the smallest effect that
    counts, `smallest` > 0, stated by the claim (from the paper where it says so).

    claimed = "greater" ("better", "flatter"): replicated when the interval lies above 0 and is not inside
    [-smallest, smallest]; refuted when it lies below `smallest` (no effect of the claimed size, or one of the
    other sign); inconclusive when it holds both 0 and `smallest`. "less" is the mirror image. claimed = "none"
    ("no difference"): replicated when the interval lies inside [-smallest, smallest] (equivalence, as in
    TOST); refuted when it excludes 0 (at confidence 1 - (1 - c)/2, one half for each direction) and reaches
    beyond the band; else inconclusive.

    The false verdicts are bounded where the claim is clearly true or clearly false: for "greater", a true
    effect >= smallest is refuted, and a true effect <= 0 is replicated, each with probability <= (1 - c)/2;
    for "none", a true effect of 0 is refuted, and one of size >= smallest is replicated, each with
    probability <= (1 - c)/2. Effects between 0 and `smallest` are below what the claim is
    about; either verdict may come out there, and with more seeds the interval settles it (Lakens, Scheel &
    Isager 2018, equivalence and minimum-effect testing).

    The margin is how far the interval can move before the verdict changes (for a refuted "none", before it
    either holds 0 or no longer reaches beyond the band); undecided, minus how far it must move to decide.
    """
    if claimed not in CLAIMED_EFFECTS:
        raise InvalidArgumentError(f"claimed must be one of {CLAIMED_EFFECTS}, got {claimed!r}")
    rule = f"effect ({claimed}, smallest {_fmt(smallest)})"
    if not _finite(smallest):
        return _undecided(f"{what}: the smallest effect that counts is not a number ({_fmt(smallest)})", rule, what,
                          confidence)
    if not smallest > 0:
        raise InvalidArgumentError(f"the smallest effect that counts must be a number > 0, got {smallest!r}")
    try:
        interval = mean_interval(values, confidence)
    except InvalidArgumentError as error:
        return _undecided(f"{what}: {error}", rule, what, confidence)
    retest = lambda level: replace(effect(values, smallest, claimed, level, what), level=confidence)
    d = smallest
    if claimed == "none":
        lo, hi = interval.low, interval.high
        # a difference may show in either direction: its interval is taken at 1 - (1 - c)/2 (Bonferroni over
        # the two directions), so that a true effect of 0 is refuted with probability <= (1 - c)/2
        two_sided = mean_interval(values, 1 - (1 - confidence) / 2)
        wide_lo, wide_hi = two_sided.low, two_sided.high
        if -d < lo and hi < d:
            verdict, margin, why = REPLICATED, min(lo + d, d - hi), f"inside +-{_fmt(d)}: no difference of that size"
        elif (wide_lo > 0 and wide_hi >= d) or (wide_hi < 0 and wide_lo <= -d):
            interval = two_sided
            # it stays refuted while it excludes 0 and reaches beyond the band (and is not inside the band)
            margin = min(min(wide_lo, wide_hi - d) if wide_lo > 0 else min(-wide_hi, -d - wide_lo),
                         _shift_inside(lo, hi, -d, d))
            verdict = REFUTED
            why = f"a difference (at {two_sided.confidence:.1%}, either direction), reaching beyond +-{_fmt(d)}"
        else:
            verdict, why = INCONCLUSIVE, f"neither inside +-{_fmt(d)} nor clear of 0 and beyond it"
            margin = -min(_shift_inside(lo, hi, -d, d), max(-wide_lo, d - wide_hi), max(wide_hi, d + wide_lo))
        predicted = (-d, d)
    else:
        sign = 1.0 if claimed == "greater" else -1.0
        lo, hi = sorted((sign * interval.low, sign * interval.high))   # in the claimed direction
        if lo > 0 and hi >= d:
            verdict, margin, why = REPLICATED, min(lo, hi - d), f"{claimed} than 0 and not inside +-{_fmt(d)}"
        elif hi < d:
            verdict, margin, why = REFUTED, d - hi, f"below the smallest effect that counts ({_fmt(d)})"
        else:
            verdict, margin, why = INCONCLUSIVE, -min(-lo, hi - d), f"holds both 0 and {_fmt(sign * d)}"
        predicted = (d, None) if claimed == "greater" else (None, -d)
    text = f"{what} {interval}, claimed {claimed}, smallest effect that counts {_fmt(d)}: {why}"
    return Verdict(verdict, text, rule, what, interval, predicted, float(margin),
                   float(_in_halfwidths(margin, interval)), level=confidence, retest=retest)


def proportion(successes: int, trials: int, low: float | None = None, high: float | None = None,
               confidence: float = 0.95, what: str = "proportion") -> Verdict:
    """compare() on the exact (Clopper-Pearson) interval of successes / trials; counts that are not whole
    finite numbers are inconclusive, with the reason."""
    try:
        interval = binomial_interval(successes, trials, confidence)
    except InvalidArgumentError as error:
        return _undecided(f"{what}: {error}", "proportion", what, confidence)
    verdict = compare(interval, low, high, what, "proportion")
    return replace(verdict, level=confidence,
                   retest=lambda c: replace(proportion(successes, trials, low, high, c, what), level=confidence))


def holds_for_all(examples: int, counterexample=None, what: str = "statement") -> Verdict:
    """A universal statement: one counterexample refutes it; none in N examples replicates it.

    With no failure in N independent examples the failure rate is below 3/N at 95% (rule of three). A count
    that is not a finite number (NaN from an empty computation) is inconclusive.
    """
    if counterexample is not None:
        return Verdict(REFUTED, f"{what} fails on a counterexample: {counterexample}", "holds_for_all", what)
    if not _finite(examples):
        return _undecided(f"{what}: the number of examples is not a number ({examples!r})", "holds_for_all", what)
    if examples < 1:
        return _undecided(f"{what} was tried on no example", "holds_for_all", what)
    return Verdict(REPLICATED, f"{what} held on all {examples} examples "
                               f"(failure rate < {3 / examples:.2g} at 95%)", "holds_for_all", what)


def equals(measured: float, predicted: float, rtol: float = 0.0, atol: float = 0.0,
           what: str = "value") -> Verdict:
    """A deterministic quantity against its prediction; the margin is the tolerance left (or exceeded). A
    measured value, prediction or tolerance that is not finite is inconclusive, with the reason."""
    if not _finite(measured, predicted, rtol, atol):
        return _undecided(f"{what} {_fmt(measured)} vs predicted {_fmt(predicted)} (rtol {_fmt(rtol)}, "
                          f"atol {_fmt(atol)}): not finite", "equals", what)
    tolerance = atol + rtol * abs(predicted)
    text = f"{what} {_fmt(measured)} vs predicted {_fmt(predicted)} (tolerance {_fmt(tolerance)})"
    error = abs(measured - predicted)
    verdict = REPLICATED if error <= tolerance else REFUTED
    estimate = Interval(float(measured), float(measured), float(measured), 1.0, "exact")
    return Verdict(verdict, text, "equals", what, estimate, (predicted - tolerance, predicted + tolerance),
                   float(abs(tolerance - error)))


def precondition(ok: bool, reason: str) -> Verdict | None:
    """None when the precondition holds, else an inconclusive verdict saying which one failed."""
    return None if ok else Verdict(INCONCLUSIVE, f"precondition failed: {reason}", "precondition")


def _leaves(verdicts) -> list[Verdict]:
    """The parts of a combination, nested combinations flattened into one family."""
    out = []
    for v in verdicts:
        if v is None:
            continue
        out.extend(_leaves(v.parts) if v.rule == "combine" and v.parts else [v])
    return out


def _statistical(part: Verdict) -> bool:
    """Whether a part rests on a confidence interval (and so belongs to the family that is corrected)."""
    return part.level is not None or (part.interval is not None and not part.interval.exact)


def combine(verdicts: Sequence[Verdict | None], preconditions: Sequence[Verdict | None] = (), *,
            correct: bool = True) -> Verdict:
    """All parts must replicate: a failed precondition or any inconclusive part is inconclusive; a refuted
    part refutes only if it stays refuted at the family-wise level.

    Replication needs every part replicated (an intersection-union test: no correction is needed for it to
    keep its level). Refutation needs only one part, so with k statistical parts each refutation is checked
    again at confidence 1 - (1 - c)/k, c the level the part's rule was asked for (Bonferroni; for 'is any
    part refuted' Holm's first step is the same test), which keeps the chance of a false refutation of the
    whole at most that of one part. Nested combinations are flattened into one family and every part is
    corrected once, from its own data. Exact parts (holds, equals, counterexamples) need no correction; a
    statistical part that cannot be recomputed at another level (an Interval made by hand) is an error.
    correct=False combines verdicts read back from a report, which carry no data to retest (the cases of a
    claim; their family-wise error is measured in docs/error-rates.md).
    """
    failed = [p for p in preconditions if p is not None]
    if failed:
        return Verdict(INCONCLUSIVE, "; ".join(p.reason for p in failed), "combine", parts=tuple(failed))
    parts = [p.uncorrected or p for p in _leaves(verdicts)]
    if not parts:
        raise InvalidArgumentError("combine needs at least one verdict")
    statistical = [p for p in parts if _statistical(p)]
    k = len(statistical) if correct else 0
    if k > 1:
        blind = [p for p in statistical if p.retest is None and p.interval is not None]
        if blind:
            raise InvalidArgumentError(
                f"combine: the part '{blind[0].what or blind[0].reason}' rests on an interval ({blind[0].interval.method}) "
                f"that cannot be recomputed at the family-wise level; build it with a function of sgdcheck.stats "
                f"(mean_interval, binomial_interval, slope_interval, correlation_interval) or give Interval(at_level=...)")
    correction = ""
    if k > 1 and any(p.verdict == REFUTED and p.retest is not None for p in parts):
        correction = f"Bonferroni over {k} parts"
        parts = [_corrected(p, k) if p.verdict == REFUTED and p.retest is not None else p for p in parts]
    refuted = [p for p in parts if p.verdict == REFUTED]
    undecided = [p for p in parts if p.verdict == INCONCLUSIVE]
    if refuted:
        verdict, deciding = REFUTED, refuted
        pick = max            # the most decisive refutation
    elif undecided:
        verdict, deciding, pick = INCONCLUSIVE, undecided, max
    else:
        verdict, deciding, pick = REPLICATED, parts, min   # the part nearest to flipping
    reason = "; ".join(p.reason for p in deciding)
    if correction and verdict != REPLICATED:
        reason += f" ({correction})"
    return decided_by(verdict, reason, "combine", deciding, pick, tuple(parts), correction)


def _corrected(part: Verdict, k: int) -> Verdict:
    """A refuted part retested at the family-wise level 1 - (1 - c)/k, from its own data; it remembers the
    uncorrected part, so that a combination nested in another is corrected once, for the whole family."""
    level = part.level if part.level is not None else part.interval.asked
    return replace(part.retest(1 - (1 - level) / k), level=level, retest=part.retest, uncorrected=part)


def decided_by(verdict: str, reason: str, rule: str, deciding, pick, parts, correction: str = "") -> Verdict:
    """A verdict of several parts that takes its numbers (what, interval, prediction, margin) from the deciding
    part that `pick` (min: the nearest to flipping; max: the most decisive) chooses by margin."""
    scored = [p for p in deciding if p.margin_halfwidths is not None and not np.isnan(p.margin_halfwidths)]
    key = pick(scored, key=lambda p: p.margin_halfwidths) if scored else None
    if key is None:
        return Verdict(verdict, reason, rule, parts=tuple(parts), correction=correction)
    return Verdict(verdict, reason, rule, key.what, key.interval, key.predicted, key.margin, key.margin_halfwidths,
                   tuple(parts), correction)


def at_margin(verdict: Verdict, minimum: float) -> Verdict:
    """A claim's final verdict, counted as decided only when its margin is at least `minimum` half-widths of the
    deciding interval. A verdict decided by less is inconclusive, keeping its numbers and parts, with the margin
    it lacks (negative) and the minimum in ``held_to`` (the sequential design asks the interval's own distance
    from the bound, margin + held_to, to reach it): a decision by a hair flips with another draw of the seeds or
    another CPU's float rounding. Apply it to the final verdict (a combination flattens the parts it is given)."""
    if not (np.isfinite(minimum) and minimum >= 0):
        raise InvalidArgumentError(f"the minimum margin must be a finite number >= 0 half-widths, got {minimum!r}")
    m = verdict.margin_halfwidths
    if verdict.verdict == INCONCLUSIVE or m is None or not np.isfinite(m) or m >= minimum:
        return verdict
    half = verdict.interval.half_width if verdict.interval is not None else float("nan")
    return replace(verdict, verdict=INCONCLUSIVE,
                   reason=f"{verdict.reason}; {verdict.verdict} by {m:+.2f} half-widths only, under the "
                          f"{minimum:g} that counts", rule=f"{verdict.rule}, at a margin of {minimum:g}",
                   margin=float((m - minimum) * half), margin_halfwidths=float(m - minimum), retest=None,
                   held_to=float(minimum))


def median_of_means(samples, blocks: int, axis: int = 0) -> np.ndarray:
    """The median over `blocks` equal blocks of the means along `axis`: an estimate of the mean whose error
    is not carried by a few extreme samples (Lugosi & Mendelson 2019, median-of-means). Samples that do not
    fill the last block are dropped."""
    x = np.moveaxis(np.asarray(samples, float), axis, 0)
    if not 1 <= blocks <= x.shape[0]:
        raise InvalidArgumentError(f"need 1 <= blocks <= {x.shape[0]} samples, got {blocks}")
    size = x.shape[0] // blocks
    return np.median(x[: size * blocks].reshape(blocks, size, *x.shape[1:]).mean(1), axis=0)


def fit_loglog_slope(x, y) -> tuple[float, float]:
    """Least-squares slope of log y on log x and its standard error (for an interval, use slope_interval)."""
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    result = sps.linregress(lx, ly)
    return float(result.slope), float(result.stderr)


def holds(condition: bool, what: str) -> Verdict:
    """A deterministic statement about exact quantities: replicated if it holds, refuted if not; a condition
    that is not a truth value (NaN, None) is inconclusive."""
    if not isinstance(condition, (bool, np.bool_)):
        if condition is None or not _finite(condition):
            return _undecided(f"{what}: the condition is not a truth value ({condition!r})", "holds", what)
        condition = bool(condition)
    return Verdict(REPLICATED if condition else REFUTED, f"{what}: {'holds' if condition else 'fails'}", "holds", what)
