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

import dataclasses
import hashlib
import inspect
from pathlib import Path
from typing import Callable

import joblib
import torch

from .fingerprint import PACKAGE, VERDICT_ONLY, code_digest, source_fingerprint
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
    """A short hash of the code of the file that defines `function` (sgdcheck.fingerprint.code_digest: comments and
    docstrings left out) and of the engine modules that file uses."""
    path = Path(inspect.getsourcefile(function))
    digest = hashlib.sha256(code_digest(path.read_text()))
    for name in sorted(_engine_modules(function.__globals__)):
        digest.update(b"\0" + name.encode() + b"\0" + source_fingerprint(name).encode())
    return digest.hexdigest()[:16]


def _holds_tensor(value) -> bool:
    if isinstance(value, torch.Tensor):
        return True
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return any(_holds_tensor(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, dict):
        return any(_holds_tensor(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_tensor(v) for v in value)
    return False


def _as_arrays(value):
    """The value with every tensor as a numpy array, dataclasses as (name, fields): what joblib hashes by content
    (a tensor's pickle carries its storage's identity, so equal tensors hash apart)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__qualname__, {f.name: _as_arrays(getattr(value, f.name)) for f in dataclasses.fields(value)})
    if isinstance(value, dict):
        return {k: _as_arrays(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_as_arrays(v) for v in value)
    return value


def cached_measurement(function: Callable, *args, location=None, **kwargs):
    """function(*args, code=..., **kwargs) through the run cache's joblib store. `function` must take a keyword
    `code` (the fingerprint, part of the key) and return something picklable; its arguments must be too. Arguments
    that hold tensors (a run record, say) are keyed by their content: the same run read again hits the entry."""
    signature = inspect.signature(function)
    if "code" not in signature.parameters:
        raise TypeError(f"{function.__qualname__} must take a keyword 'code' to be cached as a measurement")
    bound = signature.bind_partial(*args, **kwargs).arguments
    heavy = sorted(name for name, value in bound.items() if _holds_tensor(value))
    code = code_fingerprint(function)
    if heavy:
        code += "-" + joblib.hash({name: _as_arrays(bound[name]) for name in heavy})
    return memory(location).cache(function, ignore=heavy)(*args, code=code, **kwargs)
