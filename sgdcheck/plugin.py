"""The pytest plugin: markers, options (--scale, --seed-offset, --device, --report-dir), the `evidence`
fixture, a verdict table in the terminal summary, and the report written at the end of the session.

Evidence travels on the test reports (user_properties), so collection works unchanged under
pytest-xdist: workers run claims, the controller gathers their reports and writes the files.

The plugin is installed for every pytest session of the environment, so it changes nothing in a
session that neither collects a claim (a test using the `evidence` fixture) nor passes one of its
options: only such sessions get the hypothesis profile, the torch thread share and the checks of the
run cache and report folder (done before any test runs, so bad input is a usage error, not a failure
at the end).
"""
from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

import pytest

from .report import results
from .errors import ReportError, SgdcheckError
from .evidence import Evidence, read_payload
from .looks import DEFAULT_DESIGN, DESIGNS, MAX_SEEDS, MIN_MARGIN
from .looks_run import design_scale, run_looks
from . import progress
from .runs_plan import EXECUTORS, executor_parameters, planned_jobs, train_planned
from .scale import MAX_SEED_OFFSET, SCALE_NAMES, get_scale

MARKERS = {
    "gpu": "trains neural networks; at paper scale it needs a GPU (skipped with the reason when none, unless "
           "--device cpu asks for the CPU)",
    "slow": "takes more than a minute at smoke scale",
    "property": "property-based test with hypothesis",
}
STASH = pytest.StashKey[dict]()
OPTIONS = {  # the defaults of the options; a session that changes one runs claims
    "scale": "smoke", "seed_offset": 0, "device": "auto", "report_dir": None, "no_report": False,
    "executor": "serial", "slurm_partition": None, "slurm_time": None, "slurm_gpus_per_task": None,
    "slurm_config": None, "seed_design": DEFAULT_DESIGN, "max_seeds": None, "min_margin": None}
PROGRESS_DIR = "SGDCHECK_PROGRESS_DIR"


def pytest_addoption(parser):
    group = parser.getgroup("sgdcheck", "sgdcheck claims")
    group.addoption("--scale", choices=SCALE_NAMES, default=OPTIONS["scale"],
                    help="size of every experiment: smoke (CI), full (CPU, hours), paper (the papers' setups)")
    group.addoption("--seed-offset", type=int, default=OPTIONS["seed_offset"], metavar="K",
                    help="run every claim on seeds K, K+1, ... instead of 0, 1, ... (a disjoint set for K large "
                         "enough); the verdicts are recorded as a check of the report's entries")
    group.addoption("--seed-design", choices=DESIGNS, default=OPTIONS["seed_design"],
                    help="sequential: each claim looks at k seeds, then 2k, 4k, ... where its verdict is undecided or "
                         "decided by less than --min-margin half-widths, up to --max-seeds, every look at 1/K of the "
                         "error rate (K planned looks, sgdcheck.looks); fixed: the claims' seeds, one look at the "
                         f"full error rate (default: {DEFAULT_DESIGN})")
    group.addoption("--max-seeds", type=int, default=OPTIONS["max_seeds"], metavar="N",
                    help="the cap on a claim's seeds under the sequential design (default: the claim's, else "
                         f"{', '.join(f'{k} {v}' for k, v in MAX_SEEDS.items())})")
    group.addoption("--min-margin", type=float, default=OPTIONS["min_margin"], metavar="M",
                    help=f"the margin, in half-widths, that counts as decided under the sequential design (default "
                         f"{MIN_MARGIN:g})")
    group.addoption("--device", choices=("auto", "cpu", "cuda"), default=OPTIONS["device"],
                    help="where networks train: auto picks cuda when available (at paper scale, auto skips the "
                         "network claims without a GPU; cpu runs them on the CPU)")
    group.addoption("--report-dir", default=OPTIONS["report_dir"],
                    help="where latest.json / latest.md / figures go (default: reports/ for smoke, "
                         "reports/<scale>/ otherwise, under pytest's rootdir when a configuration file sets it, else "
                         "under the folder of the claim modules named on the command line)")
    group.addoption("--no-report", action="store_true", help="write no report files")
    group.addoption("--executor", choices=EXECUTORS, default=OPTIONS["executor"],
                    help="train the runs the selected claims declare (planned_runs) before they run: serial (no, "
                         "each claim trains when it runs), local (submitit, one process per run), slurm (one job "
                         "array); the claims then read the runs from the shared cache (SGDCHECK_CACHE)")
    group.addoption("--slurm-partition", default=None, help="SLURM partition for --executor slurm")
    group.addoption("--slurm-time", type=int, default=None, metavar="MINUTES",
                    help="time limit of each SLURM task in minutes (also the local executor's timeout)")
    group.addoption("--slurm-gpus-per-task", type=int, default=None, metavar="N", help="GPUs per SLURM task")
    group.addoption("--slurm-config", default=None, metavar="FILE",
                    help="a TOML file of further submitit parameters (slurm_account, slurm_mem, cpus_per_task, "
                         "slurm_additional_parameters, ...); the options above override it")



def pytest_configure(config):
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    # torch's forward-mode AD (the engine's Hessian-vector products) loads its decompositions through
    # torch.jit.script, which warns on every first use; the warning is torch's, not the claim's
    config.addinivalue_line("filterwarnings", "ignore:`torch.jit.script` is deprecated:FutureWarning")
    config.stash[STASH] = {"payloads": [], "skipped": {}, "active": False}
    config.pluginmanager.register(EvidenceCollector(config), "sgdcheck-evidence-collector")
    _check_options(config)
    if any(config.getoption(name) != default for name, default in OPTIONS.items()):
        _activate(config)


def _check_options(config):
    """Bad options are usage errors before anything runs, each naming the option."""
    offset = config.getoption("seed_offset")
    if not 0 <= offset <= MAX_SEED_OFFSET:
        raise pytest.UsageError(f"--seed-offset must be in 0..{MAX_SEED_OFFSET:,}, got {offset}")
    design_options = [f"--{name.replace('_', '-')}" for name in ("max_seeds", "min_margin")
                      if config.getoption(name) is not None]
    if design_options and config.getoption("seed_design") != "sequential":
        raise pytest.UsageError(f"{', '.join(design_options)} only apply with --seed-design sequential; this session "
                                f"has --seed-design fixed")
    max_seeds, min_margin = config.getoption("max_seeds"), config.getoption("min_margin")
    if max_seeds is not None and max_seeds < 1:
        raise pytest.UsageError(f"--max-seeds must be at least 1, got {max_seeds}")
    if min_margin is not None and not (math.isfinite(min_margin) and min_margin >= 0):
        raise pytest.UsageError(f"--min-margin must be a finite number >= 0 (half-widths), got {min_margin}")
    if config.getoption("report_dir") is not None and not config.getoption("report_dir").strip():
        raise pytest.UsageError("--report-dir is empty: give a folder, or pass --no-report")
    if not config.getoption("--no-report"):
        _check_rootdir(config)
    if config.getoption("device") == "cuda":
        resolve_device("cuda")                  # a usage error now, not after the claims ran
    executor = config.getoption("executor")
    slurm_only = [f"--slurm-{name.replace('_', '-')}" for name, value in _slurm_options(config).items()
                  if value is not None and not (executor == "local" and name == "time")]
    if slurm_only and executor != "slurm":
        raise pytest.UsageError(f"{', '.join(slurm_only)} only apply with --executor slurm"
                                f"{' (--slurm-time also with --executor local)' if 'time' not in slurm_only else ''}; "
                                f"this session has --executor {executor}")
    if executor != "serial":
        try:
            executor_parameters(executor, _slurm_options(config))
        except SgdcheckError as error:
            raise pytest.UsageError(str(error)) from None
    if executor == "slurm":
        import shutil

        if shutil.which("sbatch") is None:
            raise pytest.UsageError("--executor slurm needs SLURM on this machine, and its sbatch command is not on "
                                    "PATH; use --executor local, or run from a SLURM login node")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    _start_progress(session.config)          # before pytest-xdist starts its workers, after the terminal exists


def _slurm_options(config) -> dict:
    return {"partition": config.getoption("slurm_partition"), "time": config.getoption("slurm_time"),
            "gpus_per_task": config.getoption("slurm_gpus_per_task"), "config": config.getoption("slurm_config")}


def _start_progress(config):
    """Where training progress goes: under pytest-xdist a file per worker that a thread on the controller
    relays as one line per finished run; in one process, the terminal (a live status line on a TTY,
    one line per finished run otherwise)."""
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if hasattr(config, "workerinput"):
        folder = os.environ.get(PROGRESS_DIR)
        if folder:
            progress.set_sink(progress.FileSink(Path(folder) / f"{config.workerinput['workerid']}.jsonl"))
        return
    if terminal is None:
        return
    if getattr(config.option, "numprocesses", None):
        import tempfile

        folder = tempfile.mkdtemp(prefix="sgdcheck-progress-")
        os.environ[PROGRESS_DIR] = folder
        config.stash[STASH]["relay"] = progress.Relay(Path(folder), lambda line: _own_line(terminal, line)).start()
        return
    config.stash[STASH]["sink"] = TerminalProgress(terminal, capture)
    progress.set_sink(config.stash[STASH]["sink"])


def _own_line(terminal, line: str) -> None:
    """A line of its own, also after the progress dots that pytest-xdist writes without a newline."""
    if getattr(terminal._tw, "width_of_current_line", 0):
        terminal._tw.line()
    terminal.write_line(line)


def pytest_unconfigure(config):
    state = config.stash.get(STASH, None) if hasattr(config, "stash") else None
    progress.set_sink(None)
    if state and state.get("relay"):
        import shutil

        state["relay"].stop()
        shutil.rmtree(state["relay"].folder, ignore_errors=True)
        os.environ.pop(PROGRESS_DIR, None)


class TerminalProgress:
    """Progress on the terminal during a test (past pytest's capture): on a TTY the step of the run under way
    on one line that is redrawn; one line per finished run (the only output under CI)."""

    def __init__(self, terminal, capture):
        self.terminal, self.capture = terminal, capture
        self.live = terminal.isatty() and not os.environ.get("CI")

    def __call__(self, event: dict) -> None:
        if event["kind"] == "step" and not self.live:
            return
        with self._uncaptured():
            if event["kind"] == "step":
                self.terminal.rewrite(progress.status_line(event)[:self.terminal._tw.fullwidth - 1], erase=True)
            else:
                if self.live:
                    self.terminal.rewrite("", erase=True)
                _own_line(self.terminal, progress.run_line(event))

    def _uncaptured(self):
        import contextlib

        return self.capture.global_and_fixture_disabled() if self.capture else contextlib.nullcontext()


def pytest_collection_finish(session):
    """With --executor local or slurm: train every run the selected claims declare, all at once, before they run."""
    config = session.config
    if config.getoption("executor") == "serial":
        return
    scale = get_scale(config.getoption("--scale"), config.getoption("--seed-offset"))
    device = resolve_device(config.getoption("--device"))
    modules = list(dict.fromkeys(item.module for item in session.items
                                 if getattr(item, "module", None) is not None and hasattr(item.module, "planned_runs")))
    jobs = planned_jobs(modules, lambda module: design_scale(config, module, scale), device)
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    write = terminal.write_line if terminal else print
    try:
        train_planned(jobs, config.getoption("executor"), _slurm_options(config), write=write)
    except SgdcheckError as error:
        raise pytest.UsageError(str(error)) from None
    except Exception as error:                     # the executor's own failure: its cause first, in one line
        pytest.exit(f"sgdcheck: the declared runs could not be trained with --executor "
                    f"{config.getoption('executor')}: {type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}",
                    returncode=pytest.ExitCode.INTERNAL_ERROR)


def pytest_collection_modifyitems(config, items):
    if any("evidence" in getattr(item, "fixturenames", ()) for item in items):
        _activate(config)
    _skip_gpu_claims_without_gpu(config, items)


def _activate(config):
    """What a session running claims needs: the hypothesis profile, the thread share, usable storage."""
    state = config.stash[STASH]
    if state["active"]:
        return
    state["active"] = True
    load_hypothesis_profile()
    _share_cores()
    _check_storage(config)


def _check_storage(config):
    """The run cache and the report folder must be writable before any claim trains."""
    from .runs import cache_dir, check_cache_dir

    try:
        new = not cache_dir().exists()
        created = check_cache_dir()
        if new:                        # said once, in the terminal summary of the session that created it
            config.stash[STASH]["cache_created"] = created
    except SgdcheckError as error:
        raise pytest.UsageError(str(error)) from None
    folder = _report_dir(config)
    if folder is not None:
        problem = results.unwritable(folder)
        if problem:
            origin = "--report-dir" if config.getoption("report_dir") else "the default of --scale"
            raise pytest.UsageError(f"the report folder {folder} (set by {origin}) {problem}; "
                                    f"choose another with --report-dir or pass --no-report")


def _share_cores():
    """Under pytest-xdist, give each worker its share of the cores: torch's default (one thread per core
    in every worker) oversubscribes the machine, and its spinning threads slow training several-fold."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0") or 0)
    if workers < 2 or "OMP_NUM_THREADS" in os.environ:
        return
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))


def load_hypothesis_profile():
    """Register sgdcheck's hypothesis profiles and load one: `ci` (derandomized) when CI is set, else `dev`;
    HYPOTHESIS_PROFILE picks another."""
    try:
        from hypothesis import HealthCheck, settings
    except ImportError:  # pragma: no cover - hypothesis is a dependency
        return
    settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("dev", deadline=None, max_examples=100)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def resolve_device(requested: str) -> str:
    if requested == "cpu":
        return "cpu"
    try:
        import torch
        available = torch.cuda.is_available()
    except ImportError:
        available = False
    if requested == "cuda" and not available:
        raise pytest.UsageError("--device cuda was asked for, but torch sees no CUDA device")
    return "cuda" if available else "cpu"


def _device_label(device: str) -> str:
    if device == "cuda":
        import torch
        count = torch.cuda.device_count()
        return f"cuda ({torch.cuda.get_device_name(0)}" + (f" x{count}, one per xdist worker)" if count > 1 else ")")
    return "cpu"


def _skip_gpu_claims_without_gpu(config, items):
    scale = config.getoption("--scale")
    if scale != "paper":
        return
    requested = config.getoption("--device")
    if requested == "cpu":            # asked for by name: the papers' networks train on the CPU, however long
        return
    device = resolve_device(requested)
    if device != "cuda":
        skip = pytest.mark.skip(reason="paper scale trains the papers' networks and needs a GPU; none is visible "
                                       "(--device cpu runs them on the CPU)")
        for item in items:
            if item.get_closest_marker("gpu"):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def scale(pytestconfig):
    """The named scale of this run (see sgdcheck.scale)."""
    return get_scale(pytestconfig.getoption("--scale"), pytestconfig.getoption("--seed-offset"))


def worker_device(device: str, worker_id: str | None, device_count: int) -> str:
    """The device of one pytest-xdist worker: on a machine of several GPUs, worker gw<k> takes GPU k modulo
    their number ('cuda:k'); one process, one GPU or the CPU: the device as it is."""
    if device != "cuda" or worker_id is None or device_count < 2:
        return device
    return f"cuda:{int(worker_id.removeprefix('gw')) % device_count}"


@pytest.fixture(scope="session")
def device(pytestconfig):
    """Where this process trains: the CPU, or a GPU (its own GPU per xdist worker on a multi-GPU machine)."""
    chosen = resolve_device(pytestconfig.getoption("--device"))
    if chosen == "cuda":
        import torch

        worker = getattr(pytestconfig, "workerinput", {}).get("workerid")
        chosen = worker_device(chosen, worker, torch.cuda.device_count())
        if ":" in chosen:
            torch.cuda.set_device(chosen)
    return chosen


@pytest.fixture
def evidence(request, scale):
    """Records measurements, findings and figures, and concludes with a computed verdict.

    Claims computed with numpy run on the CPU; claims that train on torch set evidence.device. A test that takes
    this fixture must end with evidence.conclude(...): one that returns without it fails, saying so."""
    return Evidence(request.node, scale, device="cpu")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Run a claim test under its seed design (sgdcheck.looks_run)."""
    return (yield from run_looks(item, _note_not_run))


NOT_RUN_KEY = "sgdcheck.not-run"


def _note_not_run(item, skip) -> None:
    """A claim test that skipped itself (a scale the claim does not run at) says so on its report, so that the
    report drops the claim's entry from an older run instead of showing it as this run's."""
    claim = getattr(getattr(item, "module", None), "CLAIM", None)
    if claim is not None:
        item.user_properties.append((NOT_RUN_KEY, json.dumps({"claim": claim.id, "reason": str(skip.msg)})))


def _check_rootdir(config):
    """The claims named on the command line lie under pytest's rootdir, whose project a report names (its commit,
    and the test ids `sgdcheck-report stale` reads). pytest looks for its configuration file before it knows this
    plugin's options, so the value of `--report-dir DIR` written as a separate word counts as a path there: where
    DIR lies in another project with a pytest configuration (another checkout's reports/), that project becomes the
    rootdir, and the entries would name its commit and test ids relative to nothing."""
    root = Path(config.rootpath).resolve()
    start = Path(config.invocation_params.dir)
    for arg in config.args:
        path = (start / arg.split("::")[0]).resolve()
        if path.exists() and not path.is_relative_to(root):
            raise pytest.UsageError(
                f"pytest took {root} for the project's root (from {config.inipath or 'the arguments'}), but {arg} lies "
                f"outside it, so a report could not name the claims' commit or test ids. An option's value given as a "
                f"separate word is read as a path when pytest looks for its configuration: write --report-dir=DIR "
                f"(one word), or pass --rootdir")


def _report_dir(config) -> Path | None:
    if config.getoption("--no-report"):
        return None
    chosen = config.getoption("--report-dir")
    if chosen:
        return Path(chosen)
    scale = config.getoption("--scale")
    root = _project_root(config) / "reports"
    return root if scale == "smoke" else root / scale


def _project_root(config) -> Path:
    """The folder whose reports/ a session writes: pytest's rootdir when a configuration file fixed it (this
    repository's pyproject.toml, a project's pytest.ini), else the folder that holds the claim modules named on the
    command line (their common folder; the folder pytest runs in when none is named). Without a configuration file
    pytest's rootdir is the common ancestor of the arguments and the folder it runs in, which for
    `pytest newuser/test_claim.py` run from /tmp is /tmp, not the user's project."""
    if config.inipath is not None:
        return Path(config.rootpath)
    start = Path(config.invocation_params.dir)
    folders = []
    for arg in config.args:
        path = start / arg.split("::")[0]
        if path.exists():
            folders.append(path if path.is_dir() else path.parent)
    return Path(os.path.commonpath([str(f.resolve()) for f in folders])) if folders else start


class EvidenceCollector:
    """Gathers the evidence attached to test reports (also those coming from xdist workers)."""

    def __init__(self, config):
        self.config = config

    def pytest_runtest_logreport(self, report):
        if report.when != "call":
            return
        if report.skipped and not hasattr(report, "wasxfail"):        # an expected outcome reports as skipped too
            for key, value in getattr(report, "user_properties", ()):
                if key == NOT_RUN_KEY:
                    skipped = json.loads(value)
                    self.config.stash[STASH]["skipped"][skipped["claim"]] = skipped["reason"]
        payload = read_payload(getattr(report, "user_properties", ()))
        if payload is not None:
            payload["duration_s"] = round(report.duration, 3)
            self.config.stash[STASH]["payloads"].append(payload)

    def pytest_sessionfinish(self, session, exitstatus):
        config = session.config
        if hasattr(config, "workerinput"):
            return  # xdist worker: the controller writes the report
        state = config.stash[STASH]
        state["written"] = None
        if not state["payloads"] and not state["skipped"]:
            return
        folder = _report_dir(config)
        if folder is None:
            return
        header = results.run_header(config.getoption("--scale"),
                                    _device_label(resolve_device(config.getoption("--device"))),
                                    _project_root(config), " ".join(["pytest", *sys.argv[1:]]),
                                    seed_offset=config.getoption("seed_offset"))
        if exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            try:                                   # an interrupted session: its evidence is kept, not reported
                kept = results.keep_evidence(folder, header, results.claim_entries(state["payloads"], header["run_id"]),
                                             [])
                state["error"] = (f"no report written: the session ended with {exitstatus!r}; the evidence of its "
                                  f"finished claims is kept in {kept} (fold it in with 'sgdcheck-report {folder} "
                                  f"--merge {kept}')")
            except (ReportError, OSError) as error:
                state["error"] = f"no report written: the session ended with {exitstatus!r}; {error}"
            return
        try:
            state["written"] = results.write(folder, header, state["payloads"], state["skipped"])
        except (ReportError, OSError) as error:
            state["error"] = f"{error}" if str(error).startswith("no report written") else f"no report written: {error}"
            session.exitstatus = pytest.ExitCode.TESTS_FAILED      # the run's evidence did not reach its report

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config):
        state = config.stash.get(STASH, None)
        if state and state.get("cache_created"):
            origin = "SGDCHECK_CACHE" if "SGDCHECK_CACHE" in os.environ else "the default; SGDCHECK_CACHE chooses another"
            terminalreporter.write_line(f"sgdcheck: created the run cache at {state['cache_created']} ({origin}); "
                                        f"later sessions read the runs trained here from it")
        if not state or not state["payloads"]:
            return
        rows = results.summary_rows(state["payloads"])
        write = terminalreporter.write_line
        terminalreporter.section("sgdcheck verdicts")
        width = max(len(row["id"]) for row in rows)
        write(f"{'claim':<{width}}  {'verdict':<20}  {'control':<12}  measured  (paper)")
        for row in rows:
            verdict = row["verdict"] + (" (known)" if row["known"] else "")
            write(f"{row['id']:<{width}}  {verdict:<20}  {row['control']:<12}  {row['measured']}  ({row['paper']})")
        if state.get("written"):
            write(f"report: {state['written'].path}")
            for problem in state["written"].problems:
                write(f"report: not written: {problem}", yellow=True)
        elif state.get("error"):
            write(state["error"], red=True)
