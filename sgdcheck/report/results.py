"""The results of runs: evidence aggregated into claim entries, merged into a report folder, loaded and
stored. This is the API the pytest plugin and the command line use.

A write is all-or-nothing at one commit point, the atomic replace of latest.json: every file is first
written into a staging folder next to the report (nothing in the folder changes if that fails, and this
run's evidence is kept in a side file, evidence-<run>.json, named in the error); then latest.json is
moved into place; then the history lines are appended and the derived files (latest.md, index.html, the
figures) moved into place. latest.json carries the history lines of the write that made it
(`history_lines`), so a write cut short after the commit loses nothing: the next write appends the lines
the history lacks, redraws latest.md and index.html, and renders every figure whose spec differs from the
one it was last drawn from (figures/.manifest.json). A file lock serialises sessions that write one
folder at once; a report can be redrawn from its JSON (`sgdcheck-report reports/`).

Schema 2 (this one) stores each verdict as data (`decision`: estimate, interval, predicted range, margin,
parts) for the claim, every case and the negative control, headline values as numbers (non-finite ones
as the strings "inf", "-inf", "nan", read back as numbers), the seed offset of the run, the commits the
runs were computed at, the samplings of their minibatches, and `seed_checks`: the verdicts of the same
claims on disjoint seeds. Schema 1 reports are still read. A report of the wrong shape is an error
naming what is wrong, with the same side file as for invalid JSON.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ReportError
from ..figures import render
from ..jsonable import jsonable
from ..stats import REFUTED, VERDICTS, Verdict, combine, decided_by, number
from . import files
from .entries import figure_name, is_known, merged_measurements
from .html import dashboard
from .markdown import markdown
from .provenance import run_header
from .stale import claim_code, entry_code
from .text import headline, looks_brief

__all__ = ["SCHEMA", "run_header", "claim_code", "claim_entries", "summary_rows", "merge", "load", "read_history", "write",
           "redraw", "merge_reports", "locked", "unwritable", "is_known", "history_record", "Written",
           "keep_evidence"]

SCHEMA = 2
READABLE_SCHEMAS = (1, 2)
CASE_FIELDS = ("case", "verdict", "reason", "decision", "measured", "details", "findings", "negative_control",
               "seeds", "duration_s", "test", "figures", "runs_computed_at", "sampling", "design", "looks", "code")
ENTRY_FIELDS = ("id", "source", "statement", "verdict", "reason", "paper", "measured", "scale", "seeds", "device",
                "negative_control", "findings", "duration_s", "run_id", "cases")
RUN_FIELDS = ("run_id", "date", "git_commit", "scale", "device")
LOCK_TIMEOUT_S = 600
MANIFEST = "figures/.manifest.json"


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
            "quote": first.get("quote"),
            "statement": first["statement"],
            "deviations": first.get("deviations"),           # None: made before claims declared them
            "thresholds": first.get("thresholds"),
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
            "sampling": sorted({x for c in cases for x in c.get("sampling") or ()}),
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
    must replicate (a control: every case refuted). The case verdicts carry no retest, so no correction: the
    family-wise rate of a false refutation over k cases is measured in docs/error-rates.md."""
    if len(verdicts) == 1:
        return verdicts[0]
    if not control:
        return combine(verdicts, correct=False)
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
            "margin_halfwidths": decision.get("margin_halfwidths"), "reason": entry["reason"],
            "looks": looks_brief(entry), "code": entry_code(entry)}


def _merge_claim(main: dict | None, entry: dict, header: dict, runs: dict, checks=()) -> dict:
    """A claim's entry after `entry` (made by the run `header`) and further seed checks arrive.

    An entry on the scale's own seeds (offset 0) replaces the claim's entry; one on other seeds becomes a seed
    check of it (the latest per offset); an entry on other seeds that arrives first stands in for the claim
    until one on its own seeds arrives, and then becomes its seed check. A new entry that records its code keeps
    only the checks made by the same code (an older check, of code since changed, says nothing of it). Whether a
    check agrees is computed against the entry it is kept beside, whenever either changes."""
    by_offset = {c["seed_offset"]: c for c in (main or {}).get("seed_checks", ())}
    offset = entry.get("seed_offset", 0)
    if main is None or offset == main.get("seed_offset", 0):
        kept = entry
    elif offset and not main.get("seed_offset", 0):
        by_offset[offset], kept = seed_check(entry, header), main
    elif not offset:                                    # the own-seed entry arrives after a stand-in
        main_offset = main["seed_offset"]
        by_offset.setdefault(main_offset, seed_check(main, runs[main["run_id"]]))
        kept = entry
    else:                                               # two stand-ins on other seeds: the first stays
        by_offset[offset], kept = seed_check(entry, header), main
    by_offset.update({c["seed_offset"]: c for c in checks})
    by_offset.pop(kept.get("seed_offset", 0), None)
    code = entry_code(entry) if kept is entry else None
    if code:                                            # a new entry: a check made by other code does not check it
        by_offset = {k: c for k, c in by_offset.items() if c.get("code") == code}
    agreeing = [{**c, "agrees": c["verdict"] == kept["verdict"]
                 and c["negative_control"] == kept["negative_control"]["verdict"]}
                for _, c in sorted(by_offset.items())]
    return {**{k: v for k, v in kept.items() if k != "seed_checks"}, "seed_checks": agreeing}


def _assembled(claims: dict, runs: dict, latest_run: str, not_run: dict | None = None) -> dict:
    not_run = {cid: why for cid, why in (not_run or {}).items() if cid not in claims}
    used = {c["run_id"] for c in claims.values()} | {k["run_id"] for c in claims.values()
                                                      for k in c.get("seed_checks", ())} | \
        {why["run_id"] for why in not_run.values()} | {latest_run}
    return {"schema": SCHEMA, "latest_run": latest_run, "runs": {k: v for k, v in runs.items() if k in used},
            "claims": dict(sorted(claims.items())), "not_run": dict(sorted(not_run.items()))}


def _retire(claims: dict, not_run: dict, header: dict, skipped: dict[str, str]) -> None:
    """Claims whose every case this run skipped for a reason of the claim's own (a scale it does not run at):
    on the scale's own seeds their old entry leaves the report and the reason stands in its place; on other seeds
    only the seed check of those seeds leaves. An entry kept from an older run would read as this run's evidence."""
    offset = header.get("seed_offset", 0) or 0
    for claim_id, reason in skipped.items():
        if not offset:
            claims.pop(claim_id, None)
            not_run[claim_id] = {"reason": reason, "run_id": header["run_id"]}
        elif claim_id in claims:
            entry = claims[claim_id]
            claims[claim_id] = {**entry, "seed_checks": [c for c in entry.get("seed_checks", ())
                                                         if c["seed_offset"] != offset]}


def merge(previous: dict | None, header: dict, entries: dict[str, dict], skipped: dict[str, str] | None = None) \
        -> dict:
    """This run's entries merged into a report (see _merge_claim); claims not run now keep their entries, each
    with its own run header, except those this run skipped for a reason of their own (`skipped`: claim id to
    reason; see _retire)."""
    claims = dict(previous["claims"]) if previous else {}
    runs = {**(previous["runs"] if previous else {}), header["run_id"]: header}
    not_run = dict((previous or {}).get("not_run") or {})
    _retire(claims, not_run, header, {cid: why for cid, why in (skipped or {}).items() if cid not in entries})
    for claim_id, entry in entries.items():
        claims[claim_id] = _merge_claim(claims.get(claim_id), entry, header, runs)
    return _assembled(claims, runs, header["run_id"], not_run)


def history_record(entry: dict) -> dict:
    """One claim's line in history.jsonl: the verdicts, the deciding quantity with its estimate, interval and
    margin, and the headline numbers (what the dashboard's trends draw)."""
    decision = entry.get("decision") or {}
    return {"verdict": entry["verdict"], "negative_control": entry["negative_control"]["verdict"],
            "seed_offset": entry.get("seed_offset", 0), "what": decision.get("what"),
            "estimate": decision.get("estimate"), "interval": decision.get("interval"),
            "margin": decision.get("margin"), "margin_halfwidths": decision.get("margin_halfwidths"),
            "seeds": len(entry.get("seeds") or ()), "looks": looks_brief(entry), "measured": entry["measured"]}


def history_line(header: dict, entries: dict[str, dict]) -> dict:
    return {"run": header, "verdicts": {cid: history_record(c) for cid, c in entries.items()}}


# --- loading ---------------------------------------------------------------------------------------------------

def _decision_numbers(decision):
    """A stored decision with its numbers as numbers (non-finite ones are stored as text)."""
    if not isinstance(decision, dict):
        return decision
    out = dict(decision)
    for key in ("estimate", "margin", "margin_halfwidths", "level"):
        if key in out:
            out[key] = number(out[key])
    for key in ("interval", "predicted"):
        if isinstance(out.get(key), dict):
            out[key] = {k: number(v) if k != "method" else v for k, v in out[key].items()}
    if isinstance(out.get("parts"), list):
        out["parts"] = [_decision_numbers(p) for p in out["parts"]]
    return out


def _entry_numbers(entry: dict) -> dict:
    entry = {**entry, "decision": _decision_numbers(entry.get("decision"))}
    entry["negative_control"] = {**entry["negative_control"],
                                 "decision": _decision_numbers(entry["negative_control"].get("decision"))}
    entry["cases"] = [{**c, "decision": _decision_numbers(c.get("decision")),
                       "negative_control": {**(c.get("negative_control") or {}),
                                            "decision": _decision_numbers((c.get("negative_control") or {})
                                                                          .get("decision"))}}
                      for c in entry["cases"]]
    entry["seed_checks"] = [{**k, "margin": number(k.get("margin")), "margin_halfwidths": number(k.get("margin_halfwidths"))}
                            for k in entry.get("seed_checks", ())]
    return entry


def shape_problem(data) -> str | None:
    """What is wrong with the shape of a report's data, or None (the fields the renderers and merges read)."""
    if not isinstance(data, dict):
        return f"the file holds a {type(data).__name__}, not a report object"
    if data.get("schema") not in READABLE_SCHEMAS:
        return f"schema {data.get('schema')!r} is not one of {', '.join(map(str, READABLE_SCHEMAS))}"
    for key in ("claims", "runs"):
        if not isinstance(data.get(key), dict):
            return f"'{key}' is {'missing' if key not in data else 'a ' + type(data[key]).__name__}, not a mapping"
    if data.get("latest_run") not in data["runs"]:
        return f"latest_run {data.get('latest_run')!r} names no run in 'runs'"
    for run_id, run in data["runs"].items():
        missing = [f for f in RUN_FIELDS if not isinstance(run, dict) or f not in run]
        if missing:
            return f"run {run_id!r} lacks {', '.join(missing)}"
    not_run = data.get("not_run", {})
    if not isinstance(not_run, dict) or not all(isinstance(why, dict) and isinstance(why.get("reason"), str)
                                                 and why.get("run_id") in data["runs"] for why in not_run.values()):
        return "'not_run' is not a mapping of claim ids to a reason and the run that skipped them"
    for claim_id, entry in data["claims"].items():
        if not isinstance(entry, dict):
            return f"claim {claim_id!r} is a {type(entry).__name__}, not an entry"
        missing = [f for f in ENTRY_FIELDS if f not in entry]
        if missing:
            return f"claim {claim_id!r} lacks {', '.join(missing)}"
        if entry["id"] != claim_id:
            return f"claim {claim_id!r} is filed under another id ({entry['id']!r})"
        control = entry["negative_control"]
        if not isinstance(control, dict) or control.get("verdict") not in VERDICTS:
            return f"claim {claim_id!r} has no negative-control verdict"
        if entry["verdict"] not in VERDICTS:
            return f"claim {claim_id!r} has the verdict {entry['verdict']!r}"
        if entry["run_id"] not in data["runs"]:
            return f"claim {claim_id!r} names run {entry['run_id']!r}, which 'runs' lacks"
        if not isinstance(entry["cases"], list) or not all(isinstance(c, dict) and "case" in c for c in entry["cases"]):
            return f"claim {claim_id!r} has cases that are not entries"
        for check in entry.get("seed_checks") or ():
            if not isinstance(check, dict) or check.get("run_id") not in data["runs"] or "seed_offset" not in check:
                return f"claim {claim_id!r} has a seed check that names no run in 'runs'"
    return None


def parse(text: str, where) -> dict:
    """A report from its JSON text, its shape checked and its numbers decoded; a ReportError names the problem."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ReportError(f"{where} is not a valid report (corrupt JSON: {error}); "
                          f"delete it or restore it from git, then run again") from None
    problem = shape_problem(data)
    if problem:
        raise ReportError(f"{where} is not a valid sgdcheck report ({problem}); "
                          f"delete it or restore it from git, then run again")
    try:
        data["claims"] = {cid: _entry_numbers(e) for cid, e in data["claims"].items()}
    except Exception as error:                       # a number field that holds something else
        raise ReportError(f"{where} is not a valid sgdcheck report ({error})") from None
    return data


def load(path: Path) -> dict:
    """Read a report JSON, with a clear error when it is not one."""
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ReportError(f"no report at {path}") from None
    except IsADirectoryError:
        raise ReportError(f"{path} is a folder, not a report file") from None
    except OSError as error:
        raise ReportError(f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise ReportError(f"{path} is not a valid report (not UTF-8: {error}); "
                          f"delete it or restore it from git, then run again") from None
    return parse(text, path)


def _line_problem(line) -> str | None:
    if not isinstance(line, dict) or not isinstance(line.get("run"), dict) or not isinstance(line.get("verdicts"), dict):
        return "not a history line"
    if not isinstance(line["run"].get("run_id"), str):
        return "no run id"
    for record in line["verdicts"].values():
        if not isinstance(record, dict) or record.get("verdict") not in VERDICTS:
            return "a verdict that is not one"
    return None


def read_history_counted(report_dir: Path) -> tuple[list[dict], int]:
    """The valid lines of a folder's history.jsonl, oldest first, and how many lines were skipped (a write cut
    short, a byte that is not UTF-8, JSON of another shape): the history is never a reason to fail."""
    path = Path(report_dir) / "history.jsonl"
    if not path.is_file():
        return [], 0
    lines, skipped = [], 0
    for raw in path.read_bytes().splitlines():
        if not raw.strip():
            continue
        try:
            line = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            skipped += 1
            continue
        if _line_problem(line):
            skipped += 1
            continue
        for record in line["verdicts"].values():
            for key in ("estimate", "margin", "margin_halfwidths"):
                if isinstance(record.get(key), str):
                    try:
                        record[key] = number(record[key])
                    except Exception:
                        record[key] = None
        lines.append(line)
    return lines, skipped


def read_history(report_dir: Path) -> list[dict]:
    """The valid lines of a folder's history.jsonl, oldest first (see read_history_counted)."""
    return read_history_counted(report_dir)[0]


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

@dataclass
class Written:
    """What a report write put in place (`files`) and what it could not after its commit point (`problems`:
    repaired by the next write, or now by `sgdcheck-report <folder>`)."""

    folder: Path
    files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return self.folder / "latest.md"

    def __str__(self) -> str:
        return str(self.path)


class NotCommitted(ReportError):
    """A report write failed before its commit point: nothing in the folder changed."""


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


def dumps(report: dict) -> str:
    """A report as strict JSON (non-finite numbers as text)."""
    return json.dumps(jsonable(report), indent=1, sort_keys=False) + "\n"


def _figure_specs(report: dict) -> dict[str, dict]:
    return {figure_name(c["id"], case["case"], name): spec for c in report["claims"].values()
            for case in c["cases"] for name, spec in (case.get("figures") or {}).items()}


def _digest(spec) -> str:
    return hashlib.sha256(json.dumps(jsonable(spec), sort_keys=True).encode()).hexdigest()[:16]


def _read_manifest(report_dir: Path) -> dict:
    try:
        manifest = json.loads((report_dir / MANIFEST).read_text())
        return manifest if isinstance(manifest, dict) else {}
    except (OSError, ValueError):
        return {}


def publish(report_dir: Path, report: dict, *, history: list[dict] = (), with_json: bool = True,
            all_figures: bool = False) -> Written:
    """Write a report's files (see the module's docstring for the order and the commit point). `history` holds
    the lines this write appends (lines the history already has, by run id, are not appended twice); with
    with_json, latest.json is written and carries them. Figures are rendered where their spec changed (or all,
    with all_figures). Returns what was written; raises NotCommitted, changing nothing, when a step before the
    commit fails."""
    report_dir = Path(report_dir)
    for stale in report_dir.glob(".staging-*"):            # left by a write that was killed (we hold the lock)
        files.remove_tree(stale)
    written = Written(report_dir)
    lines, skipped = read_history_counted(report_dir)
    known = {line["run"]["run_id"] for line in lines}
    pending = [line for line in dict((line["run"]["run_id"], line) for line in history).values()
               if line["run"]["run_id"] not in known]
    specs = _figure_specs(report)
    manifest = _read_manifest(report_dir)
    digests = {path: _digest(spec) for path, spec in specs.items()}
    stale_figures = [p for p in specs if all_figures or manifest.get(p) != digests[p] or not (report_dir / p).exists()]
    try:
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=report_dir))
    except OSError as error:
        raise NotCommitted(f"cannot stage files in {report_dir}: {error.strerror or error}") from None
    try:
        try:
            (staging / "figures").mkdir()
            for path in stale_figures:
                render(specs[path], staging / path)
            files.write_text(staging / "latest.md", markdown(report))
            files.write_text(staging / "index.html", dashboard(report, lines + pending, skipped=skipped))
            if with_json:
                files.write_text(staging / "latest.json", dumps({**report, "history_lines": pending}))
            if with_json:
                files.replace(staging / "latest.json", report_dir / "latest.json")          # the commit point
                written.files.append("latest.json")
        except OSError as error:
            raise NotCommitted(f"{error.strerror or error}" + (f" ({error.filename})" if error.filename else "")) \
                from None
        except Exception as error:                          # a figure that cannot be drawn, a value that cannot be written
            raise NotCommitted(f"{type(error).__name__}: {error}") from error
        _after_commit(report_dir, staging, pending, stale_figures, digests, manifest, written)
    finally:
        with contextlib.suppress(OSError):          # a staging folder left behind is removed by the next write
            files.remove_tree(staging)
    return written


def _after_commit(report_dir, staging, pending, figures, digests, manifest, written: Written) -> None:
    """The steps after the commit: each may fail on its own (a full disk, an immutable file); what failed is
    said, and the next write repairs it."""
    try:
        files.append_lines(report_dir / "history.jsonl", [json.dumps(jsonable(line)) for line in pending])
        if pending:
            written.files.append(f"history.jsonl (+{len(pending)} line(s))")
    except OSError as error:
        written.problems.append(f"history.jsonl: {error.strerror or error}; its {len(pending)} new line(s) are kept "
                                f"in latest.json and appended by the next write")
    try:
        (report_dir / "figures").mkdir(exist_ok=True)
        for path in figures:
            files.replace(staging / path, report_dir / path)
            manifest[path] = digests[path]
        if figures:
            files.write_text(staging / "manifest.json", json.dumps(manifest, indent=0, sort_keys=True))
            files.replace(staging / "manifest.json", report_dir / MANIFEST)
            written.files.append(f"{len(figures)} figure(s)")
    except OSError as error:
        written.problems.append(f"figures: {error.strerror or error}; they are drawn again by the next write")
    for name in ("latest.md", "index.html"):
        try:
            files.replace(staging / name, report_dir / name)
            written.files.append(name)
        except OSError as error:
            written.problems.append(f"{name}: {error.strerror or error}; it is drawn again by the next write "
                                    f"(or now: sgdcheck-report {report_dir})")


def _load_for_write(folder: Path, header: dict, entries: dict, line: dict) -> dict | None:
    latest = folder / "latest.json"
    try:
        return load(latest) if latest.exists() else None
    except ReportError as error:
        kept = keep_evidence(folder, header, entries, [line])
        raise ReportError(f"no report written: {error}. This run's evidence is kept in {kept}: fold it in with "
                          f"'sgdcheck-report {folder} --merge {kept}' once latest.json is repaired") from None


def write(report_dir: Path, header: dict, payloads: list[dict], skipped: dict[str, str] | None = None) -> Written:
    """Merge this run's evidence into the report folder, all-or-nothing (see the module's docstring). `skipped`:
    the claims this run skipped at its scale, with the reason (see merge). Raises a ReportError that says where
    this run's evidence was kept when the report could not take it."""
    entries = claim_entries(payloads, header["run_id"])
    line = history_line(header, entries)
    with locked(report_dir) as folder:
        previous = _load_for_write(folder, header, entries, line)
        report = merge(previous, header, entries, skipped)
        carried = list((previous or {}).get("history_lines") or ())     # lines a cut-short write did not append
        try:
            return publish(folder, report, history=[*carried, line])
        except NotCommitted as error:
            kept = keep_evidence(folder, header, entries, [line])
            raise ReportError(f"no report written to {folder} ({error}); nothing there changed. This run's evidence "
                              f"is kept in {kept}: fold it in with 'sgdcheck-report {folder} --merge {kept}'") from None


def redraw(report_dir: Path) -> Written:
    """Regenerate latest.md, index.html and every figure from latest.json (under the folder's lock), and append
    the history lines latest.json carries that the history lacks."""
    report_dir = Path(report_dir)
    if not (report_dir / "latest.json").exists():
        raise ReportError(f"no report at {report_dir / 'latest.json'}")
    with locked(report_dir) as folder:
        report = load(folder / "latest.json")
        written = publish(folder, report, history=list(report.get("history_lines") or ()), with_json=False,
                          all_figures=True)
    return written


def _report_and_history(path: Path) -> tuple[dict, list[dict]]:
    """A report to fold in (a folder or a JSON file) and its history lines (the folder's, and those it carries)."""
    report = load(path if path.is_file() else path / "latest.json")
    return report, [*(read_history(path) if path.is_dir() else []), *(report.get("history_lines") or ())]


def merge_reports(report_dir: Path, *others: Path) -> Written:
    """Fold other reports (folders or JSON files: ones written on a GPU machine or a cluster node, or the side
    file of a run whose report could not be written) into this one, in the order given: their claims replace ours
    claim by claim, as runs of their own would (each keeping its run header), their seed checks join ours, and the
    history lines our history lacks (by run id) are appended; merging a report twice, or into itself, changes
    nothing more. All or nothing: every other report is read before anything is written, and the fold is
    published once, so one unreadable report leaves this one as it was."""
    if not others:
        raise ReportError("no report to merge was given")
    read = [(other, *_report_and_history(Path(other))) for other in others]
    with locked(report_dir) as folder:
        latest = folder / "latest.json"
        ours = load(latest) if latest.exists() else None
        claims = dict(ours["claims"]) if ours else {}
        runs = dict(ours["runs"]) if ours else {}
        latest_run = ours["latest_run"] if ours else None
        not_run = dict((ours or {}).get("not_run") or {})
        lines = list((ours or {}).get("history_lines") or ())
        for other, theirs, their_lines in read:
            if ours is None and not claims and not theirs["claims"]:
                raise ReportError(f"{other} holds no claims to merge")
            runs.update(theirs["runs"])
            not_run.update(theirs.get("not_run") or {})
            for claim_id, entry in theirs["claims"].items():
                claims[claim_id] = _merge_claim(claims.get(claim_id), entry, runs[entry["run_id"]], runs,
                                                checks=entry.get("seed_checks", ()))
                not_run.pop(claim_id, None)
            if latest_run is None or theirs["runs"][theirs["latest_run"]]["date"] >= runs[latest_run]["date"]:
                latest_run = theirs["latest_run"]
            lines += their_lines
        report = _assembled(claims, runs, latest_run, not_run)
        try:
            return publish(folder, report, history=lines)
        except NotCommitted as error:
            raise ReportError(f"nothing merged into {folder} ({error}); nothing there changed") from None


def keep_evidence(report_dir: Path, header: dict, entries: dict, history: list[dict]) -> Path:
    """This run's evidence in a side file (when the report cannot take it), so that nothing measured is lost: a
    report of its own, with the history lines, that `sgdcheck-report DIR --merge FILE` folds in."""
    name = f"evidence-{header['run_id']}.json"
    data = dumps({"schema": SCHEMA, "latest_run": header["run_id"], "runs": {header["run_id"]: header},
                  "claims": {cid: {**e, "seed_checks": []} for cid, e in entries.items()}, "history_lines": history})
    failures = []
    for folder in (Path(report_dir), Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            files.write_text(folder / name, data)
            return folder / name
        except OSError as error:
            failures.append(f"{folder}: {error.strerror or error}")
            with contextlib.suppress(OSError):
                (folder / name).unlink()
    raise ReportError("this run's evidence could not be kept anywhere (" + "; ".join(failures) + ")")
