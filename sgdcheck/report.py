"""Replication reports: evidence -> latest.json, latest.md, figures/, history.jsonl.

Writing is all-or-nothing: every file is first written into a staging folder next to the report
and only then moved into place (os.replace is atomic), so an interrupted or failing run leaves
the previous report intact; a file lock serialises sessions that write one folder at once. A report
can be redrawn from its JSON: `sgdcheck-report reports/`.

Schema 2 (this one) stores each verdict as data (`decision`: estimate, interval, predicted range,
margin, parts) for the claim, every case and the negative control, headline values as numbers, the
seed offset of the run, the commits the runs were computed at, and `seed_checks`: the verdicts of
the same claims on disjoint seeds. Schema 1 reports are still read.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import os
import platform
import shutil
import sys
import tempfile
import uuid
from importlib import metadata
from pathlib import Path

from .errors import ReportError
from .figures import render
from .fingerprint import code_commit
from .quantity import display
from .stats import INCONCLUSIVE, REFUTED, REPLICATED, Verdict, combine, decided_by

SCHEMA = 2
READABLE_SCHEMAS = (1, 2)
CASE_FIELDS = ("case", "verdict", "reason", "decision", "measured", "details", "findings", "negative_control",
               "seeds", "duration_s", "test", "figures", "runs_computed_at")
LOCK_TIMEOUT_S = 600


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def run_header(scale: str, device: str, root: Path, command: str = "", seed_offset: int = 0) -> dict:
    """Who ran what, where: commit, versions, device, date. Where the code was copied without its git
    history (a cluster node, a GPU machine), SGDCHECK_COMMIT names the commit it was copied from."""
    return {
        "run_id": uuid.uuid4().hex[:12],
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": code_commit(Path(root)),
        "scale": scale,
        "seed_offset": seed_offset,
        "device": device,
        "python": platform.python_version(),
        "torch": _version("torch"),
        "numpy": _version("numpy"),
        "scipy": _version("scipy"),
        "hypothesis": _version("hypothesis"),
        "platform": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores",
        "command": command,
    }


def _known(cases: list[dict], key: str) -> str | None:
    """The reasons the cases marked as known outcomes give, each labelled with its case."""
    reasons = [_labelled(c, c[key]) for c in cases if c.get(key)]
    return "; ".join(reasons) or None


def is_known(entry: dict) -> bool:
    """Whether a claim's verdict is the outcome declared beforehand (a known refutation that came out
    refuted, a known inconclusive that came out inconclusive)."""
    return bool((entry["verdict"] == REFUTED and entry.get("known_refutation"))
                or (entry["verdict"] == INCONCLUSIVE and entry.get("known_inconclusive")))


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
            "measured": _measured(cases),
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


def _measured(cases: list[dict]):
    """A claim's measurements: one case's as they are; several cases' merged into one table where each
    case reports its own quantities, else keyed by case."""
    if len(cases) == 1:
        return cases[0]["measured"]
    tables = [c["measured"] for c in cases]
    if all(isinstance(t, dict) for t in tables):
        keys = [k for t in tables for k in t]
        if len(keys) == len(set(keys)):
            return {k: v for t in tables for k, v in t.items()}
    return {c["case"]: c["measured"] for c in cases}


def measurements(entry: dict):
    """The measurements of a report entry, rebuilt from its cases where it has them (so a report written
    before the cases were merged into one table renders like a new one)."""
    return _measured(entry["cases"]) if entry.get("cases") else entry["measured"]


def _labelled(case: dict, text: str) -> str:
    return f"[{case['case']}] {text}" if case.get("case") else text


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


def figure_name(claim_id: str, case: str, name: str) -> str:
    """figures/<claim id>[-<case>]--<name>.png, with anything but letters, digits, '.', '-' as '_'."""
    stem = f"{claim_id}-{case}--{name}" if case else f"{claim_id}--{name}"
    return "figures/" + "".join(ch if ch.isalnum() or ch in ".-" else "_" for ch in stem) + ".png"


def write(report_dir: Path, header: dict, payloads: list[dict]) -> Path:
    """Merge this run's evidence into the report folder, atomically. Returns latest.md's path."""
    entries = claim_entries(payloads, header["run_id"])
    with locked(report_dir) as folder:
        return _write_locked(folder, header, entries)


def _write_locked(report_dir: Path, header: dict, entries: dict) -> Path:
    latest = report_dir / "latest.json"
    try:
        previous = load(latest) if latest.exists() else None
    except ReportError as error:
        kept = _keep_evidence(report_dir, header, entries)
        raise ReportError(f"{error}. This run's evidence is kept in {kept}: fold it in with "
                          f"'sgdcheck-report {report_dir} --merge' once latest.json is repaired") from None
    report = merge(previous, header, entries)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=report_dir))
    try:
        replaced = {cid for cid, c in report["claims"].items() if c["run_id"] == header["run_id"]}
        figures = _render_figures(report, staging, only=replaced)       # seed checks draw nothing
        (staging / "latest.md").write_text(markdown(report))
        (staging / "latest.json").write_text(json.dumps(report, indent=1, sort_keys=False) + "\n")
        history_line = json.dumps({"run": header, "verdicts": {
            cid: history_record(c) for cid, c in entries.items()}}) + "\n"
        (report_dir / "figures").mkdir(exist_ok=True)
        for relative in figures:
            os.replace(staging / relative, report_dir / relative)
        os.replace(staging / "latest.md", report_dir / "latest.md")
        os.replace(staging / "latest.json", latest)
        with open(report_dir / "history.jsonl", "a") as history:
            history.write(history_line)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return report_dir / "latest.md"


def history_record(entry: dict) -> dict:
    """One claim's line in history.jsonl: the verdicts, the margin and the headline numbers with intervals."""
    decision = entry.get("decision") or {}
    return {"verdict": entry["verdict"], "negative_control": entry["negative_control"]["verdict"],
            "seed_offset": entry.get("seed_offset", 0), "estimate": decision.get("estimate"),
            "interval": decision.get("interval"), "margin": decision.get("margin"),
            "margin_halfwidths": decision.get("margin_halfwidths"), "measured": entry["measured"]}


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


VERDICT_MARK = {REPLICATED: "✅ replicated", REFUTED: "❌ refuted", INCONCLUSIVE: "❔ inconclusive"}


def paired(entry: dict) -> list[tuple[str, object, object]]:
    """(quantity, paper, measured) for the quantities a claim reports on both sides, in the paper's order."""
    measured = measurements(entry)
    measured = measured if isinstance(measured, dict) else {}
    return [(key, value, measured[key]) for key, value in (entry["paper"] or {}).items() if key in measured]


def headline(entry: dict, side: str, limit: int = 110) -> str:
    """The summary-table text: 'quantity: value' for the paired quantities of one side."""
    pairs = paired(entry)
    if not pairs:
        return _short(measurements(entry) if side == "measured" else entry["paper"], limit)
    index = 2 if side == "measured" else 1
    return _short("; ".join(f"{p[0]}: {_plain(p[index])}" for p in pairs), limit)


def _plain(value) -> str:
    """Text for a table cell: strings as they are, a quantity's text, numbers to 4 significant digits (the JSON
    keeps all)."""
    if isinstance(value, str):
        return value
    return display(value)


def _short(value, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def markdown(report: dict) -> str:
    """The human report: a summary table, then one section per claim with its figures."""
    runs = report["runs"]
    latest = runs[report["latest_run"]]
    lines = [
        "# sgdcheck replication report", "",
        f"Latest run `{latest['run_id']}` on {latest['date']}: scale **{latest['scale']}**, "
        f"device {latest['device']}, commit `{latest['git_commit']}`; Python {latest['python']}, "
        f"torch {latest['torch']}, numpy {latest['numpy']}, scipy {latest['scipy']}, "
        f"hypothesis {latest['hypothesis']}; {latest['platform']}.", "",
        "Verdicts are computed from the measurements by `sgdcheck.stats`; each claim's negative control "
        "(the same experiment with a deliberately wrong prediction) must come out refuted. *Margin*: how far "
        "the deciding interval is from the bound that would change the verdict, in half-widths of that "
        "interval (negative: undecided; for a claim of several parts, the part nearest to changing). "
        "*Other seeds*: the verdicts of the claim and its control on a disjoint set of seeds.", "",
        *_provenance_notes(report),
        "| claim | source | verdict | margin | negative control | control margin | other seeds | measured | paper "
        "| time (s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in report["claims"].values():
        verdict = VERDICT_MARK[c["verdict"]] + (" (known)" if is_known(c) else "")
        lines.append(
            f"| [{c['id']}](#{_anchor(c['id'])}) | {c['source']} | {verdict} | {margin_text(c.get('decision'))} | "
            f"{VERDICT_MARK[c['negative_control']['verdict']]} | "
            f"{margin_text(c['negative_control'].get('decision'))} | {_checks_text(c)} | {headline(c, 'measured')} | "
            f"{headline(c, 'paper')} | {c['duration_s']:.1f} |")
    counts = {v: sum(c["verdict"] == v for c in report["claims"].values()) for v in VERDICT_MARK}
    checked = [k for c in report["claims"].values() for k in c.get("seed_checks", ())]
    lines += ["", "Totals: " + ", ".join(f"{n} {v}" for v, n in counts.items())
              + (f"; on other seeds {sum(k['agrees'] for k in checked)} of {len(checked)} claims came out the same"
                 if checked else ""), ""]
    for c in report["claims"].values():
        run = runs[c["run_id"]]
        lines += [
            f"## {c['id']}", "",
            f"**Source:** {c['source']}  ", f"**Statement:** {c['statement']}  ",
            f"**Verdict:** {VERDICT_MARK[c['verdict']]}: {c['reason']}  ",
        ]
        if c.get("known_refutation"):
            lines.append(f"**Known refutation:** {c['known_refutation']}  ")
        if c.get("known_inconclusive"):
            lines.append(f"**Known inconclusive:** {c['known_inconclusive']}  ")
        lines += [
            f"**Negative control:** {c['negative_control']['statement']}: "
            f"{VERDICT_MARK[c['negative_control']['verdict']]} ({c['negative_control']['reason']})  ",
            f"**Run:** `{run['run_id']}` {run['date']}, scale {c['scale']}, seeds {c['seeds']}, "
            f"device {c['device']}, {c['duration_s']:.1f} s  ",
            *[f"**On seeds {k['seeds']}:** claim {VERDICT_MARK[k['verdict']]}, control "
              f"{VERDICT_MARK[k['negative_control']]}, margin {margin_text(k)} "
              f"({'the same verdicts' if k['agrees'] else 'DIFFERENT verdicts'}; run `{k['run_id']}`, "
              f"{k['git_commit']})  " for k in c.get("seed_checks", ())],
            *_decision_lines(c), "",
            "| quantity | paper | measured |", "|---|---|---|",
        ]
        measured = measurements(c)
        measured = measured if isinstance(measured, dict) else {"value": measured}
        paper = c["paper"] if isinstance(c["paper"], dict) else {"value": c["paper"]}
        shared = [key for key in paper if key in measured]
        for key in [*shared, *[k for k in paper if k not in measured], *[k for k in measured if k not in paper]]:
            lines.append(f"| {key} | {_cell(paper.get(key, '—'), 120)} | {_cell(measured.get(key, '—'), 200)} |")
        if c["findings"]:
            lines += ["", "**Findings:**", *[f"- {f}" for f in c["findings"]]]
        if c.get("notes"):
            lines += ["", f"*Notes:* {c['notes']}"]
        for case in c["cases"]:
            for name in (case.get("figures") or {}):
                lines += ["", f"![{c['id']} {name}]({figure_name(c['id'], case['case'], name)})"]
        lines.append("")
    return "\n".join(lines)


def _cell(value, limit: int) -> str:
    return _short(_plain(value), limit).replace("|", "\\|")


def margin_text(decision: dict | None) -> str:
    """'+2.3 hw' for a margin of 2.3 interval half-widths; '—' where the verdict has none (exact rules)."""
    if not decision or decision.get("margin_halfwidths") is None:
        return "—"
    value = decision["margin_halfwidths"]
    if isinstance(value, str):                       # "inf": an interval of zero width
        return "exact" if not value.startswith("-") else "−exact"
    return f"{value:+.2g} hw"


def _checks_text(entry: dict) -> str:
    checks = entry.get("seed_checks") or []
    if not checks:
        return "—"
    return "; ".join(("✅ same" if k["agrees"] else f"❗ {k['verdict']} / control {k['negative_control']}")
                     for k in checks)


def _decision_lines(entry: dict) -> list[str]:
    """The numbers that decided the verdict and the control: the deciding interval, the prediction, the margin."""
    lines = []
    for label, decision in (("claim", entry.get("decision")), ("control", entry["negative_control"].get("decision"))):
        if not decision or decision.get("margin") is None:
            continue
        interval, predicted = decision.get("interval") or {}, decision.get("predicted") or {}
        bounds = f"[{_num(predicted.get('low'))}, {_num(predicted.get('high'))}]" if predicted else "—"
        lines.append(f"**Decided by ({label}):** {decision.get('what') or 'the value'}: "
                     f"{_num(interval.get('estimate'))} [{_num(interval.get('low'))}, {_num(interval.get('high'))}] "
                     f"({interval.get('method', '')}) against {bounds}; margin {_num(decision['margin'])} "
                     f"({margin_text(decision)}){', ' + decision['correction'] if decision.get('correction') else ''}  ")
    return lines


def _num(value) -> str:
    if value is None:
        return "open"
    return f"{value:.4g}" if isinstance(value, (int, float)) else str(value)


def _provenance_notes(report: dict) -> list[str]:
    """A note for entries whose runs were computed at another commit than the one that made the entry."""
    notes = []
    for c in report["claims"].values():
        commit = report["runs"][c["run_id"]]["git_commit"]
        other = [x for x in c.get("runs_computed_at") or () if x != commit]
        if other:
            notes.append(f"- `{c['id']}` (run at `{commit}`) read cached runs computed at "
                         + ", ".join(f"`{x}`" for x in other))
    if not notes:
        return []
    return ["Entries that read training runs computed at another commit (the run cache is keyed on the "
            "training code, so those runs are valid for the code of the entry):", "", *notes, ""]


def _anchor(claim_id: str) -> str:
    return "".join(ch for ch in claim_id.lower() if ch.isalnum() or ch in "- ").replace(" ", "-")


def redraw(report_dir: Path) -> Path:
    """Regenerate latest.md and every figure from latest.json, atomically."""
    report_dir = Path(report_dir)
    report = load(report_dir / "latest.json")
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=report_dir))
    try:
        figures = _render_figures(report, staging)
        (staging / "latest.md").write_text(markdown(report))
        (report_dir / "figures").mkdir(exist_ok=True)
        for relative in figures:
            os.replace(staging / relative, report_dir / relative)
        os.replace(staging / "latest.md", report_dir / "latest.md")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return report_dir / "latest.md"


def merge_reports(report_dir: Path, other_dir: Path) -> Path:
    """Fold another report folder (one written on a GPU machine or a cluster node) into this one: its
    claims replace ours claim by claim, each keeping its own run header; then redraw, atomically."""
    other_path = Path(other_dir)
    other = load(other_path if other_path.is_file() else other_path / "latest.json")
    with locked(report_dir) as folder:
        return _merge_locked(folder, other, other_path)


def _merge_locked(report_dir: Path, other: dict, other_dir: Path) -> Path:
    latest = report_dir / "latest.json"
    report = load(latest) if latest.exists() else None
    for run_id, header in other["runs"].items():
        entries = {cid: c for cid, c in other["claims"].items() if c["run_id"] == run_id}
        if entries:
            report = merge(report, header, entries)
    if report is None:
        raise ReportError(f"{other_dir} holds no claims to merge")
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=report_dir))
    try:
        (staging / "latest.json").write_text(json.dumps(report, indent=1, sort_keys=False) + "\n")
        history = Path(other_dir) / "history.jsonl"
        lines = history.read_text() if history.is_file() else ""
        os.replace(staging / "latest.json", latest)
        if lines:
            with open(report_dir / "history.jsonl", "a") as target:
                target.write(lines)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return redraw(report_dir)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["diff"]:
        return _diff_main(argv[1:])
    parser = argparse.ArgumentParser(prog="sgdcheck-report",
                                     description="Redraw a replication report (Markdown and figures) from its JSON.")
    parser.add_argument("report_dir", nargs="?", default="reports")
    parser.add_argument("--merge", metavar="OTHER_DIR",
                        help="first fold the report in OTHER_DIR (e.g. one written on another machine) into it")
    args = parser.parse_args(argv)
    try:
        path = merge_reports(Path(args.report_dir), Path(args.merge)) if args.merge else redraw(Path(args.report_dir))
    except ReportError as error:
        print(f"sgdcheck-report: {error}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


def _diff_main(argv: list[str]) -> int:
    from . import diff

    parser = argparse.ArgumentParser(prog="sgdcheck-report diff",
                                     description="What changed between two reports (folders or latest.json files); "
                                                 "exit status 1 on a verdict change that no known marker declares.")
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--output", help="also write the Markdown here (e.g. $GITHUB_STEP_SUMMARY)")
    args = parser.parse_args(argv)
    try:
        text, status = diff.run(args.old, args.new)
    except ReportError as error:
        print(f"sgdcheck-report diff: {error}", file=sys.stderr)
        return 2
    print(text)
    if args.output:
        with open(args.output, "a") as out:
            out.write(text + "\n")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
