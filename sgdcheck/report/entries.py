"""Reading a report entry: whether its verdict was declared beforehand, its measurements, the quantities
it shares with the paper, and where its figures live. Shared by the Markdown, the HTML and the diff."""
from __future__ import annotations

from ..quantity import is_quantity
from ..stats import INCONCLUSIVE, REFUTED


def is_known(entry: dict) -> bool:
    """Whether a claim's verdict is the outcome declared beforehand (a known refutation that came out
    refuted, a known inconclusive that came out inconclusive)."""
    return bool((entry["verdict"] == REFUTED and entry.get("known_refutation"))
                or (entry["verdict"] == INCONCLUSIVE and entry.get("known_inconclusive")))


def merged_measurements(cases: list[dict]):
    """A claim's measurements: one case's as they are; several cases' merged into one table where each
    case reports its own quantities, else keyed by case."""
    if len(cases) == 1:
        return cases[0]["measured"]
    tables = [c["measured"] for c in cases]
    if all(isinstance(t, dict) for t in tables):
        keys = [k for t in tables for k in t]
        if len(keys) == len(set(keys)):
            return {k: v for t in tables for k, v in t.items()}
    return {c["case"]: c["measured"] for c in cases}


def measurements(entry: dict):
    """The measurements of a report entry, rebuilt from its cases where it has them (so a report written
    before the cases were merged into one table renders like a new one)."""
    return merged_measurements(entry["cases"]) if entry.get("cases") else entry["measured"]


def _by_quantity(entry: dict) -> dict:
    """The measurements as one flat table: where several cases report the same quantities (keyed by case),
    'quantity [case]' for each."""
    measured = measurements(entry)
    if not isinstance(measured, dict):
        return {}
    cases = [c["case"] for c in entry.get("cases") or []]
    # keyed by case when every value is a table of that case's quantities (not one quantity named like its case)
    if (len(cases) > 1 and list(measured) == cases
            and all(isinstance(v, dict) and not is_quantity(v) for v in measured.values())):
        return {f"{key} [{case}]": value for case, table in measured.items() for key, value in table.items()}
    return measured


def paired(entry: dict) -> list[tuple[str, object, object]]:
    """(quantity, paper, measured) for the quantities a claim reports on both sides, in the paper's order (a
    quantity that several cases report once per case)."""
    measured = _by_quantity(entry)
    return [(name, value, measured[name]) for key, value in (entry["paper"] or {}).items()
            for name in measured if name == key or name.startswith(f"{key} [")]


def table_rows(entry: dict) -> list[tuple[str, object, object]]:
    """(quantity, paper, measured) for every quantity of either side: shared ones first, '—' where a side has none."""
    raw = measurements(entry)
    measured = _by_quantity(entry) if isinstance(raw, dict) else {"value": raw}
    paper = entry["paper"] if isinstance(entry["paper"], dict) else {"value": entry["paper"]}
    shared = [(name, value, measured[name]) for key, value in paper.items()
              for name in measured if name == key or name.startswith(f"{key} [")]
    named = {name for name, _, _ in shared}
    return [*shared,
            *[(key, value, "—") for key, value in paper.items()
              if not any(name == key or name.startswith(f"{key} [") for name in measured)],
            *[(name, "—", value) for name, value in measured.items() if name not in named]]


def figure_name(claim_id: str, case: str, name: str) -> str:
    """figures/<claim id>[-<case>]--<name>.png, with anything but letters, digits, '.', '-' as '_'."""
    stem = f"{claim_id}-{case}--{name}" if case else f"{claim_id}--{name}"
    return "figures/" + "".join(ch if ch.isalnum() or ch in ".-" else "_" for ch in stem) + ".png"


def figures(entry: dict) -> list[tuple[str, str]]:
    """(name, relative path) of every figure of an entry, case by case."""
    return [(name, figure_name(entry["id"], case["case"], name))
            for case in entry["cases"] for name in (case.get("figures") or {})]


def section(claim_id: str) -> str:
    """The section name of a claim: the paper key before the dot (wu2018, poggio, ...)."""
    return claim_id.split(".", 1)[0]
