import json

import pytest

from sgdcheck import ReportError
from sgdcheck.report import cli, results as report
from sgdcheck.figures import figure, panel, series
from sgdcheck.jsonable import jsonable


def _payload(claim_id, verdict="replicated", with_figure=False):
    figures = {"curve": figure("t", [panel("p", "x", "y", [series("line", [0, 1], [1, 2], "a")])])} if with_figure else {}
    return {"id": claim_id, "source": "Paper 2020, Table 1", "statement": "s", "paper": {"x": 1},
            "tolerance": {}, "notes": "", "case": "", "verdict": verdict, "reason": "because",
            "measured": {"x": 1.01}, "details": {}, "findings": ["f"], "figures": figures,
            "negative_control": {"statement": "wrong", "verdict": "refuted", "reason": "r"},
            "scale": "smoke", "seeds": [0, 1], "device": "cpu", "known_refutation": None, "test": "t",
            "duration_s": 0.5}


def _header(tmp_path):
    return report.run_header("smoke", "cpu", tmp_path)


def test_write_produces_json_markdown_figures_and_history(tmp_path):
    report.write(tmp_path, _header(tmp_path), [_payload("a2020.one", with_figure=True)])
    data = report.load(tmp_path / "latest.json")
    claim = data["claims"]["a2020.one"]
    for field in ("id", "source", "statement", "verdict", "reason", "paper", "measured", "scale", "seeds",
                  "negative_control", "duration_s"):
        assert field in claim
    run = data["runs"][claim["run_id"]]
    for field in ("git_commit", "python", "torch", "numpy", "device", "date"):
        assert field in run
    assert (tmp_path / "figures" / "a2020.one-curve.png").exists() or list((tmp_path / "figures").glob("*.png"))
    assert "a2020.one" in (tmp_path / "latest.md").read_text()
    assert len((tmp_path / "history.jsonl").read_text().splitlines()) == 1


def test_a_partial_run_keeps_the_other_claims(tmp_path):
    report.write(tmp_path, _header(tmp_path), [_payload("a2020.one"), _payload("a2020.two")])
    report.write(tmp_path, _header(tmp_path), [_payload("a2020.two", verdict="refuted")])
    claims = report.load(tmp_path / "latest.json")["claims"]
    assert claims["a2020.one"]["verdict"] == "replicated" and claims["a2020.two"]["verdict"] == "refuted"
    assert claims["a2020.one"]["run_id"] != claims["a2020.two"]["run_id"]


def test_cases_combine_into_one_claim_verdict(tmp_path):
    first, second = _payload("a2020.grid"), _payload("a2020.grid", verdict="inconclusive")
    first["case"], second["case"] = "eta=0.1", "eta=0.5"
    entry = report.claim_entries([first, second], "r")["a2020.grid"]
    assert entry["verdict"] == "inconclusive" and len(entry["cases"]) == 2


def test_cases_that_measure_their_own_quantities_share_one_table(tmp_path):
    first, second = _payload("a2020.parts"), _payload("a2020.parts")
    first["case"], second["case"] = "train", "test"
    first["paper"] = second["paper"] = {"train": "fits", "test": "chance"}
    first["measured"], second["measured"] = {"train": "100%"}, {"test": "9.8%"}
    entry = report.claim_entries([first, second], "r")["a2020.parts"]
    assert entry["measured"] == {"test": "9.8%", "train": "100%"}
    assert report.headline(entry, "measured") == "train: 100%; test: 9.8%"
    old = {**entry, "measured": {"test": {"test": "9.8%"}, "train": {"train": "100%"}}}   # as older reports stored it
    assert report.headline(old, "measured") == "train: 100%; test: 9.8%"
    same = [_payload("a2020.grid"), _payload("a2020.grid")]
    same[0]["case"], same[1]["case"] = "eta=0.1", "eta=0.5"
    assert report.claim_entries(same, "r")["a2020.grid"]["measured"] == {"eta=0.1": {"x": 1.01}, "eta=0.5": {"x": 1.01}}


def test_a_bare_number_is_shown_to_four_significant_digits():
    entry = report.claim_entries([{**_payload("a2020.slope"), "paper": {"slope": -1.0},
                                   "measured": {"slope": -1.007218471}}], "r")["a2020.slope"]
    assert report.headline(entry, "measured") == "slope: -1.007" and report.headline(entry, "paper") == "slope: -1"
    assert "-1.007218471" in json.dumps(entry)


def test_corrupt_report_is_a_clear_error_and_nothing_is_written(tmp_path):
    (tmp_path / "latest.json").write_text("{not json")
    with pytest.raises(ReportError, match="corrupt JSON"):
        report.write(tmp_path, _header(tmp_path), [_payload("a2020.one")])
    assert not (tmp_path / "latest.md").exists()
    assert (tmp_path / "latest.json").read_text() == "{not json"


def test_a_failure_while_writing_leaves_the_previous_report_intact(tmp_path, monkeypatch):
    report.write(tmp_path, _header(tmp_path), [_payload("a2020.one")])
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(report, "render", broken)
    with pytest.raises(ReportError, match="no report written.*disk full.*nothing there changed.*kept in"):
        report.write(tmp_path, _header(tmp_path), [_payload("a2020.one", with_figure=True)])
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file() and not p.name.startswith("evidence-")}
    assert after == before
    assert not list(tmp_path.glob(".staging-*"))
    side, = tmp_path.glob("evidence-*.json")
    assert "a2020.one" in report.load(side)["claims"]


def test_redraw_from_json(tmp_path):
    report.write(tmp_path, _header(tmp_path), [_payload("a2020.one", with_figure=True)])
    (tmp_path / "latest.md").unlink()
    assert cli.main([str(tmp_path)]) == 0
    assert (tmp_path / "latest.md").exists()
    assert cli.main([str(tmp_path / "missing")]) == 2


def test_json_is_plain(tmp_path):
    report.write(tmp_path, _header(tmp_path), [_payload("a2020.one")])
    json.loads((tmp_path / "latest.json").read_text())


def test_a_copy_without_git_history_takes_its_commit_from_the_environment(tmp_path, monkeypatch):
    from sgdcheck import fingerprint

    monkeypatch.setattr(fingerprint, "git", lambda *args, cwd: "")
    fingerprint.code_commit.cache_clear()
    assert report.run_header("paper", "cuda", tmp_path)["git_commit"] == "unknown"
    monkeypatch.setenv("SGDCHECK_COMMIT", "0123abcd")
    fingerprint.code_commit.cache_clear()
    assert report.run_header("paper", "cuda", tmp_path)["git_commit"] == "0123abcd"
    fingerprint.code_commit.cache_clear()


def test_merge_folds_another_machines_report_in_claim_by_claim(tmp_path):
    here, there = tmp_path / "here", tmp_path / "there"
    report.write(here, _header(tmp_path), [_payload("a2020.one"), _payload("a2020.two")])
    report.write(there, report.run_header("paper", "cuda", tmp_path), [_payload("a2020.two", with_figure=True)])
    assert cli.main([str(here), "--merge", str(there)]) == 0
    merged = report.load(here / "latest.json")
    assert set(merged["claims"]) == {"a2020.one", "a2020.two"}
    assert merged["runs"][merged["claims"]["a2020.two"]["run_id"]]["scale"] == "paper"
    assert merged["runs"][merged["claims"]["a2020.one"]["run_id"]]["scale"] == "smoke"
    assert len((here / "history.jsonl").read_text().splitlines()) == 2
    assert cli.main([str(here), "--merge", str(tmp_path / "nothing")]) == 2


def test_repeated_merge_folds_every_report_in_order_all_or_nothing(tmp_path):
    here, first, second = tmp_path / "here", tmp_path / "first", tmp_path / "second"
    report.write(here, _header(tmp_path), [_payload("a2020.one")])
    report.write(first, report.run_header("full", "cpu", tmp_path), [_payload("a2020.two")])
    report.write(second, report.run_header("paper", "cuda", tmp_path), [_payload("a2020.two"), _payload("a2020.three")])
    before = (here / "latest.json").read_text()
    assert cli.main([str(here), "--merge", str(first), "--merge", str(tmp_path / "nothing")]) == 2
    assert (here / "latest.json").read_text() == before                     # the readable one was not folded alone
    assert cli.main([str(here), "--merge", str(first), "--merge", str(second)]) == 0
    merged = report.load(here / "latest.json")
    assert set(merged["claims"]) == {"a2020.one", "a2020.two", "a2020.three"}
    assert merged["runs"][merged["claims"]["a2020.two"]["run_id"]]["scale"] == "paper"    # the later one wins
    assert len((here / "history.jsonl").read_text().splitlines()) == 3


def _write_claim(folder, claim_id, rounds):
    from sgdcheck.report import results as r
    for _ in range(rounds):
        r.write(folder, r.run_header("smoke", "cpu", folder), [_payload(claim_id)])


def test_two_sessions_writing_one_folder_keep_both_claims_and_history(tmp_path):
    """Read-merge-replace under a lock: without it one session's entries can be lost."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_write_claim, args=(tmp_path, f"a2020.{name}", 8)) for name in ("one", "two")]
    for w in writers:
        w.start()
    for w in writers:
        w.join(120)
    assert all(w.exitcode == 0 for w in writers)
    assert set(report.load(tmp_path / "latest.json")["claims"]) == {"a2020.one", "a2020.two"}
    assert len((tmp_path / "history.jsonl").read_text().splitlines()) == 16


def test_a_corrupt_report_keeps_this_runs_evidence_in_a_side_file(tmp_path):
    (tmp_path / "latest.json").write_text("{ not json")
    with pytest.raises(ReportError, match="kept in .*evidence-") as error:
        report.write(tmp_path, _header(tmp_path), [_payload("a2020.one")])
    side = next(tmp_path.glob("evidence-*.json"))
    assert str(side) in str(error.value)
    assert "a2020.one" in report.load(side)["claims"]
    assert (tmp_path / "latest.json").read_text() == "{ not json"           # nothing half-written
    (tmp_path / "latest.json").unlink()
    assert cli.main([str(tmp_path), "--merge", str(side)]) == 0            # folded in once repaired
    assert "a2020.one" in report.load(tmp_path / "latest.json")["claims"]


def test_schema_1_reports_are_still_read_and_drawn(tmp_path):
    report.write(tmp_path, _header(tmp_path), [_payload("a2020.one")])
    data = json.loads((tmp_path / "latest.json").read_text())
    data["schema"] = 1
    for claim in data["claims"].values():
        for key in ("decision", "seed_checks", "seed_offset", "runs_computed_at"):
            claim.pop(key, None)
        claim["negative_control"].pop("decision", None)
    (tmp_path / "latest.json").write_text(json.dumps(data))
    assert cli.main([str(tmp_path)]) == 0
    assert "a2020.one" in (tmp_path / "latest.md").read_text()


def test_structured_decisions_and_margins_reach_the_json_and_the_table(tmp_path):
    from sgdcheck.stats import at_least

    payload = _payload("a2020.margin")
    decision = at_least([1.0, 1.2, 1.1, 1.3], 0.5, what="gain")
    payload.update(verdict=decision.verdict, reason=decision.reason, decision=decision.as_dict())
    report.write(tmp_path, _header(tmp_path), [payload])
    entry = report.load(tmp_path / "latest.json")["claims"]["a2020.margin"]
    assert entry["decision"]["margin"] == pytest.approx(decision.margin)
    assert entry["decision"]["interval"]["method"].startswith("Student t")
    row = next(line for line in (tmp_path / "latest.md").read_text().splitlines() if line.startswith("| [a2020.margin]"))
    assert f"{decision.margin_halfwidths:+.2g} hw" in row
    history = json.loads((tmp_path / "history.jsonl").read_text().splitlines()[-1])
    assert history["verdicts"]["a2020.margin"]["margin"] == pytest.approx(decision.margin)


def test_entries_from_runs_of_another_commit_are_named_in_the_header(tmp_path):
    payload = _payload("a2020.old")
    payload["runs_computed_at"] = ["0ldc0mm1t"]
    report.write(tmp_path, _header(tmp_path), [payload])
    assert "read cached runs computed at `0ldc0mm1t`" in (tmp_path / "latest.md").read_text()


def test_runs_are_compared_with_the_engines_commit_not_the_claims_project(tmp_path):
    """Claims in a project of their own: the runs carry sgdcheck's commit, the header the project's as well."""
    payload = _payload("a2020.own")
    header = {**_header(tmp_path), "git_commit": "unknown", "engine_commit": "3ng1n3"}
    payload["runs_computed_at"] = ["3ng1n3"]
    report.write(tmp_path, header, [payload])
    text = (tmp_path / "latest.md").read_text()
    assert "read cached runs" not in text and "commit `unknown` (sgdcheck `3ng1n3`)" in text
    assert "(sgdcheck <code>3ng1n3</code>)" in (tmp_path / "index.html").read_text()
    payload["runs_computed_at"] = ["0ldc0mm1t"]
    report.write(tmp_path, header, [payload])
    assert "(run with sgdcheck at `3ng1n3`) read cached runs computed at `0ldc0mm1t`" in (tmp_path / "latest.md").read_text()


def test_diff_lists_flips_moves_and_fails_only_on_unexpected_ones(tmp_path, capsys):
    from sgdcheck.stats import at_least

    def payload(claim_id, values, verdict=None, known=None, control="refuted"):
        p = _payload(claim_id)
        decision = at_least(values, 0.5, what="gain")
        p.update(verdict=verdict or decision.verdict, reason=decision.reason, decision=decision.as_dict(),
                 known_refutation=known)
        p["negative_control"]["verdict"] = control
        return p

    old, new = tmp_path / "old", tmp_path / "new"
    report.write(old, _header(tmp_path), [payload("a2020.same", [1.0, 1.1, 1.2]), payload("a2020.flip", [1.0, 1.1, 1.2]),
                                         payload("a2020.gone", [1.0, 1.1, 1.2])])
    report.write(new, _header(tmp_path), [payload("a2020.same", [2.0, 2.1, 2.2]), payload("a2020.flip", [0.0, 0.1, 0.05]),
                                         payload("a2020.new", [1.0, 1.1, 1.2])])
    assert cli.main(["diff", str(old), str(new)]) == 1                  # a2020.flip: replicated -> refuted
    text = capsys.readouterr().out
    assert "**1 unexpected verdict change(s)**" in text and "a2020.flip" in text
    assert "| a2020.flip | ✅ replicated → ❌ refuted | ❌ refuted → ❌ refuted |" in text
    assert "| a2020.same | gain |" in text                                  # moved beyond its interval
    assert "Added: `a2020.new`" in text and "Gone: `a2020.gone`" in text
    report.write(new, _header(tmp_path), [payload("a2020.flip", [0.0, 0.1, 0.05], known="the paper is wrong here")])
    assert cli.main(["diff", str(old / "latest.json"), str(new)]) == 1     # a2020.gone is still gone: a nightly fails
    report.write(new, _header(tmp_path), [payload("a2020.gone", [1.0, 1.1, 1.2])])
    assert cli.main(["diff", str(old / "latest.json"), str(new), "--output", str(tmp_path / "summary.md")]) == 0
    assert "expected" in (tmp_path / "summary.md").read_text()
    report.write(new, _header(tmp_path), [payload("a2020.flip", [0.0, 0.1, 0.05], known="x", control="inconclusive")])
    assert cli.main(["diff", str(old), str(new)]) == 1                  # a control that stops being refuted
    assert cli.main(["diff", str(old), str(tmp_path / "nowhere")]) == 2


def test_figure_titles_fit_the_canvas_and_bounds_are_told_apart():
    import matplotlib.pyplot as plt
    from sgdcheck.figures import draw

    long = "Sharpness and non-uniformity of the minima found by SGD at every batch size (eta = 0.1, n = 1000) " * 2
    spec = figure(long, [panel(long, "a", "s", [series("scatter", [1, 2], [1, 2], "GD")],
                               hlines=[(1.0, "s bound, B=10"), (2.0, "s bound, B=100")], vlines=[(1.5, "a = 2/eta")])])
    fig = draw(spec)
    fig.canvas.draw()
    canvas = fig.bbox
    renderer = fig.canvas.get_renderer()
    titles = [fig._suptitle, *[ax.title for ax in fig.axes]]
    for title in titles:
        box = title.get_window_extent(renderer)
        assert canvas.x0 - 1 <= box.x0 and box.x1 <= canvas.x1 + 1 and box.y1 <= canvas.y1 + 1, title.get_text()
    lines = fig.axes[0].get_lines()
    styles = {(line.get_color(), str(line.get_linestyle())) for line in lines}
    assert len(styles) == len(lines) == 3                       # two bounds and the marker, each its own style
    plt.close(fig)


def _offset_header(tmp_path, offset):
    return report.run_header("smoke", "cpu", tmp_path, seed_offset=offset)


def _at(payload, offset, verdict=None):
    p = {**payload, "seed_offset": offset, "seeds": [offset, offset + 1]}
    if verdict:
        p["verdict"] = verdict
    return p


def test_a_seed_check_agrees_with_the_entry_it_is_kept_beside(tmp_path):
    """Replicated, then a check on other seeds that agrees, then a rerun on the own seeds that refutes: the
    check now disagrees."""
    report.write(tmp_path, _header(tmp_path), [_payload("a2020.one")])
    report.write(tmp_path, _offset_header(tmp_path, 1000), [_at(_payload("a2020.one"), 1000)])
    assert report.load(tmp_path / "latest.json")["claims"]["a2020.one"]["seed_checks"][0]["agrees"]
    report.write(tmp_path, _header(tmp_path), [_payload("a2020.one", verdict="refuted")])
    entry = report.load(tmp_path / "latest.json")["claims"]["a2020.one"]
    assert entry["verdict"] == "refuted" and not entry["seed_checks"][0]["agrees"]
    assert "❗" in (tmp_path / "latest.md").read_text()


def test_a_new_entry_keeps_only_the_seed_checks_made_by_its_own_code(tmp_path):
    """A check of older code says nothing of an entry whose code changed since: rerun on the own seeds by the same
    code, the check stays; by other code, it goes (and the report no longer shows a disagreement it never had)."""
    coded = lambda code, **kw: {**_payload("a2020.one", **kw), "code": code}
    report.write(tmp_path, _header(tmp_path), [coded("c1")])
    report.write(tmp_path, _offset_header(tmp_path, 1000), [_at(coded("c1"), 1000)])
    check, = report.load(tmp_path / "latest.json")["claims"]["a2020.one"]["seed_checks"]
    assert check["code"] == "c1" and check["agrees"]
    report.write(tmp_path, _header(tmp_path), [coded("c1", verdict="refuted")])
    assert not report.load(tmp_path / "latest.json")["claims"]["a2020.one"]["seed_checks"][0]["agrees"]
    report.write(tmp_path, _header(tmp_path), [coded("c2", verdict="refuted")])
    assert report.load(tmp_path / "latest.json")["claims"]["a2020.one"]["seed_checks"] == []


def test_a_run_on_other_seeds_recorded_first_becomes_the_check_of_the_own_seed_run(tmp_path):
    report.write(tmp_path, _offset_header(tmp_path, 1000), [_at(_payload("a2020.one"), 1000)])
    report.write(tmp_path, _header(tmp_path), [_payload("a2020.one")])
    entry = report.load(tmp_path / "latest.json")["claims"]["a2020.one"]
    assert entry["seed_offset"] == 0
    check, = entry["seed_checks"]
    assert check["seed_offset"] == 1000 and check["agrees"] and check["seeds"] == [1000, 1001]


def test_merge_keeps_the_incoming_seed_checks_and_their_run_headers(tmp_path):
    here, there = tmp_path / "here", tmp_path / "there"
    report.write(here, _header(tmp_path), [_payload("a2020.one")])
    gpu = report.run_header("paper", "cuda", tmp_path)
    report.write(there, gpu, [_payload("a2020.one")])
    check_header = report.run_header("paper", "cuda", tmp_path, seed_offset=1000)
    report.write(there, check_header, [_at(_payload("a2020.one"), 1000)])
    assert cli.main([str(here), "--merge", str(there)]) == 0
    merged = report.load(here / "latest.json")
    entry = merged["claims"]["a2020.one"]
    check, = entry["seed_checks"]
    assert entry["run_id"] == gpu["run_id"] and check["run_id"] == check_header["run_id"]
    assert merged["runs"][check["run_id"]]["device"] == "cuda" and check["agrees"]


def test_merging_adds_each_history_line_once_and_a_folder_into_itself_changes_nothing(tmp_path):
    here, there = tmp_path / "here", tmp_path / "there"
    report.write(here, _header(tmp_path), [_payload("a2020.one")])
    report.write(there, _header(tmp_path), [_payload("a2020.two")])
    for _ in range(3):
        assert cli.main([str(here), "--merge", str(there)]) == 0
    assert len(report.read_history(here)) == 2
    before = (here / "latest.json").read_text()
    assert cli.main([str(here), "--merge", str(here)]) == 0
    after = report.load(here / "latest.json")
    assert len(report.read_history(here)) == 2 and after["claims"] == report.parse(before, "before")["claims"]


def test_the_documented_recovery_puts_the_run_in_the_history_too(tmp_path):
    (tmp_path / "latest.json").write_text("{ not json")
    with pytest.raises(ReportError):
        report.write(tmp_path, _header(tmp_path), [_payload("a2020.one")])
    side = next(tmp_path.glob("evidence-*.json"))
    (tmp_path / "latest.json").unlink()
    assert cli.main([str(tmp_path), "--merge", str(side)]) == 0
    run_id = report.load(side)["latest_run"]
    assert [line["run"]["run_id"] for line in report.read_history(tmp_path)] == [run_id]


def test_infinite_margins_of_several_cases_are_written_and_read_as_numbers(tmp_path):
    from sgdcheck.stats import Interval, compare

    exact = compare(Interval(1.0, 1.0, 1.0, 0.95, "all samples equal"), 0.0, 2.0, what="x")
    wide = compare(Interval(1.0, 0.5, 1.5, 0.95, "t"), 0.0, 2.0, what="x")
    cases = []
    for name, verdict in (("a", exact), ("b", wide)):
        p = _payload("a2020.cases")
        p.update(case=name, verdict=verdict.verdict, reason=verdict.reason, decision=jsonable(verdict.as_dict()))
        cases.append(p)
    report.write(tmp_path, _header(tmp_path), cases)
    text = (tmp_path / "latest.json").read_text()
    assert "Infinity" not in text
    entry = report.load(tmp_path / "latest.json")["claims"]["a2020.cases"]
    assert entry["cases"][0]["decision"]["margin_halfwidths"] == float("inf")
    assert entry["decision"]["margin_halfwidths"] == pytest.approx(wide.margin_halfwidths)


def test_diff_fails_on_a_gone_claim_a_case_flip_and_a_check_that_stops_agreeing(tmp_path, capsys):
    old, new = tmp_path / "old", tmp_path / "new"
    cases = lambda verdicts: [dict(_payload("a2020.grid", verdict=v), case=f"eta={i}") for i, v in enumerate(verdicts)]
    report.write(old, _header(tmp_path), cases(["refuted", "replicated"]) + [_payload("a2020.kept")])
    report.write(new, _header(tmp_path), cases(["refuted", "refuted"]) + [_payload("a2020.kept")])
    assert cli.main(["diff", str(old), str(new)]) == 1
    assert "| a2020.grid | eta=1 |" in capsys.readouterr().out
    report.write(new, _header(tmp_path), cases(["refuted", "replicated"]))
    assert cli.main(["diff", str(old), str(new)]) == 0
    report.write(old, _offset_header(tmp_path, 1000), [_at(_payload("a2020.kept"), 1000)])
    report.write(new, _offset_header(tmp_path, 1000), [_at(_payload("a2020.kept"), 1000, verdict="refuted")])
    assert cli.main(["diff", str(old), str(new)]) == 1
    assert "does not hold on other seeds" in capsys.readouterr().out
    data = json.loads((new / "latest.json").read_text())
    data["claims"].pop("a2020.kept")
    (new / "latest.json").write_text(json.dumps(data))
    assert cli.main(["diff", str(old), str(new)]) == 1
    assert "Gone: `a2020.kept`" in capsys.readouterr().out


def test_diff_output_to_a_folder_is_a_clear_error(tmp_path, capsys):
    report.write(tmp_path, _header(tmp_path), [_payload("a2020.one")])
    assert cli.main(["diff", str(tmp_path), str(tmp_path), "--output", str(tmp_path)]) == 2
    assert "cannot write --output" in capsys.readouterr().err


def test_reports_show_the_quote_the_deviations_and_where_thresholds_come_from(tmp_path, capsys):
    payload = _payload("a2020.faithful")
    payload.update(quote={"text": "GD selects the sharpest minimum", "where": "Sec. 4.1"},
                   deviations=[{"aspect": "sizes", "differs": "widths 500 in the paper, 100 here", "why": "CPU"}],
                   thresholds=[{"what": "ratio >= 0.8", "origin": "source", "reason": "Table 2"}])
    report.write(tmp_path, _header(tmp_path), [payload, _payload("a2020.older")])
    text = (tmp_path / "latest.md").read_text()
    assert "**In its words:** “GD selects the sharpest minimum” (Sec. 4.1)" in text
    assert "How the test differs from the source (1)" in text and "sizes: widths 500 in the paper, 100 here" in text
    assert "ratio >= 0.8: the source's own number: Table 2" in text
    row = next(line for line in text.splitlines() if line.startswith("| [a2020.faithful]"))
    assert row.split("|")[3].strip() == "1"
    assert "How the test differs from the source (1)" in (tmp_path / "index.html").read_text()
    assert cli.main(["deviations", str(tmp_path)]) == 0
    page = capsys.readouterr().out
    assert "| a2020.faithful | ✅ replicated | 1 | 1 | sizes |" in page and "made before the claim declared" in page


def test_diff_reads_a_report_from_a_pipe(tmp_path):
    import os
    import threading
    report.write(tmp_path, _header(tmp_path), [_payload("a2020.one")])
    fifo = tmp_path / "old.json"
    os.mkfifo(fifo)                                   # what `diff <(git show HEAD:latest.json) new` hands over
    feeder = threading.Thread(target=lambda: fifo.write_bytes((tmp_path / "latest.json").read_bytes()))
    feeder.start()
    assert cli.main(["diff", str(fifo), str(tmp_path)]) == 0
    feeder.join()


def test_diff_names_a_path_it_cannot_read(tmp_path, capsys):
    report.write(tmp_path, _header(tmp_path), [_payload("a2020.one")])
    beneath_a_file = tmp_path / "latest.json" / "latest.json"
    assert cli.main(["diff", str(beneath_a_file), str(tmp_path)]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_quantities_that_several_cases_report_are_shown_once_per_case():
    from sgdcheck.report.entries import paired, table_rows
    from sgdcheck.report.text import headline
    entry = {"paper": {"prefers": "wide"}, "measured": None,
             "cases": [{"case": "additive", "measured": {"prefers": 0.9, "T": 0.3}},
                       {"case": "state-dependent", "measured": {"prefers": 0.0}}]}
    assert paired(entry) == [("prefers [additive]", "wide", 0.9), ("prefers [state-dependent]", "wide", 0.0)]
    assert headline(entry, "measured") == "prefers [additive]: 0.9; prefers [state-dependent]: 0"
    assert table_rows(entry)[-1] == ("T [additive]", "—", 0.3)
    single = {"paper": {"prefers": "wide"}, "measured": {"prefers": 0.9}, "cases": []}
    assert paired(single) == [("prefers", "wide", 0.9)]
    # cases each recording one quantity named like the case: the quantities, not their fields, in the table
    named = {"paper": {"train": "fits", "test": "chance"}, "measured": None,
             "cases": [{"case": "train", "measured": {"train": {"kind": "quantity", "value": 1.0, "unit": "",
                                                                 "text": "fits 100%"}}},
                       {"case": "test", "measured": {"test": {"kind": "quantity", "value": 0.1, "unit": "",
                                                               "text": "10% accuracy"}}}]}
    assert headline(named, "measured") == "train: fits 100%; test: 10% accuracy"


def _with_looks(payload, seeds, stop, planned=3, needed=None):
    looks = [{"look": j + 1, "seeds": s, "verdict": "replicated", "margin_halfwidths": 0.5 + j, "control": "refuted",
              "control_margin_halfwidths": 3.0, "level": 1 - 0.05 / planned} for j, s in enumerate(seeds)]
    design = {"rule": "sequential, Bonferroni over the looks", "looks": planned, "share": 1 / planned,
              "level": 1 - 0.05 / planned, "min_margin": 1.0, "max_seeds": 20, "stop": stop, "seeds_needed": needed}
    return {**payload, "looks": looks, "design": design, "seeds": list(range(seeds[-1]))}


def test_reports_say_what_the_seed_design_took_and_the_diff_calls_it_information(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    report.write(old, _header(tmp_path), [_with_looks(_payload("a2020.seq"), [5], "decided")])
    report.write(new, _header(tmp_path), [_with_looks(_payload("a2020.seq"), [5], "decided")])
    report.write(new, _header(tmp_path), [_with_looks(_payload("a2020.seq"), [5, 10, 20], "last look", needed=34)])
    text = (new / "latest.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| [a2020.seq]"))
    assert "| 20 (look 3/3 cap) |" in row
    assert "reached its cap" not in row and "the last planned look at look 3 of 3, 20 seeds" in text
    assert "about 34 seeds would decide with the minimum margin" in text and "98.33%" in text
    assert "20 (look 3/3 cap)" in (new / "index.html").read_text()
    history = json.loads((new / "history.jsonl").read_text().splitlines()[-1])["verdicts"]["a2020.seq"]
    assert history["seeds"] == 20 and history["looks"][0]["stop"] == "last look"
    assert "seeds the sequential design used" in (new / "index.html").read_text()    # two runs with looks
    assert cli.main(["diff", str(old), str(new)]) == 0                   # more seeds needed: information
    diff = __import__("sgdcheck.report.diff", fromlist=["x"]).compare_reports(
        json.loads((old / "latest.json").read_text()), json.loads((new / "latest.json").read_text()))
    assert [c["after"]["seeds"] for c in diff.seeds] == [20] and not diff.unexpected
    check = _with_looks({**_payload("a2020.seq"), "seed_offset": 1000}, [5, 10], "decided")
    report.write(new, _header(tmp_path), [check])
    entry = json.loads((new / "latest.json").read_text())["claims"]["a2020.seq"]
    assert entry["seed_checks"][0]["looks"][0]["seeds"] == 10
    assert "10 (look 2/3) seeds" in (new / "latest.md").read_text()


def test_diff_lists_a_claim_no_longer_run_at_the_scale_as_information(tmp_path, capsys):
    old, new = tmp_path / "old", tmp_path / "new"
    report.write(old, _header(tmp_path), [_payload("a2020.one"), _payload("a2020.two")])
    report.write(new, _header(tmp_path), [_payload("a2020.one")], {"a2020.two": "runs from full scale on"})
    assert "a2020.two" not in report.load(new / "latest.json")["claims"]
    assert cli.main(["diff", str(old), str(new)]) == 0
    out = capsys.readouterr().out
    assert "1 no longer run at this scale" in out and "- `a2020.two`: runs from full scale on" in out
    report.write(new, _header(tmp_path), [_payload("a2020.one")])          # a run that did not touch it
    assert report.load(new / "latest.json")["not_run"]["a2020.two"]["reason"] == "runs from full scale on"


def test_a_corrupt_not_run_list_is_a_clear_error(tmp_path):
    report.write(tmp_path, _header(tmp_path), [_payload("a2020.one")], {"a2020.two": "runs from full scale on"})
    data = json.loads((tmp_path / "latest.json").read_text())
    data["not_run"]["a2020.two"] = "a bare string"
    (tmp_path / "latest.json").write_text(json.dumps(data))
    with pytest.raises(ReportError, match="'not_run' is not a mapping"):
        report.load(tmp_path / "latest.json")
