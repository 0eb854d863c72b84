import math

import numpy as np
import pytest

from sgdcheck.stability import nonuniformity_bound, predict_escape
from sgdcheck.stability_diagram import by_batch, diagram_figure


def test_the_eq9_bound_is_the_papers_formula_and_infinite_for_gd():
    assert nonuniformity_bound(0.1, 4, 1000) == pytest.approx(np.sqrt(4 * 999 / 996) / 0.1, rel=1e-15)
    assert nonuniformity_bound(0.5, 1, 10) == pytest.approx(2.0)
    assert math.isinf(nonuniformity_bound(0.1, 1000, 1000))


def test_escape_is_predicted_outside_the_box_and_stay_only_under_eq_8():
    assert not predict_escape(a=19.0, s=5.0, lr=0.1, batch_size=1000, n=1000).escapes   # GD: s has no bound
    assert predict_escape(a=21.0, s=0.0, lr=0.1, batch_size=1000, n=1000).escapes       # a > 2/eta
    bound = nonuniformity_bound(0.1, 4, 1000)
    assert predict_escape(a=1.0, s=bound * 1.01, lr=0.1, batch_size=4, n=1000).escapes
    inside = predict_escape(a=1.0, s=bound * 0.99, lr=0.1, batch_size=4, n=1000)
    assert inside.outcome == "not predicted" and not inside.escapes
    assert predict_escape(a=1.0, s=bound * 0.99, lr=0.1, batch_size=4, n=1000, criterion=1.0).outcome == "stays"


def test_points_group_by_batch_and_draw():
    diagram = {"lr": 0.5, "n": 100, "batches": [100, 10],
               "points": [{"batch_size": b, "seed": s, "a": 1.0 + s, "s": 2.0 + s} for b in (100, 10) for s in (0, 1)]}
    assert by_batch(diagram, "a") == {100: [1.0, 2.0], 10: [1.0, 2.0]}
    spec = diagram_figure(diagram)
    assert [s["label"] for s in spec["panels"][0]["series"]] == ["GD", "SGD B=10"]
    assert spec["panels"][0]["vlines"][0][0] == 4.0
