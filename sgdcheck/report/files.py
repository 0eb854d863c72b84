"""The file operations of a report write, each one step: writing a staged file, moving it into place (atomic,
os.replace), appending lines to the history, removing a folder. A write is all-or-nothing at its commit
point because every file reaches the report folder by one of these steps, in an order that
sgdcheck.report.results states (and its tests check by failing or killing the process after each step).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path


def write_text(path: Path, text: str) -> None:
    """Write a file that is not yet in place (a staged file, or a side file of its own name)."""
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())


def replace(source: Path, target: Path) -> None:
    """Move a staged file into place, atomically."""
    os.replace(source, target)


def append_lines(path: Path, lines: list[str]) -> None:
    """Append whole lines to a text file; a file that does not end in a newline (a write cut short) gets one
    first, so that no line is merged into the last."""
    if not lines:
        return
    prefix = ""
    if path.exists() and path.stat().st_size:
        with open(path, "rb") as existing:
            existing.seek(-1, os.SEEK_END)
            prefix = "" if existing.read(1) == b"\n" else "\n"
    with open(path, "a", encoding="utf-8") as out:
        out.write(prefix + "".join(line + "\n" for line in lines))
        out.flush()
        os.fsync(out.fileno())


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
