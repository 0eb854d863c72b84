"""The guide's worked example (docs/writing-a-claim.md), run as a user would: copied into a folder outside this
repository, with no configuration file, and run with pytest there."""
import json
import re
from pathlib import Path

pytest_plugins = ["pytester"]

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "writing-a-claim.md"


def example() -> tuple[str, str]:
    """(file name, source) of the module the guide marks as its example."""
    match = re.search(r"<!-- example: (\S+) -->\n```python\n(.*?)```", GUIDE.read_text(), re.S)
    assert match, "the guide has no marked example"
    return match.group(1), match.group(2)


def test_the_guides_example_runs_outside_the_repository(pytester, monkeypatch, tmp_path):
    monkeypatch.setenv("SGDCHECK_CACHE", str(tmp_path / "runs"))
    name, source = example()
    project = pytester.mkdir("myproject")
    (project / name).write_text(source)
    result = pytester.runpytest_subprocess(f"myproject/{name}")
    result.assert_outcomes(passed=1)
    assert not (pytester.path / "reports").exists()
    report = json.loads((project / "reports" / "latest.json").read_text())
    entry = report["claims"]["wu2018.gd-bound-digits"]
    assert entry["verdict"] == "replicated" and entry["negative_control"]["verdict"] == "refuted"
    assert "read cached runs" not in (project / "reports" / "latest.md").read_text()   # no false stale-run note
    assert "FutureWarning" not in result.stdout.str()


def test_every_public_name_and_its_public_methods_are_documented():
    import inspect

    import sgdcheck

    missing = []
    for name in sgdcheck.__all__:
        value = getattr(sgdcheck, name)
        if (inspect.isfunction(value) or inspect.isclass(value)) and not inspect.getdoc(value):
            missing.append(name)
        if inspect.isclass(value):
            missing += [f"{name}.{attribute}" for attribute, member in vars(value).items()
                        if not attribute.startswith("_") and (inspect.isfunction(member) or isinstance(member, property))
                        and not inspect.getdoc(member)]
    assert missing == []
