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


def _seeds_only(scale_name, seed_offset, seed_blocks, device, code):
    from sgdcheck.scale import Seeds

    seeds = Seeds(seed_offset, seed_blocks)
    return {"seeds": list(seeds), "blocks": [list(b) for b in seeds.blocks]}


def test_each_look_of_a_sequential_design_gets_its_own_seeds(tmp_path, monkeypatch):
    """The cached diagram is keyed by the live scale: a later look adds seeds instead of rereading the first
    look's diagram (the scale is not rebuilt from its name)."""
    import sgdcheck.stability_diagram as module
    from sgdcheck.scale import get_scale

    monkeypatch.setattr(module, "_stability_diagram", _seeds_only)
    smoke = get_scale("smoke")
    first = module.stability_diagram(smoke, location=tmp_path)["seeds"]
    second = module.stability_diagram(smoke.at_look(2), location=tmp_path)["seeds"]
    halved = module.stability_diagram(smoke.with_first_share(0.5).at_look(2), location=tmp_path)["seeds"]
    other = module.stability_diagram(get_scale("smoke", 1000), location=tmp_path)["seeds"]
    assert first == list(range(5)) and second == list(range(10))
    assert halved == list(range(6))          # first look round(2.5) = 3 seeds (never fewer than 3), then 3 more
    assert module.stability_diagram(smoke.with_first_share(0.5).at_look(2), location=tmp_path)["blocks"] == [
        [0, 1, 2], [3, 4, 5]]                # trained block by block: look 2 reuses look 1's runs
    assert other == list(range(1000, 1005))
