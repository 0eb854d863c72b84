"""Figures as data: a claim describes its figure declaratively, the report draws it.

Because the specification lives in the evidence (JSON), a report can be redrawn from
`latest.json` alone, without rerunning a claim.
"""
from __future__ import annotations

from pathlib import Path

from .errors import ReportError
from .jsonable import jsonable

SERIES_KINDS = ("line", "scatter", "band", "bar", "step")


def series(kind: str, x, y, label: str = "", **style) -> dict:
    """One series. kind: line, scatter, step, bar (x are labels or positions) or band (y = (low, high))."""
    if kind not in SERIES_KINDS:
        raise ReportError(f"unknown series kind {kind!r}; use one of {SERIES_KINDS}")
    return jsonable({"kind": kind, "x": x, "y": y, "label": label, "style": style}, digits=6)


def panel(title: str, xlabel: str, ylabel: str, items, *, xscale="linear", yscale="linear",
          hlines=(), vlines=()) -> dict:
    """A set of axes; hlines / vlines are (value, label) pairs."""
    return jsonable({"title": title, "xlabel": xlabel, "ylabel": ylabel, "series": list(items),
                     "xscale": xscale, "yscale": yscale, "hlines": list(hlines), "vlines": list(vlines)},
                    digits=6)


def figure(title: str, panels) -> dict:
    panels = list(panels)
    if not panels:
        raise ReportError("a figure needs at least one panel")
    return {"title": title, "panels": panels}


BOUND_STYLES = [dict(color="k", ls="--"), dict(color="tab:red", ls="-."), dict(color="tab:purple", ls=":"),
                dict(color="tab:brown", ls=(0, (6, 2, 1, 2))), dict(color="tab:olive", ls=(0, (1, 1)))]
MARKER_STYLES = [dict(color="gray", ls=":"), dict(color="tab:cyan", ls="-."), dict(color="tab:pink", ls="--")]
PANEL_WIDTH_IN, HEIGHT_IN = 5.2, 4.0


def draw(spec: dict):
    """A figure specification as a matplotlib Figure (Agg): titles wrapped to fit the canvas, each
    horizontal bound and each vertical marker of a panel in its own colour and dash pattern."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = spec["panels"]
    fig, axes = plt.subplots(1, len(panels), figsize=(PANEL_WIDTH_IN * len(panels), HEIGHT_IN), squeeze=False,
                             layout="constrained")
    for ax, p in zip(axes[0], panels):
        ax.set_xscale(p.get("xscale", "linear"))   # scales first: setting one later resets tick labels
        ax.set_yscale(p.get("yscale", "linear"))
        for s in p["series"]:
            _draw(ax, s)
        for (value, label), style in zip(p.get("hlines", []), _cycle(BOUND_STYLES)):
            ax.axhline(_num(value), lw=1.2, label=label or None, **style)
        for (value, label), style in zip(p.get("vlines", []), _cycle(MARKER_STYLES)):
            ax.axvline(_num(value), lw=1.2, label=label or None, **style)
        ax.set_title(_wrapped(p["title"], PANEL_WIDTH_IN, 10), fontsize=10)
        ax.set(xlabel=p["xlabel"], ylabel=p["ylabel"])
        if any(s.get("label") for s in p["series"]) or p.get("hlines") or p.get("vlines"):
            ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(_wrapped(spec["title"], PANEL_WIDTH_IN * len(panels), 11), fontsize=11)
    return fig


def render(spec: dict, path: Path) -> Path:
    """Draw a figure specification to a PNG file."""
    import matplotlib.pyplot as plt

    fig = draw(spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _wrapped(text: str, width_in: float, fontsize: float) -> str:
    """Text broken into lines that fit `width_in` inches at `fontsize` points (an average glyph is ~0.55 em)."""
    import textwrap

    columns = max(20, int(width_in * 72 / (0.55 * fontsize) * 0.92))
    return "\n".join(textwrap.wrap(text, columns)) or text


def _cycle(styles):
    while True:
        yield from styles


def _num(value):
    """Numbers, with the strings 'nan' / 'inf' that non-finite values become in JSON."""
    return float(value)


def _draw(ax, s: dict) -> None:
    kind, x, y, label, style = s["kind"], s["x"], s["y"], s.get("label") or None, s.get("style", {})
    if kind == "line":
        ax.plot(x, [_num(v) for v in y], label=label, **style)
    elif kind == "step":
        ax.step(x, [_num(v) for v in y], where="mid", label=label, **style)
    elif kind == "scatter":
        ax.scatter(x, [_num(v) for v in y], label=label, s=style.pop("s", 12), **style)
    elif kind == "band":
        low, high = y
        ax.fill_between(x, [_num(v) for v in low], [_num(v) for v in high], alpha=0.3, label=label, **style)
    elif kind == "bar":
        errors = style.pop("yerr", None)
        offset = style.pop("offset", 0.0)
        width = style.pop("width", 0.8)
        positions = [i + offset for i in range(len(x))]
        ax.bar(positions, [_num(v) for v in y], width=width, yerr=errors, label=label, capsize=3, **style)
        ax.set_xticks(range(len(x)), [str(v) for v in x], rotation=20, ha="right", fontsize=8)
