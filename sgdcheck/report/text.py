"""Short texts of report values, shared by the Markdown, the HTML, the diff and the terminal summary."""
from __future__ import annotations

import json
import math

from ..quantity import display
from ..sampling import SAMPLINGS
from ..stats import INCONCLUSIVE, REFUTED, REPLICATED
from .entries import measurements, paired

VERDICT_MARK = {REPLICATED: "✅ replicated", REFUTED: "❌ refuted", INCONCLUSIVE: "❔ inconclusive"}


def headline(entry: dict, side: str, limit: int = 110) -> str:
    """The summary-table text: 'quantity: value' for the paired quantities of one side."""
    pairs = paired(entry)
    if not pairs:
        return short(measurements(entry) if side == "measured" else entry["paper"], limit)
    if side == "paper":        # the paper's value once per quantity, however many cases measured it
        keys = [k for k in (entry["paper"] or {}) if any(p[0] == k or p[0].startswith(f"{k} [") for p in pairs)]
        return short("; ".join(f"{k}: {plain(entry['paper'][k])}" for k in keys), limit)
    return short("; ".join(f"{p[0]}: {plain(p[2])}" for p in pairs), limit)


def plain(value) -> str:
    """Text for a table cell: strings as they are, a quantity's text, numbers to 4 significant digits (the JSON
    keeps all)."""
    if isinstance(value, str):
        return value
    return display(value)


def short(value, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def margin_text(decision: dict | None) -> str:
    """'+2.3 hw' for a margin of 2.3 interval half-widths; '—' where the verdict has none (exact rules)."""
    if not decision or decision.get("margin_halfwidths") is None:
        return "—"
    value = decision["margin_halfwidths"]
    if isinstance(value, str):                       # "inf" as stored: an interval of zero width
        value = float(value)
    if math.isinf(value):
        return "exact" if value > 0 else "−exact"
    return f"{value:+.2g} hw"


def number(value) -> str:
    if value is None:
        return "open"
    return f"{value:.4g}" if isinstance(value, (int, float)) else str(value)


def decision_text(decision: dict) -> str:
    """'what: estimate [low, high] (method) against [bounds]; margin m (+h hw)' for a verdict with numbers."""
    interval, predicted = decision.get("interval") or {}, decision.get("predicted") or {}
    bounds = f"[{number(predicted.get('low'))}, {number(predicted.get('high'))}]" if predicted else "—"
    return (f"{decision.get('what') or 'the value'}: {number(interval.get('estimate'))} "
            f"[{number(interval.get('low'))}, {number(interval.get('high'))}] ({interval.get('method', '')}) "
            f"against {bounds}; margin {number(decision['margin'])} ({margin_text(decision)})"
            f"{', ' + decision['correction'] if decision.get('correction') else ''}")


def sampling_text(entry: dict) -> str:
    """How the minibatches of the runs an entry read were drawn: '<name> (<what it is>)' per sampling."""
    return "; ".join(f"{name}: {SAMPLINGS.get(name, name)}" for name in entry.get("sampling") or ())


def quote_text(entry: dict) -> str:
    """'“the source's words” (where)', or '' for an entry made before claims quoted their sources."""
    quote = entry.get("quote") or {}
    return f"“{quote['text']}” ({quote['where']})" if quote.get("text") else ""


def deviation_lines(entry: dict) -> list[str]:
    """'aspect: how it differs (why)' for each way the test differs from its source."""
    return [f"{d['aspect']}: {d['differs']} (why: {d['why']})" for d in entry.get("deviations") or ()]


def threshold_lines(entry: dict) -> list[str]:
    """'what: origin, reason' for each number that decides the verdict."""
    from ..claim import THRESHOLD_ORIGINS

    return [f"{t['what']}: {THRESHOLD_ORIGINS.get(t['origin'], t['origin'])}: {t['reason']}"
            for t in entry.get("thresholds") or ()]


def deviation_count(entry: dict) -> str:
    """How many deviations an entry lists ('—' for an entry made before they were declared)."""
    return str(len(entry["deviations"])) if entry.get("deviations") is not None else "—"


def seed_checks_text(entry: dict) -> str:
    checks = entry.get("seed_checks") or []
    if not checks:
        return "—"
    return "; ".join(("✅ same" if k["agrees"] else f"❗ {k['verdict']} / control {k['negative_control']}")
                     for k in checks)


def anchor(claim_id: str) -> str:
    return "".join(ch for ch in claim_id.lower() if ch.isalnum() or ch in "- ").replace(" ", "-")


def looks_brief(entry: dict) -> list[dict]:
    """Per case of an entry (or of a seed check), what its seed design took: the case, the seeds and look it
    stopped at, the planned looks, why it stopped, and the seeds that would decide (at a cap). Empty for
    entries made before the design."""
    out = []
    for case in entry.get("cases") or ():
        looks, design = case.get("looks"), case.get("design") or {}
        if not looks:
            continue
        out.append({"case": case.get("case") or "", "seeds": looks[-1]["seeds"], "look": looks[-1]["look"],
                    "planned": design.get("looks", len(looks)), "stop": design.get("stop", ""),
                    "seeds_needed": design.get("seeds_needed"), "first_seeds": looks[0]["seeds"]})
    return out


def looks_text(entry: dict, briefs: list[dict] | None = None) -> str:
    """'10 (look 2/3)' per case: the seeds the design used and the look it stopped at; '—' before the design."""
    briefs = looks_brief(entry) if briefs is None else briefs
    if not briefs:
        return "—"
    def one(b):
        cap = {"cap": " cap", "last look": " cap", "futile": " futile"}.get(b["stop"], "")
        return f"{b['seeds']} (look {b['look']}/{b['planned']}{cap})"
    texts = [one(b) for b in briefs]
    if len(set(texts)) == 1:
        return texts[0]
    return "; ".join(f"{b['case']}: {t}" for b, t in zip(briefs, texts))


def design_lines(entry: dict) -> list[str]:
    """One sentence per case on the seed design: the looks with their verdicts and margins, the level each look
    was judged at, why it stopped, and at a cap the seeds the measured spread says would decide."""
    from ..looks import summary

    lines = []
    for case in entry.get("cases") or ():
        looks, design = case.get("looks"), case.get("design") or {}
        if not looks:
            continue
        label = f"[{case['case']}] " if case.get("case") else ""
        steps = "; ".join(f"look {k['look']}, {k['seeds']} seeds: {k['verdict']} "
                          f"{margin_text({'margin_halfwidths': k['margin_halfwidths']})}, control {k['control']}"
                          for k in looks)
        rule = design.get("rule", "")
        level = design.get("level")
        text = f"{label}{summary(looks, design, design.get('stop', ''))} ({steps}); {rule}"
        if level is not None and design.get("looks", 1) > 1:
            text += f", each look at {level:.2%} for a rule asked for 95%"
        if design.get("min_margin") is not None:
            text += f", minimum margin {design['min_margin']:g} hw, cap {design.get('max_seeds')} seeds"
            if design.get("futility") is not None:
                text += f", futility below {design['futility']:.0%} conditional power"
        if design.get("seeds_needed"):
            text += f"; about {design['seeds_needed']} seeds would decide with the minimum margin (from the measured spread)"
        elif design.get("stop") in ("cap", "last look", "futile") and case.get("verdict") == INCONCLUSIVE:
            text += "; the estimate sits on the undecided side: no number of seeds is implied"
        lines.append(text)
    return lines
