from sgdcheck.report.stale import _closure, _namespace_modules, claim_code
from sgdcheck.stats import holds


def _uses_rules():
    return holds(True, "x")


def test_the_code_of_a_claim_covers_its_verdict_rules_and_the_seed_design():
    reached = _closure(frozenset(_namespace_modules(_uses_rules.__globals__) | {"plugin", "looks"}))
    assert {"stats", "looks", "plugin", "evidence"} <= set(reached)         # verdict rules and design, not only runs
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
