"""What changed between two replication reports: `sgdcheck-report diff OLD NEW`.

OLD and NEW are report folders or JSON files. The diff lists the claims added and gone, every claim
whose verdict or negative-control verdict changed, every case of a claim whose verdict changed, every
seed check (the claim on a disjoint set of seeds) that changed or stopped agreeing, and every claim whose
deciding estimate moved outside the other run's interval, and, as information, every case whose sequential
seed design needed another number of seeds (a claim growing harder to decide). A change is *unexpected* unless the new verdict
is the outcome its known marker declares (a known refutation that came out refuted); a negative control
that stops being refuted, a claim that is gone, and a seed check that stops agreeing are always
unexpected; a claim whose own module no longer runs it at this scale (NEW names it and the reason under
*not run*) is listed as information, not as gone. The exit status is 1 when anything unexpected changed, so a nightly job can fail on it; the
Markdown is fit for a CI job summary.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..stats import REFUTED
from .entries import is_known
from .results import load
from .text import VERDICT_MARK, looks_brief, looks_text, margin_text


@dataclass
class ReportDiff:
    added: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    flips: list[dict] = field(default_factory=list)           # verdict or control changed
    cases: list[dict] = field(default_factory=list)           # a case's verdict or control changed
    checks: list[dict] = field(default_factory=list)          # a seed check changed, appeared or went
    moved: list[dict] = field(default_factory=list)           # deciding estimate left the other interval
    seeds: list[dict] = field(default_factory=list)           # the seeds a case needed changed (information)
    not_run: dict[str, str] = field(default_factory=dict)     # claims the new report says were not run (information)

    @property
    def unexpected(self) -> list[dict]:
        return [f for f in self.flips + self.cases + self.checks if not f["expected"]]

    @property
    def fails(self) -> bool:
        """Whether a nightly should fail on this diff: an unexpected change, or a claim that is gone."""
        return bool(self.unexpected or self.gone)


def _report(path) -> dict:
    """A report folder's latest.json, or a report file (a pipe or a process substitution counts as a file)."""
    path = Path(path)
    return load(path / "latest.json" if path.is_dir() else path)


def compare_reports(old: dict, new: dict) -> ReportDiff:
    not_run = new.get("not_run") or {}
    missing = set(old["claims"]) - set(new["claims"])
    diff = ReportDiff(added=sorted(set(new["claims"]) - set(old["claims"])),
                      gone=sorted(missing - set(not_run)),
                      not_run={cid: not_run[cid]["reason"] for cid in sorted(missing & set(not_run))})
    for claim_id in sorted(set(old["claims"]) & set(new["claims"])):
        before, after = old["claims"][claim_id], new["claims"][claim_id]
        control_before, control_after = before["negative_control"]["verdict"], after["negative_control"]["verdict"]
        known = is_known(after)
        if before["verdict"] != after["verdict"] or control_before != control_after:
            diff.flips.append({"id": claim_id, "verdict": (before["verdict"], after["verdict"]),
                               "control": (control_before, control_after),
                               "expected": known and control_after == REFUTED,
                               "margin": (before.get("decision"), after.get("decision"))})
        else:
            diff.cases += _case_changes(claim_id, before, after, known)
        diff.checks += _check_changes(claim_id, before, after)
        diff.seeds += _seed_changes(claim_id, before, after)
        moved = _moved(before.get("decision") or {}, after.get("decision") or {})
        if moved:
            diff.moved.append({"id": claim_id, **moved})
    return diff


def _case_changes(claim_id: str, before: dict, after: dict, known: bool) -> list[dict]:
    """Cases (parametrised parts of one claim) whose verdict or control changed while the claim's did not."""
    old = {c["case"]: c for c in before.get("cases") or ()}
    changes = []
    for case in after.get("cases") or ():
        was = old.get(case["case"])
        if was is None or not case.get("case"):
            continue
        pair = lambda c: (c.get("verdict"), (c.get("negative_control") or {}).get("verdict"))
        if pair(was) != pair(case):
            changes.append({"id": claim_id, "case": case["case"], "verdict": (was.get("verdict"), case.get("verdict")),
                            "control": (pair(was)[1], pair(case)[1]),
                            "expected": known and pair(case)[1] == REFUTED})
    return changes


def _check_changes(claim_id: str, before: dict, after: dict) -> list[dict]:
    """Seed checks that changed verdict or stopped agreeing (unexpected), or that appeared (information)."""
    old = {c["seed_offset"]: c for c in before.get("seed_checks") or ()}
    changes = []
    for check in after.get("seed_checks") or ():
        was = old.get(check["seed_offset"])
        same = was is not None and (was["verdict"], was["negative_control"], was.get("agrees")) == \
            (check["verdict"], check["negative_control"], check.get("agrees"))
        if not same:
            changes.append({"id": claim_id, "seed_offset": check["seed_offset"],
                            "before": None if was is None else (was["verdict"], was["negative_control"], was.get("agrees")),
                            "after": (check["verdict"], check["negative_control"], check.get("agrees")),
                            "expected": bool(check.get("agrees"))})
    return changes


def _seed_changes(claim_id: str, before: dict, after: dict) -> list[dict]:
    """Cases whose seed design used another number of seeds, or stopped for another reason, than before: a claim
    growing harder (or easier) to decide. Information, never a failure; entries made before the design have no
    looks and are not compared."""
    old = {b["case"]: b for b in looks_brief(before)}
    changes = []
    for brief in looks_brief(after):
        was = old.get(brief["case"])
        if was is not None and (was["seeds"], was["stop"]) != (brief["seeds"], brief["stop"]):
            changes.append({"id": claim_id, "case": brief["case"], "before": was, "after": brief})
    return changes


def _moved(before: dict, after: dict) -> dict | None:
    """The deciding estimates of two runs, when either lies outside the other's interval (same quantity only)."""
    a, b = before.get("interval"), after.get("interval")
    if not a or not b or before.get("what") != after.get("what"):
        return None
    outside = not (a["low"] <= b["estimate"] <= a["high"]) or not (b["low"] <= a["estimate"] <= b["high"])
    if not outside:
        return None
    return {"what": after.get("what", ""), "before": a, "after": b}


def _check_text(state) -> str:
    if state is None:
        return "—"
    verdict, control, agrees = state
    return f"{VERDICT_MARK[verdict]} / control {VERDICT_MARK[control]} ({'agrees' if agrees else 'disagrees'})"


def _change(pair) -> str:
    """'before → after' of a verdict, with its mark where it has one (a case may hold a verdict of its own)."""
    return " → ".join(VERDICT_MARK.get(verdict, verdict) for verdict in pair)


def _expected(row) -> str:
    return "yes (declared known outcome)" if row["expected"] else "**no**"


def _interval_text(interval: dict) -> str:
    return f"{interval['estimate']:.4g} [{interval['low']:.4g}, {interval['high']:.4g}]"


def _table(header, rows) -> list[str]:
    """A Markdown table of `rows` under `header`, then a blank line."""
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows), ""]


def markdown(diff: ReportDiff, old_name: str, new_name: str) -> str:
    lines = [f"## sgdcheck: {old_name} → {new_name}", ""]
    if not (diff.added or diff.gone or diff.flips or diff.cases or diff.checks or diff.moved or diff.seeds
            or diff.not_run):
        return "\n".join(lines + ["No verdict changed; no deciding estimate left its interval.", ""])
    unexpected = diff.unexpected
    lines.append(f"**{len(unexpected)} unexpected verdict change(s)**, "
                 f"{len(diff.flips) + len(diff.cases) + len(diff.checks) - len(unexpected)} expected, "
                 f"{len(diff.moved)} estimate(s) moved beyond their intervals, {len(diff.seeds)} case(s) needed "
                 f"other seeds, {len(diff.added)} claim(s) added, "
                 f"{len(diff.gone)} gone" + (" (**a claim that is gone fails the comparison**)" if diff.gone else "")
                 + (f", {len(diff.not_run)} no longer run at this scale" if diff.not_run else "") + ".")
    lines.append("")
    if diff.flips:
        lines += _table(("claim", "verdict", "negative control", "margin", "expected"),
                        [(f["id"], _change(f["verdict"]), _change(f["control"]),
                          f"{margin_text(f['margin'][0])} → {margin_text(f['margin'][1])}", _expected(f))
                         for f in diff.flips])
    if diff.cases:
        lines += _table(("claim", "case", "verdict", "negative control", "expected"),
                        [(c["id"], c["case"], _change(c["verdict"]), _change(c["control"]), _expected(c))
                         for c in diff.cases])
    if diff.checks:
        lines += _table(("claim", "other seeds from", "before", "after", "expected"),
                        [(c["id"], c["seed_offset"], _check_text(c["before"]), _check_text(c["after"]),
                          "yes" if c["expected"] else "**no**: the claim does not hold on other seeds")
                         for c in diff.checks])
    if diff.moved:
        lines += _table(("claim", "deciding quantity", "before", "after"),
                        [(m["id"], m["what"], _interval_text(m["before"]), _interval_text(m["after"]))
                         for m in diff.moved])
    if diff.seeds:
        lines += _table(("claim", "case", "seeds before", "seeds after"),
                        [(c["id"], c["case"] or "—", looks_text({}, [c["before"]]), looks_text({}, [c["after"]]))
                         for c in diff.seeds])
    for label, ids in (("Added", diff.added), ("Gone", diff.gone)):
        if ids:
            lines += [f"{label}: " + ", ".join(f"`{i}`" for i in ids), ""]
    if diff.not_run:
        lines += ["Not run at this scale now (its module's reason; the old entry left the report):", "",
                  *[f"- `{cid}`: {why}" for cid, why in diff.not_run.items()], ""]
    return "\n".join(lines)


def run(old_path, new_path) -> tuple[str, int]:
    """The Markdown of the diff and the exit status (1 on an unexpected change or a claim that is gone)."""
    diff = compare_reports(_report(old_path), _report(new_path))
    return markdown(diff, str(old_path), str(new_path)), 1 if diff.fails else 0
