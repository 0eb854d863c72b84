"""A report write under faults: killed or failing after each of its file operations, and on damaged files.

Every file reaches a report folder through one step of sgdcheck.report.files; these tests stop a write at
each step in turn (a kill: the process ends at once; a failure: the step raises OSError) and check what is
left, then that the next write repairs it.
"""
import json
import multiprocessing
import os

import pytest

from sgdcheck import ReportError
from sgdcheck.figures import figure, panel, series
from sgdcheck.report import cli, files
from sgdcheck.report import results as report
from sgdcheck.report.entries import figure_name

STEPS = ("write_text", "replace", "append_lines", "remove_tree")


def _payload(claim_id, verdict="replicated"):
    spec = figure(claim_id, [panel("p", "x", "y", [series("line", [0, 1], [1, 2], "a")])])
    return {"id": claim_id, "source": "Paper 2020, Table 1", "statement": "s", "paper": {"x": 1},
            "tolerance": {}, "notes": "", "case": "", "verdict": verdict, "reason": "because",
            "measured": {"x": 1.01}, "details": {}, "findings": [], "figures": {"curve": spec},
            "negative_control": {"statement": "wrong", "verdict": "refuted", "reason": "r"},
            "scale": "smoke", "seeds": [0, 1], "device": "cpu", "known_refutation": None, "test": "t",
            "duration_s": 0.5}


def _write(folder, *claim_ids):
    return report.write(folder, report.run_header("smoke", "cpu", folder), [_payload(c) for c in claim_ids])


def _consistent(folder):
    """latest.json is a report; every entry's run has its history line; latest.md and index.html name exactly
    its claims; every figure it specifies is on disk; no staging folder is left."""
    data = report.load(folder / "latest.json")
    runs_in_history = {line["run"]["run_id"] for line in report.read_history(folder)}
    assert {c["run_id"] for c in data["claims"].values()} <= runs_in_history
    table = [line for line in (folder / "latest.md").read_text().splitlines() if line.startswith("| [")]
    assert {line.split("]")[0][3:] for line in table} == set(data["claims"])
    html = (folder / "index.html").read_text()
    assert all(f"id='claim-{cid.replace('.', '')}'" in html or cid in html for cid in data["claims"])
    for claim in data["claims"].values():
        assert (folder / figure_name(claim["id"], "", "curve")).exists()
    assert not list(folder.glob(".staging-*"))
    return data


def _instrumented(monkeypatch, at, action):
    """Make the at-th file step (counting from 1) do `action` instead."""
    count = {"n": 0}
    for name in STEPS:
        original = getattr(files, name)

        def step(*args, _original=original, _name=name, **kwargs):
            count["n"] += 1
            if count["n"] == at:
                count["step"] = _name
                action()
            return _original(*args, **kwargs)

        monkeypatch.setattr(files, name, step)
    return count


def _killed_write(folder, at):
    import pytest as _pytest

    with _pytest.MonkeyPatch.context() as monkeypatch:
        _instrumented(monkeypatch, at, lambda: os._exit(9))
        _write(folder, "a2020.one", "a2020.two")
    os._exit(0)


def test_a_write_killed_after_any_file_step_loses_nothing_committed_and_the_next_write_repairs_it(tmp_path):
    context = multiprocessing.get_context("fork")
    at, finished = 1, False
    while not finished:
        folder = tmp_path / f"kill-{at}"
        _write(folder, "a2020.one")
        before = report.load(folder / "latest.json")
        child = context.Process(target=_killed_write, args=(folder, at))
        child.start()
        child.join(60)
        finished = child.exitcode == 0
        assert child.exitcode in (0, 9)
        after = report.load(folder / "latest.json")                  # the old report or the new, never a mix
        assert set(after["claims"]) in ({"a2020.one"}, {"a2020.one", "a2020.two"})
        committed = set(after["claims"]) == {"a2020.one", "a2020.two"}
        if not committed:
            assert after["latest_run"] == before["latest_run"]
        _write(folder, "a2020.three")                                 # the next run repairs what was cut short
        data = _consistent(folder)
        assert ("a2020.two" in data["claims"]) == committed
        lines = report.read_history(folder)
        assert len({line["run"]["run_id"] for line in lines}) == len(lines)     # no line twice
        at += 1
    assert at > 5                                                     # the write has several steps


@pytest.mark.parametrize("at", range(1, 12))
def test_a_write_failing_at_any_file_step_keeps_the_evidence_and_says_what_was_written(tmp_path, monkeypatch, at):
    _write(tmp_path, "a2020.one")
    before = (tmp_path / "latest.json").read_bytes()

    def fail():
        raise OSError(28, "No space left on device")

    count = _instrumented(monkeypatch, at, fail)
    try:
        written = _write(tmp_path, "a2020.two")
    except ReportError as error:
        text = str(error)
        assert "no report written" in text and "nothing there changed" in text
        side = next(tmp_path.glob("evidence-*.json"), None)
        if side is not None:
            assert str(side) in text and "a2020.two" in report.load(side)["claims"]
            assert report.load(side)["history_lines"]
        else:                                                         # the side file itself failed: in the temp folder
            assert "kept in" in text
        assert (tmp_path / "latest.json").read_bytes() == before
    else:
        if count["n"] < at:
            return                                                    # the write has fewer steps
        assert "a2020.two" in report.load(tmp_path / "latest.json")["claims"]
        assert written.problems or count["step"] == "remove_tree"        # a staging folder left for the next write
    monkeypatch.undo()
    _write(tmp_path, "a2020.three")
    _consistent(tmp_path)


def test_history_without_a_final_newline_keeps_both_lines(tmp_path):
    _write(tmp_path, "a2020.one")
    path = tmp_path / "history.jsonl"
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    _write(tmp_path, "a2020.two")
    assert len(report.read_history(tmp_path)) == 2


def test_unreadable_history_lines_are_skipped_and_counted_never_a_crash(tmp_path):
    _write(tmp_path, "a2020.one")
    with open(tmp_path / "history.jsonl", "ab") as out:
        out.write(b'{"run": 5, "verdicts": []}\n{"run": {"run_id": "x"}, "verdicts": {"a": {"verdict": 3}}}\n'
                  b"\xff\xfe not utf-8\n[1, 2]\n")
    _write(tmp_path, "a2020.two")
    lines, skipped = report.read_history_counted(tmp_path)
    assert len(lines) == 2 and skipped == 4
    assert "4 unreadable line(s) skipped" in (tmp_path / "index.html").read_text()
    assert cli.main([str(tmp_path)]) == 0


@pytest.mark.parametrize("damage, message", [
    (lambda d: d.update(claims=[1, 2]), "'claims' is a list, not a mapping"),
    (lambda d: d.pop("runs"), "'runs' is missing"),
    (lambda d: next(iter(d["claims"].values())).pop("negative_control"), "lacks negative_control"),
    (lambda d: next(iter(d["claims"].values())).update(run_id="nowhere"), "names run 'nowhere'"),
    (lambda d: next(iter(d["claims"].values())).update(verdict="confirmed"), "verdict 'confirmed'"),
])
def test_a_report_of_the_wrong_shape_is_named_and_the_evidence_kept(tmp_path, damage, message, capsys):
    _write(tmp_path, "a2020.one")
    data = json.loads((tmp_path / "latest.json").read_text())
    damage(data)
    (tmp_path / "latest.json").write_text(json.dumps(data))
    damaged = (tmp_path / "latest.json").read_text()
    with pytest.raises(ReportError, match=f"not a valid sgdcheck report.*{message}.*kept in"):
        _write(tmp_path, "a2020.two")
    assert (tmp_path / "latest.json").read_text() == damaged
    assert "a2020.two" in report.load(next(tmp_path.glob("evidence-*.json")))["claims"]
    assert cli.main([str(tmp_path)]) == 2                               # redraw: a message, not a traceback
    assert cli.main(["diff", str(tmp_path), str(tmp_path)]) == 2
    assert message.split("'")[0] in capsys.readouterr().err


def test_left_over_staging_folders_are_removed_by_the_next_write(tmp_path):
    _write(tmp_path, "a2020.one")
    (tmp_path / ".staging-old").mkdir()
    (tmp_path / ".staging-old" / "latest.md").write_text("stale")
    _write(tmp_path, "a2020.two")
    assert not list(tmp_path.glob(".staging-*"))


def test_redraw_waits_for_the_folders_lock(tmp_path, monkeypatch):
    from filelock import FileLock

    _write(tmp_path, "a2020.one")
    monkeypatch.setattr(report, "LOCK_TIMEOUT_S", 0.2)
    with FileLock(str(tmp_path / ".sgdcheck.lock")):
        with pytest.raises(ReportError, match="stayed locked"):
            report.redraw(tmp_path)


def test_an_immutable_latest_json_writes_nothing_and_keeps_the_evidence(tmp_path, monkeypatch):
    _write(tmp_path, "a2020.one")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    original = files.replace

    def refuse(source, target):
        if target.name == "latest.json":
            raise PermissionError(1, "Operation not permitted", str(target))
        return original(source, target)

    monkeypatch.setattr(files, "replace", refuse)
    with pytest.raises(ReportError, match="no report written.*Operation not permitted.*kept in"):
        _write(tmp_path, "a2020.two")
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file() and not p.name.startswith("evidence")}
    assert after == before                                              # latest.md, index.html not new either


def test_an_immutable_history_is_said_and_the_line_appended_by_the_next_write(tmp_path, monkeypatch):
    _write(tmp_path, "a2020.one")

    def refuse(path, lines):
        raise PermissionError(1, "Operation not permitted", str(path))

    original = files.append_lines
    monkeypatch.setattr(files, "append_lines", refuse)
    written = _write(tmp_path, "a2020.two")
    assert any("history.jsonl" in p for p in written.problems)
    assert len(report.read_history(tmp_path)) == 1
    monkeypatch.setattr(files, "append_lines", original)
    _write(tmp_path, "a2020.three")
    assert len(report.read_history(tmp_path)) == 3
    _consistent(tmp_path)


def test_when_the_evidence_cannot_be_kept_anywhere_the_message_names_every_place(tmp_path, monkeypatch):
    _write(tmp_path, "a2020.one")

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files, "write_text", full)
    with pytest.raises(ReportError, match=f"could not be kept anywhere.*{tmp_path}.*No space left"):
        _write(tmp_path, "a2020.two")
