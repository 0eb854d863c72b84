from sgdcheck.report.stale import _closure, _namespace_modules, claim_code
from sgdcheck.stats import holds


def _uses_rules():
    return holds(True, "x")


def test_the_code_of_a_claim_covers_its_verdict_rules_and_the_seed_design():
    reached = _closure(frozenset(_namespace_modules(_uses_rules.__globals__) | {"plugin", "looks"}))
    assert {"stats", "looks", "plugin", "evidence"} <= set(reached)         # verdict rules and design, not only runs
    assert claim_code(_uses_rules) == claim_code(_uses_rules) and len(claim_code(_uses_rules)) == 16
