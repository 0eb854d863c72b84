import math

import numpy as np

from sgdcheck.stability_diagram import box_bound, by_batch, diagram_figure


def test_box_bound_is_the_papers_formula_and_infinite_for_gd():
    assert box_bound(4, 1000, 0.1) == np.sqrt(4 * 999 / 996) / 0.1
    assert box_bound(1, 10, 0.5) == 2.0
    assert math.isinf(box_bound(1000, 1000, 0.1))


def test_points_group_by_batch_and_draw():
    diagram = {"lr": 0.5, "n": 100, "batches": [100, 10],
               "points": [{"batch_size": b, "seed": s, "a": 1.0 + s, "s": 2.0 + s} for b in (100, 10) for s in (0, 1)]}
    assert by_batch(diagram, "a") == {100: [1.0, 2.0], 10: [1.0, 2.0]}
    spec = diagram_figure(diagram)
    assert [s["label"] for s in spec["panels"][0]["series"]] == ["GD", "SGD B=10"]
    assert spec["panels"][0]["vlines"][0][0] == 4.0
