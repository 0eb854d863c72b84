"""The Markdown report (latest.md): a summary table, then one section per claim with its figures."""
from __future__ import annotations

from .entries import figures, is_known, table_rows
from .provenance import foreign_runs, other_engine
from .text import (VERDICT_MARK, anchor, decision_text, design_lines, deviation_count, deviation_lines, headline,
                   looks_text, margin_text, plain, quote_text, sampling_text, seed_checks_text, short, threshold_lines)

LEGEND = ("Verdicts are computed from the measurements by `sgdcheck.stats`; each claim's negative control "
          "(the same experiment judged against a plausible rival's prediction: another paper's, or the claim's key "
          "number moved a little) must come out refuted. *Margin*: how far "
          "the deciding interval is from the bound that would change the verdict, in half-widths of that "
          "interval (negative: undecided; for a claim of several parts, the part nearest to changing). "
          "*Other seeds*: the verdicts of the claim and its control on a disjoint set of seeds. *Seeds*: how many "
          "seeds the claim used and at which look of its sequential design it stopped (*cap*: it reached its cap "
          "undecided, or decided by less than the minimum margin; each look is judged at 1/K of the error rate, "
          "K the planned looks).")


def _engine_md(run: dict) -> str:
    engine = other_engine(run)
    return f" (sgdcheck `{engine}`)" if engine else ""


def run_line(run: dict) -> str:
    return (f"Latest run `{run['run_id']}` on {run['date']}: scale **{run['scale']}**, "
            f"device {run['device']}, commit `{run['git_commit']}`{_engine_md(run)}; Python {run['python']}, "
            f"torch {run['torch']}, numpy {run['numpy']}, scipy {run['scipy']}, "
            f"hypothesis {run['hypothesis']}; {run['platform']}.")


def totals_line(report: dict) -> str:
    claims = report["claims"].values()
    counts = {v: sum(c["verdict"] == v for c in claims) for v in VERDICT_MARK}
    checked = [k for c in claims for k in c.get("seed_checks", ())]
    return ("Totals: " + ", ".join(f"{n} {v}" for v, n in counts.items())
            + (f"; on other seeds {sum(k['agrees'] for k in checked)} of {len(checked)} claims came out the same"
               if checked else ""))


def markdown(report: dict) -> str:
    runs = report["runs"]
    lines = ["# sgdcheck replication report", "", run_line(runs[report["latest_run"]]), "", LEGEND, "",
             *_provenance_notes(report),
             "| claim | source | deviations | verdict | margin | seeds | negative control | control margin | other seeds "
             "| measured | paper | time (s) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in report["claims"].values():
        verdict = VERDICT_MARK[c["verdict"]] + (" (known)" if is_known(c) else "")
        lines.append(
            f"| [{c['id']}](#{anchor(c['id'])}) | {c['source']} | {deviation_count(c)} | {verdict} | "
            f"{margin_text(c.get('decision'))} | {looks_text(c)} | "
            f"{VERDICT_MARK[c['negative_control']['verdict']]} | "
            f"{margin_text(c['negative_control'].get('decision'))} | {seed_checks_text(c)} | "
            f"{headline(c, 'measured')} | {headline(c, 'paper')} | {c['duration_s']:.1f} |")
    lines += ["", totals_line(report), "", *not_run_lines(report)]
    for c in report["claims"].values():
        lines += _section(c, runs[c["run_id"]])
    return "\n".join(lines)


def not_run_lines(report: dict) -> list[str]:
    """The claims the latest run of their own skipped at this scale, with the claim's reason (no entry stands
    for them: an older run's would not be this scale's evidence under the current code)."""
    not_run = report.get("not_run") or {}
    if not not_run:
        return []
    return ["Not run at this scale:", "",
            *[f"- **{cid}**: {why['reason']} (run `{why['run_id']}`)" for cid, why in not_run.items()], ""]


def _section(c: dict, run: dict) -> list[str]:
    lines = [f"## {c['id']}", "",
             f"**Source:** {c['source']}  ",
             *([f"**In its words:** {quote_text(c)}  "] if quote_text(c) else []),
             f"**Statement:** {c['statement']}  ",
             f"**Verdict:** {VERDICT_MARK[c['verdict']]}: {c['reason']}  "]
    if c.get("known_refutation"):
        lines.append(f"**Known refutation:** {c['known_refutation']}  ")
    if c.get("known_inconclusive"):
        lines.append(f"**Known inconclusive:** {c['known_inconclusive']}  ")
    lines += [
        f"**Negative control:** {c['negative_control']['statement']}: "
        f"{VERDICT_MARK[c['negative_control']['verdict']]} ({c['negative_control']['reason']})  ",
        f"**Run:** `{run['run_id']}` {run['date']}, scale {c['scale']}, seeds {c['seeds']}, "
        f"device {c['device']}, {c['duration_s']:.1f} s  ",
        *([f"**Minibatches:** {sampling_text(c)}  "] if c.get("sampling") else []),
        *[f"**Seeds:** {line}  " for line in design_lines(c)],
        *[f"**On seeds {k['seeds']}:** claim {VERDICT_MARK[k['verdict']]}, control "
          f"{VERDICT_MARK[k['negative_control']]}, margin {margin_text(k)}"
          f"{', ' + looks_text({}, k['looks']) + ' seeds' if k.get('looks') else ''} "
          f"({'the same verdicts' if k['agrees'] else 'DIFFERENT verdicts'}; run `{k['run_id']}`, "
          f"{k['git_commit']})  " for k in c.get("seed_checks", ())],
        *[f"**Decided by ({label}):** {decision_text(d)}  " for label, d in decisions(c)], "",
        "| quantity | paper | measured |", "|---|---|---|",
        *[f"| {key} | {_cell(paper, 120)} | {_cell(measured, 200)} |" for key, paper, measured in table_rows(c)],
    ]
    if c.get("deviations"):
        lines += ["", f"**How the test differs from the source ({len(c['deviations'])}):**",
                  *[f"- {line}" for line in deviation_lines(c)]]
    if c.get("thresholds"):
        lines += ["", "**Where the thresholds come from:**", *[f"- {line}" for line in threshold_lines(c)]]
    if c["findings"]:
        lines += ["", "**Findings:**", *[f"- {f}" for f in c["findings"]]]
    if c.get("notes"):
        lines += ["", f"*Notes:* {c['notes']}"]
    for name, path in figures(c):
        lines += ["", f"![{c['id']} {name}]({path})"]
    lines.append("")
    return lines


def decisions(entry: dict) -> list[tuple[str, dict]]:
    """('claim' | 'control', decision) for the verdicts of an entry that were decided by numbers."""
    pairs = (("claim", entry.get("decision")), ("control", entry["negative_control"].get("decision")))
    return [(label, d) for label, d in pairs if d and d.get("margin") is not None]


def _cell(value, limit: int) -> str:
    return short(plain(value), limit).replace("|", "\\|")


def _provenance_notes(report: dict) -> list[str]:
    notes = [f"- `{cid}` (run with sgdcheck at `{commit}`) read cached runs computed at " + ", ".join(f"`{x}`" for x in other)
             for cid, commit, other in foreign_runs(report)]
    if not notes:
        return []
    return ["Entries that read training runs computed at another commit (the run cache is keyed on the "
            "training code, so those runs are valid for the code of the entry):", "", *notes, ""]
