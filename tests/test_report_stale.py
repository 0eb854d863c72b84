from sgdcheck.report.stale import _closure, _namespace_modules, claim_code
from sgdcheck.stats import holds


def _uses_rules():
    return holds(True, "x")


def test_the_code_of_a_claim_covers_its_verdict_rules_and_the_seed_design():
    from sgdcheck.report.stale import DESIGN_MODULES

    reached = _closure(frozenset(_namespace_modules(_uses_rules.__globals__) | DESIGN_MODULES))
    assert {"stats", "looks", "looks_run", "evidence"} <= set(reached)      # verdict rules and design, not only runs
    assert not {"plugin", "runs_plan"} & set(reached)       # a session's options and plumbing conclude nothing
    assert claim_code(_uses_rules) == claim_code(_uses_rules) and len(claim_code(_uses_rules)) == 16


def test_an_entry_made_under_another_python_is_named_so_not_called_changed(tmp_path):
    """Syntax trees differ between minor versions of Python, so the hash of an entry made under another one cannot
    be compared: it is listed as made there (not current, not 'code changed')."""
    import platform

    from sgdcheck.report.stale import CURRENT, stale_entries

    (tmp_path / "claim_x.py").write_text("def test_x():\n    return 1\n")
    report = {"claims": {}, "runs": {}}
    for claim_id, python in (("here", platform.python_version()), ("there", "3.99.1"), ("unknown", None)):
        report["runs"][claim_id] = {"python": python} if python else {}
        report["claims"][claim_id] = {"run_id": claim_id, "cases": [{"test": "claim_x.py::test_x", "code": "0" * 16}]}
    rows = {row["id"]: row["status"] for row in stale_entries(report, tmp_path)}
    assert rows == {"here": "code changed", "there": "made under Python 3.99", "unknown": "code changed"}
    import importlib.util

    spec = importlib.util.spec_from_file_location("claim_x_here", tmp_path / "claim_x.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    report["claims"]["here"]["cases"][0]["code"] = claim_code(module.test_x)
    assert {row["id"]: row["status"] for row in stale_entries(report, tmp_path)}["here"] == CURRENT


def test_the_seed_checks_of_an_entry_are_judged_by_the_code_that_made_them():
    from sgdcheck.report.stale import CHECKS_NONE, CHECKS_OTHER, CHECKS_SAME, _checks_status

    entry = {"cases": [{"code": "a"}, {"code": "b"}]}
    assert _checks_status(entry) == CHECKS_NONE
    assert _checks_status({**entry, "seed_checks": [{"code": "a+b"}]}) == CHECKS_SAME
    assert _checks_status({**entry, "seed_checks": [{"code": "a+b"}, {}]}) == CHECKS_OTHER        # not recorded
    assert _checks_status({**entry, "seed_checks": [{"code": "a+c"}]}) == CHECKS_OTHER
    assert _checks_status({"cases": [{}], "seed_checks": [{"code": None}]}) == CHECKS_OTHER         # entry unknown



def _git(folder, *args) -> str:
    import subprocess

    return subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=folder, check=True,
                          capture_output=True, text=True).stdout.strip()


def test_an_entry_made_under_another_python_is_compared_through_the_files_of_its_commit(tmp_path, monkeypatch):
    """The hash an entry recorded under another Python cannot be reproduced here, but the files of the commit it
    was made at can be hashed here: equal to the checkout's, the entry is current; a changed claim is 'code
    changed'; a dirty commit (files git does not hold) stays 'made under Python x'. Seed checks likewise."""
    import importlib.util
    import platform
    import shutil

    from sgdcheck.report import stale

    package = tmp_path / "sgdcheck"
    shutil.copytree(stale.PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__", "report"))
    claim = tmp_path / "claim_x.py"
    claim.write_text("from sgdcheck.stats import holds\n\n\ndef test_x():\n    return holds(True, 'x')\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "first")
    first = _git(tmp_path, "rev-parse", "HEAD")
    monkeypatch.setattr(stale, "PACKAGE", package.resolve())
    caches = (stale._closure, stale._module_digest, stale._toplevel, stale._git_file)
    for cached in caches:
        cached.cache_clear()
    try:
        spec = importlib.util.spec_from_file_location("claim_x_commit", claim)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert stale.claim_code_at(module.test_x, first) == stale.claim_code(module.test_x)
        assert stale.claim_code_at(module.test_x, first + "+dirty") is None
        assert stale.claim_code_at(module.test_x, "0" * 40) is None                 # not in this repository

        def report(commit):
            """An entry made under Python 3.99 at `commit`, with a seed check made here by today's code."""
            runs = {"there": {"python": "3.99.1", "git_commit": commit},
                    "check": {"python": platform.python_version(), "git_commit": "unknown"}}
            entry = {"run_id": "there", "cases": [{"test": "claim_x.py::test_x", "code": "f" * 16}],
                     "seed_checks": [{"run_id": "check", "seed_offset": 1000,
                                      "code": stale.claim_code(module.test_x)}]}
            return {"claims": {"x": entry}, "runs": runs}

        row = stale.stale_entries(report(first), tmp_path)[0]
        assert (row["status"], row["compared"], row["checks"]) == ("current", "commit (Python 3.99)", "same code")
        row = stale.stale_entries(report(first + "+dirty"), tmp_path)[0]
        assert (row["status"], row["checks"]) == ("made under Python 3.99", "other code")
        claim.write_text(claim.read_text().replace("True", "False"))
        stale._module_digest.cache_clear()
        row = stale.stale_entries(report(first), tmp_path)[0]
        assert (row["status"], row["checks"]) == ("code changed", "other code")
        assert row["changed"] == ("claim_x.py",)                                    # what changed since the commit
        stats = package / "stats.py"
        stats.write_text(stats.read_text() + "\n\ndef _added():\n    return 1\n")
        stale._module_digest.cache_clear()
        assert stale.changed_since(module.test_x, first) == ("claim_x.py", "sgdcheck/stats.py")
        assert stale.changed_since(module.test_x, first + "+dirty") is None
        assert stale.changed_since(module.test_x, "0" * 40) is None
        assert stale.stale_entries(report(first), tmp_path)[0]["changed"] == ("claim_x.py", "sgdcheck/stats.py")
    finally:
        for cached in caches:
            cached.cache_clear()
