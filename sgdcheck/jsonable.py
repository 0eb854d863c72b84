"""Conversion of measurements (numpy scalars and arrays, tuples, non-finite floats) to JSON data."""
from __future__ import annotations

import math
from typing import Any

import numpy as np


def jsonable(value: Any, digits: int = 10) -> Any:
    """Plain JSON data: arrays become lists, floats keep `digits` significant digits, NaN/inf strings."""
    if isinstance(value, dict):
        return {str(k): jsonable(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, digits) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist(), digits)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if not math.isfinite(value):
            return str(value)
        return float(f"{value:.{digits}g}")
    if value is None or isinstance(value, str):
        return value
    if hasattr(value, "as_dict"):
        return jsonable(value.as_dict(), digits)
    return str(value)
