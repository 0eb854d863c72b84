"""The HTML dashboard: what it contains, that it needs no network, and what a real browser renders."""
import json
import re
import shutil
import subprocess

import pytest

from sgdcheck.report import results
from sgdcheck.report.html import dashboard
from sgdcheck.stats import at_least
from test_report import _header, _payload


def _claim(claim_id, values, known=None, with_figure=False):
    payload = _payload(claim_id, with_figure=with_figure)
    decision = at_least(values, 0.5, what="gain")
    payload.update(verdict=decision.verdict, reason=decision.reason, decision=decision.as_dict(),
                   known_refutation=known)
    return payload


@pytest.fixture
def folder(tmp_path):
    """A report of three claims in two sections, written twice (two runs in the history)."""
    claims = [_claim("a2020.up", [1.0, 1.1, 1.2], with_figure=True), _claim("a2020.down", [0.0, 0.1, 0.05], known="k"),
              _claim("b2021.up", [2.0, 2.2, 2.1])]
    results.write(tmp_path, _header(tmp_path), claims)
    claims[0] = _claim("a2020.up", [1.3, 1.4, 1.35], with_figure=True)
    results.write(tmp_path, _header(tmp_path), claims)
    return tmp_path


def test_the_dashboard_is_written_with_the_report_and_needs_no_network(folder):
    page = (folder / "index.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    for claim_id in ("a2020.up", "a2020.down", "b2021.up"):
        assert f"id='claim-{claim_id.replace('.', '')}'" in page
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", page)          # nothing from a server or CDN
    assert "<img src='figures/a2020.up--curve.png'" in page
    assert (folder / "figures" / "a2020.up--curve.png").is_file()


def test_rows_carry_what_the_filters_select_on(folder):
    page = (folder / "index.html").read_text()
    row = re.search(r"<tr data-verdict=refuted data-section='a2020' data-scale='smoke'[^>]*>", page)
    assert row, "the refuted claim's row names its verdict, section and scale"
    assert "<option value='refuted'>" in page and "<option value='b2021'>" in page


def test_the_trend_draws_each_run_of_the_history(folder):
    page = (folder / "index.html").read_text()
    up = page[page.index("id='claim-a2020up'"):page.index("id='claim-b2021up'")]
    assert "Trend over 2 run(s)" in up
    chart = re.search(r"<svg class='chart'[^>]*aria-label='gain with its interval'>.*?</svg>", up, re.S)
    assert chart and chart.group(0).count("<circle") == 2                # one estimate per run
    assert "stroke-dasharray" in chart.group(0)                         # the predicted bound


def test_history_lines_carry_the_numbers_a_trend_needs(folder):
    line = json.loads((folder / "history.jsonl").read_text().splitlines()[-1])
    record = line["verdicts"]["a2020.up"]
    assert {"verdict", "negative_control", "what", "estimate", "interval", "margin", "measured"} <= set(record)
    assert record["what"] == "gain" and record["interval"]["low"] < record["estimate"] < record["interval"]["high"]


def test_a_cut_history_line_is_skipped_not_fatal(folder):
    with open(folder / "history.jsonl", "a") as history:
        history.write('{"run": {"run_id": "x"')                       # a write cut short
    assert len(results.read_history(folder)) == 2
    assert "Trend over 2 run(s)" in dashboard(results.load(folder / "latest.json"), results.read_history(folder))


def test_text_is_escaped(tmp_path):
    payload = _claim("a2020.html", [1.0, 1.1, 1.2])
    payload["statement"] = "<script>alert(1)</script> & more"
    results.write(tmp_path, _header(tmp_path), [payload])
    page = (tmp_path / "index.html").read_text()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no Chromium on this machine (Debian: apt-get install -y chromium); the dashboard was not "
                "checked in a browser")


def _browser(*arguments, timeout=120):
    command = [_chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--no-first-run", "--virtual-time-budget=3000", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("filters, shown", [("", 3), ("#verdict=refuted", 1), ("#section=a2020", 2),
                                            ("#section=a2020&verdict=replicated", 1)])
def test_a_browser_renders_the_table_and_applies_the_filters_from_the_address(folder, filters, shown):
    done = _browser("--dump-dom", (folder / "index.html").as_uri() + filters)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert f'data-shown="{shown}"' in dom and f"{shown} of 3 claims shown" in dom
    rows = re.findall(r"<tr data-verdict=\"(\w+)\" data-section=\"(\w+)\"[^>]*?(hidden=\"\")?>", dom)
    visible = [(v, s) for v, s, hidden in rows if not hidden]
    assert len(rows) == 3 and len(visible) == shown
    if "verdict=refuted" in filters:
        assert visible == [("refuted", "a2020")]


def test_a_browser_screenshot_of_the_dashboard_is_not_blank(folder, tmp_path):
    from PIL import Image

    shot = tmp_path / "dashboard.png"
    done = _browser(f"--screenshot={shot}", "--window-size=1200,900", (folder / "index.html").as_uri())
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 900)
    colours = image.getcolors(maxcolors=1 << 16) or []
    assert len(colours) > 50                              # text, table rules, verdict colours: not a blank page
    red = sum(n for n, (r, g, b) in colours if r > 180 and g < 80 and b < 80)
    assert red > 0                                        # the refuted verdict is drawn in its colour
