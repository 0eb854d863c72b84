"""A claim test run look by look under its seed design (sgdcheck.looks): the part of the pytest plugin that decides
how many seeds a claim is judged on, and so the part of it that `sgdcheck-report stale` counts as a claim's code.
The rest of the plugin (options, progress, storage checks, the report's writing) changes what a session shows or
where it writes, not what a claim concludes.
"""
from __future__ import annotations

from typing import Callable

import pytest

from .errors import ClaimInconclusive, ClaimRefuted, EvidenceNotConcluded, NegativeControlFailed
from .evidence import Evidence, read_payload, replace_payload
from .looks import Look, decided_with_margin, design_for, seeds_to_decide, stop_reason
from .report import results
from .stats import INCONCLUSIVE, alpha_share

OUTCOMES = (ClaimRefuted, ClaimInconclusive, NegativeControlFailed)


def claim_design(config, module, scale_name: str):
    """The seed design of one claim: the command line's, else the claim module's (LOOKS, MAX_SEEDS, FIRST_LOOK:
    the first look's share of the claim's seed counts; each a number or a mapping of scale name to number), else
    the scale's (sgdcheck.looks)."""
    def declared(name):
        value = getattr(module, name, None)
        return value.get(scale_name) if isinstance(value, dict) else value

    return design_for(scale_name, sequential=config.getoption("seed_design") == "sequential",
                      looks=declared("LOOKS"), min_margin=config.getoption("min_margin"),
                      max_seeds=config.getoption("max_seeds") or declared("MAX_SEEDS"),
                      first_share=declared("FIRST_LOOK"))


def design_scale(config, module, scale):
    """The scale a claim's first look runs at: its design's share of every seed count."""
    return scale.with_first_share(claim_design(config, module, scale.name).seed_share)


def run_looks(item, on_skip: Callable[[object, BaseException], None]):
    """The body of the plugin's pytest_runtest_call wrapper (its caller delegates with `yield from`): run a claim
    test under its seed design, one look, or looks with twice the seeds until one decides with the minimum margin;
    the report keeps the last look's evidence with every look's verdict. A claim test that passes without
    concluding has decided nothing and reported nothing: it fails. `on_skip(item, skip)` is told when the first
    look skips (a scale the claim does not run at). A test without the evidence fixture runs as it is."""
    funcargs = getattr(item, "funcargs", {})
    evidence = funcargs.get("evidence")
    if not isinstance(evidence, Evidence):
        return (yield)
    module = getattr(item, "module", None)
    design = claim_design(item.config, module, evidence.scale.name)
    scale = design_scale(item.config, module, evidence.scale)
    if scale != evidence.scale:                    # the first look runs the design's share of the seeds
        item.funcargs["scale"] = scale
        item.funcargs["evidence"] = Evidence(item, scale, device="cpu")
    history, outcome, result, previous = [], None, None, None
    with alpha_share(design.share):
        try:
            result = yield
        except OUTCOMES as error:
            outcome = error
        except pytest.skip.Exception as skip:
            on_skip(item, skip)
            raise
        while True:
            evidence = item.funcargs["evidence"]
            if not evidence.concluded:
                raise EvidenceNotConcluded(
                    f"{item.nodeid} took the evidence fixture but returned without calling evidence.conclude(claim, "
                    f"verdict, negative_control=..., seeds=...): its verdict was never judged and nothing was "
                    f"reported")
            look = evidence.scale.look
            history.append(Look(look, len(evidence.seeds), evidence.verdict.verdict,
                                evidence.verdict.margin_halfwidths, evidence.control.verdict,
                                evidence.control.margin_halfwidths, design.level()))
            stop = stop_reason(design, look, evidence.verdict, evidence.control, len(evidence.seeds), previous)
            if stop is not None:
                break
            previous = len(evidence.seeds)
            item.funcargs["scale"] = scale.at_look(look + 1)
            item.funcargs["evidence"] = Evidence(item, item.funcargs["scale"], device="cpu")
            result, outcome = None, None
            try:
                item.runtest()
            except OUTCOMES as error:
                outcome = error
    _attach_looks(item, design, history, stop)
    if outcome is not None:
        raise outcome
    return result


def _attach_looks(item, design, history: list, stop: str) -> None:
    """The final look's evidence, with the design, every look and why it stopped, as the test's only payload."""
    payload = read_payload(item.user_properties)
    if payload is None:
        return
    last, evidence = history[-1], item.funcargs["evidence"]
    needed = None
    if stop in ("cap", "last look", "futile"):
        # what is still open: the claim short of the minimum margin, the control undecided (the design stops
        # once the control is decided at all); about as many seeds as the harder of the two needs
        pending = [(evidence.verdict, design.min_margin)] if not decided_with_margin(
            evidence.verdict, design.min_margin) else []
        if evidence.control.verdict == INCONCLUSIVE:
            pending.append((evidence.control, 0.0))
        counts = [seeds_to_decide(verdict, last.seeds, wanted) for verdict, wanted in pending]
        needed = max(counts) if counts and None not in counts else None
    payload["design"] = {**design.describe(), "stop": stop, "seeds_needed": needed}
    payload["looks"] = [look.as_dict() for look in history]
    payload["code"] = results.claim_code(item.function)           # what `sgdcheck-report stale` compares with the checkout
    replace_payload(item.user_properties, payload)
