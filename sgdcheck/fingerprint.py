"""Which code made a result: a fingerprint of the engine sources a computation depends on, and the commit.

A cached training run is only valid for the code that computed it. The cache key of a run therefore
holds :func:`source_fingerprint` of the module that computes it: a hash of that module's source and of
every sgdcheck module it imports, directly or through others (found by reading their imports, so a new
dependency is covered without a list to keep). Modules that shape verdicts and messages but never a
trained number (``VERDICT_ONLY``) are left out, so reworking the statistics does not retrain. A source is
hashed as its syntax tree without docstrings (:func:`code_digest`): comments, docstrings and layout never
change a number, so editing them keeps every cached run.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import os
import subprocess
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
VERDICT_ONLY = frozenset({"stats", "errors", "jsonable", "progress"})   # modules that cannot change a result


def _sgdcheck_imports(module: str, package: Path) -> set[str]:
    """The sgdcheck modules that `module` imports (relative imports and `sgdcheck.x` alike)."""
    tree = ast.parse((package / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level == 1 or base.split(".")[0] == "sgdcheck":
                base = base.removeprefix("sgdcheck").lstrip(".")
                if base:
                    found.add(base.split(".")[0])
                else:                                   # from . import data, optim
                    found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("sgdcheck."))
    return {name for name in found if (package / f"{name}.py").exists()}


def dependencies(module: str, package: Path = PACKAGE) -> list[str]:
    """`module` and every sgdcheck module it reaches through imports, less VERDICT_ONLY, sorted."""
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(_sgdcheck_imports(name, package) - seen)
    return sorted(seen - (VERDICT_ONLY - {module}))


def code_digest(source: str) -> bytes:
    """What a source file computes, as bytes: its syntax tree without positions, comments and docstrings (the
    first string of a module, class or function body). Two sources with the same code digest compute the same
    things; a source that does not parse is hashed as it is."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source.encode()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree, include_attributes=False).encode()


@functools.lru_cache(maxsize=None)
def source_fingerprint(module: str, package: Path = PACKAGE) -> str:
    """A short hash of the code (:func:`code_digest`) of `module` and its sgdcheck dependencies."""
    digest = hashlib.sha256()
    for name in dependencies(module, package):
        digest.update(name.encode() + b"\0" + code_digest((package / f"{name}.py").read_text()) + b"\0")
    return digest.hexdigest()[:16]


def git(*args: str, cwd: Path) -> str:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10,
                              check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


@functools.lru_cache(maxsize=None)
def code_commit(root: Path = PACKAGE.parent) -> str:
    """The commit of the code, '+dirty' when the engine or claims differ from it. Where the code was copied
    without its git history (a cluster node, a GPU machine), SGDCHECK_COMMIT names the commit it came from."""
    commit = git("rev-parse", "HEAD", cwd=root) or os.environ.get("SGDCHECK_COMMIT", "") or "unknown"
    # the reports being regenerated do not make the code dirty
    dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)reports", cwd=root))
    return commit + ("+dirty" if dirty else "")
