"""Whether a report's entries were made by the code now in the checkout.

Each claim case records `code` when it runs (`claim_code`): a hash of what its claim module computes and of every
sgdcheck module that module reaches through its imports, the verdict rules (`sgdcheck.stats`) and the seed design
(`sgdcheck.looks`, the plugin) included, comments and docstrings left out (`sgdcheck.fingerprint.code_digest`). A
report folded together from one pytest session per claim, at several commits, is "at one commit" in the sense that
matters when every entry's recorded code equals the code of the checkout: `stale_entries` says which do not, and
`sgdcheck-report stale` lists them (or their modules, to run again).

The hash is of syntax trees, whose form changes between Python versions (3.12 added `type_params` to every function
and class), so an entry made under another minor version of Python cannot be compared here: it is listed as made
under that Python, not as changed code.
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
from ..fingerprint import PACKAGE, _sgdcheck_imports, code_digest

DESIGN_MODULES = frozenset({"plugin", "looks"})      # how many seeds a claim is judged on, look by look
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


def claim_code(function: Callable) -> str:
    """A short hash of the code behind a claim test: its module's code and that of every sgdcheck module it
    reaches, the verdict rules and the seed design included. Equal hashes: the same evidence from the same runs."""
    digest = hashlib.sha256(code_digest(Path(inspect.getsourcefile(function)).read_text()))
    for name in _closure(frozenset(_namespace_modules(function.__globals__) | DESIGN_MODULES)):
        digest.update(b"\0" + name.encode() + b"\0" + _module_digest(name))
    return digest.hexdigest()[:16]


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
    (its code hash cannot be compared here), or test gone."""
    loaded: dict = {}
    rows = []
    here = _minor(platform.python_version())
    for claim_id, entry in sorted(report["claims"].items()):
        statuses = []
        python = _minor((report.get("runs") or {}).get(entry.get("run_id"), {}).get("python") or "") or here
        other_python = OTHER_PYTHON.format(python)
        for case in entry.get("cases") or ():
            function = _test_function(root, case.get("test") or "", loaded)
            if function is None:
                statuses.append(GONE)
            elif not case.get("code"):
                statuses.append(NOT_RECORDED)
            elif python != here:
                statuses.append(other_python)
            else:
                statuses.append(CURRENT if case["code"] == claim_code(function) else CHANGED)
        status = next((s for s in (GONE, CHANGED, NOT_RECORDED, other_python) if s in statuses),
                      CURRENT if statuses else GONE)
        tests = [c.get("test") or "" for c in entry.get("cases") or ()]
        rows.append({"id": claim_id, "status": status, "module": tests[0].partition("::")[0] if tests else "",
                     "run_id": entry.get("run_id"), "checks": _checks_status(entry)})
    return rows


def entry_code(entry: dict) -> str | None:
    """The code an entry was made by (its cases' `code`), or None where it was not recorded."""
    codes = [case.get("code") for case in entry.get("cases") or ()]
    return "+".join(codes) if codes and all(codes) else None


def _checks_status(entry: dict) -> str:
    """Whether the entry's seed checks were made by the code that made the entry: 'same code', 'other code' (some
    check predates a change of the code, or its code was not recorded), or 'none'."""
    checks = entry.get("seed_checks") or ()
    if not checks:
        return CHECKS_NONE
    code = entry_code(entry)
    return CHECKS_SAME if code and all(check.get("code") == code for check in checks) else CHECKS_OTHER


def _minor(version: str) -> str:
    """'3.12' of '3.12.3' (the syntax trees' form is fixed within a minor version); '' when not known."""
    return ".".join(version.split(".")[:2]) if version.count(".") >= 1 else ""
