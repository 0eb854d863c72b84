"""A claim's own measurement (not a training run), computed once per code and kept on disk with the runs.

For measurements that take minutes and that several tests of a claim, or later sessions, read again (the
branch-and-interpolate experiment of poggio.basins, for one). The key holds the call's arguments and a
fingerprint of the code that computes it: the source file of the measuring function (the claim module) and
`sgdcheck.fingerprint.source_fingerprint` of every engine module that file uses, less the modules that shape
verdicts only (`VERDICT_ONLY`: a claim's rules come from `sgdcheck.stats` and cannot change what it measured).
Editing either computes the measurement again; an entry that cannot be read is computed again by joblib (with a
warning).
"""
from __future__ import annotations

import hashlib
import inspect
from pathlib import Path
from typing import Callable

from .fingerprint import PACKAGE, VERDICT_ONLY, source_fingerprint
from .runs import memory


def _engine_modules(namespace: dict) -> set[str]:
    """The sgdcheck modules (files of the package) whose names, functions or classes a module's namespace holds,
    less those that shape verdicts only."""
    found = set()
    for value in namespace.values():
        name = value.__name__ if inspect.ismodule(value) else getattr(value, "__module__", None)
        if isinstance(name, str) and name.startswith("sgdcheck."):
            found.add(name.split(".")[1])
    return {name for name in found if (PACKAGE / f"{name}.py").exists()} - VERDICT_ONLY


def code_fingerprint(function: Callable) -> str:
    """A short hash of the file that defines `function` and of the engine modules that file uses."""
    path = Path(inspect.getsourcefile(function))
    digest = hashlib.sha256(path.read_bytes())
    for name in sorted(_engine_modules(function.__globals__)):
        digest.update(b"\0" + name.encode() + b"\0" + source_fingerprint(name).encode())
    return digest.hexdigest()[:16]


def cached_measurement(function: Callable, *args, location=None, **kwargs):
    """function(*args, code=..., **kwargs) through the run cache's joblib store. `function` must take a keyword
    `code` (the fingerprint, part of the key) and return something picklable; its arguments must be too."""
    if "code" not in inspect.signature(function).parameters:
        raise TypeError(f"{function.__qualname__} must take a keyword 'code' to be cached as a measurement")
    return memory(location).cache(function)(*args, code=code_fingerprint(function), **kwargs)
