"""The evidence of one claim test: what was measured, the verdict, the negative control.

A claim test records through the `evidence` fixture and ends with :meth:`Evidence.conclude`,
which attaches everything to the test's report (so it travels from pytest-xdist workers to the
controller) and then passes only if the claim replicated and its negative control was refuted.
"""
from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from .claim import Claim
from .errors import ClaimInconclusive, ClaimRefuted, InvalidArgumentError, NegativeControlFailed
from .jsonable import jsonable
from .quantity import non_numeric
from .scale import SCALE_NAMES
from .stats import INCONCLUSIVE, REFUTED, REPLICATED, Verdict

PROPERTY_KEY = "sgdcheck.evidence"


class Evidence:
    """What one test of a claim measured and concluded, for the report: the `evidence` fixture.

    A claim records its headline numbers (record: numbers or sgdcheck.shown quantities, keyed as in the
    claim's `paper` values), details for the JSON (detail: lands under cases[i].details), findings (sentences
    for the report), figures (figure), and ends with conclude(claim, verdict, negative_control=..., seeds=...),
    which attaches everything to the test report and passes or fails the test on the verdict. `scale` and
    `device` are the session's; a known refutation or inconclusive result comes from the test's xfail marker
    (known_refutation, known_inconclusive)."""

    def __init__(self, node, scale, device: str = "cpu"):
        self._node, self.scale, self.device = node, scale, device
        self.measured: dict[str, Any] = {}
        self.details: dict[str, Any] = {}
        self.findings: list[str] = []
        self.figures: dict[str, dict] = {}
        # the first known outcome declared for this scale: a claim may be known inconclusive at one scale and
        # known refuted at another (known_refutation, known_inconclusive with `scales`)
        marks = node.iter_markers("xfail") if node is not None else ()
        marker = next((m for m in marks if scale.name in m.kwargs.get("scales", (scale.name,))), None)
        expected = marker.kwargs.get("raises") if marker else None
        reason = marker.kwargs.get("reason", "") if marker else None
        self.known_refutation = reason if expected is ClaimRefuted else None
        self.known_inconclusive = reason if expected is ClaimInconclusive else None
        self.concluded = False
        self.verdict = self.control = self.seeds = None

    def record(self, **measured) -> None:
        """Headline measurements, shown next to the paper's values: numbers, lists or mappings of numbers,
        or a Quantity (`shown(value, text)`) where the report should show a sentence. Text that is not a
        number belongs in `detail` or `finding`."""
        for name, value in measured.items():
            problem = non_numeric(value)
            if problem:
                raise InvalidArgumentError(
                    f"evidence.record({name}=...) takes numbers so that runs can be compared; got {problem}. "
                    f"Wrap the number with its text as shown(value, text), or use evidence.detail for text")
        self.measured.update(jsonable(measured))

    def detail(self, **details) -> None:
        """Supporting data (per-seed values, counterexamples, intermediate quantities)."""
        self.details.update(jsonable(details))

    def finding(self, text: str) -> None:
        """Something the experiment showed beyond the verdict (a counterexample, a convention slip)."""
        self.findings.append(text)

    def figure(self, name: str, spec: dict) -> None:
        """Attach a figure to the report under `name`: a spec built with sgdcheck.figures (figure, panel, series;
        or sgdcheck.trajectories.trajectory_panel), rendered to PNG when the report is written."""
        self.figures[name] = spec

    def conclude(self, claim: Claim, verdict: Verdict, *, negative_control: tuple[str, Verdict],
                 seeds, case: str = "") -> Verdict:
        """Attach the evidence to the test report, then pass or fail the test on the verdict."""
        if self.concluded:
            raise InvalidArgumentError(f"{claim.id}: conclude() was called twice in one test")
        control_statement, control = negative_control
        entry = withheld(verdict, control_statement, control)
        from .runs import served_commits       # not at import: the plugin loads this module in every session
        from .sampling import used as used_samplings
        payload = {
            **claim.describe(),
            "case": case,
            "verdict": entry.verdict,
            "reason": entry.reason,
            "decision": jsonable(entry.as_dict()),
            "measured": self.measured,
            "details": self.details,
            "findings": self.findings,
            "figures": self.figures,
            "negative_control": {"statement": control_statement, "verdict": control.verdict,
                                 "reason": control.reason, "decision": jsonable(control.as_dict())},
            "scale": self.scale.name,
            "seed_offset": self.scale.seed_offset,
            "runs_computed_at": served_commits(),
            "sampling": used_samplings(),
            "seeds": jsonable(list(seeds)),
            "device": self.device,
            "known_refutation": self.known_refutation,
            "known_inconclusive": self.known_inconclusive,
            "test": self._node.nodeid if self._node is not None else "",
        }
        if self._node is not None:
            self._node.user_properties.append((PROPERTY_KEY, json.dumps(payload)))
        self.concluded = True
        self.verdict, self.control, self.seeds = verdict, control, list(seeds)
        if control.verdict == INCONCLUSIVE:
            # the seeds do not separate the claim from its rival, which says nothing against the control (a
            # control that replicated, the rival holding, fails below whatever the claim says)
            raise ClaimInconclusive(claim.id, INCONCLUSIVE, entry.reason)
        if control.verdict != REFUTED:
            raise NegativeControlFailed(claim.id, control.verdict,
                                        f"negative control '{control_statement}' was not refuted: {control.reason}")
        if verdict.verdict == REFUTED:
            raise ClaimRefuted(claim.id, REFUTED, verdict.reason)
        if verdict.verdict == INCONCLUSIVE:
            raise ClaimInconclusive(claim.id, INCONCLUSIVE, verdict.reason)
        assert verdict.verdict == REPLICATED
        return verdict


def withheld(verdict: Verdict, control_statement: str, control: Verdict) -> Verdict:
    """The verdict an entry reports: the claim's own, unless its negative control is undecided. A claim decided
    while its rival's prediction is neither excluded nor confirmed is inconclusive: the seeds do not yet tell the
    claim from the rival (a decided effect that may be smaller than the smallest that counts, say). Its margin is
    then the control's, how far that interval must move to decide; the claim's decision stays among its parts."""
    if control.verdict != INCONCLUSIVE:
        return verdict
    if verdict.verdict == INCONCLUSIVE:
        return replace(verdict, reason=f"{verdict.reason}; the negative control '{control_statement}' is undecided "
                                       f"too: {control.reason}")
    return Verdict(INCONCLUSIVE, f"the claim alone was {verdict.verdict} ({verdict.reason}), but its negative control "
                                 f"'{control_statement}' is undecided ({control.reason}): the seeds do not yet tell "
                                 f"the claim from its rival",
                   rule="negative control undecided", what=control.what, interval=control.interval,
                   predicted=control.predicted, margin=control.margin, margin_halfwidths=control.margin_halfwidths,
                   parts=(verdict,), level=control.level)


def _known(outcome, reason: str, scales, what: str):
    import pytest

    if not reason.strip():
        raise InvalidArgumentError(f"a known {what} must say why")
    if scales is None:
        return pytest.mark.xfail(raises=outcome, strict=True, reason=reason)
    scales = tuple(scales)
    unknown = [name for name in scales if name not in SCALE_NAMES]
    if not scales or unknown:
        raise InvalidArgumentError(f"a known {what} names scales among {SCALE_NAMES}, got {scales!r}")
    # pytest evaluates the condition (the --scale option) per test; `scales` tells the evidence the same
    return pytest.mark.xfail(f"config.getoption('scale') in {scales!r}", raises=outcome, strict=True,
                             reason=f"at {' and '.join(scales)} scale: {reason}", scales=scales)


def known_refutation(reason: str, scales=None):
    """Mark a claim the evidence contradicts: a strict xfail on ClaimRefuted only, so the suite stays
    green while the evidence says 'refuted' and fails the day it says anything else (replicated,
    inconclusive, or a negative control that was not refuted). `scales` limits the mark to some scales
    (a claim refuted at smoke size that runs, unmarked, at full)."""
    return _known(ClaimRefuted, reason, scales, "refutation")


def known_inconclusive(reason: str, scales=None):
    """Mark a claim the evidence at this scale cannot decide (an effect smaller than the seeds' spread): a
    strict xfail on ClaimInconclusive only, so the suite stays green while the evidence says
    'inconclusive' and fails the day it decides either way. `scales` limits the mark to some scales (an
    effect that smoke's seeds cannot resolve and full's can)."""
    return _known(ClaimInconclusive, reason, scales, "inconclusive claim")


def read_payload(user_properties) -> dict | None:
    """The evidence a claim test attached to its report, if any (the last look's, under a sequential design)."""
    found = None
    for key, value in user_properties or ():
        if key == PROPERTY_KEY:
            found = json.loads(value)
    return found


def replace_payload(user_properties: list, payload: dict) -> None:
    """Keep one evidence payload on a test report: `payload` (the final look's, with the looks before it)."""
    user_properties[:] = [(k, v) for k, v in user_properties if k != PROPERTY_KEY]
    user_properties.append((PROPERTY_KEY, json.dumps(payload)))
