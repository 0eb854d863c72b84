import json

import pytest

pytest_plugins = ["pytester"]

CLAIM_MODULE = '''
from sgdcheck import Claim, Quote, Source, known_refutation
from sgdcheck.stats import holds

CLAIM = Claim(id="demo2020.{name}", source=Source("Demo 2020", "Eq. 1"), quote=Quote("it holds", "Eq. 1"), statement="{name}")

{marker}
def test_claim(scale, evidence):
    evidence.record(value=1.0, first_seed=scale.seeds[0])
    evidence.conclude(CLAIM, holds({main}, "main"), seeds=scale.seeds,
                      negative_control=("wrong", holds({control}, "control")))
'''


def _claim(pytester, name, main=True, control=False, marker=""):
    pytester.makepyfile(**{f"test_{name}": CLAIM_MODULE.format(name=name, main=main, control=control, marker=marker)})


def test_verdicts_table_and_report(pytester):
    _claim(pytester, "good")
    result = pytester.runpytest_subprocess("--report-dir", "out")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*sgdcheck verdicts*", "demo2020.good*replicated*refuted*"])
    data = json.loads((pytester.path / "out" / "latest.json").read_text())
    assert data["claims"]["demo2020.good"]["measured"] == {"value": 1.0, "first_seed": 0}


def test_a_negative_control_that_is_not_refuted_fails_the_claim(pytester):
    _claim(pytester, "blind", control=True)
    result = pytester.runpytest_subprocess("--no-report")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*NegativeControlFailed*"])


def test_known_refutation_is_a_strict_xfail_on_refuted_only(pytester):
    _claim(pytester, "known", main=False, marker='@known_refutation("the data say otherwise")')
    pytester.runpytest_subprocess("--no-report").assert_outcomes(xfailed=1)
    _claim(pytester, "fixed", main=True, marker='@known_refutation("the data say otherwise")')
    result = pytester.runpytest_subprocess("--no-report", "test_fixed.py")
    result.assert_outcomes(failed=1)


def test_a_known_refutation_limited_to_a_scale_is_expected_there_only(pytester):
    _claim(pytester, "small", main=False, marker='@known_refutation("too few seeds", scales=("smoke",))')
    pytester.runpytest_subprocess("--report-dir", "out").assert_outcomes(xfailed=1)
    entry = json.loads((pytester.path / "out" / "latest.json").read_text())["claims"]["demo2020.small"]
    assert entry["known_refutation"] == "at smoke scale: too few seeds"
    pytester.runpytest_subprocess("--report-dir", "out", "--scale", "full").assert_outcomes(failed=1)
    entry = json.loads((pytester.path / "out" / "latest.json").read_text())["claims"]["demo2020.small"]
    assert entry["verdict"] == "refuted" and entry["known_refutation"] is None


def test_a_claim_can_be_known_inconclusive_at_one_scale_and_refuted_at_another(pytester):
    marker = ('@known_inconclusive("too few seeds", scales=("smoke",))\n'
              '@known_refutation("the wider nets say otherwise", scales=("full",))')
    _claim(pytester, "both", main=False, marker=marker)
    (pytester.path / "test_both.py").write_text((pytester.path / "test_both.py").read_text().replace(
        "import Claim,", "import Claim, known_inconclusive,"))
    pytester.runpytest_subprocess("--report-dir", "out", "--scale", "full").assert_outcomes(xfailed=1)
    entry = json.loads((pytester.path / "out" / "latest.json").read_text())["claims"]["demo2020.both"]
    assert entry["known_refutation"] == "at full scale: the wider nets say otherwise"
    assert entry["known_inconclusive"] is None
    pytester.runpytest_subprocess("--report-dir", "out").assert_outcomes(failed=1)     # refuted where inconclusive was declared
    entry = json.loads((pytester.path / "out" / "latest.json").read_text())["claims"]["demo2020.both"]
    assert entry["verdict"] == "refuted" and entry["known_refutation"] is None
    assert entry["known_inconclusive"] == "at smoke scale: too few seeds"


def test_each_entry_records_its_code_and_stale_names_the_entries_the_checkout_no_longer_makes(pytester, capsys):
    from sgdcheck.report import cli

    _claim(pytester, "kept")
    _claim(pytester, "edited")
    pytester.runpytest_subprocess("--report-dir", "out").assert_outcomes(passed=2)
    out, root = str(pytester.path / "out"), str(pytester.path)
    entries = json.loads((pytester.path / "out" / "latest.json").read_text())["claims"]
    assert all(len(e["cases"][0]["code"]) == 16 for e in entries.values())
    assert cli.main(["stale", out, "--root", root]) == 0
    assert "2 of 2 entries made by the code now here" in capsys.readouterr().out
    edited = pytester.path / "test_edited.py"
    edited.write_text('"""A docstring changes nothing it computes."""\n' + edited.read_text())
    assert cli.main(["stale", out, "--root", root]) == 0
    capsys.readouterr()
    edited.write_text(edited.read_text().replace('"wrong"', '"a rival"'))     # what it computes changed
    assert cli.main(["stale", out, "--root", root]) == 1
    text = capsys.readouterr().out
    assert "demo2020.edited  code changed" in text and "demo2020.kept    current" in text
    assert cli.main(["stale", out, "--root", root, "--modules"]) == 1
    assert capsys.readouterr().out.split() == ["test_edited.py"]
    (pytester.path / "test_kept.py").unlink()
    assert cli.main(["stale", out, "--root", root]) == 1
    assert "demo2020.kept    test gone" in capsys.readouterr().out
    assert cli.main(["stale", str(pytester.path / "nowhere"), "--root", root]) == 2


def test_refuted_claim_without_marker_fails(pytester):
    _claim(pytester, "wrong", main=False)
    pytester.runpytest_subprocess("--no-report").assert_outcomes(failed=1)


def test_scale_option_and_strict_markers(pytester):
    _claim(pytester, "scaled")
    fixed = ("--seed-design", "fixed")
    pytester.runpytest_subprocess("--scale", "full", *fixed, "--report-dir", "out").assert_outcomes(passed=1)
    data = json.loads((pytester.path / "out" / "latest.json").read_text())
    assert data["claims"]["demo2020.scaled"]["scale"] == "full"
    assert data["claims"]["demo2020.scaled"]["seeds"] == list(range(10))
    pytester.runpytest_subprocess("--scale", "full", *fixed, "--seed-offset", "100", "--report-dir", "out").assert_outcomes(passed=1)
    data = json.loads((pytester.path / "out" / "latest.json").read_text())
    entry = data["claims"]["demo2020.scaled"]
    assert entry["seeds"] == list(range(10)) and entry["measured"]["first_seed"] == 0     # the entry stays
    check, = entry["seed_checks"]
    assert check["seeds"] == list(range(100, 110)) and check["agrees"] and check["seed_offset"] == 100
    assert data["runs"][check["run_id"]]["seed_offset"] == 100
    assert "✅ same" in (pytester.path / "out" / "latest.md").read_text()
    assert pytester.runpytest_subprocess("--scale", "huge").ret == pytest.ExitCode.USAGE_ERROR
    pytester.makepyfile(test_marker="import pytest\n@pytest.mark.gpu\ndef test_x():\n    pass\n")
    pytester.runpytest_subprocess("--strict-markers", "test_marker.py").assert_outcomes(passed=1)


def test_evidence_travels_from_xdist_workers(pytester):
    pytest.importorskip("xdist")
    for name in ("one", "two", "three"):
        _claim(pytester, name)
    result = pytester.runpytest_subprocess("-n", "2", "--report-dir", "out")
    result.assert_outcomes(passed=3)
    data = json.loads((pytester.path / "out" / "latest.json").read_text())
    assert set(data["claims"]) == {"demo2020.one", "demo2020.two", "demo2020.three"}


def test_an_interrupted_session_writes_no_report(pytester):
    _claim(pytester, "good")
    pytester.makepyfile(test_stop="def test_stop():\n    raise KeyboardInterrupt\n")
    result = pytester.runpytest_subprocess("--report-dir", "out")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert not (pytester.path / "out" / "latest.json").exists()


def test_a_claim_without_source_is_a_collection_error_and_writes_no_report(pytester):
    _claim(pytester, "good")
    pytester.makepyfile(test_nosource=(
        "from sgdcheck import Claim\n"
        "CLAIM = Claim(id='demo2020.nosource', statement='s')\n"
        "def test_x():\n    pass\n"))
    result = pytester.runpytest_subprocess("--report-dir", "out")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*demo2020.nosource* has no source*"])
    assert not (pytester.path / "out").exists()


UNDECIDED_MODULE = '''
from sgdcheck import Claim, Quote, Source, combine, known_inconclusive, mean_interval
from sgdcheck.stats import at_least, holds

CLAIM = Claim(id="demo2020.undecided", source=Source("Demo 2020", "Eq. 2"), quote=Quote("undecided", "Eq. 2"), statement="undecided")

{marker}
def test_claim(scale, evidence):
    evidence.conclude(CLAIM, at_least({values}, 0.0, what="gain"), seeds=scale.seeds,
                      negative_control=("wrong", holds(False, "control")))
'''


@pytest.mark.parametrize("values, outcome", [
    ([-0.1, 0.2, -0.05, 0.1], dict(xfailed=1)),        # the interval straddles 0: inconclusive, as declared
    ([1.0, 1.1, 0.9, 1.05], dict(failed=1)),          # decided: the strict xfail reports it
    ([-1.0, -1.1, -0.9, -1.05], dict(failed=1)),      # refuted is not inconclusive either
])
def test_known_inconclusive_is_a_strict_xfail_on_inconclusive_only(pytester, values, outcome):
    pytester.makepyfile(test_undecided=UNDECIDED_MODULE.format(
        marker='@known_inconclusive("an effect smaller than the seeds\' spread")', values=values))
    result = pytester.runpytest_subprocess("--report-dir", "out")
    result.assert_outcomes(**outcome)
    if "failed" in outcome:                  # an outcome other than the declared one is not labelled known
        assert "(known)" not in result.stdout.str()
    if "xfailed" in outcome:
        result.stdout.fnmatch_lines(["demo2020.undecided*inconclusive (known)*refuted*"])
        data = json.loads((pytester.path / "out" / "latest.json").read_text())
        assert data["claims"]["demo2020.undecided"]["known_inconclusive"] == "an effect smaller than the seeds' spread"
        assert data["claims"]["demo2020.undecided"]["known_refutation"] is None


def test_other_projects_sessions_are_untouched(pytester, monkeypatch):
    """Installed plugins load in every session: one that collects no claim and passes no sgdcheck option gets
    neither sgdcheck's hypothesis profile nor its torch thread share, nor any check of its storage."""
    pytester.makepyfile(test_other=(
        "import os\n"
        "from hypothesis import settings\n"
        "def test_profile():\n"
        "    print('PROFILE', settings._current_profile)\n"
        "    assert settings._current_profile == 'default'\n"))
    monkeypatch.delenv("CI", raising=False)                 # hypothesis loads its own 'ci' profile under CI
    monkeypatch.delenv("HYPOTHESIS_PROFILE", raising=False)
    monkeypatch.setenv("SGDCHECK_CACHE", "/proc/not-writable")
    result = pytester.runpytest_subprocess("-s")
    result.assert_outcomes(passed=1)
    _claim(pytester, "good")
    result = pytester.runpytest_subprocess("--report-dir", "out")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*run cache /proc/not-writable (set by SGDCHECK_CACHE) is not a writable folder*"])


def test_bad_storage_and_devices_are_usage_errors_before_any_test(pytester, monkeypatch, tmp_path):
    _claim(pytester, "good")
    monkeypatch.setenv("SGDCHECK_CACHE", str(tmp_path / "cache"))
    (pytester.path / "afile").write_text("")
    result = pytester.runpytest_subprocess("--report-dir", "afile/out")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*report folder afile/out (set by --report-dir) cannot be created*is a file*"])
    import torch
    if not torch.cuda.is_available():
        result = pytester.runpytest_subprocess("--device", "cuda")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(["*--device cuda was asked for, but torch sees no CUDA device*"])
        result.stdout.no_fnmatch_line("*passed*")
    assert pytester.runpytest_subprocess("--seed-offset", "-3").ret == pytest.ExitCode.USAGE_ERROR


def test_the_plugin_uses_only_the_results_api_of_the_reports():
    import ast
    import inspect

    from sgdcheck import plugin
    from sgdcheck.report import results

    tree = ast.parse(inspect.getsource(plugin))
    imported = {(node.module, alias.name) for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                for alias in node.names if node.module and "report" in node.module}
    assert imported == {("report", "results")}
    used = {node.attr for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "results"}
    assert used and used <= set(results.__all__), used - set(results.__all__)


def test_each_xdist_worker_takes_its_own_gpu_on_a_machine_of_several():
    from sgdcheck.plugin import worker_device
    from sgdcheck.runs import RunConfig

    assert [worker_device("cuda", f"gw{k}", 4) for k in range(6)] == ["cuda:0", "cuda:1", "cuda:2", "cuda:3",
                                                                        "cuda:0", "cuda:1"]
    assert worker_device("cuda", None, 4) == "cuda"              # one process: the default GPU
    assert worker_device("cuda", "gw3", 1) == "cuda"             # one GPU: every worker shares it
    assert worker_device("cpu", "gw3", 4) == "cpu"
    # which GPU trained a run is not part of its cache key: workers share each other's runs
    assert RunConfig(device="cuda:3").key() == RunConfig(device="cuda").key() != RunConfig(device="cpu").key()


def test_a_claim_test_that_never_concludes_fails_saying_so(pytester):
    pytester.makepyfile(test_silent='''
from sgdcheck import Claim, Quote, Source, known_refutation
from sgdcheck.stats import holds

CLAIM = Claim(id="demo2020.silent", source=Source("Demo 2020", "Eq. 1"), quote=Quote("it holds", "Eq. 1"), statement="silent")

def test_claim(scale, evidence):
    verdict = holds(False, "main")          # refuted, and never reported
    evidence.record(value=1.0)

@known_refutation("declared")
def test_known(scale, evidence):
    pass
''')
    result = pytester.runpytest_subprocess("--report-dir", "out")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*EvidenceNotConcluded*without calling evidence.conclude*"])


@pytest.mark.parametrize("options, env, message", [
    (["--report-dir", ""], {}, "*--report-dir is empty*"),
    ([], {"SGDCHECK_CACHE": ""}, "*SGDCHECK_CACHE is set but empty*"),
    (["--seed-offset", str(10**20)], {}, "*--seed-offset must be in 0..1,000,000,000*"),
    (["--slurm-partition", "gpu"], {}, "*--slurm-partition only apply with --executor slurm*"),
    (["--executor", "local", "--slurm-gpus-per-task", "1"], {}, "*--slurm-gpus-per-task only apply with*"),
    (["--executor", "slurm"], {"PATH": "/nonexistent"}, "*--executor slurm needs SLURM*sbatch*not on PATH*"),
])
def test_bad_options_are_one_line_usage_errors(pytester, monkeypatch, options, env, message):
    _claim(pytester, "good")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = pytester.runpytest_subprocess(*options)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "INTERNALERROR" not in result.stderr.str() + result.stdout.str()
    assert not (pytester.path / "reports").exists()


def test_one_claim_id_in_two_modules_is_an_error(pytester):
    _claim(pytester, "twice")
    pytester.mkdir("other")
    (pytester.path / "other" / "test_twice_again.py").write_text(
        CLAIM_MODULE.format(name="twice", main=True, control=False, marker=""))
    result = pytester.runpytest_subprocess("--report-dir", "out")
    result.stdout.fnmatch_lines(["*claim id 'demo2020.twice' is declared in *test_twice*.py and again in "
                                 "*test_twice*.py*"])
    assert result.ret != pytest.ExitCode.OK


def test_a_report_that_cannot_be_written_fails_the_session_and_names_the_evidence(pytester):
    _claim(pytester, "good")
    (pytester.path / "out").mkdir()
    (pytester.path / "out" / "latest.json").write_text('{"schema": 2, "claims": [], "runs": {}}')
    result = pytester.runpytest_subprocess("--report-dir", "out")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*no report written*'claims' is a list*kept in*out/evidence-*.json*"])
    side, = (pytester.path / "out").glob("evidence-*.json")
    assert "demo2020.good" in json.loads(side.read_text())["claims"]


def test_an_interrupted_session_keeps_the_evidence_of_its_finished_claims(pytester):
    _claim(pytester, "good")
    pytester.makepyfile(test_zstop="def test_stop():\n    raise KeyboardInterrupt\n")
    result = pytester.runpytest_subprocess("--report-dir", "out", "-p", "no:randomly")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert not (pytester.path / "out" / "latest.json").exists()
    side, = (pytester.path / "out").glob("evidence-*.json")
    assert "demo2020.good" in json.loads(side.read_text())["claims"]


SEQUENTIAL_CLAIM = '''
from sgdcheck import Claim, Quote, Source
from sgdcheck.stats import holds, proportion

CLAIM = Claim(id="demo2020.thin", source=Source("Demo 2020", "Eq. 1"), quote=Quote("it holds", "Eq. 1"), statement="thin")
{declared}

def test_claim(scale, evidence):
    n = len(scale.seeds)                  # 6 successes in 10 trials per seed: decided only with many seeds
    evidence.record(seeds=n, blocks=len(scale.seeds.blocks))
    evidence.conclude(CLAIM, proportion(6 * n, 10 * n, low=0.5), seeds=scale.seeds,
                      negative_control=("never", holds(False, "control")))
'''


def _looks(pytester, *options, declared=""):
    pytester.makepyfile(test_thin=SEQUENTIAL_CLAIM.format(declared=declared))
    result = pytester.runpytest_subprocess("--report-dir", "out", *options)
    entry = json.loads((pytester.path / "out" / "latest.json").read_text())["claims"]["demo2020.thin"]
    case, = entry["cases"]
    return result, {**entry, "looks": case["looks"], "design": case["design"]}


SEQUENTIAL = ("--seed-design", "sequential")


def test_sequential_design_looks_again_with_twice_the_seeds(pytester):
    result, entry = _looks(pytester, *SEQUENTIAL)      # the first look: half the claim's 5 seeds, at least 3
    result.assert_outcomes(failed=1)                   # 72/120 at the looks' level is still undecided
    assert [look["seeds"] for look in entry["looks"]] == [3, 6, 12]
    assert entry["measured"] == {"seeds": 12, "blocks": 3} and sorted(entry["seeds"]) == list(range(12))
    assert entry["design"]["first_share"] == 0.5 and entry["design"]["futility"] == pytest.approx(0.1)
    result, entry = _looks(pytester, *SEQUENTIAL, declared="FIRST_LOOK = 1.0")
    result.assert_outcomes(passed=1)
    assert [look["seeds"] for look in entry["looks"]] == [5, 10, 20]
    assert entry["measured"] == {"seeds": 20, "blocks": 3} and sorted(entry["seeds"]) == list(range(20))
    design = entry["design"]
    assert design["stop"] == "last look" and design["looks"] == 3
    assert design["level"] == pytest.approx(1 - 0.05 / 3)
    assert entry["decision"]["interval"]["confidence"] == pytest.approx(1 - 0.05 / 3)
    assert design["seeds_needed"] > 20                  # replicated by less than one half-width at the cap
    assert "look 3 of 3, 20 seeds" in (pytester.path / "out" / "latest.md").read_text()


def test_fixed_design_and_caps(pytester):
    result, entry = _looks(pytester)                   # the default: the sequential design
    assert [look["seeds"] for look in entry["looks"]] == [3, 6, 12] and entry["design"]["rule"].startswith("sequential")
    result, entry = _looks(pytester, "--seed-design", "fixed")
    result.assert_outcomes(failed=1)                   # 30/50 at 95% is undecided: ClaimInconclusive
    assert [look["seeds"] for look in entry["looks"]] == [5] and entry["design"]["stop"] == "fixed design"
    assert entry["decision"]["interval"]["confidence"] == 0.95
    result, entry = _looks(pytester, *SEQUENTIAL, "--max-seeds", "10", declared="FIRST_LOOK = 1.0")
    assert [look["seeds"] for look in entry["looks"]] == [5, 10] and entry["design"]["stop"] == "cap"
    result, entry = _looks(pytester, *SEQUENTIAL, declared="LOOKS = {'smoke': 2}\nMAX_SEEDS = 40\nFIRST_LOOK = 1")
    assert [look["seeds"] for look in entry["looks"]] == [5, 10] and entry["design"]["stop"] == "last look"
    assert entry["design"]["level"] == pytest.approx(1 - 0.05 / 2)


def test_a_claim_decided_before_its_control_is_inconclusive_with_the_seeds_the_control_needs(pytester):
    clear = SEQUENTIAL_CLAIM.format(declared="FIRST_LOOK = 1.0").replace("6 * n, 10 * n", "9 * n, 10 * n")
    pytester.makepyfile(test_thin=clear.replace('holds(False, "control")', "proportion(47 * n, 100 * n, low=0.5)"))
    result = pytester.runpytest_subprocess("--report-dir", "out", *SEQUENTIAL, "--max-seeds", "10")
    result.assert_outcomes(failed=1)                   # ClaimInconclusive: the rival is not excluded yet
    case, = json.loads((pytester.path / "out" / "latest.json").read_text())["claims"]["demo2020.thin"]["cases"]
    assert [(look["verdict"], look["control"]) for look in case["looks"]] == [("replicated", "inconclusive")] * 2
    assert case["verdict"] == "inconclusive" and "do not yet tell the claim from its rival" in case["reason"]
    assert case["design"]["stop"] == "cap" and case["design"]["seeds_needed"] > 10


def test_a_claim_on_its_bound_stops_for_futility_once_it_has_five_seeds(pytester):
    pytester.makepyfile(test_thin=SEQUENTIAL_CLAIM.format(declared="").replace("6 * n, 10 * n", "5 * n, 10 * n"))
    result = pytester.runpytest_subprocess("--report-dir", "out", *SEQUENTIAL)
    result.assert_outcomes(failed=1)                   # inconclusive: ClaimInconclusive
    entry = json.loads((pytester.path / "out" / "latest.json").read_text())["claims"]["demo2020.thin"]
    case, = entry["cases"]
    # not at the first look's 3 seeds (too few to judge the chance by): at the second look's 6
    assert [look["seeds"] for look in case["looks"]] == [3, 6] and case["design"]["stop"] == "futile"
    assert "stopped for futility" in (pytester.path / "out" / "latest.md").read_text()


@pytest.mark.parametrize("options", [(*SEQUENTIAL, "--max-seeds", "0"), (*SEQUENTIAL, "--min-margin", "-1"),
                                     (*SEQUENTIAL, "--min-margin", "nan"), ("--seed-design", "fixed", "--max-seeds", "10"),
                                     ("--seed-design", "fixed", "--min-margin", "1"), ("--seed-design", "adaptive")])
def test_design_options_are_checked_before_anything_runs(pytester, options):
    pytester.makepyfile(test_thin=SEQUENTIAL_CLAIM.format(declared=""))
    assert pytester.runpytest_subprocess("--no-report", *options).ret == pytest.ExitCode.USAGE_ERROR


def test_reports_go_next_to_the_claims_of_a_project_without_a_configuration_file(pytester):
    project = pytester.mkdir("newuser")
    (project / "test_own.py").write_text(CLAIM_MODULE.format(name="own", main=True, control=False, marker=""))
    pytester.runpytest_subprocess("newuser/test_own.py").assert_outcomes(passed=1)   # run from the folder above
    assert (project / "reports" / "latest.json").is_file() and not (pytester.path / "reports").exists()
    run = next(iter(json.loads((project / "reports" / "latest.json").read_text())["runs"].values()))
    assert run["engine_commit"] and run["git_commit"]          # the claims' project and the engine, each named
    pytester.makeini("[pytest]\n")                              # a configuration file: its folder holds reports/
    pytester.runpytest_subprocess("newuser/test_own.py").assert_outcomes(passed=1)
    assert (pytester.path / "reports" / "latest.json").is_file()


SKIPPING_MODULE = '''
import os
import pytest
from sgdcheck import Claim, Quote, Source
from sgdcheck.stats import holds

CLAIM = Claim(id="demo2020.later", source=Source("Demo 2020", "Eq. 1"), quote=Quote("it holds", "Eq. 1"),
              statement="later")

def test_claim(scale, evidence):
    if os.environ.get("DEMO_SKIP"):
        pytest.skip("runs from full scale on")
    evidence.conclude(CLAIM, holds(True, "main"), seeds=scale.seeds, negative_control=("wrong", holds(False, "c")))
'''


def test_a_claim_that_skips_itself_at_a_scale_leaves_the_report_with_its_reason(pytester, monkeypatch):
    """An entry kept from an older run would read as this run's evidence at this scale under the current code."""
    pytester.makepyfile(test_later=SKIPPING_MODULE)
    _claim(pytester, "kept")
    pytester.runpytest_subprocess("--report-dir", "out").assert_outcomes(passed=2)
    pytester.runpytest_subprocess("--report-dir", "out", "--seed-offset", "1000").assert_outcomes(passed=2)
    monkeypatch.setenv("DEMO_SKIP", "1")
    pytester.runpytest_subprocess("--report-dir", "out", "--seed-offset", "1000").assert_outcomes(passed=1, skipped=1)
    data = json.loads((pytester.path / "out" / "latest.json").read_text())
    assert data["claims"]["demo2020.later"]["seed_checks"] == [] and not data["not_run"]   # on other seeds: the check
    pytester.runpytest_subprocess("--report-dir", "out", "test_later.py").assert_outcomes(skipped=1)
    data = json.loads((pytester.path / "out" / "latest.json").read_text())
    assert set(data["claims"]) == {"demo2020.kept"}
    assert data["not_run"]["demo2020.later"]["reason"] == "runs from full scale on"
    assert "- **demo2020.later**: runs from full scale on" in (pytester.path / "out" / "latest.md").read_text()
    assert "not run at this scale" in (pytester.path / "out" / "index.html").read_text()
    monkeypatch.delenv("DEMO_SKIP")
    pytester.runpytest_subprocess("--report-dir", "out").assert_outcomes(passed=2)
    data = json.loads((pytester.path / "out" / "latest.json").read_text())
    assert "demo2020.later" in data["claims"] and not data["not_run"]


def test_the_run_cache_is_announced_once_when_a_session_creates_it(pytester, monkeypatch, tmp_path):
    _claim(pytester, "good")
    monkeypatch.setenv("SGDCHECK_CACHE", str(tmp_path / "fresh" / "runs"))
    result = pytester.runpytest_subprocess("--no-report")
    result.stdout.fnmatch_lines([f"*created the run cache at {tmp_path / 'fresh' / 'runs'} (SGDCHECK_CACHE)*"])
    assert (tmp_path / "fresh" / "runs").is_dir()
    pytester.runpytest_subprocess("--no-report").stdout.no_fnmatch_line("*created the run cache*")


def test_paper_scale_without_a_gpu_skips_network_claims_unless_the_cpu_is_asked_for(pytester):
    pytester.makepyfile(test_net="import pytest\n@pytest.mark.gpu\ndef test_net():\n    pass\n")
    import torch
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible: auto picks it")
    result = pytester.runpytest_subprocess("--scale", "paper", "-rs", "--no-report")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*needs a GPU; none is visible (--device cpu runs them on the CPU)*"])
    pytester.runpytest_subprocess("--scale", "paper", "--device", "cpu", "--no-report").assert_outcomes(passed=1)


def test_a_report_dir_in_another_project_given_as_a_separate_word_is_refused(pytester, tmp_path_factory):
    """pytest reads `--report-dir DIR`'s value as a path when it looks for its configuration (before it knows the
    plugin's options): DIR inside another project with a pytest configuration made that project the rootdir, and
    the report's test ids ('::test_claim') and commit named nothing of the claims."""
    _claim(pytester, "good")
    other = tmp_path_factory.mktemp("other")
    (other / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
    (other / "reports").mkdir()
    result = pytester.runpytest_subprocess("--report-dir", str(other / "reports"), "test_good.py")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*test_good.py lies outside it*--report-dir=DIR*"])
    assert not (other / "reports" / "latest.json").exists()
    pytester.runpytest_subprocess(f"--report-dir={other / 'reports'}", "test_good.py").assert_outcomes(passed=1)
    entry = json.loads((other / "reports" / "latest.json").read_text())["claims"]["demo2020.good"]
    assert [case["test"] for case in entry["cases"]] == ["test_good.py::test_claim"]
