"""The HTML dashboard (index.html): one self-contained page that opens from a file with no network.

The verdict table can be filtered by verdict, section and scale (the filter state lives in the page's
address, `index.html#verdict=refuted&section=wu2018`, so a filtered view can be linked); each claim has a
section with its paper-vs-measured table, the numbers that decided it, its figures, and its **trend**
drawn from history.jsonl: the verdicts of the claim and its control run by run, and the deciding
estimate with its interval over runs against the predicted range. Charts are inline SVG drawn here;
the page's only script is the filter.
"""
from __future__ import annotations

import math
from html import escape

from ..quantity import numbers
from ..stats import INCONCLUSIVE, REFUTED, REPLICATED
from .entries import figures, is_known, section, table_rows
from .markdown import LEGEND, decisions, run_line, totals_line
from .provenance import foreign_runs, other_engine
from .text import (anchor, decision_text, design_lines, deviation_count, deviation_lines, headline, looks_text,
                   margin_text, plain, quote_text, sampling_text, short, threshold_lines)

COLOURS = {REPLICATED: "#1a7f37", REFUTED: "#cf222e", INCONCLUSIVE: "#9a6700"}
LABELS = {REPLICATED: "replicated", REFUTED: "refuted", INCONCLUSIVE: "inconclusive"}
TREND_RUNS = 40                      # the most recent runs a trend shows
HEADLINE_SERIES = 4                  # the most headline numbers drawn per claim

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1f2328;background:#fff}
header,main{max-width:1400px;margin:0 auto;padding:0 20px}
h1{font-size:22px;margin:18px 0 4px}h2{font-size:18px;margin:28px 0 6px;border-top:1px solid #d0d7de;padding-top:14px}
h3{font-size:14px;margin:14px 0 4px}
.run,.legend{color:#59636e;font-size:13px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid #d0d7de;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f6f8fa;position:sticky;top:0}
.v{font-weight:600;white-space:nowrap}.v.replicated{color:#1a7f37}.v.refuted{color:#cf222e}
.v.inconclusive{color:#9a6700}.known{color:#59636e;font-weight:400}
.filters{display:flex;gap:14px;align-items:center;margin:12px 0;flex-wrap:wrap}
.filters label{font-size:13px}#shown{color:#59636e;font-size:13px}
.claim figure{margin:8px 0}.claim img{max-width:100%;border:1px solid #d0d7de}
.timeline{display:flex;gap:2px;align-items:center;margin:4px 0}
.cell{width:12px;height:12px;border-radius:2px;display:inline-block}
.cell.control{height:6px}
.cell.check{outline:2px solid #59636e;outline-offset:-2px}
.mini{display:inline-flex;gap:1px}.mini .cell{width:6px;height:10px}
.decided{font-size:13px;margin:2px 0}
svg text{font:11px system-ui,sans-serif;fill:#59636e}
.muted{color:#59636e}
"""

SCRIPT = """
(function(){
  var keys=['verdict','section','scale'];
  function state(){var s={};location.hash.replace(/^#/,'').split('&').forEach(function(p){
    var kv=p.split('=');if(kv.length==2&&keys.indexOf(kv[0])>=0)s[kv[0]]=decodeURIComponent(kv[1]);});return s;}
  function apply(){var s={};keys.forEach(function(k){s[k]=document.getElementById('filter-'+k).value;});
    var shown=0,rows=document.querySelectorAll('#claims tbody tr');
    rows.forEach(function(r){var ok=keys.every(function(k){return !s[k]||r.dataset[k]===s[k];});
      r.hidden=!ok;var sec=document.getElementById('claim-'+r.dataset.anchor);if(sec)sec.hidden=!ok;if(ok)shown++;});
    document.getElementById('shown').textContent=shown+' of '+rows.length+' claims shown';
    document.body.dataset.shown=shown;
    var h=keys.filter(function(k){return s[k];}).map(function(k){return k+'='+encodeURIComponent(s[k]);}).join('&');
    var cur=location.hash.replace(/^#/,''),own=cur===''||keys.some(function(k){return cur.indexOf(k+'=')===0;});
    if(own&&cur!==h)history.replaceState(null,'',h?'#'+h:location.pathname+location.search);}
  function load(){var s=state();keys.forEach(function(k){var el=document.getElementById('filter-'+k);
    el.value=s[k]||'';el.onchange=apply;});apply();}
  window.addEventListener('hashchange',load);
  if(document.readyState==='loading')document.addEventListener('DOMContentLoaded',load);else load();
})();
"""


def dashboard(report: dict, history: list[dict], skipped: int = 0) -> str:
    """The dashboard of a report and its history lines (oldest first), as one HTML document; `skipped` lines of
    the history could not be read."""
    claims = list(report["claims"].values())
    trends = _trends(history)
    body = [
        "<header>", "<h1>sgdcheck replication report</h1>",
        f"<p class=run>{_md_inline(run_line(report['runs'][report['latest_run']]))}</p>",
        f"<p class=run>{escape(totals_line(report))}. {len(history)} run(s) in the history"
        f"{f' ({skipped} unreadable line(s) skipped)' if skipped else ''}.</p>",
        f"<p class=legend>{_md_inline(_legend())}</p>", *_foreign_notes(report), *_not_run_notes(report), "</header>",
        "<main>",
        _filters(claims), _table(claims, trends),
        *[_section(c, report["runs"][c["run_id"]], trends.get(c["id"], [])) for c in claims],
        "</main>",
    ]
    return ("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
            "<meta name=viewport content='width=device-width,initial-scale=1'>"
            f"<title>sgdcheck replication report</title><style>{STYLE}</style></head>\n<body>\n"
            + "\n".join(body) + f"\n<script>{SCRIPT}</script>\n</body></html>\n")


def _legend() -> str:
    return LEGEND + " *Trend*: the verdicts of the claim (tall) and its control (short) over the last runs."


def _md_inline(text: str) -> str:
    """Escape, then turn the Markdown's `code` and **bold** / *italic* into tags."""
    out, parts = [], escape(text).split("`")
    for i, part in enumerate(parts):
        if i % 2:
            out.append(f"<code>{part}</code>")
            continue
        bold = part.split("**")
        part = "".join(f"<b>{p}</b>" if j % 2 else p for j, p in enumerate(bold))
        italic = part.split("*")
        out.append("".join(f"<i>{p}</i>" if j % 2 else p for j, p in enumerate(italic)))
    return "".join(out)


def _engine_html(run: dict) -> str:
    engine = other_engine(run)
    return f" (sgdcheck <code>{escape(engine)}</code>)" if engine else ""


def _foreign_notes(report: dict) -> list[str]:
    found = foreign_runs(report)
    if not found:
        return []
    items = "".join(f"<li><code>{escape(cid)}</code> (run with sgdcheck at <code>{escape(commit)}</code>) read runs computed at "
                    + ", ".join(f"<code>{escape(x)}</code>" for x in other) + "</li>" for cid, commit, other in found)
    return [f"<details class=run><summary>{len(found)} entries read training runs computed at another commit "
            f"(the run cache is keyed on the training code)</summary><ul>{items}</ul></details>"]


def _not_run_notes(report: dict) -> list[str]:
    not_run = report.get("not_run") or {}
    if not not_run:
        return []
    items = "".join(f"<li><code>{escape(cid)}</code>: {escape(why['reason'])}</li>" for cid, why in not_run.items())
    return [f"<details class=run><summary>{len(not_run)} claim(s) not run at this scale</summary><ul>{items}</ul>"
            f"</details>"]


def _filters(claims: list[dict]) -> str:
    def select(key: str, label: str, values) -> str:
        options = "".join(f"<option value='{escape(v)}'>{escape(v)}</option>" for v in values)
        return f"<label>{label} <select id=filter-{key}><option value=''>all</option>{options}</select></label>"

    return ("<div class=filters>"
            + select("verdict", "verdict", [LABELS[v] for v in LABELS if any(c["verdict"] == v for c in claims)])
            + select("section", "section", sorted({section(c["id"]) for c in claims}))
            + select("scale", "scale", sorted({c["scale"] for c in claims}))
            + f"<span id=shown>{len(claims)} of {len(claims)} claims shown</span></div>")


def _verdict(verdict: str, known: bool = False) -> str:
    return (f"<span class='v {verdict}'>{LABELS[verdict]}</span>"
            + (" <span class=known>(known)</span>" if known else ""))


def _seed_checks(entry: dict) -> str:
    checks = entry.get("seed_checks") or []
    if not checks:
        return "—"
    return "; ".join("same" if k["agrees"] else f"<b>different</b>: {_verdict(k['verdict'])} / control "
                     f"{_verdict(k['negative_control'])}" for k in checks)


def _table(claims: list[dict], trends: dict) -> str:
    head = ("<table id=claims><thead><tr><th>claim</th><th>source</th><th title='ways the test differs from its "
            "source'>deviations</th><th>scale</th><th>verdict</th><th>margin</th>"
            "<th title='seeds used (the look it stopped at / planned looks)'>seeds</th>"
            "<th>negative control</th><th>control margin</th><th>other seeds</th><th>measured</th><th>paper</th>"
            "<th>trend</th></tr></thead><tbody>")
    rows = []
    for c in claims:
        a = anchor(c["id"])
        mini = "".join(f"<span class=cell style='background:{COLOURS[p['verdict']]}' "
                       f"title='{escape(p['date'])}: {LABELS[p['verdict']]}'></span>"
                       for p in trends.get(c["id"], [])[-12:])
        rows.append(
            f"<tr data-verdict={c['verdict']} data-section='{escape(section(c['id']))}' data-scale='{escape(c['scale'])}'"
            f" data-anchor='{a}'><td><a href='#claim-{a}' onclick=\"document.getElementById('claim-{a}')"
            f".scrollIntoView();return false;\">{escape(c['id'])}</a></td><td>{escape(c['source'])}</td>"
            f"<td>{escape(deviation_count(c))}</td><td>{escape(c['scale'])}</td><td>{_verdict(c['verdict'], is_known(c))}</td>"
            f"<td>{escape(margin_text(c.get('decision')))}</td><td>{escape(looks_text(c))}</td>"
            f"<td>{_verdict(c['negative_control']['verdict'])}</td>"
            f"<td>{escape(margin_text(c['negative_control'].get('decision')))}</td>"
            f"<td>{_seed_checks(c)}</td><td>{escape(headline(c, 'measured'))}</td>"
            f"<td>{escape(headline(c, 'paper'))}</td><td><span class=mini>{mini}</span></td></tr>")
    return head + "".join(rows) + "</tbody></table>"


def _section(c: dict, run: dict, trend: list[dict]) -> str:
    a = anchor(c["id"])
    parts = [f"<section class=claim id='claim-{a}'><h2>{escape(c['id'])}</h2>",
             f"<p><b>Source:</b> {escape(c['source'])}<br>"
             + (f"<b>In its words:</b> {escape(quote_text(c))}<br>" if quote_text(c) else "")
             + f"<b>Statement:</b> {escape(c['statement'])}<br>"
             f"<b>Verdict:</b> {_verdict(c['verdict'], is_known(c))}: {escape(c['reason'])}"]
    for key, label in (("known_refutation", "Known refutation"), ("known_inconclusive", "Known inconclusive")):
        if c.get(key):
            parts.append(f"<br><b>{label}:</b> {escape(c[key])}")
    control = c["negative_control"]
    parts.append(f"<br><b>Negative control:</b> {escape(control['statement'])}: {_verdict(control['verdict'])} "
                 f"({escape(control['reason'])})<br><b>Run:</b> <code>{escape(run['run_id'])}</code> "
                 f"{escape(run['date'])}, commit <code>{escape(str(run['git_commit']))}</code>{_engine_html(run)}, scale "
                 f"{escape(c['scale'])}, seeds {escape(str(c['seeds']))}, device {escape(c['device'])}, "
                 f"{c['duration_s']:.1f} s" + (f"<br><b>Minibatches:</b> {escape(sampling_text(c))}" if c.get("sampling") else "")
                 + "".join(f"<br><b>Seeds:</b> {escape(line)}" for line in design_lines(c))
                 + "</p>")
    for k in c.get("seed_checks", ()):
        parts.append(f"<p class=decided><b>On seeds {escape(str(k['seeds']))}:</b> claim {_verdict(k['verdict'])}, "
                     f"control {_verdict(k['negative_control'])}, margin {escape(margin_text(k))}"
                     f"{escape(', ' + looks_text({}, k['looks']) + ' seeds') if k.get('looks') else ''} "
                     f"({'the same verdicts' if k['agrees'] else '<b>different verdicts</b>'}; run "
                     f"<code>{escape(k['run_id'])}</code>, {escape(str(k['git_commit']))})</p>")
    for label, decision in decisions(c):
        parts.append(f"<p class=decided><b>Decided by ({label}):</b> {escape(decision_text(decision))}</p>")
    parts.append("<table><thead><tr><th>quantity</th><th>paper</th><th>measured</th></tr></thead><tbody>"
                 + "".join(f"<tr><td>{escape(str(k))}</td><td>{escape(short(plain(p), 200))}</td>"
                           f"<td>{escape(short(plain(m), 300))}</td></tr>" for k, p, m in table_rows(c))
                 + "</tbody></table>")
    if c.get("deviations"):
        parts.append(f"<h3>How the test differs from the source ({len(c['deviations'])})</h3><ul>"
                     + "".join(f"<li>{escape(line)}</li>" for line in deviation_lines(c)) + "</ul>")
    if c.get("thresholds"):
        parts.append("<h3>Where the thresholds come from</h3><ul>"
                     + "".join(f"<li>{escape(line)}</li>" for line in threshold_lines(c)) + "</ul>")
    if c["findings"]:
        parts.append("<h3>Findings</h3><ul>" + "".join(f"<li>{escape(f)}</li>" for f in c["findings"]) + "</ul>")
    if c.get("notes"):
        parts.append(f"<p class=muted><i>Notes:</i> {escape(c['notes'])}</p>")
    parts.append(_trend(c, trend))
    for name, path in figures(c):
        parts.append(f"<figure><img src='{escape(path)}' alt='{escape(c['id'])} {escape(name)}' loading=lazy>"
                     f"<figcaption class=muted>{escape(name)}</figcaption></figure>")
    parts.append("</section>")
    return "\n".join(parts)


# --- trends ------------------------------------------------------------------------------------------------------

def _trends(history: list[dict]) -> dict[str, list[dict]]:
    """Per claim, its records over runs (oldest first): verdicts, deciding estimate and interval, numbers."""
    trends: dict[str, list[dict]] = {}
    for line in history:
        run = line["run"]
        for cid, record in line["verdicts"].items():
            if record.get("verdict") not in LABELS:
                continue
            trends.setdefault(cid, []).append({**record, "run_id": run.get("run_id", ""), "date": run.get("date", ""),
                                               "commit": str(run.get("git_commit", ""))[:12],
                                               "scale": run.get("scale", "")})
    return {cid: points[-TREND_RUNS:] for cid, points in trends.items()}


def _trend(c: dict, points: list[dict]) -> str:
    if not points:
        return "<h3>Trend</h3><p class=muted>No history yet.</p>"
    cells = []
    for p in points:
        check = " check" if p.get("seed_offset") else ""
        tip = escape(f"{p['date']} {p['commit']} ({p['scale']}{', seeds +' + str(p['seed_offset']) if p.get('seed_offset') else ''})")
        cells.append(f"<span style='display:inline-flex;flex-direction:column;gap:1px' title='{tip}'>"
                     f"<span class='cell{check}' style='background:{COLOURS[p['verdict']]}'></span>"
                     f"<span class='cell control' style='background:{COLOURS.get(p['negative_control'], '#999')}'></span>"
                     f"</span>")
    parts = [f"<h3>Trend over {len(points)} run(s)</h3>",
             f"<div class=timeline aria-label='verdict timeline'>{''.join(cells)}</div>"]
    what = (c.get("decision") or {}).get("what")
    estimates = [p for p in points if p.get("interval") and (what is None or p.get("what") in (None, what))]
    if estimates:
        predicted = (c.get("decision") or {}).get("predicted") or {}
        parts.append(_chart(f"{what or 'deciding estimate'} with its interval", estimates, predicted))
    seeds = [{**p, "interval": {"estimate": p["seeds"], "low": p["seeds"], "high": p["seeds"]}} for p in points
             if p.get("looks") and isinstance(p.get("seeds"), int)]
    if len(seeds) >= 2:                        # a claim growing harder (or easier) to decide under the looks
        parts.append(_chart("seeds the sequential design used", seeds, {}))
    for name, series in list(_headline_series(points).items())[:HEADLINE_SERIES]:
        parts.append(_chart(name, series, {}))
    return "\n".join(parts)


def _headline_series(points: list[dict]) -> dict[str, list[dict]]:
    """The scalar headline numbers over runs, for those measured in at least two runs."""
    series: dict[str, list[dict]] = {}
    for p in points:
        measured = p.get("measured")
        if not isinstance(measured, dict):
            continue
        for key, value in measured.items():
            flat = numbers(value)
            if len(flat) != 1:
                continue
            (number,) = flat.values()
            if isinstance(number, (int, float)) and math.isfinite(number):
                series.setdefault(key, []).append({**p, "interval": {"estimate": number, "low": number,
                                                                     "high": number}})
    return {k: v for k, v in series.items() if len(v) >= 2}


def _chart(title: str, points: list[dict], predicted: dict, width: int = 560, height: int = 150) -> str:
    """An inline SVG: one dot per run (coloured by verdict; hollow for a run on other seeds) with its
    interval as a vertical bar, and the predicted range's bounds as dashed lines."""
    lows = [p["interval"]["low"] for p in points] + [p["interval"]["estimate"] for p in points]
    highs = [p["interval"]["high"] for p in points]
    bounds = [v for v in (predicted.get("low"), predicted.get("high")) if isinstance(v, (int, float))]
    values = [v for v in lows + highs + bounds if isinstance(v, (int, float)) and math.isfinite(v)]
    if not values:
        return ""
    top, bottom = max(values), min(values)
    if top == bottom:
        top, bottom = top + (abs(top) or 1) * 0.05, bottom - (abs(bottom) or 1) * 0.05
    left, right, pad = 60, 10, 18
    y = lambda v: pad + (top - v) / (top - bottom) * (height - 2 * pad)
    step = (width - left - right) / max(1, len(points) - 1) if len(points) > 1 else 0
    x = lambda i: left + (i * step if len(points) > 1 else (width - left - right) / 2)
    items = [f"<text x='0' y='12'>{escape(short(title, 90))}</text>",
             f"<text x='4' y='{y(top) + 4:.1f}'>{top:.4g}</text><text x='4' y='{y(bottom) + 4:.1f}'>{bottom:.4g}</text>",
             f"<line x1={left} y1={pad} x2={left} y2={height - pad} stroke='#d0d7de'/>"]
    for value, label in ((predicted.get("low"), "predicted low"), (predicted.get("high"), "predicted high")):
        if isinstance(value, (int, float)) and math.isfinite(value):
            items.append(f"<line x1={left} x2={width - right} y1={y(value):.1f} y2={y(value):.1f} stroke='#59636e' "
                         f"stroke-dasharray='5 3'><title>{label}: {value:.4g}</title></line>")
    for i, p in enumerate(points):
        interval, colour = p["interval"], COLOURS.get(p.get("verdict"), "#59636e")
        if not all(isinstance(interval.get(k), (int, float)) for k in ("estimate", "low", "high")):
            continue
        tip = escape(f"{p['date']} {p['commit']}: {interval['estimate']:.4g} [{interval['low']:.4g}, "
                     f"{interval['high']:.4g}]" + (f" (seeds +{p['seed_offset']})" if p.get("seed_offset") else ""))
        fill = "white" if p.get("seed_offset") else colour
        items.append(f"<g><title>{tip}</title><line x1={x(i):.1f} x2={x(i):.1f} y1={y(interval['low']):.1f} "
                     f"y2={y(interval['high']):.1f} stroke='{colour}' stroke-width='2'/>"
                     f"<circle cx='{x(i):.1f}' cy='{y(interval['estimate']):.1f}' r='3.5' fill='{fill}' stroke='{colour}'/></g>")
    first, last = points[0]["date"][:10], points[-1]["date"][:10]
    items.append(f"<text x='{left}' y='{height - 3}'>{escape(first)}</text>"
                 f"<text x='{width - right}' y='{height - 3}' text-anchor='end'>{escape(last)}</text>")
    return (f"<svg class='chart' width='{width}' height='{height}' viewBox='0 0 {width} {height}' role='img' "
            f"aria-label='{escape(title)}'>{''.join(items)}</svg>")
