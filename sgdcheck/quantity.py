"""Headline measurements as numbers: what a report's history compares, and how the report shows it.

``evidence.record`` takes numbers (and lists or mappings of numbers) as they are, and a
:class:`Quantity` where the report should show more than the bare number: a unit, a format, or a
sentence that puts the number in context. The JSON keeps the number(s) under ``value``; the text is
only for display.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real
from typing import Any, Mapping

from .errors import InvalidArgumentError

KIND = "quantity"


@dataclass(frozen=True)
class Quantity:
    """A number, or a list or mapping of numbers, with its unit and the text a report shows for it."""

    value: Any
    text: str = ""
    unit: str = ""

    def __post_init__(self):
        problem = non_numeric(self.value)
        if problem:
            raise InvalidArgumentError(f"a quantity's value must be numbers, got {problem}")

    def as_dict(self) -> dict:
        """The quantity as the report's JSON stores it: kind, value, unit and text."""
        return {"kind": KIND, "value": self.value, "unit": self.unit, "text": self.text}


def shown(value, text: str = "", unit: str = "") -> Quantity:
    """A headline number with the text the report shows for it: shown(0.94, f"ratio {0.94:.2f} of 2/eta").

    `value` may be a verdict or an interval of sgdcheck.stats: the headline is then the estimate the verdict was
    decided on, not a number computed again beside it, and `text` may name its fields, {estimate}, {low},
    {high} (the interval's ends) and {margin} (the verdict's margin in half-widths), as in
    shown(gain, "{estimate:+.2%} [{low:+.2%}, {high:+.2%}]"); without text the report shows 'estimate [low, high]'."""
    interval = getattr(value, "interval", value)
    if hasattr(value, "verdict") and interval is None:
        raise InvalidArgumentError("shown: this verdict has no interval to show (a combined or an exact verdict); "
                                   "pass the part of the verdict that was measured, or the number itself")
    if hasattr(interval, "estimate") and hasattr(interval, "low"):
        fields = {"estimate": interval.estimate, "low": interval.low, "high": interval.high,
                  "margin": getattr(value, "margin_halfwidths", None)}
        text = text.format(**fields) if text else f"{interval.estimate:.4g} [{interval.low:.4g}, {interval.high:.4g}]"
        value = interval.estimate
    return Quantity(value, text, unit)


def non_numeric(value) -> str | None:
    """A description of the first part of `value` that is not a number, or None when it is all numbers
    (booleans, counts and non-finite floats count as numbers)."""
    if isinstance(value, Quantity):
        return None
    if isinstance(value, (bool, Real)) or (hasattr(value, "dtype") and getattr(value, "shape", None) == ()):
        return None
    if hasattr(value, "tolist"):
        return non_numeric(value.tolist())
    if isinstance(value, Mapping):
        if value.get("kind") == KIND:
            return non_numeric(value.get("value"))
        return next((p for p in (non_numeric(v) for v in value.values()) if p), None)
    if isinstance(value, (list, tuple)):
        return next((p for p in (non_numeric(v) for v in value) if p), None)
    return f"{type(value).__name__} {str(value)[:60]!r}"


def is_quantity(value) -> bool:
    return isinstance(value, Mapping) and value.get("kind") == KIND


def display(value, fmt=lambda x: f"{x:.4g}") -> str:
    """The text a report shows for a headline value: a quantity's text, else its number(s) formatted."""
    if is_quantity(value):
        if value.get("text"):
            return value["text"]
        unit = f" {value['unit']}" if value.get("unit") else ""
        return display(value["value"], fmt) + unit
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return fmt(value) if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {display(v, fmt)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(display(v, fmt) for v in value) + "]"
    return str(value)


def numbers(value) -> dict[str, float]:
    """The numbers of a headline value, flattened to {path: number}, for comparisons over runs."""
    if is_quantity(value):
        return numbers(value["value"])
    if isinstance(value, bool):
        return {"": float(value)}
    if isinstance(value, Real):
        return {"": float(value)}
    if isinstance(value, str):
        try:
            return {"": float(value)}            # "inf", "nan" as the JSON keeps them
        except ValueError:
            return {}
    items = value.items() if isinstance(value, Mapping) else enumerate(value) if isinstance(value, (list, tuple)) else ()
    out = {}
    for key, item in items:
        for path, number in numbers(item).items():
            out[f"{key}.{path}" if path else str(key)] = number
    return out
