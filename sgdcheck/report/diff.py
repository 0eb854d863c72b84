"""What changed between two replication reports: `sgdcheck-report diff OLD NEW`.

OLD and NEW are report folders or JSON files. The diff lists the claims added and gone, every claim
whose verdict or negative-control verdict changed, and every claim whose deciding estimate moved
outside the other run's interval. A change is *unexpected* unless the new verdict is the outcome its
known marker declares (a known refutation that came out refuted); a negative control that stops
being refuted is always unexpected. The exit status is 1 when anything unexpected changed, so a
nightly job can fail on it; the Markdown is fit for a CI job summary.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..stats import REFUTED
from .entries import is_known
from .results import load
from .text import VERDICT_MARK, margin_text


@dataclass
class ReportDiff:
    added: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    flips: list[dict] = field(default_factory=list)           # verdict or control changed
    moved: list[dict] = field(default_factory=list)           # deciding estimate left the other interval

    @property
    def unexpected(self) -> list[dict]:
        return [f for f in self.flips if not f["expected"]]


def _report(path) -> dict:
    path = Path(path)
    return load(path if path.is_file() else path / "latest.json")


def compare_reports(old: dict, new: dict) -> ReportDiff:
    diff = ReportDiff(added=sorted(set(new["claims"]) - set(old["claims"])),
                      gone=sorted(set(old["claims"]) - set(new["claims"])))
    for claim_id in sorted(set(old["claims"]) & set(new["claims"])):
        before, after = old["claims"][claim_id], new["claims"][claim_id]
        control_before, control_after = before["negative_control"]["verdict"], after["negative_control"]["verdict"]
        if before["verdict"] != after["verdict"] or control_before != control_after:
            expected = is_known(after) and control_after == REFUTED
            diff.flips.append({"id": claim_id, "verdict": (before["verdict"], after["verdict"]),
                               "control": (control_before, control_after), "expected": expected,
                               "margin": (before.get("decision"), after.get("decision"))})
        moved = _moved(before.get("decision") or {}, after.get("decision") or {})
        if moved:
            diff.moved.append({"id": claim_id, **moved})
    return diff


def _moved(before: dict, after: dict) -> dict | None:
    """The deciding estimates of two runs, when either lies outside the other's interval (same quantity only)."""
    a, b = before.get("interval"), after.get("interval")
    if not a or not b or before.get("what") != after.get("what"):
        return None
    outside = not (a["low"] <= b["estimate"] <= a["high"]) or not (b["low"] <= a["estimate"] <= b["high"])
    if not outside:
        return None
    return {"what": after.get("what", ""), "before": a, "after": b}


def markdown(diff: ReportDiff, old_name: str, new_name: str) -> str:
    lines = [f"## sgdcheck: {old_name} → {new_name}", ""]
    if not (diff.added or diff.gone or diff.flips or diff.moved):
        return "\n".join(lines + ["No verdict changed; no deciding estimate left its interval.", ""])
    unexpected = diff.unexpected
    lines.append(f"**{len(unexpected)} unexpected verdict change(s)**, {len(diff.flips) - len(unexpected)} expected, "
                 f"{len(diff.moved)} estimate(s) moved beyond their intervals, {len(diff.added)} claim(s) added, "
                 f"{len(diff.gone)} gone.")
    lines.append("")
    if diff.flips:
        lines += ["| claim | verdict | negative control | margin | expected |", "|---|---|---|---|---|"]
        for f in diff.flips:
            lines.append(f"| {f['id']} | {VERDICT_MARK[f['verdict'][0]]} → {VERDICT_MARK[f['verdict'][1]]} | "
                         f"{VERDICT_MARK[f['control'][0]]} → {VERDICT_MARK[f['control'][1]]} | "
                         f"{margin_text(f['margin'][0])} → {margin_text(f['margin'][1])} | "
                         f"{'yes (declared known outcome)' if f['expected'] else '**no**'} |")
        lines.append("")
    if diff.moved:
        lines += ["| claim | deciding quantity | before | after |", "|---|---|---|---|"]
        for m in diff.moved:
            fmt = lambda i: f"{i['estimate']:.4g} [{i['low']:.4g}, {i['high']:.4g}]"
            lines.append(f"| {m['id']} | {m['what']} | {fmt(m['before'])} | {fmt(m['after'])} |")
        lines.append("")
    for label, ids in (("Added", diff.added), ("Gone", diff.gone)):
        if ids:
            lines += [f"{label}: " + ", ".join(f"`{i}`" for i in ids), ""]
    return "\n".join(lines)


def run(old_path, new_path) -> tuple[str, int]:
    """The Markdown of the diff and the exit status (1 on an unexpected verdict change)."""
    diff = compare_reports(_report(old_path), _report(new_path))
    return markdown(diff, str(old_path), str(new_path)), 1 if diff.unexpected else 0
