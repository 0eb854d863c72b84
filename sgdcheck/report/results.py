"""The results of runs: evidence aggregated into claim entries, merged into a report folder, loaded and
stored. This is the API the pytest plugin and the command line use.

Storing is all-or-nothing: every file is first written into a staging folder next to the report and only
then moved into place (os.replace is atomic), so an interrupted or failing run leaves the previous report
intact; a file lock serialises sessions that write one folder at once. A report can be redrawn from its
JSON (`sgdcheck-report reports/`).

Schema 2 (this one) stores each verdict as data (`decision`: estimate, interval, predicted range, margin,
parts) for the claim, every case and the negative control, headline values as numbers, the seed offset of
the run, the commits the runs were computed at, and `seed_checks`: the verdicts of the same claims on
disjoint seeds. Schema 1 reports are still read.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import tempfile
from pathlib import Path

from ..errors import ReportError
from ..figures import render
from ..stats import REFUTED, Verdict, combine, decided_by
from .entries import figure_name, is_known, merged_measurements
from .html import dashboard
from .markdown import markdown
from .provenance import run_header
from .text import headline

__all__ = ["SCHEMA", "run_header", "claim_entries", "summary_rows", "merge", "load", "read_history", "write",
           "redraw", "merge_reports", "locked", "unwritable", "is_known", "history_record"]

SCHEMA = 2
READABLE_SCHEMAS = (1, 2)
CASE_FIELDS = ("case", "verdict", "reason", "decision", "measured", "details", "findings", "negative_control",
               "seeds", "duration_s", "test", "figures", "runs_computed_at")
LOCK_TIMEOUT_S = 600


# --- aggregation: a run's evidence -> claim entries -------------------------------------------------------

def claim_entries(payloads: list[dict], run_id: str) -> dict[str, dict]:
    """Group the evidence of this run by claim; a claim's verdict combines its cases."""
    grouped: dict[str, list[dict]] = {}
    for payload in payloads:
        grouped.setdefault(payload["id"], []).append(payload)
    entries = {}
    for claim_id, cases in grouped.items():
        cases.sort(key=lambda c: c["case"])
        first = cases[0]
        main = _over_cases([_case_verdict(c, c) for c in cases])
        controls = [c["negative_control"] for c in cases]
        control_ok = all(c["verdict"] == REFUTED for c in controls)
        control = _over_cases([_case_verdict(k, c) for k, c in zip(cases, controls)], control=True)
        entries[claim_id] = {
            "id": claim_id,
            "source": first["source"],
            "statement": first["statement"],
            "verdict": main.verdict,
            "reason": main.reason,
            "decision": main.as_dict(),
            "paper": first["paper"],
            "measured": merged_measurements(cases),
            "tolerance": first["tolerance"],
            "notes": first["notes"],
            "scale": first["scale"],
            "seeds": sorted({s for c in cases for s in c["seeds"]}, key=str),
            "device": first["device"],
            "negative_control": {
                "statement": " | ".join(dict.fromkeys(c["statement"] for c in controls)),
                "verdict": REFUTED if control_ok else next(c["verdict"] for c in controls if c["verdict"] != REFUTED),
                "reason": "; ".join(_labelled(k, c["reason"]) for k, c in zip(cases, controls)),
                "decision": control.as_dict(),
            },
            "seed_offset": first.get("seed_offset", 0),
            "runs_computed_at": sorted({x for c in cases for x in c.get("runs_computed_at") or ()}),
            "known_refutation": _known(cases, "known_refutation"),
            "known_inconclusive": _known(cases, "known_inconclusive"),
            "findings": [f for c in cases for f in c["findings"]],
            "duration_s": round(sum(c.get("duration_s", 0.0) for c in cases), 3),
            "run_id": run_id,
            "cases": [{k: c.get(k) for k in CASE_FIELDS} for c in cases],
        }
    return entries


def summary_rows(payloads: list[dict]) -> list[dict]:
    """One row per claim of this run's evidence, for a terminal: id, verdict, known, control, measured, paper."""
    return [{"id": cid, "verdict": e["verdict"], "known": is_known(e), "control": e["negative_control"]["verdict"],
             "measured": headline(e, "measured", 80), "paper": headline(e, "paper", 50)}
            for cid, e in sorted(claim_entries(payloads, run_id="").items())]


def _known(cases: list[dict], key: str) -> str | None:
    """The reasons the cases marked as known outcomes give, each labelled with its case."""
    reasons = [_labelled(c, c[key]) for c in cases if c.get(key)]
    return "; ".join(reasons) or None


def _case_verdict(case: dict, outcome: dict) -> Verdict:
    """A case's verdict (or its control's) as data, labelled with the case; schema 1 entries have no numbers."""
    decision = outcome.get("decision") or {"verdict": outcome["verdict"], "reason": outcome["reason"]}
    return dataclasses.replace(Verdict.from_dict(decision), reason=_labelled(case, outcome["reason"]))


def _over_cases(verdicts: list[Verdict], control: bool = False) -> Verdict:
    """A claim's verdict from its cases (each its own test): one case as it is; several combined, every case
    must replicate (a control: every case refuted). The case verdicts carry no retest, so no correction."""
    if len(verdicts) == 1:
        return verdicts[0]
    if not control:
        return combine(verdicts)
    failed = [v for v in verdicts if v.verdict != REFUTED]
    deciding = failed or verdicts
    return decided_by(failed[0].verdict if failed else REFUTED, "; ".join(v.reason for v in deciding), "cases",
                      deciding, min, verdicts)


def _labelled(case: dict, text: str) -> str:
    return f"[{case['case']}] {text}" if case.get("case") else text


# --- merging entries into a report ---------------------------------------------------------------------------

def seed_check(entry: dict, header: dict) -> dict:
    """What a run on other seeds found for a claim, kept beside the claim's entry."""
    decision = entry.get("decision") or {}
    return {"seed_offset": entry.get("seed_offset", 0), "seeds": entry["seeds"], "run_id": header["run_id"],
            "date": header["date"], "git_commit": header["git_commit"], "verdict": entry["verdict"],
            "negative_control": entry["negative_control"]["verdict"], "margin": decision.get("margin"),
            "margin_halfwidths": decision.get("margin_halfwidths"), "reason": entry["reason"]}


def merge(previous: dict | None, header: dict, entries: dict[str, dict]) -> dict:
    """Claims run now replace their old entries; the others keep theirs, with their own run header.

    A run on other seeds (seed offset > 0) does not replace an entry made on the scale's own seeds: its
    verdicts are kept as that entry's `seed_checks` (one per offset, the latest), and `agrees` says whether
    the claim and its control came out the same."""
    claims = dict(previous["claims"]) if previous else {}
    runs = dict(previous["runs"]) if previous else {}
    for claim_id, entry in entries.items():
        main = claims.get(claim_id)
        offset = entry.get("seed_offset", 0)
        if offset and main is not None and not main.get("seed_offset", 0):
            check = seed_check(entry, header)
            check["agrees"] = (check["verdict"] == main["verdict"]
                               and check["negative_control"] == main["negative_control"]["verdict"])
            kept = [c for c in main.get("seed_checks", []) if c["seed_offset"] != offset]
            claims[claim_id] = {**main, "seed_checks": [*kept, check]}
        else:
            claims[claim_id] = {**entry, "seed_checks": (main or {}).get("seed_checks", []) if not offset else []}
    runs[header["run_id"]] = header
    used = {c["run_id"] for c in claims.values()} | {k["run_id"] for c in claims.values()
                                                      for k in c.get("seed_checks", ())}
    return {"schema": SCHEMA, "latest_run": header["run_id"],
            "runs": {k: v for k, v in runs.items() if k in used},
            "claims": dict(sorted(claims.items()))}


def history_record(entry: dict) -> dict:
    """One claim's line in history.jsonl: the verdicts, the deciding quantity with its estimate, interval and
    margin, and the headline numbers (what the dashboard's trends draw)."""
    decision = entry.get("decision") or {}
    return {"verdict": entry["verdict"], "negative_control": entry["negative_control"]["verdict"],
            "seed_offset": entry.get("seed_offset", 0), "what": decision.get("what"),
            "estimate": decision.get("estimate"), "interval": decision.get("interval"),
            "margin": decision.get("margin"), "margin_halfwidths": decision.get("margin_halfwidths"),
            "measured": entry["measured"]}


# --- loading ---------------------------------------------------------------------------------------------------

def load(path: Path) -> dict:
    """Read a report JSON, with a clear error when it is not one."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ReportError(f"no report at {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ReportError(f"{path} is not a valid report (corrupt JSON: {error}); "
                          f"delete it or restore it from git, then run again") from None
    if not isinstance(data, dict) or data.get("schema") not in READABLE_SCHEMAS or "claims" not in data:
        raise ReportError(f"{path} is not an sgdcheck report of schema {' or '.join(map(str, READABLE_SCHEMAS))}")
    return data


def read_history(report_dir: Path) -> list[dict]:
    """The lines of a folder's history.jsonl, oldest first; a line that is not JSON (a write cut short) is skipped."""
    path = Path(report_dir) / "history.jsonl"
    if not path.is_file():
        return []
    lines = []
    for text in path.read_text().splitlines():
        try:
            line = json.loads(text)
        except json.JSONDecodeError:
            continue
        if isinstance(line, dict) and "run" in line and "verdicts" in line:
            lines.append(line)
    return lines


def unwritable(folder: Path) -> str | None:
    """Why a report folder could not be written ('is a file', 'is not writable'), or None; creates nothing."""
    folder = Path(folder)
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        return f"cannot be created: {probe} is a file" if probe != folder else "is a file, not a folder"
    if not os.access(probe, os.W_OK | os.X_OK):
        return "is not writable" if probe == folder else f"cannot be created: {probe} is not writable"
    return None


# --- storing ---------------------------------------------------------------------------------------------------

@contextlib.contextmanager
def locked(report_dir: Path):
    """An exclusive lock on a report folder (created if need be) for read-merge-replace: sessions writing one
    folder at once take turns."""
    from filelock import FileLock, Timeout

    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(report_dir / ".sgdcheck.lock"), timeout=LOCK_TIMEOUT_S)
    try:
        lock.acquire()
    except Timeout:
        raise ReportError(f"{report_dir} stayed locked by another session for {LOCK_TIMEOUT_S} s "
                          f"(lock file {lock.lock_file})") from None
    try:
        yield report_dir
    finally:
        lock.release()


def publish(report_dir: Path, report: dict, *, figures_of: set[str] | None = None, history: list[dict] = (),
            with_json: bool = True) -> Path:
    """Write a report's files atomically: the figures (of the claims in `figures_of`, all when None),
    latest.md, index.html and (with_json) latest.json are staged, then moved into place; then the `history`
    lines are appended to history.jsonl. Returns latest.md's path."""
    report_dir = Path(report_dir)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=report_dir))
    try:
        figures = _render_figures(report, staging, only=figures_of)
        lines = read_history(report_dir) + list(history)
        (staging / "latest.md").write_text(markdown(report))
        (staging / "index.html").write_text(dashboard(report, lines))
        names = ["latest.md", "index.html"]
        if with_json:
            (staging / "latest.json").write_text(json.dumps(report, indent=1, sort_keys=False) + "\n")
            names.append("latest.json")
        (report_dir / "figures").mkdir(exist_ok=True)
        for relative in [*figures, *names]:
            os.replace(staging / relative, report_dir / relative)
        if history:
            with open(report_dir / "history.jsonl", "a") as target:
                target.write("".join(json.dumps(line) + "\n" for line in history))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return report_dir / "latest.md"


def write(report_dir: Path, header: dict, payloads: list[dict]) -> Path:
    """Merge this run's evidence into the report folder, atomically. Returns latest.md's path."""
    entries = claim_entries(payloads, header["run_id"])
    with locked(report_dir) as folder:
        latest = folder / "latest.json"
        try:
            previous = load(latest) if latest.exists() else None
        except ReportError as error:
            kept = _keep_evidence(folder, header, entries)
            raise ReportError(f"{error}. This run's evidence is kept in {kept}: fold it in with "
                              f"'sgdcheck-report {folder} --merge' once latest.json is repaired") from None
        report = merge(previous, header, entries)
        replaced = {cid for cid, c in report["claims"].items() if c["run_id"] == header["run_id"]}
        line = {"run": header, "verdicts": {cid: history_record(c) for cid, c in entries.items()}}
        return publish(folder, report, figures_of=replaced, history=[line])    # seed checks draw nothing


def redraw(report_dir: Path) -> Path:
    """Regenerate latest.md, index.html and every figure from latest.json, atomically."""
    report_dir = Path(report_dir)
    return publish(report_dir, load(report_dir / "latest.json"), with_json=False)


def merge_reports(report_dir: Path, other_dir: Path) -> Path:
    """Fold another report folder (one written on a GPU machine or a cluster node) into this one: its
    claims replace ours claim by claim, each keeping its own run header; then redraw, atomically."""
    other_path = Path(other_dir)
    other = load(other_path if other_path.is_file() else other_path / "latest.json")
    with locked(report_dir) as folder:
        latest = folder / "latest.json"
        report = load(latest) if latest.exists() else None
        for run_id, header in other["runs"].items():
            entries = {cid: c for cid, c in other["claims"].items() if c["run_id"] == run_id}
            if entries:
                report = merge(report, header, entries)
        if report is None:
            raise ReportError(f"{other_dir} holds no claims to merge")
        return publish(folder, report, history=read_history(other_path) if other_path.is_dir() else [])


def _keep_evidence(report_dir: Path, header: dict, entries: dict) -> Path:
    """This run's evidence in a side file (when the report cannot take it), so that nothing measured is lost."""
    name = f"evidence-{header['run_id']}.json"
    data = json.dumps({"schema": SCHEMA, "latest_run": header["run_id"], "runs": {header["run_id"]: header},
                       "claims": entries}, indent=1) + "\n"
    for folder in (Path(report_dir), Path(tempfile.gettempdir())):
        try:
            (folder / name).write_text(data)
            return folder / name
        except OSError:
            continue
    raise ReportError("this run's evidence could not be kept anywhere")


def _render_figures(report: dict, folder: Path, only: set[str] | None = None) -> list[str]:
    written = []
    for claim in report["claims"].values():
        if only is not None and claim["id"] not in only:
            continue
        for case in claim["cases"]:
            for name, spec in (case.get("figures") or {}).items():
                relative = figure_name(claim["id"], case["case"], name)
                render(spec, folder / relative)
                written.append(relative)
    return written
