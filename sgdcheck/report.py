"""Replication reports: evidence -> latest.json, latest.md, figures/, history.jsonl.

Writing is all-or-nothing: every file is first written into a staging folder next to the report
and only then moved into place (os.replace is atomic), so an interrupted or failing run leaves
the previous report intact. A report can be redrawn from its JSON: `sgdcheck-report reports/`.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import uuid
from importlib import metadata
from pathlib import Path

from .errors import ReportError
from .figures import render
from .stats import INCONCLUSIVE, REFUTED, REPLICATED, Verdict, combine

SCHEMA = 1
CASE_FIELDS = ("case", "verdict", "reason", "measured", "details", "findings", "negative_control",
               "seeds", "duration_s", "test", "figures")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git(*args: str, cwd: Path) -> str:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10,
                              check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def run_header(scale: str, device: str, root: Path, command: str = "") -> dict:
    """Who ran what, where: commit, versions, device, date. Where the code was copied without its git
    history (a cluster node, a GPU machine), SGDCHECK_COMMIT names the commit it was copied from."""
    commit = _git("rev-parse", "HEAD", cwd=root) or os.environ.get("SGDCHECK_COMMIT", "") or "unknown"
    # the reports being regenerated do not make the code dirty
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)reports", cwd=root))
    return {
        "run_id": uuid.uuid4().hex[:12],
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": commit + ("+dirty" if dirty else ""),
        "scale": scale,
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
        main = combine([Verdict(c["verdict"], _labelled(c, c["reason"])) for c in cases])
        controls = [c["negative_control"] for c in cases]
        control_ok = all(c["verdict"] == REFUTED for c in controls)
        entries[claim_id] = {
            "id": claim_id,
            "source": first["source"],
            "statement": first["statement"],
            "verdict": main.verdict,
            "reason": main.reason,
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
            },
            "known_refutation": _known(cases, "known_refutation"),
            "known_inconclusive": _known(cases, "known_inconclusive"),
            "findings": [f for c in cases for f in c["findings"]],
            "duration_s": round(sum(c.get("duration_s", 0.0) for c in cases), 3),
            "run_id": run_id,
            "cases": [{k: c.get(k) for k in CASE_FIELDS} for c in cases],
        }
    return entries


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


def load(path: Path) -> dict:
    """Read a report JSON, with a clear error when it is not one."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ReportError(f"no report at {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ReportError(f"{path} is not a valid report (corrupt JSON: {error}); "
                          f"delete it or restore it from git, then run again") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or "claims" not in data:
        raise ReportError(f"{path} is not an sgdcheck report of schema {SCHEMA}")
    return data


def merge(previous: dict | None, header: dict, entries: dict[str, dict]) -> dict:
    """Claims run now replace their old entries; the others keep theirs, with their own run header."""
    claims = dict(previous["claims"]) if previous else {}
    runs = dict(previous["runs"]) if previous else {}
    claims.update(entries)
    runs[header["run_id"]] = header
    used = {c["run_id"] for c in claims.values()}
    return {"schema": SCHEMA, "latest_run": header["run_id"],
            "runs": {k: v for k, v in runs.items() if k in used},
            "claims": dict(sorted(claims.items()))}


def figure_name(claim_id: str, case: str, name: str) -> str:
    """figures/<claim id>[-<case>]--<name>.png, with anything but letters, digits, '.', '-' as '_'."""
    stem = f"{claim_id}-{case}--{name}" if case else f"{claim_id}--{name}"
    return "figures/" + "".join(ch if ch.isalnum() or ch in ".-" else "_" for ch in stem) + ".png"


def write(report_dir: Path, header: dict, payloads: list[dict]) -> Path:
    """Merge this run's evidence into the report folder, atomically. Returns latest.md's path."""
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    latest = report_dir / "latest.json"
    previous = load(latest) if latest.exists() else None
    entries = claim_entries(payloads, header["run_id"])
    report = merge(previous, header, entries)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=report_dir))
    try:
        figures = _render_figures(report, staging, only=set(entries))
        (staging / "latest.md").write_text(markdown(report))
        (staging / "latest.json").write_text(json.dumps(report, indent=1, sort_keys=False) + "\n")
        history_line = json.dumps({"run": header, "verdicts": {
            cid: {"verdict": c["verdict"], "negative_control": c["negative_control"]["verdict"]}
            for cid, c in report["claims"].items() if c["run_id"] == header["run_id"]}}) + "\n"
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
    """Text for a table cell: strings as they are, a bare number to 4 significant digits (the JSON keeps all)."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:.4g}"
    return json.dumps(value, ensure_ascii=False)


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
        "(the same experiment with a deliberately wrong prediction) must come out refuted.", "",
        "| claim | source | verdict | negative control | measured | paper | time (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in report["claims"].values():
        verdict = VERDICT_MARK[c["verdict"]] + (" (known)" if is_known(c) else "")
        lines.append(
            f"| [{c['id']}](#{_anchor(c['id'])}) | {c['source']} | {verdict} | "
            f"{VERDICT_MARK[c['negative_control']['verdict']]} | {headline(c, 'measured')} | "
            f"{headline(c, 'paper')} | {c['duration_s']:.1f} |")
    counts = {v: sum(c["verdict"] == v for c in report["claims"].values()) for v in VERDICT_MARK}
    lines += ["", "Totals: " + ", ".join(f"{n} {v}" for v, n in counts.items()), ""]
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
            f"device {c['device']}, {c['duration_s']:.1f} s", "",
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
    report_dir, other = Path(report_dir), load(Path(other_dir) / "latest.json")
    report_dir.mkdir(parents=True, exist_ok=True)
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
        lines = history.read_text() if history.exists() else ""
        os.replace(staging / "latest.json", latest)
        if lines:
            with open(report_dir / "history.jsonl", "a") as target:
                target.write(lines)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return redraw(report_dir)


def main(argv: list[str] | None = None) -> int:
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


if __name__ == "__main__":
    raise SystemExit(main())
