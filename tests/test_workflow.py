"""The nightly workflow is valid YAML and does what its header says: run, diff, summarise, fail, publish."""
from pathlib import Path

import pytest
import yaml

from sgdcheck.scale import SCALE_NAMES

WORKFLOW = Path(__file__).resolve().parents[1] / ".github" / "workflows" / "nightly.yml"


@pytest.fixture(scope="module")
def workflow():
    data = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(data, dict), "the workflow must be a YAML mapping"
    return data


def _runs(job):
    return [step.get("run", "") for step in job["steps"]]


def test_it_runs_nightly_and_on_demand(workflow):
    triggers = workflow.get("on", workflow.get(True))          # YAML 1.1 reads the key `on` as true
    assert "schedule" in triggers and triggers["schedule"][0]["cron"] and "workflow_dispatch" in triggers


def test_every_job_has_steps_and_a_runner(workflow):
    for name, job in workflow["jobs"].items():
        assert job.get("runs-on") and job.get("steps"), name
        for step in job["steps"]:
            assert ("run" in step) != ("uses" in step), f"{name}: a step runs a command or uses an action"


def test_cpu_jobs_run_every_scale_then_diff_into_the_summary_and_fail_on_a_flip(workflow):
    job = workflow["jobs"]["claims"]
    assert job["runs-on"] == "ubuntu-latest"
    scales = {entry["scale"] for entry in job["strategy"]["matrix"]["include"]}
    assert scales == {"smoke", "full"} and scales <= set(SCALE_NAMES)
    commands = _runs(job)
    assert any("./run claims --scale ${{ matrix.scale }}" in c for c in commands)
    diff = next(step for step in job["steps"] if "sgdcheck-report diff" in step.get("run", ""))
    assert '--output "$GITHUB_STEP_SUMMARY"' in diff["run"]
    assert not diff.get("continue-on-error"), "an unexpected flip (exit 1) must fail the job"
    assert diff.get("if") == "always()", "the diff runs even when a claim test failed"
    claims = next(step for step in job["steps"] if step.get("id") == "claims")
    assert claims.get("continue-on-error") and any("steps.claims.outcome" in str(s.get("if")) for s in job["steps"])


def test_the_gpu_job_runs_paper_scale_on_a_self_hosted_gpu_runner(workflow):
    job = workflow["jobs"]["gpu"]
    assert set(job["runs-on"]) == {"self-hosted", "gpu"}
    assert any("-m gpu --scale paper" in c for c in _runs(job))
    assert any("sgdcheck-report diff" in c and "reports/paper" in c for c in _runs(job))


def test_the_dashboards_are_uploaded_and_published(workflow):
    uses = [step.get("uses", "") for job in workflow["jobs"].values() for step in job["steps"]]
    assert any(u.startswith("actions/upload-artifact@") for u in uses)
    publish = workflow["jobs"]["publish"]
    actions = [step.get("uses", "") for step in publish["steps"]]
    assert any(a.startswith("actions/upload-pages-artifact@") for a in actions)
    assert any(a.startswith("actions/deploy-pages@") for a in actions)
    assert publish["permissions"]["pages"] == "write" and publish["permissions"]["id-token"] == "write"
    assert set(publish["needs"]) == {"claims", "gpu"}


def test_the_commands_it_calls_exist():
    pyproject = (WORKFLOW.parents[2] / "pyproject.toml").read_text()
    assert 'sgdcheck-report = "sgdcheck.report.cli:main"' in pyproject
    assert (WORKFLOW.parents[2] / "run").is_file()
