import json

import pytest

from sgdcheck import ReportError
from sgdcheck.report import cli, results as report
from sgdcheck.figures import figure, panel, series


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
    with pytest.raises(OSError):
        report.write(tmp_path, _header(tmp_path), [_payload("a2020.one", with_figure=True)])
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert after == before
    assert not list(tmp_path.glob(".staging-*"))


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
    assert "| a2020.same | gain |" in text                                  # moved beyond its interval
    assert "Added: `a2020.new`" in text and "Gone: `a2020.gone`" in text
    report.write(new, _header(tmp_path), [payload("a2020.flip", [0.0, 0.1, 0.05], known="the paper is wrong here")])
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
