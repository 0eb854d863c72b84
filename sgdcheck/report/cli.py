"""`sgdcheck-report`: redraw a report from its JSON, fold another machine's report in, or diff two reports."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import ReportError
from . import diff
from .fidelity import fidelity_page
from .results import load, merge_reports, redraw
from .stale import CHECKS_SAME, CURRENT, stale_entries


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["diff"]:
        return diff_main(argv[1:])
    if argv[:1] == ["deviations"]:
        return deviations_main(argv[1:])
    if argv[:1] == ["stale"]:
        return stale_main(argv[1:])
    parser = argparse.ArgumentParser(prog="sgdcheck-report",
                                     description="Redraw a replication report (Markdown, HTML dashboard and figures) "
                                                 "from its JSON. 'sgdcheck-report diff OLD NEW' compares two reports; "
                                                 "'sgdcheck-report deviations [DIR]' lists every claim with how its test "
                                                 "differs from its source; 'sgdcheck-report stale [DIR]' lists the "
                                                 "entries not made by the code now here.")
    parser.add_argument("report_dir", nargs="?", default="reports")
    parser.add_argument("--merge", metavar="OTHER", action="append", default=[],
                        help="first fold the report in OTHER (a report folder, e.g. one written on another machine, "
                             "or a JSON file such as the evidence-*.json side file of a run) into it; repeat to fold "
                             "several, in the order given, all or nothing")
    args = parser.parse_args(argv)
    if not args.report_dir:
        parser.error("the report folder must not be empty")
    try:
        written = (merge_reports(Path(args.report_dir), *map(Path, args.merge)) if args.merge
                   else redraw(Path(args.report_dir)))
    except ReportError as error:
        print(f"sgdcheck-report: {error}", file=sys.stderr)
        return 2
    print(f"wrote in {written.folder}: {', '.join(written.files) or 'nothing new'}")
    for problem in written.problems:
        print(f"sgdcheck-report: not written: {problem}", file=sys.stderr)
    return 2 if written.problems else 0


def diff_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="sgdcheck-report diff",
                                     description="What changed between two reports (folders or latest.json files); "
                                                 "exit status 1 on a verdict change that no known marker declares or a "
                                                 "claim that is gone, 2 on bad input.")
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--output", help="also append the Markdown to this file (e.g. $GITHUB_STEP_SUMMARY)")
    args = parser.parse_args(argv)
    try:
        text, status = diff.run(args.old, args.new)
    except ReportError as error:
        print(f"sgdcheck-report diff: {error}", file=sys.stderr)
        return 2
    print(text)
    if args.output:
        try:
            with open(args.output, "a") as out:
                out.write(text + "\n")
        except OSError as error:
            print(f"sgdcheck-report diff: cannot write --output {args.output}: {error.strerror or error}",
                  file=sys.stderr)
            return 2
    return status


def deviations_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="sgdcheck-report deviations",
                                     description="Every claim of a report with its quote, its deviations from the source "
                                                 "and where its thresholds come from, on one Markdown page.")
    parser.add_argument("report", nargs="?", default="reports", help="a report folder or latest.json file")
    parser.add_argument("--output", help="write the page to this file instead of printing it")
    args = parser.parse_args(argv)
    path = Path(args.report)
    try:
        text = fidelity_page(load(path if path.is_file() else path / "latest.json"))
    except ReportError as error:
        print(f"sgdcheck-report deviations: {error}", file=sys.stderr)
        return 2
    if not args.output:
        print(text)
        return 0
    try:
        Path(args.output).write_text(text + "\n")
    except OSError as error:
        print(f"sgdcheck-report deviations: cannot write --output {args.output}: {error.strerror or error}",
              file=sys.stderr)
        return 2
    return 0


def stale_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="sgdcheck-report stale",
                                     description="Which entries of a report were not made by the code now in the "
                                                 "checkout (their claim module, the engine modules it reaches, the "
                                                 "verdict rules or the seed design changed since, or they predate "
                                                 "the record), and whether each entry's seed checks were made by the "
                                                 "entry's own code (an entry made under another minor Python is "
                                                 "compared through the files of its commit); exit status 1 when any entry is not current, 2 on "
                                                 "bad input.")
    parser.add_argument("report", nargs="?", default="reports", help="a report folder or latest.json file")
    parser.add_argument("--root", default=".", help="the folder the report's test ids are relative to (the pytest "
                                                     "root of the claims; default: here)")
    parser.add_argument("--modules", action="store_true",
                        help="print only the claim modules to run again, one per line (for a shell loop)")
    args = parser.parse_args(argv)
    path = Path(args.report)
    try:
        rows = stale_entries(load(path if path.is_file() else path / "latest.json"), Path(args.root))
    except ReportError as error:
        print(f"sgdcheck-report stale: {error}", file=sys.stderr)
        return 2
    behind = [row for row in rows if row["status"] != CURRENT]
    if args.modules:
        print("\n".join(dict.fromkeys(row["module"] for row in behind if row["module"])))
    else:
        width = max([len(row["id"]) for row in rows] + [5])
        print(f"{'claim':{width}}  {'entry':22}  {'compared by':20}  {'seed checks':11}  module  "
              f"[changed since the entry's commit]")
        for row in rows:
            changed = row.get("changed")
            since = f"  [{', '.join(changed) or 'comments only'}]" if changed is not None else ""
            print(f"{row['id']:{width}}  {row['status']:22}  {row['compared']:20}  {row['checks']:11}  "
                  f"{row['module']}{since}")
        same = sum(row["checks"] == CHECKS_SAME for row in rows)
        print(f"{len(rows) - len(behind)} of {len(rows)} entries made by the code now here; {same} of {len(rows)} "
              f"with seed checks made by the entry's own code")
    return 1 if behind else 0


if __name__ == "__main__":
    raise SystemExit(main())
