"""Who ran what, where: the header of a run (commit, versions, device, date, command) and the entries
that read training runs computed at another commit."""
from __future__ import annotations

import datetime as dt
import os
import platform
import uuid
from importlib import metadata
from pathlib import Path

from ..fingerprint import code_commit


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def run_header(scale: str, device: str, root: Path, command: str = "", seed_offset: int = 0) -> dict:
    """Who ran what, where: commit, versions, device, date. `git_commit` is the commit of the project the claims
    live in (`root`), `engine_commit` that of the sgdcheck package that trained the runs; in this repository they are
    the same, for claims in a project of their own they are not. Where the code was copied without its git history
    (a cluster node, a GPU machine), SGDCHECK_COMMIT names the commit it was copied from."""
    return {
        "run_id": uuid.uuid4().hex[:12],
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": code_commit(Path(root)),
        "engine_commit": code_commit(),
        "scale": scale,
        "seed_offset": seed_offset,
        "device": device,
        "python": platform.python_version(),
        "torch": version("torch"),
        "numpy": version("numpy"),
        "scipy": version("scipy"),
        "hypothesis": version("hypothesis"),
        "platform": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores",
        "command": command,
    }


def other_engine(run: dict) -> str | None:
    """The engine's commit where it differs from the commit of the claims' project (claims outside this repository)."""
    engine = run.get("engine_commit")
    return engine if engine and engine != run["git_commit"] else None


def foreign_runs(report: dict) -> list[tuple[str, str, list[str]]]:
    """(claim id, the engine's commit, the other commits its cached runs were computed at) for every entry that
    read runs computed at another commit of the engine than the one that made it. Runs carry the engine's commit, so
    they are compared with the run's `engine_commit` (headers written before it existed: `git_commit`)."""
    found = []
    for c in report["claims"].values():
        run = report["runs"][c["run_id"]]
        commit = run.get("engine_commit") or run["git_commit"]
        other = [x for x in c.get("runs_computed_at") or () if x != commit]
        if other:
            found.append((c["id"], commit, other))
    return found
