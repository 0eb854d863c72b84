"""Every claim of a report and how its test differs from its source, on one page:
`sgdcheck-report deviations [DIR]`. A reader can see at a glance which verdicts rest on a faithful test and
which on a proxy, and where each deciding number comes from."""
from __future__ import annotations

from .entries import is_known
from .text import VERDICT_MARK, deviation_lines, quote_text, threshold_lines


def fidelity_page(report: dict) -> str:
    """The claims of a report, fewest deviations first within each verdict, with quote, deviations and thresholds."""
    claims = list(report["claims"].values())
    declared = [c for c in claims if c.get("deviations") is not None]
    lines = ["# How each claim's test differs from its source", "",
             f"{len(claims)} claims; {len(declared)} declare their deviations "
             f"({sum(len(c['deviations']) for c in declared)} in all). A deviation is a way the test differs from "
             "what the source did or said (data, model, loss, sizes, a definition, a threshold); each names why.",
             "", "| claim | verdict | deviations | thresholds | aspects |", "|---|---|---|---|---|"]
    for c in sorted(claims, key=lambda c: (c["id"])):
        aspects = sorted({d["aspect"] for d in c.get("deviations") or ()})
        lines.append(f"| {c['id']} | {VERDICT_MARK[c['verdict']]}{' (known)' if is_known(c) else ''} | "
                     f"{len(c['deviations']) if c.get('deviations') is not None else '—'} | "
                     f"{len(c.get('thresholds') or ())} | "
                     f"{', '.join(aspects) or '—'} |")
    lines.append("")
    for c in sorted(claims, key=lambda c: c["id"]):
        lines += [f"## {c['id']}", "", f"**Source:** {c['source']}  "]
        if quote_text(c):
            lines.append(f"**In its words:** {quote_text(c)}  ")
        lines += [f"**Statement:** {c['statement']}  ", f"**Verdict:** {VERDICT_MARK[c['verdict']]}", ""]
        if c.get("deviations") is None:
            lines += ["*This entry was made before the claim declared its deviations.*", ""]
            continue
        lines += ["**Deviations:**", *([f"- {line}" for line in deviation_lines(c)] or ["- none"]), ""]
        if c.get("thresholds"):
            lines += ["**Thresholds:**", *[f"- {line}" for line in threshold_lines(c)], ""]
    return "\n".join(lines)
