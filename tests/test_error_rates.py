"""A fast run of the error-rate simulation (the full table: python -m sgdcheck.error_rates)."""
from sgdcheck.error_rates import GOAL, combine_rules, effect_rules, mean_rules, proportion_rules, table


def _errors(rows):
    return [r for r in rows if r.is_error]


def test_mean_rules_keep_their_error_rates_at_the_bound():
    rows = mean_rules(sizes=(3, 10), trials=1500, bootstrap_trials=1, seed=1)
    t_rows = [r for r in _errors(rows) if r.interval == "Student t" and "skewed" not in r.truth]
    assert t_rows and all(r.upper <= GOAL for r in t_rows), table(t_rows)


def test_effect_and_proportion_rules_keep_their_error_rates():
    rows = _errors(effect_rules(sizes=(5,), trials=2500, seed=2) + proportion_rules(sizes=(30, 500), trials=1500, seed=3))
    assert all(r.upper <= GOAL for r in rows), table(rows)


def test_combine_needs_its_correction():
    rows = combine_rules(parts=(5,), trials=600, seed=4)
    corrected = next(r for r in rows if r.interval == "Bonferroni" and r.what == "refuted")
    plain = next(r for r in rows if r.interval == "uncorrected")
    assert corrected.upper <= GOAL < plain.rate                  # five parts at 2.5% each: ~12% uncorrected
    assert all(r.upper <= GOAL for r in rows if r.interval == "Bonferroni"), table(rows)


def test_the_cases_of_one_claim_are_not_corrected_and_the_table_says_how_much_that_costs():
    from sgdcheck.error_rates import case_rules

    rows = case_rules(cases=(3,), trials=1500, seed=5)
    refuted = next(r for r in rows if r.what == "refuted")
    assert 0.05 < refuted.rate < 0.11            # three cases at 2.5% each: about 7.3%, above one test's level
    assert next(r for r in rows if r.what == "replicated").upper <= GOAL


def test_the_sequential_design_keeps_its_level_where_looking_naively_does_not():
    from sgdcheck.error_rates import sequential_rules, sequential_table

    rows = [r for r in sequential_rules(firsts=(5,), trials=800, seed=6) if r.truth == "at the bound"]
    spent = [r for r in rows if r.interval.startswith("Bonferroni")]
    naive = [r for r in rows if "first decision" in r.interval]
    assert spent and all(r.upper <= GOAL for r in spent), sequential_table(rows)
    assert all(r.rate > 0.04 for r in naive), sequential_table(rows)     # 2.5% per look, inflated over three
    assert all(r.mean_seeds <= 20 for r in rows)
    curtailed = [r for r in spent if "futility" in r.interval]
    assert curtailed and all(r.mean_seeds < 12 for r in curtailed), sequential_table(rows)   # not to the cap (20)
