"""Whether a report's entries were made by the code now in the checkout.

Each claim case records `code` when it runs (`claim_code`): a hash of what its claim module computes and of every
sgdcheck module that module reaches through its imports, the verdict rules (`sgdcheck.stats`) and the seed design
(`sgdcheck.looks`, and `sgdcheck.looks_run`: the part of the pytest plugin that runs the looks) included, comments
and docstrings left out (`sgdcheck.fingerprint.code_digest`). The rest of the plugin (options, progress, the checks
of a session's input, the report's writing) is not: it changes what a session shows or where it writes, not what a
claim concludes. A report folded together from one pytest session per claim, at several commits, is "at one commit"
in the sense that matters when every entry's recorded code equals the code of the checkout: `stale_entries` says
which do not, and `sgdcheck-report stale` lists them (or their modules, to run again), and for an entry whose code
changed, the files that changed since the commit it was made at (`changed_since`): a change to the verdict rules
alone reads differently from one to the training code.

The hash is of syntax trees, whose form changes between Python versions (3.12 added `type_params` to every function
and class), so the hash an entry recorded under another minor version of Python cannot be compared with one made
here. Such an entry is compared through the commit it was made at instead: the same files, read from git at that
commit, are hashed here (`claim_code_at`) and compared with the checkout's. Where git or the commit is not at hand
(or the commit was dirty) the entry is listed as made under that Python, not as changed code. Seed checks are
compared with their entry the same way.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import inspect
import platform
import sys
from pathlib import Path
from typing import Callable

from ..errors import ReportError
from ..fingerprint import PACKAGE, _sgdcheck_imports, code_digest, git

DESIGN_MODULES = frozenset({"looks_run", "looks"})   # how many seeds a claim is judged on, look by look
CURRENT, CHANGED, NOT_RECORDED, GONE = "current", "code changed", "no code recorded", "test gone"
OTHER_PYTHON = "made under Python {}"
CHECKS_SAME, CHECKS_OTHER, CHECKS_NONE = "same code", "other code", "none"


def _namespace_modules(namespace: dict) -> set[str]:
    """The sgdcheck modules whose names, functions or classes a module's namespace holds."""
    found = set()
    for value in namespace.values():
        name = value.__name__ if inspect.ismodule(value) else getattr(value, "__module__", None)
        if isinstance(name, str) and name.startswith("sgdcheck.") and (PACKAGE / f"{name.split('.')[1]}.py").exists():
            found.add(name.split(".")[1])
    return found


@functools.lru_cache(maxsize=None)
def _closure(modules: frozenset[str]) -> tuple[str, ...]:
    """`modules` and every sgdcheck module they reach through imports (read once per session: the files do not
    change under a running session)."""
    seen, todo = set(), list(modules)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_sgdcheck_imports(name, PACKAGE) - seen)
    return tuple(sorted(seen))


@functools.lru_cache(maxsize=None)
def _module_digest(name: str) -> bytes:
    return code_digest((PACKAGE / f"{name}.py").read_text())


def _modules_of(function: Callable) -> tuple[str, ...]:
    return _closure(frozenset(_namespace_modules(function.__globals__) | DESIGN_MODULES))


def _combined(claim_digest: bytes, module_digests: list[tuple[str, bytes]]) -> str:
    digest = hashlib.sha256(claim_digest)
    for name, module_digest in module_digests:
        digest.update(b"\0" + name.encode() + b"\0" + module_digest)
    return digest.hexdigest()[:16]


def claim_code(function: Callable) -> str:
    """A short hash of the code behind a claim test: its module's code and that of every sgdcheck module it
    reaches, the verdict rules and the seed design included. Equal hashes: the same evidence from the same runs."""
    return _combined(code_digest(Path(inspect.getsourcefile(function)).read_text()),
                     [(name, _module_digest(name)) for name in _modules_of(function)])


@functools.lru_cache(maxsize=None)
def _git_file(toplevel: Path, commit: str, path: str) -> str | None:
    """The text of `path` (relative to the repository's top) at `commit`, or None where git cannot show it (an
    empty file reads as None too: no module of a claim's closure is empty)."""
    return git("show", f"{commit}:{path}", cwd=toplevel) or None


@functools.lru_cache(maxsize=None)
def _toplevel(folder: Path) -> Path | None:
    top = git("rev-parse", "--show-toplevel", cwd=folder)
    return Path(top).resolve() if top else None


def _files_at(function: Callable, commit: str | None) -> tuple[Path, Path] | None:
    """(the repository's top, the claim module's path) where the files of `commit` can be read from git: a clean
    commit of the repository that holds both the claim module and the package; else None."""
    if not commit or "+" in commit or commit == "unknown":
        return None
    source = Path(inspect.getsourcefile(function)).resolve()
    top = _toplevel(source.parent)
    if top is None or _toplevel(PACKAGE) != top:
        return None
    return top, source


def claim_code_at(function: Callable, commit: str | None) -> str | None:
    """The `claim_code` that the files of `commit` give under this Python: the claim module and the same sgdcheck
    modules, read from git at that commit. None where that cannot be known: no commit (or a dirty one, whose files
    git does not hold), no git, or a file missing there (the closure of today's imports is used; a module the
    commit imported and today's code does not would change the claim module's own text, so it still counts)."""
    found = _files_at(function, commit)
    if found is None:
        return None
    top, source = found
    texts = [_git_file(top, commit, source.relative_to(top).as_posix())]
    names = _modules_of(function)
    texts += [_git_file(top, commit, (PACKAGE / f"{name}.py").relative_to(top).as_posix()) for name in names]
    if any(text is None for text in texts):
        return None
    return _combined(code_digest(texts[0]), [(name, code_digest(text)) for name, text in zip(names, texts[1:])])


def changed_since(function: Callable, commit: str | None) -> tuple[str, ...] | None:
    """The files behind a claim test whose code (comments and docstrings left out) differs between `commit` and
    the checkout: the claim module's path, then the sgdcheck modules of today's closure, or a module that was
    not there. None where that cannot be known (no commit, a dirty one, no git, the claim module not in it)."""
    found = _files_at(function, commit)
    if found is None:
        return None
    top, source = found
    claim_path = source.relative_to(top).as_posix()
    then = _git_file(top, commit, claim_path)
    if then is None:
        return None
    changed = [claim_path] if code_digest(then) != code_digest(source.read_text()) else []
    for name in _modules_of(function):
        path = (PACKAGE / f"{name}.py").relative_to(top).as_posix()
        then = _git_file(top, commit, path)
        if then is None or code_digest(then) != _module_digest(name):
            changed.append(path)
    return tuple(changed)


def _test_function(root: Path, nodeid: str, loaded: dict) -> Callable | None:
    """The test function a pytest node id names, its module loaded from `root` (once per module), or None."""
    file, _, name = nodeid.partition("::")
    path = root / file
    if not file or not path.is_file():
        return None
    if path not in loaded:
        module_name = f"_sgdcheck_stale_{len(loaded)}_{path.stem}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module              # dataclasses defined in the module look themselves up here
        try:
            spec.loader.exec_module(module)
        except Exception as error:                     # a claim module that no longer imports is not current
            raise ReportError(f"{file} cannot be imported to compute its code: {type(error).__name__}: {error}")
        loaded[path] = module
    function = getattr(loaded[path], name.split("[")[0].split("::")[-1], None)
    return function if callable(function) else None


def stale_entries(report: dict, root: Path) -> list[dict]:
    """Every claim of a report with its status against the code under `root` (the folder the test ids are relative
    to): current, code changed, no code recorded (made before entries recorded it), made under another Python
    (its code hash cannot be compared here, nor its commit's files), or test gone. `compared` says how: by the
    recorded hash, or by the files of the commit the entry was made at (an entry made under another Python)."""
    loaded: dict = {}
    rows = []
    here = _minor(platform.python_version())
    runs = report.get("runs") or {}
    for claim_id, entry in sorted(report["claims"].items()):
        statuses, functions, compared = [], [], "hash"
        python = _python_of(runs, entry.get("run_id"), here)
        other_python = OTHER_PYTHON.format(python)
        for case in entry.get("cases") or ():
            function = _test_function(root, case.get("test") or "", loaded)
            functions.append(function)
            if function is None:
                statuses.append(GONE)
            elif not case.get("code"):
                statuses.append(NOT_RECORDED)
            elif python != here:
                at = claim_code_at(function, (runs.get(entry.get("run_id")) or {}).get("git_commit"))
                compared = f"commit (Python {python})"
                statuses.append(other_python if at is None else CURRENT if at == claim_code(function) else CHANGED)
            else:
                statuses.append(CURRENT if case["code"] == claim_code(function) else CHANGED)
        status = next((s for s in (GONE, CHANGED, NOT_RECORDED, other_python) if s in statuses),
                      CURRENT if statuses else GONE)
        tests = [c.get("test") or "" for c in entry.get("cases") or ()]
        checks = _checks_status(entry, runs, functions if all(functions) else None, here)
        changed = None
        if status == CHANGED:
            commit = (runs.get(entry.get("run_id")) or {}).get("git_commit")
            found = [changed_since(f, commit) for f in functions if f is not None]
            if found and all(f is not None for f in found):
                changed = tuple(dict.fromkeys(path for files in found for path in files))
        rows.append({"id": claim_id, "status": status, "module": tests[0].partition("::")[0] if tests else "",
                     "run_id": entry.get("run_id"), "checks": checks, "compared": compared, "changed": changed})
    return rows


def entry_code(entry: dict) -> str | None:
    """The code an entry was made by (its cases' `code`), or None where it was not recorded."""
    codes = [case.get("code") for case in entry.get("cases") or ()]
    return "+".join(codes) if codes and all(codes) else None


def _python_of(runs: dict, run_id: str | None, here: str) -> str:
    return _minor((runs.get(run_id) or {}).get("python") or "") or here


def _code_here(code: str | None, run: dict, functions: list | None, here: str) -> str | None:
    """A recorded code (an entry's or a check's) as this Python would hash it: the recorded one when made under
    this Python, else the hash of the files of the commit it was made at (None where that is not known)."""
    if not code or _minor(run.get("python") or "") in ("", here):
        return code
    if not functions:
        return None
    codes = [claim_code_at(function, run.get("git_commit")) for function in functions]
    return "+".join(codes) if all(codes) else None


def _checks_status(entry: dict, runs: dict | None = None, functions: list | None = None, here: str = "") -> str:
    """Whether the entry's seed checks were made by the code that made the entry: 'same code', 'other code' (some
    check predates a change of the code, or its code was not recorded), or 'none'. A check or entry made under
    another Python is compared through the files of its commit (`functions`: the entry's test functions)."""
    checks = entry.get("seed_checks") or ()
    if not checks:
        return CHECKS_NONE
    code = entry_code(entry)
    if code and all(check.get("code") == code for check in checks):
        return CHECKS_SAME
    runs, here = runs or {}, here or _minor(platform.python_version())
    mine = _code_here(code, runs.get(entry.get("run_id")) or {}, functions, here)
    same = mine is not None and all(
        _code_here(check.get("code"), runs.get(check.get("run_id")) or {}, functions, here) == mine
        for check in checks)
    return CHECKS_SAME if same else CHECKS_OTHER


def _minor(version: str) -> str:
    """'3.12' of '3.12.3' (the syntax trees' form is fixed within a minor version); '' when not known."""
    return ".".join(version.split(".")[:2]) if version.count(".") >= 1 else ""
