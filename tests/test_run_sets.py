import pytest

from sgdcheck.run_sets import gd_minima, gd_sharpness_lrs, gd_step_budget
from sgdcheck.scale import get_scale
from sgdcheck.setups import fashion_fnn


pytestmark = pytest.mark.usefixtures("fashion_mnist")


@pytest.mark.parametrize("scale_name", ["smoke", "full", "paper"])
def test_gd_step_budget_raises_the_cap_for_small_steps_only(scale_name):
    scale = get_scale(scale_name)
    cap = fashion_fnn(scale).config.max_steps
    for lr in (0.1, 0.5, 1.0, 2.0, 5.0):
        assert gd_step_budget(scale, lr) == cap        # the cached runs of these steps keep their keys
    assert gd_step_budget(scale, 0.05) == max(cap, 80000)
    assert gd_step_budget(scale, 0.01) == max(cap, 400000)


def test_full_scale_runs_table_2s_eta_005_with_its_budget():
    scale = get_scale("full")
    assert 0.05 in gd_sharpness_lrs(scale) and 0.05 not in gd_sharpness_lrs(get_scale("smoke"))
    budgets = {job.lrs[0]: job.config.max_steps for job in gd_minima(scale)}
    assert budgets[0.05] == 80000 and budgets[0.5] == fashion_fnn(scale).config.max_steps
