"""Progress of long work: the step and loss of the training run under way, and runs done of runs planned.

Training code reports through :func:`step` and :func:`run_finished`; where it goes is the sink's choice
(the pytest plugin installs one: a live status line on a terminal, one quiet line per finished run under
CI, and under pytest-xdist a file per worker that the controller relays). Without a sink nothing is
written and reporting costs a function call.
"""
from __future__ import annotations

import contextlib
import json
import threading
import time
from pathlib import Path
from typing import Callable

STEP_INTERVAL_S = 0.5            # the most often a step is reported

_sink: Callable[[dict], None] | None = None
_label = ""
_last_step = 0.0
_counts = {"done": 0, "planned": 0}


def set_sink(sink: Callable[[dict], None] | None) -> None:
    """Send progress events (dicts with a 'kind': 'step' or 'run') to `sink`; None silences them."""
    global _sink
    _sink = sink


def plan(runs: int) -> None:
    """Start counting toward `runs` planned runs: the runs finished from now on are 'k of runs'."""
    _counts.update(planned=int(runs), done=0)


@contextlib.contextmanager
def running(label: str):
    """Label the step events of the run trained inside the block."""
    global _label
    previous, _label = _label, label
    try:
        yield
    finally:
        _label = previous


def step(step: int, max_steps: int, loss: float, models: int = 1) -> None:
    """The run under way reached `step` of `max_steps` with this training loss (at most every 0.5 s)."""
    global _last_step
    if _sink is None:
        return
    now = time.monotonic()
    if now - _last_step < STEP_INTERVAL_S and step < max_steps:
        return
    _last_step = now
    _sink({"kind": "step", "label": _label, "step": int(step), "max_steps": int(max_steps), "loss": float(loss),
           "models": models})


def run_finished(label: str, *, seconds: float | None = None, steps: int | None = None, loss: float | None = None,
                 runs: int = 1, done: int | None = None, planned: int | None = None, where: str = "") -> None:
    """A training run (or an ensemble of `runs` models) finished."""
    if done is None:
        _counts["done"] += runs
        done = _counts["done"] if _counts["planned"] else None
    if _sink is None:
        return
    _sink({"kind": "run", "label": label, "seconds": seconds, "steps": steps, "loss": loss, "runs": runs,
           "done": done, "planned": planned if planned is not None else _counts["planned"] or None, "where": where})


def run_line(event: dict) -> str:
    """One quiet line for a finished run: 'run 3 of 12 done: <label>, 2310 steps, loss 9.8e-04, 41 s'."""
    planned, done = event.get("planned"), event.get("done")
    count = f"{done} of {planned}" if planned and done and done <= planned else ""
    facts = [f"{event['steps']} steps" if event.get("steps") is not None else "",
             f"loss {event['loss']:.2e}" if event.get("loss") is not None else "",
             f"{event['seconds']:.0f} s" if event.get("seconds") is not None else "", event.get("where") or ""]
    noun = "runs" if event.get("runs", 1) > 1 else "run"
    return f"sgdcheck: {noun} {count + ' ' if count else ''}done: {event['label']}" + "".join(f", {f}" for f in facts if f)


def status_line(event: dict) -> str:
    """The live line of a run under way: '<label>: step 1200/4000 (30%), loss 3.21e-03'."""
    share = 100 * event["step"] / event["max_steps"] if event["max_steps"] else 100
    models = f" ({event['models']} models)" if event.get("models", 1) > 1 else ""
    return f"sgdcheck: {event['label'] or 'training'}{models}: step {event['step']}/{event['max_steps']} " \
           f"({share:.0f}%), loss {event['loss']:.3g}"


class FileSink:
    """Finished runs as JSON lines in a file (one per pytest-xdist worker), for the controller to relay."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def __call__(self, event: dict) -> None:
        if event["kind"] != "run":
            return
        with open(self.path, "a") as out:
            out.write(json.dumps(event) + "\n")


class Relay:
    """Reads the workers' progress files in a thread and hands every new line to `write` (on the controller)."""

    def __init__(self, folder: Path, write: Callable[[str], None], interval_s: float = 1.0):
        self.folder, self.write, self.interval_s = Path(folder), write, interval_s
        self._read: dict[Path, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sgdcheck-progress", daemon=True)

    def start(self) -> "Relay":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.poll()

    def poll(self) -> None:
        for path in sorted(self.folder.glob("*.jsonl")):
            offset = self._read.get(path, 0)
            with open(path, "rb") as source:
                source.seek(offset)
                data = source.read()
            complete = data[: data.rfind(b"\n") + 1]          # a line being written waits for the next poll
            self._read[path] = offset + len(complete)
            for line in complete.decode("utf-8", "replace").splitlines():
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    continue
                self.write(f"[{path.stem}] {run_line(event)}")

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.poll()
            except OSError:
                continue
