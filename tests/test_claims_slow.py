"""The `slow` claim tests (claims/conftest.py): every entry names a test that exists, exactly those carry the marker,
and the test command (`./run tests`, CI) leaves them out while `./run claims` keeps them."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _collected(*marker: str) -> set[str]:
    result = subprocess.run([sys.executable, "-m", "pytest", "claims", "--collect-only", "-q", "-p", "no:randomly",
                             *marker], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode in (0, 5), result.stdout[-2000:] + result.stderr[-2000:]
    return {line.split("claims/", 1)[1] for line in result.stdout.splitlines() if line.startswith("claims/")}


@pytest.fixture(scope="module")
def slow_table():
    spec = importlib.util.spec_from_file_location("claims_conftest", ROOT / "claims" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.SLOW)


def test_every_slow_entry_is_a_claim_test_over_a_minute_and_only_they_are_marked(slow_table):
    everything, marked = _collected(), _collected("-m", "slow")
    assert set(slow_table) <= everything, f"SLOW names tests that are gone: {sorted(set(slow_table) - everything)}"
    assert marked == set(slow_table)
    assert all(seconds > 60 for seconds in slow_table.values()), "slow means over a minute at smoke (the marker)"
    assert everything - marked, "the test command would run no claim at all"


def test_the_test_command_leaves_the_slow_claims_out_and_the_claims_command_keeps_them():
    script = (ROOT / "run").read_text()
    tests_branch = script.split("tests)", 1)[1].split(";;", 1)[0]
    claims_branch = script.split("claims)", 1)[1].split(";;", 1)[0]
    assert '-m "not slow"' in tests_branch
    assert "not slow" not in claims_branch
